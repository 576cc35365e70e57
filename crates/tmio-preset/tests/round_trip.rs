//! What `get_by_name` returns, `set_by_name` takes back unchanged.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tmio_preset::{OptionName, Options, Preset, ValueRange, OPTION_TABLE};

fn valid_text(range: ValueRange) -> BoxedStrategy<String> {
    match range {
        ValueRange::Integer { min, max } => (min..=max).prop_map(|n| n.to_string()).boxed(),
        ValueRange::OptionalInteger { min, max } => prop_oneof![
            Just("-1".to_owned()),
            (min..=max).prop_map(|n| n.to_string()),
        ]
        .boxed(),
        ValueRange::Bool => prop::sample::select(vec!["1", "0", "TRUE", "no", "on", "off"])
            .prop_map(str::to_owned)
            .boxed(),
        ValueRange::Text {
            min_bytes,
            max_bytes,
        } => prop_oneof![
            Just(String::new()),
            proptest::string::string_regex(&format!("[ -~]{{{min_bytes},{max_bytes}}}")).unwrap(),
        ]
        .boxed(),
        ValueRange::KeyLength => prop::sample::select(vec!["0", "16", "24", "32"])
            .prop_map(str::to_owned)
            .boxed(),
        ValueRange::TransmissionType => {
            prop::sample::select(vec!["live", "file", "LIVE", "0", "1"])
                .prop_map(str::to_owned)
                .boxed()
        }
        ValueRange::Congestion => prop::sample::select(vec!["live", "file", "FILE"])
            .prop_map(str::to_owned)
            .boxed(),
        ValueRange::FixedInteger(fixed) => Just(fixed.to_string()).boxed(),
        ValueRange::FixedBool(fixed) => Just(fixed.to_string()).boxed(),
    }
}

/// One valid setting: an option (by SDK name) and a value.
fn setting() -> impl Strategy<Value = (&'static str, String)> {
    (0..OPTION_TABLE.len()).prop_flat_map(|index| {
        let spec = &OPTION_TABLE[index];
        valid_text(spec.range).prop_map(move |value| (spec.sdk_name, value))
    })
}

fn start() -> impl Strategy<Value = Options> {
    prop_oneof![
        Just(Options::new()),
        Just(Options::from_preset(Preset::Rtmp).unwrap()),
        Just(Options::from_preset(Preset::MpegTsLossless).unwrap()),
        (0u32..5000).prop_map(|latency_ms| {
            Options::from_preset(Preset::MpegTsFixedLatency { latency_ms }).unwrap()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn setting_what_was_read_changes_nothing(
        start in start(),
        settings in proptest::collection::vec(setting(), 0..12),
    ) {
        let mut options = start;
        for (name, value) in &settings {
            prop_assert_eq!(options.set_by_name(name, value), Ok(()));
        }
        for spec in &OPTION_TABLE {
            let read = options.get_by_name(spec.sdk_name).unwrap();
            let mut again = options.clone();
            prop_assert_eq!(again.set_by_name(spec.sdk_name, &read.to_string()), Ok(()));
            prop_assert_eq!(again.get_by_name(spec.sdk_name).unwrap(), read.clone());
            if spec.name == OptionName::Latency {
                // "srt latency (ms)" reads the receive latency and sets both directions.
                prop_assert_eq!(again.receive_latency(), options.receive_latency());
                prop_assert_eq!(again.peer_latency(), options.receive_latency());
            } else {
                prop_assert_eq!(&again, &options, "{}", spec.sdk_name);
            }
            // The typed value sets back the same way.
            let mut typed = options.clone();
            prop_assert_eq!(typed.set(spec.name, read.clone()), Ok(()));
            prop_assert_eq!(typed.get(spec.name), read);
        }
    }

    #[test]
    fn a_value_set_reads_back_as_set(setting in setting()) {
        let (name, text) = setting;
        let mut options = Options::new();
        options.set_by_name(name, &text).unwrap();
        let read = options.get_by_name(name).unwrap().to_string();
        let mut reparsed = Options::new();
        reparsed.set_by_name(name, &read).unwrap();
        prop_assert_eq!(reparsed.get_by_name(name).unwrap(), options.get_by_name(name).unwrap());
    }
}
