//! [`LibsrtPeer`]: Debian's `srt-live-transmit` (libsrt) as a sending or receiving peer.
//!
//! A *sender* reads `file://con` (its stdin, fed by this module from memory at a paced rate, or
//! from a file) and writes to an `srt://` URI; a *receiver* reads an `srt://` URI and writes
//! `file://con` (its stdout, redirected to a file). Whether a peer is the SRT caller or listener
//! is up to its [`SrtUri`]. Every peer has a bounded lifetime (`-t:N` given to the tool, and a
//! kill on drop), and its stderr is captured for error messages.
//!
//! Observed behaviour of libsrt 1.5.1's `srt-live-transmit` worth knowing:
//! - it reads stdin in chunks of 1456 bytes (`-chunk`) and a final partial chunk is never sent,
//!   so feed a multiple of [`DEFAULT_CHUNK`] (or pad) when every byte matters;
//! - a receiver does not exit when its caller disconnects: poll the output length with
//!   [`LibsrtPeer::wait_for_output_len`], then [`LibsrtPeer::stop`] it;
//! - it cannot write `file:///path`; output goes through stdout, which is why [`Sink::File`]
//!   redirects stdout. C stdio block-buffers that stdout (the last few KiB appear only at exit,
//!   and are lost on SIGKILL), so receivers run under `stdbuf -o0` when `/usr/bin/stdbuf`
//!   exists; stop them with SIGINT ([`LibsrtPeer::stop`]) anyway;
//! - live mode pushed faster than its rate cap loses data: pace the feed.

use std::fs::File;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Error;

/// Where Debian's `srt-tools` installs the tool.
pub const SRT_LIVE_TRANSMIT: &str = "/usr/bin/srt-live-transmit";
/// `srt-live-transmit`'s default read size, which is also the largest live payload.
pub const DEFAULT_CHUNK: usize = 1456;
/// coreutils' `stdbuf`, used to unbuffer a receiver's stdout.
pub(crate) const STDBUF: &str = "/usr/bin/stdbuf";
const STDERR_LIMIT: usize = 256 * 1024;
const POLL: Duration = Duration::from_millis(10);

/// An `srt://` URI for `srt-live-transmit`: host, port and query options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtUri {
    host: String,
    port: u16,
    options: Vec<(String, String)>,
}

impl SrtUri {
    /// `srt://127.0.0.1:PORT?mode=listener`: listen on loopback only.
    pub fn listener(port: u16) -> Self {
        Self::listener_on(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// `srt://ADDR?mode=listener` (e.g. an address inside a [`crate::NetnsLink`] namespace).
    pub fn listener_on(addr: SocketAddr) -> Self {
        Self {
            host: host_of(addr),
            port: addr.port(),
            options: vec![("mode".into(), "listener".into())],
        }
    }

    /// `srt://ADDR?mode=caller`.
    pub fn caller(addr: SocketAddr) -> Self {
        Self {
            host: host_of(addr),
            port: addr.port(),
            options: vec![("mode".into(), "caller".into())],
        }
    }

    /// Adds (or replaces) a query option, e.g. `("latency", "200")`, `("passphrase", "...")`.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        let value = value.into();
        match self.options.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.options.push((key, value)),
        }
        self
    }

    /// The port in the URI.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether `mode=listener`.
    pub fn is_listener(&self) -> bool {
        self.options
            .iter()
            .any(|(k, v)| k == "mode" && v == "listener")
    }
}

fn host_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    }
}

impl std::fmt::Display for SrtUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "srt://{}:{}", self.host, self.port)?;
        for (i, (key, value)) in self.options.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{key}={value}")?;
        }
        Ok(())
    }
}

/// What a sender reads.
#[derive(Debug, Clone)]
pub enum Feed {
    /// Bytes written to the tool's stdin in [`DEFAULT_CHUNK`]-sized writes at `bytes_per_sec`,
    /// starting once the tool reports on stderr that its SRT side is connected (it discards
    /// input read before that; so do not pass `-q`); stdin is closed at the end (the tool then
    /// disconnects and exits).
    Paced {
        /// The payload.
        data: Arc<Vec<u8>>,
        /// Pace of the writes.
        bytes_per_sec: u64,
    },
    /// The tool's stdin is this file, read as fast as the tool wants (unpaced, and from the
    /// start: what is read before the connection is up is discarded by the tool).
    File(PathBuf),
}

/// What a receiver does with what it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// The tool's stdout goes to this file (created or truncated).
    File(PathBuf),
    /// Discarded.
    Discard,
}

#[derive(Debug, Clone)]
enum Role {
    Send(Feed),
    Receive(Sink),
}

/// A UDP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, release it).
pub fn free_loopback_udp_port() -> Result<u16, Error> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    std::net::UdpSocket::bind(addr)
        .and_then(|socket| socket.local_addr())
        .map(|local| local.port())
        .map_err(|source| Error::Bind { addr, source })
}

/// Whether `srt-live-transmit` can be run: its path, or why not.
pub fn srt_live_transmit() -> Result<PathBuf, String> {
    let path = PathBuf::from(SRT_LIVE_TRANSMIT);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{SRT_LIVE_TRANSMIT} is missing (install it: apt-get install -y srt-tools)"
        ))
    }
}

/// How to start a [`LibsrtPeer`].
#[derive(Debug, Clone)]
pub struct LibsrtPeerBuilder {
    srt: SrtUri,
    role: Role,
    lifetime: Duration,
    namespace: Option<String>,
    program: PathBuf,
    extra_args: Vec<String>,
}

impl LibsrtPeerBuilder {
    /// Longest the tool may live (rounded up to whole seconds, passed as `-t:N`; default 20 s).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Runs the tool with `ip netns exec NAMESPACE` (see [`crate::NetnsLink::namespace`]).
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Uses another `srt-live-transmit` binary.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// Adds a tool option such as `-chunk:1316` or `-loglevel:debug`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Starts the tool (and, for a paced feed, the thread that writes its stdin).
    pub fn spawn(self) -> Result<LibsrtPeer, Error> {
        let srt = self.srt.to_string();
        let (source, target) = match &self.role {
            Role::Send(_) => ("file://con".to_owned(), srt),
            Role::Receive(_) => (srt, "file://con".to_owned()),
        };
        let seconds = self.lifetime.as_secs() + u64::from(self.lifetime.subsec_nanos() > 0);
        let mut args: Vec<String> = vec!["-a:no".into(), format!("-t:{}", seconds.max(1))];
        args.extend(self.extra_args.iter().cloned());
        args.push(source);
        args.push(target);

        // The tool writes `file://con` through C stdio, which block-buffers a file: without
        // `stdbuf -o0` the last KiB only reach the file when the process exits.
        let mut prefix: Vec<PathBuf> = Vec::new();
        if let Some(ns) = &self.namespace {
            prefix.extend(["ip", "netns", "exec", ns.as_str()].map(PathBuf::from));
        }
        if matches!(self.role, Role::Receive(Sink::File(_))) && Path::new(STDBUF).exists() {
            prefix.extend([STDBUF, "-o0"].map(PathBuf::from));
        }
        prefix.push(self.program.clone());
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
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = command.spawn().map_err(|source| Error::Spawn {
            program: prefix[0].clone(),
            source,
        })?;
        tracing::debug!(%command_line, pid = child.id(), "libsrt peer started");

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
                let stderr = Arc::clone(&stderr);
                let stopping = Arc::clone(&stopping);
                let patience = self.lifetime;
                Some(std::thread::spawn(move || {
                    // The tool discards what it reads before the SRT connection is up.
                    if wait_for_connected(&stderr, patience, &stopping) {
                        feed_paced(stdin, &data, rate, &stopping)
                    } else {
                        0
                    }
                }))
            }
            _ => None,
        };
        Ok(LibsrtPeer {
            child,
            command_line,
            srt: self.srt,
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

pub(crate) fn collect_stderr(mut pipe: impl Read, sink: &Mutex<String>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        let mut text = sink.lock().unwrap_or_else(|p| p.into_inner());
        if text.len() < STDERR_LIMIT {
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

/// Lines `srt-live-transmit` prints on stderr once its SRT side is connected ("SRT target
/// connected" as a caller, "Accepted SRT target connection" as a listener).
const CONNECTED_MARKERS: [&str; 2] = ["SRT target connected", "Accepted SRT target connection"];

/// Polls the captured stderr until a connected marker appears; false after `patience`.
fn wait_for_connected(stderr: &Mutex<String>, patience: Duration, stopping: &AtomicBool) -> bool {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline && !stopping.load(Ordering::Relaxed) {
        {
            let text = stderr.lock().unwrap_or_else(|p| p.into_inner());
            if CONNECTED_MARKERS.iter().any(|m| text.contains(m)) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Writes `data` in chunks at `bytes_per_sec`; returns the bytes written. Stops at the first
/// write error (the tool exited) and closes stdin by dropping it.
pub(crate) fn feed_paced(
    mut stdin: impl Write,
    data: &[u8],
    bytes_per_sec: u64,
    stopping: &AtomicBool,
) -> u64 {
    let start = Instant::now();
    let mut written = 0u64;
    for chunk in data.chunks(DEFAULT_CHUNK) {
        if stopping.load(Ordering::Relaxed) {
            break;
        }
        if stdin.write_all(chunk).and_then(|()| stdin.flush()).is_err() {
            break;
        }
        written += chunk.len() as u64;
        if bytes_per_sec > 0 {
            let due = Duration::from_secs_f64(written as f64 / bytes_per_sec as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    written
}

/// A running `srt-live-transmit`. Dropping it kills the process.
#[derive(Debug)]
pub struct LibsrtPeer {
    child: Child,
    command_line: String,
    srt: SrtUri,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    feeder: Option<JoinHandle<u64>>,
    stopping: Arc<AtomicBool>,
    output_path: Option<PathBuf>,
    started: Instant,
    lifetime: Duration,
}

impl LibsrtPeer {
    /// A peer that sends `feed` to `srt`.
    pub fn sender(srt: SrtUri, feed: Feed) -> LibsrtPeerBuilder {
        Self::builder(srt, Role::Send(feed))
    }

    /// A peer that receives from `srt` into `sink`.
    pub fn receiver(srt: SrtUri, sink: Sink) -> LibsrtPeerBuilder {
        Self::builder(srt, Role::Receive(sink))
    }

    fn builder(srt: SrtUri, role: Role) -> LibsrtPeerBuilder {
        LibsrtPeerBuilder {
            srt,
            role,
            lifetime: Duration::from_secs(20),
            namespace: None,
            program: PathBuf::from(SRT_LIVE_TRANSMIT),
            extra_args: Vec::new(),
        }
    }

    /// For tests: `Ok(true)` when `srt-live-transmit` is installed; `Ok(false)` after printing
    /// why `test` is skipped; an error when the `CI` variable is set (CI must run these).
    pub fn should_run(test: &str) -> Result<bool, Error> {
        match srt_live_transmit() {
            Ok(_) => Ok(true),
            Err(reason) if std::env::var_os("CI").is_some() => Err(Error::Spawn {
                program: SRT_LIVE_TRANSMIT.into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{test} cannot run on CI: {reason}"),
                ),
            }),
            Err(reason) => {
                eprintln!("skipping {test}: {reason}");
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

    /// Polls the process's own `/proc/PID/net/udp{,6}` (so it works inside a namespace too)
    /// until a UDP socket is bound on the URI's port.
    pub fn wait_for_listen(&mut self, timeout: Duration) -> Result<(), Error> {
        let port = self.srt.port();
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

    /// Polls until the output file holds at least `len` bytes; returns its length. On timeout
    /// the error tells how many bytes arrived.
    pub fn wait_for_output_len(&mut self, len: u64, timeout: Duration) -> Result<u64, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let have = self.output_len();
            if have >= len {
                return Ok(have);
            }
            if let Some(error) = self.exited_error("writing all its output") {
                return Err(error);
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

    /// Waits for the paced feed to finish writing; returns the bytes written (0 without one, or
    /// when the connection never came up within the lifetime).
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

    /// Asks the tool to stop with SIGINT (it flushes its output), waits up to 2 s, then kills.
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

impl Drop for LibsrtPeer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// Whether process `pid` sees a UDP socket bound on `port` (`/proc/PID/net/udp` and `udp6`).
pub(crate) fn udp_port_bound(pid: u32, port: u16) -> bool {
    ["udp", "udp6"].iter().any(|table| {
        let path = format!("/proc/{pid}/net/{table}");
        std::fs::read_to_string(Path::new(&path))
            .map(|text| udp_table_has_port(&text, port))
            .unwrap_or(false)
    })
}

/// Parses a `/proc/net/udp`-style table: does any local address end in `:PORT` (hex)?
fn udp_table_has_port(table: &str, port: u16) -> bool {
    table.lines().skip(1).any(|line| {
        line.split_whitespace()
            .nth(1)
            .and_then(|local| local.rsplit_once(':'))
            .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
            == Some(port)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_print_as_srt_live_transmit_expects() {
        let listener = SrtUri::listener(9000)
            .option("passphrase", "0123456789")
            .option("pbkeylen", "32")
            .option("latency", "200")
            .option("latency", "300");
        assert_eq!(
            listener.to_string(),
            "srt://127.0.0.1:9000?mode=listener&passphrase=0123456789&pbkeylen=32&latency=300"
        );
        assert!(listener.is_listener());
        let caller = SrtUri::caller("[::1]:9001".parse().unwrap()).option("streamid", "live/a");
        assert_eq!(
            caller.to_string(),
            "srt://[::1]:9001?mode=caller&streamid=live/a"
        );
        assert!(!caller.is_listener());
        assert_eq!(caller.port(), 9001);
    }

    #[test]
    fn udp_table_parsing_finds_the_port() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n 2996: 0100007F:B7FE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 47583 2 00000000f834aa8c 0\n";
        assert!(udp_table_has_port(table, 0xB7FE));
        assert!(!udp_table_has_port(table, 80));
        assert!(!udp_table_has_port("garbage\nmore garbage", 80));
    }

    #[test]
    fn paced_feed_writes_everything_at_the_pace() {
        let data = vec![7u8; 10 * DEFAULT_CHUNK];
        let mut out = Vec::new();
        let start = Instant::now();
        let never = AtomicBool::new(false);
        let written = feed_paced(&mut out, &data, (data.len() * 10) as u64, &never);
        assert_eq!(written, data.len() as u64);
        assert_eq!(out, data);
        // 1/10 s worth of data at that pace: the writer waited for it.
        assert!(start.elapsed() >= Duration::from_millis(90));
    }

    #[test]
    fn feeding_stops_when_asked() {
        let stopping = AtomicBool::new(true);
        let mut out = Vec::new();
        assert_eq!(feed_paced(&mut out, &[1u8; 4096], 1, &stopping), 0);
        let stderr = Mutex::new(String::new());
        let start = Instant::now();
        assert!(!wait_for_connected(
            &stderr,
            Duration::from_secs(30),
            &stopping
        ));
        assert!(start.elapsed() < Duration::from_secs(30));
        let connected = Mutex::new("Media path: ...\nSRT target connected\n".to_owned());
        assert!(wait_for_connected(
            &connected,
            Duration::from_secs(1),
            &AtomicBool::new(false)
        ));
    }

    #[test]
    fn missing_program_is_reported() {
        let err = LibsrtPeer::receiver(SrtUri::listener(1), Sink::Discard)
            .program("/nonexistent/srt-live-transmit")
            .spawn()
            .unwrap_err();
        assert!(matches!(err, Error::Spawn { .. }), "{err}");
    }
}
