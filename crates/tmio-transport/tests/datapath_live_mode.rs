//! Live mode: TSBPD delivers each message at its timestamp + latency (the first packet setting the
//! time base), keeps message boundaries, and with too-late drop gives up on late packets (receiver
//! skips, sender drops and sends DropRequest); without it nothing is lost.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use tmio_transport::sim::{connection_config, AppStep, NetworkConfig, Simulation};
use tmio_transport::srt::connection::DeliveryMode;

const MESSAGE: usize = 1316;
const INTERVAL: Duration = Duration::from_millis(2);

struct LiveRun {
    written: Vec<Instant>,
    delivered: Vec<(u64, Instant)>,
    simulation: Simulation,
}

fn live_run(
    seed: u64,
    network: NetworkConfig,
    latency: Duration,
    too_late_drop: bool,
    messages: u64,
) -> LiveRun {
    let start = Instant::now();
    let delivery = DeliveryMode::Live {
        recv_latency: latency,
        send_latency: latency,
        too_late_drop,
    };
    let left = connection_config(1, 2, delivery, start);
    let right = connection_config(2, 1, delivery, start);
    let mut simulation = Simulation::new(seed, network, left, right, start);
    let mut written = Vec::new();
    let mut delivered = Vec::new();
    let mut buf = vec![0u8; 4 * MESSAGE];
    let mut next_write = start;
    simulation.run(Duration::from_secs(30), |now, left, right| {
        while written.len() < messages as usize && next_write <= now {
            let mut message = vec![0x5A; MESSAGE];
            message[..8].copy_from_slice(&(written.len() as u64).to_le_bytes());
            assert_eq!(left.write(now, &message).unwrap(), MESSAGE);
            written.push(now);
            next_write += INTERVAL;
        }
        loop {
            let read = right.read(now, &mut buf);
            if read == 0 {
                break;
            }
            assert_eq!(read, MESSAGE, "one read, one whole message");
            let index = u64::from_le_bytes(buf[..8].try_into().unwrap());
            delivered.push((index, now));
        }
        let finished =
            written.len() as u64 == messages && now > next_write + Duration::from_secs(3);
        AppStep {
            done: finished,
            wake_at: Some(if written.len() < messages as usize {
                next_write
            } else {
                next_write + Duration::from_secs(3)
            }),
        }
    });
    LiveRun {
        written,
        delivered,
        simulation,
    }
}

#[test]
fn tsbpd_delivers_every_message_at_timestamp_plus_latency() {
    let network = NetworkConfig {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        ..NetworkConfig::default()
    };
    let latency = Duration::from_millis(120);
    let run = live_run(1, network, latency, true, 1000);
    assert_eq!(run.delivered.len(), 1000);
    let offsets: Vec<Duration> = run
        .delivered
        .iter()
        .enumerate()
        .map(|(position, &(index, at))| {
            assert_eq!(index, position as u64, "in order");
            at - run.written[index as usize]
        })
        .collect();
    // The first packet's transit (20-25 ms) plus the latency, the same for every message.
    let first = offsets[0];
    assert!(
        first >= latency + Duration::from_millis(20)
            && first <= latency + Duration::from_millis(26),
        "{first:?}"
    );
    for offset in &offsets {
        assert!(
            offset.abs_diff(first) <= Duration::from_millis(1),
            "{offset:?} vs {first:?}"
        );
    }
}

#[test]
fn too_late_drop_skips_late_packets_and_keeps_the_schedule() {
    let network = NetworkConfig {
        loss: 0.2,
        delay: Duration::from_millis(20),
        ..NetworkConfig::default()
    };
    let latency = Duration::from_millis(40);
    let run = live_run(2, network, latency, true, 1000);
    let stats = run.simulation.right.stats(run.simulation.now);
    let dropped = stats.packets_receive_dropped;
    assert!(dropped > 0, "{stats:?}");
    assert_eq!(run.delivered.len() as u64 + dropped, 1000, "{stats:?}");
    let first = run.delivered[0].1 - run.written[run.delivered[0].0 as usize];
    for pair in run.delivered.windows(2) {
        assert!(pair[0].0 < pair[1].0, "in order, no repeats");
    }
    // Never early; a packet that missed its own play time may still go out until the next packet
    // received is due (then it would have been dropped), as in libsrt.
    let mut late = 0;
    let play = |index: u64| run.written[index as usize] + first;
    for (position, &(index, at)) in run.delivered.iter().enumerate() {
        assert!(
            at + Duration::from_millis(1) >= play(index),
            "message {index} early"
        );
        if at > play(index) + Duration::from_millis(1) {
            late += 1;
            // The next message delivered on time was the first one received after the hole.
            let next_on_time = run.delivered[position + 1..]
                .iter()
                .find(|&&(next, next_at)| next_at <= play(next) + Duration::from_millis(1));
            if let Some(&(next, _)) = next_on_time {
                assert!(
                    at <= play(next) + Duration::from_millis(1),
                    "message {index} too late"
                );
            }
        }
    }
    assert!(
        late > 0 && late < run.delivered.len(),
        "{late} late deliveries"
    );
}

#[test]
fn without_too_late_drop_nothing_is_lost() {
    let network = NetworkConfig {
        loss: 0.2,
        delay: Duration::from_millis(20),
        ..NetworkConfig::default()
    };
    let run = live_run(2, network, Duration::from_millis(40), false, 1000);
    let stats = run.simulation.right.stats(run.simulation.now);
    assert_eq!(stats.packets_receive_dropped, 0);
    let indexes: Vec<u64> = run.delivered.iter().map(|&(index, _)| index).collect();
    assert_eq!(indexes, (0..1000).collect::<Vec<u64>>());
}

#[test]
fn the_sender_drops_what_an_outage_made_too_late_and_tells_the_receiver() {
    let network = NetworkConfig {
        delay: Duration::from_millis(10),
        blackout: Some((Duration::from_millis(500), Duration::from_secs(3))),
        ..NetworkConfig::default()
    };
    let run = live_run(3, network, Duration::from_millis(120), true, 2500);
    let sender = run.simulation.left.stats(run.simulation.now);
    let receiver = run.simulation.right.stats(run.simulation.now);
    assert!(sender.packets_send_dropped > 0, "{sender:?}");
    // Everything written after the outage arrives, in order.
    let last = run.delivered.last().unwrap().0;
    assert_eq!(last, 2499);
    for pair in run.delivered.windows(2) {
        assert!(pair[0].0 < pair[1].0);
    }
    assert_eq!(
        run.delivered.len() as u64 + receiver.packets_receive_dropped,
        2500,
        "sender {sender:?}\nreceiver {receiver:?}"
    );
}

/// A live stream closed while the peer hears nothing: after its grace, the close gives up the
/// unacknowledged tail (counted as dropped, announced with a DropRequest) and ends cleanly with
/// Shutdown; reliable mode never gives data up.
#[test]
fn live_close_gives_up_the_tail_and_ends_cleanly() {
    use tmio_transport::sim::connection_config;
    use tmio_transport::srt::connection::{CloseReason, Connection, ConnectionState};
    let start = Instant::now();
    let delivery = DeliveryMode::Live {
        recv_latency: Duration::from_millis(200),
        send_latency: Duration::from_millis(200),
        too_late_drop: true,
    };
    let mut live = Connection::new(connection_config(1, 2, delivery, start), start);
    assert!(live.close_grace() >= Duration::from_secs(1));
    for _ in 0..4 {
        assert_eq!(live.write(start, &[7u8; MESSAGE]).unwrap(), MESSAGE);
    }
    // Everything is sent into the void.
    while live
        .poll_transmit(start)
        .map(|transmit| transmit.packet)
        .is_some()
    {}
    live.close(start);
    assert_eq!(live.state(), ConnectionState::Closing);
    let later = start + Duration::from_millis(100);
    let dropped = live.abandon_unacknowledged(later);
    assert_eq!(dropped, 4);
    assert_eq!(live.stats(later).packets_send_dropped, 4);
    let mut sent = Vec::new();
    while let Some(packet) = live.poll_transmit(later).map(|transmit| transmit.packet) {
        sent.push(format!("{packet:?}"));
    }
    assert!(sent.iter().any(|p| p.contains("DropReq")), "{sent:?}");
    assert!(sent.iter().any(|p| p.contains("Shutdown")), "{sent:?}");
    assert_eq!(
        live.state(),
        ConnectionState::Closed(CloseReason::LocalClose)
    );

    let mut reliable = Connection::new(
        connection_config(1, 2, DeliveryMode::Reliable, start),
        start,
    );
    assert_eq!(reliable.close_grace(), Duration::ZERO);
    reliable.write(start, &[7u8; MESSAGE]).unwrap();
    while reliable
        .poll_transmit(start)
        .map(|transmit| transmit.packet)
        .is_some()
    {}
    reliable.close(start);
    assert_eq!(reliable.abandon_unacknowledged(later), 0);
    assert_eq!(reliable.state(), ConnectionState::Closing);
}
