//! A `tmio` process that does not run for longer than its peer idle timeout (stopped with
//! `SIGSTOP`, as a suspended app or a starved machine would be) while its peer kept talking
//! carries on when it runs again: what the peer sent meanwhile waits in its socket and is read
//! before its timers judge the peer silent (or resend what the peer acknowledged). Both ends,
//! every byte checked.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{io::Write as _, net::TcpStream, time::Duration};

use common::{log_field, sha256, spawn_gateway, stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

/// Longer than the stopped side's `peeridletimeo=1000`, shorter than the other side's 5 s, and
/// long enough for the other side's keepalives (every second) to reach the stopped one.
const STOPPED: Duration = Duration::from_millis(2500);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stopped {
    Proxy,
    /// A proxy with a broadcast group of two links (from 127.0.0.2 and 127.0.0.3): a socket
    /// each, both read.
    BondedProxy,
    Gateway,
}

fn stream_survives_a_stop_of(stopped: Stopped) {
    let proxy_stopped = stopped != Stopped::Gateway;
    let (gateway_idle, proxy_idle) = if proxy_stopped {
        ("", "peeridletimeo=1000")
    } else {
        ("peeridletimeo=1000", "")
    };
    let bonded = stopped == Stopped::BondedProxy;
    let sink = Sink::start();
    let (mut gateway, gateway_addr) = spawn_gateway(
        &format!(
            "{gateway_idle}{}",
            if bonded { "&groupconnect=1" } else { "" }
        ),
        &format!("tcp://{}", sink.addr),
    );
    let mut args = vec![
        "proxy".to_string(),
        "tcp://127.0.0.1:0".to_string(),
        format!("srt://{gateway_addr}?{proxy_idle}"),
    ];
    if bonded {
        let port = gateway_addr.rsplit(':').next().unwrap();
        for bind in ["127.0.0.2", "127.0.0.3"] {
            args.push("--link".to_string());
            args.push(format!("srt://127.0.0.1:{port},bind={bind}"));
        }
        args.extend(["--bond".to_string(), "broadcast".to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut proxy = Tmio::spawn(&args);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    let before = stream_bytes(200_000, 31);
    pusher.write_all(&before).unwrap();
    sink.wait_for(before.len() as u64, Duration::from_secs(10));

    let target = if proxy_stopped { &proxy } else { &gateway };
    target.signal(Signal::SIGSTOP);
    // The other side goes on: the proxy takes more from the pusher and sends it (the gateway
    // hears nothing back), the gateway sends keepalives.
    let during = stream_bytes(100_000, 32);
    if !proxy_stopped {
        pusher.write_all(&during).unwrap();
    }
    std::thread::sleep(STOPPED);
    target.signal(Signal::SIGCONT);
    if proxy_stopped {
        pusher.write_all(&during).unwrap();
    }
    let after = stream_bytes(200_000, 33);
    pusher.write_all(&after).unwrap();
    let total = (before.len() + during.len() + after.len()) as u64;
    sink.wait_for(total, Duration::from_secs(15));
    drop(pusher);
    let status = proxy.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "proxy: {}", proxy.stderr());
    if bonded {
        assert!(
            !proxy.stderr().contains("path broken"),
            "a link broke: {}",
            proxy.stderr()
        );
    }
    if stopped == Stopped::Proxy {
        // Nothing was lost on loopback: a stop alone resends nothing (any ACK that waited in
        // the socket is read before the retransmission timer runs).
        assert_eq!(
            log_field(&proxy.stderr(), "session ended", "retransmitted"),
            Some(0),
            "{}",
            proxy.stderr()
        );
    }
    // The session ends as usual: the gateway closes its upstream, and serves on.
    let (bytes, digest) = sink.finish();
    assert!(gateway.exited().is_none(), "gateway: {}", gateway.stderr());
    let expected: Vec<u8> = [before, during, after].concat();
    assert_eq!(bytes, total);
    assert_eq!(digest, sha256(&expected), "the stream arrived altered");
}

#[test]
fn a_proxy_stopped_past_its_idle_timeout_carries_on() {
    stream_survives_a_stop_of(Stopped::Proxy);
}

#[test]
fn a_bonded_proxy_stopped_past_its_idle_timeout_carries_on_with_both_links() {
    stream_survives_a_stop_of(Stopped::BondedProxy);
}

#[test]
fn a_gateway_stopped_past_its_idle_timeout_carries_on() {
    stream_survives_a_stop_of(Stopped::Gateway);
}
