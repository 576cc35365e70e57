//! The one error type of `tmio-transport`.

use std::{io, net::SocketAddr, time::Duration};

/// Which side of a transport failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Side {
    /// This machine: a bad setting, a socket that cannot be bound or written, a local close.
    Local,
    /// The peer or the path to it: rejected, unreachable, idle, gone, or speaking nonsense.
    Remote,
}

/// Everything that can go wrong in a transport, each variant naming what failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting the transport cannot work with.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidConfig {
        /// The option's libsrt URI name.
        option: &'static str,
        /// The offending value as given.
        value: String,
        /// What would be accepted.
        reason: &'static str,
    },
    /// The local UDP or TCP socket could not be bound.
    #[error("cannot bind local address {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The UDP socket could not be bound to a network interface (`SO_BINDTODEVICE`, Linux
    /// only, needs `CAP_NET_RAW` or root).
    #[error(
        "cannot bind the UDP socket to interface {device:?} (SO_BINDTODEVICE; Linux only, needs \
         CAP_NET_RAW or root): {source}"
    )]
    BindDevice {
        /// The interface name asked for.
        device: String,
        /// What the OS said.
        source: io::Error,
    },
    /// The local socket failed while in use.
    #[error("local socket error while {context}: {source}")]
    LocalIo {
        /// What tmio was doing.
        context: &'static str,
        /// What the OS said.
        source: io::Error,
    },
    /// The remote name did not resolve to an address.
    #[error("cannot resolve {host:?}: {reason}")]
    Resolve {
        /// The host name as given.
        host: String,
        /// Why it failed.
        reason: String,
    },
    /// No handshake answer from the peer in time.
    #[error("no SRT handshake answer from {remote} within {} ms (is an SRT listener running there?)", .after.as_millis())]
    ConnectTimeout {
        /// The peer called.
        remote: SocketAddr,
        /// How long tmio tried.
        after: Duration,
    },
    /// The peer refused the connection with an SRT reject reason.
    #[error("{remote} rejected the connection: {reason} (SRT reject code {code})")]
    Rejected {
        /// The peer.
        remote: SocketAddr,
        /// The reason in words.
        reason: String,
        /// The SRT reject code (1000s core, 2000s server, 3000+ user).
        code: i32,
    },
    /// The handshake went wrong in a way that is not a plain rejection.
    #[error("SRT handshake with {remote} failed: {reason}")]
    Handshake {
        /// The peer.
        remote: SocketAddr,
        /// What went wrong.
        reason: String,
    },
    /// Nothing was received from the peer for too long.
    #[error("peer {remote} idle for {} s (no packet received; peer idle timeout)", .idle.as_secs_f64())]
    PeerIdle {
        /// The peer.
        remote: SocketAddr,
        /// How long it was silent.
        idle: Duration,
    },
    /// The peer closed the connection (SRT shutdown).
    #[error("peer {remote} closed the SRT connection")]
    PeerClosed {
        /// The peer.
        remote: SocketAddr,
    },
    /// The peer sent something the data path cannot accept (e.g. data that does not decrypt).
    #[error("protocol error with {remote}: {reason}")]
    Protocol {
        /// The peer.
        remote: SocketAddr,
        /// What was wrong.
        reason: String,
    },
    /// A graceful close gave up waiting for the peer to acknowledge.
    #[error("close gave up after {} s with {unacked} bytes unacknowledged by {remote}", .linger.as_secs_f64())]
    LingerExpired {
        /// The peer.
        remote: SocketAddr,
        /// The linger time.
        linger: Duration,
        /// Bytes still unacknowledged.
        unacked: u64,
    },
    /// The transport was closed locally and cannot be used any more.
    #[error("the transport is closed")]
    Closed,
    /// The task serving a local UDP socket stopped unexpectedly (a bug in tmio): every
    /// connection and the listener on that socket end with this error.
    #[error("the SRT endpoint on {local} stopped unexpectedly: {reason}")]
    EndpointFailed {
        /// The local socket address.
        local: SocketAddr,
        /// What stopped it.
        reason: String,
    },
}

impl Error {
    /// Which side failed.
    pub fn side(&self) -> Side {
        match self {
            Error::InvalidConfig { .. }
            | Error::Bind { .. }
            | Error::BindDevice { .. }
            | Error::LocalIo { .. }
            | Error::Closed
            | Error::EndpointFailed { .. } => Side::Local,
            Error::Resolve { .. }
            | Error::ConnectTimeout { .. }
            | Error::Rejected { .. }
            | Error::Handshake { .. }
            | Error::PeerIdle { .. }
            | Error::PeerClosed { .. }
            | Error::Protocol { .. }
            | Error::LingerExpired { .. } => Side::Remote,
        }
    }

    /// The `io::ErrorKind` that best describes this error for `AsyncRead`/`AsyncWrite` users.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::InvalidConfig { .. } => io::ErrorKind::InvalidInput,
            Error::Bind { source, .. }
            | Error::BindDevice { source, .. }
            | Error::LocalIo { source, .. } => source.kind(),
            Error::Resolve { .. } => io::ErrorKind::NotFound,
            Error::ConnectTimeout { .. } | Error::PeerIdle { .. } | Error::LingerExpired { .. } => {
                io::ErrorKind::TimedOut
            }
            Error::Rejected { .. } => io::ErrorKind::ConnectionRefused,
            Error::Handshake { .. } | Error::Protocol { .. } => io::ErrorKind::InvalidData,
            Error::PeerClosed { .. } => io::ErrorKind::ConnectionReset,
            Error::Closed => io::ErrorKind::NotConnected,
            Error::EndpointFailed { .. } => io::ErrorKind::Other,
        }
    }

    /// Wraps this error in an `io::Error` (recover it with [`Error::from_io`]).
    pub fn into_io(self) -> io::Error {
        io::Error::new(self.io_kind(), self)
    }

    /// Finds a transport error inside an `io::Error` made by [`Error::into_io`].
    pub fn from_io(error: &io::Error) -> Option<&Error> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Error>())
    }

    /// A copy of this error for a second reader of the same failure (the `io::Error` inside is
    /// copied by kind and message).
    pub fn duplicate(&self) -> Error {
        let copy_io = |e: &io::Error| io::Error::new(e.kind(), e.to_string());
        match self {
            Error::InvalidConfig {
                option,
                value,
                reason,
            } => Error::InvalidConfig {
                option,
                value: value.clone(),
                reason,
            },
            Error::Bind { addr, source } => Error::Bind {
                addr: *addr,
                source: copy_io(source),
            },
            Error::BindDevice { device, source } => Error::BindDevice {
                device: device.clone(),
                source: copy_io(source),
            },
            Error::LocalIo { context, source } => Error::LocalIo {
                context,
                source: copy_io(source),
            },
            Error::Resolve { host, reason } => Error::Resolve {
                host: host.clone(),
                reason: reason.clone(),
            },
            Error::ConnectTimeout { remote, after } => Error::ConnectTimeout {
                remote: *remote,
                after: *after,
            },
            Error::Rejected {
                remote,
                reason,
                code,
            } => Error::Rejected {
                remote: *remote,
                reason: reason.clone(),
                code: *code,
            },
            Error::Handshake { remote, reason } => Error::Handshake {
                remote: *remote,
                reason: reason.clone(),
            },
            Error::PeerIdle { remote, idle } => Error::PeerIdle {
                remote: *remote,
                idle: *idle,
            },
            Error::PeerClosed { remote } => Error::PeerClosed { remote: *remote },
            Error::Protocol { remote, reason } => Error::Protocol {
                remote: *remote,
                reason: reason.clone(),
            },
            Error::LingerExpired {
                remote,
                linger,
                unacked,
            } => Error::LingerExpired {
                remote: *remote,
                linger: *linger,
                unacked: *unacked,
            },
            Error::Closed => Error::Closed,
            Error::EndpointFailed { local, reason } => Error::EndpointFailed {
                local: *local,
                reason: reason.clone(),
            },
        }
    }
}

impl From<Error> for io::Error {
    /// The `io::Error` carrying the transport error (see [`Error::into_io`]).
    fn from(error: Error) -> io::Error {
        error.into_io()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_round_trip_keeps_the_variant() {
        let remote: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let io = Error::PeerIdle {
            remote,
            idle: Duration::from_secs(5),
        }
        .into_io();
        assert_eq!(io.kind(), io::ErrorKind::TimedOut);
        let back = Error::from_io(&io).unwrap();
        assert_eq!(back.side(), Side::Remote);
        assert_eq!(
            back.to_string(),
            "peer 127.0.0.1:9000 idle for 5 s (no packet received; peer idle timeout)"
        );
    }

    #[test]
    fn sides() {
        assert_eq!(Error::Closed.side(), Side::Local);
        let remote: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        assert_eq!(Error::PeerClosed { remote }.side(), Side::Remote);
    }
}
