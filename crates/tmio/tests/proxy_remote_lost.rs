//! `tmio proxy` whose gateway dies mid-stream exits 1 with a remote error (the peer idle
//! timeout, shortened with `--opt peeridletimeo=1000`), and closes the pusher's connection.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::Write as _,
    net::TcpStream,
    time::{Duration, Instant},
};

use common::{stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

#[test]
fn gateway_killed_mid_stream_is_a_remote_error() {
    let sink = Sink::start();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", sink.addr),
    ]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway_addr}"),
        "--opt",
        "peeridletimeo=1000",
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    let first = stream_bytes(100_000, 9);
    pusher.write_all(&first).unwrap();
    sink.wait_for(first.len() as u64, Duration::from_secs(10));

    gateway.signal(Signal::SIGKILL);
    gateway.wait_exit(Duration::from_secs(5));
    // Keep pushing until the proxy gives up and closes the pusher's connection (bounded).
    let deadline = Instant::now() + Duration::from_secs(15);
    let chunk = stream_bytes(10_000, 10);
    while pusher.write_all(&chunk).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the proxy kept taking data for 15 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = proxy.wait_exit(Duration::from_secs(15));
    let stderr = proxy.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tmio: error (remote): "), "{stderr}");
    assert!(stderr.contains("idle"), "{stderr}");
}
