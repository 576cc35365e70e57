//! `tmio proxy --persist`: pushes in a row through one proxy process, each its own SRT session
//! and upstream connection, byte-exact; a pusher arriving during a push is refused; a gateway
//! killed mid-push cuts that push (its pusher's connection closed, the counts logged, the sink
//! got an exact prefix of it no longer than what the proxy says it took), and once the gateway is
//! back the proxy reconnects (with logged retries) and the next push arrives whole; the live
//! line names the push and fits 80 columns.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::{Read as _, Write as _},
    net::{Shutdown, TcpStream},
    time::{Duration, Instant},
};

use common::{log_field, sha256, stream_bytes, wait_until, InTerminal, MultiSink, Tmio};
use nix::sys::signal::Signal;

/// Pushes `data` as one pusher: writes it, half-closes, then reads until the proxy closes the
/// connection (the end of the push). Returns whatever came back.
fn push_whole(local: &str, data: &[u8]) -> Vec<u8> {
    let mut pusher = TcpStream::connect(local).unwrap();
    pusher
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let writer = {
        let mut pusher = pusher.try_clone().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            pusher.write_all(&data).unwrap();
            pusher.shutdown(Shutdown::Write).unwrap();
        })
    };
    let mut back = Vec::new();
    pusher.read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    back
}

fn start_gateway(listen: &str, sink: &MultiSink) -> (Tmio, String) {
    let mut gateway = Tmio::spawn(&["gateway", listen, &format!("tcp://{}", sink.addr)]);
    let addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    (gateway, addr)
}

#[test]
fn two_pushes_in_a_row_through_one_proxy_arrive_whole() {
    let sink = MultiSink::start();
    let (mut gateway, gateway_addr) = start_gateway("srt://127.0.0.1:0", &sink);
    let dir = std::env::temp_dir().join(format!("tmio-persist-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stats_path = dir.join("stats.jsonl");
    let _ = std::fs::remove_file(&stats_path);
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "--persist",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway_addr}?streamid=%23!::r=live/test"),
        "--stats-interval",
        "0.2",
        "--stats-json",
        stats_path.to_str().unwrap(),
    ]);
    let local = proxy
        .wait_line("listening tcp://", Duration::from_secs(10))
        .trim()
        .to_owned();
    // An idle persistent proxy holds no SRT session: the gateway has seen no caller.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !gateway.stderr().contains("session started"),
        "{}",
        gateway.stderr()
    );
    assert_eq!(sink.connections(), 0);

    let first = stream_bytes(1024 * 1024, 21);
    assert!(push_whole(&local, &first).is_empty());
    let got = sink.received(0, Duration::from_secs(30));
    assert_eq!((got.len(), sha256(&got)), (first.len(), sha256(&first)));

    // The second push; meanwhile another pusher arrives and is refused (connection closed).
    let second = stream_bytes(1536 * 1024, 22);
    let mut pusher = TcpStream::connect(&local).unwrap();
    pusher.write_all(&second[..100_000]).unwrap();
    sink.wait_for(1, 100_000, Duration::from_secs(20));
    let mut intruder = TcpStream::connect(&local).unwrap();
    intruder
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 16];
    // Closed by the proxy: end of stream or a reset, not a timeout.
    match intruder.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("the refused pusher read {n} bytes"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    pusher.write_all(&second[100_000..]).unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    pusher
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut back = Vec::new();
    pusher.read_to_end(&mut back).unwrap();
    let got = sink.received(1, Duration::from_secs(30));
    assert_eq!((got.len(), sha256(&got)), (second.len(), sha256(&second)));
    assert_eq!(sink.connections(), 2, "one upstream connection per push");

    wait_until(
        "the second push's end logged",
        Duration::from_secs(10),
        || proxy.stderr().matches("push ended").count() == 2,
    );
    proxy.signal(Signal::SIGTERM);
    let status = proxy.wait_exit(Duration::from_secs(15));
    let log = proxy.stderr();
    assert_eq!(status.code(), Some(0), "{log}");
    assert_eq!(log.matches("SRT connected").count(), 2, "{log}");
    assert_eq!(
        log_field(&log, "push=1 pushed_bytes", "pushed_bytes"),
        Some(first.len() as u64),
        "{log}"
    );
    assert_eq!(
        log_field(&log, "push=2 pushed_bytes", "pushed_bytes"),
        Some(second.len() as u64),
        "{log}"
    );
    assert!(log.contains("pusher refused"), "{log}");
    assert_eq!(log_field(&log, "stopped", "pushes"), Some(2), "{log}");
    assert_eq!(log_field(&log, "stopped", "refused"), Some(1), "{log}");

    // The records name their push; the last record of each push counts all its bytes.
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&stats_path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for (push, len) in [(1u64, first.len()), (2, second.len())] {
        let last = records
            .iter()
            .rfind(|record| record["push"] == push)
            .unwrap_or_else(|| panic!("no record for push {push}: {records:?}"));
        assert!(
            last["total"]["byte_sent"].as_u64().unwrap() >= len as u64,
            "{last}"
        );
        assert_eq!(last["reconnects"], 0, "{last}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let log = gateway.stderr();
    assert_eq!(log.matches("session started").count(), 2, "{log}");
    assert_eq!(log.matches("upstream connected").count(), 2, "{log}");
}

#[test]
fn a_gateway_restarted_mid_push_cuts_that_push_and_the_next_arrives_whole() {
    let sink = MultiSink::start();
    let (mut gateway, gateway_addr) = start_gateway("srt://127.0.0.1:0", &sink);
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "--persist",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway_addr}?streamid=%23!::r=live/test"),
        "--opt",
        "peeridletimeo=1000",
        "--opt",
        "conntimeo=1000",
    ]);
    let local = proxy
        .wait_line("listening tcp://", Duration::from_secs(10))
        .trim()
        .to_owned();

    // Push 1: the gateway is killed while it flows.
    let stream = stream_bytes(16 * 1024 * 1024, 31);
    let mut pusher = TcpStream::connect(&local).unwrap();
    let mut written = 0usize;
    let chunk = 50_000;
    pusher.write_all(&stream[..4 * chunk]).unwrap();
    written += 4 * chunk;
    sink.wait_for(0, written as u64, Duration::from_secs(20));
    gateway.signal(Signal::SIGKILL);
    gateway.wait_exit(Duration::from_secs(5));
    // Keep pushing until the proxy gives up on the session and closes the pusher's connection.
    let deadline = Instant::now() + Duration::from_secs(20);
    while written + chunk <= stream.len()
        && pusher.write_all(&stream[written..written + chunk]).is_ok()
    {
        written += chunk;
        assert!(
            Instant::now() < deadline,
            "the proxy kept taking data for 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        written + chunk <= stream.len(),
        "the pusher's connection stayed open"
    );
    drop(pusher);
    wait_until("push 1 reported cut", Duration::from_secs(10), || {
        proxy.stderr().contains("push cut")
    });
    let log = proxy.stderr();
    let received = log_field(&log, "push cut", "received_bytes").unwrap();
    let acknowledged = log_field(&log, "push cut", "acknowledged_bytes").unwrap();
    let unacknowledged = log_field(&log, "push cut", "unacknowledged_bytes").unwrap();
    let got = sink.received(0, Duration::from_secs(10));
    // Every byte accounted for: the pusher wrote `written`; the proxy took `received` of them
    // (the rest was discarded with the pusher's connection, which the pusher saw fail);
    // `acknowledged` of those were confirmed by the gateway, the rest is reported unconfirmed;
    // the sink got a prefix of the stream, no longer than what the proxy took.
    assert_eq!(sha256(&got), sha256(&stream[..got.len()]));
    assert!(
        got.len() as u64 <= received,
        "sink {} > received {received}",
        got.len()
    );
    assert!(acknowledged <= received, "{log}");
    assert!(acknowledged >= 4 * chunk as u64 / 2, "{log}");
    assert_eq!(unacknowledged, received - acknowledged, "{log}");
    assert!(received <= written as u64, "{log}");
    eprintln!(
        "push 1: written {written}, taken by the proxy {received}, acknowledged {acknowledged}, \
         at the sink {}",
        got.len()
    );
    assert!(log.contains("push=1"), "{log}");

    // Push 2 arrives while the gateway is down: the proxy retries with backoff, and the
    // pusher waits.
    let second = stream_bytes(1024 * 1024, 32);
    let local_for_pusher = local.clone();
    let second_for_pusher = second.clone();
    let pusher = std::thread::spawn(move || push_whole(&local_for_pusher, &second_for_pusher));
    wait_until("a retry logged", Duration::from_secs(15), || {
        proxy.stderr().contains("SRT connection failed; retrying")
    });
    let (mut gateway, _) = start_gateway(&format!("srt://{gateway_addr}"), &sink);
    assert!(pusher.join().unwrap().is_empty());
    let got = sink.received(1, Duration::from_secs(30));
    assert_eq!((got.len(), sha256(&got)), (second.len(), sha256(&second)));

    wait_until("push 2's end logged", Duration::from_secs(10), || {
        proxy.stderr().contains("push ended")
    });
    proxy.signal(Signal::SIGTERM);
    let status = proxy.wait_exit(Duration::from_secs(15));
    let log = proxy.stderr();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("SRT reconnected"), "{log}");
    assert!(
        log.contains("retry_in_s=0.5"),
        "the first retry waits 0.5 s: {log}"
    );
    assert_eq!(
        log_field(&log, "push=2 pushed_bytes", "pushed_bytes"),
        Some(second.len() as u64),
        "{log}"
    );
    assert_eq!(log_field(&log, "stopped", "pushes"), Some(2), "{log}");
    assert_eq!(log_field(&log, "stopped", "failed"), Some(1), "{log}");
    assert_eq!(log_field(&log, "stopped", "reconnects"), Some(1), "{log}");

    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
}

/// The live line of `--persist` on an 80-column terminal (a pty made by util-linux `script`):
/// `push N …` while a push streams, `waiting for push N | …` between pushes, every redraw within
/// 79 columns.
#[test]
fn the_persistent_live_line_names_the_push_and_fits_80_columns() {
    let sink = MultiSink::start();
    let (mut gateway, gateway_addr) = start_gateway("srt://127.0.0.1:0", &sink);
    let terminal = InTerminal::spawn(&format!(
        "proxy --persist tcp://127.0.0.1:0 srt://{gateway_addr} --stats-interval 0.1"
    ));
    let local = terminal.listening_addr(Duration::from_secs(20));
    let data = stream_bytes(24 * 16 * 1024, 51);
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    for piece in data.chunks(16 * 1024) {
        pusher.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    pusher.shutdown(Shutdown::Write).unwrap();
    let mut back = Vec::new();
    pusher
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    pusher.read_to_end(&mut back).unwrap();
    let got = sink.received(0, Duration::from_secs(30));
    assert_eq!(sha256(&got), sha256(&data));
    wait_until("the idle line", Duration::from_secs(10), || {
        terminal.drawn().contains("waiting for push 2")
    });
    terminal.signal_tmio(Signal::SIGTERM);
    let (status, capture) = terminal.wait_exit(Duration::from_secs(20));
    println!("terminal capture (80 columns):\n{capture:?}");
    assert_eq!(status.code(), Some(0), "{capture:?}");
    let redraws: Vec<&str> = capture
        .split('\r')
        .filter_map(|segment| segment.strip_suffix("\x1b[K"))
        .filter(|line| !line.is_empty())
        .collect();
    assert!(
        redraws.iter().any(|line| line.starts_with("push 1 ")),
        "{capture:?}"
    );
    assert!(
        redraws
            .iter()
            .any(|line| line.starts_with("waiting for push 2 | 1 ended, 0 failed, 0 reconnects")),
        "{capture:?}"
    );
    for line in &redraws {
        assert!(
            line.chars().count() <= 79,
            "wider than 79 columns: {line:?}"
        );
    }
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
}
