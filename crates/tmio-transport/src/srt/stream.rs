//! [`SrtStream`]: one SRT connection as an ordered, back-pressured byte stream.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{
    srt::{
        config::{ConnectMode, SrtConfig},
        connection::{Connection, ConnectionError, ConnectionState, ConnectionStats},
        endpoint::{self, close_error, ConnShared, Endpoint},
        group::{LinkEvent, PathReport},
        handshake, udp,
    },
    Error,
};

/// One SRT connection: `AsyncRead + AsyncWrite` with backpressure.
///
/// A write waits while the send buffer (`sndbuf`) is full; a read returns bytes in order as they
/// arrive; `shutdown` sends everything accepted, waits for the peer to acknowledge it (at most
/// `linger`), then closes the connection (SRT has no half-close: the peer's read ends too). Dropping
/// the stream closes it gracefully in the background.
pub struct SrtStream {
    shared: Arc<ConnShared>,
}

impl std::fmt::Debug for SrtStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtStream")
            .field("local", &self.shared.local)
            .field("remote", &self.shared.remote)
            .field("stream_id", &self.shared.stream_id)
            .finish()
    }
}

impl SrtStream {
    /// Connects to `remote` as configured: caller (to a listener) or rendezvous. A listener is
    /// made with [`crate::srt::SrtListener::bind`] instead.
    pub async fn connect(
        remote: SocketAddr,
        mode: ConnectMode,
        config: &SrtConfig,
    ) -> Result<SrtStream, Error> {
        config.validate()?;
        let local = config
            .local_addr
            .unwrap_or_else(|| udp::any_address_for(remote));
        let socket = udp::bind(local, config.udp_buffer_bytes)?;
        Self::connect_on(socket, remote, mode, config).await
    }

    /// Like [`SrtStream::connect`], on a UDP socket the application already opened.
    pub async fn connect_with_socket(
        socket: std::net::UdpSocket,
        remote: SocketAddr,
        mode: ConnectMode,
        config: &SrtConfig,
    ) -> Result<SrtStream, Error> {
        config.validate()?;
        let socket = udp::adopt(socket, config.udp_buffer_bytes)?;
        Self::connect_on(socket, remote, mode, config).await
    }

    async fn connect_on(
        socket: tokio::net::UdpSocket,
        remote: SocketAddr,
        mode: ConnectMode,
        config: &SrtConfig,
    ) -> Result<SrtStream, Error> {
        let established = match mode {
            ConnectMode::Caller => handshake::call(&socket, remote, config).await?,
            ConnectMode::Rendezvous => handshake::rendezvous(&socket, remote, config).await?,
            ConnectMode::Listener => {
                return Err(Error::InvalidConfig {
                    option: "mode",
                    value: "listener".into(),
                    reason: "a listener is made with SrtListener::bind, not connect",
                })
            }
        };
        let (endpoint, shared) = Endpoint::for_connection(socket, established, config)?;
        endpoint::spawn(endpoint);
        Ok(SrtStream { shared })
    }

    pub(crate) fn from_shared(shared: Arc<ConnShared>) -> SrtStream {
        SrtStream { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<ConnShared> {
        &self.shared
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.shared.remote
    }

    /// The local UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// The stream id the caller sent, if any.
    pub fn stream_id(&self) -> Option<&str> {
        self.shared.stream_id.as_deref()
    }

    /// Statistics of the connection so far (readable while it runs).
    pub fn stats(&self) -> ConnectionStats {
        self.shared.lock().conn.stats(Instant::now())
    }

    /// Every path (member link) of the connection with its addresses, state and counters; one
    /// for a single link.
    pub fn path_reports(&self) -> Vec<PathReport> {
        self.shared.lock().path_reports(Instant::now())
    }

    /// The link events (members connected or failed, paths added, activated, unstable, broken)
    /// since the last call, oldest first; at most the last 256 are kept.
    pub fn link_events(&self) -> Vec<LinkEvent> {
        self.shared.lock().link_events.drain(..).collect()
    }

    /// A cheap handle that reads this connection's statistics and status from elsewhere (e.g.
    /// while a pump owns the stream).
    pub fn monitor(&self) -> SrtMonitor {
        SrtMonitor {
            shared: self.shared.clone(),
        }
    }

    /// `Ok` while the connection is usable; the error that ended it otherwise.
    pub fn status(&self) -> Result<(), Error> {
        let inner = self.shared.lock();
        match self.shared.terminal_error(&inner) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl AsyncRead for SrtStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let shared = &self.shared;
        let mut inner = shared.lock();
        let deadline = inner.conn.poll_timeout();
        let n = inner.conn.read(Instant::now(), buf.initialize_unfilled());
        if n > 0 {
            buf.advance(n);
            // Freed receive buffer space is advertised with the next ACK: at once when the read
            // reopened a closed window, else by the timer, which may now be due sooner.
            if needs_driver(&inner.conn, deadline) {
                drop(inner);
                shared.wake_endpoint();
            }
            return Poll::Ready(Ok(()));
        }
        if let Some(error) = shared.terminal_error(&inner) {
            return Poll::Ready(Err(error.into_io()));
        }
        if matches!(inner.conn.state(), ConnectionState::Closed(_)) {
            return Poll::Ready(Ok(())); // end of stream
        }
        inner.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for SrtStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &self.shared;
        let mut inner = shared.lock();
        if let Some(error) = shared.terminal_error(&inner) {
            return Poll::Ready(Err(error.into_io()));
        }
        if inner.close_deadline.is_some() {
            return Poll::Ready(Err(Error::Closed.into_io()));
        }
        match inner.conn.state() {
            ConnectionState::Open => {}
            // Closing without a local close: the peer shut the connection down.
            ConnectionState::Closing | ConnectionState::Closed(_) => {
                return Poll::Ready(Err(Error::PeerClosed {
                    remote: shared.remote,
                }
                .into_io()))
            }
        }
        let deadline = inner.conn.poll_timeout();
        match inner.conn.write(Instant::now(), buf) {
            Ok(0) if !buf.is_empty() => {
                inner.write_waker = Some(cx.waker().clone());
                Poll::Pending
            }
            Ok(n) => {
                // While earlier data still waits for the window or the pacer, the driver already
                // has a wake-up for it (an ACK, the pacing timer): waking it for every write
                // only costs a turn of its loop and a context switch.
                if needs_driver(&inner.conn, deadline) {
                    drop(inner);
                    shared.wake_endpoint();
                }
                Poll::Ready(Ok(n))
            }
            Err(ConnectionError::Closed(reason)) => {
                Poll::Ready(Err(close_error(&reason, shared.remote)
                    .unwrap_or(Error::PeerClosed {
                        remote: shared.remote,
                    })
                    .into_io()))
            }
            Err(ConnectionError::WriteAfterClose) => Poll::Ready(Err(Error::Closed.into_io())),
            Err(error) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                error.to_string(),
            ))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Accepted bytes are already queued for sending; SRT itself sends them at once.
        let inner = self.shared.lock();
        match self.shared.terminal_error(&inner) {
            Some(error) => Poll::Ready(Err(error.into_io())),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &self.shared;
        let mut inner = shared.lock();
        if let Some(error) = shared.terminal_error(&inner) {
            return Poll::Ready(Err(error.into_io()));
        }
        if matches!(inner.conn.state(), ConnectionState::Closed(_)) {
            return Poll::Ready(Ok(()));
        }
        if inner.close_deadline.is_none() {
            let now = Instant::now();
            inner.conn.close(now);
            inner.close_deadline = Some(now + inner.close_time());
            shared.wake_endpoint();
        }
        inner.close_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for SrtStream {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.abandoned = true;
        drop(inner);
        self.shared.wake_endpoint();
    }
}

/// Whether the driver task must be woken after the application read or wrote: control packets
/// are queued (a window update), or the connection's next deadline came earlier than `before`,
/// the one the driver may be sleeping until (new data to send, an ACK due sooner). The driver
/// computes its sleep from `poll_timeout` under the same lock, so a deadline that did not move
/// earlier is one it already knows.
fn needs_driver(conn: &Connection, before: Option<Instant>) -> bool {
    if conn.has_control_to_send() {
        return true;
    }
    match (conn.poll_timeout(), before) {
        (Some(after), Some(before)) => after < before,
        (None, None) => false,
        // A deadline appeared, or the connection just closed (the driver cleans up).
        _ => true,
    }
}

/// Reads an [`SrtStream`]'s statistics and status without owning it.
#[derive(Clone)]
pub struct SrtMonitor {
    pub(crate) shared: Arc<ConnShared>,
}

impl std::fmt::Debug for SrtMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtMonitor")
            .field("remote", &self.shared.remote)
            .finish()
    }
}

impl SrtMonitor {
    /// Statistics of the connection so far.
    pub fn stats(&self) -> ConnectionStats {
        self.shared.lock().conn.stats(Instant::now())
    }

    /// `Ok` while the connection is usable or ended cleanly; the error that ended it otherwise.
    pub fn status(&self) -> Result<(), Error> {
        let inner = self.shared.lock();
        match self.shared.terminal_error(&inner) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// See [`SrtStream::path_reports`].
    pub fn path_reports(&self) -> Vec<PathReport> {
        self.shared.lock().path_reports(Instant::now())
    }

    /// See [`SrtStream::link_events`] (one queue: whichever handle reads an event takes it).
    pub fn link_events(&self) -> Vec<LinkEvent> {
        self.shared.lock().link_events.drain(..).collect()
    }

    /// Whether the connection has ended (cleanly or not).
    pub fn is_closed(&self) -> bool {
        let inner = self.shared.lock();
        inner.failure.is_some() || matches!(inner.conn.state(), ConnectionState::Closed(_))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.shared.remote
    }
}
