//! Interoperability with real libsrt (Debian's `srt-live-transmit`, installed by
//! `scripts/install-deps.sh`): tmio caller → libsrt listener and libsrt caller → tmio listener,
//! plain, AES-128 and AES-256, with a stream id, at a paced rate and in unpaced bursts; payload
//! checked by sha256. A wrong passphrase is rejected on both sides with a clear error.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    net::{SocketAddr, UdpSocket},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tmio_transport::srt::RateControl;

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tmio_transport::{
    srt::{ConnectMode, SrtConfig, SrtListener, SrtStream},
    Error,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOOL: &str = "srt-live-transmit";

fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

fn require_tool() {
    let found = Command::new(TOOL)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "{TOOL} is missing: run scripts/install-deps.sh (Debian package srt-tools)"
    );
}

/// A libsrt process killed when dropped.
struct Peer {
    child: Child,
    stderr_path: PathBuf,
}

impl Peer {
    fn spawn(args: &[String], stdin: Stdio, stdout: Stdio, name: &str) -> Peer {
        let stderr_path =
            std::env::temp_dir().join(format!("tmio-interop-{}-{name}.stderr", std::process::id()));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let child = Command::new(TOOL)
            .args(args)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        Peer { child, stderr_path }
    }

    /// Waits (bounded) for the process to exit by itself.
    fn wait(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}

fn wait_for_udp_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let hex = format!(":{port:04X} ");
    while Instant::now() < deadline {
        let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default()
            + &std::fs::read_to_string("/proc/net/udp6").unwrap_or_default();
        if table.lines().any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| (a.to_string() + " ").ends_with(&hex))
        }) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing bound UDP port {port} within 5 s");
}

fn crypto_query(passphrase: Option<&str>, key_length: u8) -> String {
    match passphrase {
        Some(p) => format!("&passphrase={p}&pbkeylen={key_length}"),
        None => String::new(),
    }
}

/// tmio caller → srt-live-transmit listener writing to a file.
async fn tmio_to_libsrt(
    len: usize,
    passphrase: Option<&str>,
    key_length: u8,
    rate_control: RateControl,
) {
    tmio_to_libsrt_with(len, passphrase, key_length, rate_control, None).await;
}

/// [`tmio_to_libsrt`]; with `key_refresh` (packets per key, pre-announcement) tmio's sender
/// replaces its key that often, and the data is written 20 packets every 5 ms, so that libsrt's
/// answer to each announcement is back before the switch (a packet is encrypted when written).
async fn tmio_to_libsrt_with(
    len: usize,
    passphrase: Option<&str>,
    key_length: u8,
    rate_control: RateControl,
    key_refresh: Option<(u32, u32)>,
) {
    require_tool();
    let port = free_udp_port();
    let out_path =
        std::env::temp_dir().join(format!("tmio-interop-{}-{port}.out", std::process::id()));
    let out = std::fs::File::create(&out_path).unwrap();
    let uri = format!(
        "srt://127.0.0.1:{port}?mode=listener&latency=200&rcvbuf=100000000{}",
        crypto_query(passphrase, key_length)
    );
    let mut peer = Peer::spawn(
        &[
            "-a".into(),
            "no".into(),
            "-q".into(),
            uri,
            "file://con".into(),
        ],
        Stdio::null(),
        Stdio::from(out),
        "listener",
    );
    wait_for_udp_port(port);
    let config = SrtConfig {
        passphrase: passphrase.map(str::to_owned),
        key_length,
        stream_id: Some("#!::r=live/interop,m=publish".into()),
        rate_control,
        key_refresh_packets: key_refresh.map_or(1 << 25, |(packets, _)| packets),
        key_pre_announce_packets: key_refresh.map_or(4000, |(_, ahead)| ahead),
        ..SrtConfig::default()
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut stream = SrtStream::connect(addr, ConnectMode::Caller, &config)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "connect to libsrt failed: {e}\nlibsrt said: {}",
                peer.stderr()
            )
        });
    let data = payload(len, 7);
    if key_refresh.is_some() {
        for chunk in data.chunks(20 * config.payload_size) {
            stream.write_all(chunk).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    } else {
        stream.write_all(&data).await.unwrap();
    }
    stream.shutdown().await.unwrap();
    let stats = stream.stats();
    assert!(
        peer.wait(Duration::from_secs(10)),
        "libsrt did not exit after the close; stderr: {}",
        peer.stderr()
    );
    let got = std::fs::read(&out_path).unwrap();
    let _ = std::fs::remove_file(&out_path);
    if let Some(first) = got.iter().zip(&data).position(|(a, b)| a != b) {
        panic!(
            "libsrt received different bytes from byte {first} on ({} bytes received)",
            got.len()
        );
    }
    assert_eq!(
        got.len(),
        data.len(),
        "libsrt received {} of {} bytes; tmio stats: {stats:?}; libsrt stderr: {}",
        got.len(),
        data.len(),
        peer.stderr()
    );
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data));
}

/// srt-live-transmit caller reading a file → tmio listener.
async fn libsrt_to_tmio(len: usize, passphrase: Option<&str>, key_length: u8) {
    libsrt_to_tmio_with(len, passphrase, key_length, "").await;
}

/// [`libsrt_to_tmio`] with more URI options for libsrt's caller.
async fn libsrt_to_tmio_with(len: usize, passphrase: Option<&str>, key_length: u8, more: &str) {
    require_tool();
    let config = SrtConfig {
        passphrase: passphrase.map(str::to_owned),
        key_length,
        rate_control: RateControl::UNCAPPED,
        ..SrtConfig::default()
    };
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let port = listener.local_addr().port();
    let len = len / 1316 * 1316;
    let data = payload(len, 11);
    let uri = format!(
        "srt://127.0.0.1:{port}?mode=caller&latency=200&linger=10&streamid=#!::r=live/interop,m=publish{}{more}",
        crypto_query(passphrase, key_length)
    );
    // libsrt polls its input, so stdin must be a pipe (a regular file cannot be polled).
    let mut peer = Peer::spawn(
        &[
            "-a".into(),
            "no".into(),
            "-q".into(),
            "-c".into(),
            "1316".into(),
            "file://con".into(),
            uri,
        ],
        Stdio::piped(),
        Stdio::null(),
        "caller",
    );
    let mut stdin = peer.child.stdin.take().unwrap();
    let feed = data.clone();
    let connected = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let feeder_connected = connected.clone();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    // srt-live-transmit is a live source: it connects once input arrives and discards what it
    // read before the connection was up. So it is fed zero-filled 1316-byte chunks until one has
    // reached tmio, then the payload at a live rate (16 Mbit/s: libsrt itself drops what a live
    // sender cannot send in time), then zero filler, which also pushes the payload's tail out of
    // its C++ input buffer. The input stays open until the test has read everything.
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let preamble_until = Instant::now() + Duration::from_secs(10);
        while !feeder_connected.load(std::sync::atomic::Ordering::Acquire)
            && Instant::now() < preamble_until
        {
            if stdin.write_all(&[0u8; 1316]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        for (i, chunk) in feed.chunks(20 * 1316).enumerate() {
            let due = started + Duration::from_millis(13 * i as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if stdin.write_all(chunk).is_err() {
                return;
            }
        }
        let _ = stdin.write_all(&vec![0u8; 128 * 1316]);
        let _ = stdin.flush();
        let _ = done_rx.recv_timeout(Duration::from_secs(60));
    });
    let request = tokio::time::timeout(Duration::from_secs(10), listener.next_request())
        .await
        .unwrap_or_else(|_| panic!("no request from libsrt; stderr: {}", peer.stderr()))
        .unwrap();
    assert_eq!(request.stream_id(), Some("#!::r=live/interop,m=publish"));
    let mut stream = request.accept(None).await.unwrap();
    let receive = async {
        // Skip the zero preamble (random payload chunks are never all zero). The payload starts
        // once a preamble chunk has crossed: then libsrt's side is connected too.
        let mut chunk = vec![0u8; 1316];
        let mut skipped = 0;
        loop {
            stream.read_exact(&mut chunk).await?;
            connected.store(true, std::sync::atomic::Ordering::Release);
            if chunk.iter().any(|&b| b != 0) {
                break;
            }
            skipped += 1;
            assert!(skipped < 2000, "no payload after 2000 preamble chunks");
        }
        let mut got = chunk;
        got.resize(len, 0);
        stream.read_exact(&mut got[1316..]).await?;
        Ok::<_, std::io::Error>(got)
    };
    let read = tokio::time::timeout(Duration::from_secs(30), receive).await;
    let _ = done_tx.send(());
    let _ = feeder.join();
    assert!(
        read.is_ok(),
        "libsrt → tmio did not finish: {} bytes delivered; tmio stats {:?}; libsrt stderr {}",
        stream.stats().bytes_delivered,
        stream.stats(),
        peer.stderr()
    );
    let got = read.unwrap().unwrap();
    if let Some(first) = got.iter().zip(&data).position(|(a, b)| a != b) {
        let found_at = data.windows(16).position(|w| w == &got[first..first + 16]);
        panic!(
            "content differs from byte {first} (packet {}; that content is at {found_at:?} of the sent data); stats {:?}",
            first / 1316,
            stream.stats()
        );
    }
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_caller_to_libsrt_plain_paced() {
    tmio_to_libsrt(
        2 << 20,
        None,
        0,
        RateControl::Fixed {
            bytes_per_second: 2_500_000,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_caller_to_libsrt_adaptive_under_the_presets_cap() {
    tmio_to_libsrt(
        8 << 20,
        None,
        0,
        RateControl::Adaptive {
            cap: Some(tmio_transport::srt::DEFAULT_RATE_CAP),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_caller_to_libsrt_unpaced_burst() {
    tmio_to_libsrt(16 << 20, None, 0, RateControl::UNCAPPED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_caller_to_libsrt_aes128() {
    tmio_to_libsrt(
        4 << 20,
        Some("interop-passphrase-128"),
        16,
        RateControl::UNCAPPED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_caller_to_libsrt_aes192() {
    tmio_to_libsrt(
        4 << 20,
        Some("interop-passphrase-192"),
        24,
        RateControl::UNCAPPED,
    )
    .await;
}

/// tmio's sender replaces its key every 1000 packets (announced 200 ahead): libsrt takes each
/// announcement and decrypts across the switches (4 MiB = ~3200 packets of 1316 bytes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_caller_refreshing_its_key_to_libsrt() {
    tmio_to_libsrt_with(
        4 << 20,
        Some("interop-passphrase-refresh"),
        16,
        RateControl::UNCAPPED,
        Some((1000, 200)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_caller_to_libsrt_aes256() {
    tmio_to_libsrt(
        4 << 20,
        Some("interop-passphrase-256"),
        32,
        RateControl::UNCAPPED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libsrt_caller_to_tmio_plain() {
    libsrt_to_tmio(8 << 20, None, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libsrt_caller_to_tmio_aes128() {
    libsrt_to_tmio(4 << 20, Some("interop-passphrase-128"), 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libsrt_caller_to_tmio_aes192() {
    libsrt_to_tmio(4 << 20, Some("interop-passphrase-192"), 24).await;
}

/// libsrt's sender replaces its key every 1000 packets (announced 200 ahead): tmio's receiver
/// takes each announcement, answers it, and decrypts across the switches (4 MiB = ~3200 packets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libsrt_caller_refreshing_its_key_to_tmio() {
    libsrt_to_tmio_with(
        4 << 20,
        Some("interop-passphrase-refresh"),
        16,
        "&kmrefreshrate=1000&kmpreannounce=200",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libsrt_caller_to_tmio_aes256() {
    libsrt_to_tmio(4 << 20, Some("interop-passphrase-256"), 32).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passphrase_tmio_caller_is_rejected_by_libsrt() {
    require_tool();
    let port = free_udp_port();
    let uri = format!("srt://127.0.0.1:{port}?mode=listener&passphrase=the-right-passphrase");
    let _peer = Peer::spawn(
        &["-a".into(), "no".into(), uri, "file://con".into()],
        Stdio::null(),
        Stdio::null(),
        "badsecret-listener",
    );
    wait_for_udp_port(port);
    let config = SrtConfig {
        passphrase: Some("a-wrong-passphrase".into()),
        connect_timeout: Duration::from_secs(3),
        ..SrtConfig::default()
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let err = SrtStream::connect(addr, ConnectMode::Caller, &config)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected { code: 1010, .. }), "{err}");
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passphrase_libsrt_caller_is_rejected_by_tmio() {
    require_tool();
    let config = SrtConfig {
        passphrase: Some("the-right-passphrase".into()),
        ..SrtConfig::default()
    };
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let port = listener.local_addr().port();
    let uri = format!("srt://127.0.0.1:{port}?mode=caller&passphrase=a-wrong-passphrase");
    let mut peer = Peer::spawn(
        &["-a".into(), "no".into(), "file://con".into(), uri],
        Stdio::piped(),
        Stdio::null(),
        "badsecret-caller",
    );
    // srt-live-transmit connects its output once input arrives.
    let mut stdin = peer.child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        for _ in 0..300 {
            if stdin.write_all(&[0u8; 1316]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    // The listener checks the key against its passphrase before the application sees the
    // caller: no request ever arrives (so a gateway opens nothing upstream for it).
    let request = tokio::time::timeout(Duration::from_secs(4), listener.next_request()).await;
    assert!(
        request.is_err(),
        "a caller with a wrong key reached the application"
    );
    // libsrt reports the rejection on stderr (it may keep its process alive while its input
    // stays open, so the test waits for the words, not for an exit).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut said = peer.stderr();
    while !said.to_lowercase().contains("reject") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        said = peer.stderr();
    }
    let _ = feeder.join();
    assert!(
        said.to_lowercase().contains("reject"),
        "libsrt said: {said}"
    );
}
