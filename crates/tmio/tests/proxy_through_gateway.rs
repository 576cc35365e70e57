//! `tmio proxy` and `tmio gateway` as processes, with a TCP sink as the server: a few MB pushed
//! arrive exactly, the proxy exits 0 when the pusher closes, `--stats-json` gets records, and
//! the gateway logs the session with its byte count.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::Write as _,
    net::{Shutdown, TcpStream},
    time::Duration,
};

use common::{sha256, spawn_gateway, stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

const BYTES: usize = 4 * 1024 * 1024;

#[test]
fn a_few_megabytes_arrive_exactly_and_both_exit_zero() {
    let sink = Sink::start();
    let (mut gateway, gateway_addr) = spawn_gateway("", &format!("tcp://{}", sink.addr));

    let dir = std::env::temp_dir().join(format!("tmio-proxy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stats_path = dir.join("stats.jsonl");
    let _ = std::fs::remove_file(&stats_path);
    let remote = format!("srt://{gateway_addr}?streamid=%23!::r=live/test");
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &remote,
        "--stats-interval",
        "0.2",
        "--stats-json",
        stats_path.to_str().unwrap(),
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));

    let data = stream_bytes(BYTES, 7);
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.write_all(&data).unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();

    let status = proxy.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "proxy stderr:\n{}", proxy.stderr());
    assert!(
        proxy.stderr().contains("pusher connected"),
        "{}",
        proxy.stderr()
    );
    drop(pusher);
    let (received, digest) = sink.finish();
    assert_eq!(received, BYTES as u64);
    assert_eq!(digest, sha256(&data));

    let records = std::fs::read_to_string(&stats_path).unwrap();
    let lines: Vec<serde_json::Value> = records
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(lines.len() >= 2, "{records}");
    let last = lines.last().unwrap();
    assert!(last["timestamp_unix_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(last["rtt_ms"].is_number(), "{last}");
    assert!(
        last["total"]["byte_sent"].as_u64().unwrap() >= BYTES as u64,
        "{last}"
    );
    let _ = std::fs::remove_dir_all(&dir);

    gateway.signal(Signal::SIGTERM);
    let status = gateway.wait_exit(Duration::from_secs(15));
    let log = gateway.stderr();
    assert_eq!(status.code(), Some(0), "gateway stderr:\n{log}");
    assert!(log.contains("session started"), "{log}");
    assert!(log.contains(&format!("bytes_to_upstream={BYTES}")), "{log}");
}
