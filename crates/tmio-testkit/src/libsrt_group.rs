//! [`LibsrtGroupPeer`]: libsrt socket groups (bonding) as a sending or receiving peer, through
//! `srt-test-live` from the libsrt that `scripts/build-libsrt-bonding.sh` builds.
//!
//! Debian's libsrt is built without bonding and its `srt-live-transmit` has no group syntax, so
//! the group tests use the bonding build's `srt-test-live`, found in
//! `$TMIO_LIBSRT_BONDING_DIR/bin` (default [`DEFAULT_BONDING_DIR`]). When it is absent,
//! [`srt_test_live`] says so ("skipped: run scripts/build-libsrt-bonding.sh").
//!
//! URIs ([`GroupUri`]):
//! - group caller: `srt:////group?type=broadcast|backup&nodes=NODE,NODE[&option=value…]`, where a
//!   node is `HOST:PORT` optionally followed by `?source=HOST:PORT` and `?weight=N` (the tool
//!   turns a node's second `?` into `&`); node ports must be above 1024;
//! - group listener: `srt://HOST:PORT?mode=listener&groupconnect=1[&option=value…]`.
//!
//! One group listener listens on one port. On loopback the members must differ in their 4-tuple:
//! [`loopback_members`] gives each member the same target `127.0.0.1:PORT` and its own source
//! address (127.0.0.2, 127.0.0.3, …). A node `127.0.0.2:PORT` with the listener on `0.0.0.0`
//! does not work: the listener answers from 127.0.0.1, and the member never connects.
//!
//! Observed behaviour of this `srt-test-live` (libsrt 1.5.1 with bonding) worth knowing:
//! - it reads its input in chunks of [`GROUP_CHUNK`] bytes and never sends a final partial
//!   chunk: feed a multiple of it;
//! - it reads input only once its SRT side is open (the group caller: once one member is
//!   connected), so nothing fed early is lost; but the group may fail at once if its first
//!   packets go out while another member is still connecting, so a [`Feed::Paced`] starts
//!   after [`LibsrtGroupPeerBuilder::feed_delay`] (there is no "connected" line to wait for);
//! - a group listener exits by itself once every member link of the caller is closed ("ALL
//!   LINKS BROKEN"), with status 255;
//! - `-sf` (given by default here) skips its 5-second wait at the end: once its input ends, a
//!   sender closes the group at once, and the group listener drops what its latency buffer
//!   still holds (a test that closed stdin right after 1 MB at 1 MB/s lost the last ~120 KB).
//!   A paced feed therefore keeps stdin open for [`LibsrtGroupPeerBuilder::linger`] after the
//!   last byte; feed filler after the bytes that matter as well.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::libsrt::{feed_paced, set_option, Feed, Sink};
use crate::peer_process::{
    peer_process_methods, tool_should_run, whole_seconds, EarlyExit, PeerCommand, PeerProcess,
    Role, POLL,
};
use crate::Error;

/// Where `scripts/build-libsrt-bonding.sh` installs by default.
pub const DEFAULT_BONDING_DIR: &str = "/var/cache/tmio/libsrt-bonding";
/// The environment variable that overrides [`DEFAULT_BONDING_DIR`] (the script reads it too).
pub const BONDING_DIR_ENV: &str = "TMIO_LIBSRT_BONDING_DIR";
/// `srt-test-live`'s read size (`-c`, default 1316): feed multiples of it.
pub const GROUP_CHUNK: usize = 1316;
/// `srt-test-live` refuses a `-d` (stop time) under 10 seconds.
const MIN_STOP_SECONDS: u64 = 10;

/// The bonding build's folder: `$TMIO_LIBSRT_BONDING_DIR` or [`DEFAULT_BONDING_DIR`].
pub fn bonding_dir() -> PathBuf {
    std::env::var_os(BONDING_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_BONDING_DIR), PathBuf::from)
}

/// The bonding build's `srt-test-live` (in [`bonding_dir`]), or why it cannot be used.
pub fn srt_test_live() -> Result<PathBuf, String> {
    srt_test_live_in(&bonding_dir())
}

/// `DIR/bin/srt-test-live`, or why it cannot be used.
fn srt_test_live_in(dir: &Path) -> Result<PathBuf, String> {
    let path = dir.join("bin").join("srt-test-live");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "skipped: run scripts/build-libsrt-bonding.sh ({} is missing: libsrt with bonding \
             is not built)",
            path.display()
        ))
    }
}

/// A libsrt group type (the two libsrt 1.5 implements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    /// Every member link carries every packet; the receiver keeps the first copy.
    Broadcast,
    /// One active link; the others stand by and take over when it becomes unstable.
    Backup,
}

impl GroupType {
    /// The `type=` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Broadcast => "broadcast",
            GroupType::Backup => "backup",
        }
    }
}

impl std::fmt::Display for GroupType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One member link of a group caller: where it connects, from where, with what weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupNode {
    target: SocketAddr,
    source: Option<SocketAddr>,
    weight: Option<u16>,
}

impl GroupNode {
    /// A member connecting to `target` (port above 1024) from an address the system picks.
    pub fn new(target: SocketAddr) -> Self {
        Self {
            target,
            source: None,
            weight: None,
        }
    }

    /// Binds the member's socket to `source` (port 0: any port) before it connects.
    pub fn source(mut self, source: SocketAddr) -> Self {
        self.source = Some(source);
        self
    }

    /// The member's weight (`?weight=N`; in a backup group the highest weight is the main link).
    pub fn weight(mut self, weight: u16) -> Self {
        self.weight = Some(weight);
        self
    }

    /// Where the member connects.
    pub fn target(&self) -> SocketAddr {
        self.target
    }
}

impl std::fmt::Display for GroupNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.target)?;
        if let Some(source) = self.source {
            write!(f, "?source={source}")?;
        }
        if let Some(weight) = self.weight {
            write!(f, "?weight={weight}")?;
        }
        Ok(())
    }
}

/// `count` members (at most 253) that all connect to `127.0.0.1:port`, member `i` from source
/// address `127.0.0.(2 + i)` (any port), so that each link is its own 4-tuple on loopback.
pub fn loopback_members(port: u16, count: u8) -> Vec<GroupNode> {
    (0..count.min(253))
        .map(|i| {
            GroupNode::new(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
                .source(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2 + i), 0)))
        })
        .collect()
}

/// An `srt-test-live` group URI: a group caller or a group listener, with SRT options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUri {
    kind: UriKind,
    options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum UriKind {
    Caller {
        group_type: GroupType,
        nodes: Vec<GroupNode>,
    },
    Listener {
        addr: SocketAddr,
    },
}

impl GroupUri {
    /// `srt:////group?type=TYPE&nodes=NODE,NODE…`: a group caller with these members.
    pub fn caller(group_type: GroupType, nodes: Vec<GroupNode>) -> Self {
        Self {
            kind: UriKind::Caller { group_type, nodes },
            options: Vec::new(),
        }
    }

    /// `srt://127.0.0.1:PORT?mode=listener&groupconnect=1`: a group listener on loopback.
    pub fn listener(port: u16) -> Self {
        Self::listener_on(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// `srt://ADDR?mode=listener&groupconnect=1` (e.g. an address inside a namespace).
    pub fn listener_on(addr: SocketAddr) -> Self {
        Self {
            kind: UriKind::Listener { addr },
            options: Vec::new(),
        }
    }

    /// Adds (or replaces) an SRT option, e.g. `("passphrase", "...")`, `("latency", "200")`.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        set_option(&mut self.options, key.into(), value.into());
        self
    }

    /// The listening port of a listener URI; `None` for a caller.
    pub fn listener_port(&self) -> Option<u16> {
        match &self.kind {
            UriKind::Listener { addr } => Some(addr.port()),
            UriKind::Caller { .. } => None,
        }
    }
}

impl std::fmt::Display for GroupUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            UriKind::Caller { group_type, nodes } => {
                write!(f, "srt:////group?type={group_type}&nodes=")?;
                for (i, node) in nodes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{node}")?;
                }
            }
            UriKind::Listener { addr } => {
                write!(f, "srt://{addr}?mode=listener&groupconnect=1")?;
            }
        }
        for (key, value) in &self.options {
            write!(f, "&{key}={value}")?;
        }
        Ok(())
    }
}

/// How to start a [`LibsrtGroupPeer`].
#[derive(Debug, Clone)]
pub struct LibsrtGroupPeerBuilder {
    uri: GroupUri,
    role: Role,
    lifetime: Duration,
    namespace: Option<String>,
    program: Option<PathBuf>,
    skip_flush: bool,
    feed_delay: Duration,
    linger: Duration,
    extra_args: Vec<String>,
}

impl LibsrtGroupPeerBuilder {
    /// Longest the tool may live (default 20 s): passed as `-d N` (whole seconds, at least the
    /// tool's minimum of 10) and enforced by [`LibsrtGroupPeer::wait`] and the kill on drop.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Runs the tool with `ip netns exec NAMESPACE`.
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Uses another `srt-test-live` binary (default: [`srt_test_live`]).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// How long a paced sender waits before its first byte (default 500 ms), so that every
    /// member is connected before the group sends: libsrt 1.5.1's group caller sometimes
    /// fails at once ("srt_sendmsg: Connection was broken") when its first packets go out while
    /// a member is still connecting.
    pub fn feed_delay(mut self, delay: Duration) -> Self {
        self.feed_delay = delay;
        self
    }

    /// How long a paced sender's stdin stays open after the last byte (default 1 s). When it
    /// closes, the tool closes the group at once and the receiving side drops whatever its
    /// latency buffer (120 ms by default) still holds, so linger longer than the latency.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Whether to pass `-sf` (skip the tool's 5 s wait at the end; default true).
    pub fn skip_flush(mut self, skip: bool) -> Self {
        self.skip_flush = skip;
        self
    }

    /// Adds a tool option such as `-c 1456` or `-ll debug` (one argument per call).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Starts the tool (and, for a paced feed, the thread that writes its stdin).
    pub fn spawn(self) -> Result<LibsrtGroupPeer, Error> {
        let program = match self.program.clone() {
            Some(program) => program,
            None => srt_test_live().map_err(|reason| Error::Spawn {
                program: bonding_dir().join("bin").join("srt-test-live"),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, reason),
            })?,
        };
        let mut tool_options: Vec<String> = Vec::new();
        if self.skip_flush {
            tool_options.push("-sf".into());
        }
        let seconds = whole_seconds(self.lifetime).max(MIN_STOP_SECONDS);
        tool_options.extend(["-d".into(), seconds.to_string()]);
        let command = PeerCommand {
            role: self.role,
            uri: self.uri.to_string(),
            namespace: self.namespace,
            program,
            tool_options,
            extra_args: self.extra_args,
            quote_args: true,
            lifetime: self.lifetime,
            label: "libsrt group peer",
        };
        let (delay, linger) = (self.feed_delay, self.linger);
        let process = PeerProcess::spawn(command, move |feed| {
            let mut stdin = feed.stdin;
            let stopping = feed.stopping;
            let start = Instant::now() + delay;
            while Instant::now() < start && !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(POLL);
            }
            let written = feed_paced(&mut stdin, &feed.data, feed.bytes_per_sec, &stopping);
            // Closing stdin makes the tool close the group at once, and the receiver
            // then drops what its latency buffer still holds: keep it open a while.
            let until = Instant::now() + linger;
            while Instant::now() < until && !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(POLL);
            }
            written
        })?;
        Ok(LibsrtGroupPeer {
            process,
            listener_port: self.uri.listener_port(),
        })
    }
}

/// A running `srt-test-live` group caller or listener. Dropping it kills the process.
#[derive(Debug)]
pub struct LibsrtGroupPeer {
    process: PeerProcess,
    listener_port: Option<u16>,
}

impl LibsrtGroupPeer {
    /// A peer that sends `feed` through `uri` (usually a [`GroupUri::caller`]).
    pub fn sender(uri: GroupUri, feed: Feed) -> LibsrtGroupPeerBuilder {
        Self::builder(uri, Role::Send(feed))
    }

    /// A peer that receives from `uri` (usually a [`GroupUri::listener`]) into `sink`.
    pub fn receiver(uri: GroupUri, sink: Sink) -> LibsrtGroupPeerBuilder {
        Self::builder(uri, Role::Receive(sink))
    }

    fn builder(uri: GroupUri, role: Role) -> LibsrtGroupPeerBuilder {
        LibsrtGroupPeerBuilder {
            uri,
            role,
            lifetime: Duration::from_secs(20),
            namespace: None,
            program: None,
            skip_flush: true,
            feed_delay: Duration::from_millis(500),
            linger: Duration::from_secs(1),
            extra_args: Vec::new(),
        }
    }

    /// For tests: `Ok(true)` when the bonding build's `srt-test-live` exists; `Ok(false)` after
    /// printing why `test` is skipped; an error when the `CI` variable is set (CI builds it
    /// through scripts/install-deps.sh and must run these tests).
    pub fn should_run(test: &str) -> Result<bool, Error> {
        tool_should_run(
            test,
            srt_test_live(),
            bonding_dir().join("bin").join("srt-test-live"),
            "",
        )
    }

    peer_process_methods!();

    /// For a listener: polls the process's own `/proc/PID/net/udp{,6}` until its port is bound.
    /// For a caller there is nothing to wait for: returns at once.
    pub fn wait_for_listen(&mut self, timeout: Duration) -> Result<(), Error> {
        match self.listener_port {
            Some(port) => self.process.wait_for_udp_port(port, timeout),
            None => Ok(()),
        }
    }

    /// Polls until the output file holds at least `len` bytes; returns its length. Fails when
    /// the tool exits first (with its stderr) or on timeout (with the bytes that arrived).
    pub fn wait_for_output_len(&mut self, len: u64, timeout: Duration) -> Result<u64, Error> {
        self.process
            .wait_for_output_len(len, timeout, EarlyExit::RecheckOutput)
    }

    /// Waits for the paced feed to finish writing; returns the bytes written (0 without one).
    pub fn wait_fed(&mut self) -> u64 {
        self.process.wait_fed()
    }

    /// Asks the tool to stop with SIGINT, waits up to 2 s, then kills it.
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        self.process.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_uri_lists_the_nodes_with_source_and_weight() {
        let mut nodes = loopback_members(9000, 2);
        nodes[0] = nodes[0].clone().weight(1);
        nodes[1] = nodes[1].clone().weight(0);
        let uri = GroupUri::caller(GroupType::Backup, nodes)
            .option("latency", "200")
            .option("latency", "300");
        assert_eq!(
            uri.to_string(),
            "srt:////group?type=backup&nodes=127.0.0.1:9000?source=127.0.0.2:0?weight=1,\
             127.0.0.1:9000?source=127.0.0.3:0?weight=0&latency=300"
        );
        assert_eq!(uri.listener_port(), None);
        let plain = GroupUri::caller(
            GroupType::Broadcast,
            vec![GroupNode::new("127.0.0.1:9001".parse().unwrap())],
        );
        assert_eq!(
            plain.to_string(),
            "srt:////group?type=broadcast&nodes=127.0.0.1:9001"
        );
    }

    #[test]
    fn listener_uri_asks_for_group_connections() {
        let uri = GroupUri::listener(9002).option("passphrase", "0123456789");
        assert_eq!(
            uri.to_string(),
            "srt://127.0.0.1:9002?mode=listener&groupconnect=1&passphrase=0123456789"
        );
        assert_eq!(uri.listener_port(), Some(9002));
        let v6 = GroupUri::listener_on("[::1]:9003".parse().unwrap());
        assert_eq!(
            v6.to_string(),
            "srt://[::1]:9003?mode=listener&groupconnect=1"
        );
    }

    #[test]
    fn loopback_members_differ_in_source_address_only() {
        let members = loopback_members(9004, 3);
        assert_eq!(members.len(), 3);
        for (i, member) in members.iter().enumerate() {
            assert_eq!(member.target(), "127.0.0.1:9004".parse().unwrap());
            assert_eq!(
                member.source,
                Some(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2 + i as u8), 0)))
            );
        }
        assert_eq!(loopback_members(9004, 255).len(), 253);
    }

    #[test]
    fn missing_tool_gives_the_build_script_as_reason() {
        let err = LibsrtGroupPeer::receiver(GroupUri::listener(9005), Sink::Discard)
            .program("/nonexistent/srt-test-live")
            .spawn()
            .unwrap_err();
        assert!(matches!(err, Error::Spawn { .. }), "{err}");
        let dir = std::env::temp_dir().join(format!("tmio-no-bonding-{}", std::process::id()));
        let reason = srt_test_live_in(&dir).unwrap_err();
        assert!(
            reason.starts_with("skipped: run scripts/build-libsrt-bonding.sh"),
            "{reason}"
        );
    }
}
