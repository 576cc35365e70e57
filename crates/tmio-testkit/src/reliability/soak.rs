//! The soak: one `tmio gateway` and N `tmio proxy` processes carrying paced, seeded streams
//! through nftables loss between two network namespaces for a long time, every byte compared
//! at the sink, resident memory and open file descriptors of every process sampled.
//!
//! Layout: the gateway and the TCP sink in namespace B, the N proxies and their pushers in
//! namespace A of one [`NetnsLink`], `loss_percent` % of the datagrams dropped each way. The
//! total rate is split evenly over the sessions. Each session's stream is its index (8 bytes,
//! little endian) followed by seeded ChaCha8 bytes of its own; the sink reads the index from a
//! connection's first bytes, regenerates that stream and compares every byte as it arrives
//! (nothing is kept in memory), and both ends hash what they wrote or read (sha256).
//!
//! Every `sample_every` the runner reads `VmRSS` (`/proc/PID/status`) and counts `/proc/PID/fd`
//! of the gateway and of each proxy. After `duration` the pushers close their connections, the
//! proxies flush and exit, the gateway ends the sessions and the sink sees EOF on each (bounded
//! by [`DRAIN_TIMEOUT`]); then the gateway's fds and RSS are read once more, with no session.
//!
//! The verdict "flat", per process, after `warm_up`: the mean RSS of the samples in the last
//! `window` is at most 10 % + 2 MiB above the mean of the samples in the first `window` after
//! the warm-up, and the fd count never changes after the warm-up. See [`judge_series`].

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::{RngCore as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};

use super::{join_result, last_chars, line_with, parse_addr, rss_kib, Place, TmioProcess};
use crate::netns::{NetnsLink, Side};
use crate::Error;

/// After the pushers stop, how long the proxies, the gateway and the sink get to finish.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a started process gets to print its `listening` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// The generator's block: streams are produced in blocks of this size, whatever the reads.
const BLOCK: usize = 64 * 1024;
/// RSS growth allowed by the flat rule: this fraction of the first window's mean …
pub const RSS_GROWTH_FRACTION: f64 = 0.10;
/// … plus this, KiB.
pub const RSS_GROWTH_SLACK_KIB: f64 = 2048.0;

/// How a soak runs.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// The `tmio` binary.
    pub tmio: PathBuf,
    /// Proxies (sessions), each with its own pusher and stream.
    pub sessions: usize,
    /// Total pushed rate, bits per second, split evenly over the sessions.
    pub total_bits_per_sec: u64,
    /// nftables loss each way, percent.
    pub loss_percent: f64,
    /// How long the pushers stream.
    pub duration: Duration,
    /// Sampling period of RSS and fds.
    pub sample_every: Duration,
    /// Samples before this are not judged.
    pub warm_up: Duration,
    /// Length of the first (after the warm-up) and last windows the rule compares.
    pub window: Duration,
    /// Seed of the streams.
    pub seed: u64,
    /// `NAME=VALUE` options given to every proxy (`--opt`), over its default `rtmp` preset
    /// (whose `maxbw` caps each session at 2 621 440 bytes/s, retransmissions and packet
    /// headers included).
    pub proxy_options: Vec<String>,
}

impl SoakConfig {
    /// The soak: 30 minutes, 20 Mbit/s in total, 5 % loss, samples every 10 s, 60 s
    /// warm-up, one-minute windows.
    pub fn new(tmio: impl Into<PathBuf>, sessions: usize) -> Self {
        Self {
            tmio: tmio.into(),
            sessions,
            total_bits_per_sec: 20_000_000,
            loss_percent: 5.0,
            duration: Duration::from_secs(30 * 60),
            sample_every: Duration::from_secs(10),
            warm_up: Duration::from_secs(60),
            window: Duration::from_secs(60),
            seed: 12,
            proxy_options: Vec::new(),
        }
    }

    /// Each pusher's pace, bytes per second (at least 1).
    pub fn per_session_bytes_per_sec(&self) -> u64 {
        (self.total_bits_per_sec / 8 / self.sessions.max(1) as u64).max(1)
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |arg: String, reason: &str| {
            Err(Error::Argument {
                arg,
                reason: reason.to_owned(),
            })
        };
        if !(1..=200).contains(&self.sessions) {
            return bad(self.sessions.to_string(), "sessions must be 1 to 200");
        }
        if self.total_bits_per_sec < 8 {
            return bad(self.total_bits_per_sec.to_string(), "rate below 1 byte/s");
        }
        if !(0.0..=100.0).contains(&self.loss_percent) {
            return Err(Error::InvalidPercent(self.loss_percent));
        }
        if self.sample_every.is_zero() || self.duration < self.sample_every {
            return bad(
                format!("{:?}", self.sample_every),
                "the sampling period must be > 0 and not longer than the run",
            );
        }
        if self.warm_up + self.window * 2 > self.duration {
            return bad(
                format!("{:?}", self.duration),
                "the run must cover the warm-up and two windows",
            );
        }
        Ok(())
    }
}

/// One sample of one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Since the pushers started.
    pub at: Duration,
    /// `VmRSS`, KiB (0: the process was gone).
    pub rss_kib: u64,
    /// Entries of `/proc/PID/fd` (0: gone).
    pub fds: u64,
}

/// What a process's samples say.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSummary {
    /// RSS first / min / max / last over all samples, KiB.
    pub rss_first_min_max_last: [u64; 4],
    /// fds first / min / max / last over all samples.
    pub fds_first_min_max_last: [u64; 4],
    /// Mean RSS of the first window after the warm-up, KiB.
    pub rss_first_window_mean: f64,
    /// Mean RSS of the last window, KiB.
    pub rss_last_window_mean: f64,
    /// fds min and max after the warm-up.
    pub fds_after_warm_up: (u64, u64),
    /// `Ok` when flat by the rule, else why not.
    pub verdict: Result<(), String>,
}

/// Applies the flat rule to one process's samples (taken while the sessions stream).
pub fn judge_series(
    samples: &[Sample],
    warm_up: Duration,
    window: Duration,
    end: Duration,
) -> SeriesSummary {
    let first_min_max_last = |value: fn(&Sample) -> u64| -> [u64; 4] {
        let values: Vec<u64> = samples.iter().map(value).collect();
        [
            values.first().copied().unwrap_or(0),
            values.iter().copied().min().unwrap_or(0),
            values.iter().copied().max().unwrap_or(0),
            values.last().copied().unwrap_or(0),
        ]
    };
    let mean = |from: Duration, to: Duration| -> Option<f64> {
        let values: Vec<f64> = samples
            .iter()
            .filter(|s| s.at >= from && s.at <= to)
            .map(|s| s.rss_kib as f64)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let first = mean(warm_up, warm_up + window);
    let last = mean(end.saturating_sub(window), end);
    let judged: Vec<&Sample> = samples.iter().filter(|s| s.at >= warm_up).collect();
    let fds_min = judged.iter().map(|s| s.fds).min().unwrap_or(0);
    let fds_max = judged.iter().map(|s| s.fds).max().unwrap_or(0);
    let verdict = match (first, last) {
        _ if judged.iter().any(|s| s.rss_kib == 0 || s.fds == 0) => {
            Err("the process was gone during the run".to_owned())
        }
        (Some(first), Some(last)) => {
            let limit = first * (1.0 + RSS_GROWTH_FRACTION) + RSS_GROWTH_SLACK_KIB;
            if last > limit {
                Err(format!(
                    "RSS grew: last-window mean {:.0} KiB > {:.0} KiB (first-window mean {:.0} KiB + 10 % + 2 MiB)",
                    last, limit, first
                ))
            } else if fds_min != fds_max {
                Err(format!(
                    "open fds changed after the warm-up: {fds_min} to {fds_max}"
                ))
            } else {
                Ok(())
            }
        }
        _ => Err("no samples in the first or the last window".to_owned()),
    };
    SeriesSummary {
        rss_first_min_max_last: first_min_max_last(|s| s.rss_kib),
        fds_first_min_max_last: first_min_max_last(|s| s.fds),
        rss_first_window_mean: first.unwrap_or(0.0),
        rss_last_window_mean: last.unwrap_or(0.0),
        fds_after_warm_up: (fds_min, fds_max),
        verdict,
    }
}

/// One session's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionReport {
    /// The session's index (its stream's first 8 bytes).
    pub index: usize,
    /// Bytes the pusher's socket accepted.
    pub sent: u64,
    /// Bytes the sink read on the connection that carried this index (0: none did).
    pub delivered: u64,
    /// Every delivered byte equal to the stream, as many as were sent, sha256 equal.
    pub exact: bool,
    /// Offset of the first differing byte, if any.
    pub first_mismatch: Option<u64>,
    /// The proxy's exit code (`None`: still running at the end, or killed by a signal).
    pub proxy_exit: Option<i32>,
    /// The proxy's `tmio: error` line, if any.
    pub proxy_error: Option<String>,
}

/// What a soak measured.
#[derive(Debug, Clone)]
pub struct SoakReport {
    /// The configuration it ran with.
    pub config: SoakConfig,
    /// Per session.
    pub sessions: Vec<SessionReport>,
    /// Sink connections whose first 8 bytes named no session, or a session already seen.
    pub stray_connections: usize,
    /// The gateway's samples.
    pub gateway_samples: Vec<Sample>,
    /// Each proxy's samples (index = session).
    pub proxy_samples: Vec<Vec<Sample>>,
    /// The gateway before the first caller: RSS KiB, fds.
    pub gateway_idle_before: (u64, u64),
    /// The gateway after every session ended: RSS KiB, fds.
    pub gateway_idle_after: (u64, u64),
    /// The gateway, judged.
    pub gateway: SeriesSummary,
    /// Each proxy, judged.
    pub proxies: Vec<SeriesSummary>,
    /// nftables drops toward the gateway and toward the proxies.
    pub dropped: (u64, u64),
    /// From the pushers' start to the end of the drain.
    pub elapsed: Duration,
    /// The gateway's `session failed` lines (up to 5).
    pub gateway_failures: Vec<String>,
    /// The last 2000 characters of the gateway's stderr.
    pub gateway_stderr_tail: String,
}

impl SoakReport {
    /// Whether every session arrived byte-exact and nothing stray arrived.
    pub fn all_exact(&self) -> bool {
        self.stray_connections == 0 && self.sessions.iter().all(|s| s.exact)
    }

    /// Whether the gateway and every proxy are flat by the rule.
    pub fn all_flat(&self) -> bool {
        self.gateway.verdict.is_ok() && self.proxies.iter().all(|p| p.verdict.is_ok())
    }

    /// `Ok` when every byte arrived exactly, every proxy exited 0 and every process is flat.
    pub fn verdict(&self) -> Result<(), String> {
        let mut why = Vec::new();
        let inexact: Vec<usize> = self
            .sessions
            .iter()
            .filter(|s| !s.exact)
            .map(|s| s.index)
            .collect();
        if !inexact.is_empty() {
            why.push(format!("sessions not byte-exact: {inexact:?}"));
        }
        if self.stray_connections > 0 {
            why.push(format!("{} stray sink connections", self.stray_connections));
        }
        let failed: Vec<usize> = self
            .sessions
            .iter()
            .filter(|s| s.proxy_exit != Some(0))
            .map(|s| s.index)
            .collect();
        if !failed.is_empty() {
            why.push(format!("proxies that did not exit 0: {failed:?}"));
        }
        if let Err(e) = &self.gateway.verdict {
            why.push(format!("gateway: {e}"));
        }
        for (index, proxy) in self.proxies.iter().enumerate() {
            if let Err(e) = &proxy.verdict {
                why.push(format!("proxy {index}: {e}"));
            }
        }
        if why.is_empty() {
            Ok(())
        } else {
            Err(why.join("; "))
        }
    }
}

/// Session `index`'s stream: its index (8 bytes LE), then ChaCha8 bytes seeded by `seed` and
/// `index`, produced in fixed blocks so any read or write sizes see the same bytes.
pub struct SessionStream {
    rng: rand_chacha::ChaCha8Rng,
    block: Vec<u8>,
    used: usize,
}

impl SessionStream {
    /// The stream of session `index`.
    pub fn new(seed: u64, index: u64) -> Self {
        let rng = rand_chacha::ChaCha8Rng::seed_from_u64(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(index),
        );
        let mut block = vec![0u8; BLOCK];
        block[..8].copy_from_slice(&index.to_le_bytes());
        let mut stream = Self {
            rng,
            block,
            used: 0,
        };
        stream.rng.fill_bytes(&mut stream.block[8..]);
        stream
    }

    /// Fills `out` with the next bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            if self.used == self.block.len() {
                self.rng.fill_bytes(&mut self.block);
                self.used = 0;
            }
            let n = (out.len() - done).min(self.block.len() - self.used);
            out[done..done + n].copy_from_slice(&self.block[self.used..self.used + n]);
            self.used += n;
            done += n;
        }
    }
}

/// What a sink connection saw.
struct SinkConnection {
    index: Option<u64>,
    bytes: u64,
    first_mismatch: Option<u64>,
    sha256: [u8; 32],
}

/// What a pusher wrote.
struct Pushed {
    bytes: u64,
    sha256: [u8; 32],
}

fn io_error(what: &str) -> impl Fn(std::io::Error) -> Error {
    let what = what.to_owned();
    move |source| Error::Io {
        what: what.clone(),
        source,
    }
}

fn would_block(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Reads one sink connection to EOF (or `deadline`), comparing it with the stream its first 8
/// bytes name.
fn read_connection(
    mut stream: TcpStream,
    seed: u64,
    delivered: Arc<AtomicU64>,
    deadline: Instant,
) -> Result<SinkConnection, Error> {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(io_error("sink connection"))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BLOCK];
    let mut expected = vec![0u8; BLOCK];
    let mut header = Vec::with_capacity(8);
    let mut generator: Option<SessionStream> = None;
    let mut index = None;
    let mut bytes = 0u64;
    let mut first_mismatch = None;
    while Instant::now() < deadline {
        let n = match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if would_block(&error) => continue,
            Err(_) => break,
        };
        let got = &buffer[..n];
        hasher.update(got);
        delivered.fetch_add(n as u64, Ordering::Relaxed);
        let mut rest = got;
        if generator.is_none() {
            let take = (8 - header.len()).min(rest.len());
            header.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if header.len() == 8 {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&header);
                let named = u64::from_le_bytes(raw);
                index = Some(named);
                let mut stream = SessionStream::new(seed, named);
                let mut skip = [0u8; 8];
                stream.fill(&mut skip);
                generator = Some(stream);
            }
        }
        if let Some(stream) = generator.as_mut() {
            let want = &mut expected[..rest.len()];
            stream.fill(want);
            if first_mismatch.is_none() {
                if let Some(at) = rest.iter().zip(want.iter()).position(|(a, b)| a != b) {
                    first_mismatch = Some(bytes + (n - rest.len()) as u64 + at as u64);
                }
            }
        }
        bytes += n as u64;
    }
    Ok(SinkConnection {
        index,
        bytes,
        first_mismatch,
        sha256: hasher.finalize().into(),
    })
}

/// The sink's thread: every connection's result once they all ended.
type SinkThread = JoinHandle<Result<Vec<SinkConnection>, Error>>;

/// The sink in B: accepts up to `sessions` connections until `deadline`, one reader thread each.
fn spawn_sink(
    place: &Place,
    sessions: usize,
    seed: u64,
    delivered: Arc<AtomicU64>,
    deadline: Instant,
) -> Result<(SocketAddr, SinkThread), Error> {
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let handle = place.spawn(Side::B, move || {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(io_error("sink bind"))?;
        let addr = listener.local_addr().map_err(io_error("sink address"))?;
        let _ = ready_tx.send(addr);
        listener
            .set_nonblocking(true)
            .map_err(io_error("sink listener"))?;
        let mut readers = Vec::new();
        while readers.len() < sessions && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream
                        .set_nonblocking(false)
                        .map_err(io_error("sink stream"))?;
                    let delivered = Arc::clone(&delivered);
                    readers.push(
                        std::thread::Builder::new()
                            .name("soak-sink".into())
                            .spawn(move || read_connection(stream, seed, delivered, deadline))
                            .map_err(|source| Error::Runtime {
                                what: "sink reader thread",
                                source,
                            })?,
                    );
                }
                Err(error) if would_block(&error) => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(source) => return Err(io_error("sink accept")(source)),
            }
        }
        readers.into_iter().map(join_result).collect()
    })?;
    let addr = ready_rx
        .recv_timeout(STARTUP_TIMEOUT)
        .map_err(|_| Error::Timeout {
            what: "the sink to bind".into(),
            after: STARTUP_TIMEOUT,
        })?;
    Ok((addr, handle))
}

/// Which stream a pusher writes, at what pace (bytes/s).
#[derive(Debug, Clone, Copy)]
struct StreamPlan {
    seed: u64,
    index: u64,
    rate: u64,
}

/// A pusher in A: streams session `index` at `rate` bytes/s until `stop_at`, then closes its
/// write side and waits (until `deadline`) for the proxy to close.
fn spawn_pusher(
    place: &Place,
    proxy_local: SocketAddr,
    stream: StreamPlan,
    stop_at: Instant,
    deadline: Instant,
    abort: Arc<AtomicBool>,
) -> Result<JoinHandle<Result<Pushed, Error>>, Error> {
    let StreamPlan { seed, index, rate } = stream;
    place.spawn(Side::A, move || {
        let io = io_error(&format!("pusher {index} to {proxy_local}"));
        let mut stream = TcpStream::connect(proxy_local).map_err(&io)?;
        stream
            .set_write_timeout(Some(Duration::from_millis(200)))
            .map_err(&io)?;
        let mut generator = SessionStream::new(seed, index);
        let mut hasher = Sha256::new();
        // About 20 writes a second, at most 16 KiB each.
        let chunk = usize::try_from(rate / 20)
            .unwrap_or(16 * 1024)
            .clamp(1, 16 * 1024);
        let mut pending = vec![0u8; chunk];
        let mut pending_from = chunk; // nothing pending
        let started = Instant::now();
        let mut written = 0u64;
        loop {
            let now = Instant::now();
            if now >= stop_at || abort.load(Ordering::Relaxed) {
                break;
            }
            let due = Duration::from_secs_f64(written as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait.min(Duration::from_millis(100)));
                continue;
            }
            if pending_from == pending.len() {
                generator.fill(&mut pending);
                pending_from = 0;
            }
            match stream.write(&pending[pending_from..]) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&pending[pending_from..pending_from + n]);
                    pending_from += n;
                    written += n as u64;
                }
                Err(error) if would_block(&error) => {}
                // The proxy closed the connection: what was accepted so far counts.
                Err(_) => break,
            }
        }
        let _ = stream.shutdown(Shutdown::Write);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut scratch = [0u8; 1024];
        while Instant::now() < deadline && !abort.load(Ordering::Relaxed) {
            match stream.read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if would_block(&error) => {}
                Err(_) => break,
            }
        }
        Ok(Pushed {
            bytes: written,
            sha256: hasher.finalize().into(),
        })
    })
}

/// Entries of `/proc/PID/fd`, 0 when the process is gone.
pub fn fd_count(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |entries| entries.count() as u64)
}

fn sample(pid: u32, at: Duration) -> Sample {
    Sample {
        at,
        rss_kib: rss_kib(pid),
        fds: fd_count(pid),
    }
}

/// Runs a soak. Errors are failures of the harness (a process that never started, no
/// namespaces); what tmio does wrong ends up in the report's verdicts.
pub fn run_soak(config: &SoakConfig, progress: &mut dyn FnMut(&str)) -> Result<SoakReport, Error> {
    config.validate()?;
    let link = NetnsLink::new()?;
    link.set_loss(config.loss_percent)?;
    let place = Place::Namespaces(link);
    let startup_budget = STARTUP_TIMEOUT * 2 + Duration::from_secs(config.sessions as u64);
    // The end of everything: start-up, the run, the drain.
    let deadline = Instant::now() + startup_budget + config.duration + DRAIN_TIMEOUT;
    let delivered = Arc::new(AtomicU64::new(0));
    let (sink_addr, sink) = spawn_sink(
        &place,
        config.sessions,
        config.seed,
        Arc::clone(&delivered),
        deadline,
    )?;
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
    let gateway_idle_before = (rss_kib(gateway.pid()), fd_count(gateway.pid()));
    let mut proxies = Vec::with_capacity(config.sessions);
    let mut proxy_locals = Vec::with_capacity(config.sessions);
    for index in 0..config.sessions {
        let remote = format!("srt://{gateway_addr}?streamid=#!::r=soak/{index}");
        let mut args = vec!["proxy", "tcp://127.0.0.1:0", remote.as_str()];
        for option in &config.proxy_options {
            args.extend(["--opt", option.as_str()]);
        }
        let mut proxy = TmioProcess::spawn(place.command(Side::A, &config.tmio), &args)?;
        proxy_locals.push(parse_addr(
            &proxy.wait_line("listening tcp://", STARTUP_TIMEOUT)?,
            "proxy",
        )?);
        proxies.push(proxy);
    }
    progress(&format!(
        "gateway {gateway_addr} and {} proxies up; streaming {:.1} KiB/s each for {} s",
        config.sessions,
        config.per_session_bytes_per_sec() as f64 / 1024.0,
        config.duration.as_secs()
    ));
    let started = Instant::now();
    let stop_at = started + config.duration;
    let abort = Arc::new(AtomicBool::new(false));
    let mut pushers = Vec::with_capacity(config.sessions);
    for (index, local) in proxy_locals.iter().enumerate() {
        pushers.push(spawn_pusher(
            &place,
            *local,
            StreamPlan {
                seed: config.seed,
                index: index as u64,
                rate: config.per_session_bytes_per_sec(),
            },
            stop_at,
            deadline,
            Arc::clone(&abort),
        )?);
    }

    let mut gateway_samples = Vec::new();
    let mut proxy_samples: Vec<Vec<Sample>> = vec![Vec::new(); config.sessions];
    // Bounded: one sample per period while the streams run. None at their end: a sample taken
    // as the pushers stop could see a proxy closing its pusher's connection (one fd fewer), which
    // is the end of the session, not a leak.
    let max_samples =
        (config.duration.as_secs_f64() / config.sample_every.as_secs_f64()).ceil() as usize;
    let mut next = started;
    let mut last_delivered = 0u64;
    for _ in 0..max_samples {
        let now = Instant::now();
        if next >= stop_at || now >= stop_at {
            break;
        }
        if let Some(wait) = next.checked_duration_since(now) {
            std::thread::sleep(wait);
        }
        let at = started.elapsed();
        gateway_samples.push(sample(gateway.pid(), at));
        for (proxy, samples) in proxies.iter().zip(proxy_samples.iter_mut()) {
            samples.push(sample(proxy.pid(), at));
        }
        let total = delivered.load(Ordering::Relaxed);
        if let (Some(g), Some(first_proxy)) = (gateway_samples.last(), proxy_samples.first()) {
            let proxy_rss: u64 = proxy_samples
                .iter()
                .filter_map(|s| s.last())
                .map(|s| s.rss_kib)
                .sum();
            progress(&format!(
                "t={:>5.0}s delivered {:>11} B ({:.2} Mbit/s since last) gateway rss {} KiB fds {} | proxies rss sum {} KiB, proxy 0 fds {}",
                at.as_secs_f64(),
                total,
                (total - last_delivered) as f64 * 8.0 / config.sample_every.as_secs_f64() / 1e6,
                g.rss_kib,
                g.fds,
                proxy_rss,
                first_proxy.last().map_or(0, |s| s.fds)
            ));
        }
        last_delivered = total;
        next += config.sample_every;
    }

    // The drain: pushers close, proxies flush and exit, the gateway ends the sessions.
    let mut pushed = Vec::with_capacity(config.sessions);
    for handle in pushers {
        pushed.push(join_result(handle)?);
    }
    let drain_deadline = (Instant::now() + DRAIN_TIMEOUT).min(deadline);
    let mut exits: Vec<Option<std::process::ExitStatus>> = vec![None; config.sessions];
    while Instant::now() < drain_deadline {
        for (proxy, exit) in proxies.iter_mut().zip(exits.iter_mut()) {
            if exit.is_none() {
                *exit = proxy.exited();
            }
        }
        if exits.iter().all(Option::is_some) && sink.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    abort.store(true, Ordering::Relaxed);
    for (proxy, exit) in proxies.iter_mut().zip(exits.iter_mut()) {
        if exit.is_none() {
            *exit = proxy.stop(Duration::from_secs(2));
        }
    }
    // With every session over, the gateway should be back where it started.
    let settle = Instant::now() + Duration::from_secs(3);
    while !sink.is_finished() && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    let gateway_idle_after = (rss_kib(gateway.pid()), fd_count(gateway.pid()));
    let _ = gateway.stop(Duration::from_secs(5));
    let elapsed = started.elapsed();
    let dropped = match &place {
        Place::Namespaces(link) => (link.dropped_toward(Side::B)?, link.dropped_toward(Side::A)?),
        Place::Loopback => (0, 0),
    };
    let connections = join_result(sink)?;

    let mut stray = 0;
    let mut by_index: Vec<Option<&SinkConnection>> = vec![None; config.sessions];
    for connection in &connections {
        match connection
            .index
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < config.sessions)
        {
            Some(i) if by_index[i].is_none() => by_index[i] = Some(connection),
            _ => stray += 1,
        }
    }
    let sessions = (0..config.sessions)
        .map(|index| {
            let push = &pushed[index];
            let proxy_text = proxies[index].stderr_text();
            let (delivered, first_mismatch, exact) = match by_index[index] {
                Some(c) => (
                    c.bytes,
                    c.first_mismatch,
                    c.first_mismatch.is_none() && c.bytes == push.bytes && c.sha256 == push.sha256,
                ),
                None => (0, None, false),
            };
            SessionReport {
                index,
                sent: push.bytes,
                delivered,
                exact,
                first_mismatch,
                proxy_exit: exits[index].and_then(|status| status.code()),
                proxy_error: line_with(&proxy_text, "tmio: error"),
            }
        })
        .collect();
    let end = config.duration;
    let gateway_summary = judge_series(&gateway_samples, config.warm_up, config.window, end);
    let proxy_summaries = proxy_samples
        .iter()
        .map(|samples| judge_series(samples, config.warm_up, config.window, end))
        .collect();
    let gateway_text = gateway.stderr_text();
    let gateway_failures = gateway_text
        .lines()
        .filter(|line| line.contains("session failed"))
        .take(5)
        .map(|line| line.chars().take(300).collect())
        .collect();
    Ok(SoakReport {
        config: config.clone(),
        sessions,
        stray_connections: stray,
        gateway_samples,
        proxy_samples,
        gateway_idle_before,
        gateway_idle_after,
        gateway: gateway_summary,
        proxies: proxy_summaries,
        dropped,
        elapsed,
        gateway_failures,
        gateway_stderr_tail: last_chars(&gateway_text, 2000),
    })
}

fn mib(kib: f64) -> String {
    format!("{:.1}", kib / 1024.0)
}

fn four_mib(values: [u64; 4]) -> String {
    values
        .iter()
        .map(|&v| mib(v as f64))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn four(values: [u64; 4]) -> String {
    values
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The report as markdown: a heading `### Soak: N session(s)`, the figures and a samples table.
pub fn markdown(report: &SoakReport, header_lines: &[String]) -> String {
    let config = &report.config;
    let n = config.sessions;
    let sent: u64 = report.sessions.iter().map(|s| s.sent).sum();
    let delivered: u64 = report.sessions.iter().map(|s| s.delivered).sum();
    let exact = report.sessions.iter().filter(|s| s.exact).count();
    let flat_proxies = report.proxies.iter().filter(|p| p.verdict.is_ok()).count();
    let exited_0 = report
        .sessions
        .iter()
        .filter(|s| s.proxy_exit == Some(0))
        .count();
    let mut text = format!("### Soak: {n} session{}\n\n", if n == 1 { "" } else { "s" });
    for line in header_lines {
        text.push_str(&format!("- {line}\n"));
    }
    text.push_str(&format!(
        "- load: {} s at {:.1} Mbit/s in total ({} session{} × {:.1} KiB/s, paced), {} % nftables loss each way; \
         nft dropped {} datagrams toward the gateway, {} toward the proxies\n",
        config.duration.as_secs(),
        config.total_bits_per_sec as f64 / 1e6,
        n,
        if n == 1 { "" } else { "s" },
        config.per_session_bytes_per_sec() as f64 / 1024.0,
        config.loss_percent,
        report.dropped.0,
        report.dropped.1,
    ));
    if !config.proxy_options.is_empty() {
        text.push_str(&format!(
            "- proxy options: `{}`\n",
            config.proxy_options.join(" ")
        ));
    }
    let planned =
        config.per_session_bytes_per_sec() as f64 * config.duration.as_secs_f64() * n as f64;
    text.push_str(&format!(
        "- bytes: {sent} sent ({:.1} % of the {planned:.0} the pace asked for: the rest is what backpressure held back in the pushers), {delivered} delivered ({:.2} Mbit/s over the run); byte-exact (streaming comparison and sha256): {exact} of {n} sessions{}; proxies exiting 0: {exited_0} of {n}\n",
        sent as f64 * 100.0 / planned.max(1.0),
        delivered as f64 * 8.0 / config.duration.as_secs_f64() / 1e6,
        if report.stray_connections > 0 {
            format!(", {} stray connections", report.stray_connections)
        } else {
            String::new()
        }
    ));
    let g = &report.gateway;
    text.push_str(&format!(
        "- gateway: RSS MiB first/min/max/last {} (first-window mean {}, last-window mean {}); fds {} ; idle before the callers {} MiB / {} fds, after every session ended {} MiB / {} fds; flat: {}\n",
        four_mib(g.rss_first_min_max_last),
        mib(g.rss_first_window_mean),
        mib(g.rss_last_window_mean),
        four(g.fds_first_min_max_last),
        mib(report.gateway_idle_before.0 as f64),
        report.gateway_idle_before.1,
        mib(report.gateway_idle_after.0 as f64),
        report.gateway_idle_after.1,
        match &g.verdict {
            Ok(()) => "yes".to_owned(),
            Err(why) => format!("**NO**: {why}"),
        }
    ));
    if !report.proxies.is_empty() {
        let col = |f: &dyn Fn(&SeriesSummary) -> u64| -> (u64, u64) {
            let values: Vec<u64> = report.proxies.iter().map(f).collect();
            (
                values.iter().copied().min().unwrap_or(0),
                values.iter().copied().max().unwrap_or(0),
            )
        };
        let range = |(lo, hi): (u64, u64), as_mib: bool| {
            let show = |v: u64| if as_mib { mib(v as f64) } else { v.to_string() };
            if lo == hi {
                show(lo)
            } else {
                format!("{}–{}", show(lo), show(hi))
            }
        };
        let growth: Vec<f64> = report
            .proxies
            .iter()
            .map(|p| p.rss_last_window_mean - p.rss_first_window_mean)
            .collect();
        let max_growth = growth.iter().copied().fold(f64::MIN, f64::max);
        text.push_str(&format!(
            "- proxies (range over the {n}): RSS MiB first {} / min {} / max {} / last {}; fds first {} / min {} / max {} / last {}; largest last-window − first-window RSS mean {:+.0} KiB; flat: {flat_proxies} of {n}\n",
            range(col(&|p| p.rss_first_min_max_last[0]), true),
            range(col(&|p| p.rss_first_min_max_last[1]), true),
            range(col(&|p| p.rss_first_min_max_last[2]), true),
            range(col(&|p| p.rss_first_min_max_last[3]), true),
            range(col(&|p| p.fds_first_min_max_last[0]), false),
            range(col(&|p| p.fds_first_min_max_last[1]), false),
            range(col(&|p| p.fds_first_min_max_last[2]), false),
            range(col(&|p| p.fds_first_min_max_last[3]), false),
            max_growth,
        ));
        for (index, proxy) in report.proxies.iter().enumerate() {
            if let Err(why) = &proxy.verdict {
                text.push_str(&format!("  - proxy {index} not flat: {why}\n"));
            }
        }
    }
    for session in report.sessions.iter().filter(|s| !s.exact) {
        text.push_str(&format!(
            "  - session {}: sent {}, delivered {}, first differing byte {:?}, proxy exit {:?}, error {:?}\n",
            session.index,
            session.sent,
            session.delivered,
            session.first_mismatch,
            session.proxy_exit,
            session.proxy_error
        ));
    }
    for line in &report.gateway_failures {
        text.push_str(&format!("  - gateway: `{}`\n", line.replace('`', "'")));
    }
    text.push_str(&format!(
        "- verdict: {}\n\n",
        match report.verdict() {
            Ok(()) => "**flat and byte-exact**".to_owned(),
            Err(why) => format!("**FAILED**: {why}"),
        }
    ));
    // The samples, thinned to about 13 rows.
    let every = (report.gateway_samples.len() / 12).max(1);
    text.push_str(
        "| t (s) | gateway RSS MiB | gateway fds | proxies RSS MiB: sum (min–max) | proxy fds (min–max) |\n|---:|---:|---:|---:|---:|\n",
    );
    for (i, g) in report.gateway_samples.iter().enumerate() {
        if i % every != 0 && i + 1 != report.gateway_samples.len() {
            continue;
        }
        let proxy_at: Vec<&Sample> = report
            .proxy_samples
            .iter()
            .filter_map(|s| s.get(i))
            .collect();
        let rss: Vec<u64> = proxy_at.iter().map(|s| s.rss_kib).collect();
        let fds: Vec<u64> = proxy_at.iter().map(|s| s.fds).collect();
        let lo_hi = |v: &[u64]| {
            (
                v.iter().copied().min().unwrap_or(0),
                v.iter().copied().max().unwrap_or(0),
            )
        };
        let (rss_lo, rss_hi) = lo_hi(&rss);
        let (fds_lo, fds_hi) = lo_hi(&fds);
        text.push_str(&format!(
            "| {:.0} | {} | {} | {} ({}–{}) | {}–{} |\n",
            g.at.as_secs_f64(),
            mib(g.rss_kib as f64),
            g.fds,
            mib(rss.iter().sum::<u64>() as f64),
            mib(rss_lo as f64),
            mib(rss_hi as f64),
            fds_lo,
            fds_hi
        ));
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_the_same_whatever_the_read_sizes() {
        let mut whole = vec![0u8; 200_000];
        SessionStream::new(7, 3).fill(&mut whole);
        assert_eq!(&whole[..8], &3u64.to_le_bytes());
        let mut pieces = Vec::new();
        let mut stream = SessionStream::new(7, 3);
        for size in [1usize, 3, 7, 65_536, 5, 100_000].iter().cycle() {
            if pieces.len() >= whole.len() {
                break;
            }
            let mut piece = vec![0u8; (*size).min(whole.len() - pieces.len())];
            stream.fill(&mut piece);
            pieces.extend_from_slice(&piece);
        }
        assert_eq!(pieces, whole);
        let mut other = vec![0u8; 64];
        SessionStream::new(7, 4).fill(&mut other);
        assert_ne!(&other[8..], &whole[8..64]);
    }

    fn series(rss: &[u64], fds: &[u64]) -> Vec<Sample> {
        rss.iter()
            .zip(fds)
            .enumerate()
            .map(|(i, (&rss_kib, &fds))| Sample {
                at: Duration::from_secs(10 * i as u64),
                rss_kib,
                fds,
            })
            .collect()
    }

    #[test]
    fn the_flat_rule_allows_ten_percent_and_two_mib() {
        let (warm, window, end) = (
            Duration::from_secs(20),
            Duration::from_secs(20),
            Duration::from_secs(100),
        );
        // Samples at 0..=100 s; first window 20–40 s, last 80–100 s.
        let flat = series(
            &[
                1000, 9000, 10_000, 10_000, 10_000, 10_500, 11_000, 11_000, 12_000, 12_000, 12_900,
            ],
            &[5, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9],
        );
        let summary = judge_series(&flat, warm, window, end);
        assert_eq!(summary.verdict, Ok(()), "{summary:?}");
        assert_eq!(summary.rss_first_min_max_last, [1000, 1000, 12_900, 12_900]);
        let growing = series(
            &[
                1000, 9000, 10_000, 10_000, 10_000, 11_000, 12_000, 13_000, 14_000, 15_000, 16_000,
            ],
            &[5, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9],
        );
        assert!(judge_series(&growing, warm, window, end)
            .verdict
            .unwrap_err()
            .contains("RSS grew"));
        let leaking = series(
            &[
                1000, 9000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000,
            ],
            &[5, 9, 9, 9, 10, 10, 11, 11, 12, 12, 13],
        );
        assert!(judge_series(&leaking, warm, window, end)
            .verdict
            .unwrap_err()
            .contains("fds"));
        let gone = series(&[1000, 9000, 10_000, 0], &[5, 9, 9, 0]);
        assert!(judge_series(&gone, warm, window, Duration::from_secs(30))
            .verdict
            .is_err());
    }

    #[test]
    fn the_soak_configuration_is_checked() {
        let mut config = SoakConfig::new("tmio", 50);
        assert_eq!(config.per_session_bytes_per_sec(), 50_000);
        assert!(config.validate().is_ok());
        config.duration = Duration::from_secs(100);
        assert!(config.validate().is_err());
        config.sessions = 0;
        assert!(config.validate().is_err());
    }
}
