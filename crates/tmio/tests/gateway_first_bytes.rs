//! `tmio gateway` opens a session's upstream connection when the session's first bytes arrive
//! (the default, `--upstream-connect first-bytes`): an accepted caller that stays idle opens
//! nothing upstream, a session that ends without bytes never touches the upstream, and the
//! first bytes open it; with `--upstream-connect accept` it opens during the handshake.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::{Read as _, Write as _},
    net::{Shutdown, TcpListener, TcpStream},
    time::Duration,
};

use common::{sha256, stream_bytes, wait_until, MultiSink, Tmio};
use nix::sys::signal::Signal;

fn proxy_to(gateway_addr: &str) -> (Tmio, String) {
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway_addr}?streamid=%23!::r=live/idle"),
    ]);
    let local = proxy
        .wait_line("listening tcp://", Duration::from_secs(10))
        .trim()
        .to_owned();
    (proxy, local)
}

#[test]
fn an_idle_caller_opens_nothing_upstream_until_its_first_bytes() {
    let sink = MultiSink::start();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", sink.addr),
    ]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));

    // A caller accepted, never sending: stopped before any byte, it never reaches the upstream.
    let (mut idle, _) = proxy_to(&gateway_addr);
    wait_until("the idle session started", Duration::from_secs(10), || {
        gateway.stderr().contains("session started")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.connections(), 0, "{}", gateway.stderr());
    idle.signal(Signal::SIGTERM);
    assert_eq!(idle.wait_exit(Duration::from_secs(15)).code(), Some(0));
    wait_until("the idle session ended", Duration::from_secs(15), || {
        gateway.stderr().contains("session ended")
    });
    assert_eq!(sink.connections(), 0, "{}", gateway.stderr());

    // A caller idle at first, then its pusher's bytes: the upstream opens and gets them all.
    let (mut proxy, local) = proxy_to(&gateway_addr);
    wait_until(
        "the second session started",
        Duration::from_secs(10),
        || gateway.stderr().matches("session started").count() == 2,
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.connections(), 0, "{}", gateway.stderr());
    let data = stream_bytes(300_000, 41);
    let mut pusher = TcpStream::connect(&local).unwrap();
    pusher.write_all(&data).unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    assert_eq!(proxy.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let got = sink.received(0, Duration::from_secs(10));
    assert_eq!((got.len(), sha256(&got)), (data.len(), sha256(&data)));
    assert_eq!(sink.connections(), 1);

    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let log = gateway.stderr();
    assert_eq!(log.matches("upstream connected").count(), 1, "{log}");
    assert!(log.contains("bytes_to_upstream=0"), "{log}");
    assert!(
        log.contains(&format!("bytes_to_upstream={}", data.len())),
        "{log}"
    );
}

#[test]
fn with_upstream_connect_accept_an_idle_caller_opens_the_upstream_at_once() {
    let sink = MultiSink::start();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", sink.addr),
        "--upstream-connect",
        "accept",
    ]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let (mut proxy, _) = proxy_to(&gateway_addr);
    wait_until("the upstream connection", Duration::from_secs(10), || {
        sink.connections() == 1
    });
    proxy.signal(Signal::SIGTERM);
    assert_eq!(proxy.wait_exit(Duration::from_secs(15)).code(), Some(0));
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
}

#[test]
fn an_unreachable_upstream_at_the_first_bytes_ends_the_session() {
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://127.0.0.1:{closed_port}"),
    ]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let (mut proxy, local) = proxy_to(&gateway_addr);
    let mut pusher = TcpStream::connect(&local).unwrap();
    // The pusher's first bytes make the gateway try its upstream, which fails: the accepted
    // session is closed, and the proxy passes the end on to its pusher.
    pusher.write_all(b"first bytes").unwrap();
    pusher
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut back = Vec::new();
    let _ = pusher.read_to_end(&mut back);
    assert!(back.is_empty());
    drop(pusher);
    proxy.wait_exit(Duration::from_secs(20));
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let log = gateway.stderr();
    assert!(log.contains("session failed"), "{log}");
    assert!(log.contains(&format!("127.0.0.1:{closed_port}")), "{log}");
}
