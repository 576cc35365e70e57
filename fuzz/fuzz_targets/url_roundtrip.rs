//! Any text, parsed as an srt:// URL (strict and lenient), a tcp:// URL and either: parsing
//! never panics, and whatever parses prints (unredacted) to a URL that parses back to an equal
//! value and prints the same again; its ordinary (redacted) form never shows the passphrase.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tmio_url::{ParseOptions, SrtUrl, TcpUrl, Url};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parse_options in [ParseOptions::STRICT, ParseOptions::LENIENT] {
        if let Ok(url) = SrtUrl::parse_with(text, parse_options) {
            let printed = url.unredacted().to_string();
            let reparsed = SrtUrl::parse(&printed)
                .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
            assert_eq!(reparsed, url, "{text:?} printed as {printed:?}");
            assert_eq!(reparsed.unredacted().to_string(), printed);
            assert!(reparsed.warnings().is_empty(), "{printed:?}");
            if url.options().passphrase.is_some() {
                let shown = url.to_string();
                assert!(shown.contains("passphrase=<hidden>"), "{shown:?}");
            }
        }
        if let Ok(url) = Url::parse_with(text, parse_options) {
            let printed = url.unredacted().to_string();
            assert_eq!(printed.parse::<Url>().ok(), Some(url), "{text:?} -> {printed:?}");
        }
    }
    if let Ok(url) = TcpUrl::parse(text) {
        let printed = url.to_string();
        assert_eq!(TcpUrl::parse(&printed).ok(), Some(url), "{text:?} -> {printed:?}");
    }
});
