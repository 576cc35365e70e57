//! `tmio gateway 'srt://…?groupconnect=1'` and `tmio proxy --bond backup --link … --link …`
//! (two links from 127.0.0.2 and 127.0.0.3): every byte arrives (sha256); the `--stats-json`
//! records carry a `links` array with both links' addresses, state and counters.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::Write as _,
    net::{Shutdown, TcpStream},
    time::Duration,
};

use common::{sha256, stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

const BYTES: usize = 2 * 1024 * 1024;

#[test]
fn a_bonded_proxy_pushes_through_a_gateway_with_groupconnect() {
    let sink = Sink::start();
    let upstream = format!("tcp://{}", sink.addr);
    let mut gateway = Tmio::spawn(&["gateway", "srt://127.0.0.1:0?groupconnect=1", &upstream]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let gateway_addr = gateway_addr.trim();
    let port = gateway_addr.rsplit(':').next().unwrap();

    let dir = std::env::temp_dir().join(format!("tmio-bond-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stats_path = dir.join("stats.jsonl");
    let _ = std::fs::remove_file(&stats_path);
    let remote = format!("srt://127.0.0.1:{port}?streamid=%23!::r=live/bond");
    let link_a = format!("srt://127.0.0.1:{port},bind=127.0.0.2,weight=100");
    let link_b = format!("srt://127.0.0.1:{port},bind=127.0.0.3,weight=10");
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &remote,
        "--bond",
        "backup",
        "--link",
        &link_a,
        "--link",
        &link_b,
        "--stats-interval",
        "0.1",
        "--stats-json",
        stats_path.to_str().unwrap(),
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    // The second link connects during the push (2 MiB at 20 Mbit/s take ~0.8 s): the last
    // record, written at the end, has both.
    let data = stream_bytes(BYTES, 13);
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
    let last = records.last().unwrap();
    let links = last["links"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{last}");
    let locals: Vec<&str> = links.iter().map(|l| l["local"].as_str().unwrap()).collect();
    assert!(
        locals.iter().any(|l| l.starts_with("127.0.0.2:")),
        "{locals:?}"
    );
    assert!(
        locals.iter().any(|l| l.starts_with("127.0.0.3:")),
        "{locals:?}"
    );
    for link in links {
        assert!(link["stats"]["state"].is_string(), "{link}");
    }
    let stderr = proxy.stderr();
    assert!(stderr.contains("MemberConnected"), "{stderr}");

    gateway.signal(Signal::SIGTERM);
    let status = gateway.wait_exit(Duration::from_secs(15));
    assert_eq!(
        status.code(),
        Some(0),
        "gateway stderr:\n{}",
        gateway.stderr()
    );
    assert!(
        gateway.stderr().contains("bonded group"),
        "{}",
        gateway.stderr()
    );
    let (received, digest) = sink.finish();
    assert_eq!(received, BYTES as u64);
    assert_eq!(digest, sha256(&data));
}
