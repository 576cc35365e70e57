//! Reliable mode delivers exactly the bytes written, in order, in both directions at once, for every
//! seed of a sweep over loss, delay, jitter, reordering, duplication, rate limits and blackouts.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use tmio_transport::sim::{transfer, NetworkConfig, TransferReport};

/// The network for sweep seed `seed`: loss 0–30 %, and every few seeds jitter, reordering,
/// duplication, a bottleneck, or a 3 s blackout.
fn network_for(seed: u64) -> NetworkConfig {
    let loss = (seed % 31) as f64 / 100.0;
    let blackout = seed % 10 == 4;
    NetworkConfig {
        loss,
        delay: Duration::from_millis(1 + seed % 40),
        jitter: if seed % 3 == 0 {
            Duration::from_millis(seed % 15)
        } else {
            Duration::ZERO
        },
        reorder: if seed % 5 == 1 { 0.05 } else { 0.0 },
        duplicate: if seed % 7 == 2 { 0.05 } else { 0.0 },
        rate: if seed % 4 == 3 || blackout {
            Some(1_000_000 + (seed % 9) * 500_000)
        } else {
            None
        },
        queue_bytes: 64 * 1024 + (seed as usize % 5) * 32 * 1024,
        // Early enough that even a fast transfer is still under way (the test checks it was hit).
        blackout: if blackout {
            Some((
                Duration::from_millis(100 + seed % 200),
                Duration::from_secs(3),
            ))
        } else {
            None
        },
    }
}

fn describe(seed: u64, report: &TransferReport) -> String {
    format!(
        "seed {seed}: {:?} after {:?}, l->r {:?}, r->l {:?}, states {:?}, spins {}",
        report.end,
        report.elapsed,
        report.left_to_right,
        report.right_to_left,
        report.states,
        report.spins
    )
}

#[test]
fn two_hundred_seeds_deliver_every_byte_in_order_both_ways() {
    let mut failures = Vec::new();
    let mut total_sim = Duration::ZERO;
    for seed in 0..200u64 {
        let network = network_for(seed);
        let left_bytes = 1_000_000 + (seed % 7) * 100_000;
        let right_bytes = 300_000 + (seed % 5) * 100_000;
        let report = transfer(
            seed,
            network,
            left_bytes,
            right_bytes,
            Duration::from_secs(120),
        );
        total_sim += report.elapsed;
        let blackout_missed =
            network_for(seed).blackout.is_some() && report.links.0.blacked_out == 0;
        if !report.complete() || report.spins != 0 || blackout_missed {
            failures.push(describe(seed, &report));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("200 seeds, {:?} of simulated time", total_sim);
}
