//! The sans-IO data path alone: two `Connection`s joined by `tmio_transport::sim` links (no loss,
//! 50 µs one way), reliable mode, every byte checked. Measures CPU per byte of both ends plus the
//! simulator (packets are serialised and parsed on the way, as on a real wire), so regressions of
//! the hot path show here without a network.
#![allow(clippy::panic)] // a benchmark stops loudly on a wrong result

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tmio_transport::sim::{transfer, NetworkConfig};

fn bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("datapath");
    group.sample_size(10);
    let network = NetworkConfig {
        delay: Duration::from_micros(50),
        ..NetworkConfig::default()
    };
    for (name, bytes, loss) in [
        ("clean_8MB", 8_000_000u64, 0.0),
        ("loss_2pct_4MB", 4_000_000, 0.02),
    ] {
        let network = NetworkConfig {
            loss,
            ..network.clone()
        };
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(name, |b| {
            b.iter(|| {
                let report = transfer(1, network.clone(), bytes, 0, Duration::from_secs(600));
                assert!(report.complete(), "{report:?}");
                report
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bulk);
criterion_main!(benches);
