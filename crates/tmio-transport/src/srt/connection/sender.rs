//! The sending half: the group's send buffer (each packet stored once) and, per path, what that
//! path carried: its next packet, its acknowledged point, its loss list, flow window and
//! retransmission timer; live-mode too-late drop.
//!
//! A packet leaves the buffer once any path's ACK covers it (the receiver then has it). A path
//! never sends below the buffer's start: a path that lags (slower, or just activated) skips what
//! another path got acknowledged.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use srt_protocol::packet::{
    AckStatistics, ControlTypes, DataEncryption, DataPacket, MsgNumber, PacketLocation, SocketId,
    SrtControlPacket, TimeStamp,
};

use super::super::cipher::SendKeys;
use super::loss::LossList;
use super::seq::{timestamp_at, SeqSpace};

/// The smallest retransmission timeout.
const MIN_RTO: Duration = Duration::from_millis(50);
/// The largest interval between timer-based retransmissions during an outage, so that a path that
/// comes back is noticed within this time.
const MAX_RTO: Duration = Duration::from_secs(1);
/// libsrt's SYN interval; the receiver ACKs at least this often.
const SYN: Duration = Duration::from_millis(10);

/// One packet waiting for its acknowledgement (or for its first transmission).
#[derive(Debug, Clone)]
struct SendSlot {
    payload: Bytes,
    location: PacketLocation,
    message: MsgNumber,
    timestamp: TimeStamp,
    encryption: DataEncryption,
    written_at: Instant,
}

/// Counters kept by the sender.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SenderCounters {
    pub(crate) packets_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) packets_retransmitted: u64,
    pub(crate) bytes_retransmitted: u64,
    pub(crate) packets_dropped: u64,
    pub(crate) bytes_dropped: u64,
    pub(crate) packets_reported_lost: u64,
    pub(crate) timeouts: u64,
    pub(crate) buffer_high_water_bytes: usize,
}

/// How a write was cut into packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Every packet is a message of its own (byte stream).
    Stream,
    /// One write is one message, split over First/Middle/Last packets.
    Message,
}

/// What a data packet is needed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transmission {
    New,
    Retransmission,
}

/// What one path sent of the group's send buffer: its part of the flow and retransmission state.
#[derive(Debug, Clone)]
pub(crate) struct PathSender {
    /// The peer's socket id on this path (data packets are addressed to it).
    remote_socket_id: SocketId,
    /// The next packet this path has not sent yet (never below the buffer's start).
    next: u64,
    /// The highest point this path's ACKs covered.
    acked: u64,
    /// Packets this path must send again (NAKs on it, its retransmission timer).
    loss: LossList<()>,
    /// Exclusive limit on new packets from the window the peer advertised on this path.
    flow_limit: u64,
    peer_flow_window: u64,
    newest_full_ack: Option<u32>,
    /// Last acknowledgement, NAK or first send on this path: the retransmission timer's start.
    last_progress: Instant,
    /// When this path last went from nothing in flight to something in flight.
    in_flight_since: Instant,
    backoff: u32,
    sent_since_report: u64,
    lost_since_report: u64,
    /// Where this path's ACKs stood at the previous report.
    acked_at_report: u64,
    pub(crate) counters: SenderCounters,
}

/// What one path did since its previous rate report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReportCounts {
    /// Packets sent, retransmissions included.
    pub(crate) sent: u64,
    /// Packets newly reported lost.
    pub(crate) lost: u64,
    /// Packets the path's ACKs newly covered.
    pub(crate) acked: u64,
}

impl PathSender {
    /// A path that has sent nothing, starting at the buffer's current start `una`.
    pub(crate) fn new(
        remote_socket_id: SocketId,
        peer_flow_window: u32,
        una: u64,
        now: Instant,
    ) -> Self {
        let peer_flow_window = u64::from(peer_flow_window.max(2));
        Self {
            remote_socket_id,
            next: una,
            acked: una,
            loss: LossList::default(),
            flow_limit: una + peer_flow_window,
            peer_flow_window,
            newest_full_ack: None,
            last_progress: now,
            in_flight_since: now,
            backoff: 0,
            sent_since_report: 0,
            lost_since_report: 0,
            acked_at_report: una,
            counters: SenderCounters::default(),
        }
    }

    /// When this path last went from nothing in flight to something in flight (silence from the
    /// peer before that is no sign of trouble).
    pub(crate) fn in_flight_since(&self) -> Instant {
        self.in_flight_since
    }

    /// Packets queued for retransmission on this path.
    pub(crate) fn pending_retransmissions(&self) -> u64 {
        self.loss.packet_count()
    }

    /// What this path sent, lost and had acknowledged since the previous call (for its rate
    /// controller).
    pub(crate) fn take_report_counts(&mut self) -> ReportCounts {
        let counts = ReportCounts {
            sent: self.sent_since_report,
            lost: self.lost_since_report,
            acked: self.acked.saturating_sub(self.acked_at_report),
        };
        self.sent_since_report = 0;
        self.lost_since_report = 0;
        self.acked_at_report = self.acked;
        counts
    }

    /// Forgets everything this path had in flight or queued (a backup path taken out of service,
    /// or a broken one): it starts again at the buffer's start when it carries data again.
    pub(crate) fn reset_to(&mut self, una: u64, now: Instant) {
        self.next = una;
        self.acked = self.acked.max(una);
        // Not delivered on this path: the buffer's start moved past it.
        self.acked_at_report = self.acked_at_report.max(una);
        self.loss = LossList::default();
        self.flow_limit = self.flow_limit.max(una + self.peer_flow_window);
        self.last_progress = now;
        self.in_flight_since = now;
        self.backoff = 0;
    }
}

/// The send buffer, shared by every path of a connection.
#[derive(Debug)]
pub(crate) struct Sender {
    space: SeqSpace,
    start_time: Instant,
    payload_size: usize,
    framing: Framing,
    /// `None` = plaintext.
    keys: Option<SendKeys>,
    slots: VecDeque<SendSlot>,
    /// Absolute index of `slots[0]`: the oldest packet no path's ACK covers.
    una: u64,
    /// One past the newest packet any path has sent.
    sent_end: u64,
    bytes: usize,
    capacity_bytes: usize,
    max_slots: usize,
    next_message: MsgNumber,
    /// Totals over every path, plus what only the buffer knows (drops, high water).
    pub(crate) counters: SenderCounters,
}

impl Sender {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        space: SeqSpace,
        start_time: Instant,
        payload_size: usize,
        framing: Framing,
        keys: Option<SendKeys>,
        capacity_bytes: usize,
    ) -> Self {
        let payload_size = payload_size.max(1);
        Self {
            space,
            start_time,
            payload_size,
            framing,
            keys,
            slots: VecDeque::new(),
            una: 0,
            sent_end: 0,
            bytes: 0,
            capacity_bytes,
            max_slots: (capacity_bytes / payload_size).max(16) * 2,
            next_message: MsgNumber::new_truncate(1),
            counters: SenderCounters::default(),
        }
    }

    /// Caps the number of buffered packets (encryption: see `Connection::new`).
    pub(crate) fn with_max_packets(mut self, limit: usize) -> Self {
        self.max_slots = self.max_slots.min(limit);
        self
    }

    /// Free space of the send buffer, in payload bytes.
    pub(crate) fn free_bytes(&self) -> usize {
        let free_slots = self.max_slots.saturating_sub(self.slots.len());
        self.capacity_bytes
            .saturating_sub(self.bytes)
            .min(free_slots.saturating_mul(self.payload_size))
    }

    /// Payload bytes held (unsent or unacknowledged).
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Packets held.
    pub(crate) fn buffered_packets(&self) -> usize {
        self.slots.len()
    }

    /// Packets sent on `path` and not acknowledged.
    pub(crate) fn in_flight_packets(&self, path: &PathSender) -> u64 {
        path.next.saturating_sub(self.una)
    }

    /// Payload bytes sent on `path` and not acknowledged.
    pub(crate) fn in_flight_bytes(&self, path: &PathSender) -> usize {
        self.slots
            .iter()
            .take(self.in_flight_packets(path) as usize)
            .map(|slot| slot.payload.len())
            .sum()
    }

    /// The buffer's start: the oldest packet no ACK covers (a new path starts here).
    pub(crate) fn una(&self) -> u64 {
        self.una
    }

    /// Whether everything written was acknowledged.
    pub(crate) fn is_drained(&self) -> bool {
        self.slots.is_empty()
    }

    /// The largest message `write` could ever accept (live mode).
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
    }

    /// Queues `data` as packets; `data` must fit (`free_bytes`). Keying-material announcements due
    /// are pushed to `control`. Returns false when encryption failed.
    pub(crate) fn push(
        &mut self,
        now: Instant,
        data: &[u8],
        control: &mut VecDeque<ControlTypes>,
    ) -> bool {
        if data.is_empty() {
            return true;
        }
        let timestamp = timestamp_at(self.start_time, now);
        if self.framing == Framing::Stream && self.keys.is_none() {
            if let Some(rest) = self.coalesce_into_unsent(data) {
                if rest.is_empty() {
                    return true;
                }
                return self.push_packets(now, timestamp, rest, control);
            }
        }
        self.push_packets(now, timestamp, data, control)
    }

    /// Appends to the last packet if it is unsent and not full (plaintext byte streams only), so a
    /// backlog of small writes still leaves in full packets. Returns the part that did not fit.
    fn coalesce_into_unsent<'a>(&mut self, data: &'a [u8]) -> Option<&'a [u8]> {
        let unsent =
            (self.una + self.slots.len() as u64).saturating_sub(self.sent_end.max(self.una));
        if unsent == 0 {
            return None;
        }
        let last = self.slots.back_mut()?;
        let room = self.payload_size.saturating_sub(last.payload.len());
        if room == 0 {
            return None;
        }
        let taken = room.min(data.len());
        let mut merged = Vec::with_capacity(last.payload.len() + taken);
        merged.extend_from_slice(&last.payload);
        merged.extend_from_slice(&data[..taken]);
        last.payload = Bytes::from(merged);
        self.bytes += taken;
        self.counters.buffer_high_water_bytes =
            self.counters.buffer_high_water_bytes.max(self.bytes);
        Some(&data[taken..])
    }

    fn push_packets(
        &mut self,
        now: Instant,
        timestamp: TimeStamp,
        data: &[u8],
        control: &mut VecDeque<ControlTypes>,
    ) -> bool {
        // One copy of `data`; each packet's payload is split off it (sharing the allocation)
        // and encrypted in place.
        let mut rest = BytesMut::from(data);
        let chunks = data.len().div_ceil(self.payload_size);
        let message = self.next_message.increment();
        for chunk in 0..chunks {
            let mut payload = rest.split_to(self.payload_size.min(rest.len()));
            let (location, message) = match self.framing {
                Framing::Stream if chunk == 0 => (PacketLocation::ONLY, message),
                Framing::Stream => (PacketLocation::ONLY, self.next_message.increment()),
                Framing::Message => {
                    let mut location = PacketLocation::MIDDLE;
                    if chunk == 0 {
                        location |= PacketLocation::FIRST;
                    }
                    if chunk + 1 == chunks {
                        location |= PacketLocation::LAST;
                    }
                    (location, message)
                }
            };
            let abs = self.una + self.slots.len() as u64;
            let encryption = match &mut self.keys {
                None => DataEncryption::None,
                Some(keys) => {
                    let Some((parity, announcement)) =
                        keys.encrypt(self.space.to_wire(abs), &mut payload)
                    else {
                        return false;
                    };
                    if let Some(keying_material) = announcement {
                        control.push_back(ControlTypes::Srt(SrtControlPacket::KeyRefreshRequest(
                            keying_material,
                        )));
                    }
                    parity
                }
            };
            self.bytes += payload.len();
            self.slots.push_back(SendSlot {
                payload: payload.freeze(),
                location,
                message,
                timestamp,
                encryption,
                written_at: now,
            });
        }
        self.counters.buffer_high_water_bytes =
            self.counters.buffer_high_water_bytes.max(self.bytes);
        true
    }

    /// Brings `path` up to the buffer's start: what another path got acknowledged is neither sent
    /// nor retransmitted here.
    fn catch_up(&self, path: &mut PathSender) {
        if path.next < self.una {
            path.next = self.una;
        }
        path.loss.remove_below(self.una);
    }

    /// Whether a retransmission is waiting on `path`.
    pub(crate) fn has_retransmission(&self, path: &mut PathSender) -> bool {
        self.catch_up(path);
        while let Some(first) = path.loss.first() {
            if first >= path.next {
                path.loss.remove_range(path.next, u64::MAX);
            } else {
                return true;
            }
        }
        false
    }

    /// Whether `path` may send a new packet now (unsent data within its flow and congestion
    /// windows).
    pub(crate) fn has_new_data(&self, path: &PathSender, congestion_window: u64) -> bool {
        let next = path.next.max(self.una);
        let unsent = next < self.una + self.slots.len() as u64;
        let in_flight = next - self.una;
        unsent
            && next < path.flow_limit
            && in_flight < path.peer_flow_window
            && in_flight < congestion_window
    }

    /// The next data packet for `path`: a retransmission first, else new data within its windows.
    pub(crate) fn pop_packet(
        &mut self,
        now: Instant,
        path: &mut PathSender,
        congestion_window: u64,
    ) -> Option<(DataPacket, Transmission)> {
        let (abs, kind) = if self.has_retransmission(path) {
            (path.loss.pop_first()?, Transmission::Retransmission)
        } else if self.has_new_data(path, congestion_window) {
            let abs = path.next;
            path.next += 1;
            // A packet another path already carried counts as a first transmission here.
            (abs, Transmission::New)
        } else {
            return None;
        };
        let slot = self.slots.get((abs - self.una) as usize)?;
        let packet = DataPacket {
            seq_number: self.space.to_wire(abs),
            message_loc: slot.location,
            in_order_delivery: self.framing == Framing::Stream,
            encryption: slot.encryption,
            retransmitted: kind == Transmission::Retransmission,
            message_number: slot.message,
            timestamp: slot.timestamp,
            dest_sockid: path.remote_socket_id,
            payload: slot.payload.clone(),
        };
        let size = packet.payload.len() as u64;
        for counters in [&mut self.counters, &mut path.counters] {
            counters.packets_sent += 1;
            counters.bytes_sent += size;
            if kind == Transmission::Retransmission {
                counters.packets_retransmitted += 1;
                counters.bytes_retransmitted += size;
            }
        }
        if abs == self.una && kind == Transmission::New {
            // Nothing was in flight on this path: its retransmission timer starts now.
            path.last_progress = now;
            path.in_flight_since = now;
        }
        self.sent_end = self.sent_end.max(abs + 1);
        path.sent_since_report += 1;
        Some((packet, kind))
    }

    /// Processes an ACK received on `path`. Returns the number of packets newly acknowledged, or
    /// None if the ACK was invalid (acknowledges packets never sent on any path) or stale.
    pub(crate) fn on_ack(
        &mut self,
        now: Instant,
        path: &mut PathSender,
        ack: srt_protocol::packet::SeqNumber,
        statistics: Option<&AckStatistics>,
        full_ack_id: Option<u32>,
    ) -> Option<u64> {
        let abs = self.space.to_abs(self.una, ack)?;
        if abs > self.sent_end.max(self.una) {
            return None;
        }
        let mut newly_acked = 0;
        if abs > self.una {
            newly_acked = abs - self.una;
            for _ in 0..newly_acked {
                if let Some(slot) = self.slots.pop_front() {
                    self.bytes -= slot.payload.len();
                }
            }
            self.una = abs;
        }
        self.catch_up(path);
        if abs > path.acked {
            path.acked = abs;
            path.last_progress = now;
            path.backoff = 0;
        }
        if let Some(statistics) = statistics {
            let newer = match (full_ack_id, path.newest_full_ack) {
                (Some(id), Some(newest)) => (id.wrapping_sub(newest) as i32) > 0,
                _ => true,
            };
            if newer && abs >= path.acked {
                if let Some(id) = full_ack_id {
                    path.newest_full_ack = Some(id);
                }
                // The window counts from the receiver's contiguous point, which is at least the
                // buffer's start even when this path acknowledges less (it lags another path).
                path.flow_limit = abs.max(self.una) + u64::from(statistics.buffer_available);
            }
        }
        Some(newly_acked)
    }

    /// Processes the compressed loss list of a NAK received on `path`: those packets are sent
    /// again on that path. Returns how many packets were newly listed for retransmission.
    /// Garbage (unterminated ranges, numbers outside what this path sent) is ignored.
    pub(crate) fn on_nak(
        &mut self,
        now: Instant,
        path: &mut PathSender,
        words: impl Iterator<Item = u32>,
    ) -> u64 {
        self.catch_up(path);
        let before = path.loss.packet_count();
        let mut words = words.peekable();
        while let Some(word) = words.next() {
            let (first, last) = if word & (1 << 31) != 0 {
                let Some(last) = words.next() else { break };
                (word & !(1 << 31), last & !(1 << 31))
            } else {
                (word, word)
            };
            let first = srt_protocol::packet::SeqNumber::new_truncate(first);
            let last = srt_protocol::packet::SeqNumber::new_truncate(last);
            let (Some(first), Some(last)) = (
                self.space.to_abs(self.una, first),
                self.space.to_abs(self.una, last),
            ) else {
                continue;
            };
            let start = first.max(self.una);
            let end = (last + 1).min(path.next);
            if start < end {
                path.loss.insert(start, end, ());
                // The receiver is alive and repairing known holes: NAKs, not the timer, drive
                // recovery now (the timer is for tail loss and lost NAKs).
                path.last_progress = now;
            }
        }
        let added = path.loss.packet_count() - before;
        self.counters.packets_reported_lost += added;
        path.counters.packets_reported_lost += added;
        path.lost_since_report += added;
        added
    }

    /// The retransmission timeout for `path`'s current backoff. Its base, 1.5·SRTT + 4·RTTVar +
    /// two ACK periods (at least [`MIN_RTO`]), is never shorter than the interval at which a
    /// receiver repeats its NAKs (1.5·SRTT + 4·RTTVar and a little slack in tmio's, less in
    /// libsrt's): while the receiver keeps asking for what it misses, NAKs drive recovery and the
    /// timer stays quiet, however long the round trip.
    fn rto(path: &PathSender, smoothed_rtt: Duration, rtt_variation: Duration) -> Duration {
        let base = (smoothed_rtt * 3 / 2 + 4 * rtt_variation + 2 * SYN).max(MIN_RTO);
        let backed_off = base.saturating_mul(1 << path.backoff.min(10));
        backed_off.min(MAX_RTO.max(base))
    }

    /// When `path`'s retransmission timer fires, if it has anything in flight.
    pub(crate) fn rto_deadline(
        &self,
        path: &PathSender,
        smoothed_rtt: Duration,
        rtt_variation: Duration,
    ) -> Option<Instant> {
        (path.next > self.una)
            .then(|| path.last_progress + Self::rto(path, smoothed_rtt, rtt_variation))
    }

    /// Fires `path`'s retransmission timer if due (nothing acknowledged and no NAK for a
    /// retransmission timeout). It does not resend the flight: when no NAK-driven retransmission
    /// is pending it queues two packets, paced like any other, that make the receiver say what
    /// it misses — the oldest packet in flight (its loss, or the loss of its NAK or its
    /// retransmission, holds the ACK back) and the newest (a tail probe: once it arrives the
    /// receiver NAKs every hole before it, which covers tail loss and outages). Returns whether
    /// it fired.
    pub(crate) fn on_rto_timer(
        &mut self,
        now: Instant,
        path: &mut PathSender,
        smoothed_rtt: Duration,
        rtt_variation: Duration,
    ) -> bool {
        self.catch_up(path);
        let Some(deadline) = self.rto_deadline(path, smoothed_rtt, rtt_variation) else {
            return false;
        };
        if now < deadline {
            return false;
        }
        if !self.has_retransmission(path) {
            path.loss.insert(self.una, self.una + 1, ());
            path.loss.insert(path.next - 1, path.next, ());
        }
        self.counters.timeouts += 1;
        path.counters.timeouts += 1;
        path.backoff = path.backoff.saturating_add(1);
        path.last_progress = now;
        true
    }

    /// Live mode: drops every packet older than `threshold` (whole messages from the front of the
    /// buffer) and returns DropRequests to send for them.
    pub(crate) fn drop_too_late(
        &mut self,
        now: Instant,
        threshold: Duration,
        control: &mut VecDeque<ControlTypes>,
    ) {
        let mut dropped_from: Option<(u64, MsgNumber)> = None;
        while let Some(front) = self.slots.front() {
            let too_late = now.saturating_duration_since(front.written_at) > threshold;
            // Never cut a message in half: keep dropping until its last packet.
            let mid_message =
                dropped_from.is_some() && !front.location.contains(PacketLocation::FIRST);
            if !too_late && !mid_message {
                break;
            }
            if dropped_from.is_none() {
                dropped_from = Some((self.una, front.message));
            }
            if let Some(slot) = self.slots.pop_front() {
                self.bytes -= slot.payload.len();
                self.counters.packets_dropped += 1;
                self.counters.bytes_dropped += slot.payload.len() as u64;
            }
            self.una += 1;
        }
        if let Some((first, message)) = dropped_from {
            self.sent_end = self.sent_end.max(self.una);
            control.push_back(ControlTypes::new_drop_request(
                message,
                self.space.to_wire(first)..self.space.to_wire(self.una),
            ));
        }
    }

    /// When the oldest packet becomes too late (live mode).
    pub(crate) fn too_late_deadline(&self, threshold: Duration) -> Option<Instant> {
        self.slots.front().map(|slot| slot.written_at + threshold)
    }

    /// Handles the peer's answer to our keying-material announcement.
    pub(crate) fn on_key_refresh_response(
        &mut self,
        keying_material: srt_protocol::packet::KeyingMaterialMessage,
    ) -> bool {
        self.keys
            .as_mut()
            .is_some_and(|keys| keys.on_refresh_response(&keying_material))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use srt_protocol::packet::SeqNumber;

    fn sender(capacity: usize, framing: Framing, now: Instant) -> (Sender, PathSender) {
        let sender = Sender::new(
            SeqSpace::new(SeqNumber::new_truncate((1 << 31) - 2)),
            now,
            100,
            framing,
            None,
            capacity,
        );
        (sender, PathSender::new(SocketId(7), 1000, 0, now))
    }

    #[test]
    fn stream_writes_become_single_packet_messages_and_ack_frees_space() {
        let now = Instant::now();
        let mut control = VecDeque::new();
        let (mut sender, mut path) = sender(1000, Framing::Stream, now);
        assert!(sender.push(now, &[1; 250], &mut control));
        assert_eq!(sender.buffered_packets(), 3);
        assert_eq!(sender.free_bytes(), 750);
        let mut sent = Vec::new();
        while let Some((packet, kind)) = sender.pop_packet(now, &mut path, 64) {
            assert_eq!(kind, Transmission::New);
            assert_eq!(packet.message_loc, PacketLocation::ONLY);
            sent.push(packet);
        }
        assert_eq!(sent.len(), 3);
        assert_ne!(sent[0].message_number, sent[1].message_number);
        assert_eq!(sent[2].payload.len(), 50);
        // Seq numbers wrap: (2^31 - 2), (2^31 - 1), 0.
        assert_eq!(sent[2].seq_number.as_raw(), 0);
        assert_eq!(
            sender.on_ack(now, &mut path, SeqNumber::new_truncate(0), None, None),
            Some(2)
        );
        assert_eq!(sender.free_bytes(), 950);
        // An ACK beyond what was sent is rejected.
        assert_eq!(
            sender.on_ack(now, &mut path, SeqNumber::new_truncate(5), None, None),
            None
        );
    }

    #[test]
    fn small_unsent_writes_are_coalesced() {
        let now = Instant::now();
        let mut control = VecDeque::new();
        let (mut sender, _path) = sender(1000, Framing::Stream, now);
        for _ in 0..10 {
            assert!(sender.push(now, &[2; 30], &mut control));
        }
        assert_eq!(sender.buffered_packets(), 3);
        assert_eq!(sender.buffered_bytes(), 300);
    }

    #[test]
    fn messages_keep_their_boundaries() {
        let now = Instant::now();
        let mut control = VecDeque::new();
        let (mut sender, mut path) = sender(1000, Framing::Message, now);
        assert!(sender.push(now, &[3; 250], &mut control));
        let locations: Vec<PacketLocation> =
            std::iter::from_fn(|| sender.pop_packet(now, &mut path, 64))
                .map(|(packet, _)| packet.message_loc)
                .collect();
        assert_eq!(
            locations,
            vec![
                PacketLocation::FIRST,
                PacketLocation::MIDDLE,
                PacketLocation::LAST
            ]
        );
    }

    #[test]
    fn nak_retransmits_first_and_garbage_is_ignored() {
        let now = Instant::now();
        let mut control = VecDeque::new();
        let (mut sender, mut path) = sender(10_000, Framing::Stream, now);
        assert!(sender.push(now, &[4; 1000], &mut control));
        for _ in 0..5 {
            assert!(sender.pop_packet(now, &mut path, 64).is_some());
        }
        let wire_of = |abs: u64| sender.space.to_wire(abs).as_raw();
        // A range 1..=2, an unterminated range, and a number far out of the window.
        let words = vec![
            (1 << 31) | wire_of(1),
            wire_of(2),
            wire_of(400),
            (1 << 31) | wire_of(3),
        ];
        assert_eq!(sender.on_nak(now, &mut path, words.into_iter()), 2);
        let (first, kind) = sender.pop_packet(now, &mut path, 64).unwrap();
        assert_eq!(kind, Transmission::Retransmission);
        assert!(first.retransmitted);
        assert_eq!(first.seq_number, sender.space.to_wire(1));
        assert_eq!(
            sender.pop_packet(now, &mut path, 64).unwrap().0.seq_number,
            sender.space.to_wire(2)
        );
        assert_eq!(
            sender.pop_packet(now, &mut path, 64).unwrap().1,
            Transmission::New
        );
    }

    #[test]
    fn flow_window_from_acks_limits_new_packets() {
        let now = Instant::now();
        let mut control = VecDeque::new();
        let (mut sender, mut path) = sender(10_000, Framing::Stream, now);
        assert!(sender.push(now, &[5; 2000], &mut control));
        let statistics = AckStatistics {
            rtt: Default::default(),
            buffer_available: 3,
            packet_receive_rate: None,
            estimated_link_capacity: None,
            data_receive_rate: None,
        };
        assert_eq!(
            sender.on_ack(
                now,
                &mut path,
                sender.space.to_wire(0),
                Some(&statistics),
                Some(1)
            ),
            Some(0)
        );
        let sent = std::iter::from_fn(|| sender.pop_packet(now, &mut path, 64)).count();
        assert_eq!(sent, 3);
    }

    #[test]
    fn rto_resends_the_oldest_and_the_newest_packet_with_backoff() {
        let start = Instant::now();
        let mut control = VecDeque::new();
        let (mut sender, mut path) = sender(100_000, Framing::Stream, start);
        // 30 packets of 100 bytes in flight.
        assert!(sender.push(start, &[6; 3000], &mut control));
        while sender.pop_packet(start, &mut path, 64).is_some() {}
        let rtt = Duration::from_millis(10);
        let var = Duration::from_millis(1);
        let first = sender.rto_deadline(&path, rtt, var).unwrap();
        assert_eq!(first - start, Duration::from_millis(50));
        assert!(!sender.on_rto_timer(first - Duration::from_millis(1), &mut path, rtt, var));
        assert!(sender.on_rto_timer(first, &mut path, rtt, var));
        assert_eq!(path.pending_retransmissions(), 2);
        let space = sender.space;
        let resent: Vec<u64> = std::iter::from_fn(|| sender.pop_packet(first, &mut path, 64))
            .map(|(packet, kind)| {
                assert_eq!(kind, Transmission::Retransmission);
                space.to_abs(0, packet.seq_number).unwrap()
            })
            .collect();
        assert_eq!(resent, [0, 29]);
        let second = sender.rto_deadline(&path, rtt, var).unwrap();
        assert_eq!(second - first, Duration::from_millis(100));
    }

    #[test]
    fn rto_waits_for_the_receivers_repeated_nak_on_long_round_trips() {
        let start = Instant::now();
        let mut control = VecDeque::new();
        let (mut sender, mut path) = sender(10_000, Framing::Stream, start);
        assert!(sender.push(start, &[6; 300], &mut control));
        while sender.pop_packet(start, &mut path, 64).is_some() {}
        // 600 ms round trip: tmio's receiver repeats a NAK after 1.5·600 + 4·10 + 2 = 942 ms.
        let rtt = Duration::from_millis(600);
        let var = Duration::from_millis(10);
        let deadline = sender.rto_deadline(&path, rtt, var).unwrap();
        assert_eq!(deadline - start, Duration::from_millis(960));
    }

    #[test]
    fn live_sender_drops_too_late_messages_with_a_drop_request() {
        let start = Instant::now();
        let mut control = VecDeque::new();
        let (mut sender, mut path) = sender(10_000, Framing::Message, start);
        assert!(sender.push(start, &[7; 150], &mut control));
        assert!(sender.push(start + Duration::from_millis(500), &[8; 50], &mut control));
        sender.drop_too_late(
            start + Duration::from_millis(1100),
            Duration::from_secs(1),
            &mut control,
        );
        assert_eq!(sender.counters.packets_dropped, 2);
        assert_eq!(sender.buffered_packets(), 1);
        assert!(matches!(
            control.back(),
            Some(ControlTypes::DropRequest { .. })
        ));
        let (packet, _) = sender.pop_packet(start, &mut path, 64).unwrap();
        assert_eq!(packet.message_loc, PacketLocation::ONLY);
    }
}
