//! Combinations of options are checked by `Options::validate`.
#![allow(clippy::unwrap_used)]

use tmio_preset::{CongestionControl, Error, KeyLength, Options, Preset};

fn rtmp() -> Options {
    Options::from_preset(Preset::Rtmp).unwrap()
}

#[test]
fn a_passphrase_without_key_length_means_aes_128() {
    let mut options = rtmp();
    assert_eq!(options.effective_key_length(), None);
    options.set_passphrase(Some("0123456789")).unwrap();
    options.validate().unwrap();
    assert_eq!(options.key_length(), KeyLength::Default);
    assert_eq!(options.effective_key_length(), Some(KeyLength::Aes128));
    options.set_key_length(KeyLength::Aes256);
    assert_eq!(options.effective_key_length(), Some(KeyLength::Aes256));
}

#[test]
fn a_key_length_without_passphrase_is_an_error() {
    let mut options = rtmp();
    options
        .set_by_name("Crypto key len in bytes", "24")
        .unwrap();
    assert_eq!(
        options.validate(),
        Err(Error::KeyLengthWithoutPassphrase { key_length: 24 })
    );
    options.set_by_name("passphrase", "").unwrap();
    assert!(options.validate().is_err());
}

#[test]
fn a_payload_over_1456_bytes_is_an_error() {
    let mut options = rtmp();
    let error = options
        .set_by_name("srt maximum payload size (bytes)", "1457")
        .unwrap_err();
    assert!(error.to_string().contains("1457"));
    options.set_payload_size(1456).unwrap();
    options.validate().unwrap();
}

#[test]
fn the_payload_must_fit_the_segment_size() {
    let mut options = rtmp();
    options.set_mss(1360).unwrap();
    options.validate().unwrap();
    options.set_mss(1359).unwrap();
    assert_eq!(
        options.validate(),
        Err(Error::PayloadTooLarge {
            payload_size: 1316,
            mss: 1359,
            max: 1315
        })
    );
}

#[test]
fn buffers_must_hold_32_packets() {
    let mut options = rtmp();
    options.set_send_buffer_size(32 * 1456 - 1).unwrap();
    assert!(matches!(
        options.validate(),
        Err(Error::BufferTooSmall {
            option: "send buffer size (in bytes)",
            min: 46592,
            ..
        })
    ));
    options.set_send_buffer_size(32 * 1456).unwrap();
    options.validate().unwrap();
    options.set_receive_buffer_size(1000).unwrap();
    assert!(matches!(
        options.validate(),
        Err(Error::BufferTooSmall {
            option: "receive buffer size (in bytes)",
            ..
        })
    ));
}

#[test]
fn the_receive_buffer_must_fit_the_flight_window() {
    let mut options = rtmp();
    options.set_flight_flag_size(1000).unwrap();
    assert_eq!(
        options.validate(),
        Err(Error::ReceiveBufferAboveFlightWindow {
            bytes: 2 * 1024 * 1024,
            packets: 1441,
            flight_flag_size: 1000
        })
    );
    options.set_flight_flag_size(1441).unwrap();
    options.validate().unwrap();
}

#[test]
fn the_congestion_control_belongs_to_the_transmission_type() {
    let mut options = rtmp();
    // The presets choose live_bbr: adaptive under the bandwidth cap.
    assert_eq!(options.congestion(), CongestionControl::LiveBbr);
    options
        .set_by_name("The congestion control algorithm", "file")
        .unwrap();
    let error = options.validate().unwrap_err();
    assert!(matches!(
        error,
        Error::Conflict {
            option: "The congestion control algorithm",
            other: "The transmission type for the socket",
            ..
        }
    ));
    // The transmission type sets the controller with it.
    options.set_by_name("transtype", "1").unwrap();
    options.validate().unwrap();
    assert_eq!(options.congestion(), CongestionControl::File);
    // live_bbr is a live-mode controller: with file it is a conflict naming both.
    options
        .set_by_name("The congestion control algorithm", "live_bbr")
        .unwrap();
    let error = options.validate().unwrap_err();
    assert!(error.to_string().contains("live_bbr"), "{error}");
    // Back to live: a live-mode controller already set stays (live_bbr here)...
    options.set_by_name("transtype", "0").unwrap();
    assert_eq!(options.congestion(), CongestionControl::LiveBbr);
    options.validate().unwrap();
    // ... and from file, live mode brings libsrt's live controller.
    options.apply_uri_option("transtype", "file").unwrap();
    options.apply_uri_option("transtype", "live").unwrap();
    assert_eq!(options.congestion(), CongestionControl::Live);
    options.validate().unwrap();
    // Anything else is an invalid value naming it.
    let error = options
        .set_by_name("The congestion control algorithm", "bbr")
        .unwrap_err();
    assert!(error.to_string().contains("bbr"), "{error}");
}

#[test]
fn file_mode_is_a_byte_stream() {
    let mut options = rtmp();
    options.set_by_name("transtype", "file").unwrap();
    options.validate().unwrap();
    options.set_by_name("messageapi", "1").unwrap();
    assert!(matches!(
        options.validate(),
        Err(Error::Conflict {
            option: "Message API",
            ..
        })
    ));
}

#[test]
fn live_mode_needs_the_message_api() {
    let mut options = rtmp();
    options.set_by_name("messageapi", "0").unwrap();
    assert!(matches!(
        options.validate(),
        Err(Error::Conflict {
            option: "Message API",
            ..
        })
    ));
    options.set_by_name("transtype", "file").unwrap();
    options.set_message_api(false);
    options.validate().unwrap();
}

#[test]
fn the_key_pre_announcement_fits_half_the_refresh_period() {
    let mut options = rtmp();
    assert_eq!(options.key_refresh_rate(), 1 << 25);
    assert_eq!(options.key_pre_announce(), 4000);
    options.apply_uri_option("kmrefreshrate", "1000").unwrap();
    options.apply_uri_option("kmpreannounce", "499").unwrap();
    options.validate().unwrap();
    assert_eq!(options.key_refresh_rate(), 1000);
    assert_eq!(options.key_pre_announce(), 499);
    options
        .set_by_name("Key pre-announce (packets)", "500")
        .unwrap();
    let error = options.validate().unwrap_err();
    assert!(matches!(
        error,
        Error::Conflict {
            option: "Key pre-announce (packets)",
            other: "Key refresh rate (packets)",
            ..
        }
    ));
    assert!(error.to_string().contains("500"), "{error}");
    // Out of range: named with its value.
    let error = options.apply_uri_option("kmrefreshrate", "2").unwrap_err();
    let text = error.to_string();
    assert!(text.contains("refresh") && text.contains("\"2\""), "{text}");
    assert!(options.apply_uri_option("kmrefreshrate", "1").is_err());
}

#[test]
fn key_refresh_options_follow_libsrt_zero_means_default_and_the_refresh_rate_lowers_the_default_announcement(
) {
    // libsrt: 0 selects the default for both; setting the refresh rate alone lowers the
    // default pre-announcement to (rate - 1) / 2 instead of refusing the URL.
    let mut options = rtmp();
    options.apply_uri_option("kmrefreshrate", "1000").unwrap();
    options.validate().unwrap();
    assert_eq!(options.key_pre_announce(), 499);
    options.apply_uri_option("kmpreannounce", "200").unwrap();
    assert_eq!(options.key_pre_announce(), 200);
    options.apply_uri_option("kmpreannounce", "0").unwrap();
    assert_eq!(options.key_pre_announce(), 499);
    options.apply_uri_option("kmrefreshrate", "0").unwrap();
    options.validate().unwrap();
    assert_eq!(options.key_refresh_rate(), 1 << 25);
    assert_eq!(options.key_pre_announce(), 4000);
}
