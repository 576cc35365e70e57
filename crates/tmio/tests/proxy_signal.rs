//! `tmio proxy` stops gracefully on SIGINT/SIGTERM/SIGHUP while a pusher is connected: what it
//! accepted reaches the server, the stream is closed cleanly, and it exits 0.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{io::Write as _, net::TcpStream, time::Duration};

use common::{sha256, spawn_gateway, stream_bytes, MultiSink, Sink, Tmio};
use nix::sys::signal::Signal;

#[test]
fn sigint_with_a_connected_pusher_flushes_and_exits_zero() {
    stop_with_a_connected_pusher(Signal::SIGINT);
}

#[test]
fn sighup_with_a_connected_pusher_flushes_and_exits_zero() {
    stop_with_a_connected_pusher(Signal::SIGHUP);
}

fn stop_with_a_connected_pusher(signal: Signal) {
    let sink = Sink::start();
    let (mut gateway, gateway_addr) = spawn_gateway("", &format!("tcp://{}", sink.addr));
    let remote = format!("srt://{gateway_addr}");
    let mut proxy = Tmio::spawn(&["proxy", "tcp://127.0.0.1:0", &remote]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));

    let data = stream_bytes(256 * 1024, 3);
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.write_all(&data).unwrap();
    // Everything written has crossed: a stop now must not lose or add anything.
    sink.wait_for(data.len() as u64, Duration::from_secs(20));
    proxy.signal(signal);
    let status = proxy.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", proxy.stderr());
    assert!(
        proxy
            .stderr()
            .contains(&format!("{signal:?}: stopping gracefully")),
        "{}",
        proxy.stderr()
    );
    let (received, digest) = sink.finish();
    assert_eq!(received, data.len() as u64);
    assert_eq!(digest, sha256(&data));
    drop(pusher);
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
}

#[test]
fn sigterm_before_any_pusher_exits_zero() {
    let sink = MultiSink::start();
    let (mut gateway, gateway_addr) = spawn_gateway("", &format!("tcp://{}", sink.addr));
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway_addr}"),
    ]);
    proxy.wait_line("listening tcp://", Duration::from_secs(10));
    proxy.signal(Signal::SIGTERM);
    let status = proxy.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", proxy.stderr());
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
    // The session ended without a byte: the gateway (first-bytes) never opened the upstream.
    assert_eq!(sink.connections(), 0, "{}", gateway.stderr());
}
