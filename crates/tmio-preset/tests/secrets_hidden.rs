//! The passphrase never shows in an error of this crate, whichever way it was given (SDK name,
//! URI key, `SRTO_` name, typed value, URL), nor in `Debug` or the JSON dump of the options.
#![allow(clippy::unwrap_used, clippy::panic)]

use tmio_preset::{OptionName, OptionValue, Options, Preset};

/// Fails if any 5-byte window of `secret` occurs in `text`.
fn assert_hidden(text: &str, secret: &str) {
    let bytes = secret.as_bytes();
    for window in bytes.windows(5.min(bytes.len())) {
        let piece = std::str::from_utf8(window).unwrap();
        assert!(
            !text.contains(piece),
            "{piece:?} (from the secret {secret:?}) is printed in:\n{text}"
        );
    }
}

const SECRET: &str = "Zq7Wx9Kp3Vm5Tj";

#[test]
fn a_bad_passphrase_error_names_the_option_and_the_length_only() {
    let too_short = &SECRET[..9];
    let too_long = SECRET.repeat(6); // 84 bytes
    for (value, length) in [(too_short.to_owned(), 9), (too_long, 84)] {
        for name in ["Passphrase", "passphrase", "SRTO_PASSPHRASE"] {
            let mut options = Options::new();
            let error = options.set_by_name(name, &value).unwrap_err();
            let message = format!("{error}\n{error:?}");
            assert_hidden(&message, &value);
            assert!(message.contains("Passphrase"), "{message}");
            assert!(message.contains(&format!("{length} bytes")), "{message}");
            assert!(message.contains("10 to 79"), "{message}");
        }
        let mut options = Options::new();
        let error = options
            .set(OptionName::Passphrase, OptionValue::Text(value.clone()))
            .unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"), &value);
        let error = options.set_passphrase(Some(&value)).unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"), &value);
        let error = options.apply_uri_option("passphrase", &value).unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"), &value);
    }
}

#[test]
fn an_unknown_name_that_looks_like_a_secret_does_not_print_its_value() {
    for name in ["Passphrse", "password", "SRTO_PASSWORD", "secret"] {
        let mut options = Options::new();
        let error = options.set_by_name(name, SECRET).unwrap_err();
        let message = format!("{error}\n{error:?}");
        assert_hidden(&message, SECRET);
        assert!(message.contains(name), "{message}");
        let error = options
            .set_value_by_name(name, OptionValue::Text(SECRET.into()))
            .unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"), SECRET);
        let error = options.apply_uri_option(name, SECRET).unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"), SECRET);
    }
}

#[test]
fn options_with_a_passphrase_print_without_it() {
    let mut options = Options::from_preset(Preset::Rtmp).unwrap();
    options.set_by_name("Passphrase", SECRET).unwrap();
    let json = serde_json::to_string(&options).unwrap();
    assert_hidden(&format!("{options:?}\n{options:#?}\n{json}"), SECRET);
    let url: tmio_url::SrtUrl = format!("srt://h:1?passphrase={SECRET}&pbkeylen=32")
        .parse()
        .unwrap();
    let mut from_url = Options::from_preset(Preset::Rtmp).unwrap();
    from_url.apply_url(&url).unwrap();
    assert_eq!(from_url.passphrase().map(|p| p.as_str()), Some(SECRET));
    assert_hidden(&format!("{from_url:?}"), SECRET);
}
