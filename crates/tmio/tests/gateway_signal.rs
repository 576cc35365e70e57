//! `tmio gateway` runs until SIGTERM, SIGINT or SIGHUP, then stops gracefully and exits 0.
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
