//! [`SrtListener`]: one UDP port, many SRT sessions; each caller's request (stream id, address,
//! key length) is handed to the application to accept or reject with an SRT reject reason.

use std::net::SocketAddr;

use srt_protocol::{options::KeySize, packet::RejectReason};
use tokio::sync::{mpsc, oneshot};

use crate::{
    srt::{
        config::SrtConfig,
        endpoint::{Endpoint, ListenerCommand, PendingRequest},
        stream::SrtStream,
        udp,
    },
    Error,
};

/// Requests waiting for `accept` beyond this many are rejected with "backlog full".
const DEFAULT_BACKLOG: usize = 128;

/// A listening SRT socket.
#[derive(Debug)]
pub struct SrtListener {
    local: SocketAddr,
    requests: mpsc::Receiver<PendingRequest>,
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
        config.validate()?;
        let socket = udp::bind(addr, config.udp_buffer_bytes)?;
        Self::serve(socket, config)
    }

    /// Like [`SrtListener::bind`], on a UDP socket the application already opened.
    pub async fn from_socket(
        socket: std::net::UdpSocket,
        config: SrtConfig,
    ) -> Result<SrtListener, Error> {
        config.validate()?;
        let socket = udp::adopt(socket, config.udp_buffer_bytes)?;
        Self::serve(socket, config)
    }

    fn serve(socket: tokio::net::UdpSocket, config: SrtConfig) -> Result<SrtListener, Error> {
        let (endpoint, requests) = Endpoint::for_listener(socket, config, DEFAULT_BACKLOG)?;
        let local = endpoint.local_addr();
        tokio::spawn(endpoint.run());
        Ok(SrtListener { local, requests })
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits for the next caller's request.
    pub async fn next_request(&mut self) -> Result<ConnectionRequest, Error> {
        match self.requests.recv().await {
            Some(pending) => Ok(ConnectionRequest {
                pending: Some(pending),
            }),
            None => Err(Error::Closed),
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
        self.pending().map(|p| p.peer)
    }

    /// The stream id the caller sent (e.g. `#!::r=live/test,m=publish`).
    pub fn stream_id(&self) -> Option<&str> {
        self.pending().and_then(|p| p.stream_id.as_deref())
    }

    /// The AES key length the caller announced, bytes (0 = no encryption).
    pub fn key_length(&self) -> u8 {
        match self.pending().map(|p| (p.key_size, p.encrypted)) {
            Some((KeySize::AES192, _)) => 24,
            Some((KeySize::AES256, _)) => 32,
            Some((_, true)) => 16,
            _ => 0,
        }
    }

    /// Accepts the caller. `passphrase` overrides the listener's own (per-stream secrets);
    /// a mismatch with the caller's is rejected with SRT's "bad secret".
    pub async fn accept(mut self, passphrase: Option<String>) -> Result<SrtStream, Error> {
        let Some(pending) = self.pending.take() else {
            return Err(Error::Closed);
        };
        let (reply, answer) = oneshot::channel();
        pending
            .commands
            .send(ListenerCommand::Accept {
                peer: pending.peer,
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

    /// Rejects the caller with an SRT reject reason (the caller sees its code).
    pub fn reject(mut self, reason: RejectReason) {
        if let Some(pending) = self.pending.take() {
            let _ = pending.commands.send(ListenerCommand::Reject {
                peer: pending.peer,
                reason,
            });
        }
    }
}

impl Drop for ConnectionRequest {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            let _ = pending.commands.send(ListenerCommand::Reject {
                peer: pending.peer,
                reason: RejectReason::Core(srt_protocol::packet::CoreRejectReason::Peer),
            });
        }
    }
}
