//! A live-mode preset closes cleanly: ffmpeg pushes MPEG-TS through `tmio proxy --preset
//! ts-latency:200` and a gateway; at the end of the stream the proxy exits 0, the gateway logs a
//! clean session end, and the sink got every byte the proxy took (loopback drops nothing). It
//! used to end with "close gave up after 0 s" (live mode's linger is 0) and a lost tail.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use common::{Sink, Tmio};
use nix::sys::signal::Signal;

fn ffmpeg_available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn ffmpeg_ts_push_with_the_ts_latency_preset_ends_cleanly() {
    assert!(
        ffmpeg_available(),
        "ffmpeg is missing: run scripts/install-deps.sh (Debian package ffmpeg)"
    );
    let sink = Sink::start();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", sink.addr),
    ]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{}", gateway_addr.trim()),
        "--preset",
        "ts-latency:200",
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
        .args([
            "-t",
            "3",
            "-c:v",
            "mpeg2video",
            "-b:v",
            "2M",
            "-f",
            "mpegts",
        ])
        .arg(format!("tcp://{}", local.trim()))
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg failed");
    let proxy_status = proxy.wait_exit(Duration::from_secs(30));
    let said = proxy.stderr();
    assert_eq!(proxy_status.code(), Some(0), "{said}");
    let pushed: u64 = said
        .split("pushed_bytes=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pushed_bytes in the proxy's log: {said}"));
    assert!(pushed > 100_000, "ffmpeg pushed only {pushed} bytes");
    sink.wait_for(pushed, Duration::from_secs(10));
    gateway.signal(Signal::SIGINT);
    assert_eq!(gateway.wait_exit(Duration::from_secs(20)).code(), Some(0));
    let (received, _) = sink.finish();
    assert_eq!(
        received, pushed,
        "every byte the proxy took reached the upstream"
    );
    let log = gateway.stderr();
    assert!(log.contains("session ended session=1"), "{log}");
    assert!(!log.contains("session failed"), "{log}");
}
