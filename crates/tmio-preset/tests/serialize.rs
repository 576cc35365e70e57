//! Options serialise to JSON for stats and config dumps.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use tmio_preset::{DeliveryPolicy, Options, Preset};

#[test]
fn the_rtmp_preset_as_json() {
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    options.set_passphrase(Some("do not print me")).unwrap();
    options.set_stream_id(Some("cam1")).unwrap();
    let value = serde_json::to_value(&options).unwrap();
    assert_eq!(
        value,
        json!({
            "transmission_type": "live",
            "tsbpd_mode": false,
            "too_late_packet_drop": false,
            "receive_latency_ms": 0,
            "peer_latency_ms": 0,
            "max_bandwidth_bytes_per_second": 2_621_440,
            "input_bandwidth_bytes_per_second": 0,
            "overhead_percent": 25,
            "payload_size": 1316,
            "send_buffer_size": 2_097_152,
            "receive_buffer_size": 2_097_152,
            "connect_timeout_ms": 3000,
            "peer_idle_timeout_ms": 5000,
            "linger_s": 30,
            "passphrase": "***",
            "key_length": 0,
            "key_pre_announce_packets": 4000,
            "key_refresh_rate_packets": 33554432,
            "stream_id": "cam1",
            "mss": 1500,
            "flight_flag_size": 25600,
            "send_drop_delay_ms": 0,
            "min_input_bandwidth_bytes_per_second": 0,
            "min_version": 65536,
            "congestion": "live_bbr",
            "message_api": true,
        })
    );
}

#[test]
fn delivery_policies_as_json() {
    let live = Options::from_preset(Preset::mpegts_fixed_latency()).unwrap();
    assert_eq!(
        serde_json::to_value(live.delivery_policy()).unwrap(),
        json!({
            "policy": "live",
            "receive_latency_ms": 120,
            "peer_latency_ms": 120,
            "too_late_drop": true
        })
    );
    let mut dropping = Options::from_preset(Preset::Rtmp).unwrap();
    dropping.set_too_late_packet_drop(true);
    assert_eq!(
        serde_json::to_value(dropping.delivery_policy()).unwrap(),
        json!({"policy": "sender_drop", "drop_after_ms": 1020})
    );
    assert_eq!(
        serde_json::to_value(DeliveryPolicy::Reliable).unwrap(),
        json!({"policy": "reliable"})
    );
}
