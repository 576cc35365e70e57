//! Throughput figures of the data path on a simulated near-zero-delay link (run with
//! `cargo test --release -p tmio-transport --test datapath_throughput -- --ignored --nocapture`).
//! Prints figures only; speed is judged by benchmarks, never asserted here. The check that runs by
//! default is that a large transfer completes exactly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use tmio_transport::sim::{transfer, NetworkConfig};

fn measure(name: &str, network: NetworkConfig, bytes: u64) {
    let wall = Instant::now();
    let report = transfer(1, network, bytes, 0, Duration::from_secs(600));
    let wall = wall.elapsed();
    assert!(report.complete(), "{report:?}");
    let simulated = report.elapsed.as_secs_f64();
    println!(
        "{name}: {} MB in {:.3} s simulated = {:.1} MB/s goodput; wall {:.3} s = {:.1} MB/s of \
         CPU for both ends + simulator; retransmitted {} of {} packets, pacing {:.0} Mbit/s",
        bytes / 1_000_000,
        simulated,
        bytes as f64 / simulated / 1e6,
        wall.as_secs_f64(),
        bytes as f64 / wall.as_secs_f64() / 1e6,
        report.left_stats.packets_retransmitted,
        report.left_stats.packets_sent,
        report.left_stats.pacing_rate_mbps,
    );
}

#[test]
fn a_large_transfer_on_a_fast_link_completes_exactly() {
    let network = NetworkConfig {
        delay: Duration::from_micros(50),
        ..NetworkConfig::default()
    };
    let report = transfer(1, network, 20_000_000, 0, Duration::from_secs(60));
    assert!(report.complete(), "{report:?}");
}

#[test]
#[ignore = "prints throughput figures; run in release"]
fn throughput_figures() {
    let fast = NetworkConfig {
        delay: Duration::from_micros(50),
        ..NetworkConfig::default()
    };
    measure("loopback-like, 50 us", fast.clone(), 500_000_000);
    measure(
        "loopback-like, 2 % loss",
        NetworkConfig {
            loss: 0.02,
            ..fast.clone()
        },
        200_000_000,
    );
    measure(
        "loopback-like, 10 % loss",
        NetworkConfig {
            loss: 0.10,
            ..fast.clone()
        },
        200_000_000,
    );
    measure(
        "100 Mbit/s bottleneck, 20 ms, 256 KB queue",
        NetworkConfig {
            delay: Duration::from_millis(10),
            rate: Some(12_500_000),
            queue_bytes: 256 * 1024,
            ..NetworkConfig::default()
        },
        100_000_000,
    );
    measure(
        "100 Mbit/s bottleneck, 20 ms, 5 % random loss",
        NetworkConfig {
            loss: 0.05,
            delay: Duration::from_millis(10),
            rate: Some(12_500_000),
            queue_bytes: 256 * 1024,
            ..NetworkConfig::default()
        },
        100_000_000,
    );
    measure(
        "veth-like 2 ms jitter",
        NetworkConfig {
            delay: Duration::from_micros(100),
            jitter: Duration::from_millis(2),
            ..NetworkConfig::default()
        },
        100_000_000,
    );
}
