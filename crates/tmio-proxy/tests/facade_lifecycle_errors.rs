//! The facade's rules: a listener is required, a bad URL is a typed error naming it, `start`
//! twice and `start` after `stop` are errors, `stop` is idempotent and frees the port.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::time::Duration;

use common::{next_seen, recorder, Seen};
use tmio_proxy::{Error, ErrorType, TmioProxy};

#[test]
fn start_without_listener_is_an_error() {
    let proxy = TmioProxy::create();
    let err = proxy
        .start("tcp://127.0.0.1:0", "srt://127.0.0.1:9", None)
        .unwrap_err();
    assert!(matches!(err, Error::NoListener), "{err}");
    assert_eq!(err.error_type(), ErrorType::Local);
}

#[test]
fn bad_urls_are_typed_errors_naming_the_url() {
    let proxy = TmioProxy::create();
    let (listener, _seen) = recorder(&[]);
    proxy.set_listener(listener);
    let err = proxy
        .start("tcp://localhost:0", "srt://127.0.0.1:9000", None)
        .unwrap_err();
    assert!(matches!(err, Error::Url { which: "local", .. }), "{err}");
    assert!(err.to_string().contains("localhost"), "{err}");
    let err = proxy
        .start("tcp://127.0.0.1:0", "srt://127.0.0.1", None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Url {
                which: "remote",
                ..
            }
        ),
        "{err}"
    );
    let err = proxy
        .start("rtmp://127.0.0.1:0", "srt://127.0.0.1:9000", None)
        .unwrap_err();
    assert!(matches!(err, Error::Url { which: "local", .. }), "{err}");
    let err = proxy
        .start(
            "tcp://127.0.0.1:0",
            "srt://127.0.0.1:9000?latency=abc",
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("latency"), "{err}");
    // After failed starts the proxy is still startable.
}

#[test]
fn unknown_option_in_on_tmio_config_is_reported() {
    let mut tmio_options = tmio_proxy::Options::from_preset(tmio_proxy::Preset::Rtmp).unwrap();
    let err = tmio_options
        .set_by_name("srt latancy (ms)", "10")
        .unwrap_err();
    assert!(err.to_string().contains("srt latancy (ms)"), "{err}");
}

#[test]
fn start_twice_start_after_stop_and_stop_twice() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_sink, gateway) = rt.block_on(async {
        let sink = common::sink().await;
        let gateway = common::gateway(sink.addr, &[]).await;
        (sink, gateway)
    });
    let remote = format!("srt://{}", gateway.local_addr());
    let proxy = TmioProxy::create();
    let (listener, seen) = recorder(&[]);
    proxy.set_listener(listener);
    proxy.start("tcp://127.0.0.1:0", &remote, None).unwrap();
    let Seen::Started(_, port) = next_seen(&seen, Duration::from_secs(5)) else {
        panic!("expected on_start")
    };
    let err = proxy.start("tcp://127.0.0.1:0", &remote, None).unwrap_err();
    assert!(matches!(err, Error::AlreadyStarted), "{err}");
    proxy.stop();
    proxy.stop();
    let err = proxy.start("tcp://127.0.0.1:0", &remote, None).unwrap_err();
    assert!(matches!(err, Error::Stopped), "{err}");
    assert!(err.to_string().contains("create a new proxy"), "{err}");
    // The port is free again.
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    assert!(proxy.stats().is_none());
}

#[test]
fn no_srt_listener_is_a_remote_error_from_start() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let proxy = TmioProxy::create();
    let (listener, _seen) = recorder(&[("conntimeo", "500")]);
    proxy.set_listener(listener);
    let err = proxy
        .start(
            "tcp://127.0.0.1:0",
            &format!("srt://{}", silent.local_addr().unwrap()),
            None,
        )
        .unwrap_err();
    assert_eq!(err.error_type(), ErrorType::Remote, "{err}");
    assert!(err.to_string().contains("no SRT handshake answer"), "{err}");
}

#[test]
fn add_remote_link_needs_a_running_group() {
    use tmio_proxy::{LinkConfig, LinkLocal};
    let link = || LinkConfig {
        local: LinkLocal::Bind("0.0.0.0:0".parse().unwrap()),
        remote_url: "srt://127.0.0.1:9001".into(),
        weight: 50,
        interface: None,
        on_broken: None,
    };
    // Before start.
    let proxy = TmioProxy::create();
    let err = proxy.add_remote_link(link()).unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("before start"), "{err}");
    // A single link takes no member.
    let started = common::started_proxy(&[], "");
    let err = started.proxy.add_remote_link(link()).unwrap_err();
    assert!(err.to_string().contains("single link"), "{err}");
    started.proxy.stop();
}
