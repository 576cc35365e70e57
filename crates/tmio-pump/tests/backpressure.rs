//! A stalled or slow writer stops its direction's reads: the other end's writer blocks and the
//! pump never holds more than its buffer per direction.
#![allow(clippy::unwrap_used)]

mod support;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use tmio_pump::{Direction, Pump, PumpCounters};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use support::PATIENCE;

const BUFFER: usize = 4096;
const PIPE: usize = 1024;
/// The most a writer may push before blocking would be `BUFFER + PIPE`; offering twice as much
/// in 100-byte writes would exceed it if backpressure were missing.
const OFFERED: usize = 4 * (BUFFER + PIPE);

/// Writes 100-byte chunks until a write stays blocked (the paused clock advances only when
/// every task is idle, so a timeout here means the writer is blocked), and returns how many
/// bytes were accepted.
async fn write_until_blocked(writer: &mut (impl AsyncWrite + Unpin)) -> usize {
    let chunk = [0x5a_u8; 100];
    let mut accepted = 0;
    while accepted < OFFERED {
        match timeout(Duration::from_millis(100), writer.write(&chunk)).await {
            Ok(written) => accepted += written.unwrap(),
            Err(_blocked) => break,
        }
    }
    accepted
}

async fn read_exactly(reader: &mut (impl AsyncRead + Unpin), bytes: usize) -> Vec<u8> {
    let mut received = vec![0; bytes];
    timeout(PATIENCE, reader.read_exact(&mut received))
        .await
        .unwrap()
        .unwrap();
    received
}

#[tokio::test(start_paused = true)]
async fn a_stalled_remote_blocks_the_pusher_and_bounds_the_pump_buffer() {
    let (mut pusher, local) = tokio::io::duplex(PIPE);
    let (transport, mut far, control) = support::fake_transport(PIPE);
    control.stall_writes(true);
    let counters = Arc::new(PumpCounters::new());
    let pump = tokio::spawn(
        Pump::new(local, transport)
            .buffer_size(NonZeroUsize::new(BUFFER).unwrap())
            .counters(counters.clone())
            .run(),
    );

    let accepted = write_until_blocked(&mut pusher).await;
    assert!(accepted < OFFERED, "the pusher never blocked");
    assert!(
        accepted <= BUFFER + PIPE,
        "{accepted} bytes accepted past a stalled remote"
    );
    assert!(counters.buffered(Direction::LocalToRemote) <= BUFFER as u64);
    assert_eq!(counters.written(Direction::LocalToRemote), 0);
    assert!(!pump.is_finished());

    // The remote recovers: everything accepted arrives.
    control.stall_writes(false);
    let received = read_exactly(&mut far, accepted).await;
    assert!(received.iter().all(|&byte| byte == 0x5a));
    pusher.shutdown().await.unwrap();
    far.shutdown().await.unwrap();
    let transferred = timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(transferred.local_to_remote, accepted as u64);
}

#[tokio::test(start_paused = true)]
async fn a_pusher_that_does_not_read_blocks_the_remote_sender() {
    let (mut pusher, local) = tokio::io::duplex(PIPE);
    let (transport, mut far, _control) = support::fake_transport(PIPE);
    let counters = Arc::new(PumpCounters::new());
    let pump = tokio::spawn(
        Pump::new(local, transport)
            .buffer_size(NonZeroUsize::new(BUFFER).unwrap())
            .counters(counters.clone())
            .run(),
    );

    let accepted = write_until_blocked(&mut far).await;
    assert!(accepted < OFFERED, "the remote sender never blocked");
    // Two pipes (local and transport) and the pump's buffer are all it can fill.
    assert!(accepted <= BUFFER + 2 * PIPE, "{accepted} bytes accepted");
    assert!(counters.buffered(Direction::RemoteToLocal) <= BUFFER as u64);

    let received = read_exactly(&mut pusher, accepted).await;
    assert_eq!(received.len(), accepted);
    drop(pump);
}

#[tokio::test(start_paused = true)]
async fn a_slow_remote_never_lets_the_pump_hold_more_than_its_buffer() {
    let (mut pusher, local) = tokio::io::duplex(PIPE);
    let (transport, mut far, control) = support::fake_transport(PIPE);
    // The remote accepts 7 bytes per write and its peer drains slowly.
    control.max_write(Some(7));
    let counters = Arc::new(PumpCounters::new());
    let pump = tokio::spawn(
        Pump::new(local, transport)
            .buffer_size(NonZeroUsize::new(BUFFER).unwrap())
            .counters(counters.clone())
            .run(),
    );
    let total = 64 * 1024;
    let writer = tokio::spawn(async move {
        let data = vec![1u8; total];
        pusher.write_all(&data).await.unwrap();
        pusher.shutdown().await.unwrap();
        pusher
    });
    let mut received = 0;
    let mut most_buffered = 0;
    let mut chunk = [0u8; 100];
    while received < total {
        let count = timeout(PATIENCE, far.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(count > 0, "early end of input after {received} bytes");
        received += count;
        most_buffered = most_buffered.max(counters.buffered(Direction::LocalToRemote));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(most_buffered <= BUFFER as u64, "{most_buffered} bytes held");
    let _pusher = writer.await.unwrap();
    far.shutdown().await.unwrap();
    let transferred = timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(transferred.local_to_remote, total as u64);
}
