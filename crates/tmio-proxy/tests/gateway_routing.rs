//! The gateway routes each SRT session by its stream id's resource to a TCP upstream, rejects
//! unknown resources with SRT's 2404 and unreachable upstreams with 2503, applies its
//! passphrase, and serves many sessions on one port.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::time::Duration;

use tmio_proxy::{Gateway, GatewayEvent};
use tmio_transport::{
    srt::{ConnectMode, SrtConfig, SrtStream},
    Error as TransportError,
};
use tokio::io::AsyncWriteExt;

fn caller(stream_id: &str) -> SrtConfig {
    SrtConfig {
        stream_id: Some(stream_id.to_owned()),
        connect_timeout: Duration::from_secs(3),
        ..SrtConfig::default()
    }
}

async fn push(addr: std::net::SocketAddr, config: &SrtConfig, bytes: &[u8]) {
    let mut stream = SrtStream::connect(addr, ConnectMode::Caller, config)
        .await
        .unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_by_resource_and_rejects_the_rest() {
    let mut live = common::sink().await;
    let mut special = common::sink().await;
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .route("live", &format!("tcp://{}", live.addr))
        .unwrap()
        .route("live/special", &format!("tcp://{}", special.addr))
        .unwrap()
        .start()
        .await
        .unwrap();
    let addr = gateway.local_addr();

    push(addr, &caller("#!::r=live/a,m=publish"), b"to live").await;
    push(
        addr,
        &caller("#!::h=push.example.com,r=live/special,txSecret=abc,txTime=5F000000"),
        b"to special",
    )
    .await;
    let got = tokio::time::timeout(Duration::from_secs(10), live.received.recv())
        .await
        .unwrap();
    assert_eq!(got.unwrap(), b"to live");
    let got = tokio::time::timeout(Duration::from_secs(10), special.received.recv())
        .await
        .unwrap();
    assert_eq!(got.unwrap(), b"to special");

    // No route and no default upstream: SRT's "not found".
    let err = SrtStream::connect(addr, ConnectMode::Caller, &caller("#!::r=vod/x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::Rejected { code: 2404, .. }),
        "{err}"
    );

    let mut rejected = false;
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(500), gateway.next_event()).await
    {
        if let GatewayEvent::Rejected { reason, .. } = event {
            assert!(reason.contains("no route"), "{reason}");
            rejected = true;
        }
    }
    assert!(rejected, "the rejection was reported as an event");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_upstream_is_service_unavailable() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream(&format!("tcp://127.0.0.1:{port}"))
        .unwrap()
        .start()
        .await
        .unwrap();
    let err = SrtStream::connect(
        gateway.local_addr(),
        ConnectMode::Caller,
        &caller("#!::r=live/a"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, TransportError::Rejected { code: 2503, .. }),
        "{err}"
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_is_required_and_checked() {
    let mut sink = common::sink().await;
    let mut gateway = Gateway::builder("srt://127.0.0.1:0?passphrase=gateway-secret-1")
        .unwrap()
        .upstream(&format!("tcp://{}", sink.addr))
        .unwrap()
        .start()
        .await
        .unwrap();
    let addr = gateway.local_addr();
    let err = SrtStream::connect(addr, ConnectMode::Caller, &caller("#!::r=live/a"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::Rejected { code: 1011, .. }),
        "{err}"
    );
    let wrong = SrtConfig {
        passphrase: Some("not-the-secret".into()),
        ..caller("#!::r=live/a")
    };
    let err = SrtStream::connect(addr, ConnectMode::Caller, &wrong)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::Rejected { code: 1010, .. }),
        "{err}"
    );
    let right = SrtConfig {
        passphrase: Some("gateway-secret-1".into()),
        key_length: 32,
        ..caller("#!::r=live/a")
    };
    push(addr, &right, b"encrypted").await;
    // Neither refused caller reached the upstream: the only connection is the right one's.
    let got = tokio::time::timeout(Duration::from_secs(10), sink.received.recv()).await;
    assert_eq!(got.unwrap().unwrap(), b"encrypted".to_vec());
    let more = tokio::time::timeout(Duration::from_secs(1), sink.received.recv()).await;
    assert!(
        more.is_err(),
        "a refused caller opened an upstream connection"
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_is_graceful_and_idempotent() {
    let sink = common::sink().await;
    let mut gateway = common::gateway(sink.addr, &[]).await;
    let addr = gateway.local_addr();
    let mut stream = SrtStream::connect(addr, ConnectMode::Caller, &caller("x"))
        .await
        .unwrap();
    stream.write_all(b"held").await.unwrap();
    tokio::time::timeout(Duration::from_secs(15), gateway.stop())
        .await
        .unwrap();
    gateway.stop().await;
    // The session was closed by the gateway: the caller's stream ends.
    let mut buf = [0u8; 4];
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
    )
    .await
    .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_close_ends_the_session_cleanly_even_if_the_upstream_answers() {
    // An upstream that answers after the pusher's end, as nginx answers an unpublish.
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = server.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut socket, _) = server.accept().await.unwrap();
        let mut got = Vec::new();
        socket.read_to_end(&mut got).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = socket.write_all(b"onStatus: unpublished").await;
    });
    let mut gateway = common::gateway(upstream, &[]).await;
    push(gateway.local_addr(), &caller("#!::r=live/a"), b"stream").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, gateway.next_event())
            .await
            .unwrap()
            .unwrap();
        if let GatewayEvent::SessionEnded { result, .. } = event {
            let moved = result.unwrap();
            assert_eq!(moved.remote_to_local, 6);
            break;
        }
    }
    gateway.stop().await;
}
