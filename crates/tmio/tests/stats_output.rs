//! The proxy's statistics as a user sees them: the live line on an 80-column terminal (a pty
//! made by util-linux `script`), and the records of `--stats-format csv` / `--stats-json -` on
//! stdout.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{io::Write as _, net::TcpStream, time::Duration};

use common::{sha256, spawn_gateway, stream_bytes, InTerminal, Sink, Tmio};
use nix::sys::signal::Signal;

/// Pushes `data` in 16 KiB pieces, 20 ms apart, so that the transfer spans several stats
/// intervals; then closes the connection.
fn push_slowly(local: &str, data: &[u8]) {
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    for piece in data.chunks(16 * 1024) {
        pusher.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The text of every live-line redraw (`\r LINE ESC[K`) in a terminal capture.
fn redraws(capture: &str) -> Vec<&str> {
    capture
        .split('\r')
        .filter_map(|segment| segment.strip_suffix("\x1b[K"))
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn the_live_line_fits_80_columns_and_redraws_one_row() {
    let sink = Sink::start();
    let (mut gateway, gateway_addr) = spawn_gateway("", &format!("tcp://{}", sink.addr));
    let terminal = InTerminal::spawn(&format!(
        "proxy tcp://127.0.0.1:0 srt://{gateway_addr} --stats-interval 0.1"
    ));
    let local = terminal.listening_addr(Duration::from_secs(20));

    let data = stream_bytes(48 * 16 * 1024, 11);
    push_slowly(&local, &data);
    let (status, capture) = terminal.wait_exit(Duration::from_secs(30));
    println!("terminal capture (80 columns):\n{capture:?}");
    assert_eq!(status.code(), Some(0), "{capture:?}");

    let lines = redraws(&capture);
    assert!(lines.len() >= 3, "too few redraws: {capture:?}");
    for line in &lines {
        assert!(
            line.chars().count() <= 79,
            "wider than 79 columns: {line:?}"
        );
        assert!(line.contains("total"), "{line:?}");
    }
    // Redraws return to the start of the same row: the capture has a row per log line and one
    // for the last statistics, not one per redraw.
    let rows = capture.matches('\n').count();
    let log_rows = capture.matches("INFO").count() + capture.matches("WARN").count();
    assert!(
        rows <= log_rows + 2,
        "{rows} rows for {log_rows} log lines: {capture:?}"
    );

    let (received, digest) = sink.finish();
    assert_eq!((received, digest), (data.len() as u64, sha256(&data)));
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
}

#[test]
fn csv_records_go_to_stdout_with_one_header() {
    let sink = Sink::start();
    let (mut gateway, gateway_addr) = spawn_gateway("", &format!("tcp://{}", sink.addr));
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway_addr}"),
        "--stats-json",
        "-",
        "--stats-format",
        "csv",
        "--stats-interval",
        "0.1",
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let data = stream_bytes(16 * 16 * 1024, 12);
    push_slowly(&local, &data);
    assert_eq!(
        proxy.wait_exit(Duration::from_secs(30)).code(),
        Some(0),
        "{}",
        proxy.stderr()
    );
    let stdout = proxy.stdout();
    let mut lines = stdout
        .lines()
        .skip_while(|line| line.starts_with("listening"));
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    assert!(header.contains(&"timestamp_unix_ms"), "{stdout}");
    // The SDK's PerfStats, its total/current blocks flattened into dotted columns.
    assert!(header.contains(&"total.byte_sent"), "{stdout}");
    assert!(header.contains(&"current.pkt_sent"), "{stdout}");
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    assert!(rows.len() >= 2, "{stdout}");
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{stdout}");
    }
    // The final record is written after the session ended: every byte was sent.
    let bytes_sent = header
        .iter()
        .position(|name| *name == "total.byte_sent")
        .unwrap();
    let last: u64 = rows.last().unwrap()[bytes_sent].parse().unwrap();
    assert!(last >= data.len() as u64, "{stdout}");
    assert_eq!(sink.finish().0, data.len() as u64);
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
}
