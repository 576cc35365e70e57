//! A pump stopped from outside stops reading, delivers what it already accepted, flushes, shuts
//! both writers down and ends with `Ok`.
#![allow(clippy::unwrap_used)]

mod support;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use tmio_pump::{CancellationToken, Direction, Pump, PumpCounters};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use support::PATIENCE;

#[tokio::test(start_paused = true)]
async fn an_idle_pump_stops_and_closes_both_sides() {
    let (mut pusher, local) = tokio::io::duplex(1024);
    let (transport, mut far, control) = support::fake_transport(1024);
    let stop = CancellationToken::new();
    let pump = tokio::spawn(Pump::new(local, transport).stop_on(stop.clone()).run());

    tokio::time::sleep(Duration::from_millis(10)).await;
    stop.cancel();
    let transferred = timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(transferred.local_to_remote, 0);
    assert_eq!(control.shutdowns(), 1);
    let mut rest = Vec::new();
    timeout(PATIENCE, far.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    timeout(PATIENCE, pusher.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
}

#[tokio::test(start_paused = true)]
async fn bytes_accepted_before_the_stop_still_reach_the_remote() {
    let (mut pusher, local) = tokio::io::duplex(1024);
    let (transport, mut far, control) = support::fake_transport(64 * 1024);
    control.stall_writes(true);
    let counters = Arc::new(PumpCounters::new());
    let stop = CancellationToken::new();
    let pump = tokio::spawn(
        Pump::new(local, transport)
            .buffer_size(NonZeroUsize::new(512).unwrap())
            .counters(counters.clone())
            .stop_on(stop.clone())
            .run(),
    );

    // The pump takes 300 bytes into its buffer but the remote accepts nothing yet.
    pusher.write_all(&[3u8; 300]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(counters.buffered(Direction::LocalToRemote), 300);

    stop.cancel();
    // Bytes the pusher sent before the pump has drained (here: after the stop, while the
    // accepted bytes wait for the remote) are ready when the pump gets to them: they go too.
    pusher.write_all(b"late").await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        !pump.is_finished(),
        "the stop must wait for the accepted bytes"
    );
    control.stall_writes(false);

    let transferred = timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(transferred.local_to_remote, 304);
    let mut at_far = Vec::new();
    timeout(PATIENCE, far.read_to_end(&mut at_far))
        .await
        .unwrap()
        .unwrap();
    let mut expected = vec![3u8; 300];
    expected.extend(b"late");
    assert_eq!(at_far, expected);
    assert_eq!(control.shutdowns(), 1);
    assert!(control.flushes() >= 1);
}

#[tokio::test(start_paused = true)]
async fn a_stop_before_the_pump_starts_ends_it_at_once() {
    let (_pusher, local) = tokio::io::duplex(64);
    let (transport, _far, _control) = support::fake_transport(64);
    let stop = CancellationToken::new();
    stop.cancel();
    let transferred = timeout(PATIENCE, Pump::new(local, transport).stop_on(stop).run())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(transferred.local_to_remote + transferred.remote_to_local, 0);
}
