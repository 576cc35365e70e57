//! Every bad URL gives the typed error naming the offending part, with a message a user can
//! act on, and never a panic.
#![allow(clippy::unwrap_used, clippy::panic)]

use tmio_url::{Error, Mode, SrtUrl, StreamId, TcpUrl, Url, ValueKind};

fn srt_error(input: &str) -> Error {
    match SrtUrl::parse(input) {
        Err(error) => error,
        Ok(url) => panic!("{input:?} parsed as {url}"),
    }
}

fn tcp_error(input: &str) -> Error {
    match TcpUrl::parse(input) {
        Err(error) => error,
        Ok(url) => panic!("{input:?} parsed as {url}"),
    }
}

#[test]
fn scheme_errors() {
    let error = srt_error("example.com:9000");
    assert_eq!(
        error,
        Error::MissingScheme {
            input: "example.com:9000".into()
        }
    );
    assert!(error.to_string().contains("expected scheme://"), "{error}");
    let error = srt_error("udp://:9000");
    assert_eq!(
        error,
        Error::UnsupportedScheme {
            scheme: "udp".into(),
            expected: "srt://"
        }
    );
    assert_eq!(
        error.to_string(),
        "unsupported scheme \"udp\": expected srt://"
    );
    assert_eq!(
        "rtmp://h/live".parse::<Url>().unwrap_err().to_string(),
        "unsupported scheme \"rtmp\": expected srt:// or tcp://"
    );
}

#[test]
fn host_and_port_errors() {
    let error = srt_error("srt://example.com");
    assert_eq!(
        error.to_string(),
        "missing port after host \"example.com\": write HOST:PORT, e.g. srt://example.com:9000"
    );
    assert_eq!(
        srt_error("srt://h:99999"),
        Error::InvalidPort {
            port: "99999".into()
        }
    );
    assert_eq!(
        srt_error("srt://h:99999").to_string(),
        "invalid port \"99999\": expected a whole number from 0 to 65535"
    );
    let error = srt_error("srt://::1:9000");
    assert!(matches!(error, Error::UnbracketedIpv6 { .. }));
    assert!(
        error
            .to_string()
            .contains("brackets: write srt://[::1]:9000"),
        "{error}"
    );
    let error = srt_error("srt://300.1.1.1:9000");
    assert!(
        error.to_string().contains("not a valid IPv4 address"),
        "{error}"
    );
    let error = srt_error("srt://bad host:9000");
    assert!(
        error.to_string().contains("invalid host \"bad host\""),
        "{error}"
    );
    assert_eq!(
        srt_error("srt://me@h:9000"),
        Error::UserInfo {
            userinfo: "me".into()
        }
    );
    assert_eq!(
        srt_error("srt://h:0"),
        Error::ZeroPort { mode: Mode::Caller }
    );
    let error = srt_error("srt://:9000?mode=caller");
    assert_eq!(error, Error::MissingHost { mode: Mode::Caller });
    assert!(
        error
            .to_string()
            .contains("caller mode needs a remote host"),
        "{error}"
    );
}

#[test]
fn tcp_errors() {
    let error = tcp_error("tcp://localhost:1935");
    assert_eq!(
        error.to_string(),
        "tcp:// needs an IP address, not the name \"localhost\": give an address, e.g. tcp://127.0.0.1:1935 or tcp://[::1]:1935"
    );
    assert_eq!(tcp_error("tcp://:1935"), Error::TcpMissingHost);
    assert_eq!(
        tcp_error("tcp://127.0.0.1:1935/live"),
        Error::TcpPath {
            path: "/live".into()
        }
    );
    assert_eq!(
        tcp_error("tcp://127.0.0.1:1935?latency=1"),
        Error::TcpQuery {
            query: "latency=1".into()
        }
    );
    assert!(matches!(
        tcp_error("tcp://127.0.0.1"),
        Error::MissingPort {
            example: "tcp://127.0.0.1:1935",
            ..
        }
    ));
}

#[test]
fn option_value_errors_name_key_value_and_expectation() {
    let cases: &[(&str, &str, ValueKind, &str)] = &[
        (
            "latency=abc",
            "latency",
            ValueKind::Milliseconds,
            "milliseconds",
        ),
        (
            "rcvlatency=-5",
            "rcvlatency",
            ValueKind::Milliseconds,
            "milliseconds",
        ),
        (
            "peerlatency=1.5",
            "peerlatency",
            ValueKind::Milliseconds,
            "milliseconds",
        ),
        (
            "pbkeylen=20",
            "pbkeylen",
            ValueKind::KeyLength,
            "16, 24 or 32",
        ),
        (
            "maxbw=-2",
            "maxbw",
            ValueKind::MaxBandwidth,
            "-1 (unlimited)",
        ),
        (
            "inputbw=fast",
            "inputbw",
            ValueKind::BytesPerSecond,
            "bytes per second",
        ),
        (
            "oheadbw=150",
            "oheadbw",
            ValueKind::OverheadPercent,
            "from 5 to 100",
        ),
        (
            "payloadsize=9000",
            "payloadsize",
            ValueKind::PayloadSize,
            "0 to 1456",
        ),
        ("mss=10", "mss", ValueKind::SegmentSize, "76 to 65535"),
        (
            "conntimeo=x",
            "conntimeo",
            ValueKind::Milliseconds,
            "milliseconds",
        ),
        (
            "peeridletimeo=",
            "peeridletimeo",
            ValueKind::Milliseconds,
            "milliseconds",
        ),
        (
            "transtype=rtmp",
            "transtype",
            ValueKind::TransType,
            "live or file",
        ),
        (
            "tlpktdrop=maybe",
            "tlpktdrop",
            ValueKind::Bool,
            "true/false",
        ),
        (
            "sndbuf=0",
            "sndbuf",
            ValueKind::BufferBytes,
            "1 to 2147483647",
        ),
        ("rcvbuf=1k", "rcvbuf", ValueKind::BufferBytes, "bytes"),
        ("linger=1.5", "linger", ValueKind::Seconds, "seconds"),
        (
            "localip=a..b",
            "adapter",
            ValueKind::Address,
            "IP address or host name",
        ),
        ("localport=70000", "port", ValueKind::Port, "port number"),
        ("groupconnect=2", "groupconnect", ValueKind::Bool, "1/0"),
        ("weight=-1", "weight", ValueKind::Weight, "0 to 65535"),
        (
            "mode=push",
            "mode",
            ValueKind::Mode,
            "caller, listener or rendezvous",
        ),
    ];
    for (query, key, kind, words) in cases {
        let (_, value) = query.split_once('=').unwrap();
        let error = srt_error(&format!("srt://h:9000?{query}"));
        assert_eq!(
            error,
            Error::InvalidOptionValue {
                key,
                value: value.to_owned(),
                expected: *kind
            },
            "{query}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("invalid value {value:?} for {key:?}: expected ")),
            "{message}"
        );
        assert!(message.contains(words), "{message}");
    }
}

#[test]
fn query_structure_errors() {
    assert_eq!(
        srt_error("srt://h:9000?latency"),
        Error::MissingOptionValue {
            key: "latency".into()
        }
    );
    assert_eq!(
        srt_error("srt://h:9000?latency").to_string(),
        "option \"latency\" has no value: write latency=VALUE"
    );
    assert_eq!(
        srt_error("srt://h:9000?=5"),
        Error::EmptyOptionKey { value: "5".into() }
    );
    assert_eq!(
        srt_error("srt://h:9000?adapter=1.2.3.4&localip=1.2.3.4"),
        Error::DuplicateOption { key: "adapter" }
    );
    let error = srt_error("srt://h:9000?latncy=200");
    assert_eq!(
        error,
        Error::UnknownOption {
            key: "latncy".into(),
            value: "200".into()
        }
    );
    // A near name is suggested; the message sends nobody to files or modes they may not have.
    assert_eq!(
        error.to_string(),
        "unknown option \"latncy\" (value \"200\"): did you mean \"latency\"?"
    );
    assert_eq!(
        srt_error("srt://h:9000?streamid=%C3%28abcdefghij"),
        Error::InvalidUtf8 {
            part: "%C3%28abcdefghij".into()
        }
    );
}

#[test]
fn passphrase_errors_give_the_length_never_the_value() {
    let error = srt_error("srt://h:9000?passphrase=short");
    assert_eq!(
        error,
        Error::InvalidPassphrase {
            length: 5,
            reason: "expected 10 to 79 bytes"
        }
    );
    assert_eq!(
        error.to_string(),
        "invalid value for \"passphrase\" (5 bytes, not shown): expected 10 to 79 bytes"
    );
    assert_eq!(
        srt_error(&format!("srt://h:9000?passphrase={}", "p".repeat(80))),
        Error::InvalidPassphrase {
            length: 80,
            reason: "expected 10 to 79 bytes"
        }
    );
    // Percent-decoded: 2 + 10 bytes.
    assert_eq!(
        srt_error("srt://h:9000?passphrase=%C3%28abcdefghij"),
        Error::InvalidPassphrase {
            length: 12,
            reason: "not valid UTF-8 after percent-decoding"
        }
    );
    assert_eq!(
        srt_error("srt://h:9000?passwd=%C3%28abcdefghij"),
        Error::InvalidUtf8 {
            part: "passwd=<hidden>".into()
        }
    );
    assert_eq!(
        srt_error("srt://h:9000?passwd=abcdefghij"),
        Error::UnknownOption {
            key: "passwd".into(),
            value: "<hidden>".into()
        }
    );
}

#[test]
fn stream_id_errors() {
    let long = "x".repeat(513);
    assert_eq!(
        srt_error(&format!("srt://h:9000?streamid={long}")),
        Error::StreamIdTooLong { length: 513 }
    );
    assert_eq!(
        Error::StreamIdTooLong { length: 513 }.to_string(),
        "stream id is 513 bytes long: libsrt allows at most 512"
    );
    assert_eq!(
        srt_error("srt://h:9000?streamid=#!::r=live,publish"),
        Error::StreamIdItemWithoutValue {
            item: "publish".into()
        }
    );
    assert_eq!(
        srt_error("srt://h:9000?streamid=#!::r=a,r=b"),
        Error::StreamIdDuplicateKey { key: "r".into() }
    );
    assert_eq!(
        srt_error("srt://h:9000?streamid=#!::m=push").to_string(),
        "invalid stream id mode m=\"push\": expected request, publish or bidirectional"
    );
    assert_eq!(
        srt_error("srt://h:9000?streamid=#!::t=live").to_string(),
        "invalid stream id type t=\"live\": expected stream, file or auth"
    );
    assert_eq!(
        StreamId::parse("#!::=x"),
        Err(Error::StreamIdEmptyKey { item: "=x".into() })
    );
}

#[test]
fn hostile_inputs_are_errors_not_panics() {
    let inputs = [
        "",
        "://",
        "srt://",
        "srt://:",
        "srt://[",
        "srt://]:1",
        "srt://[]:1",
        "srt://[:::]:1",
        "srt://h:1?%",
        "srt://h:1?%%=%%",
        "srt://h:1?streamid=%",
        "srt://h:1?&&&=",
        "tcp://[",
        "tcp://[::1]",
        "srt://h:-1",
        "srt://\u{0}:1",
        "srt://h:1?latency=99999999999999999999999",
        "srt://h:1?maxbw=-",
        "srt://h:1?streamid=#!::,",
        "srt://h:1?streamid=#!::a",
    ];
    for input in inputs {
        let _ = Url::parse_with(input, tmio_url::ParseOptions::LENIENT);
        let _ = SrtUrl::parse(input);
        let _ = TcpUrl::parse(input);
    }
}
