//! The pump reports how many bytes each direction delivered, at the end and live.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use tmio_pump::{CountersSnapshot, Direction, Pump, PumpCounters, Transferred};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use support::PATIENCE;

#[tokio::test(start_paused = true)]
async fn counts_are_returned_per_direction() {
    let (mut pusher, local) = tokio::io::duplex(4096);
    let (transport, mut far, _control) = support::fake_transport(4096);
    let pump = tokio::spawn(Pump::new(local, transport).run());

    pusher.write_all(&[7u8; 3000]).await.unwrap();
    pusher.shutdown().await.unwrap();
    far.write_all(&[9u8; 1234]).await.unwrap();
    far.shutdown().await.unwrap();
    let mut at_far = Vec::new();
    far.read_to_end(&mut at_far).await.unwrap();
    let mut at_pusher = Vec::new();
    pusher.read_to_end(&mut at_pusher).await.unwrap();

    let transferred = timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(
        transferred,
        Transferred {
            local_to_remote: 3000,
            remote_to_local: 1234
        }
    );
    assert_eq!(at_far.len(), 3000);
    assert_eq!(at_pusher.len(), 1234);
}

#[tokio::test(start_paused = true)]
async fn live_counters_follow_the_bytes_while_the_pump_runs() {
    let (mut pusher, local) = tokio::io::duplex(4096);
    let (transport, mut far, _control) = support::fake_transport(4096);
    let counters = Arc::new(PumpCounters::new());
    let pump = tokio::spawn(Pump::new(local, transport).counters(counters.clone()).run());

    pusher.write_all(b"0123456789").await.unwrap();
    let mut ten = [0u8; 10];
    timeout(PATIENCE, far.read_exact(&mut ten))
        .await
        .unwrap()
        .unwrap();
    far.write_all(b"abcd").await.unwrap();
    let mut four = [0u8; 4];
    timeout(PATIENCE, pusher.read_exact(&mut four))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        counters.snapshot(),
        CountersSnapshot {
            local_to_remote_read: 10,
            local_to_remote_written: 10,
            remote_to_local_read: 4,
            remote_to_local_written: 4,
        }
    );
    assert_eq!(counters.buffered(Direction::LocalToRemote), 0);
    assert!(!pump.is_finished());

    pusher.shutdown().await.unwrap();
    far.shutdown().await.unwrap();
    let transferred = timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(
        transferred.local_to_remote,
        counters.written(Direction::LocalToRemote)
    );
    assert_eq!(
        transferred.remote_to_local,
        counters.written(Direction::RemoteToLocal)
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_sent_counts_zero() {
    let (pusher, local) = tokio::io::duplex(64);
    let (transport, far, control) = support::fake_transport(64);
    drop(pusher);
    control.end_reads();
    let transferred = timeout(PATIENCE, Pump::new(local, transport).run())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(transferred, Transferred::default());
    drop(far);
}
