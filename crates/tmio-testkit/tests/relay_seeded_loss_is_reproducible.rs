//! With a seed, the relay's loss and duplication counts are exact and reproducible: they equal
//! what the sans-IO `Impairment` predicts for the same seed and datagram count.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use tmio_testkit::{Direction, Impairment, ImpairmentConfig, LossyUdpRelay, RelayConfig};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const DATAGRAMS: u64 = 2000;

async fn run_once(config: &ImpairmentConfig, seed: u64) -> (u64, u64, u64) {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let relay_config = RelayConfig {
        seed,
        to_upstream: config.clone(),
        ..RelayConfig::new(upstream.local_addr().unwrap())
    };
    let relay = LossyUdpRelay::start(relay_config).await.unwrap();
    // Read concurrently so the upstream socket's receive buffer never overflows.
    let reader = tokio::spawn(async move {
        let mut received = 0u64;
        let mut buf = [0u8; 64];
        while let Ok(Ok(_)) =
            timeout(Duration::from_millis(1500), upstream.recv_from(&mut buf)).await
        {
            received += 1;
        }
        received
    });
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..DATAGRAMS {
        client
            .send_to(&i.to_be_bytes(), relay.local_addr())
            .await
            .unwrap();
        if i % 100 == 99 {
            // Let the relay drain so no kernel buffer ever overflows.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let forwarded = loop_until_settled(&relay).await;
    let received = reader.await.unwrap();
    assert_eq!(received, forwarded);
    let stats = relay.shutdown().await;
    assert_eq!(stats.to_upstream.received_packets, DATAGRAMS);
    assert_eq!(stats.to_upstream.send_errors, 0);
    (
        stats.to_upstream.dropped_random,
        stats.to_upstream.duplicated,
        received,
    )
}

/// Waits (bounded) until the relay has seen every datagram, returns the copies it forwarded.
async fn loop_until_settled(relay: &tmio_testkit::RelayHandle) -> u64 {
    for _ in 0..1000 {
        let stats = relay.stats().to_upstream;
        if stats.received_packets == DATAGRAMS && stats.forwarded_packets == stats.scheduled_packets
        {
            return stats.forwarded_packets;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("relay did not settle: {:?}", relay.stats());
}

#[tokio::test]
async fn loss_and_duplication_counts_match_the_sans_io_prediction() {
    let config = ImpairmentConfig {
        loss: 0.1,
        duplicate_probability: 0.05,
        ..Default::default()
    };
    let seed = 7;
    let mut predictor = Impairment::new(config.clone(), seed, 0).unwrap();
    let predicted_copies: u64 = (0..DATAGRAMS)
        .map(|_| predictor.decide(Duration::ZERO, 8).len() as u64)
        .sum();
    let predicted = predictor.stats();

    let first = run_once(&config, seed).await;
    let second = run_once(&config, seed).await;
    assert_eq!(first, second);
    assert_eq!(
        first,
        (
            predicted.dropped_random,
            predicted.duplicated,
            predicted_copies
        )
    );
    assert!((150..250).contains(&first.0), "dropped {}", first.0);
}

#[tokio::test]
async fn set_config_switches_loss_on_at_run_time() {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let relay = LossyUdpRelay::start(RelayConfig::new(upstream.local_addr().unwrap()))
        .await
        .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = [0u8; 16];
    client.send_to(b"before", relay.local_addr()).await.unwrap();
    let (len, _) = timeout(Duration::from_secs(5), upstream.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..len], b"before");

    let all_lost = ImpairmentConfig {
        loss: 1.0,
        ..Default::default()
    };
    relay.set_config(Direction::ToUpstream, all_lost).unwrap();
    for _ in 0..10 {
        client.send_to(b"lost", relay.local_addr()).await.unwrap();
    }
    for _ in 0..500 {
        if relay.stats().to_upstream.received_packets == 11 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    relay
        .set_config(Direction::ToUpstream, ImpairmentConfig::default())
        .unwrap();
    assert!(relay
        .set_config(
            Direction::ToUpstream,
            ImpairmentConfig {
                loss: -1.0,
                ..Default::default()
            }
        )
        .is_err());
    client.send_to(b"after", relay.local_addr()).await.unwrap();
    let (len, _) = timeout(Duration::from_secs(5), upstream.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..len], b"after");
    let stats = relay.shutdown().await.to_upstream;
    assert_eq!(stats.received_packets, 12);
    assert_eq!(stats.dropped_random, 10);
    assert_eq!(stats.forwarded_packets, 2);
}
