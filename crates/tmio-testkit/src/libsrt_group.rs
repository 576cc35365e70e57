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

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::libsrt::{collect_stderr, feed_paced, udp_port_bound, Feed, Sink, STDBUF};
use crate::Error;

/// Where `scripts/build-libsrt-bonding.sh` installs by default.
pub const DEFAULT_BONDING_DIR: &str = "/var/cache/tmio/libsrt-bonding";
/// The environment variable that overrides [`DEFAULT_BONDING_DIR`] (the script reads it too).
pub const BONDING_DIR_ENV: &str = "TMIO_LIBSRT_BONDING_DIR";
/// `srt-test-live`'s read size (`-c`, default 1316): feed multiples of it.
pub const GROUP_CHUNK: usize = 1316;
/// `srt-test-live` refuses a `-d` (stop time) under 10 seconds.
const MIN_STOP_SECONDS: u64 = 10;
const POLL: Duration = Duration::from_millis(10);

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
        let key = key.into();
        let value = value.into();
        match self.options.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.options.push((key, value)),
        }
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

#[derive(Debug, Clone)]
enum Role {
    Send(Feed),
    Receive(Sink),
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
        let uri = self.uri.to_string();
        let (source, target) = match &self.role {
            Role::Send(_) => ("file://con".to_owned(), uri),
            Role::Receive(_) => (uri, "file://con".to_owned()),
        };
        let seconds = self.lifetime.as_secs() + u64::from(self.lifetime.subsec_nanos() > 0);
        let mut args: Vec<String> = Vec::new();
        if self.skip_flush {
            args.push("-sf".into());
        }
        args.extend(["-d".into(), seconds.max(MIN_STOP_SECONDS).to_string()]);
        args.extend(self.extra_args.iter().cloned());
        args.push(source);
        args.push(target);

        let mut prefix: Vec<PathBuf> = Vec::new();
        if let Some(ns) = &self.namespace {
            prefix.extend(["ip", "netns", "exec", ns.as_str()].map(PathBuf::from));
        }
        // cout is synchronised with C stdio, which block-buffers a file: unbuffer it.
        if matches!(self.role, Role::Receive(Sink::File(_))) && Path::new(STDBUF).exists() {
            prefix.extend([STDBUF, "-o0"].map(PathBuf::from));
        }
        prefix.push(program);
        let mut command = Command::new(&prefix[0]);
        command
            .args(&prefix[1..])
            .args(&args)
            .stderr(Stdio::piped());
        let mut output_path = None;
        match &self.role {
            Role::Send(Feed::Paced { .. }) => {
                command.stdin(Stdio::piped()).stdout(Stdio::null());
            }
            Role::Send(Feed::File(path)) => {
                let file = File::open(path).map_err(|source| Error::Io {
                    what: path.display().to_string(),
                    source,
                })?;
                command.stdin(Stdio::from(file)).stdout(Stdio::null());
            }
            Role::Receive(Sink::File(path)) => {
                let file = File::create(path).map_err(|source| Error::Io {
                    what: path.display().to_string(),
                    source,
                })?;
                command.stdin(Stdio::null()).stdout(Stdio::from(file));
                output_path = Some(path.clone());
            }
            Role::Receive(Sink::Discard) => {
                command.stdin(Stdio::null()).stdout(Stdio::null());
            }
        }
        let command_line = prefix
            .iter()
            .map(|p| p.display().to_string())
            .chain(args.iter().map(|a| format!("'{a}'")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = command.spawn().map_err(|source| Error::Spawn {
            program: prefix[0].clone(),
            source,
        })?;
        tracing::debug!(%command_line, pid = child.id(), "libsrt group peer started");

        let stderr = Arc::new(Mutex::new(String::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let stderr_thread = child.stderr.take().map(|pipe| {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || collect_stderr(pipe, &sink))
        });
        let feeder = match (&self.role, child.stdin.take()) {
            (
                Role::Send(Feed::Paced {
                    data,
                    bytes_per_sec,
                }),
                Some(stdin),
            ) => {
                let (data, rate) = (Arc::clone(data), *bytes_per_sec);
                let stopping = Arc::clone(&stopping);
                let (delay, linger) = (self.feed_delay, self.linger);
                Some(std::thread::spawn(move || {
                    let mut stdin = stdin;
                    let start = Instant::now() + delay;
                    while Instant::now() < start && !stopping.load(Ordering::Relaxed) {
                        std::thread::sleep(POLL);
                    }
                    let written = feed_paced(&mut stdin, &data, rate, &stopping);
                    // Closing stdin makes the tool close the group at once, and the receiver
                    // then drops what its latency buffer still holds: keep it open a while.
                    let until = Instant::now() + linger;
                    while Instant::now() < until && !stopping.load(Ordering::Relaxed) {
                        std::thread::sleep(POLL);
                    }
                    written
                }))
            }
            _ => None,
        };
        Ok(LibsrtGroupPeer {
            child,
            command_line,
            listener_port: self.uri.listener_port(),
            stderr,
            stderr_thread,
            feeder,
            stopping,
            output_path,
            started: Instant::now(),
            lifetime: self.lifetime,
        })
    }
}

/// A running `srt-test-live` group caller or listener. Dropping it kills the process.
#[derive(Debug)]
pub struct LibsrtGroupPeer {
    child: Child,
    command_line: String,
    listener_port: Option<u16>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    feeder: Option<JoinHandle<u64>>,
    stopping: Arc<AtomicBool>,
    output_path: Option<PathBuf>,
    started: Instant,
    lifetime: Duration,
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
        match srt_test_live() {
            Ok(_) => Ok(true),
            Err(reason) if std::env::var_os("CI").is_some() => Err(Error::Spawn {
                program: bonding_dir().join("bin").join("srt-test-live"),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{test} cannot run on CI: {reason}"),
                ),
            }),
            Err(reason) => {
                eprintln!("{test}: {reason}");
                Ok(false)
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The command as run (for messages).
    pub fn command_line(&self) -> &str {
        &self.command_line
    }

    /// Everything the tool printed on stderr so far (first 256 KiB).
    pub fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn exited_error(&mut self, what: &str) -> Option<Error> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(Error::CommandFailed {
                command: self.command_line.clone(),
                status: format!("{status} before {what}"),
                stderr: self.stderr_text(),
            }),
            _ => None,
        }
    }

    /// For a listener: polls the process's own `/proc/PID/net/udp{,6}` until its port is bound.
    /// For a caller there is nothing to wait for: returns at once.
    pub fn wait_for_listen(&mut self, timeout: Duration) -> Result<(), Error> {
        let Some(port) = self.listener_port else {
            return Ok(());
        };
        let deadline = Instant::now() + timeout;
        loop {
            if udp_port_bound(self.child.id(), port) {
                return Ok(());
            }
            if let Some(error) = self.exited_error("binding its port") {
                return Err(error);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "{} to bind UDP port {port}; stderr: {}",
                        self.command_line,
                        self.stderr_text()
                    ),
                    after: timeout,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Bytes written to the [`Sink::File`] so far (0 for other peers).
    pub fn output_len(&self) -> u64 {
        self.output_path
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len())
    }

    /// Polls until the output file holds at least `len` bytes; returns its length. Fails when
    /// the tool exits first (with its stderr) or on timeout (with the bytes that arrived).
    pub fn wait_for_output_len(&mut self, len: u64, timeout: Duration) -> Result<u64, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let have = self.output_len();
            if have >= len {
                return Ok(have);
            }
            if let Some(error) = self.exited_error(&format!("writing {len} bytes (wrote {have})")) {
                // It may have written the rest just before exiting.
                let have = self.output_len();
                return if have >= len { Ok(have) } else { Err(error) };
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "{len} output bytes (got {have}); stderr: {}",
                        self.stderr_text()
                    ),
                    after: timeout,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the paced feed to finish writing; returns the bytes written (0 without one).
    pub fn wait_fed(&mut self) -> u64 {
        self.feeder
            .take()
            .and_then(|feeder| feeder.join().ok())
            .unwrap_or(0)
    }

    /// Waits at most `timeout` (and never past the lifetime plus 2 s) for the process to exit;
    /// kills it and reports a timeout otherwise.
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, Error> {
        let limit = timeout
            .min((self.lifetime + Duration::from_secs(2)).saturating_sub(self.started.elapsed()));
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.join_threads();
                    return Ok(status);
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => {
                    self.kill();
                    return Err(Error::Timeout {
                        what: format!("{} to exit", self.command_line),
                        after: limit,
                    });
                }
                Err(source) => {
                    return Err(Error::Io {
                        what: format!("waiting for {}", self.command_line),
                        source,
                    })
                }
            }
        }
    }

    /// Asks the tool to stop with SIGINT, waits up to 2 s, then kills it.
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.join_threads();
            return Ok(status);
        }
        // The child has not been reaped, so its pid cannot have been reused.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        match self.wait(Duration::from_secs(2)) {
            Err(Error::Timeout { .. }) => self.child.wait().map_err(|source| Error::Io {
                what: format!("waiting for {}", self.command_line),
                source,
            }),
            other => other,
        }
    }

    fn kill(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_threads();
    }

    fn join_threads(&mut self) {
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}

impl Drop for LibsrtGroupPeer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
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
