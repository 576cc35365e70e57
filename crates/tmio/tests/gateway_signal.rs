//! `tmio gateway` runs until SIGTERM, SIGINT or SIGHUP, then stops gracefully and exits 0; at
//! start it says when the kernel capped its UDP buffers.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Tmio;
use nix::sys::signal::Signal;

fn stops_on(signal: Signal) {
    let mut gateway = Tmio::spawn(&["gateway", "srt://127.0.0.1:0", "tcp://127.0.0.1:1935"]);
    let addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    gateway.signal(signal);
    let status = gateway.wait_exit(Duration::from_secs(15));
    let log = gateway.stderr();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        log.contains(&format!("{signal:?}: stopping gracefully")),
        "{log}"
    );
    assert!(log.contains("gateway stopped"), "{log}");
}

#[test]
fn sigterm_stops_the_gateway_with_status_zero() {
    stops_on(Signal::SIGTERM);
}

#[test]
fn sigint_stops_the_gateway_with_status_zero() {
    stops_on(Signal::SIGINT);
}

#[test]
fn sighup_stops_the_gateway_gracefully_with_status_zero() {
    // A closed terminal or `kill -HUP` used to end the gateway at once (status 129).
    stops_on(Signal::SIGHUP);
}

#[test]
fn the_gateway_says_when_the_kernel_capped_its_udp_buffers() {
    let cap = |name: &str| -> usize {
        std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    // The gateway asks for 8 MiB each way.
    let asked = 8 << 20;
    let capped = cap("rmem_max") < asked || cap("wmem_max") < asked;
    let mut gateway = Tmio::spawn(&["gateway", "srt://127.0.0.1:0", "tcp://127.0.0.1:1935"]);
    gateway.wait_line("listening srt://", Duration::from_secs(10));
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let log = gateway.stderr();
    let line = log
        .lines()
        .find(|line| line.contains("UDP socket buffers smaller than asked"));
    assert_eq!(line.is_some(), capped, "{log}");
    if let Some(line) = line {
        assert!(line.contains(&format!("asked={asked}")), "{line}");
        assert!(
            line.contains(&format!("receive={}", cap("rmem_max").min(asked))),
            "{line}"
        );
    }
}
