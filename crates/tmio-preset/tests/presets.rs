//! Each preset's options and delivery policy.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tmio_preset::{
    DeliveryPolicy, MaxBandwidth, Options, Preset, TransmissionType, PRESET_BUFFER_SIZE,
};

fn common(options: &Options) {
    assert_eq!(options.transmission_type(), TransmissionType::Live);
    assert_eq!(
        options.max_bandwidth(),
        MaxBandwidth::BytesPerSecond(2_621_440)
    );
    assert_eq!(options.send_buffer_size(), 2 * 1024 * 1024);
    assert_eq!(options.receive_buffer_size(), PRESET_BUFFER_SIZE);
    assert_eq!(options.payload_size(), 1316);
    options.validate().unwrap();
}

#[test]
fn rtmp_is_reliable_with_no_latency_budget() {
    let options = Options::from_preset(Preset::Rtmp).unwrap();
    common(&options);
    assert!(!options.tsbpd_mode());
    assert!(!options.too_late_packet_drop());
    assert_eq!(options.latency(), Duration::ZERO);
    assert_eq!(options.peer_latency(), Duration::ZERO);
    assert_eq!(options.delivery_policy(), DeliveryPolicy::Reliable);
}

#[test]
fn rtmp_with_too_late_drop_is_allowed_and_says_it_drops() {
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    options.set_by_name("Too-late Packet Drop", "on").unwrap();
    options.validate().unwrap();
    assert_eq!(
        options.delivery_policy(),
        DeliveryPolicy::SenderDrop {
            drop_after: Duration::from_millis(1020)
        }
    );
}

#[test]
fn mpegts_lossless_is_rtmp_as_in_the_sdk() {
    let options = Options::from_preset(Preset::MpegTsLossless).unwrap();
    common(&options);
    assert_eq!(options, Options::from_preset(Preset::Rtmp).unwrap());
    assert_eq!(options.delivery_policy(), DeliveryPolicy::Reliable);
}

#[test]
fn mpegts_fixed_latency_drops_late_packets() {
    let options = Options::from_preset(Preset::mpegts_fixed_latency()).unwrap();
    common(&options);
    assert_eq!(
        options.delivery_policy(),
        DeliveryPolicy::Live {
            receive_latency: Duration::from_millis(120),
            peer_latency: Duration::from_millis(120),
            too_late_drop: true,
        }
    );
    let options = Options::from_preset(Preset::MpegTsFixedLatency { latency_ms: 800 }).unwrap();
    assert_eq!(options.latency(), Duration::from_millis(800));
}

#[test]
fn a_fixed_latency_beyond_libsrt_range_is_an_error() {
    let error = Options::from_preset(Preset::MpegTsFixedLatency {
        latency_ms: u32::MAX,
    })
    .unwrap_err();
    assert!(error.to_string().contains("srt latency (ms)"), "{error}");
}

#[test]
fn presets_print_and_parse_back() {
    for preset in [
        Preset::Rtmp,
        Preset::MpegTsLossless,
        Preset::mpegts_fixed_latency(),
        Preset::MpegTsFixedLatency { latency_ms: 0 },
        Preset::MpegTsFixedLatency { latency_ms: 4000 },
    ] {
        assert_eq!(preset.to_string().parse::<Preset>().unwrap(), preset);
    }
    assert_eq!(
        "MPEGTS-FIXED-LATENCY".parse::<Preset>().unwrap(),
        Preset::MpegTsFixedLatency { latency_ms: 120 }
    );
    for bad in [
        "",
        "hls",
        "mpegts-fixed-latency:",
        "mpegts-fixed-latency:-5",
        "rtmp2",
    ] {
        assert!(bad.parse::<Preset>().is_err(), "{bad:?}");
    }
}

#[test]
fn the_default_is_libsrt_live_mode() {
    let options = Options::default();
    assert!(options.tsbpd_mode() && options.too_late_packet_drop());
    assert_eq!(options.receive_latency(), Duration::from_millis(120));
    assert_eq!(options.peer_latency(), Duration::ZERO);
    assert_eq!(options.max_bandwidth(), MaxBandwidth::Unlimited);
    assert_eq!(options.send_buffer_size(), 12_058_624);
    assert_eq!(options.mss(), 1500);
    options.validate().unwrap();
}
