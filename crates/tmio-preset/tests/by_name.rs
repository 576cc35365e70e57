//! Options are set and read by the reference SDK's names; unknown names and bad values are
//! errors that name the option and the value.
#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use tmio_preset::{Error, OptionName, OptionValue, Options, ValueRange, OPTION_TABLE};

/// The SDK's option names, exactly as `android/sdk/include/tmio-options.h` (tencentyun/tmio)
/// spells them: 3 base options, then the 18 SRT options (the 2 RIST ones are refused).
const SDK_NAMES: [&str; 21] = [
    "thread safe check",
    "timeout (ms)",
    "recv send flags",
    "send buffer size (in bytes)",
    "receive buffer size (in bytes)",
    "srt maximum payload size (bytes)",
    "srt latency (ms)",
    "Maximum bandwidth (bytes per second)",
    "srt recovery bandwidth overhead above input rate",
    "srt stream id",
    "Connect timeout(in milliseconds). Caller default: 3000, rendezvous (x 10)",
    "Crypto key len in bytes",
    "Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto",
    "Estimated input bandwidth (bytes per second)",
    "Minimum value of input bandwidth estimation (bytes per second)",
    "Too-late Packet Drop",
    "Minimum SRT version that is required from the peer",
    "The transmission type for the socket",
    "The congestion control algorithm",
    "Number of seconds that the socket waits for unsent data when closing",
    "TsbPd",
];

/// A valid text value for `range`, chosen by `seed`.
fn valid_value(range: ValueRange, seed: u64) -> String {
    match range {
        ValueRange::Integer { min, max } => {
            let span = (max as i128 - min as i128 + 1) as u128;
            (min as i128 + (seed as u128 % span) as i128).to_string()
        }
        ValueRange::OptionalInteger { min, max } => {
            let span = (max - min + 2) as u64;
            let pick = min - 1 + (seed % span) as i64;
            if pick == min - 1 {
                "-1".to_owned()
            } else {
                pick.to_string()
            }
        }
        ValueRange::Bool => {
            ["1", "0", "true", "false", "yes", "no", "on", "off"][(seed % 8) as usize].to_owned()
        }
        ValueRange::Text {
            min_bytes,
            max_bytes,
        } => {
            let length = min_bytes + (seed as usize % (max_bytes - min_bytes + 1));
            "s".repeat(length)
        }
        ValueRange::KeyLength => ["0", "16", "24", "32"][(seed % 4) as usize].to_owned(),
        ValueRange::TransmissionType => ["0", "1", "live", "file"][(seed % 4) as usize].to_owned(),
        // Valid alone only with the live transmission type (the default).
        ValueRange::Congestion => "live".to_owned(),
        ValueRange::FixedInteger(fixed) => fixed.to_string(),
        ValueRange::FixedBool(fixed) => fixed.to_string(),
    }
}

#[test]
fn every_sdk_name_is_in_the_table() {
    for name in SDK_NAMES {
        let option = OptionName::from_name(name).unwrap();
        assert_eq!(option.sdk_name(), name);
        assert!(!option.spec().tmio_name);
    }
    // Every other name is marked as tmio's.
    let sdk_count = OPTION_TABLE.iter().filter(|spec| !spec.tmio_name).count();
    assert_eq!(sdk_count, SDK_NAMES.len());
}

#[test]
fn the_sdk_rist_options_are_refused_as_unsupported() {
    let mut options = Options::new();
    for (name, value) in [("buffer size in ms", "1000"), ("profile", "1")] {
        let error = options.set_by_name(name, value).unwrap_err();
        assert!(
            matches!(&error, Error::Refused { option, .. } if *option == name),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("RIST is not supported"),
            "{error}"
        );
        assert!(error.to_string().contains(name), "{error}");
        assert!(matches!(
            options.get_by_name(name),
            Err(Error::Refused { .. })
        ));
    }
    assert_eq!(options, Options::new());
}

proptest! {
    #[test]
    fn every_sdk_name_accepts_every_valid_value(index in 0usize..SDK_NAMES.len(), seed: u64) {
        let name = SDK_NAMES[index];
        let option = OptionName::from_name(name).unwrap();
        let value = valid_value(option.spec().range, seed);
        let mut options = Options::new();
        prop_assert_eq!(options.set_by_name(name, &value), Ok(()));
        prop_assert!(options.get_by_name(name).is_ok());
    }
}

#[test]
fn values_read_back_in_the_options_unit() {
    let mut options = Options::new();
    let cases = [
        ("srt receive latency (ms)", "80", OptionValue::Integer(80)),
        ("Too-late Packet Drop", "off", OptionValue::Bool(false)),
        (
            "Maximum bandwidth (bytes per second)",
            "-1",
            OptionValue::Integer(-1),
        ),
        (
            "srt recovery bandwidth overhead above input rate",
            "50",
            OptionValue::Integer(50),
        ),
        (
            "Number of seconds that the socket waits for unsent data when closing",
            "7",
            OptionValue::Integer(7),
        ),
        (
            "srt stream id",
            "#!::r=live/cam,m=publish",
            OptionValue::Text("#!::r=live/cam,m=publish".into()),
        ),
        ("Crypto key len in bytes", "32", OptionValue::Integer(32)),
        (
            "Max segment size (bytes)",
            "1400",
            OptionValue::Integer(1400),
        ),
        ("Send drop delay (ms)", "-1", OptionValue::Integer(-1)),
        (
            "Minimum SRT version that is required from the peer",
            "66304",
            OptionValue::Integer(0x01_03_00),
        ),
    ];
    for (name, text, value) in cases {
        options.set_by_name(name, text).unwrap();
        assert_eq!(options.get_by_name(name).unwrap(), value, "{name}");
    }
    // The SDK's transmission type is an int (0 live, 1 file); libsrt's words work too.
    options
        .set_value_by_name(
            "The transmission type for the socket",
            OptionValue::Integer(1),
        )
        .unwrap();
    assert_eq!(
        options
            .get_by_name("The transmission type for the socket")
            .unwrap(),
        OptionValue::Integer(1)
    );
    assert_eq!(
        options
            .get_by_name("The congestion control algorithm")
            .unwrap(),
        OptionValue::Text("file".into())
    );
    options.set_by_name("transtype", "live").unwrap();
    assert_eq!(
        options.get_by_name("transtype").unwrap(),
        OptionValue::Integer(0)
    );
}

#[test]
fn libsrt_keys_and_constants_are_accepted_too() {
    let mut options = Options::new();
    options.set_by_name("latency", "33").unwrap();
    options.set_by_name("SRTO_PEERLATENCY", "44").unwrap();
    assert_eq!(
        options.get_by_name("srt latency (ms)").unwrap(),
        OptionValue::Integer(33)
    );
    assert_eq!(
        options.get_by_name("peerlatency").unwrap(),
        OptionValue::Integer(44)
    );
}

#[test]
fn an_unknown_name_is_an_error_naming_it_and_its_value() {
    let mut options = Options::new();
    let error = options.set_by_name("srt latancy (ms)", "120").unwrap_err();
    assert_eq!(
        error,
        Error::UnknownOption {
            name: "srt latancy (ms)".into(),
            value: "120".into()
        }
    );
    assert!(error.to_string().contains("srt latancy (ms)"));
    assert!(error.to_string().contains("120"));
    assert!(options.get_by_name("Bitrate").is_err());
    assert_eq!(options, Options::new());
}

#[test]
fn out_of_range_and_unparsable_values_are_errors_naming_option_and_value() {
    for spec in &OPTION_TABLE {
        let mut bad: Vec<String> = vec!["twelve".into(), "1.5".into()];
        match spec.range {
            ValueRange::Integer { min, max } => {
                if min > i64::MIN {
                    bad.push((min - 1).to_string());
                }
                if max < i64::MAX {
                    bad.push((max + 1).to_string());
                } else {
                    bad.push("9223372036854775808".into());
                }
            }
            ValueRange::OptionalInteger { min, max } => {
                bad.push("-2".into());
                bad.push((max + 1).to_string());
                if min > 0 {
                    bad.push((min - 1).to_string());
                }
            }
            ValueRange::Bool => bad.push("2".into()),
            ValueRange::Text {
                min_bytes,
                max_bytes,
            } => {
                bad = vec!["x".repeat(max_bytes + 1)];
                if min_bytes > 1 {
                    bad.push("x".repeat(min_bytes - 1));
                }
            }
            ValueRange::KeyLength => bad.push("8".into()),
            ValueRange::TransmissionType => bad.extend(["rtmp".into(), "2".into()]),
            // Refused values: see the unit test of the fixed options and
            // `the_congestion_control_follows_the_transmission_type`.
            ValueRange::Congestion => bad = vec!["bbr".into()],
            ValueRange::FixedInteger(_) => {}
            ValueRange::FixedBool(_) => bad = vec!["2".into()],
        }
        for value in bad {
            let mut options = Options::new();
            let error = options.set_by_name(spec.sdk_name, &value).unwrap_err();
            if spec.name == OptionName::Passphrase {
                // A secret: the error gives its length, never the value.
                assert_eq!(
                    error,
                    Error::InvalidPassphrase {
                        length: value.len(),
                        expected: spec.expected
                    }
                );
                assert!(!error.to_string().contains(&value), "{error}");
                assert_eq!(options, Options::new(), "a failed set must change nothing");
                continue;
            }
            match &error {
                Error::InvalidValue {
                    option,
                    value: given,
                    expected,
                } => {
                    assert_eq!(*option, spec.sdk_name);
                    assert_eq!(given, &value);
                    assert_eq!(*expected, spec.expected);
                }
                other => panic!("{} = {value}: {other:?}", spec.sdk_name),
            }
            let message = error.to_string();
            assert!(
                message.contains(spec.sdk_name) && message.contains(&value),
                "{message}"
            );
            assert_eq!(options, Options::new(), "a failed set must change nothing");
        }
    }
}
