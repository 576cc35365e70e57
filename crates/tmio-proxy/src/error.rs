//! The one error type of `tmio-proxy`.

use std::{io, net::SocketAddr};

/// Which side failed, as the reference SDK's `on_error` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ErrorType {
    /// This machine: bad arguments, the local TCP port, the pusher's connection.
    Local,
    /// The SRT side: the server, the gateway, the network path.
    Remote,
}

/// Everything that can go wrong in a proxy or a gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A URL could not be parsed.
    #[error("bad {which} URL {url:?}: {source}")]
    Url {
        /// `local`, `remote`, `listen` or `upstream`.
        which: &'static str,
        /// The URL as given.
        url: String,
        /// What was wrong.
        source: tmio_url::Error,
    },
    /// A URL parsed but cannot be used in that place.
    #[error("bad {which} URL {url:?}: {reason}")]
    UrlUse {
        /// `local`, `remote`, `listen` or `upstream`.
        which: &'static str,
        /// The URL as given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// An option name or value was rejected.
    #[error("option error: {0}")]
    Option(#[from] tmio_preset::Error),
    /// A gateway access rule (`--allow`) that does not parse.
    #[error("bad access rule {rule:?}: {reason}")]
    AccessRule {
        /// The rule as given.
        rule: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A combination tmio does not implement (yet), named.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// `start` was called on a proxy that is running.
    #[error("the proxy is already started")]
    AlreadyStarted,
    /// `start` was called after `stop`: a proxy cannot be restarted (create a new one).
    #[error("the proxy was stopped and cannot be restarted; create a new proxy")]
    Stopped,
    /// `start` was called before `set_listener`.
    #[error("set_listener must be called before start")]
    NoListener,
    /// The local TCP port could not be bound.
    #[error("cannot listen on tcp://{addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The local TCP side failed (accepting the pusher, its connection).
    #[error("local TCP side failed while {context}: {source}")]
    LocalIo {
        /// What tmio was doing.
        context: &'static str,
        /// What the OS said.
        source: io::Error,
    },
    /// The upstream TCP server (gateway side) could not be reached.
    #[error("cannot connect to upstream tcp://{addr}: {source}")]
    Upstream {
        /// The upstream address.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The SRT transport failed.
    #[error("{0}")]
    Transport(#[from] tmio_transport::Error),
    /// Pumping bytes failed on one side.
    #[error("{0}")]
    Pump(#[from] tmio_pump::PumpError),
    /// The proxy's task ended unexpectedly (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Which side failed.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Error::Transport(e) => match e.side() {
                tmio_transport::Side::Local => ErrorType::Local,
                tmio_transport::Side::Remote => ErrorType::Remote,
            },
            Error::Pump(e) => match e.side {
                tmio_pump::Side::Local => ErrorType::Local,
                tmio_pump::Side::Remote => ErrorType::Remote,
            },
            Error::Upstream { .. } => ErrorType::Remote,
            Error::Url { .. }
            | Error::UrlUse { .. }
            | Error::Option(_)
            | Error::AccessRule { .. }
            | Error::Unsupported(_)
            | Error::AlreadyStarted
            | Error::Stopped
            | Error::NoListener
            | Error::Bind { .. }
            | Error::LocalIo { .. }
            | Error::Internal(_) => ErrorType::Local,
        }
    }

    /// The transport error behind this one, if any (also inside a pump error).
    pub fn transport_error(&self) -> Option<&tmio_transport::Error> {
        match self {
            Error::Transport(e) => Some(e),
            Error::Pump(e) => tmio_transport::Error::from_io(&e.source),
            _ => None,
        }
    }
}
