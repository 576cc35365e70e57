//! The reference SDK's small calls and records, through the facade: the version, a `Tmio`'s
//! protocol, presets as setters in `on_tmio_config`, a local URL without a port (port 0), the
//! `PerfStats` JSON shape and its `current` block restarting at every read, and the error codes.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{
    collections::BTreeSet,
    io::Write,
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use common::{gateway, payload, sink};
use tmio_preset::{OptionValue, Preset};
use tmio_proxy::{code, Error, ErrorType, PerfStats, Protocol, Tmio, TmioProxy, TmioProxyListener};

/// `PerfStats::BaseInfo`'s fields (`tmio-stats.h` lines 16-59).
const SDK_COUNTERS: [&str; 17] = [
    "pkt_sent",
    "pkt_recv",
    "pkt_sent_loss",
    "pkt_recv_loss",
    "pkt_retrans",
    "pkt_sent_ack",
    "pkt_recv_ack",
    "pkt_sent_nak",
    "pkt_recv_nak",
    "pkt_sent_drop",
    "pkt_recv_drop",
    "byte_sent",
    "byte_recv",
    "byte_recv_loss",
    "byte_retrans",
    "byte_sent_drop",
    "byte_recv_drop",
];

/// `PerfStats`' own fields (`tmio-stats.h` lines 61-82).
const SDK_TOP_LEVEL: [&str; 11] = [
    "total",
    "current",
    "timestamp_ms",
    "bytes_in_flight",
    "sent_rate_mbps",
    "recv_rate_mbps",
    "bandwidth_mbps",
    "rtt_ms",
    "delivery_rate_mbps",
    "sent_buffer_watermark",
    "recv_buffer_watermark",
];

fn keys(value: &serde_json::Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_perf_stats_json_has_the_sdk_fields_and_names() {
    let json: serde_json::Value =
        serde_json::from_str(&PerfStats::default().to_json(true)).unwrap();
    assert_eq!(
        keys(&json),
        SDK_TOP_LEVEL.iter().map(|k| k.to_string()).collect()
    );
    for block in ["total", "current"] {
        assert_eq!(
            keys(&json[block]),
            SDK_COUNTERS.iter().map(|k| k.to_string()).collect(),
            "{block}"
        );
    }
    assert!(!PerfStats::default().to_json(true).contains('\n'));
    assert!(PerfStats::default().to_json(false).contains('\n'));
}

#[test]
fn the_version_is_the_crates() {
    assert_eq!(tmio_proxy::version(), env!("CARGO_PKG_VERSION"));
    assert!(!tmio_proxy::version().is_empty());
}

/// Records what `on_tmio_config` saw, applies a preset over a stream id, then the options.
struct SdkListener {
    protocol: Mutex<Option<Protocol>>,
    kept_stream_id: Mutex<Option<OptionValue>>,
    started: Mutex<mpsc::Sender<(String, u16)>>,
    errors: Mutex<mpsc::Sender<(ErrorType, i32, String)>>,
}

impl TmioProxyListener for SdkListener {
    fn on_tmio_config(&self, tmio: &mut Tmio) {
        *self.protocol.lock().unwrap() = Some(tmio.protocol());
        tmio.set_str_option("srt stream id", "#!::r=live/sdk")
            .unwrap();
        // As the SDK's SrtPreset::rtmp(tmio): setters over what is set.
        tmio.set_preset(Preset::Rtmp).unwrap();
        *self.kept_stream_id.lock().unwrap() = Some(tmio.option("srt stream id").unwrap());
        tmio.set_int_option("Maximum bandwidth (bytes per second)", -1)
            .unwrap();
    }
    fn on_start(&self, local_addr: &str, local_port: u16) {
        let _ = self
            .started
            .lock()
            .unwrap()
            .send((local_addr.to_owned(), local_port));
    }
    fn on_error(&self, error_type: ErrorType, error: &Error) {
        let _ = self
            .errors
            .lock()
            .unwrap()
            .send((error_type, error.code(), error.to_string()));
    }
}

#[test]
fn a_facade_session_as_the_sdk_documents_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut sink, gateway) = rt.block_on(async {
        let sink = sink().await;
        let gateway = gateway(sink.addr, &[]).await;
        (sink, gateway)
    });
    let (started_tx, started) = mpsc::channel();
    let (errors_tx, errors) = mpsc::channel();
    let listener = Arc::new(SdkListener {
        protocol: Mutex::new(None),
        kept_stream_id: Mutex::new(None),
        started: Mutex::new(started_tx),
        errors: Mutex::new(errors_tx),
    });
    let proxy = TmioProxy::create();
    proxy.set_listener(listener.clone());
    assert!(proxy.perf_stats().is_none(), "no statistics before start");
    // No port in the local URL: port 0, the bound port comes through on_start.
    proxy
        .start(
            "tcp://127.0.0.1",
            &format!("srt://{}", gateway.local_addr()),
            None,
        )
        .unwrap();
    let (ip, port) = started.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(ip, "127.0.0.1");
    assert_ne!(port, 0);
    assert_eq!(*listener.protocol.lock().unwrap(), Some(Protocol::Srt));
    assert_eq!(Protocol::Srt as i32, 1, "the SDK's Protocol::SRT");
    assert_eq!(
        *listener.kept_stream_id.lock().unwrap(),
        Some(OptionValue::Text("#!::r=live/sdk".into())),
        "a preset keeps what it does not set"
    );

    let data = payload(256 * 1024, 10);
    let mut pusher = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    pusher.write_all(&data).unwrap();
    drop(pusher);
    let got = rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(20), sink.received.recv()).await
        })
        .unwrap()
        .unwrap();
    assert!(
        got == data,
        "bytes differ ({} of {})",
        got.len(),
        data.len()
    );

    // The first read counts from the start: current = total.
    let first = proxy.perf_stats().unwrap();
    assert!(first.total.byte_sent >= data.len() as i64, "{first:?}");
    assert_eq!(first.current, first.total);
    assert!(first.total.pkt_recv_ack > 0, "{first:?}");
    // Every later read's current block counts from the read before it.
    let second = proxy.perf_stats().unwrap();
    for (total_now, total_before, current) in [
        (
            second.total.pkt_sent,
            first.total.pkt_sent,
            second.current.pkt_sent,
        ),
        (
            second.total.byte_sent,
            first.total.byte_sent,
            second.current.byte_sent,
        ),
        (
            second.total.pkt_recv_ack,
            first.total.pkt_recv_ack,
            second.current.pkt_recv_ack,
        ),
        (
            second.total.pkt_sent_ack,
            first.total.pkt_sent_ack,
            second.current.pkt_sent_ack,
        ),
    ] {
        assert_eq!(current, total_now - total_before, "{first:?}\n{second:?}");
    }
    assert!(second.timestamp_ms >= first.timestamp_ms);
    // tmio's richer statistics do not restart anything.
    let rich = proxy.stats().unwrap();
    assert!(rich.bytes_sent >= data.len() as u64);
    let third = proxy.perf_stats().unwrap();
    assert_eq!(
        third.current.byte_sent,
        third.total.byte_sent - second.total.byte_sent
    );

    proxy.stop();
    assert!(proxy.perf_stats().is_none(), "no statistics after stop");
    assert!(errors.try_recv().is_err(), "no error expected");
    rt.block_on(async {
        let mut gateway = gateway;
        gateway.stop().await;
    });
}

#[test]
fn error_types_are_the_sdks() {
    assert_eq!(ErrorType::Unknown as i32, 0);
    assert_eq!(ErrorType::Local.as_i32(), 1);
    assert_eq!(ErrorType::Remote.as_i32(), 2);
    assert_eq!(ErrorType::Unknown.as_str(), "unknown");
    assert_eq!(ErrorType::Local.to_string(), "local");
    assert_eq!(ErrorType::Remote.as_str(), "remote");
    assert_eq!(
        Error::Internal("a bug".into()).error_type(),
        ErrorType::Unknown
    );
}

/// The documented table (docs/sdk-compat.md): these numbers never change.
#[test]
fn error_codes_are_stable() {
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let io = || std::io::Error::other("x");
    let transport = |error| Error::Transport(error);
    let cases: Vec<(Error, i32, ErrorType)> = vec![
        (
            Error::Url {
                which: "local",
                url: "x".into(),
                source: tmio_url::TcpUrl::parse("udp://1.2.3.4:5").unwrap_err(),
            },
            1001,
            ErrorType::Local,
        ),
        (
            Error::UrlUse {
                which: "remote",
                url: "x".into(),
                reason: "y".into(),
            },
            1002,
            ErrorType::Local,
        ),
        (
            Error::Option(tmio_preset::Error::UnknownPreset { name: "x".into() }),
            1003,
            ErrorType::Local,
        ),
        (Error::Unsupported("x".into()), 1004, ErrorType::Local),
        (Error::AlreadyStarted, 1005, ErrorType::Local),
        (Error::Stopped, 1006, ErrorType::Local),
        (Error::NoListener, 1007, ErrorType::Local),
        (
            Error::AccessRule {
                rule: "m=push".into(),
                reason: "x".into(),
            },
            1008,
            ErrorType::Local,
        ),
        (Error::Bind { addr, source: io() }, 1101, ErrorType::Local),
        (
            Error::LocalIo {
                context: "accepting",
                source: io(),
            },
            1102,
            ErrorType::Local,
        ),
        (
            transport(tmio_transport::Error::Resolve {
                host: "h".into(),
                reason: "r".into(),
            }),
            2004,
            ErrorType::Remote,
        ),
        (
            transport(tmio_transport::Error::ConnectTimeout {
                remote: addr,
                after: Duration::from_secs(3),
            }),
            2005,
            ErrorType::Remote,
        ),
        (
            transport(tmio_transport::Error::PeerClosed { remote: addr }),
            2009,
            ErrorType::Remote,
        ),
        (
            transport(tmio_transport::Error::Closed),
            2012,
            ErrorType::Local,
        ),
        (
            Error::Upstream { addr, source: io() },
            2101,
            ErrorType::Remote,
        ),
        (Error::Internal("x".into()), 9001, ErrorType::Unknown),
    ];
    for (error, expected_code, expected_type) in &cases {
        assert_eq!(error.code(), *expected_code, "{error:?}");
        assert_eq!(error.error_type(), *expected_type, "{error:?}");
    }
    // The named constants are the same numbers, each used once.
    let all = [
        code::URL,
        code::URL_USE,
        code::OPTION,
        code::UNSUPPORTED,
        code::ALREADY_STARTED,
        code::STOPPED,
        code::NO_LISTENER,
        code::ACCESS_RULE,
        code::LOCAL_BIND,
        code::LOCAL_IO,
        code::PUSHER_CONNECTION,
        code::TRANSPORT_INVALID_CONFIG,
        code::TRANSPORT_BIND,
        code::TRANSPORT_LOCAL_IO,
        code::RESOLVE,
        code::CONNECT_TIMEOUT,
        code::REJECTED,
        code::HANDSHAKE,
        code::PEER_IDLE,
        code::PEER_CLOSED,
        code::PROTOCOL,
        code::LINGER_EXPIRED,
        code::CLOSED,
        code::ENDPOINT_FAILED,
        code::TRANSPORT_OTHER,
        code::UPSTREAM,
        code::REMOTE_IO,
        code::INTERNAL,
    ];
    assert_eq!(
        all,
        [
            1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1101, 1102, 1103, 2001, 2002, 2003,
            2004, 2005, 2006, 2007, 2008, 2009, 2010, 2011, 2012, 2013, 2099, 2101, 2102, 9001
        ]
    );
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), all.len());
}

#[test]
fn a_connect_timeout_reaches_the_caller_with_its_code() {
    // A UDP port with nobody behind it: the handshake times out (bounded by the option).
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let remote = format!("srt://{}?conntimeo=300", silent.local_addr().unwrap());
    struct Quiet;
    impl TmioProxyListener for Quiet {}
    let proxy = TmioProxy::create();
    proxy.set_listener(Arc::new(Quiet));
    let error = proxy.start("tcp://127.0.0.1", &remote, None).unwrap_err();
    assert_eq!(error.code(), code::CONNECT_TIMEOUT, "{error}");
    assert_eq!(error.error_type(), ErrorType::Remote);
}
