//! The gateway's access control: a stream-id allow-list (`r=`, `u=`, `m=`) and passphrases per
//! route. A refused caller sees the SRT reject code (2403 forbidden, 1010 wrong passphrase, 1011
//! one side encrypts), and nothing is opened upstream for it.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::time::Duration;

use tmio_proxy::Gateway;
use tmio_transport::{
    srt::{ConnectMode, SrtConfig, SrtStream},
    Error as TransportError,
};
use tokio::io::AsyncWriteExt;

fn caller(stream_id: &str, passphrase: Option<&str>) -> SrtConfig {
    SrtConfig {
        stream_id: Some(stream_id.to_owned()),
        passphrase: passphrase.map(str::to_owned),
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

async fn refused_with(addr: std::net::SocketAddr, config: &SrtConfig) -> i32 {
    match SrtStream::connect(addr, ConnectMode::Caller, config).await {
        Err(TransportError::Rejected { code, .. }) => code,
        Err(other) => panic!("not a rejection: {other}"),
        Ok(_) => panic!("{:?} was let in", config.stream_id),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allow_list_lets_in_only_matching_stream_ids() {
    let mut sink = common::sink().await;
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream(&format!("tcp://{}", sink.addr))
        .unwrap()
        .allow("r=live,m=publish")
        .unwrap()
        .allow("u=ops")
        .unwrap()
        .start()
        .await
        .unwrap();
    let addr = gateway.local_addr();
    for refused in [
        "#!::r=live/cam1",            // no m=: request, not publish
        "#!::r=vod/cam1,m=publish",   // another resource
        "#!::r=livestream,m=publish", // not below live
        "live/cam1",                  // verbatim: mode request
        "#!::u=guest,r=vod/x",        // another user
    ] {
        assert_eq!(
            refused_with(addr, &caller(refused, None)).await,
            2403,
            "{refused}"
        );
    }
    push(addr, &caller("#!::r=live/cam1,m=publish", None), b"one").await;
    push(addr, &caller("#!::u=ops,r=anything", None), b"two").await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let received = tokio::time::timeout(Duration::from_secs(10), sink.received.recv()).await;
        got.push(received.unwrap().unwrap());
    }
    got.sort();
    assert_eq!(got, vec![b"one".to_vec(), b"two".to_vec()]);
    let more = tokio::time::timeout(Duration::from_secs(1), sink.received.recv()).await;
    assert!(
        more.is_err(),
        "a refused caller opened an upstream connection"
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_passphrases_are_checked_before_the_upstream() {
    let mut sink = common::sink().await;
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream(&format!("tcp://{}", sink.addr))
        .unwrap()
        .route_passphrase("live/secret", "the-secret-route")
        .unwrap()
        .start()
        .await
        .unwrap();
    let addr = gateway.local_addr();
    let secret = "#!::r=live/secret/cam1,m=publish";
    assert_eq!(refused_with(addr, &caller(secret, None)).await, 1011);
    assert_eq!(
        refused_with(addr, &caller(secret, Some("another-passphrase"))).await,
        1010
    );
    // A resource without a passphrase stays plain: an encrypting caller is refused.
    assert_eq!(
        refused_with(addr, &caller("#!::r=live/open", Some("the-secret-route"))).await,
        1011
    );
    push(
        addr,
        &caller(secret, Some("the-secret-route")),
        b"encrypted",
    )
    .await;
    push(addr, &caller("#!::r=live/open", None), b"plain").await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let received = tokio::time::timeout(Duration::from_secs(10), sink.received.recv()).await;
        got.push(received.unwrap().unwrap());
    }
    got.sort();
    assert_eq!(got, vec![b"encrypted".to_vec(), b"plain".to_vec()]);
    let more = tokio::time::timeout(Duration::from_secs(1), sink.received.recv()).await;
    assert!(
        more.is_err(),
        "a refused caller opened an upstream connection"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn bad_access_settings_are_named() {
    let builder = || Gateway::builder("srt://127.0.0.1:0").unwrap();
    let err = builder().allow("m=push").unwrap_err().to_string();
    assert!(err.contains("m=push") && err.contains("publish"), "{err}");
    let err = builder()
        .route_passphrase("live", "short")
        .unwrap_err()
        .to_string();
    assert!(err.contains("10 to 79") && !err.contains("short"), "{err}");
    let err = Gateway::builder("srt://127.0.0.1:0?passphrase=gateway-secret-1")
        .unwrap()
        .upstream("tcp://127.0.0.1:9")
        .unwrap()
        .route_passphrase("live", "the-secret-route")
        .unwrap()
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("route passphrases"), "{err}");
    assert!(!err.contains("gateway-secret-1"), "{err}");
}
