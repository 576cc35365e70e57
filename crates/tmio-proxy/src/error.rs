//! The one error type of `tmio-proxy`.

use std::{io, net::SocketAddr};

/// Which side failed, as the reference SDK's `TmioProxyListener::ErrorType` says it; the
/// discriminants are the SDK's (`UNKNOWN` 0, `LOCAL_ERROR` 1, `REMOTE_ERROR` 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[repr(i32)]
pub enum ErrorType {
    /// Neither side can be blamed: tmio itself failed ([`Error::Internal`]).
    Unknown = 0,
    /// This machine: bad arguments, the local TCP port, the pusher's connection.
    Local = 1,
    /// The SRT side: the server, the gateway, the network path.
    Remote = 2,
}

impl ErrorType {
    /// The SDK's `TmioProxyListener::errorType()`: `"unknown"`, `"local"` or `"remote"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Unknown => "unknown",
            ErrorType::Local => "local",
            ErrorType::Remote => "remote",
        }
    }

    /// The SDK's integer for it.
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

impl std::fmt::Display for ErrorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable numeric codes of [`Error::code`] (documented in `docs/sdk-compat.md`; a code is
/// never reused for another error).
pub mod code {
    /// [`Error::Url`](crate::Error::Url): a URL does not parse.
    pub const URL: i32 = 1001;
    /// [`Error::UrlUse`](crate::Error::UrlUse): a URL cannot be used there.
    pub const URL_USE: i32 = 1002;
    /// [`Error::Option`](crate::Error::Option): an option name or value was rejected.
    pub const OPTION: i32 = 1003;
    /// [`Error::Unsupported`](crate::Error::Unsupported): a combination tmio does not implement.
    pub const UNSUPPORTED: i32 = 1004;
    /// [`Error::AlreadyStarted`](crate::Error::AlreadyStarted).
    pub const ALREADY_STARTED: i32 = 1005;
    /// [`Error::Stopped`](crate::Error::Stopped): a stopped proxy cannot be restarted.
    pub const STOPPED: i32 = 1006;
    /// [`Error::NoListener`](crate::Error::NoListener).
    pub const NO_LISTENER: i32 = 1007;
    /// [`Error::AccessRule`](crate::Error::AccessRule): a gateway access rule does not parse.
    pub const ACCESS_RULE: i32 = 1008;
    /// [`Error::Bind`](crate::Error::Bind): the local TCP port could not be bound.
    pub const LOCAL_BIND: i32 = 1101;
    /// [`Error::LocalIo`](crate::Error::LocalIo): accepting the pusher failed.
    pub const LOCAL_IO: i32 = 1102;
    /// [`Error::Pump`](crate::Error::Pump) on the local side: the pusher's connection failed.
    pub const PUSHER_CONNECTION: i32 = 1103;
    /// Transport: a setting the transport cannot work with.
    pub const TRANSPORT_INVALID_CONFIG: i32 = 2001;
    /// Transport: the UDP socket could not be bound.
    pub const TRANSPORT_BIND: i32 = 2002;
    /// Transport: the UDP socket failed.
    pub const TRANSPORT_LOCAL_IO: i32 = 2003;
    /// Transport: the remote host name did not resolve.
    pub const RESOLVE: i32 = 2004;
    /// Transport: no handshake answer within the connect timeout.
    pub const CONNECT_TIMEOUT: i32 = 2005;
    /// Transport: the peer rejected the connection (wrong passphrase, stream id, ...).
    pub const REJECTED: i32 = 2006;
    /// Transport: the handshake failed.
    pub const HANDSHAKE: i32 = 2007;
    /// Transport: nothing received from the peer for the peer idle timeout.
    pub const PEER_IDLE: i32 = 2008;
    /// Transport: the peer closed the connection.
    pub const PEER_CLOSED: i32 = 2009;
    /// Transport: the peer broke the protocol.
    pub const PROTOCOL: i32 = 2010;
    /// Transport: closing gave up with data unacknowledged.
    pub const LINGER_EXPIRED: i32 = 2011;
    /// Transport: the connection is closed.
    pub const CLOSED: i32 = 2012;
    /// Transport: the SRT endpoint stopped.
    pub const ENDPOINT_FAILED: i32 = 2013;
    /// Transport: an error this version of `tmio-proxy` does not know by name.
    pub const TRANSPORT_OTHER: i32 = 2099;
    /// [`Error::Upstream`](crate::Error::Upstream): the gateway's upstream TCP server.
    pub const UPSTREAM: i32 = 2101;
    /// [`Error::Pump`](crate::Error::Pump) on the remote side, not a transport error.
    pub const REMOTE_IO: i32 = 2102;
    /// [`Error::Internal`](crate::Error::Internal): tmio itself failed (a bug).
    pub const INTERNAL: i32 = 9001;
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
    /// The stable numeric code of this error (see [`code`] and `docs/sdk-compat.md`): what the
    /// SDK's `std::error_code::value()` is to its apps. 1xxx: local, 2xxx: remote, 9xxx: unknown.
    pub fn code(&self) -> i32 {
        match self {
            Error::Url { .. } => code::URL,
            Error::UrlUse { .. } => code::URL_USE,
            Error::Option(_) => code::OPTION,
            Error::Unsupported(_) => code::UNSUPPORTED,
            Error::AlreadyStarted => code::ALREADY_STARTED,
            Error::Stopped => code::STOPPED,
            Error::NoListener => code::NO_LISTENER,
            Error::AccessRule { .. } => code::ACCESS_RULE,
            Error::Bind { .. } => code::LOCAL_BIND,
            Error::LocalIo { .. } => code::LOCAL_IO,
            Error::Upstream { .. } => code::UPSTREAM,
            Error::Transport(error) => transport_code(error),
            Error::Pump(error) => match (tmio_transport::Error::from_io(&error.source), error.side)
            {
                (Some(transport), _) => transport_code(transport),
                (None, tmio_pump::Side::Local) => code::PUSHER_CONNECTION,
                (None, tmio_pump::Side::Remote) => code::REMOTE_IO,
            },
            Error::Internal(_) => code::INTERNAL,
        }
    }

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
            | Error::LocalIo { .. } => ErrorType::Local,
            Error::Internal(_) => ErrorType::Unknown,
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

/// The code of a transport error.
fn transport_code(error: &tmio_transport::Error) -> i32 {
    use tmio_transport::Error as E;
    match error {
        E::InvalidConfig { .. } => code::TRANSPORT_INVALID_CONFIG,
        E::Bind { .. } | E::BindDevice { .. } => code::TRANSPORT_BIND,
        E::LocalIo { .. } => code::TRANSPORT_LOCAL_IO,
        E::Resolve { .. } => code::RESOLVE,
        E::ConnectTimeout { .. } => code::CONNECT_TIMEOUT,
        E::Rejected { .. } => code::REJECTED,
        E::Handshake { .. } => code::HANDSHAKE,
        E::PeerIdle { .. } => code::PEER_IDLE,
        E::PeerClosed { .. } => code::PEER_CLOSED,
        E::Protocol { .. } => code::PROTOCOL,
        E::LingerExpired { .. } => code::LINGER_EXPIRED,
        E::Closed => code::CLOSED,
        E::EndpointFailed { .. } => code::ENDPOINT_FAILED,
        _ => code::TRANSPORT_OTHER,
    }
}
