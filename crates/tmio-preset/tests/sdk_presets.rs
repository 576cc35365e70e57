//! The reference SDK's presets (`android/sdk/include/tmio-preset.h` in tencentyun/tmio, lines
//! 16-54): their values, read back by the SDK's option names, and their semantics (setters over
//! the current options). tmio's `Preset`s are the SDK's plus a linger.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tmio_preset::{
    OptionValue, Options, Preset, SrtPreset, LOSSLESS_LINGER, PRESET_BUFFER_SIZE,
    PRESET_MAX_BANDWIDTH,
};

/// `static constexpr int max_bandwidth = (20 << 20) / 8;` (line 17).
const SDK_MAX_BANDWIDTH: i64 = (20 << 20) / 8;
/// `static constexpr int buf_size = 2 << 20;` (line 19).
const SDK_BUF_SIZE: i64 = 2 << 20;
/// `srt_options::PAYLOAD_SIZE_LIVE` (`tmio-options.h` line 37).
const SDK_PAYLOAD_SIZE_LIVE: i64 = 1316;

/// What a preset sets, by the SDK's names, with the header's values.
fn sdk_setters(drop: bool, latency_ms: i64, tsbpd: bool) -> Vec<(&'static str, OptionValue)> {
    vec![
        ("Too-late Packet Drop", OptionValue::Bool(drop)),
        (
            "srt maximum payload size (bytes)",
            OptionValue::Integer(SDK_PAYLOAD_SIZE_LIVE),
        ),
        ("srt latency (ms)", OptionValue::Integer(latency_ms)),
        ("TsbPd", OptionValue::Bool(tsbpd)),
        (
            "Maximum bandwidth (bytes per second)",
            OptionValue::Integer(SDK_MAX_BANDWIDTH),
        ),
        (
            "send buffer size (in bytes)",
            OptionValue::Integer(SDK_BUF_SIZE),
        ),
        (
            "receive buffer size (in bytes)",
            OptionValue::Integer(SDK_BUF_SIZE),
        ),
    ]
}

fn assert_sets(options: &Options, expected: &[(&str, OptionValue)]) {
    for (name, value) in expected {
        assert_eq!(&options.get_by_name(name).unwrap(), value, "{name}");
    }
}

/// Options with every value a preset sets moved away from it, and a stream id it never sets.
fn far_from_every_preset() -> Options {
    let mut options = Options::new();
    for (name, value) in [
        ("Too-late Packet Drop", "1"),
        ("srt maximum payload size (bytes)", "1000"),
        ("srt latency (ms)", "777"),
        ("Maximum bandwidth (bytes per second)", "-1"),
        ("send buffer size (in bytes)", "4000000"),
        ("receive buffer size (in bytes)", "4000000"),
        ("srt stream id", "#!::r=live/kept"),
        (
            "Connect timeout(in milliseconds). Caller default: 3000, rendezvous (x 10)",
            "1234",
        ),
    ] {
        options.set_by_name(name, value).unwrap();
    }
    options
}

fn assert_untouched(options: &Options) {
    assert_eq!(options.stream_id(), Some("#!::r=live/kept"));
    assert_eq!(options.connect_timeout(), Duration::from_millis(1234));
}

#[test]
fn the_constants_are_the_headers() {
    assert_eq!(SrtPreset::MAX_BANDWIDTH, 2_621_440);
    assert_eq!(SrtPreset::MAX_BANDWIDTH as i64, SDK_MAX_BANDWIDTH);
    assert_eq!(i64::from(SrtPreset::BUF_SIZE), SDK_BUF_SIZE);
    assert_eq!(PRESET_MAX_BANDWIDTH, SrtPreset::MAX_BANDWIDTH);
    assert_eq!(PRESET_BUFFER_SIZE, SrtPreset::BUF_SIZE);
}

#[test]
fn rtmp_sets_the_headers_values_over_the_current_options() {
    for is_group in [false, true] {
        let mut options = far_from_every_preset();
        SrtPreset::rtmp(&mut options, is_group).unwrap();
        assert_sets(&options, &sdk_setters(false, 0, false));
        assert_untouched(&options);
    }
    // The header's body does not read isGroup: both give the same options.
    let mut alone = Options::new();
    let mut grouped = Options::new();
    SrtPreset::rtmp(&mut alone, false).unwrap();
    SrtPreset::rtmp(&mut grouped, true).unwrap();
    assert_eq!(alone, grouped);
}

#[test]
fn mpeg_ts_lossless_equals_rtmp() {
    let mut options = far_from_every_preset();
    SrtPreset::mpeg_ts_lossless(&mut options).unwrap();
    assert_sets(&options, &sdk_setters(false, 0, false));
    assert_untouched(&options);
    let mut rtmp = far_from_every_preset();
    SrtPreset::rtmp(&mut rtmp, false).unwrap();
    assert_eq!(options, rtmp);
}

#[test]
fn mpeg_ts_fixed_latency_sets_tsbpd_drop_and_the_latency() {
    for latency_ms in [120u32, 0, 2500] {
        let mut options = far_from_every_preset();
        SrtPreset::mpeg_ts_fixed_latency(&mut options, latency_ms).unwrap();
        assert_sets(&options, &sdk_setters(true, i64::from(latency_ms), true));
        assert_untouched(&options);
    }
}

#[test]
fn tmio_presets_are_the_sdks_plus_the_linger() {
    type SdkPreset = fn(&mut Options);
    let cases: [(Preset, SdkPreset, Duration); 3] = [
        (
            Preset::Rtmp,
            |options| SrtPreset::rtmp(options, false).unwrap(),
            LOSSLESS_LINGER,
        ),
        (
            Preset::MpegTsLossless,
            |options| SrtPreset::mpeg_ts_lossless(options).unwrap(),
            LOSSLESS_LINGER,
        ),
        (
            Preset::MpegTsFixedLatency { latency_ms: 120 },
            |options| SrtPreset::mpeg_ts_fixed_latency(options, 120).unwrap(),
            Duration::ZERO,
        ),
    ];
    for (preset, sdk, linger) in cases {
        let mut tmio = far_from_every_preset();
        tmio.apply_preset(preset).unwrap();
        let mut expected = far_from_every_preset();
        sdk(&mut expected);
        expected.set_linger(linger).unwrap();
        assert_eq!(tmio, expected, "{preset}");
        assert_untouched(&tmio);
    }
}
