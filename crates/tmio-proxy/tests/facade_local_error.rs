//! A pusher that vanishes (its connection reset, as when the encoder crashes) is reported as
//! `on_error(Local, ..)`; a pusher that closes normally is not an error.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::time::Duration;

use common::{next_seen, recorder, Seen};
use tmio_proxy::{ErrorType, TmioProxy};

#[test]
fn reset_pusher_is_a_local_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_sink, gateway) = rt.block_on(async {
        let sink = common::sink().await;
        let gateway = common::gateway(sink.addr, &[]).await;
        (sink, gateway)
    });
    let proxy = TmioProxy::create();
    let (listener, seen) = recorder(&[]);
    proxy.set_listener(listener);
    proxy
        .start(
            "tcp://127.0.0.1:0",
            &format!("srt://{}", gateway.local_addr()),
            None,
        )
        .unwrap();
    let Seen::Started(_, port) = next_seen(&seen, Duration::from_secs(5)) else {
        panic!("expected on_start")
    };
    rt.block_on(async {
        use tokio::io::AsyncWriteExt;
        let mut pusher = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        pusher.write_all(b"some RTMP bytes").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // SO_LINGER 0: closing sends a reset instead of a FIN. (Deprecated because a non-zero
        // linger blocks on drop; zero never blocks.)
        #[allow(deprecated)]
        pusher.set_linger(Some(Duration::ZERO)).unwrap();
        drop(pusher);
    });
    match next_seen(&seen, Duration::from_secs(10)) {
        Seen::Error(kind, message) => {
            assert_eq!(kind, ErrorType::Local, "{message}");
            assert!(message.contains("local"), "{message}");
        }
        other => panic!("expected on_error, got {other:?}"),
    }
    proxy.stop();
}

#[test]
fn normal_close_is_not_an_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut sink, gateway) = rt.block_on(async {
        let sink = common::sink().await;
        let gateway = common::gateway(sink.addr, &[]).await;
        (sink, gateway)
    });
    let proxy = TmioProxy::create();
    let (listener, seen) = recorder(&[]);
    proxy.set_listener(listener);
    proxy
        .start(
            "tcp://127.0.0.1:0",
            &format!("srt://{}", gateway.local_addr()),
            None,
        )
        .unwrap();
    let Seen::Started(_, port) = next_seen(&seen, Duration::from_secs(5)) else {
        panic!("expected on_start")
    };
    {
        use std::io::Write;
        let mut pusher = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        pusher.write_all(b"bye").unwrap();
    }
    let got = rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(10), sink.received.recv()).await
        })
        .unwrap()
        .unwrap();
    assert_eq!(got, b"bye");
    std::thread::sleep(Duration::from_millis(300));
    assert!(seen.try_recv().is_err(), "a clean close raised on_error");
    proxy.stop();
}
