//! `tmio gateway --max-sessions / --max-sessions-per-ip / --max-handshakes-per-second`: a caller
//! over a limit is refused with an SRT reject reason (its proxy exits 1 naming it), opens nothing
//! upstream, and a freed slot is taken again.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::{Read as _, Write as _},
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use common::Tmio;
use nix::sys::signal::Signal;

/// A TCP upstream that counts the connections it accepted and drains them.
struct CountingUpstream {
    addr: std::net::SocketAddr,
    accepted: Arc<AtomicUsize>,
}

fn counting_upstream() -> CountingUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    CountingUpstream { addr, accepted }
}

/// A proxy to the gateway with a pusher connected and one write sent: its session is up.
fn open_session(gateway: &str) -> (Tmio, TcpStream) {
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway}?conntimeo=2000"),
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.write_all(b"hello").unwrap();
    (proxy, pusher)
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A proxy whose caller is refused: it exits 1 and says which SRT reject code.
fn expect_refused(gateway: &str, code: &str) {
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway}?conntimeo=2000"),
    ]);
    let status = proxy.wait_exit(Duration::from_secs(20));
    let said = proxy.stderr();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains(code), "expected reject code {code}: {said}");
}

#[test]
fn sessions_over_the_limits_are_refused_and_freed_slots_are_taken_again() {
    let upstream = counting_upstream();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", upstream.addr),
        "--max-sessions",
        "2",
    ]);
    let addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let addr = addr.trim();
    let (mut first, first_pusher) = open_session(addr);
    let (mut second, second_pusher) = open_session(addr);
    wait_until("two upstream connections", || {
        upstream.accepted.load(Ordering::SeqCst) == 2
    });
    // Over the limit: refused with 2402 "server overloaded", nothing opened upstream.
    expect_refused(addr, "2402");
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 2);
    // The first session ends; its slot is free again.
    first_pusher.shutdown(Shutdown::Write).unwrap();
    assert_eq!(first.wait_exit(Duration::from_secs(20)).code(), Some(0));
    wait_until("the gateway freed the slot", || {
        gateway.stderr().contains("session ended session=1")
    });
    let (mut third, third_pusher) = open_session(addr);
    wait_until("a third upstream connection", || {
        upstream.accepted.load(Ordering::SeqCst) == 3
    });
    for (proxy, pusher) in [(&mut second, second_pusher), (&mut third, third_pusher)] {
        pusher.shutdown(Shutdown::Write).unwrap();
        assert_eq!(proxy.wait_exit(Duration::from_secs(20)).code(), Some(0));
    }
    gateway.signal(Signal::SIGINT);
    assert_eq!(gateway.wait_exit(Duration::from_secs(20)).code(), Some(0));
    assert!(
        gateway.stderr().contains("limit reached"),
        "{}",
        gateway.stderr()
    );
}

#[test]
fn a_second_session_from_one_ip_is_refused_over_the_per_ip_limit() {
    let upstream = counting_upstream();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", upstream.addr),
        "--max-sessions-per-ip",
        "1",
    ]);
    let addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let addr = addr.trim();
    let (mut first, first_pusher) = open_session(addr);
    wait_until("one upstream connection", || {
        upstream.accepted.load(Ordering::SeqCst) == 1
    });
    // Every proxy calls from 127.0.0.1.
    expect_refused(addr, "2402");
    first_pusher.shutdown(Shutdown::Write).unwrap();
    assert_eq!(first.wait_exit(Duration::from_secs(20)).code(), Some(0));
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 1);
    gateway.signal(Signal::SIGINT);
    assert_eq!(gateway.wait_exit(Duration::from_secs(20)).code(), Some(0));
}

#[test]
fn callers_beyond_the_handshake_rate_are_refused_with_backlog() {
    let upstream = counting_upstream();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", upstream.addr),
        "--max-handshakes-per-second",
        "1",
    ]);
    let addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let addr = addr.trim();
    // One new caller per second (a burst of one): of two callers at once, one is refused.
    let spawn = || {
        Tmio::spawn(&[
            "proxy",
            "tcp://127.0.0.1:0",
            &format!("srt://{addr}?conntimeo=2000"),
        ])
    };
    let mut proxies = [spawn(), spawn()];
    let mut refused = None;
    wait_until("one proxy refused", || {
        refused = proxies.iter_mut().position(|p| p.exited().is_some());
        refused.is_some()
    });
    let refused = refused.unwrap();
    let said = proxies[refused].stderr();
    assert_eq!(
        proxies[refused].wait_exit(Duration::from_secs(5)).code(),
        Some(1),
        "{said}"
    );
    assert!(said.contains("1005"), "expected reject code 1005: {said}");
    let taken = &mut proxies[1 - refused];
    let local = taken.wait_line("listening tcp://", Duration::from_secs(10));
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.write_all(b"hello").unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    assert_eq!(taken.wait_exit(Duration::from_secs(20)).code(), Some(0));
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), 1);
    gateway.signal(Signal::SIGINT);
    assert_eq!(gateway.wait_exit(Duration::from_secs(20)).code(), Some(0));
}
