//! `srt://` URL query options (libsrt URI keys) override a preset.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tmio_preset::{DeliveryPolicy, Error, Options, Preset, TransmissionType};

#[test]
fn query_options_override_the_preset() {
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    options
        .apply_uri_options([
            ("latency", "200"),
            ("passphrase", "0123456789abc"),
            ("pbkeylen", "32"),
            ("streamid", "#!::r=live/cam,m=publish"),
            ("maxbw", "5000000"),
        ])
        .unwrap();
    assert_eq!(options.latency(), Duration::from_millis(200));
    assert_eq!(options.stream_id(), Some("#!::r=live/cam,m=publish"));
    assert_eq!(
        options
            .get_by_name("Maximum bandwidth (bytes per second)")
            .unwrap()
            .to_string(),
        "5000000"
    );
    // Latency alone does not turn TSBPD on: still reliable.
    assert_eq!(options.delivery_policy(), DeliveryPolicy::Reliable);
}

#[test]
fn transtype_applies_first_whatever_its_place() {
    let mut options = Options::from_preset(Preset::mpegts_fixed_latency()).unwrap();
    options
        .apply_uri_options([("latency", "50"), ("transtype", "file")])
        .unwrap();
    assert_eq!(options.transmission_type(), TransmissionType::File);
    // File defaults were loaded first, then latency=50 applied over them.
    assert_eq!(options.latency(), Duration::from_millis(50));
    assert!(!options.tsbpd_mode());
}

#[test]
fn a_matching_transtype_keeps_the_preset() {
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    let before = options.clone();
    options.apply_uri_options([("transtype", "live")]).unwrap();
    assert_eq!(options, before);
}

#[test]
fn unknown_keys_and_bad_values_are_errors() {
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    assert_eq!(
        options.apply_uri_option("latncy", "10"),
        Err(Error::UnknownOption {
            name: "latncy".into(),
            value: "10".into()
        })
    );
    let error = options.apply_uri_option("oheadbw", "200").unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidValue {
            option: "srt recovery bandwidth overhead above input rate",
            ..
        }
    ));
    // SDK names are not URI keys.
    assert!(options.apply_uri_option("srt latency (ms)", "10").is_err());
    // A libsrt key tmio refuses says why.
    let error = options.apply_uri_option("lossmaxttl", "4").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Refused {
                option: "Loss max TTL (packets)",
                ..
            }
        ),
        "{error:?}"
    );
    let url: tmio_url::SrtUrl = "srt://example.com:9000?lossmaxttl=4".parse().unwrap();
    let error = options.apply_url(&url).unwrap_err();
    assert!(matches!(error, Error::Refused { .. }), "{error:?}");
    assert!(
        error.to_string().contains("reordering tolerance"),
        "{error}"
    );
    // A value other than the one tmio runs with is refused with the reason.
    let error = options.apply_uri_option("ipttl", "32").unwrap_err();
    assert!(error.to_string().contains("IP TTL (hops)"), "{error}");
    assert!(error.to_string().contains("system's TTL"), "{error}");
}

#[test]
fn the_combination_is_validated_after_all_are_applied() {
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    // mss first would make payload 1316 too large, payloadsize after it fixes that.
    options
        .apply_uri_options([("mss", "1200"), ("payloadsize", "1156")])
        .unwrap();
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    assert!(matches!(
        options.apply_uri_options([("mss", "1200")]),
        Err(Error::PayloadTooLarge { .. })
    ));
}

#[test]
fn every_url_option_of_a_parsed_url_is_applied() {
    let url: tmio_url::SrtUrl = concat!(
        "srt://example.com:9000?mode=caller&transtype=live&latency=400&rcvlatency=500",
        "&peerlatency=450&passphrase=0123456789abcdef&pbkeylen=24&maxbw=0&inputbw=1000000",
        "&mininputbw=500000&oheadbw=30&payloadsize=1200&mss=1400&conntimeo=2500",
        "&peeridletimeo=8000&congestion=live&tlpktdrop=0&nakreport=1&messageapi=1",
        "&tsbpdmode=1&enforcedencryption=1&drifttracer=0&sndbuf=4000000&rcvbuf=3000000",
        "&fc=32000&kmrefreshrate=33554432&kmpreannounce=4000&linger=3",
        "&adapter=127.0.0.1&port=4000&streamid=cam%2F1",
    )
    .parse()
    .unwrap();
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    options.apply_url(&url).unwrap();
    let expected = [
        ("srt receive latency (ms)", "500"),
        ("srt peer latency (ms)", "450"),
        (
            "Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto",
            "0123456789abcdef",
        ),
        ("Crypto key len in bytes", "24"),
        ("Maximum bandwidth (bytes per second)", "0"),
        ("Estimated input bandwidth (bytes per second)", "1000000"),
        (
            "Minimum value of input bandwidth estimation (bytes per second)",
            "500000",
        ),
        ("srt recovery bandwidth overhead above input rate", "30"),
        ("srt maximum payload size (bytes)", "1200"),
        ("Max segment size (bytes)", "1400"),
        (
            "Connect timeout(in milliseconds). Caller default: 3000, rendezvous (x 10)",
            "2500",
        ),
        ("Peer idle timeout (ms)", "8000"),
        ("The congestion control algorithm", "live"),
        ("Too-late Packet Drop", "false"),
        ("NAK report", "true"),
        ("Message API", "true"),
        ("TsbPd", "true"),
        ("Enforced encryption", "true"),
        ("Drift tracer", "false"),
        ("send buffer size (in bytes)", "4000000"),
        ("receive buffer size (in bytes)", "3000000"),
        ("Flight flag size (packets)", "32000"),
        ("Key refresh rate (packets)", "33554432"),
        ("Key pre-announce (packets)", "4000"),
        (
            "Number of seconds that the socket waits for unsent data when closing",
            "3",
        ),
        ("IP TTL (hops)", "-1"),
        ("IP type of service", "-1"),
        ("srt stream id", "cam/1"),
    ];
    for (name, value) in expected {
        assert_eq!(
            options.get_by_name(name).unwrap().to_string(),
            value,
            "{name}"
        );
    }
    assert_eq!(
        options.delivery_policy(),
        DeliveryPolicy::Live {
            receive_latency: Duration::from_millis(500),
            peer_latency: Duration::from_millis(450),
            too_late_drop: false,
        }
    );
}

#[test]
fn a_url_without_options_changes_nothing() {
    let url: tmio_url::SrtUrl = "srt://example.com:9000".parse().unwrap();
    let mut options = Options::from_preset(Preset::MpegTsLossless).unwrap();
    options.apply_url(&url).unwrap();
    assert_eq!(
        options,
        Options::from_preset(Preset::MpegTsLossless).unwrap()
    );
}

#[test]
fn a_url_combination_that_does_not_validate_is_an_error() {
    let url: tmio_url::SrtUrl = "srt://example.com:9000?pbkeylen=32".parse().unwrap();
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    assert_eq!(
        options.apply_url(&url),
        Err(Error::KeyLengthWithoutPassphrase { key_length: 32 })
    );
}

#[test]
fn every_option_the_url_parser_knows_is_modelled_or_left_to_the_transport() {
    for key in tmio_url::OptionKey::ALL {
        let name = key.name();
        assert!(
            tmio_preset::URL_CONNECTION_KEYS.contains(&name)
                || tmio_preset::OptionName::from_uri_key(name).is_some()
                || tmio_preset::RefusedOption::find(name).is_some(),
            "URL option {name} is neither an option nor a connection key"
        );
    }
}
