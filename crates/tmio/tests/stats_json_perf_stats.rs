//! `tmio proxy --stats-json` writes the reference SDK's `PerfStats` (tencentyun/tmio
//! `android/sdk/include/tmio-stats.h`): its field names, `total` and `current` blocks, and a
//! `current` block that restarts at every record (so the records' `current` blocks add up to the
//! last `total`). Also: a local URL without a port means port 0.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    collections::BTreeSet,
    io::Write as _,
    net::{Shutdown, TcpStream},
    time::Duration,
};

use common::{sha256, spawn_gateway, stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

const BYTES: usize = 2 * 1024 * 1024;

const COUNTERS: [&str; 17] = [
    "pkt_sent",
    "pkt_recv",
    "pkt_sent_loss",
    "pkt_recv_loss",
    "pkt_retrans",
    "pkt_sent_ack",
    "pkt_recv_ack",
    "pkt_sent_nak",
    "pkt_recv_nak",
    "pkt_sent_drop",
    "pkt_recv_drop",
    "byte_sent",
    "byte_recv",
    "byte_recv_loss",
    "byte_retrans",
    "byte_sent_drop",
    "byte_recv_drop",
];

const TOP_LEVEL: [&str; 12] = [
    "timestamp_unix_ms",
    "total",
    "current",
    "timestamp_ms",
    "bytes_in_flight",
    "sent_rate_mbps",
    "recv_rate_mbps",
    "bandwidth_mbps",
    "rtt_ms",
    "delivery_rate_mbps",
    "sent_buffer_watermark",
    "recv_buffer_watermark",
];

fn keys(value: &serde_json::Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn records_are_perf_stats_whose_current_blocks_add_up_to_the_total() {
    let sink = Sink::start();
    let (mut gateway, gateway_addr) = spawn_gateway("", &format!("tcp://{}", sink.addr));

    let dir = std::env::temp_dir().join(format!("tmio-perf-stats-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stats_path = dir.join("stats.jsonl");
    let _ = std::fs::remove_file(&stats_path);
    let remote = format!("srt://{gateway_addr}?streamid=%23!::r=live/test");
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1",
        &remote,
        "--opt",
        "Maximum bandwidth (bytes per second)=4000000",
        "--stats-interval",
        "0.1",
        "--stats-json",
        stats_path.to_str().unwrap(),
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    assert!(!local.trim().ends_with(":0"), "a port was chosen: {local}");

    let data = stream_bytes(BYTES, 11);
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.write_all(&data).unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    let status = proxy.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "proxy stderr:\n{}", proxy.stderr());
    drop(pusher);

    let records: Vec<serde_json::Value> = std::fs::read_to_string(&stats_path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(records.len() >= 2, "{records:?}");
    for record in &records {
        assert_eq!(keys(record), TOP_LEVEL.into_iter().collect(), "{record}");
        for block in ["total", "current"] {
            assert_eq!(
                keys(&record[block]),
                COUNTERS.into_iter().collect(),
                "{record}"
            );
        }
    }
    // Each record's current block counts since the record before it.
    let last = records.last().unwrap();
    for counter in COUNTERS {
        let sum: i64 = records
            .iter()
            .map(|record| record["current"][counter].as_i64().unwrap())
            .sum();
        assert_eq!(sum, last["total"][counter].as_i64().unwrap(), "{counter}");
    }
    assert!(last["total"]["byte_sent"].as_i64().unwrap() >= BYTES as i64);
    let times: Vec<i64> = records
        .iter()
        .map(|record| record["timestamp_ms"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");

    gateway.signal(Signal::SIGTERM);
    let status = gateway.wait_exit(Duration::from_secs(15));
    assert_eq!(
        status.code(),
        Some(0),
        "gateway stderr:\n{}",
        gateway.stderr()
    );
    let (received, digest) = sink.finish();
    assert_eq!(received, BYTES as u64);
    assert_eq!(digest, sha256(&data));
}
