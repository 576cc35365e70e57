//! The pump's error type: which side failed, in which direction, doing what.

use std::fmt;
use std::io;

use crate::Transferred;

/// One end of the pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The local TCP stream (the pusher on the proxy, the upstream server on the gateway).
    Local,
    /// The transport (an SRT link, a bonded group, or any other `AsyncRead + AsyncWrite`).
    Remote,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Local => "local",
            Side::Remote => "remote",
        })
    }
}

/// One of the two copy directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Bytes read from the local TCP stream and written to the transport.
    LocalToRemote,
    /// Bytes read from the transport and written to the local TCP stream.
    RemoteToLocal,
}

impl Direction {
    /// The side this direction reads from.
    pub fn reader(self) -> Side {
        match self {
            Direction::LocalToRemote => Side::Local,
            Direction::RemoteToLocal => Side::Remote,
        }
    }

    /// The side this direction writes to.
    pub fn writer(self) -> Side {
        match self {
            Direction::LocalToRemote => Side::Remote,
            Direction::RemoteToLocal => Side::Local,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::LocalToRemote => "local to remote",
            Direction::RemoteToLocal => "remote to local",
        })
    }
}

/// The I/O operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `poll_read` on the reading side.
    Read,
    /// `poll_write` on the writing side (including a write that accepted zero bytes).
    Write,
    /// `poll_flush` on the writing side.
    Flush,
    /// `poll_shutdown` on the writing side (the half-close carried across).
    Shutdown,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Read => "reading",
            Operation::Write => "writing",
            Operation::Flush => "flushing",
            Operation::Shutdown => "shutting down",
        })
    }
}

/// Names shown in error messages for the two sides, e.g. `("pusher TCP", "transport")`.
///
/// The proxy keeps the default; the gateway, whose local side is the upstream server, sets its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SideLabels {
    /// Shown as `local side (<local>)`.
    pub local: &'static str,
    /// Shown as `remote side (<remote>)`.
    pub remote: &'static str,
}

impl SideLabels {
    /// The label of one side.
    pub fn label(&self, side: Side) -> &'static str {
        match side {
            Side::Local => self.local,
            Side::Remote => self.remote,
        }
    }
}

impl Default for SideLabels {
    fn default() -> Self {
        SideLabels {
            local: "pusher TCP",
            remote: "transport",
        }
    }
}

/// A failure of the pump: the side that failed, the direction being copied, the operation, the
/// cause, and how many bytes each direction had delivered before it.
///
/// Displays as e.g. `local side (pusher TCP) failed while reading: connection reset`.
#[derive(Debug, thiserror::Error)]
#[error("{side} side ({side_label}) failed while {operation}: {source}")]
pub struct PumpError {
    /// The side whose I/O call failed.
    pub side: Side,
    /// The direction whose copy hit the failure.
    pub direction: Direction,
    /// The failed operation.
    pub operation: Operation,
    /// The label of `side` (see [`SideLabels`]).
    pub side_label: &'static str,
    /// Bytes delivered (written to the other side) in each direction before the failure.
    pub transferred: Transferred,
    /// The underlying I/O error.
    pub source: io::Error,
}

impl PumpError {
    /// The kind of the underlying I/O error.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}
