//! A wider, slower sweep (ignored by default; run in release): random endpoint settings (payload
//! size, buffer sizes, bandwidth cap, encryption) on random networks. Failing seeds found here are
//! kept as named cases in `datapath_regressions.rs`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};
use tmio_transport::srt::RateControl;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use srt_protocol::options::KeySize;
use srt_protocol::settings::{KeyMaterialRefreshSettings, KeySettings};
use tmio_transport::sim::{connection_config, transfer_with, NetworkConfig, TransferReport};
use tmio_transport::srt::cipher::StreamCipher;
use tmio_transport::srt::connection::DeliveryMode;

/// Runs stress case `seed`.
pub fn stress_case(seed: u64) -> TransferReport {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Instant::now();
    let mut left = connection_config(0xA, 0xB, DeliveryMode::Reliable, start);
    let mut right = connection_config(0xB, 0xA, DeliveryMode::Reliable, start);
    for config in [&mut left, &mut right] {
        config.payload_size = rng.gen_range(300..=1456);
        config.send_buffer_bytes = rng.gen_range(16_000..4_000_000);
        config.recv_buffer_bytes = rng.gen_range(16_000..4_000_000);
        config.peer_flow_window = rng.gen_range(64..30_000);
        config.rate_control = match rng.gen_range(0..10) {
            0..=1 => RateControl::Fixed {
                bytes_per_second: rng.gen_range(200_000..50_000_000),
            },
            2..=3 => RateControl::Adaptive {
                cap: Some(rng.gen_range(200_000..50_000_000)),
            },
            _ => RateControl::UNCAPPED,
        };
        config.peer_idle_timeout = Duration::from_secs(5);
    }
    if rng.gen_bool(0.2) {
        let cipher = StreamCipher::new_random(&KeySettings {
            key_size: KeySize::AES256,
            passphrase: "stress passphrase".into(),
        })
        .with_key_refresh(KeyMaterialRefreshSettings::new(1000, 200).unwrap());
        left.cipher = Some(cipher.clone());
        right.cipher = Some(cipher);
    }
    let network = NetworkConfig {
        loss: rng.gen_range(0.0..0.45),
        delay: Duration::from_micros(rng.gen_range(10..150_000)),
        jitter: Duration::from_micros(rng.gen_range(0..30_000)),
        reorder: rng.gen_range(0.0..0.2),
        duplicate: rng.gen_range(0.0..0.2),
        rate: rng
            .gen_bool(0.5)
            .then(|| rng.gen_range(100_000..100_000_000)),
        queue_bytes: rng.gen_range(3_000..2_000_000),
        blackout: rng.gen_bool(0.3).then(|| {
            (
                Duration::from_millis(rng.gen_range(0..3000)),
                Duration::from_millis(rng.gen_range(100..4500)),
            )
        }),
    };
    if std::env::var("STRESS_VERBOSE").is_ok() {
        println!(
            "left {:?}\nright {:?}\nnetwork {:?}",
            (
                left.payload_size,
                left.send_buffer_bytes,
                left.recv_buffer_bytes,
                left.peer_flow_window,
                left.rate_control,
                left.cipher.is_some()
            ),
            (
                right.payload_size,
                right.send_buffer_bytes,
                right.recv_buffer_bytes,
                right.peer_flow_window,
                right.rate_control
            ),
            network
        );
    }
    let left_bytes = rng.gen_range(0..3_000_000);
    let right_bytes = rng.gen_range(0..1_000_000);
    transfer_with(
        seed,
        network,
        left,
        right,
        left_bytes,
        right_bytes,
        Duration::from_secs(3600),
        start,
    )
}

#[test]
#[ignore = "slow; run in release"]
fn stress_sweep() {
    let first: u64 = std::env::var("STRESS_FIRST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let count: u64 = std::env::var("STRESS_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let mut failures = Vec::new();
    for seed in first..first + count {
        let report = stress_case(seed);
        if !report.complete() || report.spins != 0 {
            println!(
                "FAIL seed {seed}: {:?} {:?} l->r {:?} r->l {:?} states {:?} spins {}",
                report.end,
                report.elapsed,
                report.left_to_right,
                report.right_to_left,
                report.states,
                report.spins
            );
            if std::env::var("STRESS_VERBOSE").is_ok() {
                println!(
                    "{:?}\n{:?}\n{:?}",
                    report.left_stats, report.right_stats, report.links
                );
            }
            failures.push(seed);
        }
    }
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
}
