//! The receiving half: the group's receive buffer by sequence number (the first copy of a packet
//! wins, whichever path brought it), in-order delivery, loss detection (NAK) and live-mode TSBPD
//! with too-late drop; and, per path ([`PathReceiver`]), what that path acknowledges: full ACK
//! every 10 ms and light ACK every 64 packets, RTT from ACK/ACK2, receive-rate and link-capacity
//! measurement.
//!
//! A path acknowledges the group's contiguous point but never beyond the newest packet it
//! brought itself, and reports only losses below that: a libsrt member socket treats an ACK or
//! NAK beyond what it sent as an attack and breaks the connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use srt_protocol::packet::{DataPacket, PacketLocation, SeqNumber};

use super::loss::LossList;
use super::rtt::RttEstimator;
use super::seq::{instant_plus_micros, SeqSpace, TimestampUnwrapper};

/// Full ACK period (libsrt's SYN).
pub(crate) const FULL_ACK_INTERVAL: Duration = Duration::from_millis(10);
/// Full ACK period of a slow path, one that brought fewer than [`SLOW_PATH_PACKETS`] packets
/// since the previous ACK (a path with more gets its ACK once 10 ms passed). Each full ACK costs a
/// datagram each way (the ACK and its ACK2) and a wake-up at both ends; at 5 Mbit/s (about five
/// packets per 10 ms) they were 30 % of a session's datagrams.
pub(crate) const SLOW_FULL_ACK_INTERVAL: Duration = Duration::from_millis(20);
/// See [`SLOW_FULL_ACK_INTERVAL`]: below 800 packets a second over 20 ms (about 8 Mbit/s of
/// 1316-byte records) a settled path's ACKs come every 20 ms, from 1 600 a second every 10 ms,
/// in between at every 16th packet.
const SLOW_PATH_PACKETS: u32 = 16;
/// A slow path's ACKs are thinned only this long after the connection started and after the
/// receiver last detected a loss.
const SETTLE_TIME: Duration = Duration::from_secs(1);
/// A light ACK is sent after this many packets without an ACK.
const LIGHT_ACK_PACKETS: u32 = 64;
/// Minimum time before a loss is reported again.
const MIN_NAK_INTERVAL: Duration = Duration::from_millis(5);
/// Minimum spacing of NAK report checks.
const NAK_TICK: Duration = Duration::from_millis(1);
/// Slack added to the NAK repeat interval.
const NAK_SLACK: Duration = Duration::from_millis(2);
/// See [`Receiver::nak_interval`].
const NAK_QUEUE_FACTOR: u32 = 2;
/// Upper bound of the learned reordering tolerance.
const MAX_REORDER_DELAY: Duration = Duration::from_millis(50);
/// Largest loss list in one NAK, in 32-bit words (keeps the packet under 1500 bytes).
const MAX_NAK_WORDS: usize = 300;
/// Window over which the receive rate is measured.
const RATE_WINDOW: Duration = Duration::from_millis(20);
/// The largest payload accepted in one data packet (1500 - 20 IP - 8 UDP - 16 SRT).
pub(crate) const MAX_PAYLOAD: usize = 1456;
/// The receive buffer holds at least this many packets of our own payload size.
const MIN_CAPACITY_PACKETS: usize = 32;
/// Memory of one receive-buffer position besides its payload; the position count is bounded so
/// that the positions alone take about the byte bound at most, whatever the payload size.
const SLOT_BYTES: usize = std::mem::size_of::<Slot>();
/// Full ACKs remembered for matching ACK2s.
const SENT_ACK_HISTORY: usize = 64;

/// When a gap was detected and when it is (next) due in a NAK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LossMeta {
    detected: Instant,
    due: Instant,
}

/// One receive-buffer position.
#[derive(Debug, Clone)]
enum Slot {
    Missing,
    /// Given up on (live too-late drop, or the peer's DropRequest).
    Dropped,
    Received {
        payload: Bytes,
        location: PacketLocation,
        timestamp_us: i64,
    },
}

/// Whether the message at the head of a live-mode receive buffer can be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadMessage {
    Complete,
    Incomplete,
    /// Broken by a drop: this many head slots are to be discarded.
    Broken(usize),
}

/// Why an arriving data packet was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    Duplicate,
    OutOfWindow,
    /// The payload is larger than the peer may send (negotiated MSS − 44).
    Oversized,
    /// Storing it would take the receive buffer past its byte bound.
    BufferFull,
}

/// Counters kept by the receiver.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReceiverCounters {
    pub(crate) packets_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) packets_lost: u64,
    pub(crate) packets_duplicate: u64,
    pub(crate) packets_out_of_window: u64,
    pub(crate) packets_oversized: u64,
    pub(crate) packets_buffer_full: u64,
    pub(crate) packets_dropped: u64,
    pub(crate) packets_delivered: u64,
    pub(crate) bytes_delivered: u64,
    pub(crate) buffer_high_water_bytes: usize,
}

/// Live-mode timing state.
#[derive(Debug, Clone)]
struct Tsbpd {
    latency: Duration,
    too_late_drop: bool,
    unwrapper: TimestampUnwrapper,
    /// Arrival time and timestamp of the first packet: the time base.
    base: Option<(Instant, i64)>,
}

/// An ACK the receiver wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckToSend {
    Light {
        ack: SeqNumber,
    },
    Full {
        ack: SeqNumber,
        id: u32,
        available: u32,
        packet_rate: u32,
        link_capacity: u32,
        byte_rate: u32,
    },
}

/// The receive buffer and its acknowledgement state.
#[derive(Debug)]
pub(crate) struct Receiver {
    space: SeqSpace,
    ring: VecDeque<Slot>,
    /// Absolute index of `ring[0]`.
    read_seq: u64,
    read_offset: usize,
    /// Live mode: part of a message was delivered, the rest follows.
    mid_message: bool,
    /// Everything below is received or dropped.
    ack_seq: u64,
    /// Positions from `read_seq` a packet may take (bounds the ring).
    capacity_packets: usize,
    /// The configured `recv_buffer_bytes`.
    configured_bytes: usize,
    /// Payload bytes the buffer may hold (received-unread and out-of-order together): the
    /// configured size, raised to the floors of [`Self::set_capacity`].
    capacity_bytes: usize,
    /// Our own payload size (what the window in packets is counted in at least).
    payload_size: usize,
    /// The largest payload the peer may send (negotiated MSS − 44); larger packets are refused.
    max_peer_payload: usize,
    /// The largest payload the peer has sent: the window in packets assumes packets this big.
    largest_payload_seen: usize,
    buffered_bytes: usize,
    contiguous_bytes: usize,
    loss: LossList<LossMeta>,
    /// Earliest `due` in the loss list (may be early if ranges were removed since).
    nak_due: Option<Instant>,
    /// How long a gap may be a reordering rather than a loss before it is reported: learned from
    /// gaps filled by packets that were not retransmissions.
    reorder_delay: Duration,
    tsbpd: Option<Tsbpd>,
    last_nak_report: Instant,
    /// A slow path's full ACKs are thinned from this instant on: [`SETTLE_TIME`] after the
    /// start and after the latest loss.
    thin_acks_from: Instant,
    pub(crate) counters: ReceiverCounters,
}

/// What one path acknowledges and measures of the data it brings.
#[derive(Debug, Clone)]
pub(crate) struct PathReceiver {
    /// One past the newest packet this path brought: its ACKs and NAKs stay below.
    received_end: Option<u64>,
    next_ack_id: u32,
    sent_acks: VecDeque<(u32, u64, u32, Instant)>,
    confirmed: Option<(u64, u32)>,
    last_full_ack_at: Option<Instant>,
    /// Acknowledged point and window of the last full ACK sent on this path.
    last_full_ack: Option<(u64, u32)>,
    created_at: Instant,
    packets_since_ack: u32,
    rate_window_start: Instant,
    rate_window_bytes: u64,
    rate_window_packets: u64,
    byte_rate: u32,
    packet_rate: u32,
    probe: Option<(u64, Instant)>,
    pair_intervals_us: [u64; 16],
    pair_count: usize,
    pub(crate) rtt: RttEstimator,
    /// Data packets and payload bytes this path brought, duplicates included.
    pub(crate) packets_received: u64,
    pub(crate) bytes_received: u64,
}

impl PathReceiver {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            received_end: None,
            next_ack_id: 1,
            sent_acks: VecDeque::new(),
            confirmed: None,
            last_full_ack_at: None,
            last_full_ack: None,
            created_at: now,
            packets_since_ack: 0,
            rate_window_start: now,
            rate_window_bytes: 0,
            rate_window_packets: 0,
            byte_rate: 0,
            packet_rate: 0,
            probe: None,
            pair_intervals_us: [0; 16],
            pair_count: 0,
            rtt: RttEstimator::default(),
            packets_received: 0,
            bytes_received: 0,
        }
    }

    /// Receive rate over the last measurement window, bytes/s.
    pub(crate) fn byte_rate(&self) -> u32 {
        self.byte_rate
    }

    /// Link capacity from packet pairs, packets/s (0 = unknown).
    pub(crate) fn link_capacity(&self) -> u32 {
        let count = self.pair_count.min(self.pair_intervals_us.len());
        if count == 0 {
            return 0;
        }
        let mut intervals = self.pair_intervals_us;
        let samples = &mut intervals[..count];
        samples.sort_unstable();
        let median = samples[count / 2].max(1);
        (1_000_000 / median).min(u64::from(u32::MAX)) as u32
    }

    /// Records a data packet at `abs` arriving on this path (duplicates included).
    fn measure_arrival(&mut self, now: Instant, abs: u64, packet: &DataPacket) {
        let len = packet.payload.len() as u64;
        self.packets_received += 1;
        self.bytes_received += len;
        self.received_end = Some(self.received_end.map_or(abs + 1, |end| end.max(abs + 1)));
        self.packets_since_ack += 1;
        self.rate_window_bytes += len;
        self.rate_window_packets += 1;
        let elapsed = now.saturating_duration_since(self.rate_window_start);
        if elapsed >= RATE_WINDOW {
            let seconds = elapsed.as_secs_f64();
            self.byte_rate =
                (self.rate_window_bytes as f64 / seconds).min(f64::from(u32::MAX)) as u32;
            self.packet_rate =
                (self.rate_window_packets as f64 / seconds).min(f64::from(u32::MAX)) as u32;
            self.rate_window_start = now;
            self.rate_window_bytes = 0;
            self.rate_window_packets = 0;
        }
        // Packet pairs: libsrt sends a packet whose wire sequence number is a multiple of 16 and
        // its successor back to back, whatever its pacing; the successor's delay measures the
        // bottleneck's spacing. The wire number, not the index from the initial sequence number,
        // decides which packets pair (they differ unless the initial number is a multiple of 16,
        // and a paced gap taken for a pair makes libsrt's file-mode sender crawl).
        if !packet.retransmitted {
            match self.probe.take() {
                Some((probe, at)) if abs == probe + 1 => {
                    let interval = now.saturating_duration_since(at).as_micros() as u64;
                    self.pair_intervals_us[self.pair_count % 16] = interval.max(1);
                    self.pair_count += 1;
                }
                _ => {}
            }
            if packet.seq_number.as_raw() % 16 == 0 {
                self.probe = Some((abs, now));
            }
        }
    }

    /// The point this path acknowledges: the group's, but not beyond what this path brought.
    fn ack_point(&self, group_ack: u64) -> Option<u64> {
        self.received_end.map(|end| group_ack.min(end))
    }

    /// The peer's ACK2 for full ACK `id` on this path: an RTT sample.
    pub(crate) fn on_ack2(&mut self, now: Instant, id: u32) {
        let Some(position) = self
            .sent_acks
            .iter()
            .position(|&(sent_id, ..)| sent_id == id)
        else {
            return;
        };
        let (_, ack, available, sent_at) = self.sent_acks[position];
        self.rtt.on_sample(now.saturating_duration_since(sent_at));
        self.confirmed = Some((ack, available));
        self.sent_acks.drain(..=position);
    }
}

impl Receiver {
    pub(crate) fn new(
        space: SeqSpace,
        capacity_bytes: usize,
        payload_size: usize,
        live: Option<(Duration, bool)>,
        now: Instant,
    ) -> Self {
        let payload_size = payload_size.clamp(1, MAX_PAYLOAD);
        let mut receiver = Self {
            space,
            ring: VecDeque::new(),
            read_seq: 0,
            read_offset: 0,
            mid_message: false,
            ack_seq: 0,
            capacity_packets: 0,
            configured_bytes: capacity_bytes,
            capacity_bytes,
            payload_size,
            max_peer_payload: MAX_PAYLOAD,
            largest_payload_seen: payload_size,
            buffered_bytes: 0,
            contiguous_bytes: 0,
            loss: LossList::default(),
            nak_due: None,
            reorder_delay: Duration::ZERO,
            tsbpd: live.map(|(latency, too_late_drop)| Tsbpd {
                latency,
                too_late_drop,
                unwrapper: TimestampUnwrapper::default(),
                base: None,
            }),
            last_nak_report: now,
            thin_acks_from: now + SETTLE_TIME,
            counters: ReceiverCounters::default(),
        };
        receiver.set_capacity();
        receiver
    }

    /// Sets the largest payload the peer may send (the negotiated MSS − 44, at most 1456); the
    /// default is 1456.
    pub(crate) fn set_max_peer_payload(&mut self, bytes: usize) {
        self.max_peer_payload = bytes.clamp(1, MAX_PAYLOAD);
        self.set_capacity();
    }

    /// Derives the bounds from the configured buffer size: at least 32 packets of our payload size
    /// and two of the peer's largest packets (one of them is the room kept for the packet that
    /// fills the first gap, see [`Self::classify`]); one position per `payload_size` or
    /// [`SLOT_BYTES`] bytes, whichever is larger, so a tiny payload size cannot make the ring huge.
    fn set_capacity(&mut self) {
        self.capacity_bytes = self
            .configured_bytes
            .max(MIN_CAPACITY_PACKETS * self.payload_size)
            .max(2 * self.max_peer_payload);
        self.capacity_packets =
            (self.capacity_bytes / self.payload_size.max(SLOT_BYTES)).max(MIN_CAPACITY_PACKETS);
    }

    /// Payload bytes the buffer may hold.
    #[cfg(test)]
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
    }

    /// Capacity of the receive buffer in packets.
    #[cfg(test)]
    pub(crate) fn capacity_packets(&self) -> usize {
        self.capacity_packets
    }

    /// Payload bytes held (delivered-but-unread plus out-of-order).
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// Packets still missing.
    #[cfg(test)]
    pub(crate) fn missing_packets(&self) -> u64 {
        self.loss.packet_count()
    }

    /// The packets the buffer can still take beyond the acknowledged point (advertised in ACKs):
    /// the free positions, or as many of the largest packets the peer has sent as fit the free
    /// bytes (less the room kept for the packet filling a gap), whichever is smaller.
    pub(crate) fn available_packets(&self) -> u32 {
        let used = (self.ack_seq - self.read_seq) as usize;
        let free_positions = self.capacity_packets.saturating_sub(used);
        let free_bytes = self
            .capacity_bytes
            .saturating_sub(self.max_peer_payload)
            .saturating_sub(self.buffered_bytes);
        let fitting_packets = free_bytes / self.largest_payload_seen.max(1);
        free_positions.min(fitting_packets).min(u32::MAX as usize) as u32
    }

    /// Checks where a data packet with sequence number `seq` would go. Refused packets are not
    /// stored, so not acknowledged: the peer sends them again.
    pub(crate) fn classify(
        &mut self,
        seq: SeqNumber,
        payload_len: usize,
    ) -> Result<u64, Rejection> {
        let Some(abs) = self.space.to_abs(self.ack_seq, seq) else {
            self.counters.packets_out_of_window += 1;
            return Err(Rejection::OutOfWindow);
        };
        // A peer must not make slots bigger than agreed: its packets are at most the negotiated
        // MSS − 44 bytes, and the byte bound's room for the packet filling a gap (below) and the
        // window in packets rely on that.
        if payload_len > self.max_peer_payload {
            self.counters.packets_oversized += 1;
            return Err(Rejection::Oversized);
        }
        if abs < self.ack_seq {
            self.counters.packets_duplicate += 1;
            return Err(Rejection::Duplicate);
        }
        if abs >= self.read_seq + self.capacity_packets as u64 {
            self.counters.packets_out_of_window += 1;
            return Err(Rejection::OutOfWindow);
        }
        if let Some(Slot::Received { .. } | Slot::Dropped) =
            self.ring.get((abs - self.read_seq) as usize)
        {
            self.counters.packets_duplicate += 1;
            return Err(Rejection::Duplicate);
        }
        // Out-of-order packets leave room for one more of the peer's largest packets, so the packet
        // at the acknowledged point (which makes data readable and frees the buffer once read)
        // always fits once the application has read what is readable.
        let limit = if abs == self.ack_seq {
            self.capacity_bytes
        } else {
            self.capacity_bytes.saturating_sub(self.max_peer_payload)
        };
        if self.buffered_bytes + payload_len > limit {
            self.counters.packets_buffer_full += 1;
            return Err(Rejection::BufferFull);
        }
        Ok(abs)
    }

    /// Stores a (decrypted) packet at `abs` (from `classify`). Returns a range newly detected as
    /// missing, to be reported in a NAK at once.
    pub(crate) fn insert(
        &mut self,
        now: Instant,
        path: &mut PathReceiver,
        abs: u64,
        packet: DataPacket,
    ) -> Option<(SeqNumber, SeqNumber)> {
        path.measure_arrival(now, abs, &packet);
        self.counters.packets_received += 1;
        self.counters.bytes_received += packet.payload.len() as u64;
        let timestamp_us = match &mut self.tsbpd {
            Some(tsbpd) => {
                let timestamp_us = tsbpd.unwrapper.unwrap(packet.timestamp);
                if tsbpd.base.is_none() {
                    tsbpd.base = Some((now, timestamp_us));
                }
                timestamp_us
            }
            None => 0,
        };
        let len = packet.payload.len();
        let retransmitted = packet.retransmitted;
        let slot = Slot::Received {
            payload: packet.payload,
            location: packet.message_loc,
            timestamp_us,
        };
        let end = self.read_seq + self.ring.len() as u64;
        let mut gap = None;
        if abs >= end {
            if abs > end {
                // Reported at once unless reordering was seen on this path: then only once the
                // gap outlived the reordering tolerance.
                let due = if self.reorder_delay.is_zero() {
                    gap = Some((self.space.to_wire(end), self.space.to_wire(abs - 1)));
                    now + Self::nak_interval(&path.rtt)
                } else {
                    now + self.reorder_delay
                };
                self.loss.insert(end, abs, LossMeta { detected: now, due });
                self.nak_due = Some(self.nak_due.map_or(due, |earliest| earliest.min(due)));
                self.counters.packets_lost += abs - end;
                self.thin_acks_from = now + SETTLE_TIME;
            }
            self.ring
                .resize((abs - self.read_seq) as usize, Slot::Missing);
            self.ring.push_back(slot);
        } else {
            if let Some(meta) = self.loss.meta_of(abs) {
                if retransmitted {
                    // A real loss, repaired: let the reordering tolerance decay.
                    self.reorder_delay = self.reorder_delay * 7 / 8;
                } else {
                    let waited = now.saturating_duration_since(meta.detected);
                    self.reorder_delay = self.reorder_delay.max(waited).min(MAX_REORDER_DELAY);
                }
            }
            self.loss.remove(abs);
            if let Some(position) = self.ring.get_mut((abs - self.read_seq) as usize) {
                *position = slot;
            }
        }
        self.buffered_bytes += len;
        self.largest_payload_seen = self.largest_payload_seen.max(len);
        self.counters.buffer_high_water_bytes = self
            .counters
            .buffer_high_water_bytes
            .max(self.buffered_bytes);
        self.advance_ack();
        gap
    }

    fn advance_ack(&mut self) {
        while let Some(slot) = self.ring.get((self.ack_seq - self.read_seq) as usize) {
            match slot {
                Slot::Missing => break,
                Slot::Dropped => {}
                Slot::Received { payload, .. } => self.contiguous_bytes += payload.len(),
            }
            self.ack_seq += 1;
        }
    }

    /// Live mode: the time the head-of-line packet may be delivered.
    fn play_time(&self, timestamp_us: i64) -> Option<Instant> {
        let tsbpd = self.tsbpd.as_ref()?;
        let (base_at, base_ts) = tsbpd.base?;
        Some(instant_plus_micros(base_at, timestamp_us - base_ts) + tsbpd.latency)
    }

    /// Bytes `read` could return at `now`.
    pub(crate) fn readable_bytes(&self, now: Instant) -> usize {
        if self.tsbpd.is_none() {
            return self.contiguous_bytes;
        }
        let mut bytes = 0;
        for slot in self
            .ring
            .iter()
            .take((self.ack_seq - self.read_seq) as usize)
        {
            if let Slot::Received {
                payload,
                timestamp_us,
                ..
            } = slot
            {
                match self.play_time(*timestamp_us) {
                    Some(at) if at <= now => bytes += payload.len(),
                    _ => break,
                }
            }
        }
        bytes - self.read_offset.min(bytes)
    }

    /// Copies deliverable bytes. Live mode returns at most one message per call, only whole
    /// messages (fragments of a message that lost a packet to a drop are discarded), and only once
    /// due.
    pub(crate) fn read(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        let live = self.tsbpd.is_some();
        let mut copied = 0;
        while copied < buf.len() && self.read_seq < self.ack_seq {
            if live && self.read_offset == 0 && !self.mid_message {
                match self.check_head_message() {
                    HeadMessage::Complete => {}
                    HeadMessage::Incomplete => break,
                    HeadMessage::Broken(packets) => {
                        for _ in 0..packets {
                            self.discard_head();
                        }
                        continue;
                    }
                }
            }
            let Some(front) = self.ring.front() else {
                break;
            };
            let (payload, location, timestamp_us) = match front {
                Slot::Received {
                    payload,
                    location,
                    timestamp_us,
                } => (payload, *location, *timestamp_us),
                Slot::Missing | Slot::Dropped => {
                    self.discard_head();
                    continue;
                }
            };
            if live && self.play_time(timestamp_us).is_none_or(|at| at > now) {
                break;
            }
            let available = &payload[self.read_offset..];
            let take = available.len().min(buf.len() - copied);
            buf[copied..copied + take].copy_from_slice(&available[..take]);
            copied += take;
            self.read_offset += take;
            self.contiguous_bytes -= take;
            self.counters.bytes_delivered += take as u64;
            if self.read_offset == payload.len() {
                let len = payload.len();
                self.ring.pop_front();
                self.read_seq += 1;
                self.read_offset = 0;
                self.buffered_bytes -= len;
                self.counters.packets_delivered += 1;
                if live {
                    self.mid_message = !location.contains(PacketLocation::LAST);
                    if !self.mid_message {
                        break;
                    }
                }
            }
        }
        copied
    }

    /// Live mode: whether the message starting at the head is whole and acknowledged.
    fn check_head_message(&self) -> HeadMessage {
        let acknowledged = (self.ack_seq - self.read_seq) as usize;
        for (index, slot) in self.ring.iter().take(acknowledged).enumerate() {
            match slot {
                Slot::Received { location, .. } => {
                    let first = location.contains(PacketLocation::FIRST);
                    if (index == 0) != first {
                        // A fragment without its start, or a new start before the end.
                        return HeadMessage::Broken(index.max(1));
                    }
                    if location.contains(PacketLocation::LAST) {
                        return HeadMessage::Complete;
                    }
                }
                Slot::Missing | Slot::Dropped => return HeadMessage::Broken(index.max(1)),
            }
        }
        HeadMessage::Incomplete
    }

    /// Removes the head slot without delivering it.
    fn discard_head(&mut self) {
        if let Some(Slot::Received { payload, .. }) = self.ring.pop_front() {
            let unread = payload.len() - self.read_offset;
            self.contiguous_bytes -= unread;
            self.buffered_bytes -= payload.len();
            self.counters.packets_dropped += 1;
        }
        self.read_seq += 1;
        self.read_offset = 0;
    }

    /// Live mode with too-late drop: gives up on missing packets once a later packet is due.
    pub(crate) fn drop_too_late(&mut self, now: Instant) {
        let Some(tsbpd) = &self.tsbpd else { return };
        if !tsbpd.too_late_drop || self.ack_seq >= self.read_seq + self.ring.len() as u64 {
            return;
        }
        // The first packet received after the hole at ack_seq.
        let start = (self.ack_seq - self.read_seq) as usize;
        let mut due_index = None;
        for (offset, slot) in self.ring.iter().enumerate().skip(start) {
            if let Slot::Received { timestamp_us, .. } = slot {
                if self.play_time(*timestamp_us).is_some_and(|at| at <= now) {
                    due_index = Some(offset);
                }
                break;
            }
        }
        let Some(due_index) = due_index else { return };
        let until = self.read_seq + due_index as u64;
        self.mark_dropped(self.ack_seq, until);
    }

    /// When the next live-mode event after `now` happens: the head packet becoming deliverable, or
    /// (with too-late drop) the first packet after a hole becoming due so the hole is skipped.
    pub(crate) fn next_live_event(&self, now: Instant) -> Option<Instant> {
        let tsbpd = self.tsbpd.as_ref()?;
        if self.read_seq < self.ack_seq {
            let head = self
                .ring
                .iter()
                .take((self.ack_seq - self.read_seq) as usize)
                .find_map(|slot| match slot {
                    Slot::Received { timestamp_us, .. } => Some(*timestamp_us),
                    _ => None,
                });
            if let Some(at) = head.and_then(|ts| self.play_time(ts)) {
                return (at > now).then_some(at);
            }
        }
        if !tsbpd.too_late_drop {
            return None;
        }
        let start = (self.ack_seq - self.read_seq) as usize;
        self.ring.iter().skip(start).find_map(|slot| match slot {
            Slot::Received { timestamp_us, .. } => self.play_time(*timestamp_us),
            _ => None,
        })
    }

    /// Whether received data is still waiting in the buffer (live mode: possibly not yet due).
    pub(crate) fn has_pending_data(&self) -> bool {
        self.read_seq < self.ack_seq
    }

    /// Marks `[from, until)` as given up (too-late drop or the peer's DropRequest).
    pub(crate) fn mark_dropped(&mut self, from: u64, until: u64) {
        let from = from.max(self.ack_seq);
        let until = until.min(self.read_seq + self.capacity_packets as u64);
        if from >= until {
            return;
        }
        let needed = (until - self.read_seq) as usize;
        if self.ring.len() < needed {
            self.ring.resize(needed, Slot::Missing);
        }
        for abs in from..until {
            if let Some(slot) = self.ring.get_mut((abs - self.read_seq) as usize) {
                if matches!(slot, Slot::Missing) {
                    *slot = Slot::Dropped;
                    self.counters.packets_dropped += 1;
                }
            }
        }
        self.loss.remove_range(from, until);
        self.advance_ack();
    }

    /// The peer's DropRequest for `first..=last` (wire numbers).
    pub(crate) fn on_drop_request(&mut self, first: SeqNumber, last: SeqNumber) {
        let (Some(from), Some(to)) = (
            self.space.to_abs(self.ack_seq, first),
            self.space.to_abs(self.ack_seq, last),
        ) else {
            return;
        };
        if to >= from {
            self.mark_dropped(from, to + 1);
        }
    }

    /// Records a data packet `classify` refused as a duplicate on `path`: the path still brought
    /// it, so it acknowledges up to it (another path was faster).
    pub(crate) fn record_duplicate(
        &self,
        now: Instant,
        path: &mut PathReceiver,
        packet: &DataPacket,
    ) {
        if let Some(abs) = self.space.to_abs(self.ack_seq, packet.seq_number) {
            path.measure_arrival(now, abs, packet);
        }
    }

    /// A light ACK on `path` if 64 packets arrived on it since its last ACK.
    pub(crate) fn light_ack_due(&self, path: &mut PathReceiver) -> Option<AckToSend> {
        if path.packets_since_ack < LIGHT_ACK_PACKETS {
            return None;
        }
        let ack = path.ack_point(self.ack_seq)?;
        path.packets_since_ack = 0;
        Some(AckToSend::Light {
            ack: self.space.to_wire(ack),
        })
    }

    /// When the next full ACK on `path` is due, if one is needed.
    pub(crate) fn full_ack_deadline(&self, path: &PathReceiver) -> Option<Instant> {
        // Nothing received on this path yet: the handshake announced the window. (An ACK of
        // nothing at the start made libsrt's file-mode sender stall ~330 ms, until its
        // retransmission timer.)
        let ack = path.ack_point(self.ack_seq)?;
        // Cheapest checks first: the window costs a division.
        let confirmed = path.packets_since_ack == 0
            && path.confirmed.is_some_and(|(acked, available)| {
                acked == ack && available == self.available_packets()
            });
        if confirmed {
            return None;
        }
        // A new connection, or one that lost packets lately, may still be finding its rate: its
        // sender's controller learns from every report.
        let settled = path
            .last_full_ack_at
            .is_some_and(|at| at >= self.thin_acks_from);
        let interval = if settled && path.packets_since_ack < SLOW_PATH_PACKETS {
            SLOW_FULL_ACK_INTERVAL
        } else {
            FULL_ACK_INTERVAL
        };
        Some(
            path.last_full_ack_at
                .map_or(path.created_at, |at| at + interval),
        )
    }

    /// Whether the sender has used half the window `path`'s last full ACK advertised: then a full
    /// ACK goes at once (a window update) instead of waiting for the 10 ms timer, or a fast sender
    /// would stall on a window refreshed only every 10 ms.
    pub(crate) fn window_update_due(&self, path: &PathReceiver) -> bool {
        let Some((acked, available)) = path.last_full_ack else {
            return false;
        };
        let Some(ack) = path.ack_point(self.ack_seq) else {
            return false;
        };
        let advertised_end = acked + u64::from(available);
        let used_since = ack.saturating_sub(acked);
        let remaining = advertised_end.saturating_sub(ack);
        used_since >= u64::from(LIGHT_ACK_PACKETS) && remaining <= used_since
    }

    /// Whether the application's reads have freed so much that `path`'s last full ACK now
    /// understates the window badly: the credit the sender has left from it is below half of
    /// what could be advertised now, by at least [`LIGHT_ACK_PACKETS`] packets (or a quarter of
    /// the buffer, if smaller). Then a full ACK goes at once: a receiver whose application fell
    /// behind closed the window, and no packet arrives any more to trigger a window update, so
    /// the sender would otherwise wait for the 10 ms timer.
    pub(crate) fn window_reopened(&self, path: &PathReceiver) -> bool {
        let Some((acked, available)) = path.last_full_ack else {
            return false;
        };
        let Some(ack) = path.ack_point(self.ack_seq) else {
            return false;
        };
        let remaining = (acked + u64::from(available)).saturating_sub(ack);
        let now_available = u64::from(self.available_packets());
        let step = u64::from(LIGHT_ACK_PACKETS).min(self.capacity_packets as u64 / 4);
        remaining < now_available / 2 && now_available - remaining >= step.max(1)
    }

    /// A full ACK on `path`, if due at `now` (every 10 ms while something is unconfirmed by an
    /// ACK2, every 20 ms on a slow path) or if `force`d (window update).
    pub(crate) fn full_ack(
        &self,
        now: Instant,
        path: &mut PathReceiver,
        force: bool,
    ) -> Option<AckToSend> {
        if !force {
            let deadline = self.full_ack_deadline(path)?;
            if now < deadline {
                return None;
            }
        }
        let ack = path.ack_point(self.ack_seq)?;
        let id = path.next_ack_id;
        path.next_ack_id = path.next_ack_id.wrapping_add(1).max(1);
        let available = self.available_packets();
        if path.sent_acks.len() >= SENT_ACK_HISTORY {
            path.sent_acks.pop_front();
        }
        path.sent_acks.push_back((id, ack, available, now));
        path.last_full_ack_at = Some(now);
        path.last_full_ack = Some((ack, available));
        path.packets_since_ack = 0;
        Some(AckToSend::Full {
            ack: self.space.to_wire(ack),
            id,
            available,
            packet_rate: path.packet_rate,
            link_capacity: path.link_capacity(),
            byte_rate: path.byte_rate,
        })
    }

    /// A loss is reported again after this long without its retransmission: a round trip plus
    /// four variations and slack (libsrt's period), plus twice the queue the smoothed RTT shows
    /// (a retransmission waits in it, and the smoothed RTT lags a growing queue) up to half a
    /// round trip, so that a retransmission already on its way is seldom asked for twice. Never
    /// longer than the sender's retransmission timeout, which must wait for it.
    fn nak_interval(rtt: &RttEstimator) -> Duration {
        let queue_margin = (rtt.queueing() * NAK_QUEUE_FACTOR).min(rtt.smoothed() / 2);
        (rtt.smoothed() + queue_margin + 4 * rtt.variation() + NAK_SLACK).max(MIN_NAK_INTERVAL)
    }

    /// The current reordering tolerance.
    pub(crate) fn reorder_delay(&self) -> Duration {
        self.reorder_delay
    }

    /// When a NAK report is due, if anything is missing.
    pub(crate) fn nak_deadline(&self) -> Option<Instant> {
        if self.loss.is_empty() {
            return None;
        }
        let earliest = self.nak_due.unwrap_or(self.last_nak_report);
        Some(earliest.max(self.last_nak_report + NAK_TICK))
    }

    /// The NAK report: every missing range that is due (past the reordering tolerance, or not
    /// reported for the NAK interval of `rtt`, the fastest path's), as `[start, end)` ranges of
    /// absolute numbers; [`Self::loss_words`] makes each path's loss list of them.
    pub(crate) fn nak_report(
        &mut self,
        now: Instant,
        rtt: &RttEstimator,
    ) -> Option<Vec<(u64, u64)>> {
        let deadline = self.nak_deadline()?;
        if now < deadline {
            return None;
        }
        self.last_nak_report = now;
        let next_due = now + Self::nak_interval(rtt);
        let mut ranges = Vec::new();
        let mut earliest: Option<Instant> = None;
        for range in self.loss.ranges_mut() {
            if range.meta.due <= now && ranges.len() < MAX_NAK_WORDS / 2 {
                range.meta.due = next_due;
                ranges.push((range.start, range.end));
            }
            earliest = Some(earliest.map_or(range.meta.due, |at| at.min(range.meta.due)));
        }
        self.nak_due = earliest;
        (!ranges.is_empty()).then_some(ranges)
    }

    /// `path`'s compressed loss list of `ranges` (from [`Self::nak_report`]): only what lies
    /// below the newest packet the path brought (a range is a start with the top bit set, then
    /// its inclusive end). None when nothing is left for this path.
    pub(crate) fn loss_words(
        &self,
        path: &PathReceiver,
        ranges: &[(u64, u64)],
    ) -> Option<Vec<u32>> {
        let limit = path.received_end?;
        let mut words = Vec::new();
        for &(start, end) in ranges {
            let end = end.min(limit);
            if start >= end {
                continue;
            }
            let first = self.space.to_wire(start).as_raw();
            if end - start == 1 {
                words.push(first);
            } else {
                words.push(first | (1 << 31));
                words.push(self.space.to_wire(end - 1).as_raw());
            }
        }
        (!words.is_empty()).then_some(words)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use srt_protocol::packet::{DataEncryption, MsgNumber, SocketId, TimeStamp};

    fn packet(space: SeqSpace, abs: u64, payload: &'static [u8], ts_us: u32) -> DataPacket {
        DataPacket {
            seq_number: space.to_wire(abs),
            message_loc: PacketLocation::ONLY,
            in_order_delivery: true,
            encryption: DataEncryption::None,
            retransmitted: false,
            message_number: MsgNumber::new_truncate(1),
            timestamp: TimeStamp::from_micros(ts_us),
            dest_sockid: SocketId(1),
            payload: Bytes::from_static(payload),
        }
    }

    fn deliver(
        receiver: &mut Receiver,
        path: &mut PathReceiver,
        now: Instant,
        packet: DataPacket,
    ) -> Option<(SeqNumber, SeqNumber)> {
        let abs = receiver
            .classify(packet.seq_number, packet.payload.len())
            .ok()?;
        receiver.insert(now, path, abs, packet)
    }

    /// The NAK report's loss list for `path`, as words.
    fn nak_words(receiver: &mut Receiver, path: &PathReceiver, now: Instant) -> Option<Vec<u32>> {
        let rtt = path.rtt;
        let ranges = receiver.nak_report(now, &rtt)?;
        receiver.loss_words(path, &ranges)
    }

    #[test]
    fn reorders_detects_gaps_and_drops_duplicates() {
        let now = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(10));
        let mut receiver = Receiver::new(space, 100 * 1456, 1456, None, now);
        let mut path = PathReceiver::new(now);
        assert_eq!(
            deliver(&mut receiver, &mut path, now, packet(space, 0, b"ab", 0)),
            None
        );
        let gap = deliver(&mut receiver, &mut path, now, packet(space, 3, b"ef", 0));
        assert_eq!(gap, Some((space.to_wire(1), space.to_wire(2))));
        assert_eq!(receiver.readable_bytes(now), 2);
        assert_eq!(receiver.missing_packets(), 2);
        assert_eq!(
            deliver(&mut receiver, &mut path, now, packet(space, 2, b"d", 0)),
            None
        );
        assert_eq!(
            receiver.classify(space.to_wire(3), 2),
            Err(Rejection::Duplicate)
        );
        assert_eq!(
            deliver(&mut receiver, &mut path, now, packet(space, 1, b"c", 0)),
            None
        );
        let mut buf = [0u8; 16];
        let n = receiver.read(now, &mut buf);
        assert_eq!(&buf[..n], b"abcdef");
        assert_eq!(
            receiver.classify(space.to_wire(0), 2),
            Err(Rejection::Duplicate)
        );
        assert_eq!(receiver.counters.packets_duplicate, 2);
    }

    #[test]
    fn partial_reads_and_window_bounds() {
        let now = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver = Receiver::new(space, 32 * 10, 10, None, now);
        let mut path = PathReceiver::new(now);
        receiver.set_max_peer_payload(10);
        assert_eq!(receiver.capacity_packets(), 32);
        assert_eq!(receiver.capacity_bytes(), 320);
        assert_eq!(
            receiver.classify(space.to_wire(32), 1),
            Err(Rejection::OutOfWindow)
        );
        assert_eq!(
            receiver.classify(space.to_wire(1 << 30), 1),
            Err(Rejection::OutOfWindow)
        );
        // 31 packets of 10 bytes, plus the 10 bytes kept for the packet filling a gap.
        assert_eq!(receiver.available_packets(), 31);
        deliver(&mut receiver, &mut path, now, packet(space, 0, b"hello", 0));
        let mut buf = [0u8; 3];
        assert_eq!(receiver.read(now, &mut buf), 3);
        assert_eq!(&buf, b"hel");
        assert_eq!(receiver.readable_bytes(now), 2);
        // The partly read packet still takes its 5 bytes and its position.
        assert_eq!(receiver.available_packets(), 30);
        assert_eq!(receiver.read(now, &mut buf), 2);
        assert_eq!(receiver.available_packets(), 31);
    }

    #[test]
    fn the_byte_bound_keeps_room_for_the_packet_filling_the_gap() {
        let now = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        // Our payload size is 1 byte (a tiny MSS), the peer may send 1456-byte packets.
        let mut receiver = Receiver::new(space, 10 * 1456, 1, None, now);
        let mut path = PathReceiver::new(now);
        assert_eq!(receiver.capacity_bytes(), 10 * 1456);
        // Positions are bounded by their own size, not one per payload byte.
        assert!(receiver.capacity_packets() <= 10 * 1456 / SLOT_BYTES);
        let full = &[7u8; 1456];
        // Packet 0 is missing: out-of-order packets may fill all but one packet's room.
        for abs in 1..=9 {
            assert!(receiver.classify(space.to_wire(abs), 1456).is_ok());
            deliver(&mut receiver, &mut path, now, packet(space, abs, full, 0));
        }
        assert_eq!(receiver.buffered_bytes(), 9 * 1456);
        assert_eq!(
            receiver.classify(space.to_wire(10), 1456),
            Err(Rejection::BufferFull)
        );
        assert_eq!(receiver.counters.packets_buffer_full, 1);
        assert_eq!(receiver.available_packets(), 0);
        // The packet at the acknowledged point still fits: everything becomes readable.
        deliver(&mut receiver, &mut path, now, packet(space, 0, full, 0));
        assert_eq!(receiver.buffered_bytes(), 10 * 1456);
        assert_eq!(receiver.readable_bytes(now), 10 * 1456);
        // Now full: even the next in-order packet waits until the application reads.
        assert_eq!(
            receiver.classify(space.to_wire(10), 1),
            Err(Rejection::BufferFull)
        );
        let mut buf = vec![0u8; 2 * 1456];
        assert_eq!(receiver.read(now, &mut buf), 2 * 1456);
        // Two packets read: one 1456-byte packet fits the window, besides the kept room.
        assert_eq!(receiver.available_packets(), 1);
        assert!(receiver.classify(space.to_wire(10), 1456).is_ok());
    }

    #[test]
    fn payloads_larger_than_the_peer_may_send_are_refused() {
        let now = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver = Receiver::new(space, 1 << 20, 32, None, now);

        assert!(receiver.classify(space.to_wire(0), 1456).is_ok());
        assert_eq!(
            receiver.classify(space.to_wire(0), 1457),
            Err(Rejection::Oversized)
        );
        receiver.set_max_peer_payload(32);
        assert_eq!(
            receiver.classify(space.to_wire(0), 33),
            Err(Rejection::Oversized)
        );
        assert_eq!(receiver.counters.packets_oversized, 2);
        assert!(receiver.classify(space.to_wire(0), 32).is_ok());
    }

    #[test]
    fn reads_that_reopen_a_closed_window_call_for_a_full_ack() {
        let now = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver = Receiver::new(space, 200 * 1456, 1456, None, now);
        let mut path = PathReceiver::new(now);
        let full = &[3u8; 1456];
        // The application keeps up: reading does not call for an extra ACK.
        deliver(&mut receiver, &mut path, now, packet(space, 0, full, 0));
        assert!(receiver.full_ack(now, &mut path, true).is_some());
        let mut buf = vec![0u8; 200 * 1456];
        assert_eq!(receiver.read(now, &mut buf), 1456);
        assert!(!receiver.window_reopened(&path));
        // The application falls behind: the buffer fills and the last full ACK says "no room".
        let mut abs = 1;
        while receiver.classify(space.to_wire(abs), 1456).is_ok() {
            deliver(&mut receiver, &mut path, now, packet(space, abs, full, 0));
            abs += 1;
        }
        assert!(receiver.full_ack(now, &mut path, true).is_some());
        assert_eq!(path.last_full_ack.map(|(_, available)| available), Some(0));
        // A small read does not yet (less than a light ACK's worth freed) …
        assert_eq!(receiver.read(now, &mut buf[..10 * 1456]), 10 * 1456);
        assert!(!receiver.window_reopened(&path));
        // … a larger one does: no packet can arrive to trigger a window update.
        assert!(receiver.read(now, &mut buf[..100 * 1456]) > 0);
        assert!(receiver.window_reopened(&path));
        assert!(receiver.full_ack(now, &mut path, true).is_some());
        assert!(!receiver.window_reopened(&path));
    }

    #[test]
    fn full_ack_until_confirmed_and_rtt_from_ack2() {
        let start = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver = Receiver::new(space, 100 * 1456, 1456, None, start);
        let mut path = PathReceiver::new(start);
        deliver(&mut receiver, &mut path, start, packet(space, 0, b"x", 0));
        let Some(AckToSend::Full { id, ack, .. }) = receiver.full_ack(start, &mut path, false)
        else {
            panic!("expected a full ACK");
        };
        assert_eq!(ack, space.to_wire(1));
        assert_eq!(
            receiver.full_ack(start + Duration::from_millis(5), &mut path, false),
            None
        );
        path.on_ack2(start + Duration::from_millis(4), id);
        assert_eq!(path.rtt.smoothed(), Duration::from_millis(4));
        assert_eq!(receiver.full_ack_deadline(&path), None);
    }

    /// Delivers `packets_per_10ms` packets per 10 ms, spread over 1 ms ticks, numbered from
    /// `*next` on, from `from` until `until`; the application reads everything; sends the full
    /// ACKs that fall due and returns the times they went.
    fn full_acks_while_receiving(
        receiver: &mut Receiver,
        path: &mut PathReceiver,
        space: SeqSpace,
        next: &mut u64,
        (from, until): (Instant, Instant),
        packets_per_10ms: u64,
    ) -> Vec<Instant> {
        let mut acks = Vec::new();
        let mut now = from;
        let mut tick = 0u64;
        while now < until {
            // `packets_per_10ms` spread over ten 1 ms ticks.
            let due = (tick + 1) * packets_per_10ms / 10 - tick * packets_per_10ms / 10;
            for _ in 0..due {
                deliver(receiver, path, now, packet(space, *next, b"x", 0));
                *next += 1;
            }
            // The application reads everything: the window stays the same.
            let mut buf = [0u8; 4096];
            while receiver.read(now, &mut buf) > 0 {}
            if receiver.full_ack(now, path, false).is_some() {
                acks.push(now);
            }
            now += Duration::from_millis(1);
            tick += 1;
        }
        acks
    }

    #[test]
    fn a_slow_settled_path_gets_a_full_ack_every_20_ms() {
        let start = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver = Receiver::new(space, 1000 * 1456, 1456, None, start);
        let mut path = PathReceiver::new(start);
        let mut next = 0;
        let second = Duration::from_secs(1);
        let (r, p) = (&mut receiver, &mut path);
        // 5 packets per 10 ms (5 Mbit/s of 1316-byte records): every 10 ms in the first second
        // (a new connection may still be finding its rate), then every 20 ms.
        let first = full_acks_while_receiving(r, p, space, &mut next, (start, start + second), 5);
        assert_eq!(first.len(), 100);
        let at = start + second;
        let settled = full_acks_while_receiving(r, p, space, &mut next, (at, at + second), 5);
        assert_eq!(settled.len(), 50);
        assert!(settled
            .windows(2)
            .all(|w| w[1] - w[0] == Duration::from_millis(20)));
        // 20 packets per 10 ms is not slow: every 10 ms.
        let at = start + 2 * second;
        let fast = full_acks_while_receiving(r, p, space, &mut next, (at, at + second), 20);
        assert_eq!(fast.len(), 100);
        // A loss (one packet never arrives): every 10 ms again for a second, then 20 ms.
        next += 1;
        let at = start + 3 * second;
        let after_loss = full_acks_while_receiving(r, p, space, &mut next, (at, at + second), 5);
        assert_eq!(after_loss.len(), 100);
        let at = start + 4 * second;
        let settled = full_acks_while_receiving(r, p, space, &mut next, (at, at + second), 5);
        assert_eq!(settled.len(), 50);
    }

    #[test]
    fn nak_report_repeats_after_an_rtt() {
        let start = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver = Receiver::new(space, 100 * 1456, 1456, None, start);
        let mut path = PathReceiver::new(start);
        deliver(&mut receiver, &mut path, start, packet(space, 0, b"x", 0));
        deliver(&mut receiver, &mut path, start, packet(space, 5, b"y", 0));
        // Default RTT 100 ms + 4 * 50 ms + 2 ms (no queue measured): not yet.
        assert_eq!(
            nak_words(&mut receiver, &path, start + Duration::from_millis(30)),
            None
        );
        assert_eq!(
            nak_words(&mut receiver, &path, start + Duration::from_millis(301)),
            None
        );
        let words = nak_words(&mut receiver, &path, start + Duration::from_millis(303)).unwrap();
        assert_eq!(words, vec![(1 << 31) | 1, 4]);
    }

    #[test]
    fn the_nak_repeat_waits_longer_on_a_queued_path_but_never_past_one_and_a_half_rtts() {
        // No queue: libsrt's period, SRTT + 4 RTTVar (+ 2 ms).
        let mut steady = RttEstimator::default();
        for _ in 0..100 {
            steady.on_sample(Duration::from_millis(40));
        }
        let base = steady.smoothed() + 4 * steady.variation() + NAK_SLACK;
        assert_eq!(Receiver::nak_interval(&steady), base);
        // The smoothed RTT 8 ms above its lowest: a retransmission waits in that queue, so the
        // repeat waits twice that longer.
        let mut queued = RttEstimator::default();
        queued.on_sample(Duration::from_millis(32));
        for _ in 0..100 {
            queued.on_sample(Duration::from_millis(40));
        }
        assert!(queued.queueing() >= Duration::from_millis(7), "{queued:?}");
        assert_eq!(
            Receiver::nak_interval(&queued),
            queued.smoothed() + 2 * queued.queueing() + 4 * queued.variation() + NAK_SLACK
        );
        // A queue as long as the base RTT: at most half a round trip more.
        let mut bloated = RttEstimator::default();
        bloated.on_sample(Duration::from_millis(10));
        for _ in 0..100 {
            bloated.on_sample(Duration::from_millis(40));
        }
        assert_eq!(
            Receiver::nak_interval(&bloated),
            bloated.smoothed() * 3 / 2 + 4 * bloated.variation() + NAK_SLACK
        );
    }

    #[test]
    fn reordering_delays_later_nak_reports() {
        let start = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver = Receiver::new(space, 100 * 1456, 1456, None, start);
        let mut path = PathReceiver::new(start);
        deliver(&mut receiver, &mut path, start, packet(space, 0, b"a", 0));
        assert!(deliver(&mut receiver, &mut path, start, packet(space, 2, b"c", 0)).is_some());
        // Packet 1 was only late (not a retransmission): 3 ms of reordering.
        let later = start + Duration::from_millis(3);
        deliver(&mut receiver, &mut path, later, packet(space, 1, b"b", 0));
        assert_eq!(receiver.reorder_delay(), Duration::from_millis(3));
        // The next gap is not reported at once, only after the tolerance.
        assert_eq!(
            deliver(&mut receiver, &mut path, later, packet(space, 4, b"e", 0)),
            None
        );
        assert_eq!(
            nak_words(&mut receiver, &path, later + Duration::from_millis(2)),
            None
        );
        assert_eq!(
            nak_words(&mut receiver, &path, later + Duration::from_millis(3)),
            Some(vec![space.to_wire(3).as_raw()])
        );
    }

    #[test]
    fn live_mode_waits_for_play_time_and_drops_too_late() {
        let start = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let latency = Duration::from_millis(100);
        let mut receiver = Receiver::new(space, 100 * 1456, 1456, Some((latency, true)), start);
        let mut path = PathReceiver::new(start);
        deliver(
            &mut receiver,
            &mut path,
            start,
            packet(space, 0, b"a", 1_000),
        );
        deliver(
            &mut receiver,
            &mut path,
            start,
            packet(space, 2, b"c", 21_000),
        );
        let mut buf = [0u8; 8];
        assert_eq!(
            receiver.read(start + Duration::from_millis(99), &mut buf),
            0
        );
        assert_eq!(
            receiver.read(start + Duration::from_millis(100), &mut buf),
            1
        );
        assert_eq!(
            receiver.next_live_event(start + Duration::from_millis(100)),
            Some(start + Duration::from_millis(120))
        );
        receiver.drop_too_late(start + Duration::from_millis(119));
        assert_eq!(receiver.counters.packets_dropped, 0);
        receiver.drop_too_late(start + Duration::from_millis(120));
        assert_eq!(receiver.counters.packets_dropped, 1);
        assert_eq!(
            receiver.read(start + Duration::from_millis(120), &mut buf),
            1
        );
        assert_eq!(buf[0], b'c');
    }

    fn fragment(
        space: SeqSpace,
        abs: u64,
        location: PacketLocation,
        payload: &'static [u8],
    ) -> DataPacket {
        DataPacket {
            message_loc: location,
            ..packet(space, abs, payload, 0)
        }
    }

    #[test]
    fn live_messages_broken_by_a_drop_are_discarded_whole() {
        let now = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver =
            Receiver::new(space, 100 * 1456, 1456, Some((Duration::ZERO, true)), now);
        let mut path = PathReceiver::new(now);
        // Message A = 0..=2 loses its middle packet; message B = 3..=4 is whole.
        deliver(
            &mut receiver,
            &mut path,
            now,
            fragment(space, 0, PacketLocation::FIRST, b"A0"),
        );
        deliver(
            &mut receiver,
            &mut path,
            now,
            fragment(space, 2, PacketLocation::LAST, b"A2"),
        );
        deliver(
            &mut receiver,
            &mut path,
            now,
            fragment(space, 3, PacketLocation::FIRST, b"B3"),
        );
        deliver(
            &mut receiver,
            &mut path,
            now,
            fragment(space, 4, PacketLocation::LAST, b"B4"),
        );
        receiver.on_drop_request(space.to_wire(1), space.to_wire(1));
        let mut buf = [0u8; 3];
        // Smaller buffer than the message: it comes in two reads, then nothing.
        assert_eq!(receiver.read(now, &mut buf), 3);
        assert_eq!(&buf, b"B3B");
        assert_eq!(receiver.read(now, &mut buf), 1);
        assert_eq!(buf[0], b'4');
        assert_eq!(receiver.read(now, &mut buf), 0);
        assert_eq!(receiver.readable_bytes(now), 0);
        assert_eq!(receiver.buffered_bytes(), 0);
    }

    #[test]
    fn drop_request_skips_missing_packets() {
        let now = Instant::now();
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let mut receiver =
            Receiver::new(space, 100 * 1456, 1456, Some((Duration::ZERO, false)), now);
        let mut path = PathReceiver::new(now);
        deliver(&mut receiver, &mut path, now, packet(space, 0, b"a", 0));
        deliver(&mut receiver, &mut path, now, packet(space, 3, b"d", 0));
        receiver.on_drop_request(space.to_wire(1), space.to_wire(2));
        assert_eq!(receiver.missing_packets(), 0);
        let mut buf = [0u8; 8];
        assert_eq!(receiver.read(now, &mut buf), 1);
        assert_eq!(receiver.read(now, &mut buf), 1);
        assert_eq!(buf[0], b'd');
    }
}
