//! tmio's own sans-IO SRT data path: everything after the handshake.
//!
//! A [`Connection`] owns the send buffer, flow window, pacing, ACK/ACK2/NAK, retransmission,
//! keepalive, shutdown, the receive buffer and delivery, for one SRT socket. It does no I/O and reads
//! no clock: the driver feeds it packets and `now`, and takes packets and deadlines out. Packets are
//! srt-protocol's types, so the driver serialises them with srt-protocol's codec.
//!
//! In [`DeliveryMode::Reliable`] it never drops or gives up on data (a TCP tunnel must not lose a byte):
//! memory is bounded by the configured buffers (backpressure through [`Connection::write`] returning 0),
//! and only silence from the peer ([`ConnectionConfig::peer_idle_timeout`]) ends it. See
//! `docs/datapath.md` for the design.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use srt_protocol::packet::{SeqNumber, SocketId};
//! use tmio_transport::srt::connection::{Connection, ConnectionConfig, DeliveryMode};
//!
//! let now = Instant::now();
//! let config = |local, remote| ConnectionConfig {
//!     local_socket_id: SocketId(local),
//!     remote_socket_id: SocketId(remote),
//!     initial_sequence_number: SeqNumber::new_truncate(1234),
//!     start_time: now,
//!     delivery: DeliveryMode::Reliable,
//!     payload_size: 1456,
//!     send_buffer_bytes: 1 << 20,
//!     recv_buffer_bytes: 1 << 20,
//!     peer_flow_window: 8192,
//!     max_bandwidth: None,
//!     peer_idle_timeout: Duration::from_secs(5),
//!     cipher: None,
//! };
//! let mut alice = Connection::new(config(1, 2), now);
//! let mut bob = Connection::new(config(2, 1), now);
//! assert_eq!(alice.write(now, b"hello").unwrap(), 5);
//! // A perfect, instant network: hand every packet over until both are quiet.
//! loop {
//!     let mut moved = false;
//!     while let Some(packet) = alice.poll_transmit(now) { bob.handle_packet(now, packet); moved = true; }
//!     while let Some(packet) = bob.poll_transmit(now) { alice.handle_packet(now, packet); moved = true; }
//!     if !moved { break; }
//! }
//! let mut buf = [0u8; 16];
//! let n = bob.read(now, &mut buf);
//! assert_eq!(&buf[..n], b"hello");
//! ```

mod loss;
mod pacing;
mod receiver;
mod rtt;
mod sender;
mod seq;

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use srt_protocol::packet::{
    AckStatistics, Acknowledgement, CompressedLossList, ControlPacket, ControlTypes, DataPacket,
    FullAckSeqNumber, Packet, SeqNumber, SocketId, SrtControlPacket, TimeSpan,
};
use srt_protocol::protocol::encryption::{Decryption, DecryptionError, Encryption};
use srt_protocol::protocol::time::Rtt;
use srt_protocol::settings::CipherSettings;

use pacing::{AckReport, RateController, TokenBucket};
use receiver::{AckToSend, Receiver, MAX_PAYLOAD};
use sender::{Framing, Sender};
use seq::{timestamp_at, SeqSpace};

/// KeepAlive after this much silence on our side.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// libsrt's sender drops packets older than max(peer latency, this) + 2 SYN in live mode.
const LIVE_MIN_DROP_THRESHOLD: Duration = Duration::from_secs(1);
/// 2 × SYN added to the live sender's drop threshold, as libsrt does.
const LIVE_DROP_SLACK: Duration = Duration::from_millis(20);
/// Copies of the Shutdown packet sent on a local close.
const SHUTDOWN_COPIES: usize = 2;
/// After a local close, Shutdown is sent again at these offsets: SRT never acknowledges it, and
/// copies sent back to back all vanish in one short outage, leaving the peer to wait for its idle
/// timeout although it has every byte.
const SHUTDOWN_REPEATS: [Duration; 4] = [
    Duration::from_millis(50),
    Duration::from_millis(200),
    Duration::from_millis(600),
    Duration::from_millis(1500),
];
/// Bytes of IP + UDP + SRT header per packet, for pacing.
const PACKET_OVERHEAD: usize = 44;

/// Everything the data path needs from the handshake and the options.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Our SRT socket id (packets to us carry it).
    pub local_socket_id: SocketId,
    /// The peer's SRT socket id (we address packets to it).
    pub remote_socket_id: SocketId,
    /// HSv5: the same initial sequence number is used in both directions.
    pub initial_sequence_number: SeqNumber,
    /// Packet timestamps are microseconds since this instant.
    pub start_time: Instant,
    /// Reliable byte stream or libsrt live mode.
    pub delivery: DeliveryMode,
    /// Maximum payload bytes per data packet (at most 1456).
    pub payload_size: usize,
    /// Memory bound of the send buffer in payload bytes; `write` takes no more (backpressure).
    pub send_buffer_bytes: usize,
    /// Memory bound of the receive buffer in payload bytes, out-of-order packets included (at
    /// least 32 packets of `payload_size` and two of the peer's largest); advertised to the peer in
    /// ACKs as a window in packets.
    pub recv_buffer_bytes: usize,
    /// The peer's flow window in packets, from its handshake.
    pub peer_flow_window: u32,
    /// Bytes/s cap for everything sent including retransmissions; `None` = adaptive pacing.
    pub max_bandwidth: Option<u64>,
    /// Nothing received for this long closes the connection with [`CloseReason::PeerIdle`].
    pub peer_idle_timeout: Duration,
    /// Encryption from the handshake; `None` = plaintext.
    pub cipher: Option<CipherSettings>,
}

/// How data is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    /// tmio's reliable mode (`rtmp` preset): byte stream, no TSBPD, never drops, delivers in order at once.
    Reliable,
    /// libsrt live mode (MPEG-TS presets): messages, TSBPD delivery at timestamp + latency, optional too-late drop.
    Live {
        /// Our receive latency (TSBPD delay).
        recv_latency: Duration,
        /// The peer's receive latency (drives our sender's too-late drop).
        send_latency: Duration,
        /// Drop packets that are too late to be played (both directions).
        too_late_drop: bool,
    },
}

/// Where the connection is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Data flows both ways.
    Open,
    /// A close is under way: ours (flushing unacknowledged data) or the peer's (data still to read).
    Closing,
    /// Finished; nothing more will be sent or delivered.
    Closed(CloseReason),
}

/// Why a connection closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// [`Connection::close`] finished: everything was acknowledged and Shutdown sent.
    LocalClose,
    /// The peer sent Shutdown and everything it had delivered was read.
    PeerShutdown,
    /// Nothing was received for this long.
    PeerIdle(Duration),
    /// The peer sent something the data path cannot accept.
    Protocol(String),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::LocalClose => write!(f, "closed locally"),
            CloseReason::PeerShutdown => write!(f, "peer shut the connection down"),
            CloseReason::PeerIdle(idle) => write!(f, "peer idle for {} s", idle.as_secs_f64()),
            CloseReason::Protocol(reason) => write!(f, "protocol error: {reason}"),
        }
    }
}

/// What [`Connection::write`] can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// The connection is closed (or closing locally): no more data is accepted.
    #[error("connection closed: {0}")]
    Closed(CloseReason),
    /// `close` was called: no more data is accepted.
    #[error("write after close")]
    WriteAfterClose,
    /// A live-mode message larger than the whole send buffer.
    #[error("message of {len} bytes can never fit the {max}-byte send buffer")]
    MessageTooLarge {
        /// The message size.
        len: usize,
        /// The send buffer size.
        max: usize,
    },
    /// srt-protocol could not encrypt a packet.
    #[error("encrypting a {len}-byte write failed")]
    Encryption {
        /// The size of the write.
        len: usize,
    },
}

/// Counters and gauges like libsrt's `SRT_TRACEBSTATS` (totals since the start unless said).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ConnectionStats {
    /// Time since the connection started, ms.
    pub elapsed_ms: u64,
    /// Data packets sent, including retransmissions.
    pub packets_sent: u64,
    /// Payload bytes sent, including retransmissions.
    pub bytes_sent: u64,
    /// Data packets received, including duplicates.
    pub packets_received: u64,
    /// Payload bytes received, including duplicates.
    pub bytes_received: u64,
    /// Packets the receiver found missing (gaps in sequence numbers).
    pub packets_lost: u64,
    /// Packets the peer reported lost to us (NAKs).
    pub packets_reported_lost: u64,
    /// Data packets retransmitted.
    pub packets_retransmitted: u64,
    /// Payload bytes retransmitted.
    pub bytes_retransmitted: u64,
    /// Packets dropped as too late (live mode only): by our sender.
    pub packets_send_dropped: u64,
    /// Packets skipped as too late or dropped at the peer's request (live mode only): by our receiver.
    pub packets_receive_dropped: u64,
    /// Duplicate data packets received and discarded.
    pub packets_duplicate: u64,
    /// Data packets discarded as outside the receive window.
    pub packets_out_of_window: u64,
    /// Data packets discarded because storing them would take the receive buffer past
    /// `recv_buffer_bytes` (not acknowledged: the peer sends them again).
    pub packets_receive_buffer_full: u64,
    /// Data packets discarded because their payload is larger than the peer may send (negotiated
    /// MSS − 44, see [`Connection::set_max_peer_payload`]).
    pub packets_oversized: u64,
    /// Payload bytes delivered to the application.
    pub bytes_delivered: u64,
    /// ACKs sent (full and light).
    pub acks_sent: u64,
    /// ACKs received.
    pub acks_received: u64,
    /// NAKs sent.
    pub naks_sent: u64,
    /// NAKs received.
    pub naks_received: u64,
    /// Retransmission timeouts.
    pub retransmission_timeouts: u64,
    /// Congestion back-offs of the adaptive pacing.
    pub congestion_events: u64,
    /// Smoothed round-trip time, ms; 0 until measured (own ACK→ACK2 sample or the peer's report;
    /// the timers start from libsrt's 100 ms guess, which is not reported as a figure).
    pub rtt_ms: f64,
    /// Round-trip time variation, ms; 0 until measured.
    pub rtt_var_ms: f64,
    /// How long the receiver waits before reporting a gap (learned reordering), ms.
    pub reorder_tolerance_ms: f64,
    /// Average send rate since the start (incl. retransmissions), Mbit/s.
    pub send_rate_mbps: f64,
    /// Receive rate over the last 20 ms window, Mbit/s.
    pub receive_rate_mbps: f64,
    /// Average delivery rate to the application since the start, Mbit/s.
    pub delivery_rate_mbps: f64,
    /// Current pacing rate, Mbit/s.
    pub pacing_rate_mbps: f64,
    /// The peer's estimate of the link capacity towards it (packet pairs), Mbit/s; 0 = unknown.
    pub estimated_link_bandwidth_mbps: f64,
    /// Data packets sent and not acknowledged.
    pub packets_in_flight: u64,
    /// Payload bytes sent and not acknowledged.
    pub bytes_in_flight: u64,
    /// Payload bytes held by the send buffer.
    pub send_buffer_bytes: u64,
    /// Highest `send_buffer_bytes` seen.
    pub send_buffer_high_water_bytes: u64,
    /// Payload bytes held by the receive buffer.
    pub receive_buffer_bytes: u64,
    /// Highest `receive_buffer_bytes` seen.
    pub receive_buffer_high_water_bytes: u64,
    /// The flow window our receive buffer advertises now: free positions, or free bytes over the
    /// largest payload the peer sent, whichever is smaller; packets.
    pub receive_buffer_available_packets: u64,
}

/// Control-packet counters.
#[derive(Debug, Clone, Copy, Default)]
struct ControlCounters {
    acks_sent: u64,
    acks_received: u64,
    naks_sent: u64,
    naks_received: u64,
    ignored_packets: u64,
}

/// One SRT connection's data path (see the module docs).
#[derive(Debug)]
pub struct Connection {
    local_socket_id: SocketId,
    remote_socket_id: SocketId,
    start_time: Instant,
    delivery: DeliveryMode,
    payload_size: usize,
    peer_idle_timeout: Duration,
    sender: Sender,
    receiver: Receiver,
    decryption: Decryption,
    rate: RateController,
    bucket: TokenBucket,
    control: VecDeque<ControlTypes>,
    close_requested: bool,
    /// How long the peer's receiver holds packets before playing them (its TSBPD latency): a
    /// graceful close waits that long after the last acknowledgement before sending Shutdown.
    shutdown_delay: Duration,
    /// When everything was acknowledged after a close request.
    drained_at: Option<Instant>,
    peer_shutdown: bool,
    closed: Option<CloseReason>,
    /// When to send Shutdown again after a local close (earliest first).
    shutdown_repeats: std::collections::VecDeque<Instant>,
    last_sent: Instant,
    last_received: Instant,
    last_now: Instant,
    peer_link_capacity: u32,
    counters: ControlCounters,
}

impl Connection {
    /// A connection in the data phase, as the handshake left it at `now`.
    pub fn new(config: ConnectionConfig, now: Instant) -> Self {
        let space = SeqSpace::new(config.initial_sequence_number);
        let payload_size = config.payload_size.clamp(1, MAX_PAYLOAD);
        let (framing, live) = match config.delivery {
            DeliveryMode::Reliable => (Framing::Stream, None),
            DeliveryMode::Live {
                recv_latency,
                too_late_drop,
                ..
            } => (Framing::Message, Some((recv_latency, too_late_drop))),
        };
        let encrypted = config.cipher.is_some();
        // A packet is encrypted when written and may be retransmitted as long as it is buffered;
        // the peer replaces the key of its parity one refresh period (minus the pre-announcement)
        // after the next key is announced. Keeping fewer packets than that in the buffer means a
        // retransmission always finds its key still at the peer.
        let max_buffered_packets = config.cipher.as_ref().map(|cipher| {
            cipher
                .key_refresh
                .period()
                .saturating_sub(cipher.key_refresh.pre_announcement_period())
                .saturating_sub(1)
                .max(1)
        });
        let sender = Sender::new(
            space,
            config.start_time,
            config.remote_socket_id,
            payload_size,
            framing,
            Encryption::new(config.cipher.clone()),
            encrypted,
            config.send_buffer_bytes.max(payload_size),
            config.peer_flow_window,
            now,
        );
        let sender = match max_buffered_packets {
            Some(limit) => sender.with_max_packets(limit),
            None => sender,
        };
        let receiver = Receiver::new(space, config.recv_buffer_bytes, payload_size, live, now);
        let rate = RateController::new(config.max_bandwidth, payload_size);
        let bucket = TokenBucket::new(now, rate.rate(), payload_size + PACKET_OVERHEAD);
        Self {
            local_socket_id: config.local_socket_id,
            remote_socket_id: config.remote_socket_id,
            start_time: config.start_time,
            delivery: config.delivery,
            payload_size,
            peer_idle_timeout: config.peer_idle_timeout,
            sender,
            receiver,
            decryption: Decryption::new(config.cipher),
            rate,
            bucket,
            control: VecDeque::new(),
            shutdown_repeats: std::collections::VecDeque::new(),
            close_requested: false,
            shutdown_delay: Duration::ZERO,
            drained_at: None,
            peer_shutdown: false,
            closed: None,
            last_sent: now,
            last_received: now,
            last_now: now,
            peer_link_capacity: 0,
            counters: ControlCounters::default(),
        }
    }

    /// Accepts up to the free send-buffer space; returns bytes taken (0 = full: backpressure).
    /// Reliable: a byte stream cut into `payload_size` packets (a small write is packetised at once,
    /// never held back waiting for more). Live: one call = one message, taken whole or not at all.
    pub fn write(&mut self, now: Instant, data: &[u8]) -> Result<usize, ConnectionError> {
        self.last_now = now;
        if let Some(reason) = &self.closed {
            return Err(ConnectionError::Closed(reason.clone()));
        }
        if self.close_requested {
            return Err(ConnectionError::WriteAfterClose);
        }
        let free = self.sender.free_bytes();
        let take = match self.delivery {
            DeliveryMode::Reliable => data.len().min(free),
            DeliveryMode::Live { .. } => {
                if data.len() > self.sender.capacity_bytes() {
                    return Err(ConnectionError::MessageTooLarge {
                        len: data.len(),
                        max: self.sender.capacity_bytes(),
                    });
                }
                if data.len() <= free {
                    data.len()
                } else {
                    0
                }
            }
        };
        if take == 0 {
            return Ok(0);
        }
        if !self.sender.push(now, &data[..take], &mut self.control) {
            return Err(ConnectionError::Encryption { len: take });
        }
        Ok(take)
    }

    /// Copies delivered bytes in order; 0 = nothing deliverable now (check [`Connection::state`]
    /// for the end). Live mode returns at most one message per call.
    pub fn read(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        self.last_now = now;
        if let Some(CloseReason::PeerIdle(_) | CloseReason::Protocol(_)) = self.closed {
            return 0;
        }
        let read = self.receiver.read(now, buf);
        self.check_peer_shutdown_drained();
        read
    }

    /// Sets the largest payload the peer may put in one data packet: the negotiated MSS − 44 (at
    /// most 1456, the default). Larger data packets are dropped and counted
    /// ([`ConnectionStats::packets_oversized`]). Our own `payload_size` may be smaller (it is our
    /// sending choice, SRT does not negotiate it), so it is no bound on what the peer sends.
    pub fn set_max_peer_payload(&mut self, bytes: usize) {
        self.receiver.set_max_peer_payload(bytes);
    }

    /// Sets how long the peer holds received packets before playing them out (its TSBPD
    /// latency; zero for a tmio peer in reliable mode). A libsrt receiver drops what it still
    /// holds when Shutdown arrives, so a graceful close waits this long after the last
    /// acknowledgement before sending it.
    pub fn set_shutdown_delay(&mut self, delay: Duration) {
        self.shutdown_delay = delay;
    }

    /// Graceful close: every accepted byte is delivered and acknowledged, then Shutdown is sent.
    pub fn close(&mut self, now: Instant) {
        self.last_now = now;
        if self.closed.is_none() {
            self.close_requested = true;
            self.check_local_close_done();
        }
    }

    /// How long a graceful close may take at least, whatever the linger time: in live mode the
    /// time for the tail to be acknowledged or to become too late (and be dropped), so that a
    /// live stream with `linger=0` (libsrt's live default) still delivers what it can; zero in
    /// reliable mode (the linger time alone bounds it there).
    pub fn close_grace(&self) -> Duration {
        match self.delivery {
            DeliveryMode::Reliable => Duration::ZERO,
            DeliveryMode::Live { send_latency, .. } => {
                send_latency.max(LIVE_MIN_DROP_THRESHOLD) + LIVE_DROP_SLACK
            }
        }
    }

    /// Live mode only: gives up on everything still buffered after a close request (counted as
    /// dropped by the sender, announced to the peer with a DropRequest) and lets the close
    /// finish with Shutdown; a live stream may lose its tail, but it ends cleanly. Returns the
    /// packets given up. In reliable mode nothing is ever given up: returns 0 and does nothing.
    pub fn abandon_unacknowledged(&mut self, now: Instant) -> u64 {
        self.last_now = now;
        if self.delivery == DeliveryMode::Reliable || !self.close_requested || self.closed.is_some()
        {
            return 0;
        }
        let before = self.sender.buffered_packets();
        self.sender
            .drop_too_late(now, Duration::ZERO, &mut self.control);
        self.check_local_close_done();
        before.saturating_sub(self.sender.buffered_packets()) as u64
    }

    /// Bytes `read` would return now.
    pub fn readable_bytes(&self) -> usize {
        self.receiver.readable_bytes(self.last_now)
    }

    /// Bytes `write` would accept now (0 once closed or closing).
    pub fn send_buffer_free(&self) -> usize {
        if self.closed.is_some() || self.close_requested {
            0
        } else {
            self.sender.free_bytes()
        }
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> ConnectionState {
        match &self.closed {
            Some(reason) => ConnectionState::Closed(reason.clone()),
            None if self.close_requested || self.peer_shutdown => ConnectionState::Closing,
            None => ConnectionState::Open,
        }
    }

    /// Our socket id.
    pub fn local_socket_id(&self) -> SocketId {
        self.local_socket_id
    }

    /// The peer's socket id.
    pub fn remote_socket_id(&self) -> SocketId {
        self.remote_socket_id
    }

    fn close_with(&mut self, reason: CloseReason) {
        if self.closed.is_none() {
            self.closed = Some(reason);
        }
    }

    fn check_local_close_done(&mut self) {
        if self.close_requested && self.closed.is_none() && self.sender.is_drained() {
            let drained_at = *self.drained_at.get_or_insert(self.last_now);
            if self.last_now < drained_at + self.shutdown_delay {
                return;
            }
            // Shutdown is never acknowledged and we stop right after it, so send a few copies:
            // a single lost Shutdown would leave the peer waiting for its idle timeout.
            for _ in 0..SHUTDOWN_COPIES {
                self.control.push_back(ControlTypes::Shutdown);
            }
            let now = self.last_now;
            self.shutdown_repeats = SHUTDOWN_REPEATS.iter().map(|&after| now + after).collect();
            self.close_with(CloseReason::LocalClose);
        }
    }

    fn check_peer_shutdown_drained(&mut self) {
        if self.peer_shutdown
            && self.closed.is_none()
            && (!self.receiver.has_pending_data()
                || self.readable_bytes() == 0
                    && self.receiver.next_live_event(self.last_now).is_none())
        {
            self.close_with(CloseReason::PeerShutdown);
        }
    }

    /// Handles one packet from the peer (the driver has parsed it with srt-protocol's codec).
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) {
        self.last_now = now;
        if self.closed.is_some() {
            return;
        }
        if packet.dest_sockid() != self.local_socket_id {
            self.counters.ignored_packets += 1;
            return;
        }
        self.last_received = now;
        match packet {
            Packet::Data(data) => self.handle_data(now, data),
            Packet::Control(control) => self.handle_control(now, control.control_type),
        }
        self.check_local_close_done();
        self.check_peer_shutdown_drained();
    }

    fn handle_data(&mut self, now: Instant, packet: DataPacket) {
        let Ok(abs) = self
            .receiver
            .classify(packet.seq_number, packet.payload.len())
        else {
            return;
        };
        let packet = match self.decryption.decrypt(packet) {
            Ok((_, packet)) => packet,
            Err(error) => {
                let reason = match error {
                    DecryptionError::UnexpectedUnencryptedPacket(_) => {
                        "the peer sends plaintext data but a passphrase is set here"
                    }
                    DecryptionError::UnexpectedEncryptedPacket(_) => {
                        "the peer sends encrypted data but no passphrase is set here"
                    }
                    DecryptionError::EncryptionFailure | DecryptionError::DecryptionFailure => {
                        "data from the peer does not decrypt (wrong passphrase?)"
                    }
                };
                self.close_with(CloseReason::Protocol(reason.to_string()));
                return;
            }
        };
        if let Some((first, last)) = self.receiver.insert(now, abs, packet) {
            let list = if first == last {
                CompressedLossList::try_from_iter(std::iter::once(first))
            } else {
                CompressedLossList::try_from_range(first..last + 1)
            };
            if let Some(list) = list {
                self.control.push_back(ControlTypes::Nak(list));
                self.counters.naks_sent += 1;
            }
        }
        if self.receiver.window_update_due() {
            self.queue_full_ack(now, true);
        } else if let Some(AckToSend::Light { ack }) = self.receiver.light_ack_due() {
            self.control
                .push_back(ControlTypes::Ack(Acknowledgement::Lite(ack)));
            self.counters.acks_sent += 1;
        }
    }

    fn handle_control(&mut self, now: Instant, control: ControlTypes) {
        match control {
            ControlTypes::Ack(ack) => self.handle_ack(now, ack),
            ControlTypes::Ack2(id) => self.receiver.on_ack2(now, u32::from(id)),
            ControlTypes::Nak(list) => {
                self.counters.naks_received += 1;
                self.sender.on_nak(now, list.iter_compressed());
            }
            ControlTypes::Shutdown => {
                self.peer_shutdown = true;
                // Nothing more will come: what is missing stays missing.
                self.check_peer_shutdown_drained();
            }
            ControlTypes::DropRequest { range, .. } => {
                if let DeliveryMode::Live { .. } = self.delivery {
                    self.receiver.on_drop_request(*range.start(), *range.end());
                }
            }
            ControlTypes::Srt(SrtControlPacket::KeyRefreshRequest(keying_material)) => {
                if let Ok(Some(answer)) = self.decryption.refresh_key_material(keying_material) {
                    self.control.push_back(ControlTypes::Srt(
                        SrtControlPacket::KeyRefreshResponse(answer),
                    ));
                }
            }
            ControlTypes::Srt(SrtControlPacket::KeyRefreshResponse(keying_material)) => {
                self.sender.on_key_refresh_response(keying_material);
            }
            // Handshakes (a repeated conclusion) are answered by the driver; the rest carry nothing
            // the data path acts on.
            ControlTypes::Handshake(_)
            | ControlTypes::KeepAlive
            | ControlTypes::CongestionWarning
            | ControlTypes::PeerError(_)
            | ControlTypes::Srt(_) => {}
        }
    }

    fn handle_ack(&mut self, now: Instant, ack: Acknowledgement) {
        self.counters.acks_received += 1;
        let full_id = ack.full_ack_seq_number();
        if let Some(id) = full_id {
            self.control.push_back(ControlTypes::Ack2(id));
        }
        let statistics = ack.statistics().cloned();
        let acked = self.sender.on_ack(
            now,
            ack.ack_number(),
            statistics.as_ref(),
            full_id.map(u32::from),
        );
        if acked.is_none() {
            return;
        }
        if let Some(statistics) = statistics {
            let mean = statistics.rtt.mean().as_micros();
            let variance = statistics.rtt.variance().as_micros();
            self.receiver.rtt.on_peer_report(mean, variance);
            if let Some(capacity) = statistics.estimated_link_capacity {
                self.peer_link_capacity = capacity;
            }
            if full_id.is_some() {
                let (sent_packets, lost_packets) = self.sender.take_report_counts();
                self.rate.on_report(
                    now,
                    AckReport {
                        peer_rtt_us: u64::from(mean.max(0).unsigned_abs()),
                        receive_rate: statistics.data_receive_rate.map(f64::from),
                        sent_packets,
                        lost_packets,
                    },
                );
                self.bucket.set_rate(now, self.rate.rate());
            }
        }
    }

    /// The next packet to put on the wire now (pacing respected), or None.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Packet> {
        self.last_now = now;
        if let Some(control_type) = self.control.pop_front() {
            if let ControlTypes::Ack(Acknowledgement::Full(..)) = control_type {
                self.counters.acks_sent += 1;
            }
            self.last_sent = now;
            return Some(Packet::Control(ControlPacket {
                timestamp: timestamp_at(self.start_time, now),
                dest_sockid: self.remote_socket_id,
                control_type,
            }));
        }
        if self.closed.is_some() || !self.bucket.ready(now) {
            return None;
        }
        let window = self.rate.congestion_window();
        let (packet, _) = self.sender.pop_packet(now, window)?;
        self.bucket.consume(packet.payload.len() + PACKET_OVERHEAD);
        self.last_sent = now;
        Some(Packet::Data(packet))
    }

    /// When to call [`Connection::handle_timeout`] next (ACK/NAK timers, pacing, retransmission,
    /// keepalive, peer idle, TSBPD). Once closed, only the repeats of a local close's Shutdown
    /// (for about 1.5 s); then `None`, and the connection can be dropped.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            // Only the repeated Shutdowns of a local close remain.
            return self.shutdown_repeats.front().copied();
        }
        let rtt = self.receiver.rtt;
        let window = self.rate.congestion_window();
        let mut deadlines = [
            Some(self.last_sent + KEEPALIVE_INTERVAL),
            Some(self.last_received + self.peer_idle_timeout),
            self.receiver.full_ack_deadline(),
            self.receiver.nak_deadline(),
            self.sender.rto_deadline(rtt.smoothed(), rtt.variation()),
            self.receiver.next_live_event(self.last_now),
            self.live_send_drop_threshold()
                .and_then(|threshold| self.sender.too_late_deadline(threshold)),
            None,
        ];
        if let (Some(drained_at), None) = (self.drained_at, self.closed.as_ref()) {
            deadlines[0] = deadlines[0].min(Some(drained_at + self.shutdown_delay));
        }
        if self.sender.pending_retransmissions() > 0 || self.sender.has_new_data(window) {
            deadlines[7] = Some(self.bucket.ready_at());
        }
        deadlines.into_iter().flatten().min()
    }

    fn live_send_drop_threshold(&self) -> Option<Duration> {
        match self.delivery {
            DeliveryMode::Live {
                send_latency,
                too_late_drop: true,
                ..
            } => Some(send_latency.max(LIVE_MIN_DROP_THRESHOLD) + LIVE_DROP_SLACK),
            _ => None,
        }
    }

    /// Runs the timers due at `now`; may queue control packets for `poll_transmit`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        if self.closed.is_some() {
            while self.shutdown_repeats.front().is_some_and(|&at| at <= now) {
                self.shutdown_repeats.pop_front();
                self.control.push_back(ControlTypes::Shutdown);
            }
            return;
        }
        let idle = now.saturating_duration_since(self.last_received);
        if idle >= self.peer_idle_timeout {
            self.close_with(CloseReason::PeerIdle(idle));
            return;
        }
        self.queue_full_ack(now, false);
        if let Some(words) = self.receiver.nak_report(now) {
            let space_list = words_to_loss_list(&words);
            if let Some(list) = space_list {
                self.control.push_back(ControlTypes::Nak(list));
                self.counters.naks_sent += 1;
            }
        }
        let rtt = self.receiver.rtt;
        if self
            .sender
            .on_rto_timer(now, rtt.smoothed(), rtt.variation())
        {
            self.rate.on_timeout();
            self.bucket.set_rate(now, self.rate.rate());
        }
        if let Some(threshold) = self.live_send_drop_threshold() {
            self.sender.drop_too_late(now, threshold, &mut self.control);
        }
        self.receiver.drop_too_late(now);
        if now.saturating_duration_since(self.last_sent) >= KEEPALIVE_INTERVAL
            && self.control.is_empty()
        {
            self.control.push_back(ControlTypes::KeepAlive);
        }
        self.check_local_close_done();
        self.check_peer_shutdown_drained();
    }

    /// Queues a full ACK if one is due (or `force`d: a window update).
    fn queue_full_ack(&mut self, now: Instant, force: bool) {
        let Some(AckToSend::Full {
            ack,
            id,
            available,
            packet_rate,
            link_capacity,
            byte_rate,
        }) = self.receiver.full_ack(now, force)
        else {
            return;
        };
        let Some(id) = FullAckSeqNumber::new(id) else {
            return;
        };
        let rtt = self.receiver.rtt;
        let statistics = AckStatistics {
            rtt: Rtt::new(
                TimeSpan::from_micros(rtt.smoothed_us_i32()),
                TimeSpan::from_micros(rtt.variation_us_i32()),
            ),
            buffer_available: available,
            packet_receive_rate: Some(packet_rate),
            estimated_link_capacity: Some(link_capacity),
            data_receive_rate: Some(byte_rate),
        };
        self.control
            .push_back(ControlTypes::Ack(Acknowledgement::Full(
                ack, statistics, id,
            )));
    }

    /// Counters and gauges at `now`.
    pub fn stats(&self, now: Instant) -> ConnectionStats {
        let sent = self.sender.counters;
        let received = self.receiver.counters;
        let elapsed = now.saturating_duration_since(self.start_time);
        let seconds = elapsed.as_secs_f64().max(1e-6);
        let mbps = |bytes: f64| bytes * 8.0 / 1e6;
        let rtt = self.receiver.rtt;
        ConnectionStats {
            elapsed_ms: elapsed.as_millis().min(u128::from(u64::MAX)) as u64,
            packets_sent: sent.packets_sent,
            bytes_sent: sent.bytes_sent,
            packets_received: received.packets_received,
            bytes_received: received.bytes_received,
            packets_lost: received.packets_lost,
            packets_reported_lost: sent.packets_reported_lost,
            packets_retransmitted: sent.packets_retransmitted,
            bytes_retransmitted: sent.bytes_retransmitted,
            packets_send_dropped: sent.packets_dropped,
            packets_receive_dropped: received.packets_dropped,
            packets_duplicate: received.packets_duplicate,
            packets_out_of_window: received.packets_out_of_window,
            packets_receive_buffer_full: received.packets_buffer_full,
            packets_oversized: received.packets_oversized,
            bytes_delivered: received.bytes_delivered,
            acks_sent: self.counters.acks_sent,
            acks_received: self.counters.acks_received,
            naks_sent: self.counters.naks_sent,
            naks_received: self.counters.naks_received,
            retransmission_timeouts: sent.timeouts,
            congestion_events: self.rate.congestion_events(),
            rtt_ms: if rtt.is_measured() {
                rtt.smoothed().as_secs_f64() * 1e3
            } else {
                0.0
            },
            rtt_var_ms: if rtt.is_measured() {
                rtt.variation().as_secs_f64() * 1e3
            } else {
                0.0
            },
            reorder_tolerance_ms: self.receiver.reorder_delay().as_secs_f64() * 1e3,
            send_rate_mbps: mbps(sent.bytes_sent as f64 / seconds),
            receive_rate_mbps: mbps(f64::from(self.receiver.byte_rate())),
            delivery_rate_mbps: mbps(received.bytes_delivered as f64 / seconds),
            pacing_rate_mbps: mbps(self.rate.rate()),
            estimated_link_bandwidth_mbps: mbps(
                f64::from(self.peer_link_capacity) * self.payload_size as f64,
            ),
            packets_in_flight: self.sender.in_flight_packets(),
            bytes_in_flight: self.sender.in_flight_bytes() as u64,
            send_buffer_bytes: self.sender.buffered_bytes() as u64,
            send_buffer_high_water_bytes: sent.buffer_high_water_bytes as u64,
            receive_buffer_bytes: self.receiver.buffered_bytes() as u64,
            receive_buffer_high_water_bytes: received.buffer_high_water_bytes as u64,
            receive_buffer_available_packets: u64::from(self.receiver.available_packets()),
        }
    }
}

/// A NAK loss list from already-compressed words (a range is a start with the top bit set, then
/// its inclusive end).
fn words_to_loss_list(words: &[u32]) -> Option<CompressedLossList> {
    let mut seqs = Vec::new();
    let mut iter = words.iter();
    while let Some(&word) = iter.next() {
        if word & (1 << 31) != 0 {
            let &end = iter.next()?;
            let start = SeqNumber::new_truncate(word & !(1 << 31));
            let end = SeqNumber::new_truncate(end);
            let count = (end - start) as usize + 1;
            seqs.extend((0..count as u32).map(|offset| start + offset));
        } else {
            seqs.push(SeqNumber::new_truncate(word));
        }
    }
    CompressedLossList::try_from_iter(seqs.into_iter())
}
