//! One test per option name of the reference SDK (`android/sdk/include/tmio-options.h` in
//! tencentyun/tmio, spelled exactly as there): set by name on a proxy builder, read back, and
//! applied to the transport settings (`SrtConfig`) the proxy connects with — or refused with a
//! reason naming the option.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use tmio_preset::OptionValue;
use tmio_proxy::{Error, Proxy, ProxyBuilder};
use tmio_transport::srt::{connection::DeliveryMode, RateControl, SrtConfig};

const REMOTE: &str = "srt://127.0.0.1:9000";

/// A builder (the `rtmp` preset) with `settings` applied by name, in order.
fn builder(settings: &[(&str, &str)]) -> ProxyBuilder {
    let mut builder = Proxy::builder("tcp://127.0.0.1:0", REMOTE).unwrap();
    for (name, value) in settings {
        builder = builder.option(name, value).unwrap();
    }
    builder
}

fn config(settings: &[(&str, &str)]) -> SrtConfig {
    builder(settings).transport_config().unwrap()
}

fn read(builder: &ProxyBuilder, name: &str) -> OptionValue {
    builder.current_options().get_by_name(name).unwrap()
}

/// The `Debug` form of the settings of the bare `rtmp` preset (`SrtConfig` has no `PartialEq`).
fn default_config() -> String {
    format!("{:?}", config(&[]))
}

/// Setting `name` to `value` is refused, names the option and says why (`reason` is in it).
fn assert_refused(name: &str, value: &str, reason: &str) {
    let error = Proxy::builder("tcp://127.0.0.1:0", REMOTE)
        .unwrap()
        .option(name, value)
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(&error, Error::Option(tmio_preset::Error::Refused { option, .. }) if *option == name),
        "{name}={value}: {error:?}"
    );
    assert!(text.contains(name) && text.contains(reason), "{text}");
}

fn live(config: &SrtConfig) -> (Duration, Duration, bool) {
    match config.delivery {
        DeliveryMode::Live {
            recv_latency,
            send_latency,
            too_late_drop,
        } => (recv_latency, send_latency, too_late_drop),
        other => panic!("expected live delivery, got {other:?}"),
    }
}

#[test]
fn thread_safe_check() {
    let name = "thread safe check";
    let builder = builder(&[(name, "false")]);
    assert_eq!(read(&builder, name), OptionValue::Bool(false));
    assert_eq!(
        format!("{:?}", builder.transport_config().unwrap()),
        default_config()
    );
    assert_refused(name, "true", "safe from any thread");
}

#[test]
fn timeout_ms() {
    let name = "timeout (ms)";
    let builder = builder(&[(name, "-1")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(-1));
    assert_eq!(
        format!("{:?}", builder.transport_config().unwrap()),
        default_config()
    );
    assert_refused(name, "5000", "no blocking open/recv/send calls");
}

#[test]
fn recv_send_flags() {
    let name = "recv send flags";
    let builder = builder(&[(name, "3")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(3));
    assert_eq!(
        format!("{:?}", builder.transport_config().unwrap()),
        default_config()
    );
    assert_refused(name, "2", "both directions");
}

#[test]
fn send_buffer_size() {
    let name = "send buffer size (in bytes)";
    let builder = builder(&[(name, "4000000")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(4_000_000));
    assert_eq!(
        builder.transport_config().unwrap().send_buffer_bytes,
        4_000_000
    );
}

#[test]
fn receive_buffer_size() {
    let name = "receive buffer size (in bytes)";
    let builder = builder(&[(name, "3000000")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(3_000_000));
    assert_eq!(
        builder.transport_config().unwrap().recv_buffer_bytes,
        3_000_000
    );
}

#[test]
fn payload_size() {
    let name = "srt maximum payload size (bytes)";
    let builder = builder(&[(name, "1000")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(1000));
    assert_eq!(builder.transport_config().unwrap().payload_size, 1000);
    // 0: the whole segment (MSS - 44).
    assert_eq!(config(&[(name, "0")]).payload_size, 1456);
}

#[test]
fn latency() {
    let name = "srt latency (ms)";
    let builder = builder(&[("TsbPd", "true"), (name, "300")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(300));
    let (receive, send, _) = live(&builder.transport_config().unwrap());
    assert_eq!(receive, Duration::from_millis(300));
    assert_eq!(send, Duration::from_millis(300));
}

#[test]
fn maximum_bandwidth() {
    let name = "Maximum bandwidth (bytes per second)";
    let builder = builder(&[(name, "1000000")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(1_000_000));
    // The presets' live_bbr: a ceiling for the adaptive rate.
    assert_eq!(
        builder.transport_config().unwrap().rate_control,
        RateControl::Adaptive {
            cap: Some(1_000_000)
        }
    );
    // -1: no cap, tmio's adaptive pacing.
    assert_eq!(config(&[(name, "-1")]).rate_control, RateControl::UNCAPPED);
    // With libsrt's live controller: a fixed rate.
    assert_eq!(
        config(&[
            ("The congestion control algorithm", "live"),
            (name, "1000000")
        ])
        .rate_control,
        RateControl::Fixed {
            bytes_per_second: 1_000_000
        }
    );
}

#[test]
fn recovery_bandwidth_overhead() {
    let name = "srt recovery bandwidth overhead above input rate";
    let builder = builder(&[
        ("Maximum bandwidth (bytes per second)", "0"),
        ("Estimated input bandwidth (bytes per second)", "1000000"),
        (name, "50"),
    ]);
    assert_eq!(read(&builder, name), OptionValue::Integer(50));
    assert_eq!(
        builder.transport_config().unwrap().rate_control,
        RateControl::Adaptive {
            cap: Some(1_500_000)
        }
    );
}

#[test]
fn stream_id() {
    let name = "srt stream id";
    let builder = builder(&[(name, "#!::r=live/cam")]);
    assert_eq!(
        read(&builder, name),
        OptionValue::Text("#!::r=live/cam".into())
    );
    assert_eq!(
        builder.transport_config().unwrap().stream_id.as_deref(),
        Some("#!::r=live/cam")
    );
}

#[test]
fn connect_timeout() {
    let name = "Connect timeout(in milliseconds). Caller default: 3000, rendezvous (x 10)";
    let builder = builder(&[(name, "1500")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(1500));
    assert_eq!(
        builder.transport_config().unwrap().connect_timeout,
        Duration::from_millis(1500)
    );
}

const PASSPHRASE: &str = "Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto";

#[test]
fn crypto_key_length() {
    let name = "Crypto key len in bytes";
    let builder = builder(&[(PASSPHRASE, "0123456789abcdef"), (name, "32")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(32));
    assert_eq!(builder.transport_config().unwrap().key_length, 32);
    // Without a passphrase a key length has no effect: refused when the proxy starts.
    let alone = self::builder(&[(name, "24")])
        .transport_config()
        .unwrap_err();
    assert!(alone.to_string().contains(name), "{alone}");
}

#[test]
fn crypto_passphrase() {
    let builder = builder(&[(PASSPHRASE, "0123456789abcdef")]);
    assert_eq!(
        read(&builder, PASSPHRASE),
        OptionValue::Text("0123456789abcdef".into())
    );
    let config = builder.transport_config().unwrap();
    assert_eq!(config.passphrase.as_deref(), Some("0123456789abcdef"));
    assert_eq!(config.key_length, 16);
    // Empty: no encryption.
    assert_eq!(config_with_empty_passphrase().passphrase, None);
}

fn config_with_empty_passphrase() -> SrtConfig {
    config(&[(PASSPHRASE, "0123456789abcdef"), (PASSPHRASE, "")])
}

#[test]
fn estimated_input_bandwidth() {
    let name = "Estimated input bandwidth (bytes per second)";
    let builder = builder(&[
        ("Maximum bandwidth (bytes per second)", "0"),
        (name, "2000000"),
    ]);
    assert_eq!(read(&builder, name), OptionValue::Integer(2_000_000));
    // The default overhead: 25 %.
    assert_eq!(
        builder.transport_config().unwrap().rate_control,
        RateControl::Adaptive {
            cap: Some(2_500_000)
        }
    );
}

#[test]
fn minimum_input_bandwidth() {
    let name = "Minimum value of input bandwidth estimation (bytes per second)";
    let relative = [
        ("Maximum bandwidth (bytes per second)", "0"),
        (name, "500000"),
    ];
    let builder = builder(&relative);
    assert_eq!(read(&builder, name), OptionValue::Integer(500_000));
    // Where libsrt would floor its input estimate with it, tmio (which does not estimate) refuses.
    let error = builder.transport_config().unwrap_err();
    assert!(matches!(error, Error::Unsupported(_)), "{error:?}");
    assert!(error.to_string().contains(name), "{error}");
    // With a given input bandwidth libsrt does not use it either: accepted, the cap unchanged.
    let given = config(&[
        ("Maximum bandwidth (bytes per second)", "0"),
        (name, "500000"),
        ("Estimated input bandwidth (bytes per second)", "1000000"),
    ]);
    assert_eq!(
        given.rate_control,
        RateControl::Adaptive {
            cap: Some(1_250_000)
        }
    );
}

#[test]
fn too_late_packet_drop() {
    let name = "Too-late Packet Drop";
    let on = builder(&[("TsbPd", "true"), (name, "true")]);
    assert_eq!(read(&on, name), OptionValue::Bool(true));
    assert!(live(&on.transport_config().unwrap()).2);
    let off = builder(&[("TsbPd", "true"), (name, "false")]);
    assert!(!live(&off.transport_config().unwrap()).2);
    // Without TSBPD the sender would drop bytes: the proxy refuses it.
    let error = builder(&[(name, "true")]).transport_config().unwrap_err();
    assert!(matches!(error, Error::Unsupported(_)), "{error:?}");
}

#[test]
fn minimum_srt_version() {
    let name = "Minimum SRT version that is required from the peer";
    let builder = builder(&[(name, "66304")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(0x01_03_00));
    // Met by the handshake (HSv5 only): nothing else to set.
    assert_eq!(
        format!("{:?}", builder.transport_config().unwrap()),
        default_config()
    );
    let error = Proxy::builder("tcp://127.0.0.1:0", REMOTE)
        .unwrap()
        .option(name, "66560")
        .unwrap_err();
    assert!(error.to_string().contains("HSv5"), "{error}");
}

#[test]
fn transmission_type() {
    let name = "The transmission type for the socket";
    let builder = builder(&[(name, "1")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(1));
    let config = builder.transport_config().unwrap();
    // File mode: a reliable byte stream, whole-segment payloads, libsrt's file linger.
    assert!(matches!(config.delivery, DeliveryMode::Reliable));
    assert_eq!(config.payload_size, 1456);
    assert_eq!(config.linger, Duration::from_secs(180));
    // Back to live (0): libsrt's live defaults, TSBPD at 120 ms with too-late drop.
    let back = self::builder(&[(name, "1"), (name, "0")]);
    assert_eq!(read(&back, name), OptionValue::Integer(0));
    let (receive, _, drop) = live(&back.transport_config().unwrap());
    assert_eq!(receive, Duration::from_millis(120));
    assert!(drop);
    assert!(Proxy::builder("tcp://127.0.0.1:0", REMOTE)
        .unwrap()
        .option(name, "2")
        .is_err());
}

#[test]
fn congestion_control() {
    let name = "The congestion control algorithm";
    let builder = builder(&[
        ("The transmission type for the socket", "1"),
        (name, "file"),
    ]);
    assert_eq!(read(&builder, name), OptionValue::Text("file".into()));
    assert!(builder.transport_config().is_ok());
    // The controller belongs to the transmission type: file with live is refused at start.
    let error = self::builder(&[(name, "file")])
        .transport_config()
        .unwrap_err();
    assert!(error.to_string().contains(name), "{error}");
    // The presets set live_bbr (adaptive under the cap); live is libsrt's fixed rate.
    let preset = self::builder(&[]);
    assert_eq!(read(&preset, name), OptionValue::Text("live_bbr".into()));
    let live = self::builder(&[(name, "live")]);
    assert_eq!(read(&live, name), OptionValue::Text("live".into()));
    assert_eq!(
        live.transport_config().unwrap().rate_control,
        RateControl::Fixed {
            bytes_per_second: 2_621_440
        }
    );
    let error = Proxy::builder("tcp://127.0.0.1:0", REMOTE)
        .unwrap()
        .option(name, "bbr")
        .unwrap_err();
    assert!(error.to_string().contains("bbr"), "{error}");
}

#[test]
fn linger() {
    let name = "Number of seconds that the socket waits for unsent data when closing";
    let builder = builder(&[(name, "7")]);
    assert_eq!(read(&builder, name), OptionValue::Integer(7));
    assert_eq!(
        builder.transport_config().unwrap().linger,
        Duration::from_secs(7)
    );
}

#[test]
fn tsbpd() {
    let name = "TsbPd";
    let builder = builder(&[(name, "true")]);
    assert_eq!(read(&builder, name), OptionValue::Bool(true));
    // The rtmp preset's latency is 0; TSBPD on makes the delivery live.
    let (receive, _, drop) = live(&builder.transport_config().unwrap());
    assert_eq!(receive, Duration::ZERO);
    assert!(!drop);
    assert!(matches!(
        config(&[(name, "false")]).delivery,
        DeliveryMode::Reliable
    ));
}

#[test]
fn the_sdk_rist_options_are_refused() {
    assert_refused("buffer size in ms", "1000", "RIST is not supported");
    assert_refused("profile", "0", "RIST is not supported");
}

#[test]
fn an_unknown_name_is_an_error_naming_it() {
    let error = Proxy::builder("tcp://127.0.0.1:0", REMOTE)
        .unwrap()
        .option("srt latency(ms)", "10")
        .unwrap_err();
    assert!(error.to_string().contains("srt latency(ms)"), "{error}");
}

/// tmio's names for libsrt's `SRTO_KMREFRESHRATE` / `SRTO_KMPREANNOUNCE` (not SDK names): the
/// sender's key refresh schedule, checked together.
#[test]
fn key_refresh_rate_and_pre_announce() {
    let defaults = config(&[]);
    assert_eq!(
        (
            defaults.key_refresh_packets,
            defaults.key_pre_announce_packets
        ),
        (1 << 25, 4000)
    );
    let settings = [
        ("Key refresh rate (packets)", "1000000"),
        ("Key pre-announce (packets)", "4096"),
    ];
    let applied = config(&settings);
    assert_eq!(applied.key_refresh_packets, 1_000_000);
    assert_eq!(applied.key_pre_announce_packets, 4096);
    assert_eq!(
        read(&builder(&settings), "kmrefreshrate"),
        OptionValue::Integer(1_000_000)
    );
    let error = builder(&[("kmrefreshrate", "8000"), ("kmpreannounce", "4000")])
        .transport_config()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("pre-announce") && error.contains("4000"),
        "{error}"
    );
}
