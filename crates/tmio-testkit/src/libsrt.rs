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

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::peer_process::{
    peer_process_methods, tool_should_run, whole_seconds, EarlyExit, PeerCommand, PeerProcess, Role,
};
use crate::Error;

/// Where Debian's `srt-tools` installs the tool.
pub const SRT_LIVE_TRANSMIT: &str = "/usr/bin/srt-live-transmit";
/// `srt-live-transmit`'s default read size, which is also the largest live payload.
pub const DEFAULT_CHUNK: usize = 1456;

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
        set_option(&mut self.options, key.into(), value.into());
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

/// Sets `key` to `value` in a URI's query options: replaces it where it is, else appends it.
pub(crate) fn set_option(options: &mut Vec<(String, String)>, key: String, value: String) {
    match options.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => options.push((key, value)),
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
        let seconds = whole_seconds(self.lifetime).max(1);
        let command = PeerCommand {
            role: self.role,
            uri: self.srt.to_string(),
            namespace: self.namespace,
            program: self.program,
            tool_options: vec!["-a:no".into(), format!("-t:{seconds}")],
            extra_args: self.extra_args,
            quote_args: false,
            lifetime: self.lifetime,
            label: "libsrt peer",
        };
        let patience = self.lifetime;
        let process = PeerProcess::spawn(command, move |feed| {
            // The tool discards what it reads before the SRT connection is up.
            if wait_for_connected(&feed.stderr, patience, &feed.stopping) {
                feed_paced(feed.stdin, &feed.data, feed.bytes_per_sec, &feed.stopping)
            } else {
                0
            }
        })?;
        Ok(LibsrtPeer {
            process,
            srt: self.srt,
        })
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
    process: PeerProcess,
    srt: SrtUri,
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
        tool_should_run(
            test,
            srt_live_transmit(),
            SRT_LIVE_TRANSMIT.into(),
            "skipping ",
        )
    }

    peer_process_methods!();

    /// Polls the process's own `/proc/PID/net/udp{,6}` (so it works inside a namespace too)
    /// until a UDP socket is bound on the URI's port.
    pub fn wait_for_listen(&mut self, timeout: Duration) -> Result<(), Error> {
        self.process.wait_for_udp_port(self.srt.port(), timeout)
    }

    /// Polls until the output file holds at least `len` bytes; returns its length. On timeout
    /// the error tells how many bytes arrived.
    pub fn wait_for_output_len(&mut self, len: u64, timeout: Duration) -> Result<u64, Error> {
        self.process
            .wait_for_output_len(len, timeout, EarlyExit::Fail)
    }

    /// Waits for the paced feed to finish writing; returns the bytes written (0 without one, or
    /// when the connection never came up within the lifetime).
    pub fn wait_fed(&mut self) -> u64 {
        self.process.wait_fed()
    }

    /// Asks the tool to stop with SIGINT (it flushes its output), waits up to 2 s, then kills.
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        self.process.stop()
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
