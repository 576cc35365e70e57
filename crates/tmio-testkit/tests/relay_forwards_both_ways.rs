//! The relay learns its client from the first datagram, forwards both ways and ignores strangers,
//! or follows a new client when told to.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use tmio_testkit::{LossyUdpRelay, RelayConfig};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn echoes_through_the_relay_and_ignores_a_second_client() {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let relay = LossyUdpRelay::start(RelayConfig::new(upstream.local_addr().unwrap()))
        .await
        .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    assert_eq!(relay.client_addr(), None);

    let mut buf = [0u8; 2048];
    for i in 0..20u8 {
        let payload = [i; 100];
        client.send_to(&payload, relay.local_addr()).await.unwrap();
        let (len, from) = timeout(WAIT, upstream.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..len], &payload);
        assert_eq!(from, relay.upstream_side_addr());
        upstream.send_to(&buf[..len], from).await.unwrap();
        let (len, from) = timeout(WAIT, client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..len], &payload);
        assert_eq!(from, relay.local_addr());
    }
    assert_eq!(relay.client_addr(), Some(client.local_addr().unwrap()));

    let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stranger.send_to(b"nope", relay.local_addr()).await.unwrap();
    // A marker from the real client proves the stranger's datagram was processed (same socket, FIFO).
    client.send_to(b"marker", relay.local_addr()).await.unwrap();
    let (len, _) = timeout(WAIT, upstream.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..len], b"marker");

    let stats = relay.shutdown().await;
    assert_eq!(stats.ignored_datagrams, 1);
    assert_eq!(stats.to_upstream.forwarded_packets, 21);
    assert_eq!(stats.to_upstream.forwarded_bytes, 20 * 100 + 6);
    assert_eq!(stats.to_client.forwarded_packets, 20);
    assert_eq!(stats.to_client.dropped(), 0);
}

#[tokio::test]
async fn follows_a_reconnecting_client_when_asked() {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = RelayConfig {
        follow_new_client: true,
        ..RelayConfig::new(upstream.local_addr().unwrap())
    };
    let relay = LossyUdpRelay::start(config).await.unwrap();
    let mut buf = [0u8; 64];
    for round in 0..2u8 {
        // A new socket each round: a caller that reconnects from a new port.
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(&[round], relay.local_addr()).await.unwrap();
        let (len, from) = timeout(WAIT, upstream.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..len], &[round]);
        upstream.send_to(b"reply", from).await.unwrap();
        let (len, _) = timeout(WAIT, client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..len], b"reply");
        assert_eq!(relay.client_addr(), Some(client.local_addr().unwrap()));
    }
    let stats = relay.shutdown().await;
    assert_eq!(stats.client_changes, 1);
    assert_eq!(stats.ignored_datagrams, 0);
}
