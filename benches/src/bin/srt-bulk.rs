//! One side of a bulk transfer over SRT on loopback, for the side-by-side peer benchmark
//! (`benches/peers.sh`): tmio's transport or srt-tokio, sender or receiver.
//!
//! ```text
//! srt-bulk tmio recv PORT                 # listen, read to end, print bytes and seconds
//! srt-bulk tmio send PORT FILE [MBPS]     # call, send FILE, close gracefully
//! srt-bulk srt-tokio recv PORT            # srt-tokio listener; stops after 2 s without data
//! srt-bulk srt-tokio send PORT FILE MBPS  # srt-tokio caller paced at MBPS (it drops unpaced)
//! ```
use std::{
    net::SocketAddr,
    process::ExitCode,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tmio_transport::srt::{ConnectMode, SrtConfig, SrtListener, SrtStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PAYLOAD: usize = 1456;

fn usage() -> ExitCode {
    eprintln!("usage: srt-bulk (tmio|srt-tokio) (recv PORT | send PORT FILE [MBPS])");
    ExitCode::from(2)
}

fn tmio_config(mbps: Option<u64>) -> SrtConfig {
    SrtConfig {
        payload_size: PAYLOAD,
        max_bandwidth: mbps.map(|m| m * 1_000_000 / 8),
        send_buffer_bytes: 16 << 20,
        recv_buffer_bytes: 16 << 20,
        connect_timeout: Duration::from_secs(10),
        ..SrtConfig::default()
    }
}

async fn tmio_recv(port: u16) -> Result<(), String> {
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
        total += n as u64;
    }
    report(total, started.elapsed());
    eprintln!("stats: {:?}", stream.stats());
    Ok(())
}

async fn tmio_send(port: u16, file: &str, mbps: Option<u64>) -> Result<(), String> {
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut stream = SrtStream::connect(addr, ConnectMode::Caller, &tmio_config(mbps))
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    stream.write_all(&data).await.map_err(|e| e.to_string())?;
    stream.shutdown().await.map_err(|e| e.to_string())?;
    report(data.len() as u64, started.elapsed());
    Ok(())
}

async fn srt_tokio_recv(port: u16) -> Result<(), String> {
    let mut socket = srt_tokio::SrtSocket::builder()
        .latency(Duration::from_millis(120))
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
                total += bytes.len() as u64;
                last = Instant::now();
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
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let mut socket = srt_tokio::SrtSocket::builder()
        .latency(Duration::from_millis(120))
        .call(SocketAddr::from(([127, 0, 0, 1], port)), None)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let per_packet = Duration::from_secs_f64(PAYLOAD as f64 * 8.0 / (mbps as f64 * 1e6));
    let mut next = tokio::time::Instant::now();
    for chunk in data.chunks(PAYLOAD) {
        next += per_packet;
        if next > tokio::time::Instant::now() + Duration::from_millis(1) {
            tokio::time::sleep_until(next).await;
        }
        socket
            .send((Instant::now(), Bytes::copy_from_slice(chunk)))
            .await
            .map_err(|e| e.to_string())?;
    }
    socket.close().await.map_err(|e| e.to_string())?;
    report(data.len() as u64, started.elapsed());
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
        ["tmio", "recv", p] => match port(p) {
            Some(p) => runtime.block_on(tmio_recv(p)),
            None => return usage(),
        },
        ["tmio", "send", p, file, rest @ ..] => {
            let mbps = rest.first().and_then(|m| m.parse().ok());
            match port(p) {
                Some(p) => runtime.block_on(tmio_send(p, file, mbps)),
                None => return usage(),
            }
        }
        ["srt-tokio", "recv", p] => match port(p) {
            Some(p) => runtime.block_on(srt_tokio_recv(p)),
            None => return usage(),
        },
        ["srt-tokio", "send", p, file, mbps] => match (port(p), mbps.parse().ok()) {
            (Some(p), Some(m)) => runtime.block_on(srt_tokio_send(p, file, m)),
            _ => return usage(),
        },
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
