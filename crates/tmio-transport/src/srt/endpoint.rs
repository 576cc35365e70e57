//! The tokio I/O layer: one task per UDP socket moves datagrams between the socket and the
//! sans-IO [`Connection`]s on it, runs their timers, and wakes the application side.
//!
//! A caller or rendezvous socket carries one connection; a listener socket carries many, told
//! apart by destination socket id, plus the handshakes of callers not yet accepted.

use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, MutexGuard, Weak,
    },
    task::{Poll, Waker},
    time::{Duration, Instant},
};

use srt_protocol::packet::{CoreRejectReason, Packet, RejectReason, SeqNumber, SocketId};
use tokio::{
    net::UdpSocket,
    sync::{mpsc, oneshot, Notify},
};

use crate::{
    srt::{
        config::SrtConfig,
        connection::{
            CloseReason, Connection, ConnectionConfig, ConnectionState, DeliveryMode, GroupMode,
            PathConfig, PathEvent, PathId, Transmit,
        },
        group::{mode_of, LinkEvent, PathReport},
        handshake::{
            self, describe_reject,
            listener::{AcceptError, CallerRequest, ListenerCore, ListenerLimits, MemberJoined},
            Established,
        },
        udp::{BatchIo, GsoBatch, Readiness},
        wire::{self, Datagram},
    },
    Error,
};

/// Datagrams read from the socket (at least, whole `recvmmsg` calls) before the connections get
/// to transmit again.
const RECV_BATCH: usize = 64;

/// A turn this long after a due deadline means the process did not run meanwhile (stopped,
/// suspended, starved of CPU): what the peers sent since waits in the socket, unread, and is read
/// before the timers judge a peer silent or a flight lost.
const LATE_TURN: Duration = Duration::from_millis(100);

/// Link events a stream keeps for the application (the oldest go first when it does not read
/// them).
const MAX_LINK_EVENTS: usize = 256;

/// Where one path of a connection goes: which of the endpoint's sockets sends its packets, to
/// which address, and the socket ids that name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathRoute {
    pub(crate) path: PathId,
    pub(crate) local_socket_id: u32,
    pub(crate) remote_socket_id: u32,
    pub(crate) remote: SocketAddr,
    /// Index into the endpoint's sockets.
    pub(crate) socket: usize,
    pub(crate) local: SocketAddr,
}

/// A caller group's later member, as its handshake ended.
#[derive(Debug)]
pub(crate) enum MemberOutcome {
    Connected {
        member: usize,
        socket: UdpSocket,
        established: Box<Established>,
        weight: u8,
    },
    Failed {
        member: usize,
        remote: SocketAddr,
        reason: String,
    },
}

/// What the application side and the driver task share for one connection.
pub(crate) struct ConnShared {
    inner: Mutex<ConnInner>,
    pub(crate) remote: SocketAddr,
    /// The peer's socket id (the listener frees the caller's slot by it).
    pub(crate) remote_socket_id: u32,
    pub(crate) local: SocketAddr,
    pub(crate) stream_id: Option<String>,
    pub(crate) endpoint: Arc<EndpointShared>,
    /// Its key in the endpoint's table (its first path's local socket id).
    key: u32,
    /// Its key is in the endpoint's `woken` list, not yet taken by the driver.
    wake_queued: AtomicBool,
}

pub(crate) struct ConnInner {
    pub(crate) conn: Connection,
    pub(crate) read_waker: Option<Waker>,
    pub(crate) write_waker: Option<Waker>,
    pub(crate) close_waker: Option<Waker>,
    /// Set when the application asked for a graceful close: the deadline for it.
    pub(crate) close_deadline: Option<Instant>,
    /// The application dropped its handle: close, then forget the connection.
    pub(crate) abandoned: bool,
    /// A failure decided outside the data path (linger expired, socket died).
    pub(crate) failure: Option<Error>,
    pub(crate) linger: Duration,
    /// No longer routed by the driver.
    pub(crate) detached: bool,
    /// Where each path goes (the first path first).
    pub(crate) routes: Vec<PathRoute>,
    /// Link events not yet read by the application.
    pub(crate) link_events: VecDeque<LinkEvent>,
    /// A listener's group session: the listener's group id.
    pub(crate) group_session: Option<u32>,
    /// A caller group: what a member added later needs.
    pub(crate) caller_group: Option<crate::srt::group::CallerGroup>,
}

impl ConnInner {
    /// How long a graceful close may take: the linger time, at least the data path's grace
    /// (live mode's time for the tail to be acknowledged or become too late).
    pub(crate) fn close_time(&self) -> Duration {
        self.linger.max(self.conn.close_grace())
    }

    fn route(&self, path: PathId) -> Option<&PathRoute> {
        self.routes.iter().find(|route| route.path == path)
    }

    fn push_link_event(&mut self, event: LinkEvent) {
        if self.link_events.len() >= MAX_LINK_EVENTS {
            self.link_events.pop_front();
        }
        self.link_events.push_back(event);
    }

    /// Every path with its addresses and statistics.
    pub(crate) fn path_reports(&self, now: Instant) -> Vec<PathReport> {
        self.conn
            .path_stats(now)
            .into_iter()
            .filter_map(|stats| {
                let route = self.route(stats.path)?;
                Some(PathReport {
                    path: stats.path.0,
                    remote: route.remote,
                    local: route.local,
                    stats,
                })
            })
            .collect()
    }
}

impl ConnShared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, ConnInner> {
        // A poisoned lock means a panic elsewhere already; the state is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Tells the driver task that the application changed this connection (wrote, read, closed,
    /// dropped it): the driver looks at it on its next turn. Only the connections named so, or
    /// with a packet or a due timer, are visited in a turn, so a listener with many sessions does
    /// not walk all of them for each one's event.
    pub(crate) fn wake_endpoint(&self) {
        // Already queued: the driver has not taken the key yet and will see this change too; the
        // notification that queued it is still pending (Notify keeps a permit).
        if self.wake_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        self.endpoint
            .woken
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(self.key);
        self.endpoint.wake.notify_one();
    }

    /// The error to report once the data path has closed, or `None` for a clean end.
    pub(crate) fn terminal_error(&self, inner: &ConnInner) -> Option<Error> {
        if let Some(failure) = &inner.failure {
            return Some(failure.duplicate());
        }
        match inner.conn.state() {
            ConnectionState::Closed(reason) => close_error(&reason, self.remote),
            _ => None,
        }
    }
}

/// Maps the data path's close reason to the transport error, `None` for an orderly end.
pub(crate) fn close_error(reason: &CloseReason, remote: SocketAddr) -> Option<Error> {
    match reason {
        CloseReason::LocalClose => None,
        CloseReason::PeerShutdown => None,
        CloseReason::PeerIdle(idle) => Some(Error::PeerIdle {
            remote,
            idle: *idle,
        }),
        #[allow(unreachable_patterns)]
        other => Some(Error::Protocol {
            remote,
            reason: other.to_string(),
        }),
    }
}

impl std::fmt::Debug for ConnShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnShared")
            .field("remote", &self.remote)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// What every connection of one socket shares with the driver task.
pub(crate) struct EndpointShared {
    /// Wakes the driver: new data to send, a close, a dropped handle.
    pub(crate) wake: Notify,
    /// The connections the application changed since the driver's last turn (by key).
    woken: Mutex<Vec<u32>>,
    /// Set when the driver task stopped unexpectedly.
    failure: Mutex<Option<Error>>,
    /// The connections, to fail them if the driver task stops unexpectedly.
    conns: Mutex<Vec<Weak<ConnShared>>>,
}

impl EndpointShared {
    fn new() -> Arc<EndpointShared> {
        Arc::new(EndpointShared {
            wake: Notify::new(),
            woken: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
            conns: Mutex::new(Vec::new()),
        })
    }

    /// Why the driver task stopped, when it stopped unexpectedly.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(Error::duplicate)
    }
}

/// Runs an endpoint's driver task, and watches it: should it ever stop by a panic (a bug in
/// tmio), every connection on the socket fails with [`Error::EndpointFailed`] and the listener's
/// next request says so, instead of waiting forever.
pub(crate) fn spawn(endpoint: Endpoint) {
    let shared = endpoint.shared.clone();
    let local = endpoint.local;
    let task = tokio::spawn(endpoint.run());
    tokio::spawn(async move {
        let Err(join_error) = task.await else { return };
        let reason = if join_error.is_panic() {
            let payload = join_error.into_panic();
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned())
        } else {
            "cancelled".to_owned()
        };
        tracing::error!(%local, reason, "SRT endpoint task stopped unexpectedly");
        let error = Error::EndpointFailed { local, reason };
        let conns = std::mem::take(
            &mut *shared
                .conns
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for conn in conns.iter().filter_map(Weak::upgrade) {
            let mut inner = conn.lock();
            if inner.failure.is_none() {
                inner.failure = Some(error.duplicate());
            }
            for waker in [
                inner.read_waker.take(),
                inner.write_waker.take(),
                inner.close_waker.take(),
            ]
            .into_iter()
            .flatten()
            {
                waker.wake();
            }
        }
        *shared
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
    });
}

/// Builds the data path's settings from a finished handshake.
pub(crate) fn connection_config(settings: &Established, config: &SrtConfig) -> ConnectionConfig {
    let delivery = match config.delivery {
        DeliveryMode::Reliable => DeliveryMode::Reliable,
        DeliveryMode::Live { too_late_drop, .. } => DeliveryMode::Live {
            recv_latency: settings.recv_latency,
            send_latency: settings.send_latency,
            too_late_drop,
        },
    };
    ConnectionConfig {
        local_socket_id: SocketId(settings.local_socket_id),
        remote_socket_id: SocketId(settings.remote_socket_id),
        initial_sequence_number: SeqNumber::new_truncate(settings.initial_sequence),
        start_time: settings.start_time,
        delivery,
        payload_size: config.effective_payload_size(settings.mss),
        send_buffer_bytes: config.send_buffer_bytes,
        recv_buffer_bytes: config.recv_buffer_bytes,
        peer_flow_window: settings.peer_flow_window,
        rate_control: config.rate_control,
        peer_idle_timeout: config.peer_idle_timeout,
        cipher: settings
            .cipher
            .clone()
            .map(|cipher| cipher.with_key_refresh(config.key_refresh())),
    }
}

/// How long to wait after the last acknowledgement before sending Shutdown to a peer that plays
/// packets out `peer_latency` after their timestamps (libsrt in live mode; a tmio peer in reliable
/// mode announces 0): its latency plus a quarter for clock drift and 20 ms of slack.
pub(crate) fn shutdown_delay(peer_latency: Duration) -> Duration {
    if peer_latency.is_zero() {
        Duration::ZERO
    } else {
        peer_latency + peer_latency / 4 + Duration::from_millis(20)
    }
}

/// A request from a caller, waiting for the application to accept or reject it.
#[derive(Debug)]
pub(crate) struct PendingRequest {
    pub(crate) caller: CallerRequest,
    pub(crate) commands: mpsc::UnboundedSender<ListenerCommand>,
}

/// The application's answer to a [`PendingRequest`].
#[derive(Debug)]
pub(crate) enum ListenerCommand {
    Accept {
        peer: SocketAddr,
        passphrase: Option<String>,
        reply: oneshot::Sender<Result<Arc<ConnShared>, Error>>,
    },
    Reject {
        peer: SocketAddr,
        reason: RejectReason,
    },
    Authenticate {
        peer: SocketAddr,
        passphrase: Option<String>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

struct ListenerPart {
    config: SrtConfig,
    core: ListenerCore,
    requests: mpsc::Sender<PendingRequest>,
    commands_tx: mpsc::UnboundedSender<ListenerCommand>,
    commands: mpsc::UnboundedReceiver<ListenerCommand>,
}

/// The application-facing error for a caller that could not be accepted or authenticated.
fn accept_error(peer: SocketAddr, error: AcceptError) -> Error {
    match error {
        AcceptError::NotPending => Error::Handshake {
            remote: peer,
            reason: "the caller gave up (or timed out) before it was accepted".into(),
        },
        AcceptError::Rejected(reason) => {
            let (words, code) = describe_reject(reason);
            Error::Handshake {
                remote: peer,
                reason: format!("refused: {words} (code {code})"),
            }
        }
    }
}

/// Connections some endpoint task still drives (open, or repeating the Shutdown of a local close),
/// in this process: see [`wait_for_closes`].
static DRIVEN_CONNECTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Waits until no endpoint task drives a connection any more (every local close has sent its
/// repeated Shutdowns, about 1.5 s after the close), or `limit` has passed; returns whether all
/// were done. A process about to exit calls this with a short limit: its runtime would otherwise
/// drop the endpoint tasks at once, and with them the Shutdown repeats that make the peer end the
/// session at once rather than after its idle timeout when the first copies are lost.
pub async fn wait_for_closes(limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if DRIVEN_CONNECTIONS.load(std::sync::atomic::Ordering::Acquire) == 0 {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        DRIVEN_CONNECTIONS.fetch_sub(self.conns.len(), std::sync::atomic::Ordering::AcqRel);
    }
}

/// One UDP socket of an endpoint: a listener's or single caller's only one, or one member link
/// of a caller group.
struct SocketIo {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    /// Batched sends and receives on the socket.
    io: BatchIo,
    /// Datagrams gathered for the next send; kept when the kernel had no room, and sent first
    /// when the socket is writable again.
    batch: GsoBatch,
    /// The kernel had no room for `batch`.
    blocked: bool,
    /// A datagram taken from a connection that did not fit the blocked batch.
    overflow: Option<(Vec<u8>, SocketAddr)>,
    /// A group member's socket that failed: no longer read (its path goes silent and breaks).
    failed: bool,
}

impl SocketIo {
    fn new(socket: UdpSocket) -> Result<SocketIo, Error> {
        let local = socket.local_addr().map_err(|source| Error::LocalIo {
            context: "reading the UDP socket's local address",
            source,
        })?;
        let io = batch_io(&socket)?;
        Ok(SocketIo {
            socket: Arc::new(socket),
            local,
            io,
            batch: GsoBatch::new(),
            blocked: false,
            overflow: None,
            failed: false,
        })
    }

    /// The socket is writable again: sends the kept batch, then the datagram that did not fit.
    fn retry_blocked(&mut self) {
        if !flush(&self.io, &self.socket, &mut self.batch) {
            return;
        }
        if let Some((datagram, to)) = self.overflow.take() {
            self.batch.push(&datagram, to);
            if !flush(&self.io, &self.socket, &mut self.batch) {
                return;
            }
        }
        self.blocked = false;
    }
}

/// The driver of one UDP socket (a listener's, a single caller's), or of the sockets of a caller
/// group's member links.
pub(crate) struct Endpoint {
    /// The first is the one the endpoint was made with; a caller group adds one per member.
    sockets: Vec<SocketIo>,
    local: SocketAddr,
    shared: Arc<EndpointShared>,
    /// Connections by their first path's local socket id.
    conns: HashMap<u32, Arc<ConnShared>>,
    /// Later paths' local socket ids → the key of their connection in `conns`.
    members: HashMap<u32, u32>,
    /// A listener's group sessions: the listener's group id → the key in `conns`.
    sessions: HashMap<u32, u32>,
    listener: Option<ListenerPart>,
    /// A caller group's later members, as their handshakes end.
    member_outcomes: Option<mpsc::UnboundedReceiver<MemberOutcome>>,
    out: Vec<u8>,
    /// Packets of the current receive round, kept to reuse the allocation.
    received: Vec<(Datagram, SocketAddr)>,
    /// Connections (by key) to visit on the next turn: a packet arrived for them, they were
    /// opened or got a path. With the application's (`EndpointShared::woken`) and those whose
    /// timer is due, the only ones a turn looks at.
    dirty: Vec<u32>,
    /// Visit every connection on the next turn (a socket has room again, all failed, a group
    /// member came or went).
    dirty_all: bool,
    /// Each connection's next deadline (its data path's timer or its close deadline), in order.
    timers: BTreeSet<(Instant, u32)>,
    /// The deadline each connection has in `timers`.
    deadlines: HashMap<u32, Instant>,
    /// The keys of the current turn, kept to reuse the allocation.
    turn: Vec<u32>,
    /// Tests only: make the task panic on its next turn, to test the watcher.
    #[cfg(test)]
    panic_on_next_turn: bool,
}

fn batch_io(socket: &UdpSocket) -> Result<BatchIo, Error> {
    BatchIo::new(socket).map_err(|source| Error::LocalIo {
        context: "preparing the UDP socket for batched I/O",
        source,
    })
}

/// Sends `batch` and empties it; `false` when the kernel had no room (the batch is kept).
fn flush(io: &BatchIo, socket: &UdpSocket, batch: &mut GsoBatch) -> bool {
    if batch.is_empty() {
        return true;
    }
    match io.send(socket, batch) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
        // Anything else (no route, refused by a firewall) is loss on the path: the data path
        // retransmits, and peer idle ends it if the path never returns.
        Err(e) => tracing::debug!(error = %e, "UDP send failed"),
    }
    batch.clear();
    true
}

/// Logs a path event with its path's addresses.
fn log_path_event(event: &PathEvent, route: Option<&PathRoute>) {
    let remote = route.map(|r| r.remote);
    let local = route.map(|r| r.local);
    match event {
        PathEvent::Added(path) => {
            tracing::info!(%path, ?remote, ?local, "SRT group: path added")
        }
        PathEvent::Activated(path) => {
            tracing::info!(%path, ?remote, ?local, "SRT group: path now carries the data")
        }
        PathEvent::Unstable { path, silent_for } => {
            tracing::warn!(%path, ?remote, ?local, silent_ms = silent_for.as_millis() as u64, "SRT group: path unstable")
        }
        PathEvent::Broken { path, idle } => {
            tracing::warn!(%path, ?remote, ?local, idle_ms = idle.as_millis() as u64, "SRT group: path broken")
        }
    }
}

impl Endpoint {
    fn with_socket(socket: UdpSocket, listener: Option<ListenerPart>) -> Result<Endpoint, Error> {
        let socket = SocketIo::new(socket)?;
        Ok(Endpoint {
            local: socket.local,
            sockets: vec![socket],
            shared: EndpointShared::new(),
            conns: HashMap::new(),
            members: HashMap::new(),
            sessions: HashMap::new(),
            listener,
            member_outcomes: None,
            out: Vec::with_capacity(1500),
            received: Vec::new(),
            dirty: Vec::new(),
            dirty_all: false,
            timers: BTreeSet::new(),
            deadlines: HashMap::new(),
            turn: Vec::new(),
            #[cfg(test)]
            panic_on_next_turn: false,
        })
    }

    /// A driver for a socket whose single connection has just finished its handshake.
    pub(crate) fn for_connection(
        socket: UdpSocket,
        established: handshake::Established,
        config: &SrtConfig,
    ) -> Result<(Endpoint, Arc<ConnShared>), Error> {
        let mut endpoint = Endpoint::with_socket(socket, None)?;
        let conn = endpoint.open(&established, config, Instant::now());
        Ok((endpoint, conn))
    }

    /// Makes this single caller's endpoint the driver of a caller group: later members arrive on
    /// `outcomes`.
    pub(crate) fn with_members(
        mut self,
        outcomes: mpsc::UnboundedReceiver<MemberOutcome>,
    ) -> Endpoint {
        self.member_outcomes = Some(outcomes);
        self
    }

    /// Sets a caller group's mode and its first member's weight, and records what happened to
    /// the members so far (`failures`) and the first member's connection.
    pub(crate) fn start_group(
        &mut self,
        conn: &Arc<ConnShared>,
        mode: GroupMode,
        member: usize,
        weight: u8,
        failures: Vec<LinkEvent>,
        now: Instant,
    ) {
        let mut inner = conn.lock();
        inner.conn.set_group_mode(now, mode);
        inner.conn.set_path_weight(now, PathId::FIRST, weight);
        for event in failures {
            inner.push_link_event(event);
        }
        let local = self.local;
        inner.push_link_event(LinkEvent::MemberConnected {
            member,
            path: PathId::FIRST,
            remote: conn.remote,
            local,
        });
    }

    /// A driver for a listening socket; requests arrive on the returned channel.
    pub(crate) fn for_listener(
        socket: UdpSocket,
        config: SrtConfig,
        limits: ListenerLimits,
        groups: bool,
    ) -> Result<(Endpoint, mpsc::Receiver<PendingRequest>), Error> {
        config.validate()?;
        let core = ListenerCore::new(&config, limits, groups, Instant::now());
        let (requests, requests_rx) = mpsc::channel((limits.max_pending as usize).max(1));
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let listener = ListenerPart {
            config,
            core,
            requests,
            commands_tx,
            commands,
        };
        let endpoint = Endpoint::with_socket(socket, Some(listener))?;
        Ok((endpoint, requests_rx))
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// What the application side keeps of the endpoint (to learn of an unexpected stop).
    pub(crate) fn shared(&self) -> Arc<EndpointShared> {
        self.shared.clone()
    }

    fn open(
        &mut self,
        settings: &Established,
        config: &SrtConfig,
        now: Instant,
    ) -> Arc<ConnShared> {
        let mut conn = Connection::new(connection_config(settings, config), now);
        conn.set_shutdown_delay(shutdown_delay(settings.send_latency));
        // 28 bytes of IP and UDP header and 16 of SRT header: what the peer may put in a packet.
        conn.set_max_peer_payload(settings.mss.saturating_sub(44));
        let route = PathRoute {
            path: PathId::FIRST,
            local_socket_id: settings.local_socket_id,
            remote_socket_id: settings.remote_socket_id,
            remote: settings.remote,
            socket: 0,
            local: self.local,
        };
        let shared = Arc::new(ConnShared {
            inner: Mutex::new(ConnInner {
                conn,
                read_waker: None,
                write_waker: None,
                close_waker: None,
                close_deadline: None,
                abandoned: false,
                failure: None,
                linger: config.linger,
                detached: false,
                routes: vec![route],
                link_events: VecDeque::new(),
                group_session: None,
                caller_group: None,
            }),
            remote: settings.remote,
            remote_socket_id: settings.remote_socket_id,
            local: self.local,
            stream_id: settings.stream_id.clone(),
            endpoint: self.shared.clone(),
            key: settings.local_socket_id,
            wake_queued: AtomicBool::new(false),
        });
        self.dirty.push(settings.local_socket_id);
        if self
            .conns
            .insert(settings.local_socket_id, shared.clone())
            .is_none()
        {
            DRIVEN_CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        let mut registry = self
            .shared
            .conns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        registry.retain(|weak| weak.strong_count() > 0);
        registry.push(Arc::downgrade(&shared));
        shared
    }

    /// Adds a member link to the connection `key` as a new path sent from socket `socket`.
    fn add_member(
        &mut self,
        key: u32,
        member: &Established,
        weight: u8,
        socket: usize,
        now: Instant,
    ) -> Option<PathId> {
        let conn = self.conns.get(&key)?;
        let local = self.sockets.get(socket).map_or(self.local, |s| s.local);
        let mut inner = conn.lock();
        if matches!(inner.conn.state(), ConnectionState::Closed(_)) {
            return None;
        }
        let path = inner.conn.add_path(
            now,
            PathConfig {
                local_socket_id: SocketId(member.local_socket_id),
                remote_socket_id: SocketId(member.remote_socket_id),
                peer_flow_window: member.peer_flow_window,
                weight,
            },
        );
        inner.routes.push(PathRoute {
            path,
            local_socket_id: member.local_socket_id,
            remote_socket_id: member.remote_socket_id,
            remote: member.remote,
            socket,
            local,
        });
        drop(inner);
        self.members.insert(member.local_socket_id, key);
        self.dirty.push(key);
        Some(path)
    }

    /// A caller group's later member finished (or failed) its handshake.
    fn handle_member_outcome(&mut self, outcome: MemberOutcome, now: Instant) {
        let Some(key) = self.conns.keys().next().copied() else {
            return;
        };
        self.dirty_all = true;
        match outcome {
            MemberOutcome::Connected {
                member,
                socket,
                established,
                weight,
            } => {
                let socket = match SocketIo::new(socket) {
                    Ok(socket) => socket,
                    Err(error) => {
                        tracing::warn!(member, %error, "group member socket unusable");
                        return;
                    }
                };
                let local = socket.local;
                self.sockets.push(socket);
                let index = self.sockets.len() - 1;
                let remote = established.remote;
                match self.add_member(key, &established, weight, index, now) {
                    Some(path) => {
                        tracing::info!(member, %path, %remote, %local, weight, "group member connected");
                        if let Some(conn) = self.conns.get(&key) {
                            conn.lock().push_link_event(LinkEvent::MemberConnected {
                                member,
                                path,
                                remote,
                                local,
                            });
                        }
                    }
                    None => {
                        self.sockets.pop();
                    }
                }
            }
            MemberOutcome::Failed {
                member,
                remote,
                reason,
            } => {
                tracing::warn!(member, %remote, reason, "group member could not connect");
                if let Some(conn) = self.conns.get(&key) {
                    conn.lock().push_link_event(LinkEvent::MemberFailed {
                        member,
                        remote,
                        reason,
                    });
                }
            }
        }
    }

    /// Runs until every connection is finished and, for a listener, the listener is dropped.
    pub(crate) async fn run(mut self) {
        let shared = self.shared.clone();
        let mut handles: Vec<Arc<UdpSocket>> = Vec::new();
        loop {
            #[cfg(test)]
            #[allow(clippy::panic)]
            if self.panic_on_next_turn {
                panic!("a bug, simulated by a test");
            }
            let now = Instant::now();
            if self
                .next_deadline()
                .is_some_and(|due| now.saturating_duration_since(due) >= LATE_TURN)
            {
                self.receive_all();
            }
            let mut turn = std::mem::take(&mut self.turn);
            self.take_turn(now, &mut turn);
            self.run_timers(now, &turn);
            self.transmit_all(now, &turn);
            self.wake_application(now, &turn);
            self.update_deadlines(&turn);
            turn.clear();
            self.turn = turn;
            if self.finished() {
                break;
            }
            let deadline = self.next_deadline();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending::<()>().await,
                }
            };
            if handles.len() != self.sockets.len() {
                handles = self.sockets.iter().map(|s| s.socket.clone()).collect();
            }
            // Which sockets wait for room (a bit each; a group has at most 8 members).
            let blocked = self
                .sockets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.blocked)
                .fold(0u64, |mask, (index, _)| {
                    mask | 1u64.checked_shl(index as u32).unwrap_or(0)
                });
            let any_blocked = blocked != 0;
            let failed = self
                .sockets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.failed)
                .fold(0u64, |mask, (index, _)| {
                    mask | 1u64.checked_shl(index as u32).unwrap_or(0)
                });
            let readable = std::future::poll_fn(|cx| {
                for (index, socket) in handles.iter().enumerate() {
                    if failed & 1u64.checked_shl(index as u32).unwrap_or(0) != 0 {
                        continue;
                    }
                    if let Poll::Ready(result) = socket.poll_recv_ready(cx) {
                        return Poll::Ready((index, result));
                    }
                }
                Poll::Pending
            });
            let writable = std::future::poll_fn(|cx| {
                for (index, socket) in handles.iter().enumerate() {
                    if blocked & 1u64.checked_shl(index as u32).unwrap_or(0) != 0 {
                        if let Poll::Ready(result) = socket.poll_send_ready(cx) {
                            return Poll::Ready((index, result));
                        }
                    }
                }
                Poll::Pending
            });
            let commands = async {
                match self.listener.as_mut() {
                    Some(listener) => listener.commands.recv().await,
                    None => std::future::pending().await,
                }
            };
            let has_outcomes = self.member_outcomes.is_some();
            let outcomes = async {
                match self.member_outcomes.as_mut() {
                    Some(outcomes) => outcomes.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                (index, readable) = readable => {
                    if let Err(source) = readable {
                        self.socket_failed(index, Error::LocalIo { context: "waiting for the UDP socket", source });
                        continue;
                    }
                    self.receive_batch(index, Readiness::AsReported);
                }
                (index, writable) = writable, if any_blocked => {
                    if writable.is_ok() {
                        if let Some(socket) = self.sockets.get_mut(index) {
                            socket.retry_blocked();
                            // The connections a blocked turn skipped send now.
                            self.dirty_all |= !socket.blocked;
                        }
                    }
                }
                command = commands => {
                    if let Some(command) = command {
                        self.handle_command(command, Instant::now());
                    }
                }
                outcome = outcomes, if has_outcomes => {
                    match outcome {
                        Some(outcome) => self.handle_member_outcome(outcome, Instant::now()),
                        None => self.member_outcomes = None,
                    }
                }
                _ = shared.wake.notified() => {}
                _ = sleep => {}
            }
        }
    }

    fn finished(&mut self) -> bool {
        let listener_gone = match &self.listener {
            None => true,
            Some(listener) => listener.requests.is_closed(),
        };
        listener_gone && self.conns.is_empty()
    }

    /// The connections this turn visits, in `turn`: those the application woke, those with a
    /// packet or a change since the last turn, those whose deadline is due (or all of them).
    fn take_turn(&mut self, now: Instant, turn: &mut Vec<u32>) {
        let woken = std::mem::take(
            &mut *self
                .shared
                .woken
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for key in &woken {
            if let Some(conn) = self.conns.get(key) {
                conn.wake_queued.store(false, Ordering::Release);
            }
        }
        if self.dirty_all {
            self.dirty_all = false;
            self.dirty.clear();
            turn.extend(self.conns.keys().copied());
            return;
        }
        turn.append(&mut self.dirty);
        turn.extend(woken);
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.deadlines.remove(&key);
            turn.push(key);
        }
        turn.sort_unstable();
        turn.dedup();
    }

    /// Files the next deadline of each connection of this turn (or forgets a gone one).
    fn update_deadlines(&mut self, turn: &[u32]) {
        for key in turn {
            if let Some(at) = self.deadlines.remove(key) {
                self.timers.remove(&(at, *key));
            }
            let Some(conn) = self.conns.get(key) else {
                continue;
            };
            let inner = conn.lock();
            let next = match (inner.conn.poll_timeout(), inner.close_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            drop(inner);
            if let Some(at) = next {
                self.timers.insert((at, *key));
                self.deadlines.insert(*key, at);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let conns = self.timers.first().map(|(at, _)| *at);
        let listener = self.listener.as_ref().and_then(|l| l.core.poll_timeout());
        match (conns, listener) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn run_timers(&mut self, now: Instant, turn: &[u32]) {
        for conn in turn.iter().filter_map(|key| self.conns.get(key)) {
            let mut inner = conn.lock();
            if inner.conn.poll_timeout().is_some_and(|at| at <= now) {
                inner.conn.handle_timeout(now);
            }
            if let Some(deadline) = inner.close_deadline {
                let closed = matches!(inner.conn.state(), ConnectionState::Closed(_));
                if deadline <= now && !closed && inner.failure.is_none() {
                    // Live mode ends cleanly, giving up its tail; reliable mode never gives up
                    // data, so its linger running out is a failure.
                    let dropped = inner.conn.abandon_unacknowledged(now);
                    if dropped > 0 {
                        tracing::info!(remote = %conn.remote, dropped, "live stream closed: packets still unacknowledged were dropped");
                    }
                    if !matches!(inner.conn.state(), ConnectionState::Closed(_)) && dropped == 0 {
                        let unacked = inner.conn.stats(now).bytes_in_flight;
                        inner.failure = Some(Error::LingerExpired {
                            remote: conn.remote,
                            linger: inner.linger,
                            unacked,
                        });
                    }
                }
            }
        }
        if let Some(listener) = &mut self.listener {
            if listener.core.poll_timeout().is_some_and(|at| at <= now) {
                listener.core.handle_timeout(now);
                self.serve_listener(now);
            }
        }
    }

    /// Gathers what every connection may send now into GSO batches (one per socket) and sends
    /// them, until the connections have nothing more or the kernel has no room on a socket.
    fn transmit_all(&mut self, now: Instant, turn: &[u32]) {
        if self.sockets.iter().any(|s| s.blocked) {
            return;
        }
        let Endpoint {
            sockets,
            conns,
            out,
            ..
        } = self;
        'conns: for conn in turn.iter().filter_map(|key| conns.get(key)) {
            let mut inner = conn.lock();
            while let Some(Transmit { path, packet }) = inner.conn.poll_transmit(now) {
                // Each path's packets leave from its member's socket to its member's peer.
                let (index, to) = match inner.route(path) {
                    Some(route) => (route.socket, route.remote),
                    None => (0, conn.remote),
                };
                let Some(socket) = sockets.get_mut(index) else {
                    continue;
                };
                let max_segments = socket.io.max_segments();
                if socket.batch.push_packet(&packet, to, max_segments, out) {
                    continue;
                }
                // It did not fit (`out` holds it): send the batch, start the next one with it.
                if !flush(&socket.io, &socket.socket, &mut socket.batch) {
                    socket.overflow = Some((out.clone(), to));
                    socket.blocked = true;
                    break 'conns;
                }
                socket.batch.push(out, to);
            }
        }
        for socket in sockets.iter_mut() {
            if !socket.blocked && !flush(&socket.io, &socket.socket, &mut socket.batch) {
                socket.blocked = true;
            }
        }
    }

    fn wake_application(&mut self, now: Instant, turn: &[u32]) {
        let mut gone = Vec::new();
        let mut members_gone = Vec::new();
        for (id, conn) in turn
            .iter()
            .filter_map(|key| Some((key, self.conns.get(key)?)))
        {
            let mut inner = conn.lock();
            while let Some(event) = inner.conn.poll_event() {
                let route = match &event {
                    PathEvent::Added(path) | PathEvent::Activated(path) => inner.route(*path),
                    PathEvent::Unstable { path, .. } | PathEvent::Broken { path, .. } => {
                        inner.route(*path)
                    }
                }
                .copied();
                log_path_event(&event, route.as_ref());
                if let (PathEvent::Broken { .. }, Some(route), Some(_)) =
                    (&event, route, inner.group_session)
                {
                    // A group member link is gone: the listener frees its slot.
                    members_gone.push((route.remote, route.remote_socket_id));
                }
                inner.push_link_event(LinkEvent::Path(event));
            }
            let closed =
                matches!(inner.conn.state(), ConnectionState::Closed(_)) || inner.failure.is_some();
            if closed || inner.conn.readable_bytes() > 0 {
                if let Some(waker) = inner.read_waker.take() {
                    waker.wake();
                }
            }
            if closed || inner.conn.send_buffer_free() > 0 {
                if let Some(waker) = inner.write_waker.take() {
                    waker.wake();
                }
            }
            if closed {
                if let Some(waker) = inner.close_waker.take() {
                    waker.wake();
                }
                // A local close still repeats its Shutdown for a while: keep routing until done.
                if inner.conn.poll_timeout().is_none() || inner.failure.is_some() {
                    inner.detached = true;
                    gone.push(*id);
                }
            } else if inner.abandoned && inner.close_deadline.is_none() {
                inner.conn.close(now);
                inner.close_deadline = Some(now + inner.close_time());
            }
        }
        if let Some(listener) = &mut self.listener {
            for (peer, remote_socket_id) in members_gone {
                listener.core.session_ended(peer, remote_socket_id);
            }
        }
        for id in gone {
            let Some(conn) = self.conns.remove(&id) else {
                continue;
            };
            DRIVEN_CONNECTIONS.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            self.members.retain(|_, key| *key != id);
            let session = conn.lock().group_session;
            if let Some(session) = session {
                self.sessions.remove(&session);
            }
            if let Some(listener) = &mut self.listener {
                match session {
                    Some(session) => {
                        listener.core.group_ended(session);
                    }
                    None => listener
                        .core
                        .session_ended(conn.remote, conn.remote_socket_id),
                }
            }
        }
    }

    /// A socket failed: with one socket, every connection on it fails; a group member's socket
    /// is no longer read (its path goes silent and breaks, the group goes on).
    fn socket_failed(&mut self, index: usize, error: Error) {
        if self.sockets.len() == 1 {
            self.fail_all(error);
            return;
        }
        tracing::warn!(socket = index, %error, "group member socket failed: its path will break");
        if let Some(socket) = self.sockets.get_mut(index) {
            socket.failed = true;
        }
    }

    fn fail_all(&mut self, error: Error) {
        self.dirty_all = true;
        for conn in self.conns.values() {
            let mut inner = conn.lock();
            if inner.failure.is_none() {
                inner.failure = Some(error.duplicate());
            }
        }
    }

    /// Reads a batch from every socket still in use, whether or not the runtime has reported it
    /// readable yet (after a stop it may not have: on `SIGCONT` strace showed the runtime's
    /// `epoll_wait` report only the pusher's TCP socket while the UDP one held the peer's
    /// keepalives, and the timers would have fired first).
    fn receive_all(&mut self) {
        for index in 0..self.sockets.len() {
            if self.sockets.get(index).is_some_and(|s| !s.failed) {
                self.receive_batch(index, Readiness::AskKernel);
            }
        }
    }

    fn receive_batch(&mut self, index: usize, readiness: Readiness) {
        let Some(socket) = self.sockets.get(index).map(|s| s.socket.clone()) else {
            return;
        };
        let now = Instant::now();
        let mut received = std::mem::take(&mut self.received);
        let mut datagrams = 0;
        // Bounded even if every call fails with a refused-port report.
        for _ in 0..RECV_BATCH {
            if datagrams >= RECV_BATCH {
                break;
            }
            let Some(io) = self.sockets.get_mut(index).map(|s| &mut s.io) else {
                break;
            };
            let result = io.receive(&socket, readiness, |datagram, from| {
                match wire::decode(datagram, from) {
                    Ok(packet) => received.push((packet, from)),
                    Err(error) => {
                        tracing::debug!(%from, len = datagram.len(), %error, "datagram dropped")
                    }
                }
            });
            match result {
                Ok(n) => datagrams += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // ICMP errors reported on the socket; the path may come back.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(source) => {
                    self.socket_failed(
                        index,
                        Error::LocalIo {
                            context: "receiving from the UDP socket",
                            source,
                        },
                    );
                    break;
                }
            }
            for (packet, from) in received.drain(..) {
                self.dispatch(packet, from, index, now);
            }
        }
        self.received = received;
    }

    fn dispatch(&mut self, datagram: Datagram, from: SocketAddr, socket: usize, now: Instant) {
        match datagram {
            Datagram::Packet(packet) => self.route(packet, from, socket, now),
            Datagram::Handshake(hs) => {
                // A caller's endpoint has finished its handshake: late repeats need no answer.
                if let Some(listener) = &mut self.listener {
                    if listener.requests.is_closed() {
                        return;
                    }
                    listener.core.handle(now, from, hs);
                    self.serve_listener(now);
                }
            }
        }
    }

    fn route(&mut self, packet: Packet, from: SocketAddr, socket: usize, now: Instant) {
        let dest = packet.dest_sockid().0;
        // Only a group has later members: a single link skips the table.
        let key = if self.members.is_empty() {
            dest
        } else {
            self.members.get(&dest).copied().unwrap_or(dest)
        };
        let Some(conn) = self.conns.get(&key) else {
            return;
        };
        if self.dirty.last() != Some(&key) {
            self.dirty.push(key);
        }
        let mut inner = conn.lock();
        // Only the peer each path was made with, on that path's socket, may speak on it.
        let path = inner
            .routes
            .iter()
            .find(|r| r.local_socket_id == dest && r.remote == from && r.socket == socket)
            .map(|r| r.path);
        if let Some(path) = path {
            inner.conn.handle_packet(now, path, packet);
        }
    }

    /// Sends what the listener core has to send, hands its requests to the application and adds
    /// the members that joined group sessions as paths.
    fn serve_listener(&mut self, now: Instant) {
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        let Some(socket) = self.sockets.first().map(|s| s.socket.clone()) else {
            return;
        };
        let mut joined = Vec::new();
        loop {
            while let Some((bytes, to)) = listener.core.poll_transmit() {
                if let Err(e) = socket.try_send_to(&bytes, to) {
                    tracing::debug!(%to, error = %e, "handshake send failed");
                }
            }
            while let Some(member) = listener.core.poll_joined() {
                joined.push(member);
            }
            let Some(caller) = listener.core.poll_request() else {
                break;
            };
            let peer = caller.peer;
            let request = PendingRequest {
                caller,
                commands: listener.commands_tx.clone(),
            };
            if listener.requests.try_send(request).is_err() {
                tracing::warn!(%peer, "caller refused: the application's accept queue is full");
                let reason = RejectReason::Core(CoreRejectReason::Backlog);
                listener.core.reject(now, peer, reason);
            }
        }
        for member in joined {
            self.join_member(member, now);
        }
    }

    /// A later member of an accepted group joined: it becomes a path of the group's connection.
    fn join_member(&mut self, joined: MemberJoined, now: Instant) {
        let MemberJoined {
            session,
            member,
            link,
        } = joined;
        let weight = u8::try_from(link.weight.min(100)).unwrap_or(100);
        let added = self
            .sessions
            .get(&session)
            .copied()
            .and_then(|key| Some((key, self.add_member(key, &member, weight, 0, now)?)));
        match added {
            Some((key, path)) => {
                tracing::info!(session = format_args!("{session:#010x}"), %path, remote = %member.remote, weight, "group member joined");
                if let Some(conn) = self.conns.get(&key) {
                    conn.lock().push_link_event(LinkEvent::MemberJoined {
                        path,
                        remote: member.remote,
                    });
                }
            }
            None => {
                tracing::debug!(session = format_args!("{session:#010x}"), remote = %member.remote, "member of a group session that has ended");
                if let Some(listener) = &mut self.listener {
                    listener
                        .core
                        .session_ended(member.remote, member.remote_socket_id);
                }
            }
        }
    }

    fn handle_command(&mut self, command: ListenerCommand, now: Instant) {
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        match command {
            ListenerCommand::Accept {
                peer,
                passphrase,
                reply,
            } => {
                let config = listener.config.clone();
                match listener.core.accept(now, peer, passphrase.as_deref()) {
                    Ok(established) => {
                        let link = listener.core.group_of(peer, established.remote_socket_id);
                        let conn = self.open(&established, &config, now);
                        if let Some(link) = link {
                            let mode = mode_of(link.kind);
                            let weight = u8::try_from(link.weight.min(100)).unwrap_or(100);
                            {
                                let mut inner = conn.lock();
                                inner.conn.set_group_mode(now, mode);
                                inner.conn.set_path_weight(now, PathId::FIRST, weight);
                                inner.group_session = Some(link.local_group_id);
                            }
                            self.sessions
                                .insert(link.local_group_id, established.local_socket_id);
                            tracing::info!(%peer, session = format_args!("{:#010x}", link.local_group_id), ?mode, weight, "group session accepted (first member)");
                        }
                        if reply.send(Ok(conn.clone())).is_err() {
                            conn.lock().abandoned = true;
                        }
                    }
                    Err(error) => {
                        let _ = reply.send(Err(accept_error(peer, error)));
                    }
                }
            }
            ListenerCommand::Reject { peer, reason } => {
                listener.core.reject(now, peer, reason);
            }
            ListenerCommand::Authenticate {
                peer,
                passphrase,
                reply,
            } => {
                let result = listener
                    .core
                    .authenticate(now, peer, passphrase.as_deref())
                    .map_err(|error| accept_error(peer, error));
                let _ = reply.send(result);
            }
        }
        self.serve_listener(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srt::stream::SrtStream;
    use tokio::io::AsyncReadExt;

    fn socket() -> UdpSocket {
        crate::srt::udp::bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap()
    }

    #[tokio::test]
    async fn a_dead_listener_task_is_an_error_not_a_quiet_end() {
        let (mut endpoint, mut requests) = Endpoint::for_listener(
            socket(),
            SrtConfig::default(),
            ListenerLimits::default(),
            false,
        )
        .unwrap();
        let shared = endpoint.shared();
        endpoint.panic_on_next_turn = true;
        spawn(endpoint);
        assert!(requests.recv().await.is_none());
        // The watcher records the failure right after the task ends.
        for _ in 0..100 {
            if shared.failure().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let failure = shared.failure().expect("the failure is recorded");
        assert!(matches!(failure, Error::EndpointFailed { .. }), "{failure}");
        assert!(
            failure.to_string().contains("simulated by a test"),
            "{failure}"
        );
    }

    #[tokio::test]
    async fn a_dead_connection_task_fails_its_stream_instead_of_wedging_it() {
        let socket = socket();
        let peer = socket.local_addr().unwrap();
        let established = Established {
            remote: peer,
            local_socket_id: 1,
            remote_socket_id: 2,
            initial_sequence: 0,
            start_time: Instant::now(),
            mss: 1500,
            peer_flow_window: 8192,
            send_latency: Duration::ZERO,
            recv_latency: Duration::ZERO,
            cipher: None,
            stream_id: None,
        };
        let (mut endpoint, conn) =
            Endpoint::for_connection(socket, established, &SrtConfig::default()).unwrap();
        endpoint.panic_on_next_turn = true;
        let mut stream = SrtStream::from_shared(conn);
        spawn(endpoint);
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the read ends instead of waiting forever");
        let error = read.unwrap_err();
        let error = Error::from_io(&error).expect("a transport error");
        assert!(matches!(error, Error::EndpointFailed { .. }), "{error}");
        assert_eq!(error.side(), crate::Side::Local);
    }
}
