//! Pump throughput over in-memory pipes: how fast the pump itself moves bytes (its own cost,
//! not a network's), one direction, for several buffer sizes.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroUsize;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tmio_pump::Pump;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOTAL: usize = 16 * 1024 * 1024;
const PIPE: usize = 256 * 1024;

async fn one_way(buffer_size: usize, chunk: &[u8]) {
    let (mut pusher, local) = tokio::io::duplex(PIPE);
    let (remote, mut server) = tokio::io::duplex(PIPE);
    let pump = tokio::spawn(
        Pump::new(local, remote)
            .buffer_size(NonZeroUsize::new(buffer_size).unwrap())
            .run(),
    );
    let writer = async {
        let mut sent = 0;
        while sent < TOTAL {
            pusher.write_all(chunk).await.unwrap();
            sent += chunk.len();
        }
        pusher.shutdown().await.unwrap();
    };
    let reader = async {
        let mut sink = vec![0u8; 64 * 1024];
        let mut received = 0;
        loop {
            let count = server.read(&mut sink).await.unwrap();
            if count == 0 {
                break;
            }
            received += count;
        }
        server.shutdown().await.unwrap();
        received
    };
    let ((), received) = tokio::join!(writer, reader);
    assert_eq!(received, TOTAL);
    pump.await.unwrap().unwrap();
}

fn throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("pump_one_way_16MiB");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    let chunk = vec![0x5a_u8; 16 * 1024];
    for buffer_size in [8 * 1024, 64 * 1024, 256 * 1024] {
        group.bench_with_input(
            BenchmarkId::from_parameter(buffer_size),
            &buffer_size,
            |bencher, &size| bencher.iter(|| runtime.block_on(one_way(size, &chunk))),
        );
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
