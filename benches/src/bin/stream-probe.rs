//! Load generator, sink and latency probe for the stream benchmarks (`benches/latency.sh`,
//! `benches/lossy.sh`, `benches/sessions.sh`), plus a plain TCP relay as the baseline.
//!
//! ```text
//! stream-probe push  (connect=ADDR[,ADDR...] | stdout) mbps=M seconds=S [bytes=B] [first-session=K]
//! stream-probe sink  (listen=ADDR | stdin) sessions=N timeout=S [cdf=FILE]
//! stream-probe relay listen=ADDR to=ADDR
//! stream-probe tcp-to-stdout listen=ADDR     # one TCP connection in, its bytes on stdout
//! stream-probe stdin-to-tcp connect=ADDR     # stdin's bytes out over one TCP connection
//! ```
//!
//! The last two put TCP ends on programs that only stream through stdin/stdout (libsrt's
//! `srt-file-transmit` in `benches/sessions.sh`); `tcp-to-stdout` prints its `listening` line
//! on stderr.
//!
//! The pusher writes one stream per address (session i to the i-th address): records of
//! [`RECORD`] bytes, evenly spaced at M Mbit/s (each session's schedule offset by a fraction of a
//! spacing so the sessions do not write in lock step), for S seconds (or B bytes per session,
//! rounded up to whole records, when that comes first), then closes; a rate far above what the
//! path carries makes it a bulk push held back only by backpressure. A record is
//! session id (u32), magic (u32), sequence number (u64), the wall-clock time at the write (u64
//! nanoseconds since the Unix epoch: pusher and sink run on one machine, one clock) and a filler
//! that is a function of session and sequence. The tokio timer has a 1 ms grain: the records due
//! in one millisecond leave together. A pusher held back by backpressure falls behind its
//! schedule: it catches up at once and reports its largest lag.
//!
//! The sink takes N connections (or stdin), checks every record (magic, session, consecutive
//! sequence numbers, filler), measures latency = arrival of the record's last byte − its
//! timestamp, and hashes each stream. Both sides print one line per session with its byte count
//! and sha256, which the scripts compare; the sink prints the latency percentiles over all
//! records and writes the latency distribution (percentile, milliseconds) to `cdf=FILE`.
//!
//! Bounded: the pusher stops after S seconds of schedule (and gives up on a session whose writes
//! stall for S + 30 s); the sink exits after `timeout` seconds with what it has.
use std::{
    fmt::Write as _,
    net::SocketAddr,
    process::ExitCode,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Bytes per write: seven MPEG-TS packets, the usual SRT live payload.
const RECORD: usize = 1316;
const MAGIC: u32 = 0x746d_696f; // "tmio"
const HEADER: usize = 24;

fn usage() -> ExitCode {
    eprintln!(
        "usage: stream-probe push (connect=ADDR[,ADDR...]|stdout) mbps=M seconds=S [bytes=B] [first-session=K]\n\
         \x20      stream-probe sink (listen=ADDR|stdin) sessions=N timeout=S [cdf=FILE]\n\
         \x20      stream-probe relay listen=ADDR to=ADDR\n\
         \x20      stream-probe tcp-to-stdout listen=ADDR | stdin-to-tcp connect=ADDR"
    );
    ExitCode::from(2)
}

/// `key=value` arguments.
struct Args(Vec<(String, String)>);

impl Args {
    fn parse(raw: &[String]) -> Result<Args, String> {
        raw.iter()
            .map(|a| match a.split_once('=') {
                Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
                None => Ok((a.clone(), String::new())),
            })
            .collect::<Result<Vec<_>, String>>()
            .map(Args)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn number<T: std::str::FromStr>(&self, key: &str, default: Option<T>) -> Result<T, String> {
        match (self.get(key), default) {
            (Some(v), _) => v
                .parse()
                .map_err(|_| format!("{key}={v}: not a number of the right kind")),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(format!("{key}= is required")),
        }
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn filler_byte(session: u32, seq: u64, index: usize) -> u8 {
    (seq.wrapping_mul(31) ^ u64::from(session).wrapping_mul(17)).wrapping_add(index as u64) as u8
}

fn fill_record(record: &mut [u8; RECORD], session: u32, seq: u64) {
    record[0..4].copy_from_slice(&session.to_be_bytes());
    record[4..8].copy_from_slice(&MAGIC.to_be_bytes());
    record[8..16].copy_from_slice(&seq.to_be_bytes());
    for (i, byte) in record[HEADER..].iter_mut().enumerate() {
        *byte = filler_byte(session, seq, i);
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What one pushed session did.
struct PushReport {
    session: u32,
    bytes: u64,
    sha256: String,
    max_lag: Duration,
    error: Option<String>,
}

async fn push_one<W: AsyncWrite + Unpin>(
    mut out: W,
    session: u32,
    spacing: Duration,
    offset: Duration,
    run: Duration,
    max_records: u64,
) -> PushReport {
    let mut hasher = Sha256::new();
    let mut record = [0u8; RECORD];
    let mut bytes = 0u64;
    let mut max_lag = Duration::ZERO;
    let mut error = None;
    let start = tokio::time::Instant::now() + offset;
    let total = ((run.as_secs_f64() / spacing.as_secs_f64()).ceil() as u64).min(max_records);
    let stall_limit = run + Duration::from_secs(30);
    let mut seq = 0u64;
    'schedule: while seq < total {
        let due = start + spacing.mul_f64(seq as f64);
        tokio::time::sleep_until(due).await;
        let now = tokio::time::Instant::now();
        max_lag = max_lag.max(now.saturating_duration_since(due));
        // Every record due by now leaves now.
        while seq < total && start + spacing.mul_f64(seq as f64) <= now {
            fill_record(&mut record, session, seq);
            record[16..24].copy_from_slice(&unix_nanos().to_be_bytes());
            match tokio::time::timeout(stall_limit, out.write_all(&record)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    error = Some(format!("write: {e}"));
                    break 'schedule;
                }
                Err(_) => {
                    error = Some(format!("write stalled for {stall_limit:?}"));
                    break 'schedule;
                }
            }
            hasher.update(record);
            bytes += RECORD as u64;
            seq += 1;
        }
    }
    if error.is_none() {
        if let Err(e) = out.shutdown().await {
            error = Some(format!("shutdown: {e}"));
        }
    }
    PushReport {
        session,
        bytes,
        sha256: hex(&hasher.finalize()),
        max_lag,
        error,
    }
}

async fn push(args: &Args) -> Result<bool, String> {
    let mbps: f64 = args.number("mbps", None)?;
    let seconds: f64 = args.number("seconds", None)?;
    let first: u32 = args.number("first-session", Some(0))?;
    let max_bytes: u64 = args.number("bytes", Some(u64::MAX))?;
    let max_records = max_bytes.div_ceil(RECORD as u64);
    if !(mbps > 0.0 && seconds > 0.0 && seconds < 86_400.0) {
        return Err(format!("mbps={mbps} seconds={seconds}: out of range"));
    }
    let spacing = Duration::from_secs_f64(RECORD as f64 * 8.0 / (mbps * 1e6));
    let run = Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    if args.has("stdout") {
        tasks.push(tokio::spawn(push_one(
            tokio::io::stdout(),
            first,
            spacing,
            Duration::ZERO,
            run,
            max_records,
        )));
    } else {
        let targets = args
            .get("connect")
            .ok_or("connect= or stdout is required")?;
        let addrs = targets
            .split(',')
            .map(|a| a.parse::<SocketAddr>().map_err(|e| format!("{a}: {e}")))
            .collect::<Result<Vec<_>, String>>()?;
        let count = addrs.len() as u32;
        // Connect every session first, then start the schedules together.
        let mut streams = Vec::new();
        for addr in &addrs {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect {addr}: {e}"))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            streams.push(stream);
        }
        for (i, stream) in streams.into_iter().enumerate() {
            let offset = spacing.mul_f64(i as f64 / f64::from(count.max(1)));
            tasks.push(tokio::spawn(push_one(
                stream,
                first + i as u32,
                spacing,
                offset,
                run,
                max_records,
            )));
        }
    }
    let mut all_ok = true;
    for task in tasks {
        let report = task.await.map_err(|e| format!("push task: {e}"))?;
        all_ok &= report.error.is_none();
        eprintln!(
            "push session={} bytes={} sha256={} max_lag_ms={:.3} error={}",
            report.session,
            report.bytes,
            report.sha256,
            report.max_lag.as_secs_f64() * 1e3,
            report.error.as_deref().unwrap_or("none")
        );
    }
    Ok(all_ok)
}

/// What the sink saw of one stream.
#[derive(Default)]
struct SinkReport {
    session: Option<u32>,
    bytes: u64,
    sha256: String,
    bad_records: u64,
    latencies_us: Vec<u32>,
    error: Option<String>,
}

async fn sink_one<R: AsyncRead + Unpin>(
    mut input: R,
    deadline: tokio::time::Instant,
) -> SinkReport {
    let mut report = SinkReport::default();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut pending: Vec<u8> = Vec::with_capacity(RECORD * 2);
    let mut next_seq = 0u64;
    loop {
        let n = match tokio::time::timeout_at(deadline, input.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                report.error = Some(format!("read: {e}"));
                break;
            }
            Err(_) => {
                report.error = Some("timeout".into());
                break;
            }
        };
        let arrived = unix_nanos();
        hasher.update(&buf[..n]);
        report.bytes += n as u64;
        pending.extend_from_slice(&buf[..n]);
        let whole = pending.len() / RECORD * RECORD;
        for record in pending[..whole].chunks_exact(RECORD) {
            let word = |r: std::ops::Range<usize>| {
                record[r]
                    .iter()
                    .fold(0u64, |acc, b| acc << 8 | u64::from(*b))
            };
            let session = word(0..4) as u32;
            let magic = word(4..8) as u32;
            let seq = word(8..16);
            let stamp = word(16..24);
            let session_ok = *report.session.get_or_insert(session) == session;
            let filler_ok = record[HEADER..]
                .iter()
                .enumerate()
                .all(|(i, b)| *b == filler_byte(session, seq, i));
            if magic != MAGIC || !session_ok || seq != next_seq || !filler_ok {
                report.bad_records += 1;
            }
            next_seq = seq.wrapping_add(1);
            let latency_us = arrived.saturating_sub(stamp) / 1000;
            report
                .latencies_us
                .push(u32::try_from(latency_us).unwrap_or(u32::MAX));
        }
        pending.drain(..whole);
    }
    if !pending.is_empty() {
        report.bad_records += 1; // a partial record at the end
    }
    report.sha256 = hex(&hasher.finalize());
    report
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)]) / 1e3
}

async fn sink(args: &Args) -> Result<bool, String> {
    let sessions: usize = args.number("sessions", Some(1))?;
    let timeout: f64 = args.number("timeout", None)?;
    if !(timeout > 0.0 && timeout < 86_400.0) || sessions == 0 || sessions > 10_000 {
        return Err(format!(
            "sessions={sessions} timeout={timeout}: out of range"
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(timeout);
    let mut tasks = Vec::new();
    if args.has("stdin") {
        println!("listening stdin");
        tasks.push(tokio::spawn(sink_one(tokio::io::stdin(), deadline)));
    } else {
        let addr = args.get("listen").ok_or("listen= or stdin is required")?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("bind {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening {local}");
        while tasks.len() < sessions {
            match tokio::time::timeout_at(deadline, listener.accept()).await {
                Ok(Ok((stream, _))) => {
                    let _ = stream.set_nodelay(true);
                    tasks.push(tokio::spawn(sink_one(stream, deadline)));
                }
                Ok(Err(e)) => eprintln!("sink: accept: {e}"),
                Err(_) => break,
            }
        }
    }
    let accepted = tasks.len();
    let mut all = Vec::new();
    let mut ok = accepted == sessions;
    let mut total_bytes = 0u64;
    let mut reports = Vec::new();
    for task in tasks {
        let mut report = task.await.map_err(|e| format!("sink task: {e}"))?;
        all.append(&mut report.latencies_us);
        reports.push(report);
    }
    reports.sort_by_key(|r| r.session);
    for report in &reports {
        ok &= report.bad_records == 0 && report.error.is_none();
        total_bytes += report.bytes;
        eprintln!(
            "sink session={} bytes={} sha256={} bad_records={} error={}",
            report
                .session
                .map_or_else(|| "none".to_owned(), |s| s.to_string()),
            report.bytes,
            report.sha256,
            report.bad_records,
            report.error.as_deref().unwrap_or("none")
        );
    }
    all.sort_unstable();
    println!(
        "sink sessions={accepted}/{sessions} bytes={total_bytes} records={} latency_ms p50={:.3} p99={:.3} max={:.3}",
        all.len(),
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0)
    );
    if let Some(path) = args.get("cdf") {
        let mut text = String::from("# percentile latency_ms\n");
        let mut p = 0.0f64;
        while p <= 100.0 + 1e-9 {
            let _ = writeln!(text, "{p:.2} {:.4}", percentile(&all, p));
            p += if p < 90.0 { 1.0 } else { 0.1 };
        }
        std::fs::write(path, text).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(ok)
}

async fn relay(args: &Args) -> Result<bool, String> {
    let listen = args.get("listen").ok_or("listen= is required")?;
    let to = args.get("to").ok_or("to= is required")?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("bind {listen}: {e}"))?;
    println!(
        "listening {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (mut inbound, _) = listener.accept().await.map_err(|e| e.to_string())?;
    let mut outbound = TcpStream::connect(to)
        .await
        .map_err(|e| format!("connect {to}: {e}"))?;
    inbound.set_nodelay(true).map_err(|e| e.to_string())?;
    outbound.set_nodelay(true).map_err(|e| e.to_string())?;
    let (up, down) = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
        .await
        .map_err(|e| format!("relay: {e}"))?;
    eprintln!("relay bytes_up={up} bytes_down={down}");
    Ok(true)
}

async fn tcp_to_stdout(args: &Args) -> Result<bool, String> {
    let listen = args.get("listen").ok_or("listen= is required")?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("bind {listen}: {e}"))?;
    eprintln!(
        "listening {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (mut inbound, _) = listener.accept().await.map_err(|e| e.to_string())?;
    let mut out = tokio::io::stdout();
    tokio::io::copy(&mut inbound, &mut out)
        .await
        .map_err(|e| format!("copy: {e}"))?;
    out.flush().await.map_err(|e| format!("flush: {e}"))?;
    Ok(true)
}

async fn stdin_to_tcp(args: &Args) -> Result<bool, String> {
    let to = args.get("connect").ok_or("connect= is required")?;
    let mut outbound = TcpStream::connect(to)
        .await
        .map_err(|e| format!("connect {to}: {e}"))?;
    outbound.set_nodelay(true).map_err(|e| e.to_string())?;
    tokio::io::copy(&mut tokio::io::stdin(), &mut outbound)
        .await
        .map_err(|e| format!("copy: {e}"))?;
    outbound
        .shutdown()
        .await
        .map_err(|e| format!("shutdown: {e}"))?;
    Ok(true)
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = raw.split_first() else {
        return usage();
    };
    let args = match Args::parse(rest) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("stream-probe: {e}");
            return usage();
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stream-probe: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let result = runtime.block_on(async {
        match mode.as_str() {
            "push" => push(&args).await,
            "sink" => sink(&args).await,
            "relay" => relay(&args).await,
            "tcp-to-stdout" => tcp_to_stdout(&args).await,
            "stdin-to-tcp" => stdin_to_tcp(&args).await,
            _ => Err(format!("unknown mode {mode}")),
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "stream-probe {mode}: finished with errors after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("stream-probe {mode}: {e}");
            ExitCode::from(2)
        }
    }
}
