//! [`SrtListener`]: one UDP port, many SRT sessions; each caller's request (stream id, address,
//! key length) is handed to the application to accept or reject with an SRT reject reason.

use std::{net::SocketAddr, sync::Arc};

use srt_protocol::packet::RejectReason;
use tokio::sync::{mpsc, oneshot};

pub use crate::srt::handshake::listener::ListenerLimits;
use crate::{
    srt::{
        config::SrtConfig,
        connection::GroupMode,
        endpoint::{self, Endpoint, EndpointShared, ListenerCommand, PendingRequest},
        group::mode_of,
        stream::SrtStream,
        udp,
    },
    Error,
};

/// A listening SRT socket.
///
/// Before a caller reaches [`SrtListener::next_request`] the listener has checked its handshake
/// (a valid SYN cookie, HSv5, stream id, MSS, extensions) and, when the listener has a
/// passphrase, its key; it enforces [`ListenerLimits`]. Each refusal is answered with an SRT
/// reject reason.
pub struct SrtListener {
    local: SocketAddr,
    udp_buffers: Option<UdpBuffers>,
    requests: mpsc::Receiver<PendingRequest>,
    endpoint: Arc<EndpointShared>,
}

/// The buffers a listener's UDP socket asked the kernel for, and what it granted: the kernel
/// caps them at `net.core.rmem_max` and `wmem_max`. Whatever arrives while the listener is
/// behind by more than its receive buffer is lost (and sent again), which a listener serving
/// many sessions on a busy machine meets first: 200 sessions at 5 Mbit/s fill 4 MiB in ~20 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpBuffers {
    /// Bytes asked for, each way ([`SrtConfig::udp_buffer_bytes`]).
    pub asked: usize,
    /// Receive buffer granted, in bytes.
    pub receive: usize,
    /// Send buffer granted, in bytes.
    pub send: usize,
}

impl UdpBuffers {
    /// Whether the kernel granted less than was asked, either way.
    pub fn capped(&self) -> bool {
        self.receive < self.asked || self.send < self.asked
    }
}

impl std::fmt::Debug for SrtListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// A caller's connection request, to [`accept`](ConnectionRequest::accept) or
/// [`reject`](ConnectionRequest::reject). Dropping it rejects the caller.
#[derive(Debug)]
pub struct ConnectionRequest {
    pending: Option<PendingRequest>,
}

impl SrtListener {
    /// Binds `addr` and starts answering handshakes with `config`'s settings (its passphrase is
    /// the default for [`ConnectionRequest::accept`]).
    pub async fn bind(addr: SocketAddr, config: SrtConfig) -> Result<SrtListener, Error> {
        Self::bind_with(addr, config, ListenerLimits::default(), false).await
    }

    /// Like [`SrtListener::bind`], with explicit limits; `groups` takes bonded-group members
    /// (libsrt's `groupconnect=1`).
    pub async fn bind_with(
        addr: SocketAddr,
        config: SrtConfig,
        limits: ListenerLimits,
        groups: bool,
    ) -> Result<SrtListener, Error> {
        config.validate()?;
        let socket = udp::bind(addr, config.udp_buffer_bytes)?;
        Self::serve(socket, config, limits, groups)
    }

    /// Like [`SrtListener::bind`], on a UDP socket the application already opened.
    pub async fn from_socket(
        socket: std::net::UdpSocket,
        config: SrtConfig,
    ) -> Result<SrtListener, Error> {
        config.validate()?;
        let socket = udp::adopt(socket, config.udp_buffer_bytes)?;
        Self::serve(socket, config, ListenerLimits::default(), false)
    }

    fn serve(
        socket: tokio::net::UdpSocket,
        config: SrtConfig,
        limits: ListenerLimits,
        groups: bool,
    ) -> Result<SrtListener, Error> {
        let udp_buffers = match udp::granted_buffers(&socket) {
            Ok((receive, send)) => {
                let buffers = UdpBuffers {
                    asked: config.udp_buffer_bytes,
                    receive,
                    send,
                };
                tracing::debug!(?buffers, "UDP socket buffers");
                Some(buffers)
            }
            Err(error) => {
                tracing::debug!(%error, "UDP socket buffer sizes unknown");
                None
            }
        };
        let (endpoint, requests) = Endpoint::for_listener(socket, config, limits, groups)?;
        let local = endpoint.local_addr();
        let shared = endpoint.shared();
        endpoint::spawn(endpoint);
        Ok(SrtListener {
            local,
            udp_buffers,
            requests,
            endpoint: shared,
        })
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The UDP socket's buffers, asked and granted (`None` when the kernel did not say).
    pub fn udp_buffers(&self) -> Option<UdpBuffers> {
        self.udp_buffers
    }

    /// Waits for the next caller's request. Fails with [`Error::EndpointFailed`] if the task
    /// serving the socket stopped unexpectedly.
    pub async fn next_request(&mut self) -> Result<ConnectionRequest, Error> {
        match self.requests.recv().await {
            Some(pending) => Ok(ConnectionRequest {
                pending: Some(pending),
            }),
            None => Err(self.endpoint.failure().unwrap_or(Error::Closed)),
        }
    }

    /// Waits for the next caller and accepts it with the listener's settings.
    pub async fn accept(&mut self) -> Result<SrtStream, Error> {
        loop {
            let request = self.next_request().await?;
            match request.accept(None).await {
                Ok(stream) => return Ok(stream),
                // That caller vanished or failed its handshake: wait for the next one.
                Err(error) => tracing::debug!(%error, "a caller's handshake did not finish"),
            }
        }
    }
}

impl ConnectionRequest {
    fn pending(&self) -> Option<&PendingRequest> {
        self.pending.as_ref()
    }

    /// The caller's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.pending().map(|p| p.caller.peer)
    }

    /// The stream id the caller sent (e.g. `#!::r=live/test,m=publish`).
    pub fn stream_id(&self) -> Option<&str> {
        self.pending().and_then(|p| p.caller.stream_id.as_deref())
    }

    /// The AES key length of the caller's key material, bytes (0 = no encryption).
    pub fn key_length(&self) -> u8 {
        self.pending().map_or(0, |p| p.caller.key_bytes)
    }

    /// Whether the listener's passphrase already unwrapped the caller's key (always the case for
    /// an encrypting caller of a listener that has a passphrase: others are refused before they
    /// get here).
    pub fn is_authenticated(&self) -> bool {
        self.pending().is_some_and(|p| p.caller.authenticated)
    }

    /// When the caller is the first member of a bonded group (a listener bound with `groups`):
    /// the group's mode. The accepted stream is the whole group: later members join it as paths.
    pub fn group_mode(&self) -> Option<GroupMode> {
        self.pending()
            .and_then(|p| p.caller.group)
            .map(|group| mode_of(group.kind))
    }

    /// Accepts the caller. `passphrase` serves an encrypting caller of a listener that has no
    /// passphrase of its own (per-stream secrets); a mismatch is rejected with SRT's "bad
    /// secret", and an encrypting caller accepted without one with "unsecure". A listener with a
    /// passphrase checked the caller's key before the request was made, and ignores this one.
    pub async fn accept(mut self, passphrase: Option<String>) -> Result<SrtStream, Error> {
        let Some(pending) = self.pending.take() else {
            return Err(Error::Closed);
        };
        let (reply, answer) = oneshot::channel();
        pending
            .commands
            .send(ListenerCommand::Accept {
                peer: pending.caller.peer,
                passphrase,
                reply,
            })
            .map_err(|_| Error::Closed)?;
        match answer.await {
            Ok(Ok(shared)) => Ok(SrtStream::from_shared(shared)),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(Error::Closed),
        }
    }

    /// Checks the caller's key against `passphrase` (this caller's secret, e.g. its route's) before
    /// the application prepares anything for it; nothing is answered yet when it passes. A
    /// mismatch refuses the caller (1010 wrong passphrase; 1011 when only one side encrypts) and
    /// consumes the request. A caller already authenticated by the listener's own passphrase
    /// passes.
    pub async fn authenticate(&mut self, passphrase: Option<String>) -> Result<(), Error> {
        let Some(pending) = self.pending.as_ref() else {
            return Err(Error::Closed);
        };
        let (reply, answer) = oneshot::channel();
        pending
            .commands
            .send(ListenerCommand::Authenticate {
                peer: pending.caller.peer,
                passphrase,
                reply,
            })
            .map_err(|_| Error::Closed)?;
        let result = answer.await.unwrap_or(Err(Error::Closed));
        if result.is_err() {
            // Already answered with a rejection: nothing more to send on drop.
            self.pending = None;
        }
        result
    }

    /// Rejects the caller with an SRT reject reason (the caller sees its code).
    pub fn reject(mut self, reason: RejectReason) {
        if let Some(pending) = self.pending.take() {
            let _ = pending.commands.send(ListenerCommand::Reject {
                peer: pending.caller.peer,
                reason,
            });
        }
    }
}

impl Drop for ConnectionRequest {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            let _ = pending.commands.send(ListenerCommand::Reject {
                peer: pending.caller.peer,
                reason: RejectReason::Core(srt_protocol::packet::CoreRejectReason::Peer),
            });
        }
    }
}
