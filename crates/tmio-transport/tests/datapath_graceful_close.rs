//! `close` delivers and acknowledges every accepted byte before Shutdown; the peer reads everything,
//! then sees `PeerShutdown`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use tmio_transport::sim::{
    connection_config, AppStep, NetworkConfig, RunEnd, Simulation, StreamSink, StreamSource,
};
use tmio_transport::srt::connection::{
    CloseReason, ConnectionError, ConnectionState, DeliveryMode,
};

#[test]
fn close_flushes_everything_over_a_lossy_path_then_both_sides_close() {
    for seed in 0..10 {
        let start = Instant::now();
        let left = connection_config(1, 2, DeliveryMode::Reliable, start);
        let right = connection_config(2, 1, DeliveryMode::Reliable, start);
        let network = NetworkConfig {
            loss: 0.15,
            jitter: Duration::from_millis(5),
            ..NetworkConfig::default()
        };
        let mut simulation = Simulation::new(seed, network, left, right, start);
        let total = 700_000;
        let mut source = StreamSource::new(seed, total);
        let mut sink = StreamSink::new(seed, total);
        let mut closed_at_written = None;
        let end = simulation.run(Duration::from_secs(120), |now, left, right| {
            if closed_at_written.is_none() {
                source.pump(now, left);
                if source.finished() {
                    // Close with most of the data still unacknowledged in the send buffer.
                    left.close(now);
                    closed_at_written = Some(left.stats(now).send_buffer_bytes);
                    assert_eq!(left.write(now, b"x"), Err(ConnectionError::WriteAfterClose));
                }
            }
            sink.pump(now, right);
            let both_closed = matches!(left.state(), ConnectionState::Closed(_))
                && matches!(right.state(), ConnectionState::Closed(_));
            AppStep {
                done: both_closed,
                wake_at: None,
            }
        });
        assert_eq!(end, RunEnd::Done, "seed {seed}");
        assert!(
            sink.complete(),
            "seed {seed}: {} of {total}",
            sink.received()
        );
        assert!(
            closed_at_written.unwrap() > 0,
            "seed {seed}: nothing left to flush at close"
        );
        assert_eq!(
            simulation.left.state(),
            ConnectionState::Closed(CloseReason::LocalClose)
        );
        assert_eq!(
            simulation.right.state(),
            ConnectionState::Closed(CloseReason::PeerShutdown)
        );
        assert!(matches!(
            simulation.left.write(simulation.now, b"late"),
            Err(ConnectionError::Closed(CloseReason::LocalClose))
        ));
    }
}

#[test]
fn the_peer_keeps_delivering_buffered_data_after_shutdown_until_read() {
    let start = Instant::now();
    let left = connection_config(1, 2, DeliveryMode::Reliable, start);
    let right = connection_config(2, 1, DeliveryMode::Reliable, start);
    let mut simulation = Simulation::new(1, NetworkConfig::default(), left, right, start);
    let total = 100_000;
    let mut source = StreamSource::new(5, total);
    let mut closed = false;
    // The right application does not read until the left side has finished closing.
    let end = simulation.run(Duration::from_secs(10), |now, left, _| {
        source.pump(now, left);
        if source.finished() && !closed {
            left.close(now);
            closed = true;
        }
        AppStep {
            done: left.state() == ConnectionState::Closed(CloseReason::LocalClose),
            wake_at: None,
        }
    });
    assert_eq!(end, RunEnd::Done);
    // Let the Shutdown arrive.
    simulation.run(Duration::from_millis(100), |_, _, _| AppStep::default());
    assert_eq!(simulation.right.state(), ConnectionState::Closing);
    assert_eq!(simulation.right.readable_bytes(), total as usize);
    let mut sink = StreamSink::new(5, total);
    sink.pump(simulation.now, &mut simulation.right);
    assert!(sink.complete());
    assert_eq!(
        simulation.right.state(),
        ConnectionState::Closed(CloseReason::PeerShutdown)
    );
}
