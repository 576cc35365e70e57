//! Helpers shared by the `path_*` tests: one end of a two-way transfer each (caller and
//! listener, so each can run in its own network namespace), hashing what they receive as it
//! arrives, and a printable summary of a run.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tmio_transport::{
    srt::{ConnectMode, SrtConfig, SrtListener, SrtStream},
    Stats,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Seed of the caller → listener bytes.
pub const UP_SEED: u64 = 0x75_70;
/// Seed of the listener → caller bytes.
pub const DOWN_SEED: u64 = 0x64_6f_77_6e;
const CHUNK: usize = 64 * 1024;

/// A deterministic byte stream generated chunk by chunk (no need to hold megabytes).
pub struct SeededBytes {
    rng: rand::rngs::StdRng,
    left: usize,
}

impl SeededBytes {
    pub fn new(len: usize, seed: u64) -> Self {
        Self {
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            left: len,
        }
    }

    /// The next chunk (empty at the end).
    pub fn next_chunk(&mut self, buf: &mut Vec<u8>) {
        let take = self.left.min(CHUNK);
        buf.resize(take, 0);
        self.rng.fill_bytes(buf);
        self.left -= take;
    }
}

/// sha256 of what `SeededBytes::new(len, seed)` yields.
pub fn expected_digest(len: usize, seed: u64) -> [u8; 32] {
    let mut bytes = SeededBytes::new(len, seed);
    let mut hasher = Sha256::new();
    let mut buf = Vec::new();
    loop {
        bytes.next_chunk(&mut buf);
        if buf.is_empty() {
            return hasher.finalize().into();
        }
        hasher.update(&buf);
    }
}

/// What one end saw.
#[derive(Debug, Clone)]
pub struct EndReport {
    /// Bytes read from the peer.
    pub received: u64,
    /// Their sha256, in the order read.
    pub digest: [u8; 32],
    /// From connect/accept until the end's work finished.
    pub elapsed: Duration,
    /// The end's statistics at that moment.
    pub stats: Stats,
}

async fn write_seeded<W: AsyncWrite + Unpin>(writer: &mut W, len: usize, seed: u64) {
    let mut bytes = SeededBytes::new(len, seed);
    let mut buf = Vec::new();
    loop {
        bytes.next_chunk(&mut buf);
        if buf.is_empty() {
            return;
        }
        writer.write_all(&buf).await.unwrap();
    }
}

/// Reads until `limit` bytes arrived (or end of stream when `limit` is `None`), hashing them and
/// adding each read to `progress`.
async fn read_hashed<R: AsyncRead + Unpin>(
    reader: &mut R,
    limit: Option<u64>,
    progress: &AtomicU64,
) -> (u64, [u8; 32]) {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let want = match limit {
            Some(limit) if total >= limit => break,
            Some(limit) => ((limit - total) as usize).min(CHUNK),
            None => CHUNK,
        };
        let n = reader.read(&mut buf[..want]).await.unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
        progress.fetch_add(n as u64, Ordering::Relaxed);
    }
    (total, hasher.finalize().into())
}

/// Listener end: accepts one caller, sends it `down` seeded bytes while reading the caller's
/// bytes to the end of the stream (the caller closes once it has everything).
pub async fn serve(mut listener: SrtListener, down: usize, progress: Arc<AtomicU64>) -> EndReport {
    let stream = listener.accept().await.unwrap();
    let start = Instant::now();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let send = tokio::spawn(async move {
        write_seeded(&mut writer, down, DOWN_SEED).await;
        writer
    });
    let (received, digest) = read_hashed(&mut reader, None, &progress).await;
    let writer = send.await.unwrap();
    let stream = reader.unsplit(writer);
    EndReport {
        received,
        digest,
        elapsed: start.elapsed(),
        stats: stream.stats(),
    }
}

/// Caller end: sends `up` seeded bytes while reading the listener's `down` bytes, then closes
/// gracefully (which waits until the listener acknowledged everything).
pub async fn call(remote: SocketAddr, config: SrtConfig, up: usize, down: usize) -> EndReport {
    call_then_close(remote, config, up, down, || {}).await
}

/// [`call`], running `before_close` once both directions are complete and acknowledged, just
/// before the close (the tests use it to clear the impairment: the Shutdown packets are not retransmitted,
/// see `path_relay_impairments::shutdown_lost_in_a_short_outage_*`).
pub async fn call_then_close(
    remote: SocketAddr,
    config: SrtConfig,
    up: usize,
    down: usize,
    before_close: impl FnOnce(),
) -> EndReport {
    let stream = SrtStream::connect(remote, ConnectMode::Caller, &config)
        .await
        .unwrap();
    let start = Instant::now();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let receive = tokio::spawn(async move {
        let progress = AtomicU64::new(0);
        let result = read_hashed(&mut reader, Some(down as u64), &progress).await;
        (reader, result)
    });
    write_seeded(&mut writer, up, UP_SEED).await;
    let (reader, (received, digest)) = receive.await.unwrap();
    let mut stream = reader.unsplit(writer);
    // The hook must not cut the data phase short: wait until everything was acknowledged.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stats = stream.stats();
        if stats.send_buffer_bytes == 0 && stats.bytes_in_flight == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "data never acknowledged: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    before_close();
    stream.shutdown().await.unwrap();
    EndReport {
        received,
        digest,
        elapsed: start.elapsed(),
        stats: stream.stats(),
    }
}

/// Checks both directions against the seeded streams and prints one line of figures.
pub fn check_and_print(
    case: &str,
    up: usize,
    down: usize,
    caller: &EndReport,
    listener: &EndReport,
) {
    assert_eq!(
        listener.received, up as u64,
        "{case}: caller → listener bytes"
    );
    assert_eq!(
        listener.digest,
        expected_digest(up, UP_SEED),
        "{case}: caller → listener sha256"
    );
    assert_eq!(
        caller.received, down as u64,
        "{case}: listener → caller bytes"
    );
    assert_eq!(
        caller.digest,
        expected_digest(down, DOWN_SEED),
        "{case}: listener → caller sha256"
    );
    let seconds = listener.elapsed.as_secs_f64().max(1e-6);
    let sent = caller.stats.packets_sent.max(1);
    eprintln!(
        "{case}: {:.2} MB up in {:.2} s = {:.2} MB/s goodput; caller sent {} packets, {} retransmitted ({:.1} %), {} NAKs received, {} timeouts, RTT {:.1} ms; listener retransmitted {} of {}",
        up as f64 / 1e6,
        seconds,
        up as f64 / 1e6 / seconds,
        caller.stats.packets_sent,
        caller.stats.packets_retransmitted,
        100.0 * caller.stats.packets_retransmitted as f64 / sent as f64,
        caller.stats.naks_received,
        caller.stats.retransmission_timeouts,
        caller.stats.rtt_ms,
        listener.stats.packets_retransmitted,
        listener.stats.packets_sent,
    );
    eprintln!(
        "{case}: listener → caller: {} NAKs received, {} timeouts; caller got {} duplicates, reorder tolerance {:.1} ms; caller → listener: listener got {} duplicates, reorder tolerance {:.1} ms",
        listener.stats.naks_received,
        listener.stats.retransmission_timeouts,
        caller.stats.packets_duplicate,
        caller.stats.reorder_tolerance_ms,
        listener.stats.packets_duplicate,
        listener.stats.reorder_tolerance_ms,
    );
}
