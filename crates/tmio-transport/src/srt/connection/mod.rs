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
//! use tmio_transport::srt::connection::{Connection, ConnectionConfig, DeliveryMode, RateControl};
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
//!     rate_control: RateControl::UNCAPPED,
//!     peer_idle_timeout: Duration::from_secs(5),
//!     cipher: None,
//! };
//! let mut alice = Connection::new(config(1, 2), now);
//! let mut bob = Connection::new(config(2, 1), now);
//! assert_eq!(alice.write(now, b"hello").unwrap(), 5);
//! // A perfect, instant network: hand every packet over until both are quiet.
//! loop {
//!     let mut moved = false;
//!     while let Some(transmit) = alice.poll_transmit(now) { bob.handle_packet(now, transmit.path, transmit.packet); moved = true; }
//!     while let Some(transmit) = bob.poll_transmit(now) { alice.handle_packet(now, transmit.path, transmit.packet); moved = true; }
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
use srt_protocol::protocol::time::Rtt;

use super::cipher::{decrypt, SendKeys, StreamCipher};

use pacing::{cap_bucket, AckReport, RateController, TokenBucket};
use receiver::{AckToSend, PathReceiver, Receiver, Rejection, MAX_PAYLOAD};
use rtt::RttEstimator;
use sender::{Framing, PathSender, Sender};
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
/// A NAK that queues at least this many packets is logged at debug level (fewer: trace).
const RETRANSMISSION_BURST: u64 = 16;
/// libsrt's minimum stability timeout of a backup group's active path.
const MIN_STABILITY_TIMEOUT: Duration = Duration::from_millis(60);
/// Backup mode: a preferred path takes the data back only if something arrived on it this
/// recently (idle paths hear keepalives every second)...
const SWITCH_BACK_HEARD_WITHIN: Duration = Duration::from_millis(1500);
/// ... and it has not been unstable for this long.
const SWITCH_BACK_STABLE_FOR: Duration = Duration::from_secs(2);

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
    /// How each path's sending rate is chosen (see [`RateControl`]).
    pub rate_control: RateControl,
    /// Nothing received for this long closes the connection with [`CloseReason::PeerIdle`].
    pub peer_idle_timeout: Duration,
    /// Encryption from the handshake; `None` = plaintext.
    pub cipher: Option<StreamCipher>,
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

/// How a path's sending rate is chosen. Everything sent counts against the rate: retransmissions
/// and packet headers (IP, UDP and SRT: 44 bytes a packet) included, as libsrt counts `maxbw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateControl {
    /// tmio's adaptive controller (`congestion=live_bbr`, what the presets select): it finds the
    /// path's rate from the receiver's reports — backing off on queueing delay and on loss well
    /// above the path's random loss, not on random loss itself — and never sends faster than
    /// `cap` bytes/s (`None`: no cap). See `docs/datapath.md`, "Pacing".
    Adaptive {
        /// The ceiling in bytes/s (the `maxbw` option).
        cap: Option<u64>,
    },
    /// Paced at exactly this rate whatever the path does: libsrt's `live` congestion control with
    /// `maxbw` set. On a path slower than the rate, the excess is lost and retransmitted.
    Fixed {
        /// The rate in bytes/s.
        bytes_per_second: u64,
    },
}

impl RateControl {
    /// Adaptive without a ceiling.
    pub const UNCAPPED: RateControl = RateControl::Adaptive { cap: None };
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

/// Control-packet counters of one path.
#[derive(Debug, Clone, Copy, Default)]
struct ControlCounters {
    acks_sent: u64,
    acks_received: u64,
    naks_sent: u64,
    naks_received: u64,
    ignored_packets: u64,
}

/// One path (member link) of a connection: the first one is [`PathId::FIRST`], each
/// [`Connection::add_path`] adds the next. Ids are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathId(pub u32);

impl PathId {
    /// The path a connection is created with.
    pub const FIRST: PathId = PathId(0);
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "path {}", self.0)
    }
}

/// A packet to put on the wire, and the path that carries it (the driver sends it from that
/// path's socket to that path's peer address).
#[derive(Debug, Clone)]
pub struct Transmit {
    /// The path whose socket sends it.
    pub path: PathId,
    /// The packet (addressed to the path's remote socket id).
    pub packet: Packet,
}

/// How a connection with several paths spreads its data (libsrt's group types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupMode {
    /// Every packet on every live path; the receiver keeps the first copy. A single path is a
    /// broadcast group of one.
    #[default]
    Broadcast,
    /// One active path carries the data, chosen by weight (higher wins); the others only keep
    /// alive. An active path silent for its stability timeout is replaced at once and every
    /// unacknowledged packet is sent again on the new one.
    Backup,
}

/// A path to add to a running connection (a member link joining the group).
#[derive(Debug, Clone)]
pub struct PathConfig {
    /// Our SRT socket id on this path.
    pub local_socket_id: SocketId,
    /// The peer's SRT socket id on this path.
    pub remote_socket_id: SocketId,
    /// The peer's flow window in packets, from this path's handshake.
    pub peer_flow_window: u32,
    /// Preference for backup mode, 0-100 (higher wins).
    pub weight: u8,
}

/// Something that happened to a path; see [`Connection::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathEvent {
    /// The path was added and may carry data.
    Added(PathId),
    /// Backup mode: the path became the one carrying the data.
    Activated(PathId),
    /// Backup mode: the active path was silent past its stability timeout (the data moved to
    /// another path if one was usable).
    Unstable {
        /// The silent path.
        path: PathId,
        /// How long it was silent.
        silent_for: Duration,
    },
    /// Nothing arrived on the path for the idle timeout: it carries nothing any more. When every
    /// path is broken the connection closes with [`CloseReason::PeerIdle`].
    Broken {
        /// The broken path.
        path: PathId,
        /// How long it was silent.
        idle: Duration,
    },
}

/// Where a path is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathState {
    /// Carries data (broadcast: every live path; backup: the active one).
    Active,
    /// Backup mode: connected and kept alive, carrying no data.
    Idle,
    /// Backup mode: was active and went silent past its stability timeout; it is used again
    /// once stable.
    Unstable,
    /// Silent past the idle timeout; never used again.
    Broken,
}

/// Counters and gauges of one path; see [`Connection::path_stats`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PathStats {
    /// Which path.
    #[serde(skip)]
    pub path: PathId,
    /// Where it is in its life.
    pub state: PathState,
    /// Backup preference, 0-100.
    pub weight: u8,
    /// Data packets sent on it, including retransmissions.
    pub packets_sent: u64,
    /// Payload bytes sent on it, including retransmissions.
    pub bytes_sent: u64,
    /// Data packets retransmitted on it.
    pub packets_retransmitted: u64,
    /// Data packets that arrived on it (copies another path brought first included).
    pub packets_received: u64,
    /// Payload bytes that arrived on it.
    pub bytes_received: u64,
    /// Packets the peer reported lost on it.
    pub packets_reported_lost: u64,
    /// Smoothed round-trip time on it, ms; 0 until measured.
    pub rtt_ms: f64,
    /// Its pacing rate, Mbit/s.
    pub pacing_rate_mbps: f64,
    /// Time since anything arrived on it, ms.
    pub silent_ms: u64,
}

/// One path's state: everything the group keeps once per member link.
#[derive(Debug)]
struct Path {
    id: PathId,
    local_socket_id: SocketId,
    remote_socket_id: SocketId,
    weight: u8,
    state: PathState,
    /// Backup mode: when the path last went unstable (it must stay quiet-free a while before it
    /// carries data again).
    unstable_at: Option<Instant>,
    send: PathSender,
    recv: PathReceiver,
    rate: RateController,
    bucket: TokenBucket,
    /// Keeps an adaptive rate's cap on average (see `pacing::cap_bucket`).
    cap_bucket: Option<TokenBucket>,
    control: VecDeque<ControlTypes>,
    last_sent: Instant,
    last_received: Instant,
    peer_link_capacity: u32,
    counters: ControlCounters,
}

impl Path {
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: PathId,
        config: &PathConfig,
        rate_control: RateControl,
        payload_size: usize,
        una: u64,
        state: PathState,
        now: Instant,
    ) -> Self {
        let rate = RateController::new(rate_control, payload_size);
        let bucket = TokenBucket::new(now, rate.rate(), payload_size + PACKET_OVERHEAD);
        let cap_bucket = cap_bucket(rate_control, now, payload_size + PACKET_OVERHEAD);
        Self {
            id,
            local_socket_id: config.local_socket_id,
            remote_socket_id: config.remote_socket_id,
            weight: config.weight.min(100),
            state,
            unstable_at: None,
            send: PathSender::new(config.remote_socket_id, config.peer_flow_window, una, now),
            recv: PathReceiver::new(now),
            rate,
            bucket,
            cap_bucket,
            control: VecDeque::new(),
            last_sent: now,
            last_received: now,
            peer_link_capacity: 0,
            counters: ControlCounters::default(),
        }
    }

    fn is_live(&self) -> bool {
        self.state != PathState::Broken
    }

    fn carries_data(&self) -> bool {
        self.state == PathState::Active
    }

    /// libsrt's stability timeout: max(60 ms, 2·SRTT + 4·RTTVar), capped by `cap`.
    fn stability_timeout(&self, cap: Option<Duration>) -> Duration {
        let rtt = self.recv.rtt;
        let timeout = (2 * rtt.smoothed() + 4 * rtt.variation()).max(MIN_STABILITY_TIMEOUT);
        match cap {
            Some(cap) => timeout.min(cap.max(MIN_STABILITY_TIMEOUT)),
            None => timeout,
        }
    }
}

/// One SRT connection's data path over one or more paths (see the module docs).
#[derive(Debug)]
pub struct Connection {
    start_time: Instant,
    delivery: DeliveryMode,
    payload_size: usize,
    rate_control: RateControl,
    peer_idle_timeout: Duration,
    mode: GroupMode,
    sender: Sender,
    receiver: Receiver,
    /// The peer's keys (`None` = plaintext).
    decryption: Option<StreamCipher>,
    paths: Vec<Path>,
    /// Where `poll_transmit` starts looking, so that no path starves the others.
    next_path: usize,
    /// Control packets for every live path (DropRequest, key announcements, Shutdown).
    group_control: VecDeque<ControlTypes>,
    events: VecDeque<PathEvent>,
    close_requested: bool,
    /// How long the peer's receiver holds packets before playing them (its TSBPD latency): a
    /// graceful close waits that long after the last acknowledgement before sending Shutdown.
    shutdown_delay: Duration,
    /// When everything was acknowledged after a close request.
    drained_at: Option<Instant>,
    peer_shutdown: bool,
    closed: Option<CloseReason>,
    /// When to send Shutdown again after a local close (earliest first).
    shutdown_repeats: VecDeque<Instant>,
    last_now: Instant,
}

impl Connection {
    /// A connection in the data phase with one path, as the handshake left it at `now`.
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
        // A packet is encrypted when written and may be retransmitted as long as it is buffered;
        // the peer replaces the key of its parity one refresh period (minus the pre-announcement)
        // after the next key is announced. Keeping fewer packets than that in the buffer means a
        // retransmission always finds its key still at the peer.
        let max_buffered_packets = config.cipher.as_ref().map(|cipher| {
            cipher
                .key_refresh()
                .period()
                .saturating_sub(cipher.key_refresh().pre_announcement_period())
                .saturating_sub(1)
                .max(1)
        });
        let sender = Sender::new(
            space,
            config.start_time,
            payload_size,
            framing,
            config.cipher.clone().map(SendKeys::new),
            config.send_buffer_bytes.max(payload_size),
        );
        let sender = match max_buffered_packets {
            Some(limit) => sender.with_max_packets(limit),
            None => sender,
        };
        let receiver = Receiver::new(space, config.recv_buffer_bytes, payload_size, live, now);
        let first = PathConfig {
            local_socket_id: config.local_socket_id,
            remote_socket_id: config.remote_socket_id,
            peer_flow_window: config.peer_flow_window,
            weight: 0,
        };
        let path = Path::new(
            PathId::FIRST,
            &first,
            config.rate_control,
            payload_size,
            0,
            PathState::Active,
            now,
        );
        Self {
            start_time: config.start_time,
            delivery: config.delivery,
            payload_size,
            rate_control: config.rate_control,
            peer_idle_timeout: config.peer_idle_timeout,
            mode: GroupMode::Broadcast,
            sender,
            receiver,
            decryption: config.cipher,
            paths: vec![path],
            next_path: 0,
            group_control: VecDeque::new(),
            events: VecDeque::new(),
            shutdown_repeats: VecDeque::new(),
            close_requested: false,
            shutdown_delay: Duration::ZERO,
            drained_at: None,
            peer_shutdown: false,
            closed: None,
            last_now: now,
        }
    }

    /// Sets how the paths share the data (broadcast by default). In backup mode the path with
    /// the highest weight carries the data and the others idle.
    pub fn set_group_mode(&mut self, now: Instant, mode: GroupMode) {
        self.mode = mode;
        for path in &mut self.paths {
            if path.is_live() {
                path.state = PathState::Idle;
            }
        }
        match mode {
            GroupMode::Broadcast => {
                for path in &mut self.paths {
                    if path.is_live() {
                        path.state = PathState::Active;
                    }
                }
            }
            GroupMode::Backup => self.activate_best(now),
        }
    }

    /// The group mode.
    pub fn group_mode(&self) -> GroupMode {
        self.mode
    }

    /// Sets a path's backup preference (0-100, higher wins; the first path's is 0). Returns
    /// false for an unknown path.
    pub fn set_path_weight(&mut self, now: Instant, path: PathId, weight: u8) -> bool {
        let Some(index) = self.index_of(path) else {
            return false;
        };
        self.paths[index].weight = weight.min(100);
        if self.mode == GroupMode::Backup {
            self.consider_switch_back(now);
        }
        true
    }

    /// Adds a path (a member link that completed its handshake with the same initial sequence
    /// number) and returns its id. Broadcast: it carries data from the buffer's current start at
    /// once. Backup: it idles unless it is preferred over the active path.
    pub fn add_path(&mut self, now: Instant, config: PathConfig) -> PathId {
        self.last_now = now;
        let id = PathId(self.paths.last().map_or(0, |path| path.id.0 + 1));
        let state = match self.mode {
            GroupMode::Broadcast => PathState::Active,
            GroupMode::Backup => PathState::Idle,
        };
        let path = Path::new(
            id,
            &config,
            self.rate_control,
            self.payload_size,
            self.sender.una(),
            state,
            now,
        );
        self.paths.push(path);
        self.path_event(PathEvent::Added(id));
        if self.mode == GroupMode::Backup {
            if self.active_index().is_none() {
                self.activate_best(now);
            } else {
                self.consider_switch_back(now);
            }
        }
        id
    }

    /// The paths' ids, oldest first (broken ones included).
    pub fn paths(&self) -> impl Iterator<Item = PathId> + '_ {
        self.paths.iter().map(|path| path.id)
    }

    /// The path whose local socket id is `socket_id` (demultiplexing by destination socket id).
    pub fn path_for_socket(&self, socket_id: SocketId) -> Option<PathId> {
        self.paths
            .iter()
            .find(|path| path.local_socket_id == socket_id)
            .map(|path| path.id)
    }

    /// Queues a path event for the driver and logs it.
    fn path_event(&mut self, event: PathEvent) {
        tracing::debug!(?event, "path event");
        self.events.push_back(event);
    }

    /// The next path event, oldest first. Changes after `handle_packet`, `handle_timeout`,
    /// `add_path`, `set_group_mode` and `set_path_weight`.
    pub fn poll_event(&mut self) -> Option<PathEvent> {
        self.events.pop_front()
    }

    fn index_of(&self, path: PathId) -> Option<usize> {
        // Ids are handed out in order and paths are never removed: the id is the index.
        let index = path.0 as usize;
        self.paths
            .get(index)
            .is_some_and(|candidate| candidate.id == path)
            .then_some(index)
    }

    fn active_index(&self) -> Option<usize> {
        self.paths.iter().position(Path::carries_data)
    }

    /// Backup mode: makes the usable path with the highest weight (the oldest among equals) the
    /// active one; everything not acknowledged is sent again on it at once.
    fn activate_best(&mut self, now: Instant) {
        let best = self
            .paths
            .iter()
            .enumerate()
            .filter(|(_, path)| path.state == PathState::Idle)
            .max_by(|(a_index, a), (b_index, b)| a.weight.cmp(&b.weight).then(b_index.cmp(a_index)))
            .map(|(index, _)| index)
            .or_else(|| {
                // Nothing idle: an unstable path is better than none.
                self.paths
                    .iter()
                    .position(|path| path.state == PathState::Unstable)
            });
        if let Some(index) = best {
            self.activate(now, index);
        }
    }

    fn activate(&mut self, now: Instant, index: usize) {
        let una = self.sender.una();
        for (other, path) in self.paths.iter_mut().enumerate() {
            if other != index && path.state == PathState::Active {
                path.state = PathState::Idle;
                path.send.reset_to(una, now);
            }
        }
        let path = &mut self.paths[index];
        path.state = PathState::Active;
        path.unstable_at = None;
        path.send.reset_to(una, now);
        // The new path has no silence to account for before now.
        path.last_received = path.last_received.max(now);
        let id = path.id;
        self.path_event(PathEvent::Activated(id));
    }

    /// Backup mode: hands the data back to an idle path preferred over the active one once it
    /// has been heard from recently and was not unstable for a while.
    fn consider_switch_back(&mut self, now: Instant) {
        let Some(active) = self.active_index() else {
            self.activate_best(now);
            return;
        };
        let active_weight = self.paths[active].weight;
        let preferred = self
            .paths
            .iter()
            .enumerate()
            .filter(|(_, path)| {
                path.state == PathState::Idle
                    && path.weight > active_weight
                    && now.saturating_duration_since(path.last_received) < SWITCH_BACK_HEARD_WITHIN
                    && path.unstable_at.is_none_or(|at| {
                        now.saturating_duration_since(at) >= SWITCH_BACK_STABLE_FOR
                    })
            })
            .max_by(|(a_index, a), (b_index, b)| a.weight.cmp(&b.weight).then(b_index.cmp(a_index)))
            .map(|(index, _)| index);
        if let Some(index) = preferred {
            self.activate(now, index);
        }
    }

    /// Moves group control packets to every live path's queue.
    fn fan_out_group_control(&mut self) {
        while let Some(control) = self.group_control.pop_front() {
            for path in self.paths.iter_mut().filter(|path| path.is_live()) {
                path.control.push_back(control.clone());
            }
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
        if !self
            .sender
            .push(now, &data[..take], &mut self.group_control)
        {
            return Err(ConnectionError::Encryption { len: take });
        }
        self.fan_out_group_control();
        Ok(take)
    }

    /// Copies delivered bytes in order; 0 = nothing deliverable now (check [`Connection::state`]
    /// for the end). Live mode returns at most one message per call. A read that reopens a
    /// window the peer last saw (nearly) closed queues a full ACK at once (a window update): drain
    /// [`Connection::poll_transmit`] after it when [`Connection::has_control_to_send`] says so.
    pub fn read(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        self.last_now = now;
        if let Some(CloseReason::PeerIdle(_) | CloseReason::Protocol(_)) = self.closed {
            return 0;
        }
        let read = self.receiver.read(now, buf);
        self.check_peer_shutdown_drained();
        if read > 0 && self.closed.is_none() {
            // The window the peer knows may have closed while the application was behind.
            for index in 0..self.paths.len() {
                if self.paths[index].is_live()
                    && self.receiver.window_reopened(&self.paths[index].recv)
                {
                    self.queue_full_ack(now, index, true);
                }
            }
        }
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

    /// Graceful close: every accepted byte is delivered and acknowledged, then Shutdown is sent
    /// on every live path.
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
            .drop_too_late(now, Duration::ZERO, &mut self.group_control);
        self.fan_out_group_control();
        self.check_local_close_done();
        before.saturating_sub(self.sender.buffered_packets()) as u64
    }

    /// Control packets (ACKs, NAKs, Shutdown, …) are queued for [`Connection::poll_transmit`]:
    /// after a `read` or `write`, the driver has something to send at once.
    pub fn has_control_to_send(&self) -> bool {
        !self.group_control.is_empty() || self.paths.iter().any(|path| !path.control.is_empty())
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

    /// Our socket id on the first path.
    pub fn local_socket_id(&self) -> SocketId {
        self.paths
            .first()
            .map_or(SocketId(0), |path| path.local_socket_id)
    }

    /// The peer's socket id on the first path.
    pub fn remote_socket_id(&self) -> SocketId {
        self.paths
            .first()
            .map_or(SocketId(0), |path| path.remote_socket_id)
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
                self.group_control.push_back(ControlTypes::Shutdown);
            }
            self.fan_out_group_control();
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

    /// Handles one packet from the peer that arrived on `path` (the driver has parsed it with
    /// srt-protocol's codec). Packets for another socket id or an unknown or broken path are
    /// counted and ignored.
    pub fn handle_packet(&mut self, now: Instant, path: PathId, packet: Packet) {
        self.last_now = now;
        if self.closed.is_some() {
            return;
        }
        let Some(index) = self.index_of(path) else {
            return;
        };
        let path = &mut self.paths[index];
        if packet.dest_sockid() != path.local_socket_id || !path.is_live() {
            path.counters.ignored_packets += 1;
            return;
        }
        path.last_received = now;
        match packet {
            Packet::Data(data) => self.handle_data(now, index, data),
            Packet::Control(control) => self.handle_control(now, index, control.control_type),
        }
        self.check_local_close_done();
        self.check_peer_shutdown_drained();
    }

    fn handle_data(&mut self, now: Instant, index: usize, packet: DataPacket) {
        let abs = match self
            .receiver
            .classify(packet.seq_number, packet.payload.len())
        {
            Ok(abs) => abs,
            Err(Rejection::Duplicate) => {
                // Another path may have brought it first: this path still acknowledges it.
                self.receiver
                    .record_duplicate(now, &mut self.paths[index].recv, &packet);
                self.queue_acks_after_data(now, index);
                return;
            }
            Err(_) => return,
        };
        let packet = match decrypt(self.decryption.as_ref(), packet) {
            Ok(packet) => packet,
            Err(reason) => {
                self.close_with(CloseReason::Protocol(reason.to_string()));
                return;
            }
        };
        let path = &mut self.paths[index];
        if let Some((first, last)) = self.receiver.insert(now, &mut path.recv, abs, packet) {
            let list = if first == last {
                CompressedLossList::try_from_iter(std::iter::once(first))
            } else {
                CompressedLossList::try_from_range(first..last + 1)
            };
            if let Some(list) = list {
                path.control.push_back(ControlTypes::Nak(list));
                path.counters.naks_sent += 1;
            }
        }
        self.queue_acks_after_data(now, index);
    }

    /// After data on a path: a window update or a light ACK on it, if due.
    fn queue_acks_after_data(&mut self, now: Instant, index: usize) {
        if self.receiver.window_update_due(&self.paths[index].recv) {
            self.queue_full_ack(now, index, true);
        } else if let Some(AckToSend::Light { ack }) =
            self.receiver.light_ack_due(&mut self.paths[index].recv)
        {
            let path = &mut self.paths[index];
            path.control
                .push_back(ControlTypes::Ack(Acknowledgement::Lite(ack)));
            path.counters.acks_sent += 1;
        }
    }

    fn handle_control(&mut self, now: Instant, index: usize, control: ControlTypes) {
        match control {
            ControlTypes::Ack(ack) => self.handle_ack(now, index, ack),
            ControlTypes::Ack2(id) => self.paths[index].recv.on_ack2(now, u32::from(id)),
            ControlTypes::Nak(list) => {
                let path = &mut self.paths[index];
                path.counters.naks_received += 1;
                let queued = self
                    .sender
                    .on_nak(now, &mut path.send, list.iter_compressed());
                if queued >= RETRANSMISSION_BURST {
                    tracing::debug!(
                        path = path.id.0,
                        queued,
                        pending = path.send.pending_retransmissions(),
                        "retransmission burst: the peer reported packets lost"
                    );
                } else {
                    tracing::trace!(path = path.id.0, queued, "NAK received");
                }
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
                let refreshed = self
                    .decryption
                    .as_mut()
                    .is_some_and(|keys| keys.refresh_from(&keying_material));
                if refreshed {
                    self.paths[index].control.push_back(ControlTypes::Srt(
                        SrtControlPacket::KeyRefreshResponse(keying_material),
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

    fn handle_ack(&mut self, now: Instant, index: usize, ack: Acknowledgement) {
        let path = &mut self.paths[index];
        path.counters.acks_received += 1;
        let full_id = ack.full_ack_seq_number();
        if let Some(id) = full_id {
            path.control.push_back(ControlTypes::Ack2(id));
        }
        let statistics = ack.statistics().cloned();
        let acked = self.sender.on_ack(
            now,
            &mut path.send,
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
            path.recv.rtt.on_peer_report(mean, variance);
            if let Some(capacity) = statistics.estimated_link_capacity {
                path.peer_link_capacity = capacity;
            }
            if full_id.is_some() {
                let counts = path.send.take_report_counts();
                let unsent_packets = (self.sender.buffered_packets() as u64)
                    .saturating_sub(self.sender.in_flight_packets(&path.send));
                // A peer that has not measured yet reports libsrt's guess: no RTT for the
                // controller (taken as the path's minimum it made every longer path look
                // queued).
                let (peer_rtt_us, peer_rtt_var_us) = if rtt::is_initial_guess(mean, variance) {
                    (0, 0)
                } else {
                    (
                        u64::from(mean.max(0).unsigned_abs()),
                        u64::from(variance.max(0).unsigned_abs()),
                    )
                };
                path.rate.on_report(
                    now,
                    AckReport {
                        peer_rtt_us,
                        peer_rtt_var_us,
                        receive_rate: statistics.data_receive_rate.map(f64::from),
                        receive_packet_rate: statistics.packet_receive_rate.map(f64::from),
                        unsent_packets,
                        sent_packets: counts.sent,
                        lost_packets: counts.lost,
                        acked_packets: counts.acked,
                    },
                );
                path.bucket.set_rate(now, path.rate.rate());
                tracing::trace!(
                    path = path.id.0,
                    rate = path.rate.rate() as u64,
                    startup = path.rate.in_startup(),
                    received = statistics.data_receive_rate,
                    peer_rtt_us = mean,
                    sent_packets = counts.sent,
                    lost_packets = counts.lost,
                    acked_packets = counts.acked,
                    delivered = path.rate.delivered_rate().map(|rate| rate as u64),
                    unsent_packets,
                    window = path.rate.congestion_window(),
                    "rate report"
                );
            }
        }
    }

    /// The next packet to put on the wire now and the path that carries it (pacing respected per
    /// path), or None. Changes after `write`, `handle_packet`, `handle_timeout`, `close`, and
    /// with time (pacing).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.last_now = now;
        let count = self.paths.len();
        if count == 1 {
            let packet = self.poll_transmit_on(now, 0)?;
            return Some(Transmit {
                path: self.paths[0].id,
                packet,
            });
        }
        for offset in 0..count {
            let index = (self.next_path + offset) % count;
            if let Some(packet) = self.poll_transmit_on(now, index) {
                self.next_path = (index + 1) % count;
                return Some(Transmit {
                    path: self.paths[index].id,
                    packet,
                });
            }
        }
        None
    }

    fn poll_transmit_on(&mut self, now: Instant, index: usize) -> Option<Packet> {
        let start_time = self.start_time;
        let path = &mut self.paths[index];
        if let Some(control_type) = path.control.pop_front() {
            if let ControlTypes::Ack(Acknowledgement::Full(..)) = control_type {
                path.counters.acks_sent += 1;
            }
            path.last_sent = now;
            return Some(Packet::Control(ControlPacket {
                timestamp: timestamp_at(start_time, now),
                dest_sockid: path.remote_socket_id,
                control_type,
            }));
        }
        if self.closed.is_some()
            || !path.carries_data()
            || !path.bucket.ready(now)
            || path.cap_bucket.as_mut().is_some_and(|cap| !cap.ready(now))
        {
            return None;
        }
        let window = path.rate.congestion_window();
        let (packet, _) = self.sender.pop_packet(now, &mut path.send, window)?;
        path.bucket.consume(packet.payload.len() + PACKET_OVERHEAD);
        if let Some(cap) = path.cap_bucket.as_mut() {
            cap.consume(packet.payload.len() + PACKET_OVERHEAD);
        }
        path.last_sent = now;
        Some(Packet::Data(packet))
    }

    /// When to call [`Connection::handle_timeout`] next (ACK/NAK timers, pacing, retransmission,
    /// keepalive, idle and stability checks of every path, TSBPD). Changes after every call that
    /// takes `now`. Once closed, only the repeats of a local close's Shutdown (for about 1.5 s);
    /// then `None`, and the connection can be dropped.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            // Only the repeated Shutdowns of a local close remain.
            return self.shutdown_repeats.front().copied();
        }
        let mut earliest = sooner(
            sooner(
                self.receiver.nak_deadline(),
                self.receiver.next_live_event(self.last_now),
            ),
            self.drained_at.map(|at| at + self.shutdown_delay),
        );
        if let Some(threshold) = self.live_send_drop_threshold() {
            earliest = sooner(earliest, self.sender.too_late_deadline(threshold));
        }
        let backup = self.mode == GroupMode::Backup;
        for path in &self.paths {
            if !path.is_live() {
                continue;
            }
            earliest = sooner(
                earliest,
                Some(
                    (path.last_sent + KEEPALIVE_INTERVAL)
                        .min(path.last_received + self.peer_idle_timeout),
                ),
            );
            earliest = sooner(earliest, self.receiver.full_ack_deadline(&path.recv));
            if path.carries_data() {
                let rtt = path.recv.rtt;
                earliest = sooner(
                    earliest,
                    self.sender
                        .rto_deadline(&path.send, rtt.smoothed(), rtt.variation()),
                );
                if path.send.pending_retransmissions() > 0
                    || self
                        .sender
                        .has_new_data(&path.send, path.rate.congestion_window())
                {
                    let paced = path.bucket.ready_at();
                    let ready = path
                        .cap_bucket
                        .as_ref()
                        .map_or(paced, |cap| cap.ready_at().max(paced));
                    earliest = sooner(earliest, Some(ready));
                }
                if backup && self.sender.in_flight_packets(&path.send) > 0 {
                    let silent_since = path.last_received.max(path.send.in_flight_since());
                    let at = silent_since + path.stability_timeout(self.stability_cap());
                    earliest = sooner(earliest, Some(at));
                }
            }
            if backup {
                if let Some(at) = path.unstable_at {
                    earliest = sooner(earliest, Some(at + SWITCH_BACK_STABLE_FOR));
                }
            }
        }
        earliest
    }

    /// Backup mode: the stability timeout never exceeds the latency (live mode).
    fn stability_cap(&self) -> Option<Duration> {
        match self.delivery {
            DeliveryMode::Reliable => None,
            DeliveryMode::Live { recv_latency, .. } => Some(recv_latency),
        }
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

    /// The round-trip estimate the NAK interval uses: the fastest live path's.
    fn fastest_rtt(&self) -> RttEstimator {
        self.paths
            .iter()
            .filter(|path| path.is_live())
            .map(|path| path.recv.rtt)
            .min_by_key(|rtt| rtt.smoothed())
            .unwrap_or_default()
    }

    /// Runs the timers due at `now`; may queue packets for `poll_transmit` and events for
    /// `poll_event`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        if self.closed.is_some() {
            while self.shutdown_repeats.front().is_some_and(|&at| at <= now) {
                self.shutdown_repeats.pop_front();
                self.group_control.push_back(ControlTypes::Shutdown);
            }
            self.fan_out_group_control();
            return;
        }
        self.check_paths_idle(now);
        if self.closed.is_some() {
            return;
        }
        if self.mode == GroupMode::Backup {
            self.check_active_stability(now);
            self.consider_switch_back(now);
        }
        for index in 0..self.paths.len() {
            if !self.paths[index].is_live() {
                continue;
            }
            self.queue_full_ack(now, index, false);
            let path = &mut self.paths[index];
            let rtt = path.recv.rtt;
            if path.carries_data()
                && self
                    .sender
                    .on_rto_timer(now, &mut path.send, rtt.smoothed(), rtt.variation())
            {
                // The rate stays: a timeout means silence (an outage, or a lost tail), not a
                // measured rate; cutting it would leave a live stream crawling behind its own
                // backlog once the path is back. Delay and loss reports adapt it once the path
                // reports again, and the congestion window bounds what goes out meanwhile.
                // Only the first start's fast probing ends (see `RateController::on_timeout`).
                path.rate.on_timeout();
                tracing::debug!(
                    path = path.id.0,
                    pending = path.send.pending_retransmissions(),
                    pacing_rate_bytes_per_s = path.rate.rate(),
                    "retransmission timeout: packets in flight are sent again"
                );
            }
        }
        let nak_due = self
            .receiver
            .nak_deadline()
            .is_some_and(|deadline| deadline <= now);
        if let Some(ranges) = nak_due
            .then(|| self.fastest_rtt())
            .and_then(|rtt| self.receiver.nak_report(now, &rtt))
        {
            for path in self.paths.iter_mut().filter(|path| path.is_live()) {
                let list = self
                    .receiver
                    .loss_words(&path.recv, &ranges)
                    .and_then(|words| words_to_loss_list(&words));
                if let Some(list) = list {
                    tracing::trace!(path = path.id.0, ranges = ranges.len(), "NAK report sent");
                    path.control.push_back(ControlTypes::Nak(list));
                    path.counters.naks_sent += 1;
                }
            }
        }
        if let Some(threshold) = self.live_send_drop_threshold() {
            self.sender
                .drop_too_late(now, threshold, &mut self.group_control);
            self.fan_out_group_control();
        }
        self.receiver.drop_too_late(now);
        for path in self.paths.iter_mut().filter(|path| path.is_live()) {
            if now.saturating_duration_since(path.last_sent) >= KEEPALIVE_INTERVAL
                && path.control.is_empty()
            {
                path.control.push_back(ControlTypes::KeepAlive);
            }
        }
        self.check_local_close_done();
        self.check_peer_shutdown_drained();
    }

    /// Breaks every path silent for the idle timeout; closes the connection when none is left.
    fn check_paths_idle(&mut self, now: Instant) {
        let mut active_broke = false;
        for path in self.paths.iter_mut().filter(|path| path.is_live()) {
            let idle = now.saturating_duration_since(path.last_received);
            if idle >= self.peer_idle_timeout {
                active_broke |= path.carries_data();
                path.state = PathState::Broken;
                path.control.clear();
                let event = PathEvent::Broken {
                    path: path.id,
                    idle,
                };
                tracing::debug!(?event, "path event");
                self.events.push_back(event);
            }
        }
        if !self.paths.iter().any(Path::is_live) {
            let idle = self
                .paths
                .iter()
                .map(|path| now.saturating_duration_since(path.last_received))
                .min()
                .unwrap_or(self.peer_idle_timeout);
            self.close_with(CloseReason::PeerIdle(idle));
            return;
        }
        if active_broke && self.mode == GroupMode::Backup {
            self.activate_best(now);
        }
    }

    /// Backup mode: the active path silent past its stability timeout while it has data in
    /// flight becomes unstable, and the best other path takes over at once.
    fn check_active_stability(&mut self, now: Instant) {
        let cap = self.stability_cap();
        let Some(active) = self.active_index() else {
            self.activate_best(now);
            return;
        };
        let path = &self.paths[active];
        if self.sender.in_flight_packets(&path.send) == 0 {
            return;
        }
        let silent_since = path.last_received.max(path.send.in_flight_since());
        let silent_for = now.saturating_duration_since(silent_since);
        if silent_for < path.stability_timeout(cap) {
            return;
        }
        let has_alternative = self
            .paths
            .iter()
            .enumerate()
            .any(|(index, path)| index != active && path.state == PathState::Idle);
        if !has_alternative {
            return;
        }
        let una = self.sender.una();
        let path = &mut self.paths[active];
        path.state = PathState::Unstable;
        path.unstable_at = Some(now);
        path.send.reset_to(una, now);
        let id = path.id;
        self.path_event(PathEvent::Unstable {
            path: id,
            silent_for,
        });
        self.activate_best(now);
        // An unstable path is an idle candidate again once it has been quiet-free a while.
        let path = &mut self.paths[active];
        if path.state == PathState::Unstable {
            path.state = PathState::Idle;
        }
    }

    /// Queues a full ACK on path `index` if one is due (or `force`d: a window update).
    fn queue_full_ack(&mut self, now: Instant, index: usize, force: bool) {
        let path = &mut self.paths[index];
        let Some(AckToSend::Full {
            ack,
            id,
            available,
            packet_rate,
            link_capacity,
            byte_rate,
        }) = self.receiver.full_ack(now, &mut path.recv, force)
        else {
            return;
        };
        let Some(id) = FullAckSeqNumber::new(id) else {
            return;
        };
        let rtt = path.recv.rtt;
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
        path.control
            .push_back(ControlTypes::Ack(Acknowledgement::Full(
                ack, statistics, id,
            )));
    }

    /// The path whose figures the group's statistics show for RTT and link estimates: the
    /// active one (backup) or the first live one.
    fn primary_path(&self) -> Option<&Path> {
        self.paths
            .iter()
            .find(|path| path.carries_data())
            .or_else(|| self.paths.iter().find(|path| path.is_live()))
            .or_else(|| self.paths.first())
    }

    /// Counters and gauges at `now`, for the whole connection (every path together; RTT and
    /// link estimates of the path carrying the data).
    pub fn stats(&self, now: Instant) -> ConnectionStats {
        let sent = self.sender.counters;
        let received = self.receiver.counters;
        let elapsed = now.saturating_duration_since(self.start_time);
        let seconds = elapsed.as_secs_f64().max(1e-6);
        let mbps = |bytes: f64| bytes * 8.0 / 1e6;
        let mut control = ControlCounters::default();
        for path in &self.paths {
            control.acks_sent += path.counters.acks_sent;
            control.acks_received += path.counters.acks_received;
            control.naks_sent += path.counters.naks_sent;
            control.naks_received += path.counters.naks_received;
        }
        let primary = self.primary_path();
        let rtt = primary.map(|path| path.recv.rtt).unwrap_or_default();
        let pacing_rate: f64 = self
            .paths
            .iter()
            .filter(|path| path.carries_data())
            .map(|path| path.rate.rate())
            .sum();
        let congestion_events = self
            .paths
            .iter()
            .map(|path| path.rate.congestion_events())
            .sum();
        let in_flight_path = self
            .paths
            .iter()
            .max_by_key(|path| self.sender.in_flight_packets(&path.send));
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
            acks_sent: control.acks_sent,
            acks_received: control.acks_received,
            naks_sent: control.naks_sent,
            naks_received: control.naks_received,
            retransmission_timeouts: sent.timeouts,
            congestion_events,
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
            receive_rate_mbps: mbps(
                self.paths
                    .iter()
                    .map(|path| f64::from(path.recv.byte_rate()))
                    .fold(0.0, f64::max),
            ),
            delivery_rate_mbps: mbps(received.bytes_delivered as f64 / seconds),
            pacing_rate_mbps: mbps(pacing_rate),
            estimated_link_bandwidth_mbps: mbps(
                f64::from(primary.map_or(0, |path| path.peer_link_capacity))
                    * self.payload_size as f64,
            ),
            packets_in_flight: in_flight_path
                .map_or(0, |path| self.sender.in_flight_packets(&path.send)),
            bytes_in_flight: in_flight_path
                .map_or(0, |path| self.sender.in_flight_bytes(&path.send))
                as u64,
            send_buffer_bytes: self.sender.buffered_bytes() as u64,
            send_buffer_high_water_bytes: sent.buffer_high_water_bytes as u64,
            receive_buffer_bytes: self.receiver.buffered_bytes() as u64,
            receive_buffer_high_water_bytes: received.buffer_high_water_bytes as u64,
            receive_buffer_available_packets: u64::from(self.receiver.available_packets()),
        }
    }

    /// Counters and gauges of every path at `now`, oldest first.
    pub fn path_stats(&self, now: Instant) -> Vec<PathStats> {
        self.paths
            .iter()
            .map(|path| {
                let rtt = path.recv.rtt;
                PathStats {
                    path: path.id,
                    state: path.state,
                    weight: path.weight,
                    packets_sent: path.send.counters.packets_sent,
                    bytes_sent: path.send.counters.bytes_sent,
                    packets_retransmitted: path.send.counters.packets_retransmitted,
                    packets_received: path.recv.packets_received,
                    bytes_received: path.recv.bytes_received,
                    packets_reported_lost: path.send.counters.packets_reported_lost,
                    rtt_ms: if rtt.is_measured() {
                        rtt.smoothed().as_secs_f64() * 1e3
                    } else {
                        0.0
                    },
                    pacing_rate_mbps: path.rate.rate() * 8.0 / 1e6,
                    silent_ms: now
                        .saturating_duration_since(path.last_received)
                        .as_millis()
                        .min(u128::from(u64::MAX)) as u64,
                }
            })
            .collect()
    }
}

/// The earlier of two optional deadlines.
#[inline]
fn sooner(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
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
