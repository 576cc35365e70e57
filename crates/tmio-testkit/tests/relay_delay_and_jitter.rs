//! Delay is applied per direction: a round trip through a relay with 40 ms each way never takes
//! less than 80 ms. The upper bound is deliberately generous (a loaded CI machine), so this is
//! not a timing flake; the exact schedule is unit-tested with simulated time in `impairment`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use tmio_testkit::{ImpairmentConfig, Jitter, LossyUdpRelay, RelayConfig};
use tokio::net::UdpSocket;
use tokio::time::{timeout, Instant};

#[tokio::test]
async fn round_trip_takes_at_least_both_delays() {
    let one_way = Duration::from_millis(40);
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let impairment = ImpairmentConfig {
        delay: one_way,
        ..Default::default()
    };
    let relay = LossyUdpRelay::start(RelayConfig::symmetric(
        upstream.local_addr().unwrap(),
        impairment,
        1,
    ))
    .await
    .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = [0u8; 64];
    let mut fastest = Duration::MAX;
    for i in 0..5u8 {
        let sent = Instant::now();
        client.send_to(&[i], relay.local_addr()).await.unwrap();
        let (len, from) = timeout(Duration::from_secs(5), upstream.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(sent.elapsed() >= one_way);
        upstream.send_to(&buf[..len], from).await.unwrap();
        timeout(Duration::from_secs(5), client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let rtt = sent.elapsed();
        assert!(
            rtt >= 2 * one_way,
            "round trip {rtt:?} shorter than both delays"
        );
        fastest = fastest.min(rtt);
    }
    assert!(
        fastest < Duration::from_secs(2),
        "fastest round trip {fastest:?}"
    );
    relay.shutdown().await;
}

#[tokio::test]
async fn jitter_reorders_a_fast_stream() {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = RelayConfig {
        seed: 3,
        to_upstream: ImpairmentConfig {
            jitter: Jitter::Uniform {
                max: Duration::from_millis(20),
            },
            ..Default::default()
        },
        ..RelayConfig::new(upstream.local_addr().unwrap())
    };
    let relay = LossyUdpRelay::start(config).await.unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..200u32 {
        client
            .send_to(&i.to_be_bytes(), relay.local_addr())
            .await
            .unwrap();
    }
    let mut order = Vec::new();
    let mut buf = [0u8; 8];
    while order.len() < 200 {
        let (len, _) = timeout(Duration::from_secs(5), upstream.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(len, 4);
        order.push(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
    }
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..200).collect::<Vec<_>>(),
        "every datagram arrives once"
    );
    assert_ne!(order, sorted, "20 ms of jitter on a burst reorders it");
    let stats = relay.shutdown().await;
    assert!(stats.to_upstream.reordered > 0);
}
