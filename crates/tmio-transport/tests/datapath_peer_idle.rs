//! Silence from the peer for `peer_idle_timeout` ends the connection with `PeerIdle`; keepalives keep
//! an idle but alive connection open.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use tmio_transport::sim::{connection_config, AppStep, NetworkConfig, RunEnd, Simulation};
use tmio_transport::srt::connection::{CloseReason, Connection, ConnectionState, DeliveryMode};

#[test]
fn a_silent_peer_closes_the_connection_after_the_idle_timeout() {
    let start = Instant::now();
    let config = connection_config(1, 2, DeliveryMode::Reliable, start);
    let mut connection = Connection::new(config, start);
    connection.write(start, b"into the void").unwrap();
    let mut now = start;
    let mut keepalives_or_data = 0;
    while let Some(deadline) = connection.poll_timeout() {
        now = deadline;
        connection.handle_timeout(now);
        while connection
            .poll_transmit(now)
            .map(|transmit| transmit.packet)
            .is_some()
        {
            keepalives_or_data += 1;
        }
        assert!(now < start + Duration::from_secs(6), "never timed out");
    }
    let ConnectionState::Closed(reason) = connection.state() else {
        panic!("not closed: {:?}", connection.state());
    };
    assert_eq!(reason, CloseReason::PeerIdle(Duration::from_secs(5)));
    assert_eq!(reason.to_string(), "peer idle for 5 s");
    assert_eq!(now - start, Duration::from_secs(5));
    assert!(keepalives_or_data > 1);
    assert!(connection.write(now, b"more").is_err());
}

#[test]
fn keepalives_hold_an_idle_connection_open() {
    let start = Instant::now();
    let left = connection_config(1, 2, DeliveryMode::Reliable, start);
    let right = connection_config(2, 1, DeliveryMode::Reliable, start);
    let mut simulation = Simulation::new(1, NetworkConfig::default(), left, right, start);
    let end = simulation.run(Duration::from_secs(30), |_, _, _| AppStep::default());
    assert_eq!(end, RunEnd::TimeLimit);
    assert_eq!(simulation.left.state(), ConnectionState::Open);
    assert_eq!(simulation.right.state(), ConnectionState::Open);
    // About one keepalive a second each way, nothing more.
    let sent = simulation.to_right.counters.sent;
    assert!((25..=35).contains(&sent), "{sent} packets in 30 s");
}

#[test]
fn a_blackout_longer_than_the_idle_timeout_closes_both_sides() {
    let start = Instant::now();
    let left = connection_config(1, 2, DeliveryMode::Reliable, start);
    let right = connection_config(2, 1, DeliveryMode::Reliable, start);
    let network = NetworkConfig {
        blackout: Some((Duration::from_secs(1), Duration::from_secs(60))),
        ..NetworkConfig::default()
    };
    let mut simulation = Simulation::new(1, network, left, right, start);
    let end = simulation.run(Duration::from_secs(30), |now, left, _| {
        let _ = left.write(now, &[1; 1000]);
        AppStep {
            done: false,
            wake_at: Some(now + Duration::from_millis(100)),
        }
    });
    assert_eq!(end, RunEnd::TimeLimit);
    for connection in [&simulation.left, &simulation.right] {
        assert!(
            matches!(connection.state(), ConnectionState::Closed(CloseReason::PeerIdle(idle)) if idle >= Duration::from_secs(5)),
            "{:?}",
            connection.state()
        );
    }
}
