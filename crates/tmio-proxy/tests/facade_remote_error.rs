//! A gateway that dies without a word (its process killed: no SRT shutdown is sent) is reported
//! as `on_error(Remote, ..)` once the peer idle timeout passes, with or without a pusher.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{io::Write, time::Duration};

use common::{next_seen, recorder, Seen};
use tmio_proxy::{ErrorType, TmioProxy};

/// A gateway on its own runtime, "killed" by shutting that runtime down: its tasks and sockets
/// vanish at once, like a killed process.
fn doomed_gateway() -> (
    tokio::runtime::Runtime,
    std::net::SocketAddr,
    tokio::runtime::Runtime,
) {
    let sink_rt = tokio::runtime::Runtime::new().unwrap();
    let sink = sink_rt.block_on(common::sink());
    let gateway_rt = tokio::runtime::Runtime::new().unwrap();
    let gateway = gateway_rt.block_on(common::gateway(sink.addr, &[]));
    let addr = gateway.local_addr();
    std::mem::forget(gateway);
    std::mem::forget(sink);
    (gateway_rt, addr, sink_rt)
}

fn expect_remote_idle_error(seen: &std::sync::mpsc::Receiver<Seen>) {
    match next_seen(seen, Duration::from_secs(10)) {
        Seen::Error(kind, message) => {
            assert_eq!(kind, ErrorType::Remote, "{message}");
            assert!(message.contains("idle"), "{message}");
        }
        other => panic!("expected on_error, got {other:?}"),
    }
}

#[test]
fn killed_gateway_before_the_pusher_connects() {
    let (gateway_rt, addr, _sink_rt) = doomed_gateway();
    let proxy = TmioProxy::create();
    let (listener, seen) = recorder(&[("Peer idle timeout (ms)", "1000")]);
    proxy.set_listener(listener);
    proxy
        .start("tcp://127.0.0.1:0", &format!("srt://{addr}"), None)
        .unwrap();
    assert!(matches!(
        next_seen(&seen, Duration::from_secs(5)),
        Seen::Started(..)
    ));
    gateway_rt.shutdown_background();
    expect_remote_idle_error(&seen);
    proxy.stop();
}

#[test]
fn killed_gateway_while_pushing() {
    let (gateway_rt, addr, _sink_rt) = doomed_gateway();
    let proxy = TmioProxy::create();
    let (listener, seen) = recorder(&[("Peer idle timeout (ms)", "1000")]);
    proxy.set_listener(listener);
    proxy
        .start("tcp://127.0.0.1:0", &format!("srt://{addr}"), None)
        .unwrap();
    let Seen::Started(_, port) = next_seen(&seen, Duration::from_secs(5)) else {
        panic!("expected on_start")
    };
    let mut pusher = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    pusher.write_all(&[7u8; 100_000]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    gateway_rt.shutdown_background();
    // The pusher keeps writing into the proxy (bounded: until the proxy gives up).
    pusher
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let pushing = std::thread::spawn(move || {
        for _ in 0..200 {
            if pusher.write_all(&[7u8; 10_000]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    expect_remote_idle_error(&seen);
    proxy.stop();
    pushing.join().unwrap();
}
