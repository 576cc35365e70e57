//! Bonded groups under simulated time and loss: one connection over two or three paths
//! (broadcast and backup), members of different delay and loss, a member cut and restored, a
//! member added mid-stream. Every byte is checked in order; the longest pause in delivery is
//! measured and printed (`cargo test -p tmio-transport --test group_sim -- --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use srt_protocol::packet::SocketId;
use tmio_transport::sim::{
    connection_config, fill_content, AppStep, NetworkConfig, RunEnd, Simulation, StreamSink,
};
use tmio_transport::srt::connection::{
    CloseReason, Connection, ConnectionState, DeliveryMode, GroupMode, PathConfig, PathEvent,
    PathId, PathState,
};

/// 20 Mbit/s of 1316-byte writes: one write every 526 µs.
const WRITE: usize = 1316;
const WRITE_INTERVAL: Duration = Duration::from_micros(526);

/// Writes `total` bytes at a steady rate, one `WRITE` every `WRITE_INTERVAL`, as an encoder does.
struct PacedSource {
    seed: u64,
    total: u64,
    written: u64,
    next_at: Instant,
    /// The connection took nothing (its buffer is full, or it is closed): try again then.
    retry_at: Option<Instant>,
    buf: Vec<u8>,
}

impl PacedSource {
    fn new(seed: u64, total: u64, start: Instant) -> Self {
        Self {
            seed,
            total,
            written: 0,
            next_at: start,
            retry_at: None,
            buf: vec![0; WRITE],
        }
    }

    fn pump(&mut self, now: Instant, connection: &mut Connection) {
        self.retry_at = None;
        while self.written < self.total && self.next_at <= now {
            let len = WRITE.min((self.total - self.written) as usize);
            fill_content(self.seed, self.written, &mut self.buf[..len]);
            match connection.write(now, &self.buf[..len]) {
                Ok(taken) if taken > 0 => {
                    self.written += taken as u64;
                    self.next_at += WRITE_INTERVAL;
                }
                _ => {
                    self.retry_at = Some(now + Duration::from_millis(1));
                    break;
                }
            }
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        (self.written < self.total)
            .then_some(self.retry_at.unwrap_or(self.next_at).max(self.next_at))
    }
}

/// Delivery timing seen by the receiving application.
#[derive(Debug, Default)]
struct Gaps {
    last_progress: Option<Instant>,
    last_received: u64,
    longest: Duration,
    longest_at: Option<Duration>,
    /// Every pause over 20 ms: (start after the beginning, length).
    pauses: Vec<(Duration, Duration)>,
}

impl Gaps {
    /// The longest pause in delivery that started at `from` or within `window` after it (what a
    /// cut at `from` costs: packets already on their way still arrive after it).
    fn longest_starting(&self, from: Duration, window: Duration) -> Duration {
        self.pauses
            .iter()
            .filter(|(start, _)| *start >= from && *start <= from + window)
            .map(|(_, length)| *length)
            .max()
            .unwrap_or_default()
    }

    fn observe(&mut self, now: Instant, start: Instant, received: u64, total: u64) {
        if received > self.last_received {
            if let Some(last) = self.last_progress {
                let gap = now - last;
                if gap > Duration::from_millis(20) {
                    self.pauses.push((last - start, gap));
                }
                if gap > self.longest && received < total {
                    self.longest = gap;
                    self.longest_at = Some(last - start);
                }
            }
            self.last_progress = Some(now);
            self.last_received = received;
        }
    }
}

struct Outcome {
    end: RunEnd,
    received: u64,
    mismatch: Option<u64>,
    gaps: Gaps,
    events: Vec<(Duration, PathEvent)>,
    sent_per_path: Vec<(PathId, u64, PathState)>,
    left_state: ConnectionState,
}

/// A second (and third) path between the same two connections.
fn path(left_socket: u32, right_socket: u32, weight: u8) -> (PathConfig, PathConfig) {
    (
        PathConfig {
            local_socket_id: SocketId(left_socket),
            remote_socket_id: SocketId(right_socket),
            peer_flow_window: 25_600,
            weight,
        },
        PathConfig {
            local_socket_id: SocketId(right_socket),
            remote_socket_id: SocketId(left_socket),
            peer_flow_window: 25_600,
            weight,
        },
    )
}

/// What happens to the paths during a run, at simulated times after the start.
enum Action {
    SetNetwork(PathId, NetworkConfig),
    AddPath(NetworkConfig, u8),
}

struct Scenario {
    seed: u64,
    mode: GroupMode,
    delivery: DeliveryMode,
    /// Path 0's network, then each further path's network and weight.
    first: NetworkConfig,
    first_weight: u8,
    more: Vec<(NetworkConfig, u8)>,
    actions: Vec<(Duration, Action)>,
    total: u64,
    limit: Duration,
}

fn network(delay_ms: u64, loss: f64) -> NetworkConfig {
    NetworkConfig {
        delay: Duration::from_millis(delay_ms),
        loss,
        ..NetworkConfig::default()
    }
}

fn cut() -> NetworkConfig {
    NetworkConfig {
        loss: 1.0,
        ..NetworkConfig::default()
    }
}

fn run(scenario: Scenario) -> Outcome {
    let start = Instant::now();
    let left = connection_config(0x1111, 0x2222, scenario.delivery, start);
    let right = connection_config(0x2222, 0x1111, scenario.delivery, start);
    let mut simulation = Simulation::new(scenario.seed, scenario.first, left, right, start);
    let mut next_socket = 0x3000;
    for (network, weight) in scenario.more {
        let (left, right) = path(next_socket, next_socket + 1, weight);
        next_socket += 2;
        simulation.add_path(network, left, right);
    }
    for connection in [&mut simulation.left, &mut simulation.right] {
        connection.set_path_weight(start, PathId::FIRST, scenario.first_weight);
        connection.set_group_mode(start, scenario.mode);
    }
    let mut source = PacedSource::new(scenario.seed, scenario.total, start);
    let mut sink = StreamSink::new(scenario.seed, scenario.total);
    let mut gaps = Gaps::default();
    let mut events = Vec::new();
    let mut actions = scenario.actions;
    actions.sort_by_key(|(at, _)| *at);
    let mut actions = actions.into_iter().peekable();
    let mut pending: Vec<Action> = Vec::new();
    let total = scenario.total;
    // Actions need the simulation itself: run in slices between them.
    let deadline = start + scenario.limit;
    let end = loop {
        let slice_end = actions
            .peek()
            .map_or(deadline, |(at, _)| (start + *at).min(deadline));
        let end = simulation.run(
            slice_end.saturating_duration_since(simulation.now),
            |now, left, right| {
                source.pump(now, left);
                sink.pump(now, right);
                gaps.observe(now, start, sink.received(), total);
                while let Some(event) = left.poll_event() {
                    events.push((now - start, event));
                }
                AppStep {
                    done: sink.received() >= total,
                    wake_at: source.wake_at(),
                }
            },
        );
        if end != RunEnd::TimeLimit || simulation.now >= deadline {
            break end;
        }
        while actions
            .peek()
            .is_some_and(|(at, _)| start + *at <= simulation.now)
        {
            if let Some((_, action)) = actions.next() {
                pending.push(action);
            }
        }
        for action in pending.drain(..) {
            match action {
                Action::SetNetwork(path, network) => {
                    assert!(simulation.set_path_network(path, network));
                }
                Action::AddPath(network, weight) => {
                    let (left, right) = path(next_socket, next_socket + 1, weight);
                    next_socket += 2;
                    simulation.add_path(network, left, right);
                }
            }
        }
    };
    while let Some(event) = simulation.left.poll_event() {
        events.push((simulation.now - start, event));
    }
    let sent_per_path = simulation
        .left
        .path_stats(simulation.now)
        .into_iter()
        .map(|stats| (stats.path, stats.packets_sent, stats.state))
        .collect();
    Outcome {
        end,
        received: sink.received(),
        mismatch: sink.first_mismatch(),
        gaps,
        events,
        sent_per_path,
        left_state: simulation.left.state(),
    }
}

fn assert_complete(name: &str, seed: u64, outcome: &Outcome, total: u64) {
    assert_eq!(
        (outcome.end, outcome.received, outcome.mismatch),
        (RunEnd::Done, total, None),
        "{name} seed {seed}: events {:?}, per path {:?}",
        outcome.events,
        outcome.sent_per_path
    );
}

const SEEDS: std::ops::Range<u64> = 1..9;
/// 2 MB: 0.8 s at 20 Mbit/s.
const TOTAL: u64 = 2_000_000;

#[test]
fn broadcast_over_paths_of_different_delay_and_loss_delivers_every_byte() {
    let mut longest = Duration::ZERO;
    for seed in SEEDS {
        let outcome = run(Scenario {
            seed,
            mode: GroupMode::Broadcast,
            delivery: DeliveryMode::Reliable,
            first: network(5, 0.05),
            first_weight: 0,
            more: vec![(network(40, 0.10), 0), (network(20, 0.02), 0)],
            actions: vec![],
            total: TOTAL,
            limit: Duration::from_secs(30),
        });
        assert_complete("broadcast 3 paths", seed, &outcome, TOTAL);
        // Every path carried the stream (a lagging path skips what another path got
        // acknowledged first, so slightly less than every packet).
        for (path, sent, state) in &outcome.sent_per_path {
            assert!(
                *sent as usize >= TOTAL as usize / WRITE * 9 / 10,
                "{path} sent {sent} ({state:?})"
            );
        }
        longest = longest.max(outcome.gaps.longest);
    }
    println!("broadcast, 3 lossy paths (5/40/20 ms, 5/10/2 %): longest delivery gap {longest:?}");
}

#[test]
fn broadcast_member_cut_mid_stream_loses_nothing_and_stalls_nothing() {
    let mut longest = Duration::ZERO;
    for seed in SEEDS {
        let outcome = run(Scenario {
            seed,
            mode: GroupMode::Broadcast,
            delivery: DeliveryMode::Reliable,
            first: network(5, 0.0),
            first_weight: 0,
            more: vec![(network(30, 0.0), 0)],
            actions: vec![
                (
                    Duration::from_millis(300),
                    Action::SetNetwork(PathId::FIRST, cut()),
                ),
                (
                    Duration::from_millis(600),
                    Action::SetNetwork(PathId::FIRST, network(5, 0.0)),
                ),
            ],
            total: TOTAL,
            limit: Duration::from_secs(30),
        });
        assert_complete("broadcast cut", seed, &outcome, TOTAL);
        longest = longest.max(outcome.gaps.longest);
        // The fast path's loss costs at most the slow path's extra delay, not a recovery.
        assert!(
            outcome.gaps.longest < Duration::from_millis(100),
            "seed {seed}: gap {:?} at {:?}",
            outcome.gaps.longest,
            outcome.gaps.longest_at
        );
    }
    println!(
        "broadcast, 5 ms path cut for 300 ms beside a 30 ms path: longest delivery gap {longest:?}"
    );
}

#[test]
fn broadcast_member_added_mid_stream_then_first_cut_for_good() {
    let mut longest = Duration::ZERO;
    for seed in SEEDS {
        let outcome = run(Scenario {
            seed,
            mode: GroupMode::Broadcast,
            delivery: DeliveryMode::Reliable,
            first: network(10, 0.01),
            first_weight: 0,
            more: vec![],
            actions: vec![
                (
                    Duration::from_millis(200),
                    Action::AddPath(network(15, 0.01), 0),
                ),
                (
                    Duration::from_millis(400),
                    Action::SetNetwork(PathId::FIRST, cut()),
                ),
            ],
            total: TOTAL,
            limit: Duration::from_secs(30),
        });
        assert_complete("broadcast added", seed, &outcome, TOTAL);
        assert!(outcome
            .events
            .iter()
            .any(|(_, event)| *event == PathEvent::Added(PathId(1))));
        longest = longest.max(outcome.gaps.longest);
    }
    println!(
        "broadcast, member added at 200 ms, first cut at 400 ms: longest delivery gap {longest:?}"
    );
}

#[test]
fn backup_fails_over_when_the_active_member_is_cut_and_returns_when_it_is_back() {
    let mut longest = Duration::ZERO;
    let mut failover_worst = Duration::ZERO;
    let mut switch_worst = Duration::ZERO;
    for seed in SEEDS {
        let outcome = run(Scenario {
            seed,
            mode: GroupMode::Backup,
            delivery: DeliveryMode::Reliable,
            first: network(10, 0.01),
            first_weight: 100,
            more: vec![(network(25, 0.01), 10)],
            actions: vec![
                (
                    Duration::from_millis(250),
                    Action::SetNetwork(PathId::FIRST, cut()),
                ),
                (
                    Duration::from_millis(500),
                    Action::SetNetwork(PathId::FIRST, network(10, 0.01)),
                ),
            ],
            total: 6 * TOTAL,
            limit: Duration::from_secs(60),
        });
        assert_complete("backup failover", seed, &outcome, 6 * TOTAL);
        let events: Vec<&PathEvent> = outcome.events.iter().map(|(_, event)| event).collect();
        let unstable_at = outcome
            .events
            .iter()
            .find(|(_, event)| matches!(event, PathEvent::Unstable { path, .. } if *path == PathId::FIRST))
            .map(|(at, _)| *at)
            .unwrap_or_else(|| panic!("seed {seed}: no Unstable event: {events:?}"));
        assert!(
            outcome
                .events
                .iter()
                .any(|(at, event)| *at >= unstable_at && *event == PathEvent::Activated(PathId(1))),
            "seed {seed}: {events:?}"
        );
        // The preferred path takes the data back once it has been stable for a while.
        assert!(
            outcome
                .events
                .iter()
                .any(|(at, event)| *at > unstable_at
                    && *event == PathEvent::Activated(PathId::FIRST)),
            "seed {seed}: no switch back: {events:?}"
        );
        // Path 1 carried data only from the cut until the switch back.
        let sent: Vec<u64> = outcome
            .sent_per_path
            .iter()
            .map(|(_, sent, _)| *sent)
            .collect();
        assert!(sent[0] > sent[1], "seed {seed}: {sent:?}");
        let failover = outcome
            .gaps
            .longest_starting(Duration::from_millis(250), Duration::from_millis(50));
        failover_worst = failover_worst.max(failover);
        switch_worst = switch_worst.max(unstable_at - Duration::from_millis(250));
        longest = longest.max(outcome.gaps.longest);
    }
    println!(
        "backup, active 10 ms path (1 % loss) cut at 250 ms, backup path 25 ms: switched \
         {switch_worst:?} after the cut at most; failover gap {failover_worst:?} at most (from the \
         last delivery before the cut; bound 2 x the backup path's RTT + 60 ms = 160 ms); longest \
         pause {longest:?} (1 % loss repairs included)"
    );
    // 60 ms of silence (libsrt's minimum stability timeout) after the last ACK, then one way
    // over the backup path: 2 × its RTT + 60 ms bounds it.
    assert!(
        failover_worst <= Duration::from_millis(160),
        "failover gap {failover_worst:?}"
    );
}

#[test]
fn backup_idle_member_carries_nothing_until_needed() {
    let outcome = run(Scenario {
        seed: 3,
        mode: GroupMode::Backup,
        delivery: DeliveryMode::Reliable,
        first: network(10, 0.02),
        first_weight: 50,
        more: vec![(network(10, 0.0), 40)],
        actions: vec![],
        total: TOTAL,
        limit: Duration::from_secs(30),
    });
    assert_complete("backup idle", 3, &outcome, TOTAL);
    let sent: Vec<u64> = outcome
        .sent_per_path
        .iter()
        .map(|(_, sent, _)| *sent)
        .collect();
    assert_eq!(sent[1], 0, "{sent:?} {:?}", outcome.events);
    assert!(
        !outcome
            .events
            .iter()
            .any(|(_, event)| matches!(event, PathEvent::Unstable { .. })),
        "2 % loss alone is no reason to switch: {:?}",
        outcome.events
    );
}

#[test]
fn live_broadcast_survives_a_cut_member_without_drops() {
    let delivery = DeliveryMode::Live {
        recv_latency: Duration::from_millis(120),
        send_latency: Duration::from_millis(120),
        too_late_drop: true,
    };
    for seed in SEEDS {
        let outcome = run(Scenario {
            seed,
            mode: GroupMode::Broadcast,
            delivery,
            first: network(10, 0.02),
            first_weight: 0,
            more: vec![(network(20, 0.02), 0)],
            actions: vec![(
                Duration::from_millis(300),
                Action::SetNetwork(PathId(1), cut()),
            )],
            total: TOTAL,
            limit: Duration::from_secs(30),
        });
        assert_complete("live broadcast", seed, &outcome, TOTAL);
    }
}

#[test]
fn every_member_broken_closes_the_connection() {
    let outcome = run(Scenario {
        seed: 5,
        mode: GroupMode::Broadcast,
        delivery: DeliveryMode::Reliable,
        first: network(10, 0.0),
        first_weight: 0,
        more: vec![(network(10, 0.0), 0)],
        actions: vec![
            (
                Duration::from_millis(100),
                Action::SetNetwork(PathId::FIRST, cut()),
            ),
            (
                Duration::from_millis(100),
                Action::SetNetwork(PathId(1), cut()),
            ),
        ],
        total: 100 * TOTAL,
        limit: Duration::from_secs(20),
    });
    let broken: Vec<PathId> = outcome
        .events
        .iter()
        .filter_map(|(_, event)| match event {
            PathEvent::Broken { path, .. } => Some(*path),
            _ => None,
        })
        .collect();
    assert_eq!(
        broken,
        vec![PathId::FIRST, PathId(1)],
        "{:?}",
        outcome.events
    );
    assert!(
        matches!(
            outcome.left_state,
            ConnectionState::Closed(CloseReason::PeerIdle(_))
        ),
        "{:?}",
        outcome.left_state
    );
    assert!(outcome.received < 100 * TOTAL);
}
