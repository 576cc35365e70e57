//! Options are set and read by the reference SDK's names; unknown names and bad values are
//! errors that name the option and the value.
#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;
use tmio_preset::{Error, OptionName, OptionValue, Options, ValueRange, OPTION_TABLE};

/// The SDK's option names, exactly as the reference SDK spells them.
const SDK_NAMES: [&str; 20] = [
    "srt latency (ms)",
    "srt receive latency (ms)",
    "srt peer latency (ms)",
    "Too-late Packet Drop",
    "Maximum bandwidth (bytes per second)",
    "Input bandwidth (bytes per second)",
    "Overhead bandwidth (%)",
    "Payload size (bytes)",
    "Send buffer size (bytes)",
    "Receive buffer size (bytes)",
    "Connect timeout (ms)",
    "Peer idle timeout (ms)",
    "Linger (s)",
    "Passphrase",
    "Key length (bytes)",
    "Stream ID",
    "Transmission type",
    "TSBPD mode",
    "NAK report",
    "Max segment size (bytes)",
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
        ValueRange::TransmissionType => ["live", "file"][(seed % 2) as usize].to_owned(),
    }
}

#[test]
fn every_sdk_name_is_in_the_table() {
    for name in SDK_NAMES {
        let option = OptionName::from_name(name).unwrap();
        assert_eq!(option.sdk_name(), name);
        assert!(!option.spec().tmio_name);
    }
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
        ("Overhead bandwidth (%)", "50", OptionValue::Integer(50)),
        ("Linger (s)", "7", OptionValue::Integer(7)),
        (
            "Stream ID",
            "#!::r=live/cam,m=publish",
            OptionValue::Text("#!::r=live/cam,m=publish".into()),
        ),
        ("Key length (bytes)", "32", OptionValue::Integer(32)),
        (
            "Max segment size (bytes)",
            "1400",
            OptionValue::Integer(1400),
        ),
        ("Send drop delay (ms)", "-1", OptionValue::Integer(-1)),
    ];
    for (name, text, value) in cases {
        options.set_by_name(name, text).unwrap();
        assert_eq!(options.get_by_name(name).unwrap(), value, "{name}");
    }
    options
        .set_value_by_name("Transmission type", OptionValue::Text("file".into()))
        .unwrap();
    assert_eq!(
        options
            .get_by_name("Transmission type")
            .unwrap()
            .to_string(),
        "file"
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
            ValueRange::TransmissionType => bad.push("rtmp".into()),
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
