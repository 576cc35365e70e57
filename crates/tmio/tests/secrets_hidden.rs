//! The SRT passphrase never shows in what `tmio` prints: `tmio url`'s report and errors,
//! `tmio proxy`'s logs at the default level and at `debug`/`trace`, its usage errors, its
//! `--stats-json` records, and the gateway's logs. Run as processes; every wait is bounded.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::Write as _,
    net::{Shutdown, TcpStream, UdpSocket},
    process::{Command, Output},
    time::Duration,
};

use common::{sha256, stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

/// A passphrase of unreserved characters only, so it prints the same percent-encoded or not.
const SECRET: &str = "Zq7Wx9Kp3Vm5Tj";

/// Fails if any 5-byte window of `secret` occurs in `text` (so neither the secret nor a
/// recognisable piece of it was printed).
fn assert_hidden(what: &str, text: &str, secret: &str) {
    let bytes = secret.as_bytes();
    for window in bytes.windows(5.min(bytes.len())) {
        let piece = std::str::from_utf8(window).unwrap();
        assert!(
            !text.contains(piece),
            "{what}: {piece:?} (from the secret {secret:?}) is printed in:\n{text}"
        );
    }
}

fn tmio_output(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tmio"))
        .args(args)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap()
}

fn both_streams(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn tmio_url_reports_a_passphrase_without_printing_it() {
    let text = format!("srt://example.com:9000?latency=200&passphrase={SECRET}&pbkeylen=32");
    let output = tmio_output(&["url", &text]);
    assert_eq!(output.status.code(), Some(0), "{}", both_streams(&output));
    let report = both_streams(&output);
    assert_hidden("tmio url", &report, SECRET);
    assert!(
        report.contains("srt://example.com:9000?latency=200&passphrase=<hidden>&pbkeylen=32\n"),
        "{report}"
    );
    assert!(report.contains("[<hidden, 14 bytes>]"), "{report}");
}

#[test]
fn tmio_url_errors_do_not_print_the_passphrase() {
    for text in [
        format!("srt://h:9000?passphrase={}", &SECRET[..9]),
        format!("srt://h:9000?passphrase={}", SECRET.repeat(6)),
        format!("srt://h:9000?passphrse={SECRET}"),
        format!("srt://h:9000?passphrase={SECRET}%C3%28"),
        format!("srt//h:9000?passphrase={SECRET}"),
        format!("srt://h:99999?passphrase={SECRET}"),
    ] {
        let output = tmio_output(&["url", &text]);
        assert_eq!(output.status.code(), Some(2), "{}", both_streams(&output));
        assert_hidden(&text, &both_streams(&output), SECRET);
    }
    let output = tmio_output(&["url", "--lenient", &format!("srt://h:1?passwd={SECRET}")]);
    assert_eq!(output.status.code(), Some(0), "{}", both_streams(&output));
    assert_hidden("--lenient", &both_streams(&output), SECRET);
}

/// A proxy whose remote is a bound UDP socket that never answers, with a short connect
/// timeout: it logs, tries, fails and exits 1.
fn proxy_to_a_silent_port(remote_query: &str, rust_log: Option<&str>) -> (String, String) {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let remote = format!("srt://127.0.0.1:{port}?{remote_query}");
    let mut proxy = Tmio::spawn_with_log(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            &remote,
            "--opt",
            "conntimeo=500",
        ],
        rust_log,
    );
    let status = proxy.wait_exit(Duration::from_secs(15));
    let stderr = proxy.stderr();
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    (proxy.stdout(), stderr)
}

#[test]
fn proxy_logs_never_print_the_passphrase_at_any_level() {
    let query = format!("passphrase={SECRET}&streamid=%23!::r=live/test");
    for rust_log in [None, Some("debug"), Some("trace")] {
        let (stdout, stderr) = proxy_to_a_silent_port(&query, rust_log);
        let what = format!("RUST_LOG={rust_log:?}");
        assert_hidden(&what, &stdout, SECRET);
        assert_hidden(&what, &stderr, SECRET);
        // The log still says where it connects, with the keys it was given.
        assert!(stderr.contains("connecting"), "{what}:\n{stderr}");
        assert!(stderr.contains("passphrase=<hidden>"), "{what}:\n{stderr}");
        assert!(
            stderr.contains("tmio: error (remote): "),
            "{what}:\n{stderr}"
        );
    }
}

#[test]
fn a_path_warning_does_not_print_the_passphrase() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let remote = format!("srt://127.0.0.1:{port}/live&passphrase={SECRET}?passphrase={SECRET}");
    let mut proxy = Tmio::spawn_with_log(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            &remote,
            "--opt",
            "conntimeo=500",
        ],
        None,
    );
    let status = proxy.wait_exit(Duration::from_secs(15));
    let stderr = proxy.stderr();
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("ignored"), "{stderr}");
    assert_hidden(
        "path warning",
        &format!("{}{stderr}", proxy.stdout()),
        SECRET,
    );
}

#[test]
fn proxy_usage_errors_do_not_print_the_passphrase() {
    let short = &SECRET[..9];
    let cases: Vec<Vec<String>> = vec![
        // No host: the URL parses but cannot be used as a remote.
        vec![format!("srt://:9000?passphrase={SECRET}")],
        // Caller URL in listener mode.
        vec![format!(
            "srt://127.0.0.1:9000?mode=listener&passphrase={SECRET}"
        )],
        // A passphrase too short, in the URL and as an option.
        vec![format!("srt://127.0.0.1:9000?passphrase={short}")],
        vec![
            "srt://127.0.0.1:9000".into(),
            "--opt".into(),
            format!("passphrase={short}"),
        ],
        vec![
            "srt://127.0.0.1:9000".into(),
            "--opt".into(),
            format!("SRTO_PASSPHRASE={}", SECRET.repeat(6)),
        ],
        // A misspelt option name.
        vec![
            "srt://127.0.0.1:9000".into(),
            "--opt".into(),
            format!("Passwort={SECRET}"),
        ],
        // Not a URL at all.
        vec![format!("srt:/127.0.0.1:9000?passphrase={SECRET}")],
    ];
    for case in cases {
        let mut args = vec!["proxy", "tcp://127.0.0.1:0"];
        args.extend(case.iter().map(String::as_str));
        let output = tmio_output(&args);
        let printed = both_streams(&output);
        assert_eq!(output.status.code(), Some(2), "{case:?}:\n{printed}");
        assert_hidden(&format!("{case:?}"), &printed, SECRET);
        assert_hidden(&format!("{case:?}"), &printed, short);
    }
}

/// The gateway builder's usage errors show the listen URL redacted.
#[test]
fn gateway_usage_errors_do_not_print_the_passphrase() {
    for listen in [
        format!("srt://127.0.0.1:9000?passphrase={}", &SECRET[..9]),
        format!("srt://127.0.0.1:9000?mode=caller&passphrase={SECRET}"),
    ] {
        let output = tmio_output(&["gateway", &listen, "tcp://127.0.0.1:1935"]);
        let printed = both_streams(&output);
        assert_eq!(output.status.code(), Some(2), "{listen}:\n{printed}");
        assert_hidden(&listen, &printed, SECRET);
        assert_hidden(&listen, &printed, &SECRET[..9]);
    }
}

#[test]
fn an_encrypted_push_through_the_gateway_never_prints_the_passphrase() {
    const BYTES: usize = 256 * 1024;
    let sink = Sink::start();
    let upstream = format!("tcp://{}", sink.addr);
    let listen = format!("srt://127.0.0.1:0?passphrase={SECRET}&pbkeylen=32");
    let mut gateway = Tmio::spawn_with_log(&["gateway", &listen, &upstream], Some("debug"));
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));

    let dir = std::env::temp_dir().join(format!("tmio-secrets-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stats_path = dir.join("stats.jsonl");
    let _ = std::fs::remove_file(&stats_path);
    let remote =
        format!("srt://{gateway_addr}?streamid=%23!::r=live/test&passphrase={SECRET}&pbkeylen=32");
    let mut proxy = Tmio::spawn_with_log(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            &remote,
            "--stats-interval",
            "0.2",
            "--stats-json",
            stats_path.to_str().unwrap(),
        ],
        Some("debug"),
    );
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let data = stream_bytes(BYTES, 11);
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.write_all(&data).unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    let status = proxy.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "proxy stderr:\n{}", proxy.stderr());
    drop(pusher);
    let (received, digest) = sink.finish();
    assert_eq!(received, BYTES as u64);
    assert_eq!(digest, sha256(&data));

    gateway.signal(Signal::SIGTERM);
    let status = gateway.wait_exit(Duration::from_secs(15));
    assert_eq!(
        status.code(),
        Some(0),
        "gateway stderr:\n{}",
        gateway.stderr()
    );

    let records = std::fs::read_to_string(&stats_path).unwrap();
    assert!(records.lines().count() >= 1, "{records}");
    let _ = std::fs::remove_dir_all(&dir);
    assert_hidden("--stats-json", &records, SECRET);
    assert_hidden("proxy stdout", &proxy.stdout(), SECRET);
    assert_hidden("proxy stderr", &proxy.stderr(), SECRET);
    assert_hidden("gateway stdout", &gateway.stdout(), SECRET);
    assert_hidden("gateway stderr", &gateway.stderr(), SECRET);
    assert!(
        proxy.stderr().contains("passphrase=<hidden>"),
        "{}",
        proxy.stderr()
    );
}
