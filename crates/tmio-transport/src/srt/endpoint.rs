//! The tokio I/O layer: one task per UDP socket moves datagrams between the socket and the
//! sans-IO [`Connection`]s on it, runs their timers, and wakes the application side.
//!
//! A caller or rendezvous socket carries one connection; a listener socket carries many, told
//! apart by destination socket id, plus the handshakes of callers not yet accepted.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    task::Waker,
    time::{Duration, Instant},
};

use srt_protocol::{
    connection::ConnectionSettings,
    options::KeySize,
    packet::{ControlTypes, CoreRejectReason, Packet, RejectReason, ShakeType},
    protocol::pending_connection::{
        listen::Listen, AccessControlResponse, ConnectionReject, ConnectionResult,
    },
    settings::{ConnInitSettings, KeySettings},
};
use tokio::{
    net::UdpSocket,
    sync::{mpsc, oneshot, Notify},
};

use crate::{
    srt::{
        config::SrtConfig,
        connection::{CloseReason, Connection, ConnectionConfig, ConnectionState, DeliveryMode},
        handshake::{self, conclusion_crypto, describe_reject, guarded, ConclusionCrypto},
        udp::{self, BatchIo, GsoBatch},
    },
    Error,
};

/// Datagrams read from the socket (at least, whole `recvmmsg` calls) before the connections get
/// to transmit again.
const RECV_BATCH: usize = 64;
/// How long a half-done handshake from one address is kept.
const PENDING_HANDSHAKE_TTL: Duration = Duration::from_secs(10);
/// How long a rejection is repeated to a caller that keeps asking.
const REJECTION_TTL: Duration = Duration::from_secs(3);

/// What the application side and the driver task share for one connection.
pub(crate) struct ConnShared {
    inner: Mutex<ConnInner>,
    pub(crate) remote: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) stream_id: Option<String>,
    pub(crate) endpoint: Arc<EndpointShared>,
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
}

impl ConnShared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, ConnInner> {
        // A poisoned lock means a panic elsewhere already; the state is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
}

/// Builds the data path's settings from a finished handshake.
pub(crate) fn connection_config(
    settings: &ConnectionSettings,
    config: &SrtConfig,
) -> ConnectionConfig {
    let delivery = match config.delivery {
        DeliveryMode::Reliable => DeliveryMode::Reliable,
        DeliveryMode::Live { too_late_drop, .. } => DeliveryMode::Live {
            recv_latency: settings.recv_tsbpd_latency,
            send_latency: settings.send_tsbpd_latency,
            too_late_drop,
        },
    };
    ConnectionConfig {
        local_socket_id: settings.local_sockid,
        remote_socket_id: settings.remote_sockid,
        initial_sequence_number: settings.init_seq_num,
        start_time: settings.socket_start_time,
        delivery,
        payload_size: config.effective_payload_size(settings.max_packet_size.0 as usize),
        send_buffer_bytes: config.send_buffer_bytes,
        recv_buffer_bytes: config.recv_buffer_bytes,
        peer_flow_window: u32::try_from(settings.max_flow_size.0).unwrap_or(u32::MAX),
        max_bandwidth: config.max_bandwidth,
        peer_idle_timeout: config.peer_idle_timeout,
        cipher: settings.cipher.clone(),
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
    pub(crate) peer: SocketAddr,
    pub(crate) stream_id: Option<String>,
    pub(crate) key_size: KeySize,
    pub(crate) encrypted: bool,
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
}

enum PendingState {
    Handshaking,
    /// What the caller's conclusion said about encryption, kept for the answer.
    AwaitingApplication(ConclusionCrypto),
    Rejected(Option<Box<Packet>>, Instant),
}

struct PendingSession {
    listen: Listen,
    state: PendingState,
    last_seen: Instant,
    /// From the caller's latest conclusion handshake.
    crypto: Option<ConclusionCrypto>,
}

struct ListenerPart {
    config: SrtConfig,
    init: ConnInitSettings,
    pending: HashMap<SocketAddr, PendingSession>,
    requests: mpsc::Sender<PendingRequest>,
    commands_tx: mpsc::UnboundedSender<ListenerCommand>,
    commands: mpsc::UnboundedReceiver<ListenerCommand>,
}

/// The driver of one UDP socket.
pub(crate) struct Endpoint {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    shared: Arc<EndpointShared>,
    conns: HashMap<u32, Arc<ConnShared>>,
    /// Listener side: which connection a peer address belongs to, and its last handshake reply.
    by_peer: HashMap<SocketAddr, (u32, Option<Packet>)>,
    listener: Option<ListenerPart>,
    out: Vec<u8>,
    /// Batched sends and receives on the socket.
    io: BatchIo,
    /// Datagrams gathered for the next send; kept when the kernel had no room, and sent first
    /// when the socket is writable again.
    batch: GsoBatch,
    /// The kernel had no room for `batch`.
    blocked: bool,
    /// A datagram taken from a connection that did not fit the blocked batch.
    overflow: Option<(Vec<u8>, SocketAddr)>,
    /// Packets of the current receive round, kept to reuse the allocation.
    received: Vec<(Packet, SocketAddr)>,
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

impl Endpoint {
    /// A driver for a socket whose single connection has just finished its handshake.
    pub(crate) fn for_connection(
        socket: UdpSocket,
        established: handshake::Established,
        config: &SrtConfig,
    ) -> Result<(Endpoint, Arc<ConnShared>), Error> {
        let local = socket.local_addr().map_err(|source| Error::LocalIo {
            context: "reading the UDP socket's local address",
            source,
        })?;
        let shared = Arc::new(EndpointShared {
            wake: Notify::new(),
        });
        let io = batch_io(&socket)?;
        let mut endpoint = Endpoint {
            socket: Arc::new(socket),
            local,
            shared,
            conns: HashMap::new(),
            by_peer: HashMap::new(),
            listener: None,
            out: Vec::with_capacity(1500),
            io,
            batch: GsoBatch::new(),
            blocked: false,
            overflow: None,
            received: Vec::new(),
        };
        let conn = endpoint.open(&established.settings, config, Instant::now());
        Ok((endpoint, conn))
    }

    /// A driver for a listening socket; requests arrive on the returned channel.
    pub(crate) fn for_listener(
        socket: UdpSocket,
        config: SrtConfig,
        backlog: usize,
    ) -> Result<(Endpoint, mpsc::Receiver<PendingRequest>), Error> {
        let local = socket.local_addr().map_err(|source| Error::LocalIo {
            context: "reading the UDP socket's local address",
            source,
        })?;
        let init = config.init_settings()?;
        let (requests, requests_rx) = mpsc::channel(backlog.max(1));
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let io = batch_io(&socket)?;
        let endpoint = Endpoint {
            socket: Arc::new(socket),
            local,
            shared: Arc::new(EndpointShared {
                wake: Notify::new(),
            }),
            conns: HashMap::new(),
            by_peer: HashMap::new(),
            listener: Some(ListenerPart {
                config,
                init,
                pending: HashMap::new(),
                requests,
                commands_tx,
                commands,
            }),
            out: Vec::with_capacity(1500),
            io,
            batch: GsoBatch::new(),
            blocked: false,
            overflow: None,
            received: Vec::new(),
        };
        Ok((endpoint, requests_rx))
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn open(
        &mut self,
        settings: &ConnectionSettings,
        config: &SrtConfig,
        now: Instant,
    ) -> Arc<ConnShared> {
        let mut conn = Connection::new(connection_config(settings, config), now);
        conn.set_shutdown_delay(shutdown_delay(settings.send_tsbpd_latency));
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
            }),
            remote: settings.remote,
            local: self.local,
            stream_id: settings.stream_id.clone(),
            endpoint: self.shared.clone(),
        });
        self.conns.insert(settings.local_sockid.0, shared.clone());
        shared
    }

    /// Runs until every connection is finished and, for a listener, the listener is dropped.
    pub(crate) async fn run(mut self) {
        let socket = self.socket.clone();
        let shared = self.shared.clone();
        loop {
            let now = Instant::now();
            self.run_timers(now);
            self.transmit_all(now);
            self.wake_application(now);
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
            let blocked = self.blocked;
            let commands = async {
                match self.listener.as_mut() {
                    Some(listener) => listener.commands.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                readable = socket.readable() => {
                    if let Err(source) = readable {
                        self.fail_all(Error::LocalIo { context: "waiting for the UDP socket", source });
                        continue;
                    }
                    self.receive_batch(&socket);
                }
                writable = socket.writable(), if blocked => {
                    if writable.is_ok() {
                        self.retry_blocked();
                    }
                }
                command = commands => {
                    if let Some(command) = command {
                        self.handle_command(command, Instant::now());
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

    fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| {
            next = Some(next.map_or(at, |n| n.min(at)));
        };
        for conn in self.conns.values() {
            let inner = conn.lock();
            if let Some(at) = inner.conn.poll_timeout() {
                consider(at);
            }
            if let Some(at) = inner.close_deadline {
                consider(at);
            }
        }
        if let Some(listener) = &self.listener {
            for pending in listener.pending.values() {
                consider(pending.last_seen + PENDING_HANDSHAKE_TTL);
            }
        }
        next
    }

    fn run_timers(&mut self, now: Instant) {
        for conn in self.conns.values() {
            let mut inner = conn.lock();
            if inner.conn.poll_timeout().is_some_and(|at| at <= now) {
                inner.conn.handle_timeout(now);
            }
            if let Some(deadline) = inner.close_deadline {
                let closed = matches!(inner.conn.state(), ConnectionState::Closed(_));
                if deadline <= now && !closed && inner.failure.is_none() {
                    let unacked = inner.conn.stats(now).bytes_in_flight;
                    inner.failure = Some(Error::LingerExpired {
                        remote: conn.remote,
                        linger: inner.linger,
                        unacked,
                    });
                }
            }
        }
        if let Some(listener) = &mut self.listener {
            listener.pending.retain(|_, pending| match pending.state {
                PendingState::Rejected(_, until) => until > now,
                _ => pending.last_seen + PENDING_HANDSHAKE_TTL > now,
            });
        }
    }

    /// Gathers what every connection may send now into GSO batches and sends them, until the
    /// connections have nothing more or the kernel has no room.
    fn transmit_all(&mut self, now: Instant) {
        if self.blocked {
            return;
        }
        let Endpoint {
            socket,
            conns,
            out,
            io,
            batch,
            overflow,
            ..
        } = self;
        let max_segments = io.max_segments();
        let mut blocked = false;
        'conns: for conn in conns.values() {
            let mut inner = conn.lock();
            while let Some(packet) = inner.conn.poll_transmit(now) {
                if batch.push_packet(&packet, conn.remote, max_segments, out) {
                    continue;
                }
                // It did not fit (`out` holds it): send the batch, start the next one with it.
                if !flush(io, socket, batch) {
                    *overflow = Some((out.clone(), conn.remote));
                    blocked = true;
                    break 'conns;
                }
                batch.push(out, conn.remote);
            }
        }
        self.blocked = blocked || !flush(&self.io, &self.socket, &mut self.batch);
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

    fn wake_application(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for (id, conn) in &self.conns {
            let mut inner = conn.lock();
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
                let linger = inner.linger;
                inner.conn.close(now);
                inner.close_deadline = Some(now + linger);
            }
        }
        for id in gone {
            self.conns.remove(&id);
            self.by_peer.retain(|_, (conn_id, _)| *conn_id != id);
        }
    }

    fn fail_all(&mut self, error: Error) {
        for conn in self.conns.values() {
            let mut inner = conn.lock();
            if inner.failure.is_none() {
                inner.failure = Some(error.duplicate());
            }
        }
    }

    fn receive_batch(&mut self, socket: &UdpSocket) {
        let now = Instant::now();
        let mut received = std::mem::take(&mut self.received);
        let mut datagrams = 0;
        // Bounded even if every call fails with a refused-port report.
        for _ in 0..RECV_BATCH {
            if datagrams >= RECV_BATCH {
                break;
            }
            let result = self.io.receive(socket, |datagram, from| {
                match udp::decode(datagram, from) {
                    Ok(packet) => received.push((packet, from)),
                    Err(_) => {
                        tracing::trace!(%from, len = datagram.len(), "undecodable datagram dropped")
                    }
                }
            });
            match result {
                Ok(n) => datagrams += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // ICMP errors reported on the socket; the path may come back.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(source) => {
                    self.fail_all(Error::LocalIo {
                        context: "receiving from the UDP socket",
                        source,
                    });
                    break;
                }
            }
            for (packet, from) in received.drain(..) {
                self.dispatch(packet, from, now);
            }
        }
        self.received = received;
    }

    fn dispatch(&mut self, packet: Packet, from: SocketAddr, now: Instant) {
        let dest = packet.dest_sockid().0;
        if dest != 0 {
            if let Some(conn) = self.conns.get(&dest) {
                if conn.remote == from {
                    let mut inner = conn.lock();
                    // A late handshake repeat is answered by the listener part below.
                    if !packet.is_handshake() {
                        inner.conn.handle_packet(now, packet);
                        return;
                    }
                } else {
                    return;
                }
            }
        }
        if packet.is_handshake() {
            self.handle_handshake(packet, from, now);
        }
    }

    fn handle_handshake(&mut self, packet: Packet, from: SocketAddr, now: Instant) {
        if let Some((_, reply)) = self.by_peer.get(&from) {
            // The caller did not get our conclusion answer: send it again.
            let is_conclusion = matches!(
                packet.control().map(|c| &c.control_type),
                Some(ControlTypes::Handshake(info)) if info.shake_type == ShakeType::Conclusion
            );
            if let (true, Some(reply)) = (is_conclusion, reply.clone()) {
                self.send_now(&reply, from);
            }
            return;
        }
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        if listener.requests.is_closed() {
            return;
        }
        let crypto = match conclusion_crypto(&packet) {
            Ok(crypto) => crypto,
            Err(why) => {
                tracing::debug!(%from, why, "malformed conclusion handshake dropped");
                return;
            }
        };
        let init = &listener.init;
        let session = listener
            .pending
            .entry(from)
            .or_insert_with(|| PendingSession {
                listen: Listen::new(init.copy_randomize(), true),
                state: PendingState::Handshaking,
                last_seen: now,
                crypto: None,
            });
        session.last_seen = now;
        if crypto.is_some() {
            session.crypto = crypto;
        }
        if let PendingState::Rejected(reply, _) = &session.state {
            if let Some(reply) = reply.clone() {
                self.send_now(&reply, from);
            }
            return;
        }
        let Some(result) = guarded(|| session.listen.handle_packet(now, Ok((packet, from)))) else {
            listener.pending.remove(&from);
            return;
        };
        self.handle_listen_result(result, from, now, None);
    }

    fn handle_listen_result(
        &mut self,
        result: ConnectionResult,
        from: SocketAddr,
        now: Instant,
        reply_to: Option<oneshot::Sender<Result<Arc<ConnShared>, Error>>>,
    ) {
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        match result {
            ConnectionResult::SendPacket((packet, to)) => self.send_now(&packet, to),
            ConnectionResult::RequestAccess(request) => {
                let mut crypto = ConclusionCrypto {
                    announced: request.key_size,
                    has_key_material: request.key_size != KeySize::Unspecified,
                };
                if let Some(session) = listener.pending.get_mut(&from) {
                    crypto = session.crypto.unwrap_or(crypto);
                    session.state = PendingState::AwaitingApplication(crypto);
                }
                let pending = PendingRequest {
                    peer: request.remote,
                    stream_id: request.stream_id.map(|s| s.to_string()),
                    key_size: crypto.announced,
                    encrypted: crypto.has_key_material,
                    commands: listener.commands_tx.clone(),
                };
                if listener.requests.try_send(pending).is_err() {
                    let reason = RejectReason::Core(CoreRejectReason::Backlog);
                    self.answer(from, AccessControlResponse::Rejected(reason), now, None);
                }
            }
            ConnectionResult::Connected(reply, connection) => {
                listener.pending.remove(&from);
                let config = listener.config.clone();
                if let Some((packet, to)) = &reply {
                    self.send_now(packet, *to);
                }
                let conn = self.open(&connection.settings, &config, now);
                self.by_peer.insert(
                    from,
                    (connection.settings.local_sockid.0, reply.map(|(p, _)| p)),
                );
                if let Some(reply_to) = reply_to {
                    if reply_to.send(Ok(conn.clone())).is_err() {
                        conn.lock().abandoned = true;
                    }
                } else {
                    conn.lock().abandoned = true;
                }
            }
            ConnectionResult::Reject(packet, reject) => {
                if let Some((packet, to)) = &packet {
                    self.send_now(packet, *to);
                }
                if let Some(listener) = self.listener.as_mut() {
                    listener.pending.insert(
                        from,
                        PendingSession {
                            listen: Listen::new(listener.init.clone(), true),
                            state: PendingState::Rejected(
                                packet.map(|(p, _)| Box::new(p)),
                                now + REJECTION_TTL,
                            ),
                            last_seen: now,
                            crypto: None,
                        },
                    );
                }
                if let Some(reply_to) = reply_to {
                    let reason = match reject {
                        ConnectionReject::Rejecting(r) | ConnectionReject::Rejected(r) => r,
                    };
                    let (words, code) = describe_reject(reason);
                    let _ = reply_to.send(Err(Error::Handshake {
                        remote: from,
                        reason: format!("rejected: {words} (code {code})"),
                    }));
                }
            }
            ConnectionResult::NotHandled(error) => {
                tracing::debug!(%from, %error, "handshake packet not handled");
            }
            ConnectionResult::Failure(error) => {
                tracing::debug!(%from, %error, "handshake failed");
                listener.pending.remove(&from);
            }
            ConnectionResult::NoAction => {}
        }
    }

    fn handle_command(&mut self, command: ListenerCommand, now: Instant) {
        match command {
            ListenerCommand::Accept {
                peer,
                passphrase,
                reply,
            } => {
                let Some(listener) = self.listener.as_ref() else {
                    return;
                };
                let passphrase = passphrase.or_else(|| listener.config.passphrase.clone());
                let response = match self.key_settings_for(peer, passphrase) {
                    Ok(keys) => AccessControlResponse::Accepted(keys),
                    Err(reason) => AccessControlResponse::Rejected(reason),
                };
                self.answer(peer, response, now, Some(reply));
            }
            ListenerCommand::Reject { peer, reason } => {
                self.answer(peer, AccessControlResponse::Rejected(reason), now, None);
            }
        }
    }

    /// The key settings to accept `peer` with, or why it must be refused.
    ///
    /// The key length is the caller's (libsrt's responder adopts the initiator's); srt-protocol
    /// requires it to equal the handshake's field, which libsrt leaves 0 for its AES-128 default.
    fn key_settings_for(
        &self,
        peer: SocketAddr,
        passphrase: Option<String>,
    ) -> Result<Option<KeySettings>, RejectReason> {
        let theirs = self
            .listener
            .as_ref()
            .and_then(|l| l.pending.get(&peer))
            .and_then(|p| match p.state {
                PendingState::AwaitingApplication(crypto) => Some(crypto),
                _ => None,
            })
            .unwrap_or(ConclusionCrypto {
                announced: KeySize::Unspecified,
                has_key_material: false,
            });
        match (passphrase, theirs.has_key_material) {
            (None, false) => Ok(None),
            (None, true) | (Some(_), false) => Err(RejectReason::Core(CoreRejectReason::Unsecure)),
            (Some(passphrase), true) => {
                let passphrase = passphrase
                    .try_into()
                    .map_err(|_| RejectReason::Core(CoreRejectReason::BadSecret))?;
                Ok(Some(KeySettings {
                    key_size: theirs.announced,
                    passphrase,
                }))
            }
        }
    }

    fn answer(
        &mut self,
        peer: SocketAddr,
        response: AccessControlResponse,
        now: Instant,
        reply_to: Option<oneshot::Sender<Result<Arc<ConnShared>, Error>>>,
    ) {
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        let Some(session) = listener.pending.get_mut(&peer) else {
            if let Some(reply_to) = reply_to {
                let _ = reply_to.send(Err(Error::Handshake {
                    remote: peer,
                    reason: "the caller gave up before it was accepted".into(),
                }));
            }
            return;
        };
        let result = guarded(|| session.listen.handle_access_control_response(now, response));
        match result {
            Some(result) => self.handle_listen_result(result, peer, now, reply_to),
            None => {
                listener.pending.remove(&peer);
                if let Some(reply_to) = reply_to {
                    let _ = reply_to.send(Err(Error::Handshake {
                        remote: peer,
                        reason: "malformed handshake from the caller".into(),
                    }));
                }
            }
        }
    }

    fn send_now(&mut self, packet: &Packet, to: SocketAddr) {
        udp::encode(packet, &mut self.out);
        if let Err(e) = self.socket.try_send_to(&self.out, to) {
            tracing::debug!(%to, error = %e, "handshake send failed");
        }
    }
}
