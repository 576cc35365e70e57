//! The crate's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong in the test kit. Each variant carries the offending value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A probability outside `[0, 1]` (or NaN).
    #[error("{name} must be a probability in [0, 1], got {value}")]
    InvalidProbability {
        /// Which setting.
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// A rate limit of zero.
    #[error("rate limit must be > 0 bytes/s, got {0}")]
    InvalidRate(u64),
    /// A blackout that ends before it starts.
    #[error("blackout ends ({until:?}) before it starts ({from:?})")]
    InvalidBlackout {
        /// Start of the window.
        from: Duration,
        /// End of the window.
        until: Duration,
    },
    /// A loss percentage outside `[0, 100]`.
    #[error("loss percentage must be in [0, 100], got {0}")]
    InvalidPercent(f64),
    /// The relay only talks to loopback addresses (or any inside a test namespace).
    #[error("{0} is not a loopback address; the relay only binds and forwards on loopback (or inside a tmio-test namespace)")]
    NotLoopback(SocketAddr),
    /// A socket could not be created or bound.
    #[error("cannot bind UDP socket on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A command-line argument could not be understood (tmio-relay).
    #[error("bad argument {arg}: {reason}")]
    Argument {
        /// The argument as given.
        arg: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A link count outside 1..=[`crate::netns::MAX_LINKS`].
    #[error("a namespace pair takes 1 to 4 veth links, not {0}")]
    InvalidLinkCount(usize),
    /// A link index past the last link.
    #[error("no link {link}: there are {links}")]
    NoSuchLink {
        /// The index asked for.
        link: usize,
        /// How many links there are.
        links: usize,
    },
    /// Network namespaces cannot be used on this machine.
    #[error("network namespaces unavailable: {0}")]
    NetnsUnavailable(String),
    /// A helper program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A helper command ran but failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Entering a network namespace failed.
    #[error("cannot enter network namespace {namespace}: {source}")]
    EnterNamespace {
        /// The namespace's name.
        namespace: String,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A runtime or thread could not be built.
    #[error("cannot start {what}: {source}")]
    Runtime {
        /// What was being started.
        what: &'static str,
        /// The system's reason.
        source: std::io::Error,
    },
    /// Waiting for something took too long.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// Reading or writing a file or pipe failed.
    #[error("i/o error on {what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The system's reason.
        source: std::io::Error,
    },
}
