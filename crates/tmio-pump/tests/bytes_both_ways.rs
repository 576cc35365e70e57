//! Every byte arrives, in order, in both directions at once, whatever the chunking of the
//! writers, the pump's buffer size, and the transport's short writes.
#![allow(clippy::unwrap_used)]

mod support;

use std::num::NonZeroUsize;

use proptest::prelude::*;
use tmio_pump::Pump;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Writes `data` in chunks of the sizes in `chunks` (cycled), then shuts the writer down.
async fn write_in_chunks(mut writer: impl AsyncWriteExt + Unpin, data: &[u8], chunks: &[usize]) {
    let mut offset = 0;
    let mut sizes = chunks.iter().cycle();
    while offset < data.len() {
        let size = sizes.next().copied().unwrap_or(1).max(1);
        let end = (offset + size).min(data.len());
        writer.write_all(&data[offset..end]).await.unwrap();
        offset = end;
    }
    writer.shutdown().await.unwrap();
}

async fn read_all(mut reader: impl AsyncReadExt + Unpin) -> Vec<u8> {
    let mut received = Vec::new();
    reader.read_to_end(&mut received).await.unwrap();
    received
}

struct Case {
    upstream: Vec<u8>,
    downstream: Vec<u8>,
    upstream_chunks: Vec<usize>,
    downstream_chunks: Vec<usize>,
    buffer_size: usize,
    short_write: Option<usize>,
    pipe_capacity: usize,
}

fn run_case(case: Case) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let (pusher, local): (DuplexStream, DuplexStream) = tokio::io::duplex(case.pipe_capacity);
        let (transport, far, control) = support::fake_transport(case.pipe_capacity);
        control.max_write(case.short_write);
        let pump = tokio::spawn(
            Pump::new(local, transport)
                .buffer_size(NonZeroUsize::new(case.buffer_size).unwrap())
                .run(),
        );
        let (pusher_read, pusher_write) = tokio::io::split(pusher);
        let (far_read, far_write) = tokio::io::split(far);
        let (_, _, at_far, at_pusher) = tokio::join!(
            write_in_chunks(pusher_write, &case.upstream, &case.upstream_chunks),
            write_in_chunks(far_write, &case.downstream, &case.downstream_chunks),
            read_all(far_read),
            read_all(pusher_read),
        );
        let transferred = pump.await.unwrap().unwrap();
        prop_assert_eq!(&at_far, &case.upstream);
        prop_assert_eq!(&at_pusher, &case.downstream);
        prop_assert_eq!(transferred.local_to_remote, case.upstream.len() as u64);
        prop_assert_eq!(transferred.remote_to_local, case.downstream.len() as u64);
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn bytes_arrive_unchanged_in_both_directions(
        upstream in proptest::collection::vec(any::<u8>(), 0..20_000),
        downstream in proptest::collection::vec(any::<u8>(), 0..20_000),
        upstream_chunks in proptest::collection::vec(1usize..5_000, 1..8),
        downstream_chunks in proptest::collection::vec(1usize..5_000, 1..8),
        buffer_size in 1usize..10_000,
        short_write in proptest::option::of(1usize..2_000),
        pipe_capacity in 1usize..8_192,
    ) {
        run_case(Case {
            upstream,
            downstream,
            upstream_chunks,
            downstream_chunks,
            buffer_size,
            short_write,
            pipe_capacity,
        })?;
    }
}

#[test]
fn a_megabyte_each_way_through_one_byte_short_writes_and_a_small_buffer() {
    let upstream: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let downstream: Vec<u8> = (0..1_000_000u32).map(|i| (i % 241) as u8).collect();
    run_case(Case {
        upstream,
        downstream,
        upstream_chunks: vec![1316, 7, 65_536],
        downstream_chunks: vec![3, 4096],
        buffer_size: 1500,
        short_write: Some(1),
        pipe_capacity: 1024,
    })
    .unwrap();
}
