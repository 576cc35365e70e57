//! One side of a bulk transfer over SRT on loopback, for the side-by-side peer benchmark
//! (`benches/peers.sh`): tmio's transport or srt-tokio, sender or receiver; and srt-tokio as
//! the two tunnels of the full chain (`benches/chain.sh`), TCP → SRT → TCP.
//!
//! ```text
//! srt-bulk tmio recv PORT OUT                  # listen, write what arrives to OUT until the end
//! srt-bulk tmio send PORT FILE [MBPS]          # call, send FILE, close gracefully
//! srt-bulk srt-tokio recv PORT OUT [BYTES]     # srt-tokio listener; stops at BYTES or 2 s idle
//! srt-bulk srt-tokio send PORT FILE MBPS       # srt-tokio caller paced at MBPS (it drops unpaced)
//! srt-bulk srt-tokio tunnel-in TCP_PORT SRT_PORT MBPS [PASSPHRASE]
//!     # accept one TCP connection, call SRT_PORT, carry it both ways, TCP → SRT paced at MBPS
//! srt-bulk srt-tokio tunnel-out SRT_PORT TCP_PORT BYTES [PASSPHRASE]
//!     # listen on SRT_PORT, connect TCP_PORT, carry both ways; close after BYTES or 2 s idle
//! ```
//!
//! Like `srt-file-transmit`, receivers write to a file and senders read theirs in chunks, so the
//! file work is the same for every implementation; the script checks the output's sha256.
//! srt-tokio has no file mode and its close loses the packets still in flight, so its exit
//! tunnel is told how many bytes to expect, as its receiver is; a passphrase means AES-256.
use std::{
    net::SocketAddr,
    process::ExitCode,
    time::{Duration, Instant},
};
use tmio_transport::srt::RateControl;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use std::{fs::File, io::Read, io::Write};
use tmio_transport::srt::{ConnectMode, SrtConfig, SrtListener, SrtStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PAYLOAD: usize = 1456;

fn usage() -> ExitCode {
    eprintln!("usage: srt-bulk (tmio|srt-tokio) (recv PORT OUT [BYTES] | send PORT FILE [MBPS])");
    eprintln!("       srt-bulk srt-tokio tunnel-in TCP_PORT SRT_PORT MBPS [PASSPHRASE]");
    eprintln!("       srt-bulk srt-tokio tunnel-out SRT_PORT TCP_PORT BYTES [PASSPHRASE]");
    ExitCode::from(2)
}

fn tmio_config(mbps: Option<u64>) -> SrtConfig {
    SrtConfig {
        payload_size: PAYLOAD,
        rate_control: mbps.map_or(RateControl::UNCAPPED, |m| RateControl::Fixed {
            bytes_per_second: m * 1_000_000 / 8,
        }),
        send_buffer_bytes: 16 << 20,
        recv_buffer_bytes: 16 << 20,
        connect_timeout: Duration::from_secs(10),
        ..SrtConfig::default()
    }
}

/// Read size for the input file: like srt-file-transmit's loop, but fewer syscalls.
const FILE_CHUNK: usize = 1 << 20;

fn create(out: &str) -> Result<File, String> {
    File::create(out).map_err(|e| format!("{out}: {e}"))
}

fn open(file: &str) -> Result<File, String> {
    File::open(file).map_err(|e| format!("{file}: {e}"))
}

/// Fills `buf` from `file` as far as it goes; 0 at the end of the file.
fn read_chunk(file: &mut File, buf: &mut [u8]) -> Result<usize, String> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading the input: {e}")),
        }
    }
    Ok(filled)
}

async fn tmio_recv(port: u16, out: &str) -> Result<(), String> {
    let mut output = create(out)?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut listener = SrtListener::bind(addr, tmio_config(None))
        .await
        .map_err(|e| e.to_string())?;
    println!("listening {}", listener.local_addr());
    let mut stream = listener.accept().await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        output
            .write_all(&buf[..n])
            .map_err(|e| format!("{out}: {e}"))?;
        total += n as u64;
    }
    report(total, started.elapsed());
    eprintln!("stats: {:?}", stream.stats());
    Ok(())
}

async fn tmio_send(port: u16, file: &str, mbps: Option<u64>) -> Result<(), String> {
    let mut input = open(file)?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut stream = SrtStream::connect(addr, ConnectMode::Caller, &tmio_config(mbps))
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut buf = vec![0u8; FILE_CHUNK];
    let mut total = 0u64;
    loop {
        let n = read_chunk(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        stream
            .write_all(&buf[..n])
            .await
            .map_err(|e| e.to_string())?;
        total += n as u64;
    }
    stream.shutdown().await.map_err(|e| e.to_string())?;
    report(total, started.elapsed());
    Ok(())
}

/// srt-tokio's buffers as large as tmio's and libsrt's (its UDP buffers default to 64 KiB, which
/// loses most of a fast stream on loopback), and its rate cap above the pacing.
fn srt_tokio_builder(mbps: Option<u64>) -> srt_tokio::SrtSocketBuilder {
    use srt_tokio::options::{ByteCount, DataRate, LiveBandwidthMode};
    let builder = srt_tokio::SrtSocket::builder()
        .latency(Duration::from_millis(120))
        .set(|options| {
            options.connect.udp_recv_buffer_size = ByteCount(8 << 20);
            options.connect.udp_send_buffer_size = ByteCount(8 << 20);
            options.sender.buffer_size = ByteCount(16 << 20);
            options.receiver.buffer_size = ByteCount(16 << 20);
        });
    match mbps {
        Some(mbps) => builder.bandwidth(LiveBandwidthMode::Max(DataRate(
            mbps * 1_000_000 / 8 * 5 / 4,
        ))),
        None => builder,
    }
}

/// [`srt_tokio_builder`] with AES-256 when a passphrase is given.
fn srt_tokio_tunnel_builder(
    mbps: Option<u64>,
    passphrase: Option<&str>,
) -> srt_tokio::SrtSocketBuilder {
    let builder = srt_tokio_builder(mbps);
    match passphrase {
        Some(passphrase) => builder.encryption(32, passphrase),
        None => builder,
    }
}

/// Sends `data` on `sink` in packets of at most [`PAYLOAD`] bytes, one every `per_packet` from
/// `*next` on (srt-tokio loses data sent faster than its pacing).
async fn send_paced(
    sink: &mut (impl futures::Sink<(Instant, Bytes), Error = impl std::fmt::Debug> + Unpin),
    data: &[u8],
    per_packet: Duration,
    next: &mut tokio::time::Instant,
) -> Result<(), String> {
    for chunk in data.chunks(PAYLOAD) {
        *next += per_packet;
        if *next > tokio::time::Instant::now() + Duration::from_millis(1) {
            tokio::time::sleep_until(*next).await;
        }
        sink.send((Instant::now(), Bytes::copy_from_slice(chunk)))
            .await
            .map_err(|e| format!("sending on SRT: {e:?}"))?;
    }
    Ok(())
}

/// The entry tunnel: TCP from `tcp_port` → SRT to `srt_port`, and back.
async fn srt_tokio_tunnel_in(
    tcp_port: u16,
    srt_port: u16,
    mbps: u64,
    passphrase: Option<&str>,
) -> Result<(), String> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], tcp_port)))
        .await
        .map_err(|e| format!("listening on TCP port {tcp_port}: {e}"))?;
    let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
    let mut socket = srt_tokio_tunnel_builder(Some(mbps), passphrase)
        .call(SocketAddr::from(([127, 0, 0, 1], srt_port)), None)
        .await
        .map_err(|e| format!("calling SRT port {srt_port}: {e}"))?;
    let (mut tcp_in, mut tcp_out) = tcp.into_split();
    let per_packet = Duration::from_secs_f64(PAYLOAD as f64 * 8.0 / (mbps as f64 * 1e6));
    let mut next = tokio::time::Instant::now();
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    let started = Instant::now();
    {
        let (mut from_srt, mut to_srt) = socket.split_mut();
        loop {
            tokio::select! {
                read = tcp_in.read(&mut buf) => {
                    let n = read.map_err(|e| format!("reading TCP: {e}"))?;
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                    // After a pause of the TCP side, no burst to catch up.
                    next = next.max(tokio::time::Instant::now());
                    send_paced(&mut to_srt, &buf[..n], per_packet, &mut next).await?;
                }
                item = from_srt.next() => match item {
                    Some((_, bytes)) => tcp_out
                        .write_all(&bytes)
                        .await
                        .map_err(|e| format!("writing TCP: {e}"))?,
                    None => break,
                },
            }
        }
    }
    let elapsed = started.elapsed();
    // See srt_tokio_send: the packets in flight need a moment before the close.
    tokio::time::sleep(Duration::from_secs(1)).await;
    socket.close().await.map_err(|e| e.to_string())?;
    report(total, elapsed);
    Ok(())
}

/// The exit tunnel: SRT on `srt_port` → TCP to `tcp_port`, and back; ends after `expect` bytes
/// towards TCP, or 2 s without any, or when either side ends.
async fn srt_tokio_tunnel_out(
    srt_port: u16,
    tcp_port: u16,
    expect: u64,
    passphrase: Option<&str>,
) -> Result<(), String> {
    let mut socket = srt_tokio_tunnel_builder(None, passphrase)
        .listen_on(srt_port)
        .await
        .map_err(|e| format!("listening on SRT port {srt_port}: {e}"))?;
    let tcp = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], tcp_port)))
        .await
        .map_err(|e| format!("connecting TCP port {tcp_port}: {e}"))?;
    let (mut tcp_in, mut tcp_out) = tcp.into_split();
    let mut back = vec![0u8; PAYLOAD];
    let mut total = 0u64;
    let started = Instant::now();
    // Idle means no data from SRT: the bytes coming back from TCP do not count.
    let mut last_data = tokio::time::Instant::now();
    {
        let (mut from_srt, mut to_srt) = socket.split_mut();
        while total < expect {
            tokio::select! {
                item = from_srt.next() => match item {
                    Some((_, bytes)) => {
                        tcp_out
                            .write_all(&bytes)
                            .await
                            .map_err(|e| format!("writing TCP: {e}"))?;
                        total += bytes.len() as u64;
                        last_data = tokio::time::Instant::now();
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(last_data + Duration::from_secs(2)) => break,
                read = tcp_in.read(&mut back) => {
                    let n = read.map_err(|e| format!("reading TCP: {e}"))?;
                    if n == 0 {
                        break;
                    }
                    to_srt
                        .send((Instant::now(), Bytes::copy_from_slice(&back[..n])))
                        .await
                        .map_err(|e| format!("sending on SRT: {e:?}"))?;
                }
            }
        }
    }
    tcp_out.shutdown().await.map_err(|e| e.to_string())?;
    report(total, started.elapsed());
    Ok(())
}

async fn srt_tokio_recv(port: u16, out: &str, expect: Option<u64>) -> Result<(), String> {
    let mut output = create(out)?;
    let mut socket = srt_tokio_builder(None)
        .listen_on(port)
        .await
        .map_err(|e| e.to_string())?;
    let mut started = None;
    let mut last = Instant::now();
    let mut total = 0u64;
    loop {
        match tokio::time::timeout(Duration::from_secs(2), socket.next()).await {
            Ok(Some(Ok((_, bytes)))) => {
                started.get_or_insert_with(Instant::now);
                output
                    .write_all(&bytes)
                    .map_err(|e| format!("{out}: {e}"))?;
                total += bytes.len() as u64;
                last = Instant::now();
                if expect.is_some_and(|expect| total >= expect) {
                    break;
                }
            }
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(None) | Err(_) => break,
        }
    }
    let elapsed = started.map(|s| last - s).unwrap_or_default();
    report(total, elapsed);
    Ok(())
}

async fn srt_tokio_send(port: u16, file: &str, mbps: u64) -> Result<(), String> {
    let mut input = open(file)?;
    let mut socket = srt_tokio_builder(Some(mbps))
        .call(SocketAddr::from(([127, 0, 0, 1], port)), None)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let per_packet = Duration::from_secs_f64(PAYLOAD as f64 * 8.0 / (mbps as f64 * 1e6));
    let mut next = tokio::time::Instant::now();
    let mut buf = vec![0u8; FILE_CHUNK - FILE_CHUNK % PAYLOAD];
    let mut total = 0u64;
    loop {
        let n = read_chunk(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        send_paced(&mut socket, &buf[..n], per_packet, &mut next).await?;
    }
    let elapsed = started.elapsed();
    // srt-tokio's close loses the last packets still in flight (seen: the last 50-70 KB); give
    // them a second first. The script times the transfer by the receiver, which stops at the
    // expected byte count, so this wait is not counted.
    tokio::time::sleep(Duration::from_secs(1)).await;
    socket.close().await.map_err(|e| e.to_string())?;
    report(total, elapsed);
    Ok(())
}

fn report(bytes: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "bytes {bytes} seconds {secs:.3} MBps {:.1}",
        bytes as f64 / secs / 1e6
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("srt-bulk: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = |s: &str| s.parse::<u16>().ok();
    let result = match argv.as_slice() {
        ["tmio", "recv", p, out] => match port(p) {
            Some(p) => runtime.block_on(tmio_recv(p, out)),
            None => return usage(),
        },
        ["tmio", "send", p, file, rest @ ..] => {
            let mbps = rest.first().and_then(|m| m.parse().ok());
            match port(p) {
                Some(p) => runtime.block_on(tmio_send(p, file, mbps)),
                None => return usage(),
            }
        }
        ["srt-tokio", "recv", p, out, rest @ ..] => {
            let expect = rest.first().and_then(|b| b.parse().ok());
            match port(p) {
                Some(p) => runtime.block_on(srt_tokio_recv(p, out, expect)),
                None => return usage(),
            }
        }
        ["srt-tokio", "send", p, file, mbps] => match (port(p), mbps.parse().ok()) {
            (Some(p), Some(m)) => runtime.block_on(srt_tokio_send(p, file, m)),
            _ => return usage(),
        },
        ["srt-tokio", "tunnel-in", tcp, srt, mbps, rest @ ..] if rest.len() <= 1 => {
            match (port(tcp), port(srt), mbps.parse().ok()) {
                (Some(tcp), Some(srt), Some(m)) if m > 0 => {
                    runtime.block_on(srt_tokio_tunnel_in(tcp, srt, m, rest.first().copied()))
                }
                _ => return usage(),
            }
        }
        ["srt-tokio", "tunnel-out", srt, tcp, bytes, rest @ ..] if rest.len() <= 1 => {
            match (port(srt), port(tcp), bytes.parse().ok()) {
                (Some(srt), Some(tcp), Some(b)) => {
                    runtime.block_on(srt_tokio_tunnel_out(srt, tcp, b, rest.first().copied()))
                }
                _ => return usage(),
            }
        }
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("srt-bulk: {e}");
            ExitCode::FAILURE
        }
    }
}
