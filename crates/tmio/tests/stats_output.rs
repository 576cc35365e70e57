//! The proxy's statistics as a user sees them: the live line on an 80-column terminal (a pty
//! made by util-linux `script`), and the records of `--stats-format csv` / `--stats-json -` on
//! stdout.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    process::{Command, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

use common::{sha256, stream_bytes, Sink, Tmio};
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
    let upstream = format!("tcp://{}", sink.addr);
    let mut gateway = Tmio::spawn(&["gateway", "srt://127.0.0.1:0", &upstream]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));

    let proxy_command = format!(
        "stty cols 80 rows 24 && exec {} proxy tcp://127.0.0.1:0 srt://{} --stats-interval 0.1",
        env!("CARGO_BIN_EXE_tmio"),
        gateway_addr.trim()
    );
    let mut script = Command::new("script")
        .args(["-qfec", &proxy_command, "/dev/null"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the proxy in a pty");
    let mut terminal = script.stdout.take().unwrap();
    let capture = Arc::new(Mutex::new(String::new()));
    let (listening, port) = mpsc::channel();
    let collected = capture.clone();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        let mut announced = false;
        while let Ok(n) = terminal.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let mut text = collected.lock().unwrap();
            text.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if !announced {
                if let Some(rest) = text.split("listening tcp://").nth(1) {
                    if let Some(addr) = rest.split("\r\n").next().filter(|_| rest.contains('\n')) {
                        let _ = listening.send(addr.to_owned());
                        announced = true;
                    }
                }
            }
        }
    });
    let local = port
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| {
            panic!(
                "the proxy did not announce its port: {:?}",
                capture.lock().unwrap()
            )
        });

    let data = stream_bytes(48 * 16 * 1024, 11);
    push_slowly(&local, &data);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = script.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the proxy did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    reader.join().unwrap();
    let capture = capture.lock().unwrap().clone();
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
    let upstream = format!("tcp://{}", sink.addr);
    let mut gateway = Tmio::spawn(&["gateway", "srt://127.0.0.1:0", &upstream]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{}", gateway_addr.trim()),
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
