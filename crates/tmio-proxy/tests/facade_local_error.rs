//! A pusher that vanishes (its connection reset, as when the encoder crashes) is reported as
//! `on_error(Local, ..)`; a pusher that closes normally is not an error.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::time::Duration;

use common::{next_seen, started_proxy, Seen};
use tmio_proxy::ErrorType;

#[test]
fn reset_pusher_is_a_local_error() {
    let started = started_proxy(&[], "");
    let port = started.port;
    started.rt.block_on(async {
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
    match next_seen(&started.seen, Duration::from_secs(10)) {
        Seen::Error(kind, message) => {
            assert_eq!(kind, ErrorType::Local, "{message}");
            assert!(message.contains("local"), "{message}");
        }
        other => panic!("expected on_error, got {other:?}"),
    }
    started.proxy.stop();
}

#[test]
fn normal_close_is_not_an_error() {
    let mut started = started_proxy(&[], "");
    {
        use std::io::Write;
        let mut pusher = std::net::TcpStream::connect(("127.0.0.1", started.port)).unwrap();
        pusher.write_all(b"bye").unwrap();
    }
    assert_eq!(started.next_received(Duration::from_secs(10)), b"bye");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        started.seen.try_recv().is_err(),
        "a clean close raised on_error"
    );
    started.proxy.stop();
}
