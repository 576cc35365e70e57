//! The SRT passphrase never shows in what this crate prints: `Display` and `Debug` of URLs and
//! option sets, warnings, and every error (a bad passphrase, an unknown option that looks like a
//! secret, text that is not a URL at all). The unredacted form, for programs, still parses
//! back with the secret.
#![allow(clippy::unwrap_used, clippy::panic)]

use tmio_url::{ParseOptions, SrtOptions, SrtUrl, Url};

/// A passphrase of unreserved characters only, so it prints the same percent-encoded or not.
const SECRET: &str = "Zq7Wx9Kp3Vm5Tj";

/// Fails if any 5-byte window of `secret` occurs in `text` (so neither the secret nor a
/// recognisable piece of it was printed).
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

fn printed_forms<T: std::fmt::Display + std::fmt::Debug>(value: &T) -> String {
    format!("{value}\n{value:?}\n{value:#?}")
}

#[test]
fn display_and_debug_of_a_url_hide_the_passphrase() {
    for text in [
        format!("srt://example.com:9000?passphrase={SECRET}"),
        format!("srt://example.com:9000?latency=200&PASSPHRASE={SECRET}&pbkeylen=32"),
        format!("srt://:9000?passphrase={SECRET}&streamid=#!::r=live/a"),
    ] {
        let url = SrtUrl::parse(&text).unwrap();
        assert_eq!(url.options().passphrase.as_deref(), Some(SECRET));
        assert_hidden(&printed_forms(&url), SECRET);
        assert_hidden(&printed_forms(url.options()), SECRET);
        let either: Url = text.parse().unwrap();
        assert_hidden(&printed_forms(&either), SECRET);
    }
}

#[test]
fn the_printed_url_keeps_every_key_in_order() {
    let url = SrtUrl::parse(&format!(
        "srt://example.com:9000?latency=200&passphrase={SECRET}&pbkeylen=32"
    ))
    .unwrap();
    let printed = url.to_string();
    assert_eq!(
        printed,
        "srt://example.com:9000?latency=200&passphrase=<hidden>&pbkeylen=32"
    );
    // A hidden passphrase is too short to be one: the printed form cannot be used by mistake.
    assert!(SrtUrl::parse(&printed).is_err());
}

#[test]
fn options_set_directly_hide_the_passphrase_too() {
    let mut options = SrtOptions::new();
    options.set("latency", "20").unwrap();
    options.passphrase = Some(SECRET.to_owned());
    assert_hidden(&printed_forms(&options), SECRET);
    assert_eq!(options.to_string(), "latency=20&passphrase=<hidden>");
}

#[test]
fn a_bad_passphrase_error_names_the_option_and_the_length_only() {
    let too_short = &SECRET[..9];
    let too_long = SECRET.repeat(6); // 84 bytes
    for (value, length) in [(too_short.to_owned(), 9), (too_long.clone(), 84)] {
        let error = SrtUrl::parse(&format!("srt://h:9000?passphrase={value}")).unwrap_err();
        let message = format!("{error}\n{error:?}");
        assert_hidden(&message, &value);
        assert!(message.contains("passphrase"), "{message}");
        assert!(message.contains(&format!("{length} bytes")), "{message}");
        assert!(message.contains("10 to 79"), "{message}");
        let mut options = SrtOptions::new();
        let error = options.set("passphrase", &value).unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"), &value);
    }
}

#[test]
fn a_passphrase_that_is_not_utf8_is_not_printed() {
    let error = SrtUrl::parse(&format!("srt://h:9000?passphrase={SECRET}%C3%28")).unwrap_err();
    let message = format!("{error}\n{error:?}");
    assert_hidden(&message, SECRET);
    assert!(message.contains("passphrase"), "{message}");
    assert!(message.contains("UTF-8"), "{message}");
}

#[test]
fn validate_does_not_print_a_bad_passphrase() {
    let mut options = SrtOptions::new();
    options.passphrase = Some(SECRET[..8].to_owned());
    let error = options.validate().unwrap_err();
    assert_hidden(&format!("{error}\n{error:?}"), &SECRET[..8]);
    let error = SrtUrl::new(None, 9000, options).unwrap_err();
    assert_hidden(&format!("{error}\n{error:?}"), &SECRET[..8]);
}

#[test]
fn a_misspelt_passphrase_key_does_not_print_its_value() {
    for key in ["passphrse", "Password", "pass", "secret", "txSecret"] {
        let text = format!("srt://h:9000?latency=20&{key}={SECRET}");
        let error = SrtUrl::parse(&text).unwrap_err();
        let message = format!("{error}\n{error:?}");
        assert_hidden(&message, SECRET);
        assert!(message.contains(key), "{message}");
        let url = SrtUrl::parse_with(&text, ParseOptions::LENIENT).unwrap();
        assert_eq!(url.warnings().len(), 1);
        let warning = &url.warnings()[0];
        assert_hidden(&format!("{warning}\n{warning:?}\n{url:?}"), SECRET);
    }
    // Other unknown options still show their value: it helps to fix them.
    let error = SrtUrl::parse("srt://h:9000?latncy=200").unwrap_err();
    assert!(error.to_string().contains("\"200\""), "{error}");
}

#[test]
fn text_that_fails_before_the_query_is_read_does_not_print_the_passphrase() {
    for text in [
        format!("srt:/h:9000?passphrase={SECRET}"),
        format!("srt//h:9000?passphrase={SECRET}"),
        format!("srt://h:9000&passphrase={SECRET}"),
        format!("srt://h&passphrase={SECRET}"),
        format!("srt://h:9000/live&passphrase={SECRET}"),
        format!("rtmp://h:9000?passphrase={SECRET}"),
        format!("tcp://127.0.0.1:1935?passphrase={SECRET}"),
        format!("tcp://127.0.0.1:1935/x&passphrase={SECRET}"),
        format!("srt://user:{SECRET}@h:9000"),
    ] {
        for parse_options in [ParseOptions::STRICT, ParseOptions::LENIENT] {
            match Url::parse_with(&text, parse_options) {
                Err(error) => assert_hidden(&format!("{error}\n{error:?}"), SECRET),
                Ok(url) => assert_hidden(&format!("{url}\n{url:?}\n{url:#?}"), SECRET),
            }
        }
        if let Err(error) = SrtUrl::parse(&text) {
            assert_hidden(&format!("{error}\n{error:?}"), SECRET);
        }
    }
}

#[test]
fn the_unredacted_form_keeps_the_secret_for_programs() {
    let text = format!("srt://example.com:9000?latency=200&passphrase={SECRET}%26%20x&pbkeylen=32");
    let url = SrtUrl::parse(&text).unwrap();
    let exact = url.unredacted().to_string();
    assert_eq!(
        exact,
        format!("srt://example.com:9000?latency=200&passphrase={SECRET}%26%20x&pbkeylen=32")
    );
    let reparsed = SrtUrl::parse(&exact).unwrap();
    assert_eq!(reparsed, url);
    assert_eq!(
        reparsed.options().passphrase.as_deref(),
        Some(format!("{SECRET}& x").as_str())
    );
    let either: Url = text.parse().unwrap();
    assert_eq!(either.unredacted().to_string(), exact);
    assert_eq!(
        url.options().unredacted().to_string(),
        exact.split_once('?').unwrap().1
    );
    // Debug of the wrapper is for logs too.
    assert_hidden(&format!("{:?}", url.unredacted()), SECRET);
}

#[test]
fn a_bad_passphrase_is_the_invalid_passphrase_variant() {
    assert_eq!(
        SrtUrl::parse("srt://h:1?passphrase=short"),
        Err(tmio_url::Error::InvalidPassphrase {
            length: 5,
            reason: "expected 10 to 79 bytes"
        })
    );
    assert_eq!(
        tmio_url::redact_url_text(&format!("srt://h:1?x=1&passphrase={SECRET}")),
        "srt://h:1?x=1&passphrase=<hidden>"
    );
}
