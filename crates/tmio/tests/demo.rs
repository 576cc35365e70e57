//! `tmio demo` needs no server: it moves a generated stream through gateway and proxy on
//! loopback, checks it, prints the figures and exits 0.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Tmio;

#[test]
fn demo_moves_every_byte_and_prints_the_figures() {
    let mut tmio = Tmio::spawn(&["demo", "--seconds", "2", "--mbps", "8"]);
    let status = tmio.wait_exit(Duration::from_secs(40));
    let stderr = tmio.stderr();
    assert_eq!(status.code(), Some(0), "stderr:\n{stderr}");
    let sent = tmio.wait_line("sent:", Duration::from_secs(1));
    let received = tmio.wait_line("received:", Duration::from_secs(1));
    assert_eq!(sent.trim(), received.trim());
    assert!(sent.trim().starts_with("2000000 bytes  sha256 "), "{sent}");
    let duration = tmio.wait_line("duration:", Duration::from_secs(1));
    let seconds: f64 = duration.trim().trim_end_matches(" s").parse().unwrap();
    assert!((1.9..30.0).contains(&seconds), "{duration}");
    let throughput = tmio.wait_line("throughput:", Duration::from_secs(1));
    assert!(throughput.contains("Mbit/s"), "{throughput}");
    let srt = tmio.wait_line("srt:", Duration::from_secs(1));
    for figure in ["rtt ", "packets sent ", "retransmitted ", "reported lost "] {
        assert!(srt.contains(figure), "{srt}");
    }
    let result = tmio.wait_line("result:", Duration::from_secs(1));
    assert!(result.trim().starts_with("OK"), "{result}");
    // The gateway's session events are logged as they happen: the session starts before the
    // pusher is done, and ends after it.
    let at = |text: &str| {
        stderr
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?}:\n{stderr}"))
    };
    assert!(at("session started") < at("pusher finished"), "{stderr}");
    assert!(at("pusher finished") < at("session ended"), "{stderr}");
}

#[test]
fn demo_rejects_a_zero_duration() {
    let mut tmio = Tmio::spawn(&["demo", "--seconds", "0"]);
    let status = tmio.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(2));
    assert!(tmio.stderr().contains("--seconds"), "{}", tmio.stderr());
}
