//! `ProxyBuilder::start_persistent`: two pushes in a row over one local port, each its own SRT
//! session and upstream connection, with their events in order; a remote that never answers is
//! retried with backoff until the pusher's hold runs out, then the pusher's connection is
//! closed; a listening remote is refused.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::time::Duration;

use common::{payload, sink};
use tmio_proxy::{Error, Gateway, PersistSettings, PersistentEvent, Proxy, UpstreamConnect};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

const BOUND: Duration = Duration::from_secs(20);

async fn next(proxy: &mut tmio_proxy::RunningPersistentProxy) -> PersistentEvent {
    timeout(BOUND, proxy.next_event())
        .await
        .expect("an event within 20 s")
        .expect("the proxy is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pushes_in_a_row_each_over_its_own_session() {
    let mut sink = sink().await;
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream(&format!("tcp://{}", sink.addr))
        .unwrap()
        .upstream_connect(UpstreamConnect::FirstBytes)
        .start()
        .await
        .unwrap();
    let remote = format!("srt://{}?streamid=#!::r=live/test", gateway.local_addr());
    let mut proxy = Proxy::builder("tcp://127.0.0.1:0", &remote)
        .unwrap()
        .start_persistent(PersistSettings::default())
        .await
        .unwrap();
    assert!(proxy.session().is_none(), "no SRT session before a pusher");
    for (push, len) in [(1u64, 300_000usize), (2, 500_000)] {
        let data = payload(len, push);
        let mut pusher = TcpStream::connect(proxy.local_addr()).await.unwrap();
        pusher.write_all(&data).await.unwrap();
        pusher.shutdown().await.unwrap();
        assert!(matches!(
            next(&mut proxy).await,
            PersistentEvent::PusherConnected { push: p, .. } if p == push
        ));
        assert!(matches!(
            next(&mut proxy).await,
            PersistentEvent::SrtConnected { push: p, attempt: 1, reconnect: false, .. } if p == push
        ));
        match next(&mut proxy).await {
            PersistentEvent::PushEnded {
                push: p,
                transferred,
            } => {
                assert_eq!(p, push);
                assert_eq!(transferred.local_to_remote, len as u64);
            }
            other => panic!("push {push}: {other:?}"),
        }
        let mut rest = Vec::new();
        timeout(BOUND, pusher.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        let got = timeout(BOUND, sink.received.recv()).await.unwrap().unwrap();
        assert_eq!(got, data, "push {push}");
    }
    let status = proxy.stop().await.unwrap();
    assert_eq!((status.pushes, status.pushes_ended), (2, 2));
    assert_eq!((status.connect_failures, status.reconnects), (0, 0));
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_remote_is_retried_with_backoff_then_the_pusher_is_closed() {
    // A UDP port nobody answers on.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let remote = format!("srt://{}?conntimeo=200", silent.local_addr().unwrap());
    let settings = PersistSettings {
        pusher_hold: Duration::from_millis(1500),
        first_retry: Duration::from_millis(100),
        max_retry: Duration::from_millis(400),
    };
    let mut proxy = Proxy::builder("tcp://127.0.0.1:0", &remote)
        .unwrap()
        .start_persistent(settings)
        .await
        .unwrap();
    let mut pusher = TcpStream::connect(proxy.local_addr()).await.unwrap();
    pusher.write_all(b"waiting bytes").await.unwrap();
    assert!(matches!(
        next(&mut proxy).await,
        PersistentEvent::PusherConnected { push: 1, .. }
    ));
    let mut delays = Vec::new();
    loop {
        match next(&mut proxy).await {
            PersistentEvent::SrtConnectFailed {
                push: 1,
                attempt,
                error,
                retry_in,
            } => {
                assert_eq!(attempt as usize, delays.len() + 1);
                assert_eq!(error.error_type(), tmio_proxy::ErrorType::Remote, "{error}");
                match retry_in {
                    Some(delay) => delays.push(delay),
                    None => break,
                }
            }
            other => panic!("{other:?}"),
        }
    }
    let expected = [100u64, 200, 400, 400, 400];
    let millis: Vec<u64> = delays.iter().map(|d| d.as_millis() as u64).collect();
    assert!(!millis.is_empty());
    assert_eq!(millis, expected[..millis.len()], "doubling, capped");
    // The pusher's connection was closed: end of stream or reset, not a timeout.
    let mut buf = [0u8; 8];
    match timeout(BOUND, pusher.read(&mut buf)).await.unwrap() {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("the pusher read {n} bytes"),
    }
    let status = proxy.stop().await.unwrap();
    assert_eq!((status.pushes, status.pushes_failed), (1, 1));
    assert_eq!(status.connect_failures as usize, millis.len() + 1);
}

#[tokio::test]
async fn a_listening_remote_is_refused() {
    let error = Proxy::builder("tcp://127.0.0.1:0", "srt://127.0.0.1:9?mode=listener")
        .unwrap()
        .start_persistent(PersistSettings::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UrlUse { .. }), "{error}");
}
