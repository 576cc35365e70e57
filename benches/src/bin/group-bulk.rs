//! A bonded group against a single link, in one process on loopback: tmio's transport sends
//! MIB mebibytes, uncapped, from a caller (one link, or a two-member group whose members send
//! from 127.0.0.2 and 127.0.0.3) to a listener with groups; prints goodput, wall time and the
//! process's CPU time (both ends), checked byte for byte with sha256.
//!
//! ```text
//! group-bulk (single|broadcast|backup) [MIB=256]
//! ```
//!
//! `benches/group-vs-single.sh` runs the three side by side and prints ratios.
#![allow(clippy::print_stdout)]

use std::{process::ExitCode, time::Duration, time::Instant};
use tmio_transport::srt::RateControl;

use sha2::{Digest, Sha256};
use tmio_transport::srt::{
    ConnectMode, GroupConnect, GroupMode, ListenerLimits, MemberSpec, SrtConfig, SrtListener,
    SrtStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHUNK: usize = 64 * 1024;

fn usage() -> ExitCode {
    eprintln!("usage: group-bulk (single|broadcast|backup) [MIB=256]");
    ExitCode::from(2)
}

/// User + system CPU seconds of this process so far (from /proc/self/stat, clock ticks).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8 ^ (i >> 13) as u8)
        .collect()
}

async fn run(mode: &str, mib: usize) -> Result<(), String> {
    let config = SrtConfig {
        rate_control: RateControl::UNCAPPED,
        send_buffer_bytes: 16 << 20,
        recv_buffer_bytes: 16 << 20,
        ..SrtConfig::default()
    };
    let mut listener = SrtListener::bind_with(
        "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        config.clone(),
        ListenerLimits::default(),
        true,
    )
    .await
    .map_err(|e| e.to_string())?;
    let addr = listener.local_addr();
    let total = mib << 20;
    let server = tokio::spawn(async move {
        let mut stream = listener.accept().await.map_err(|e| e.to_string())?;
        let mut hash = Sha256::new();
        let mut received = 0usize;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            received += n;
        }
        Ok::<_, String>((received, hash.finalize()))
    });
    let mut stream = match mode {
        "single" => SrtStream::connect(addr, ConnectMode::Caller, &config)
            .await
            .map_err(|e| e.to_string())?,
        "broadcast" | "backup" => {
            let member = |ip: [u8; 4], weight| MemberSpec {
                remote: addr,
                bind: Some((ip, 0).into()),
                weight,
                device: None,
            };
            let group = GroupConnect {
                mode: if mode == "broadcast" {
                    GroupMode::Broadcast
                } else {
                    GroupMode::Backup
                },
                members: vec![member([127, 0, 0, 2], 100), member([127, 0, 0, 3], 10)],
                config: config.clone(),
            };
            let stream = SrtStream::connect_group(group)
                .await
                .map_err(|e| e.to_string())?;
            // Both members up before the clock starts (bounded).
            for _ in 0..500 {
                if stream.path_reports().len() == 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if stream.path_reports().len() != 2 {
                return Err("the second member did not connect".into());
            }
            stream
        }
        _ => return Err(format!("unknown mode {mode:?}")),
    };
    let data = content(total);
    let expected = Sha256::digest(&data);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    for chunk in data.chunks(CHUNK) {
        stream.write_all(chunk).await.map_err(|e| e.to_string())?;
    }
    stream.shutdown().await.map_err(|e| e.to_string())?;
    let (received, digest) = tokio::time::timeout(Duration::from_secs(120), server)
        .await
        .map_err(|_| "the receiver did not finish within 120 s".to_string())?
        .map_err(|e| e.to_string())??;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    if received != total || digest != expected {
        return Err(format!(
            "received {received} of {total} bytes, sha256 equal: {}",
            digest == expected
        ));
    }
    let sent: u64 = stream
        .path_reports()
        .iter()
        .map(|report| report.stats.bytes_sent)
        .sum();
    println!(
        "{mode:<9} {mib} MiB: {:.1} MB/s goodput, wall {wall:.3} s, cpu {cpu:.2} s ({:.2} cpu-s/GB), \
         {:.2} bytes on the wire per payload byte",
        total as f64 / wall / 1e6,
        cpu / (total as f64 / 1e9),
        if sent == 0 { 1.0 } else { sent as f64 / total as f64 }
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else {
        return usage();
    };
    let mib = match args.get(1).map(|m| m.parse::<usize>()) {
        None => 256,
        Some(Ok(mib)) if (1..=4096).contains(&mib) => mib,
        Some(_) => return usage(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("group-bulk: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(mode, mib)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("group-bulk: {error}");
            ExitCode::from(1)
        }
    }
}
