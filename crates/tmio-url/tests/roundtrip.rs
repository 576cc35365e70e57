//! Parse -> print -> parse gives an equal value, and printing is a fixpoint, for generated
//! URLs covering every option, odd stream ids, IPv6, names and percent-encoded values.
#![allow(clippy::unwrap_used, clippy::panic)]

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tmio_url::{Error, OptionKey, SrtUrl, StreamId, TcpUrl, Url, ValueKind};

const MUST_ENCODE: &AsciiSet = &CONTROLS.add(b'%').add(b'&');

fn decimal(range: std::ops::RangeInclusive<u64>) -> BoxedStrategy<String> {
    range.prop_map(|n| n.to_string()).boxed()
}

fn one_of(words: &'static [&'static str]) -> BoxedStrategy<String> {
    proptest::sample::select(words)
        .prop_map(str::to_owned)
        .boxed()
}

fn host_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,12}(\\.[a-zA-Z0-9_-]{1,12}){0,3}"
}

fn option_address() -> BoxedStrategy<String> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<Ipv6Addr>().prop_map(|ip| ip.to_string()),
        any::<Ipv6Addr>().prop_map(|ip| format!("[{ip}]")),
        host_name(),
    ]
    .boxed()
}

/// Stream ids: verbatim text of any characters, and `#!::` lists with standard and odd keys.
fn stream_id_text() -> BoxedStrategy<String> {
    let verbatim =
        "\\PC{0,60}".prop_filter("not the #!:: syntax", |s: &String| !s.starts_with("#!::"));
    let standard = prop_oneof![
        "[^,]{0,20}".prop_map(|v| ("u".to_owned(), v)),
        "[^,]{0,20}".prop_map(|v| ("r".to_owned(), v)),
        "[^,]{0,20}".prop_map(|v| ("h".to_owned(), v)),
        "[^,]{0,20}".prop_map(|v| ("s".to_owned(), v)),
        proptest::sample::select(&["stream", "file", "auth"][..])
            .prop_map(|v| ("t".to_owned(), v.to_owned())),
        proptest::sample::select(&["request", "publish", "bidirectional"][..])
            .prop_map(|v| ("m".to_owned(), v.to_owned())),
    ];
    let other = ("[^,=]{1,10}", "[^,]{0,20}")
        .prop_filter("not a standard key", |(k, _): &(String, String)| {
            !["u", "r", "h", "s", "t", "m"].contains(&k.as_str())
        });
    let item = prop_oneof![standard, other];
    let access = proptest::collection::vec(item, 0..8).prop_map(|items| {
        let mut seen: Vec<String> = Vec::new();
        let mut text = String::from("#!::");
        for (key, value) in items {
            if seen.contains(&key) {
                continue;
            }
            if !seen.is_empty() {
                text.push(',');
            }
            text.push_str(&format!("{key}={value}"));
            seen.push(key);
        }
        text
    });
    prop_oneof![verbatim, access]
        .prop_filter("libsrt limit", |s| s.len() <= 512)
        .boxed()
}

/// A valid raw (decoded) value for each option, by what the option expects.
fn value_text(kind: ValueKind) -> BoxedStrategy<String> {
    const I32: u64 = i32::MAX as u64;
    const I64: u64 = i64::MAX as u64;
    match kind {
        ValueKind::Milliseconds | ValueKind::Seconds | ValueKind::Packets => decimal(0..=I32),
        ValueKind::GroupStableMilliseconds => decimal(60..=I32),
        ValueKind::Bool => one_of(&[
            "1", "0", "true", "false", "yes", "no", "on", "off", "TRUE", "Off",
        ]),
        ValueKind::Mode => one_of(&["caller", "listener", "rendezvous", "client", "server"]),
        ValueKind::TransType => one_of(&["live", "file", "LIVE"]),
        ValueKind::CongestionControl => one_of(&["live", "live_bbr", "file", "Live_BBR"]),
        ValueKind::Passphrase => "\\PC{10,79}"
            .prop_filter("10 to 79 bytes", |s: &String| (10..=79).contains(&s.len()))
            .boxed(),
        ValueKind::KeyLength => one_of(&["0", "16", "24", "32"]),
        ValueKind::MaxBandwidth => prop_oneof![Just("-1".to_owned()), decimal(0..=I64)].boxed(),
        ValueKind::BytesPerSecond => decimal(0..=I64),
        ValueKind::OverheadPercent => decimal(5..=100),
        ValueKind::PayloadSize => decimal(0..=1456),
        ValueKind::SegmentSize => decimal(76..=65535),
        ValueKind::BufferBytes => decimal(1..=I32),
        ValueKind::FlowWindow => decimal(32..=I32),
        ValueKind::Address => option_address(),
        ValueKind::Port | ValueKind::Weight => decimal(0..=65535),
        ValueKind::Ttl => decimal(1..=255),
        ValueKind::Tos => decimal(0..=255),
        ValueKind::StreamId => stream_id_text(),
        other => panic!("no value strategy for {other:?}"),
    }
}

/// Percent-encodes what must be, and with `encode_all` every other non-alphanumeric byte too.
fn encode(text: &str, encode_all: bool) -> String {
    if encode_all {
        utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
    } else {
        utf8_percent_encode(text, MUST_ENCODE).to_string()
    }
}

/// Some options, each once, in a random order, with raw values; names possibly aliases or
/// upper case.
fn options_query() -> impl Strategy<Value = Vec<(String, String, bool)>> {
    let keys = proptest::sample::subsequence(OptionKey::ALL.to_vec(), 0..=OptionKey::ALL.len())
        .prop_shuffle();
    keys.prop_flat_map(|keys| {
        keys.into_iter()
            .map(|key| {
                let names: Vec<String> = std::iter::once(key.name())
                    .chain(key.aliases().iter().copied())
                    .flat_map(|n| [n.to_owned(), n.to_ascii_uppercase()])
                    .collect();
                (
                    proptest::sample::select(names),
                    value_text(key.value_kind()),
                    any::<bool>(),
                )
            })
            .collect::<Vec<_>>()
    })
}

fn url_host() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        host_name(),
        any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<Ipv6Addr>().prop_map(|ip| format!("[{ip}]")),
    ]
    .boxed()
}

/// The unredacted form parses back to an equal value and is a fixpoint; the ordinary form is
/// the same with the passphrase's value replaced by `<hidden>`.
fn assert_round_trip(url: &SrtUrl) -> Result<(), TestCaseError> {
    let printed = url.unredacted().to_string();
    let reparsed = SrtUrl::parse(&printed)
        .map_err(|e| TestCaseError::fail(format!("{printed:?} does not parse: {e}")))?;
    prop_assert_eq!(&reparsed, url, "printed as {}", printed);
    prop_assert_eq!(reparsed.unredacted().to_string(), printed.clone());
    prop_assert!(reparsed.warnings().is_empty());
    let shown = url.to_string();
    let items = |text: &str| -> (String, Vec<String>) {
        match text.split_once('?') {
            Some((base, query)) => (
                base.to_owned(),
                query.split('&').map(str::to_owned).collect(),
            ),
            None => (text.to_owned(), Vec::new()),
        }
    };
    let (shown_base, shown_items) = items(&shown);
    let (printed_base, printed_items) = items(&printed);
    prop_assert_eq!(shown_base, printed_base);
    prop_assert_eq!(shown_items.len(), printed_items.len());
    for (shown_item, printed_item) in shown_items.iter().zip(&printed_items) {
        if printed_item.starts_with("passphrase=") {
            prop_assert_eq!(shown_item.as_str(), "passphrase=<hidden>");
        } else {
            prop_assert_eq!(shown_item, printed_item);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_srt_urls_round_trip(
        scheme in one_of(&["srt", "SRT", "Srt"]),
        host in url_host(),
        port in 0u16..=65535,
        path in prop_oneof![Just(String::new()), Just("/".to_owned()), "/[a-z/]{1,10}"],
        options in options_query(),
    ) {
        let query: Vec<String> = options
            .iter()
            .map(|(name, value, encode_all)| format!("{name}={}", encode(value, *encode_all)))
            .collect();
        let mut text = format!("{scheme}://{host}:{port}{path}");
        if !query.is_empty() {
            text.push('?');
            text.push_str(&query.join("&"));
        }
        match SrtUrl::parse(&text) {
            Ok(url) => {
                prop_assert_eq!(url.options().order().len(), options.len());
                assert_round_trip(&url)?;
            }
            // Generated combinations libsrt would also refuse: a caller without host or port.
            Err(Error::MissingHost { .. } | Error::ZeroPort { .. }) => {}
            Err(other) => prop_assert!(false, "{:?} failed: {}", text, other),
        }
    }

    #[test]
    fn stream_ids_round_trip_exactly(text in stream_id_text()) {
        let id = StreamId::parse(&text).unwrap();
        prop_assert_eq!(id.to_string(), text.clone());
        prop_assert_eq!(text.starts_with("#!::"), id.access_control().is_some());
        // And inside a URL, however it is encoded.
        for encode_all in [false, true] {
            let url = SrtUrl::parse(&format!("srt://h:1?streamid={}", encode(&text, encode_all)))
                .unwrap();
            prop_assert_eq!(url.stream_id(), Some(&id));
            assert_round_trip(&url)?;
        }
    }

    #[test]
    fn tcp_urls_round_trip(ip in any::<IpAddr>(), port in any::<u16>()) {
        let url = TcpUrl::new(SocketAddr::new(ip, port));
        let printed = url.to_string();
        prop_assert_eq!(TcpUrl::parse(&printed).unwrap(), url);
        prop_assert_eq!(printed.parse::<Url>().unwrap(), Url::Tcp(url));
    }

    #[test]
    fn arbitrary_text_never_panics_and_round_trips_when_it_parses(
        text in prop_oneof![
            "\\PC{0,80}",
            "srt://[a-z0-9:.\\[\\]]{0,20}(/[a-z]{0,4})?\\?[a-z0-9=&%#!:,]{0,60}",
            "tcp://[0-9:.\\[\\]a-f]{0,30}",
        ]
    ) {
        if let Ok(url) = Url::parse_with(&text, tmio_url::ParseOptions::LENIENT) {
            let printed = url.unredacted().to_string();
            prop_assert_eq!(printed.parse::<Url>().unwrap(), url);
        }
        let _ = StreamId::parse(&text);
    }
}
