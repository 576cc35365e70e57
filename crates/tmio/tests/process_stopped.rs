//! A `tmio` process that does not run for longer than its peer idle timeout (stopped with
//! `SIGSTOP`, as a suspended app or a starved machine would be) while its peer kept talking
//! carries on when it runs again: what the peer sent meanwhile waits in its socket and is read
//! before its timers judge the peer silent (or resend what the peer acknowledged). Both ends,
//! every byte checked.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{io::Write as _, net::TcpStream, time::Duration};

use common::{log_field, sha256, stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

/// Longer than the stopped side's `peeridletimeo=1000`, shorter than the other side's 5 s, and
/// long enough for the other side's keepalives (every second) to reach the stopped one.
const STOPPED: Duration = Duration::from_millis(2500);

#[derive(Clone, Copy)]
enum Stopped {
    Proxy,
    Gateway,
}

fn stream_survives_a_stop_of(stopped: Stopped) {
    let short_idle = |side: Stopped| match (side, stopped) {
        (Stopped::Proxy, Stopped::Proxy) | (Stopped::Gateway, Stopped::Gateway) => {
            "?peeridletimeo=1000"
        }
        _ => "",
    };
    let sink = Sink::start();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        &format!("srt://127.0.0.1:0{}", short_idle(Stopped::Gateway)),
        &format!("tcp://{}", sink.addr),
    ]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway_addr}{}", short_idle(Stopped::Proxy)),
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    let before = stream_bytes(200_000, 31);
    pusher.write_all(&before).unwrap();
    sink.wait_for(before.len() as u64, Duration::from_secs(10));

    let target = match stopped {
        Stopped::Proxy => &proxy,
        Stopped::Gateway => &gateway,
    };
    target.signal(Signal::SIGSTOP);
    // The other side goes on: the proxy takes more from the pusher and sends it (the gateway
    // hears nothing back), the gateway sends keepalives.
    let during = stream_bytes(100_000, 32);
    if matches!(stopped, Stopped::Gateway) {
        pusher.write_all(&during).unwrap();
    }
    std::thread::sleep(STOPPED);
    target.signal(Signal::SIGCONT);
    if matches!(stopped, Stopped::Proxy) {
        pusher.write_all(&during).unwrap();
    }
    let after = stream_bytes(200_000, 33);
    pusher.write_all(&after).unwrap();
    let total = (before.len() + during.len() + after.len()) as u64;
    sink.wait_for(total, Duration::from_secs(15));
    drop(pusher);
    let status = proxy.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "proxy: {}", proxy.stderr());
    if matches!(stopped, Stopped::Proxy) {
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
fn a_gateway_stopped_past_its_idle_timeout_carries_on() {
    stream_survives_a_stop_of(Stopped::Gateway);
}
