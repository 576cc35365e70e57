//! A runtime blackout drops everything while it lasts; a rate limit with a small queue tail-drops
//! a burst.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use tmio_testkit::{Direction, ImpairmentConfig, LossyUdpRelay, RateLimit, RelayConfig};
use tokio::net::UdpSocket;
use tokio::time::timeout;

async fn wait_received(relay: &tmio_testkit::RelayHandle, count: u64) {
    for _ in 0..500 {
        if relay.stats().to_upstream.received_packets >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("relay saw {:?}", relay.stats());
}

#[tokio::test]
async fn blackout_now_drops_then_recovers() {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let relay = LossyUdpRelay::start(RelayConfig::new(upstream.local_addr().unwrap()))
        .await
        .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let blackout = Duration::from_secs(2);
    relay.blackout_now_in(Direction::ToUpstream, blackout);
    for _ in 0..10 {
        client.send_to(b"dark", relay.local_addr()).await.unwrap();
    }
    wait_received(&relay, 10).await;
    tokio::time::sleep(blackout).await;
    client.send_to(b"light", relay.local_addr()).await.unwrap();
    let mut buf = [0u8; 16];
    let (len, _) = timeout(Duration::from_secs(5), upstream.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..len], b"light");
    let stats = relay.shutdown().await.to_upstream;
    assert_eq!(stats.dropped_blackout, 10);
    assert_eq!(stats.forwarded_packets, 1);
}

#[tokio::test]
async fn rate_limit_tail_drops_a_burst() {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = RelayConfig {
        to_upstream: ImpairmentConfig {
            rate_limit: Some(RateLimit {
                bytes_per_sec: 50_000,
                queue_limit_bytes: 10_000,
            }),
            ..Default::default()
        },
        ..RelayConfig::new(upstream.local_addr().unwrap())
    };
    let relay = LossyUdpRelay::start(config).await.unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // 100 kB offered in a burst to a 50 kB/s link with 10 kB of queue.
    for _ in 0..100 {
        client
            .send_to(&[0u8; 1000], relay.local_addr())
            .await
            .unwrap();
    }
    wait_received(&relay, 100).await;
    let mut delivered = 0u64;
    let mut buf = [0u8; 2048];
    while let Ok(Ok(_)) = timeout(Duration::from_millis(500), upstream.recv_from(&mut buf)).await {
        delivered += 1;
    }
    let stats = relay.shutdown().await.to_upstream;
    assert_eq!(stats.dropped_queue + stats.forwarded_packets, 100);
    assert_eq!(delivered, stats.forwarded_packets);
    // About 10 fit in the queue, plus what drained while the burst was arriving.
    assert!((10..40).contains(&delivered), "delivered {delivered}");
}
