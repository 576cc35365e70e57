//! The fault matrix: a generated stream pushed through the real `tmio proxy` → `tmio gateway` →
//! TCP sink under one fault per cell, every byte counted and hashed.
//!
//! A cell runs a TCP sink (the RTMP server's stand-in), `tmio gateway` in front of it, `tmio
//! proxy` calling the gateway, and a pusher writing seeded random bytes into the proxy's local
//! port; then it records bytes sent and delivered (sha256 of what arrived against what was
//! sent), the proxy's exit status and error line (its side, local or remote), the gateway's
//! session line, the peak resident memory of both processes and the time taken. Where the
//! processes run depends on the fault:
//!
//! - kernel loss: proxy and pusher in namespace A, gateway and sink in namespace B of a
//!   [`NetnsLink`], nftables loss both ways; with a delay, the seeded userspace relay sits in A
//!   between the proxy and the link (this kernel has no `sch_netem`);
//! - reorder, duplication, blackout: everything on loopback, the relay between proxy and
//!   gateway;
//! - process faults (gateway or pusher killed, upstream gone or slow): loopback, no relay.
//!
//! Every wait is bounded: a cell ends at its timeout whatever happens, and its processes are
//! killed. [`full_matrix`] is the `cargo xtask reliability` list, [`fast_subset`] the one the
//! default tests run. The `tmio-reliability` binary runs a list and writes the markdown report.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::{RngCore as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};

use crate::netns::{NetnsLink, NetnsLinks, Side};
use crate::{Error, ImpairmentConfig, LossyUdpRelay, RelayConfig, RelayStats};

pub mod soak;

/// Bytes after which mid-stream faults strike (blackout, kill, upstream gone).
const FAULT_AFTER_BYTES: u64 = 1 << 20;
/// How long a started process gets to print its `listening` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a cell samples memory and progress.
const POLL: Duration = Duration::from_millis(50);
/// Stderr kept per process.
const STDERR_LIMIT: usize = 256 * 1024;
/// Peak resident memory the backpressure cells accept, per process.
pub const RSS_LIMIT_KIB: u64 = 96 * 1024;

/// One fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// nftables random loss of `loss_percent` % each way between two namespaces, plus `delay`
    /// each way from the relay when not zero.
    Network {
        /// Loss each way, in percent.
        loss_percent: f64,
        /// One-way delay added in each direction (0: no relay).
        delay: Duration,
    },
    /// The relay holds back `probability` of the datagrams by `delay` (each way), so later
    /// ones overtake them.
    Reorder {
        /// Share of datagrams held back.
        probability: f64,
        /// How long they are held back.
        delay: Duration,
    },
    /// The relay sends `probability` of the datagrams twice (each way).
    Duplicate {
        /// Share of datagrams duplicated.
        probability: f64,
    },
    /// The relay drops everything, both ways, for `length`, once 1 MiB has arrived.
    Blackout {
        /// How long nothing passes.
        length: Duration,
    },
    /// The gateway gets SIGKILL once 1 MiB has arrived.
    GatewayKilled,
    /// The pusher's connection is reset (SO_LINGER 0, as when a process dies with unread
    /// data) once it has written 1 MiB.
    PusherKilled,
    /// The sink closes its connection once it has read 1 MiB.
    UpstreamGone,
    /// The sink reads only `bytes_per_sec`; the pusher writes unpaced (backpressure).
    UpstreamSlow {
        /// The sink's reading rate.
        bytes_per_sec: u64,
    },
}

impl Fault {
    /// A short description for the report.
    pub fn describe(&self) -> String {
        match self {
            Fault::Network {
                loss_percent,
                delay,
            } if delay.is_zero() => format!("{loss_percent} % loss each way (nft)"),
            Fault::Network {
                loss_percent,
                delay,
            } => format!(
                "{loss_percent} % loss each way (nft) + {} ms each way (relay)",
                delay.as_millis()
            ),
            Fault::Reorder { probability, delay } => format!(
                "{} % held back {} ms each way (relay)",
                probability * 100.0,
                delay.as_millis()
            ),
            Fault::Duplicate { probability } => {
                format!("{} % duplicated each way (relay)", probability * 100.0)
            }
            Fault::Blackout { length } => {
                format!("{} s blackout after 1 MiB (relay)", length.as_secs_f64())
            }
            Fault::GatewayKilled => "gateway SIGKILLed after 1 MiB".into(),
            Fault::PusherKilled => "pusher resets its connection after 1 MiB".into(),
            Fault::UpstreamGone => "upstream closes after 1 MiB".into(),
            Fault::UpstreamSlow { bytes_per_sec } => format!(
                "upstream reads {} KiB/s, pusher unpaced",
                bytes_per_sec / 1024
            ),
        }
    }

    /// What a correct tmio does under this fault (the verdict checks it).
    pub fn expectation(&self) -> &'static str {
        match self {
            Fault::Network { .. }
            | Fault::Reorder { .. }
            | Fault::Duplicate { .. }
            | Fault::Blackout { .. } => "every byte, proxy exits 0",
            Fault::UpstreamSlow { .. } => "every byte, proxy exits 0, RSS bounded",
            Fault::GatewayKilled | Fault::UpstreamGone => {
                "proxy exits 1 with a remote error; what arrived is a prefix"
            }
            Fault::PusherKilled => "proxy ends on its own; what arrived is a prefix",
        }
    }

    fn needs_namespaces(&self) -> bool {
        matches!(self, Fault::Network { .. })
    }

    fn relay_impairment(&self) -> Option<ImpairmentConfig> {
        match self {
            Fault::Network { delay, .. } if !delay.is_zero() => Some(ImpairmentConfig {
                delay: *delay,
                ..Default::default()
            }),
            Fault::Reorder { probability, delay } => Some(ImpairmentConfig {
                reorder_probability: *probability,
                reorder_delay: *delay,
                ..Default::default()
            }),
            Fault::Duplicate { probability } => Some(ImpairmentConfig {
                duplicate_probability: *probability,
                ..Default::default()
            }),
            Fault::Blackout { .. } => Some(ImpairmentConfig::default()),
            _ => None,
        }
    }
}

/// A named fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Short name (report rows, `--cells` filter).
    pub name: String,
    /// The fault.
    pub fault: Fault,
}

impl Cell {
    fn new(name: impl Into<String>, fault: Fault) -> Self {
        Self {
            name: name.into(),
            fault,
        }
    }
}

/// Loss 0/2/10/20/30 % × delay 0/50 ms, 25 % reorder, 5 % duplication, a 3 s blackout, the
/// gateway killed, the pusher killed, the upstream gone, the upstream slow.
pub fn full_matrix() -> Vec<Cell> {
    let mut cells = Vec::new();
    for delay_ms in [0u64, 50] {
        for loss in [0u32, 2, 10, 20, 30] {
            cells.push(Cell::new(
                format!("loss{loss}-delay{delay_ms}"),
                Fault::Network {
                    loss_percent: f64::from(loss),
                    delay: Duration::from_millis(delay_ms),
                },
            ));
        }
    }
    cells.extend(process_and_relay_cells());
    cells
}

fn process_and_relay_cells() -> Vec<Cell> {
    vec![
        Cell::new(
            "reorder25",
            Fault::Reorder {
                probability: 0.25,
                delay: Duration::from_millis(20),
            },
        ),
        Cell::new("dup5", Fault::Duplicate { probability: 0.05 }),
        Cell::new(
            "blackout3s",
            Fault::Blackout {
                length: Duration::from_secs(3),
            },
        ),
        Cell::new("gateway-killed", Fault::GatewayKilled),
        Cell::new("pusher-killed", Fault::PusherKilled),
        Cell::new("upstream-gone", Fault::UpstreamGone),
        Cell::new(
            "upstream-slow",
            Fault::UpstreamSlow {
                bytes_per_sec: 1 << 20,
            },
        ),
    ]
}

/// The cells the default tests run (with a smaller stream): 10 % kernel loss, and every relay
/// and process fault but the blackout (3 s of nothing).
pub fn fast_subset() -> Vec<Cell> {
    let mut cells = vec![Cell::new(
        "loss10-delay0",
        Fault::Network {
            loss_percent: 10.0,
            delay: Duration::ZERO,
        },
    )];
    cells.extend(
        process_and_relay_cells()
            .into_iter()
            .filter(|cell| !matches!(cell.fault, Fault::Blackout { .. })),
    );
    cells
}

/// How cells run.
#[derive(Debug, Clone)]
pub struct MatrixConfig {
    /// The `tmio` binary.
    pub tmio: PathBuf,
    /// Bytes the pusher sends (seeded random).
    pub bytes: usize,
    /// The pusher's pace in bytes per second (the slow-upstream cell does not pace).
    pub pace_bytes_per_sec: u64,
    /// A cell ends at this timeout, whatever happens.
    pub cell_timeout: Duration,
    /// Seed of the stream and of the relay.
    pub seed: u64,
}

impl MatrixConfig {
    /// 4 MiB at 2 MiB/s, 30 s per cell.
    pub fn new(tmio: impl Into<PathBuf>) -> Self {
        Self {
            tmio: tmio.into(),
            bytes: 4 << 20,
            pace_bytes_per_sec: 2 << 20,
            cell_timeout: Duration::from_secs(30),
            seed: 12,
        }
    }
}

/// What one cell measured.
#[derive(Debug, Clone)]
pub struct CellReport {
    /// The cell's name.
    pub name: String,
    /// The fault, described.
    pub fault: String,
    /// What a correct run looks like.
    pub expectation: &'static str,
    /// Bytes the pusher wrote (accepted by its socket).
    pub sent: u64,
    /// Bytes the sink received.
    pub delivered: u64,
    /// Whether the sink's sha256 equals that of the first `delivered` bytes of the stream.
    pub delivered_is_prefix: bool,
    /// Whether every byte of the stream arrived, sha256 equal.
    pub complete: bool,
    /// The proxy's exit code (`None`: killed at the timeout, or by a signal).
    pub proxy_exit: Option<i32>,
    /// The proxy's `tmio: error (...)` line, if any.
    pub proxy_error: Option<String>,
    /// The gateway's last session line (`session ended` / `session failed` …), if any.
    pub gateway_session: Option<String>,
    /// How the sink's connection ended.
    pub sink_end: String,
    /// Peak resident memory of the proxy, KiB.
    pub proxy_rss_kib: u64,
    /// Peak resident memory of the gateway, KiB.
    pub gateway_rss_kib: u64,
    /// The proxy's resident memory at its last sample before it exited (or was stopped), KiB.
    pub proxy_rss_end_kib: u64,
    /// The gateway's resident memory once the session is over, just before it is stopped, KiB.
    pub gateway_rss_end_kib: u64,
    /// From the pusher's connection to the end of the cell.
    pub elapsed: Duration,
    /// Whether the cell ended at its timeout.
    pub timed_out: bool,
    /// `Ok` when the expectation held, else why not.
    pub verdict: Result<(), String>,
    /// What shows the fault acted: nftables drop counters, relay counters.
    pub fault_evidence: String,
    /// The last 2000 characters of the proxy's stderr (for a failed cell's diagnosis).
    pub proxy_stderr_tail: String,
    /// The last 2000 characters of the gateway's stderr.
    pub gateway_stderr_tail: String,
}

/// Where a cell's pieces run: loopback of this namespace, or the two sides of a link.
enum Place {
    Loopback,
    Namespaces(NetnsLink),
}

impl Place {
    fn links(&self) -> Option<&NetnsLinks> {
        match self {
            Place::Loopback => None,
            Place::Namespaces(link) => Some(link.as_links()),
        }
    }

    /// Runs `f` on a new thread, inside `side`'s namespace when there is one.
    fn spawn<F, T>(&self, side: Side, f: F) -> Result<JoinHandle<Result<T, Error>>, Error>
    where
        F: FnOnce() -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        match self.links() {
            Some(links) => {
                let handle = links.spawn_thread_in(side, f)?;
                // Flatten the namespace result and f's own.
                std::thread::Builder::new()
                    .name("netns-join".into())
                    .spawn(move || match handle.join() {
                        Ok(result) => result?,
                        Err(_) => Err(Error::Runtime {
                            what: "namespace thread (panicked)",
                            source: std::io::Error::other("panic"),
                        }),
                    })
                    .map_err(|source| Error::Runtime {
                        what: "joining thread",
                        source,
                    })
            }
            None => std::thread::Builder::new()
                .name("cell".into())
                .spawn(f)
                .map_err(|source| Error::Runtime {
                    what: "cell thread",
                    source,
                }),
        }
    }

    fn command(&self, side: Side, program: &Path) -> Command {
        match self.links() {
            Some(links) => links.exec_in(side, program),
            None => Command::new(program),
        }
    }

    fn gateway_listen(&self) -> String {
        match self {
            Place::Loopback => "srt://127.0.0.1:0".into(),
            Place::Namespaces(link) => format!("srt://{}:0", link.addr(Side::B)),
        }
    }
}

/// A running `tmio`; killed on drop.
struct TmioProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout_seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl TmioProcess {
    fn spawn(mut command: Command, args: &[&str]) -> Result<Self, Error> {
        let program = PathBuf::from(command.get_program());
        let mut child = command
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn { program, source })?;
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let collected = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    let mut text = lock(&collected);
                    if text.len() < STDERR_LIMIT {
                        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                    }
                }
            });
        }
        Ok(Self {
            child,
            lines,
            stdout_seen: Vec::new(),
            stderr,
        })
    }

    /// Waits (bounded) for a stdout line starting with `prefix`; returns the rest.
    fn wait_line(&mut self, prefix: &str, within: Duration) -> Result<String, Error> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout_seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.trim().to_owned());
                    }
                }
                Err(_) => {
                    return Err(Error::Timeout {
                        what: format!(
                            "a stdout line {prefix:?} (stderr: {})",
                            last_chars(&self.stderr_text(), 600)
                        ),
                        after: within,
                    })
                }
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_text(&self) -> String {
        lock(&self.stderr).clone()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns the exit status.
    fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for TmioProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn last_chars(text: &str, n: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars[chars.len().saturating_sub(n)..].iter().collect()
}

/// Resident memory of `pid` in KiB (`VmRSS` of `/proc/PID/status`), 0 when gone.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmRSS:")
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|kib| kib.parse().ok())
            })
        })
        .unwrap_or(0)
}

/// Deterministic pseudo-random bytes.
pub fn stream_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// How the sink reads.
#[derive(Debug, Clone, Copy)]
enum SinkMode {
    ToTheEnd,
    CloseAfter(u64),
    Slow(u64),
}

/// What the sink saw.
struct SinkResult {
    bytes: u64,
    sha256: [u8; 32],
    end: String,
}

/// Binds `127.0.0.1:0` (in the place's side B), then takes one connection and reads it.
fn spawn_sink(
    place: &Place,
    mode: SinkMode,
    progress: Arc<AtomicU64>,
    deadline: Instant,
) -> Result<(SocketAddr, JoinHandle<Result<SinkResult, Error>>), Error> {
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let handle = place.spawn(Side::B, move || {
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| Error::Io { what, source }
        };
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io("sink bind"))?;
        let addr = listener.local_addr().map_err(io("sink address"))?;
        let _ = ready_tx.send(addr);
        listener
            .set_nonblocking(true)
            .map_err(io("sink listener"))?;
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Ok(SinkResult {
                            bytes: 0,
                            sha256: Sha256::digest([]).into(),
                            end: "no connection".into(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(source) => return Err(io("sink accept")(source)),
            }
        };
        stream.set_nonblocking(false).map_err(io("sink stream"))?;
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(io("sink stream"))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        let started = Instant::now();
        let end = loop {
            if Instant::now() > deadline {
                break "cell timeout".to_owned();
            }
            let want = match mode {
                SinkMode::CloseAfter(limit) if total >= limit => {
                    break "closed by the sink".to_owned();
                }
                SinkMode::CloseAfter(limit) => buffer
                    .len()
                    .min(usize::try_from(limit - total).unwrap_or(usize::MAX)),
                SinkMode::Slow(rate) => {
                    // Read no faster than `rate`: wait until the bytes so far are due.
                    let due = Duration::from_secs_f64(total as f64 / rate as f64);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(wait.min(Duration::from_millis(100)));
                        continue;
                    }
                    16 * 1024
                }
                SinkMode::ToTheEnd => buffer.len(),
            };
            match stream.read(&mut buffer[..want]) {
                Ok(0) => break "EOF".to_owned(),
                Ok(n) => {
                    hasher.update(&buffer[..n]);
                    total += n as u64;
                    progress.store(total, Ordering::Relaxed);
                }
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(error) => break format!("error: {error}"),
            }
        };
        if let SinkMode::CloseAfter(_) = mode {
            // Unread data makes the kernel reset the connection: the upstream is gone.
            let _ = stream.shutdown(Shutdown::Both);
        }
        Ok(SinkResult {
            bytes: total,
            sha256: hasher.finalize().into(),
            end,
        })
    })?;
    let addr = ready_rx
        .recv_timeout(STARTUP_TIMEOUT)
        .map_err(|_| Error::Timeout {
            what: "the sink to bind".into(),
            after: STARTUP_TIMEOUT,
        })?;
    Ok((addr, handle))
}

/// How the pusher behaves: its pace (bytes/s; `None`: as fast as the proxy takes them) and
/// whether it resets its connection after some bytes.
#[derive(Debug, Clone, Copy)]
struct PushMode {
    pace: Option<u64>,
    reset_after: Option<u64>,
}

/// Connects to the proxy (in the place's side A) and writes `data`; returns the bytes its
/// socket accepted.
fn spawn_pusher(
    place: &Place,
    proxy_local: SocketAddr,
    data: Arc<Vec<u8>>,
    mode: PushMode,
    stop: Arc<AtomicBool>,
    deadline: Instant,
) -> Result<JoinHandle<Result<u64, Error>>, Error> {
    place.spawn(Side::A, move || {
        let io = |source| Error::Io {
            what: format!("pusher to {proxy_local}"),
            source,
        };
        let mut stream = TcpStream::connect(proxy_local).map_err(io)?;
        stream
            .set_write_timeout(Some(Duration::from_millis(200)))
            .map_err(io)?;
        let started = Instant::now();
        let mut written = 0usize;
        let chunk = 16 * 1024;
        while written < data.len() {
            if Instant::now() > deadline || stop.load(Ordering::Relaxed) {
                return Ok(written as u64);
            }
            if let Some(limit) = mode.reset_after {
                if written as u64 >= limit {
                    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                    drop(stream);
                    return Ok(written as u64);
                }
            }
            if let Some(rate) = mode.pace {
                let due = Duration::from_secs_f64(written as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait.min(Duration::from_millis(100)));
                    continue;
                }
            }
            let end = (written + chunk).min(data.len());
            match stream.write(&data[written..end]) {
                Ok(0) => return Ok(written as u64),
                Ok(n) => written += n,
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                // The proxy closed the connection: what was accepted so far counts.
                Err(_) => return Ok(written as u64),
            }
        }
        let _ = stream.shutdown(Shutdown::Write);
        // Wait (bounded) for the proxy to close its side: it does once everything is flushed.
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut scratch = [0u8; 1024];
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            match stream.read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        Ok(written as u64)
    })
}

enum RelayCommand {
    Blackout(Duration),
    Stop,
}

/// The relay on its own thread (inside A when there are namespaces).
struct RelayThread {
    addr: SocketAddr,
    commands: tokio::sync::mpsc::UnboundedSender<RelayCommand>,
    handle: Option<JoinHandle<Result<Option<RelayStats>, Error>>>,
}

impl RelayThread {
    fn start(
        place: &Place,
        upstream: SocketAddr,
        impairment: ImpairmentConfig,
        seed: u64,
    ) -> Result<Self, Error> {
        let (commands, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let config = RelayConfig {
            seed,
            to_upstream: impairment.clone(),
            to_client: impairment,
            ..RelayConfig::new(upstream)
        };
        let body = move || async move {
            let relay = match LossyUdpRelay::start(config).await {
                Ok(relay) => relay,
                Err(error) => {
                    let _ = ready_tx.send(Err(error));
                    return None;
                }
            };
            let _ = ready_tx.send(Ok(relay.local_addr()));
            while let Some(command) = receiver.recv().await {
                match command {
                    RelayCommand::Blackout(length) => relay.blackout_now(length),
                    RelayCommand::Stop => break,
                }
            }
            Some(relay.shutdown().await)
        };
        let handle = match place.links() {
            Some(links) => links.enter_on_thread(Side::A, body)?,
            None => std::thread::Builder::new()
                .name("relay".into())
                .spawn(move || {
                    Ok(tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|source| Error::Runtime {
                            what: "relay runtime",
                            source,
                        })?
                        .block_on(body()))
                })
                .map_err(|source| Error::Runtime {
                    what: "relay thread",
                    source,
                })?,
        };
        let addr = ready_rx
            .recv_timeout(STARTUP_TIMEOUT)
            .map_err(|_| Error::Timeout {
                what: "the relay to start".into(),
                after: STARTUP_TIMEOUT,
            })??;
        Ok(Self {
            addr,
            commands,
            handle: Some(handle),
        })
    }

    fn blackout(&self, length: Duration) {
        let _ = self.commands.send(RelayCommand::Blackout(length));
    }

    /// Stops the relay and returns its counters.
    fn finish(mut self) -> Option<RelayStats> {
        let _ = self.commands.send(RelayCommand::Stop);
        self.handle
            .take()
            .and_then(|handle| handle.join().ok())
            .and_then(Result::ok)
            .flatten()
    }
}

impl Drop for RelayThread {
    fn drop(&mut self) {
        let _ = self.commands.send(RelayCommand::Stop);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// The last line of `text` containing `needle`, without the log's timestamp and level.
fn line_with(text: &str, needle: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|line| line.contains(needle))
        .map(|line| {
            let line = line.trim();
            let start = line.find("tmio").unwrap_or(0);
            let mut line = &line[start..];
            // `tmio::gateway_cmd: session ended …`: the log target says nothing here.
            if line.starts_with("tmio::") {
                if let Some((_, rest)) = line.split_once(": ") {
                    line = rest;
                }
            }
            let mut short: String = line.chars().take(220).collect();
            if short.len() < line.len() {
                short.push('…');
            }
            short
        })
}

/// Runs one cell. Errors are failures of the harness (a process that never started); what
/// tmio does wrong ends up in the report's verdict.
pub fn run_cell(config: &MatrixConfig, cell: &Cell) -> Result<CellReport, Error> {
    let deadline = Instant::now() + config.cell_timeout;
    let place = if cell.fault.needs_namespaces() {
        let link = NetnsLink::new()?;
        if let Fault::Network { loss_percent, .. } = cell.fault {
            link.set_loss(loss_percent)?;
        }
        Place::Namespaces(link)
    } else {
        Place::Loopback
    };
    let data = Arc::new(stream_bytes(config.bytes, config.seed));
    let sink_mode = match cell.fault {
        Fault::UpstreamGone => SinkMode::CloseAfter(FAULT_AFTER_BYTES),
        Fault::UpstreamSlow { bytes_per_sec } => SinkMode::Slow(bytes_per_sec),
        _ => SinkMode::ToTheEnd,
    };
    let push_mode = PushMode {
        pace: match cell.fault {
            Fault::UpstreamSlow { .. } => None,
            _ => Some(config.pace_bytes_per_sec),
        },
        reset_after: match cell.fault {
            Fault::PusherKilled => Some(FAULT_AFTER_BYTES),
            _ => None,
        },
    };
    let delivered = Arc::new(AtomicU64::new(0));
    let (sink_addr, sink) = spawn_sink(&place, sink_mode, Arc::clone(&delivered), deadline)?;

    let mut gateway = TmioProcess::spawn(
        place.command(Side::B, &config.tmio),
        &[
            "gateway",
            &place.gateway_listen(),
            &format!("tcp://{sink_addr}"),
        ],
    )?;
    let gateway_addr: SocketAddr = parse_addr(
        &gateway.wait_line("listening srt://", STARTUP_TIMEOUT)?,
        "gateway",
    )?;
    let relay = match cell.fault.relay_impairment() {
        Some(impairment) => Some(RelayThread::start(
            &place,
            gateway_addr,
            impairment,
            config.seed,
        )?),
        None => None,
    };
    let remote = relay.as_ref().map_or(gateway_addr, |relay| relay.addr);
    let mut proxy = TmioProcess::spawn(
        place.command(Side::A, &config.tmio),
        &["proxy", "tcp://127.0.0.1:0", &format!("srt://{remote}")],
    )?;
    let proxy_local = parse_addr(
        &proxy.wait_line("listening tcp://", STARTUP_TIMEOUT)?,
        "proxy",
    )?;
    let started = Instant::now();
    let stop_pusher = Arc::new(AtomicBool::new(false));
    let pusher = spawn_pusher(
        &place,
        proxy_local,
        Arc::clone(&data),
        push_mode,
        Arc::clone(&stop_pusher),
        deadline,
    )?;

    let (mut proxy_rss, mut gateway_rss, mut proxy_rss_end) = (0u64, 0u64, 0u64);
    let mut fault_done = false;
    let mut proxy_status = None;
    let mut timed_out = false;
    let mut pusher = Some(pusher);
    let mut sent = None;
    // After the proxy exits the sink and the pusher get a few seconds to finish.
    let mut grace_until: Option<Instant> = None;
    loop {
        let proxy_now = rss_kib(proxy.pid());
        if proxy_now > 0 {
            proxy_rss_end = proxy_now;
        }
        proxy_rss = proxy_rss.max(proxy_now);
        gateway_rss = gateway_rss.max(rss_kib(gateway.pid()));
        if !fault_done && delivered.load(Ordering::Relaxed) >= FAULT_AFTER_BYTES {
            fault_done = true;
            match (&cell.fault, &relay) {
                (Fault::Blackout { length }, Some(relay)) => relay.blackout(*length),
                (Fault::GatewayKilled, _) => gateway.signal(nix::sys::signal::Signal::SIGKILL),
                _ => {}
            }
        }
        if proxy_status.is_none() {
            proxy_status = proxy.exited();
            if proxy_status.is_some() {
                grace_until = Some((Instant::now() + Duration::from_secs(5)).min(deadline));
            }
        }
        if pusher.as_ref().is_some_and(JoinHandle::is_finished) {
            if let Some(handle) = pusher.take() {
                sent = Some(join_result(handle)?);
            }
        }
        let now = Instant::now();
        if proxy_status.is_some() && pusher.is_none() && sink.is_finished() {
            break;
        }
        if grace_until.is_some_and(|until| now > until) {
            break;
        }
        if now > deadline {
            timed_out = true;
            break;
        }
        std::thread::sleep(POLL);
    }
    let elapsed = started.elapsed();
    stop_pusher.store(true, Ordering::Relaxed);
    let proxy_status = match proxy_status {
        Some(status) => Some(status),
        None => proxy.stop(Duration::from_secs(2)),
    };
    let sent = match (sent, pusher) {
        (Some(sent), _) => sent,
        (None, Some(handle)) => join_result(handle)?,
        (None, None) => 0,
    };
    // The gateway ends the upstream connection once its session ends; give it a moment, then
    // stop it (its session lines are logged by then).
    let gateway_stop_deadline = Instant::now() + Duration::from_secs(3);
    while !sink.is_finished() && Instant::now() < gateway_stop_deadline {
        std::thread::sleep(POLL);
    }
    let gateway_rss_end = rss_kib(gateway.pid());
    let _ = gateway.stop(Duration::from_secs(5));
    let mut evidence = Vec::new();
    if let Place::Namespaces(link) = &place {
        let toward_gateway = link.dropped_toward(Side::B)?;
        let toward_proxy = link.dropped_toward(Side::A)?;
        evidence.push(format!(
            "nft dropped {toward_gateway} → gateway, {toward_proxy} → proxy"
        ));
    }
    if let Some(stats) = relay.and_then(RelayThread::finish) {
        let (up, down) = (&stats.to_upstream, &stats.to_client);
        evidence.push(format!(
            "relay: {} + {} datagrams, {} reordered, {} duplicated, {} blacked out",
            up.received_packets,
            down.received_packets,
            up.reordered + down.reordered,
            up.duplicated + down.duplicated,
            up.dropped_blackout + down.dropped_blackout
        ));
    }
    let sink_result = join_result(sink)?;
    let gateway_text = gateway.stderr_text();
    let proxy_text = proxy.stderr_text();
    let delivered_is_prefix = usize::try_from(sink_result.bytes)
        .ok()
        .and_then(|n| data.get(..n))
        .is_some_and(|prefix| <[u8; 32]>::from(Sha256::digest(prefix)) == sink_result.sha256);
    let complete = delivered_is_prefix && sink_result.bytes == data.len() as u64;
    let mut report = CellReport {
        name: cell.name.clone(),
        fault: cell.fault.describe(),
        expectation: cell.fault.expectation(),
        sent,
        delivered: sink_result.bytes,
        delivered_is_prefix,
        complete,
        proxy_exit: proxy_status.and_then(|status| status.code()),
        proxy_error: line_with(&proxy_text, "tmio: error"),
        gateway_session: line_with(&gateway_text, "session failed")
            .or_else(|| line_with(&gateway_text, "session ended")),
        sink_end: sink_result.end,
        proxy_rss_kib: proxy_rss,
        gateway_rss_kib: gateway_rss,
        proxy_rss_end_kib: proxy_rss_end,
        gateway_rss_end_kib: gateway_rss_end,
        elapsed,
        timed_out,
        verdict: Ok(()),
        fault_evidence: evidence.join("; "),
        proxy_stderr_tail: last_chars(&proxy_text, 2000),
        gateway_stderr_tail: last_chars(&gateway_text, 2000),
    };
    report.verdict = judge(&cell.fault, &report);
    Ok(report)
}

fn join_result<T>(handle: JoinHandle<Result<T, Error>>) -> Result<T, Error> {
    match handle.join() {
        Ok(result) => result,
        Err(_) => Err(Error::Runtime {
            what: "cell thread (panicked)",
            source: std::io::Error::other("panic"),
        }),
    }
}

fn parse_addr(text: &str, what: &str) -> Result<SocketAddr, Error> {
    text.parse().map_err(|_| Error::Argument {
        arg: text.to_owned(),
        reason: format!("the {what}'s listening line is not an address"),
    })
}

/// Checks a report against its fault's expectation.
fn judge(fault: &Fault, report: &CellReport) -> Result<(), String> {
    if report.timed_out {
        return Err("timed out".into());
    }
    if !report.delivered_is_prefix {
        return Err("delivered bytes differ from the stream (sha256)".into());
    }
    let remote_error = report
        .proxy_error
        .as_deref()
        .is_some_and(|line| line.contains("(remote)"));
    match fault {
        Fault::Network { .. }
        | Fault::Reorder { .. }
        | Fault::Duplicate { .. }
        | Fault::Blackout { .. }
        | Fault::UpstreamSlow { .. } => {
            if !report.complete {
                return Err(format!(
                    "{} of {} bytes delivered",
                    report.delivered, report.sent
                ));
            }
            if report.proxy_exit != Some(0) {
                return Err(format!("proxy exit {:?}", report.proxy_exit));
            }
            if matches!(fault, Fault::UpstreamSlow { .. })
                && report.proxy_rss_kib.max(report.gateway_rss_kib) > RSS_LIMIT_KIB
            {
                return Err(format!(
                    "RSS {} / {} KiB above {RSS_LIMIT_KIB} KiB",
                    report.proxy_rss_kib, report.gateway_rss_kib
                ));
            }
            Ok(())
        }
        Fault::GatewayKilled | Fault::UpstreamGone => {
            if report.proxy_exit == Some(1) && remote_error {
                Ok(())
            } else {
                Err(format!(
                    "proxy exit {:?}, error {:?}",
                    report.proxy_exit, report.proxy_error
                ))
            }
        }
        Fault::PusherKilled => match report.proxy_exit {
            Some(_) => Ok(()),
            None => Err("the proxy did not exit".into()),
        },
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// `peak (end)` in MiB; `(—)` when the process was gone at the end (killed).
fn peak_and_end(peak_kib: u64, end_kib: u64) -> String {
    if end_kib == 0 {
        format!("{} (—)", mib(peak_kib))
    } else {
        format!("{} ({})", mib(peak_kib), mib(end_kib))
    }
}

/// The report's table: one row per cell.
pub fn markdown_table(reports: &[CellReport]) -> String {
    let mut table = String::from(
        "| cell | fault | fault counters | sent | delivered | sha256 | proxy exit | error raised (side) | gateway session | RSS proxy / gateway, MiB: peak (end) | time (s) | verdict |\n|---|---|---|---:|---:|---|---:|---|---|---:|---:|---|\n",
    );
    for report in reports {
        let sha = if report.complete {
            "equal"
        } else if report.delivered_is_prefix {
            "prefix"
        } else {
            "DIFFERS"
        };
        let exit = report
            .proxy_exit
            .map_or_else(|| "killed".to_owned(), |code| code.to_string());
        let cell_text = |text: &Option<String>| {
            text.as_deref()
                .map_or_else(|| "—".to_owned(), |t| t.replace('|', "\\|"))
        };
        let verdict = match &report.verdict {
            Ok(()) => "ok".to_owned(),
            Err(why) => format!("**FAIL**: {}", why.replace('|', "\\|")),
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {:.1} | {} |\n",
            report.name,
            report.fault,
            if report.fault_evidence.is_empty() {
                "—"
            } else {
                &report.fault_evidence
            },
            report.sent,
            report.delivered,
            sha,
            exit,
            cell_text(&report.proxy_error),
            cell_text(&report.gateway_session),
            peak_and_end(report.proxy_rss_kib, report.proxy_rss_end_kib),
            peak_and_end(report.gateway_rss_kib, report.gateway_rss_end_kib),
            report.elapsed.as_secs_f64(),
            verdict
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_matrix_has_every_cell_of_the_issue() {
        let cells = full_matrix();
        assert_eq!(cells.len(), 17);
        let names: Vec<&str> = cells.iter().map(|c| c.name.as_str()).collect();
        for name in [
            "loss0-delay0",
            "loss30-delay50",
            "reorder25",
            "dup5",
            "blackout3s",
            "gateway-killed",
            "pusher-killed",
            "upstream-gone",
            "upstream-slow",
        ] {
            assert!(names.contains(&name), "{name}");
        }
        assert!(fast_subset().iter().all(|cell| cells.contains(cell)));
    }

    #[test]
    fn delivered_bytes_are_judged_against_the_expectation() {
        let complete = CellReport {
            name: "x".into(),
            fault: String::new(),
            expectation: "",
            sent: 10,
            delivered: 10,
            delivered_is_prefix: true,
            complete: true,
            proxy_exit: Some(0),
            proxy_error: None,
            gateway_session: None,
            sink_end: "EOF".into(),
            proxy_rss_kib: 1,
            gateway_rss_kib: 1,
            proxy_rss_end_kib: 1,
            gateway_rss_end_kib: 1,
            elapsed: Duration::from_secs(1),
            timed_out: false,
            verdict: Ok(()),
            fault_evidence: String::new(),
            proxy_stderr_tail: String::new(),
            gateway_stderr_tail: String::new(),
        };
        let lossy = Fault::Network {
            loss_percent: 2.0,
            delay: Duration::ZERO,
        };
        assert!(judge(&lossy, &complete).is_ok());
        let short = CellReport {
            delivered: 5,
            complete: false,
            ..complete.clone()
        };
        assert!(judge(&lossy, &short).is_err());
        assert!(judge(&Fault::GatewayKilled, &short).is_err());
        let remote = CellReport {
            proxy_exit: Some(1),
            proxy_error: Some("tmio: error (remote): idle".into()),
            ..short.clone()
        };
        assert!(judge(&Fault::GatewayKilled, &remote).is_ok());
        let corrupt = CellReport {
            delivered_is_prefix: false,
            ..remote
        };
        assert!(judge(&Fault::GatewayKilled, &corrupt).is_err());
        let table = markdown_table(&[complete]);
        assert!(table.contains("| x |"), "{table}");
    }

    #[test]
    fn rss_of_this_process_is_read() {
        assert!(rss_kib(std::process::id()) > 0);
        assert_eq!(rss_kib(4_999_999), 0);
    }
}
