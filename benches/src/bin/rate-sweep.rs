//! The adaptive rate controller against bottlenecks, under simulated time (tmio-transport's
//! `sim`): for each link rate, drop-tail queue and one-way delay, a reliable push of four
//! seconds' worth of the link's rate (one-way delays of 1 ms, a LAN where the controller's fast
//! start acts, 5 and 40 ms); prints the retransmission overhead (retransmitted bytes per
//! payload byte), the time taken against the link's own minimum, and the queue's drops. The
//! figures are simulated, so they are the same on any machine (seeded).
//!
//! ```text
//! rate-sweep [SEED=7]
//! ```

use std::time::{Duration, Instant};

use tmio_transport::sim::{connection_config, transfer_with, NetworkConfig};
use tmio_transport::srt::connection::DeliveryMode;
use tmio_transport::srt::RateControl;

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(7);
    println!(
        "| link | queue | one-way delay | retransmitted | time / link minimum | queue drops |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for mbit in [1u64, 5, 20, 50] {
        for queue_kib in [16usize, 64, 256] {
            for delay_ms in [1u64, 5, 40] {
                let rate = mbit * 125_000;
                let network = NetworkConfig {
                    delay: Duration::from_millis(delay_ms),
                    rate: Some(rate),
                    queue_bytes: queue_kib * 1024,
                    ..NetworkConfig::default()
                };
                let bytes = rate * 4;
                let start = Instant::now();
                let mut left = connection_config(0xA, 0xB, DeliveryMode::Reliable, start);
                let mut right = connection_config(0xB, 0xA, DeliveryMode::Reliable, start);
                left.payload_size = 1316;
                right.payload_size = 1316;
                left.rate_control = RateControl::UNCAPPED;
                let report = transfer_with(
                    seed,
                    network,
                    left,
                    right,
                    bytes,
                    0,
                    Duration::from_secs(120),
                    start,
                );
                let status = if report.complete() {
                    ""
                } else {
                    " (incomplete)"
                };
                println!(
                    "| {mbit} Mbit/s | {queue_kib} KiB | {delay_ms} ms | {:.1} % | {:.2}× | {}{status} |",
                    report.left_stats.bytes_retransmitted as f64 / bytes as f64 * 100.0,
                    report.elapsed.as_secs_f64() / 4.0,
                    report.links.0.queue_drops,
                );
            }
        }
    }
}
