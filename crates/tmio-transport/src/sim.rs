//! A seeded simulated network and clock for testing the sans-IO data path.
//!
//! Two [`Connection`]s are joined by two one-way [`SimulatedLink`]s that lose, delay, jitter, reorder,
//! duplicate and rate-limit packets and can black out completely for a while. Every packet is
//! serialised and parsed again with srt-protocol's codec on the way, so what crosses the simulated
//! wire is exactly what would cross a real one. Time is simulated: [`Simulation::run`] jumps from one
//! event (a packet arrival, a connection deadline, an application wake-up) to the next, so minutes of
//! network time take milliseconds, and a run is fully determined by its seed.
//!
//! ```
//! use std::time::Duration;
//! use tmio_transport::sim::{transfer, NetworkConfig};
//!
//! let report = transfer(7, NetworkConfig { loss: 0.05, ..NetworkConfig::default() }, 200_000, 100_000,
//!     Duration::from_secs(60));
//! assert!(report.complete(), "{report:?}");
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use srt_protocol::packet::{Packet, SeqNumber, SocketId};

use crate::srt::connection::{
    Connection, ConnectionConfig, ConnectionState, ConnectionStats, DeliveryMode, PathConfig,
    PathId, RateControl,
};

/// What a simulated link does to packets (the same in both directions).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Probability that a packet is lost.
    pub loss: f64,
    /// One-way base delay.
    pub delay: Duration,
    /// Extra delay, uniform in `0..jitter`, per packet (reorders packets closer than it).
    pub jitter: Duration,
    /// Probability that a packet is held back by an extra `0..=2 × (delay + jitter) + 1 ms`.
    pub reorder: f64,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Bottleneck rate in bytes/s (`None` = unlimited).
    pub rate: Option<u64>,
    /// Drop-tail queue in front of the bottleneck, bytes.
    pub queue_bytes: usize,
    /// A complete outage `(start after, length)` in both directions.
    pub blackout: Option<(Duration, Duration)>,
}

impl Default for NetworkConfig {
    /// A clean 10 ms path with no limits.
    fn default() -> Self {
        Self {
            loss: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            reorder: 0.0,
            duplicate: 0.0,
            rate: None,
            queue_bytes: 1 << 20,
            blackout: None,
        }
    }
}

/// Counters of one link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounters {
    /// Packets handed to the link.
    pub sent: u64,
    /// Packets dropped by random loss.
    pub lost: u64,
    /// Packets dropped by the blackout.
    pub blacked_out: u64,
    /// Packets dropped because the bottleneck queue was full.
    pub queue_drops: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Packets delivered (including copies).
    pub delivered: u64,
}

/// One direction of the simulated network.
#[derive(Debug)]
pub struct SimulatedLink {
    config: NetworkConfig,
    start: Instant,
    rng: StdRng,
    in_flight: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    packets: Vec<Option<Packet>>,
    free_slots: Vec<usize>,
    sequence: u64,
    bottleneck_free_at: Instant,
    /// What happened to packets so far.
    pub counters: LinkCounters,
}

impl SimulatedLink {
    /// A link created at `start` with its own random stream.
    pub fn new(config: NetworkConfig, start: Instant, seed: u64) -> Self {
        Self {
            config,
            start,
            rng: StdRng::seed_from_u64(seed),
            in_flight: BinaryHeap::new(),
            packets: Vec::new(),
            free_slots: Vec::new(),
            sequence: 0,
            bottleneck_free_at: start,
            counters: LinkCounters::default(),
        }
    }

    /// Changes what the link does from now on (packets already on their way keep their fate).
    pub fn set_config(&mut self, config: NetworkConfig) {
        self.config = config;
    }

    /// What the link does.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    fn in_blackout(&self, now: Instant) -> bool {
        self.config.blackout.is_some_and(|(after, length)| {
            let elapsed = now.saturating_duration_since(self.start);
            elapsed >= after && elapsed < after + length
        })
    }

    /// Puts a packet on the link at `now`.
    pub fn send(&mut self, now: Instant, packet: &Packet) {
        self.counters.sent += 1;
        // Through the real codec, as a datagram would go.
        let mut wire = BytesMut::with_capacity(packet.wire_size());
        packet.serialize(&mut wire);
        let size = wire.len() + 28;
        let mut wire = wire.freeze();
        let Ok(parsed) = Packet::parse(&mut wire, false) else {
            return;
        };
        if self.in_blackout(now) {
            self.counters.blacked_out += 1;
            return;
        }
        if self.rng.gen_bool(self.config.loss.clamp(0.0, 1.0)) {
            self.counters.lost += 1;
            return;
        }
        let mut departure = now;
        if let Some(rate) = self.config.rate.filter(|rate| *rate > 0) {
            let start = self.bottleneck_free_at.max(now);
            let queued = start.saturating_duration_since(now).as_secs_f64() * rate as f64;
            if queued > self.config.queue_bytes as f64 {
                self.counters.queue_drops += 1;
                return;
            }
            self.bottleneck_free_at = start + Duration::from_secs_f64(size as f64 / rate as f64);
            departure = self.bottleneck_free_at;
        }
        let copies = if self.rng.gen_bool(self.config.duplicate.clamp(0.0, 1.0)) {
            self.counters.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut arrival = departure + self.config.delay + self.random_upto(self.config.jitter);
            if self.rng.gen_bool(self.config.reorder.clamp(0.0, 1.0)) {
                let hold = 2 * (self.config.delay + self.config.jitter) + Duration::from_millis(1);
                arrival += self.random_upto(hold);
            }
            self.schedule(arrival, parsed.clone());
        }
    }

    fn random_upto(&mut self, limit: Duration) -> Duration {
        if limit.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(
                self.rng
                    .gen_range(0..limit.as_nanos().min(u128::from(u64::MAX)) as u64),
            )
        }
    }

    fn schedule(&mut self, arrival: Instant, packet: Packet) {
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.packets[slot] = Some(packet);
                slot
            }
            None => {
                self.packets.push(Some(packet));
                self.packets.len() - 1
            }
        };
        self.sequence += 1;
        self.in_flight.push(Reverse((arrival, self.sequence, slot)));
    }

    /// When the next packet arrives.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The next packet that has arrived by `now`.
    pub fn receive(&mut self, now: Instant) -> Option<Packet> {
        let Reverse((at, _, _)) = self.in_flight.peek()?;
        if *at > now {
            return None;
        }
        let Reverse((_, _, slot)) = self.in_flight.pop()?;
        self.free_slots.push(slot);
        self.counters.delivered += 1;
        self.packets.get_mut(slot).and_then(Option::take)
    }
}

/// What the application callback tells the simulation after each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppStep {
    /// Stop the run.
    pub done: bool,
    /// Call the application again at this time even if nothing else happens.
    pub wake_at: Option<Instant>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The application said it was done.
    Done,
    /// The time limit was reached.
    TimeLimit,
    /// Nothing could happen any more (no deadlines, no packets in flight).
    Stalled,
}

/// Two connections, two links and a simulated clock.
#[derive(Debug)]
pub struct Simulation {
    /// The simulated time.
    pub now: Instant,
    /// When the simulation started.
    pub start: Instant,
    /// The left endpoint (sends over `to_right`).
    pub left: Connection,
    /// The right endpoint (sends over `to_left`).
    pub right: Connection,
    /// Left-to-right link of the first path.
    pub to_right: SimulatedLink,
    /// Right-to-left link of the first path.
    pub to_left: SimulatedLink,
    /// The links of the paths added with [`Simulation::add_path`]: `(to right, to left)`, for
    /// paths 1, 2, … (the same path id on both sides).
    pub more_links: Vec<(SimulatedLink, SimulatedLink)>,
    seed: u64,
    /// Times the loop found a deadline in the past that did not make progress (a busy loop a real
    /// driver would spin in); tests expect 0.
    pub spins: u64,
    /// Loop iterations.
    pub steps: u64,
}

/// A standard configuration for endpoint `local` talking to `remote` (socket ids) in `delivery`.
pub fn connection_config(
    local: u32,
    remote: u32,
    delivery: DeliveryMode,
    start: Instant,
) -> ConnectionConfig {
    ConnectionConfig {
        local_socket_id: SocketId(local),
        remote_socket_id: SocketId(remote),
        initial_sequence_number: SeqNumber::new_truncate((1 << 31) - 500),
        start_time: start,
        delivery,
        payload_size: 1456,
        send_buffer_bytes: 2 << 20,
        recv_buffer_bytes: 2 << 20,
        peer_flow_window: 25600,
        rate_control: RateControl::UNCAPPED,
        peer_idle_timeout: Duration::from_secs(5),
        cipher: None,
    }
}

impl Simulation {
    /// Joins two connections (already configured to talk to each other) over `network`.
    pub fn new(
        seed: u64,
        network: NetworkConfig,
        left: ConnectionConfig,
        right: ConnectionConfig,
        start: Instant,
    ) -> Self {
        Self {
            now: start,
            start,
            left: Connection::new(left, start),
            right: Connection::new(right, start),
            to_right: SimulatedLink::new(
                network.clone(),
                start,
                seed.wrapping_mul(2).wrapping_add(1),
            ),
            to_left: SimulatedLink::new(network, start, seed.wrapping_mul(2).wrapping_add(2)),
            more_links: Vec::new(),
            seed,
            spins: 0,
            steps: 0,
        }
    }

    /// Adds a path to both connections over its own pair of links with `network`, now. The
    /// paths get the same id on both sides (returned); `left` and `right` name the socket ids
    /// (each side's `local_socket_id` is the other's `remote_socket_id`).
    pub fn add_path(
        &mut self,
        network: NetworkConfig,
        left: PathConfig,
        right: PathConfig,
    ) -> PathId {
        let now = self.now;
        let left_id = self.left.add_path(now, left);
        let right_id = self.right.add_path(now, right);
        debug_assert_eq!(left_id, right_id);
        let index = self.more_links.len() as u64 + 1;
        let seed = self.seed.wrapping_mul(2).wrapping_add(index * 1000);
        self.more_links.push((
            SimulatedLink::new(network.clone(), now, seed.wrapping_add(1)),
            SimulatedLink::new(network, now, seed.wrapping_add(2)),
        ));
        left_id
    }

    /// The links of `path`: `(to right, to left)`.
    pub fn links_mut(&mut self, path: PathId) -> Option<(&mut SimulatedLink, &mut SimulatedLink)> {
        match path.0 {
            0 => Some((&mut self.to_right, &mut self.to_left)),
            n => self
                .more_links
                .get_mut(n as usize - 1)
                .map(|(to_right, to_left)| (to_right, to_left)),
        }
    }

    /// Sets what both links of `path` do from now on (a cut: `loss: 1.0`).
    pub fn set_path_network(&mut self, path: PathId, network: NetworkConfig) -> bool {
        match self.links_mut(path) {
            Some((to_right, to_left)) => {
                to_right.set_config(network.clone());
                to_left.set_config(network);
                true
            }
            None => false,
        }
    }

    /// Runs until the application is done, `limit` of simulated time has passed, or nothing can
    /// happen any more. `app` is called after every event with the time and both connections.
    pub fn run<F>(&mut self, limit: Duration, mut app: F) -> RunEnd
    where
        F: FnMut(Instant, &mut Connection, &mut Connection) -> AppStep,
    {
        let deadline = self.now + limit;
        let mut last_now = None;
        let mut same_time_steps = 0u32;
        loop {
            self.steps += 1;
            let now = self.now;
            for index in 0..=self.more_links.len() {
                let path = PathId(index as u32);
                let (to_right, to_left) = match index {
                    0 => (&mut self.to_right, &mut self.to_left),
                    n => {
                        let (to_right, to_left) = &mut self.more_links[n - 1];
                        (to_right, to_left)
                    }
                };
                while let Some(packet) = to_right.receive(now) {
                    self.right.handle_packet(now, path, packet);
                }
                while let Some(packet) = to_left.receive(now) {
                    self.left.handle_packet(now, path, packet);
                }
            }
            for connection in [&mut self.left, &mut self.right] {
                if connection.poll_timeout().is_some_and(|at| at <= now) {
                    connection.handle_timeout(now);
                }
            }
            let step = app(now, &mut self.left, &mut self.right);
            while let Some(transmit) = self.left.poll_transmit(now) {
                if let Some((to_right, _)) = self.links_mut(transmit.path) {
                    to_right.send(now, &transmit.packet);
                }
            }
            while let Some(transmit) = self.right.poll_transmit(now) {
                if let Some((_, to_left)) = self.links_mut(transmit.path) {
                    to_left.send(now, &transmit.packet);
                }
            }
            if step.done {
                return RunEnd::Done;
            }
            let arrivals = self
                .more_links
                .iter()
                .flat_map(|(to_right, to_left)| [to_right.next_arrival(), to_left.next_arrival()]);
            let next = [
                self.to_right.next_arrival(),
                self.to_left.next_arrival(),
                self.left.poll_timeout(),
                self.right.poll_timeout(),
                step.wake_at,
            ]
            .into_iter()
            .chain(arrivals)
            .flatten()
            .min();
            let Some(next) = next else {
                return RunEnd::Stalled;
            };
            if next > deadline {
                self.now = deadline;
                return RunEnd::TimeLimit;
            }
            if last_now == Some(now) && next <= now {
                same_time_steps += 1;
                if same_time_steps > 64 {
                    // A deadline that stays in the past without progress: count it and move on.
                    self.spins += 1;
                    self.now = now + Duration::from_micros(100);
                    same_time_steps = 0;
                    continue;
                }
            } else {
                same_time_steps = 0;
            }
            last_now = Some(now);
            self.now = next.max(now);
        }
    }
}

fn content_word(seed: u64, word: u64) -> [u8; 8] {
    let mut x = seed ^ word.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    x.to_le_bytes()
}

/// Deterministic content: byte `index` of stream `seed`.
pub fn content_byte(seed: u64, index: u64) -> u8 {
    content_word(seed, index / 8)[(index % 8) as usize]
}

/// Fills `out` with bytes `start..start + out.len()` of stream `seed`.
pub fn fill_content(seed: u64, start: u64, out: &mut [u8]) {
    let mut index = start;
    let mut position = 0;
    while position < out.len() {
        let word = content_word(seed, index / 8);
        let offset = (index % 8) as usize;
        let take = (8 - offset).min(out.len() - position);
        out[position..position + take].copy_from_slice(&word[offset..offset + take]);
        position += take;
        index += take as u64;
    }
}

/// Writes a deterministic byte stream into a connection in chunks of varying size.
#[derive(Debug)]
pub struct StreamSource {
    seed: u64,
    total: u64,
    written: u64,
    rng: StdRng,
    scratch: Vec<u8>,
}

impl StreamSource {
    /// A source of `total` bytes of stream `seed`.
    pub fn new(seed: u64, total: u64) -> Self {
        Self {
            seed,
            total,
            written: 0,
            rng: StdRng::seed_from_u64(seed ^ 0x5EED),
            scratch: Vec::new(),
        }
    }

    /// Bytes accepted by the connection so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Whether everything was written.
    pub fn finished(&self) -> bool {
        self.written >= self.total
    }

    /// Writes as much as the connection takes now.
    pub fn pump(&mut self, now: Instant, connection: &mut Connection) {
        while !self.finished() {
            let free = connection.send_buffer_free();
            if free == 0 {
                break;
            }
            let chunk = match self.rng.gen_range(0..4) {
                0 => self.rng.gen_range(1..64),
                1 => self.rng.gen_range(64..1500),
                _ => self.rng.gen_range(1500..65536),
            }
            .min((self.total - self.written) as usize)
            .min(free);
            self.scratch.resize(chunk, 0);
            fill_content(self.seed, self.written, &mut self.scratch);
            match connection.write(now, &self.scratch) {
                Ok(0) | Err(_) => break,
                Ok(taken) => self.written += taken as u64,
            }
        }
    }
}

/// Reads from a connection and checks every byte against the expected stream, in order.
#[derive(Debug)]
pub struct StreamSink {
    seed: u64,
    expected_total: u64,
    received: u64,
    first_mismatch: Option<u64>,
    buf: Vec<u8>,
    expected: Vec<u8>,
}

impl StreamSink {
    /// A sink expecting `expected_total` bytes of stream `seed`.
    pub fn new(seed: u64, expected_total: u64) -> Self {
        Self {
            seed,
            expected_total,
            received: 0,
            first_mismatch: None,
            buf: vec![0; 64 * 1024],
            expected: vec![0; 64 * 1024],
        }
    }

    /// Reads everything deliverable now.
    pub fn pump(&mut self, now: Instant, connection: &mut Connection) {
        loop {
            let read = connection.read(now, &mut self.buf);
            if read == 0 {
                break;
            }
            if self.first_mismatch.is_none() {
                fill_content(self.seed, self.received, &mut self.expected[..read]);
                if let Some(offset) = self.buf[..read]
                    .iter()
                    .zip(&self.expected[..read])
                    .position(|(got, want)| got != want)
                {
                    self.first_mismatch = Some(self.received + offset as u64);
                }
            }
            self.received += read as u64;
        }
    }

    /// Bytes read so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Offset of the first wrong byte, if any.
    pub fn first_mismatch(&self) -> Option<u64> {
        self.first_mismatch
    }

    /// Exactly the expected bytes arrived, in order.
    pub fn complete(&self) -> bool {
        self.received == self.expected_total && self.first_mismatch.is_none()
    }
}

/// The outcome of [`transfer`].
#[derive(Debug, Clone)]
pub struct TransferReport {
    /// How the run ended.
    pub end: RunEnd,
    /// Simulated time taken.
    pub elapsed: Duration,
    /// Bytes left → right: expected, received, first mismatch.
    pub left_to_right: (u64, u64, Option<u64>),
    /// Bytes right → left: expected, received, first mismatch.
    pub right_to_left: (u64, u64, Option<u64>),
    /// Left endpoint's statistics at the end.
    pub left_stats: ConnectionStats,
    /// Right endpoint's statistics at the end.
    pub right_stats: ConnectionStats,
    /// Final states.
    pub states: (ConnectionState, ConnectionState),
    /// Link counters (to right, to left).
    pub links: (LinkCounters, LinkCounters),
    /// Busy-loop detections (should be 0).
    pub spins: u64,
}

impl TransferReport {
    /// Both streams arrived complete and in order.
    pub fn complete(&self) -> bool {
        let exact = |(expected, received, mismatch): (u64, u64, Option<u64>)| {
            expected == received && mismatch.is_none()
        };
        self.end == RunEnd::Done && exact(self.left_to_right) && exact(self.right_to_left)
    }
}

/// Sends `left_bytes` left → right and `right_bytes` right → left at once in reliable mode over
/// `network`, checking every byte, for at most `limit` of simulated time.
pub fn transfer(
    seed: u64,
    network: NetworkConfig,
    left_bytes: u64,
    right_bytes: u64,
    limit: Duration,
) -> TransferReport {
    let start = Instant::now();
    let left = connection_config(0x1111, 0x2222, DeliveryMode::Reliable, start);
    let right = connection_config(0x2222, 0x1111, DeliveryMode::Reliable, start);
    transfer_with(
        seed,
        network,
        left,
        right,
        left_bytes,
        right_bytes,
        limit,
        start,
    )
}

/// [`transfer`] with explicit endpoint configurations.
#[allow(clippy::too_many_arguments)]
pub fn transfer_with(
    seed: u64,
    network: NetworkConfig,
    left: ConnectionConfig,
    right: ConnectionConfig,
    left_bytes: u64,
    right_bytes: u64,
    limit: Duration,
    start: Instant,
) -> TransferReport {
    let mut simulation = Simulation::new(seed, network, left, right, start);
    let mut left_source = StreamSource::new(seed.wrapping_add(100), left_bytes);
    let mut right_source = StreamSource::new(seed.wrapping_add(200), right_bytes);
    let mut left_sink = StreamSink::new(seed.wrapping_add(200), right_bytes);
    let mut right_sink = StreamSink::new(seed.wrapping_add(100), left_bytes);
    let end = simulation.run(limit, |now, left, right| {
        left_source.pump(now, left);
        right_source.pump(now, right);
        left_sink.pump(now, left);
        right_sink.pump(now, right);
        AppStep {
            done: left_sink.received() >= right_bytes && right_sink.received() >= left_bytes,
            wake_at: None,
        }
    });
    let now = simulation.now;
    TransferReport {
        end,
        elapsed: now - start,
        left_to_right: (
            left_bytes,
            right_sink.received(),
            right_sink.first_mismatch(),
        ),
        right_to_left: (
            right_bytes,
            left_sink.received(),
            left_sink.first_mismatch(),
        ),
        left_stats: simulation.left.stats(now),
        right_stats: simulation.right.stats(now),
        states: (simulation.left.state(), simulation.right.state()),
        links: (simulation.to_right.counters, simulation.to_left.counters),
        spins: simulation.spins,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn fill_content_matches_content_byte() {
        let mut out = vec![0u8; 37];
        fill_content(9, 5, &mut out);
        let expected: Vec<u8> = (5..42).map(|index| content_byte(9, index)).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn content_is_deterministic_and_varied() {
        let first: Vec<u8> = (0..32).map(|index| content_byte(1, index)).collect();
        let again: Vec<u8> = (0..32).map(|index| content_byte(1, index)).collect();
        let other: Vec<u8> = (0..32).map(|index| content_byte(2, index)).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[test]
    fn link_applies_loss_and_rate() {
        let start = Instant::now();
        let network = NetworkConfig {
            loss: 0.5,
            rate: Some(1_000_000),
            queue_bytes: 1_000_000,
            ..NetworkConfig::default()
        };
        let mut link = SimulatedLink::new(network, start, 1);
        let packet = Packet::Control(srt_protocol::packet::ControlPacket {
            timestamp: srt_protocol::packet::TimeStamp::from_micros(0),
            dest_sockid: SocketId(1),
            control_type: srt_protocol::packet::ControlTypes::KeepAlive,
        });
        for _ in 0..1000 {
            link.send(start, &packet);
        }
        assert!(
            (400..600).contains(&link.counters.lost),
            "{:?}",
            link.counters
        );
        let mut arrived = 0;
        let mut last = start;
        while let Some(at) = link.next_arrival() {
            assert!(link.receive(at).is_some());
            arrived += 1;
            last = at;
        }
        assert_eq!(arrived, 1000 - link.counters.lost);
        // Each keepalive is 16 + 4 bytes + 28 of IP/UDP: ~48 bytes at 1 MB/s.
        assert!(last - start > Duration::from_millis(20));
    }
}
