//! The fast subset of the fault matrix (`cargo xtask reliability` runs all of it): a seeded
//! 1 MiB stream through this build's `tmio proxy` → `tmio gateway` → TCP sink under 10 % kernel
//! loss (network namespaces; skipped without root), 25 % reordering, 5 % duplication, the
//! gateway killed, the pusher killed, the upstream gone and the upstream slow. Each cell checks
//! its expectation (every byte with sha256 equal and exit 0; or a remote error and an intact
//! prefix) and is bounded by a 30 s timeout.
#![allow(clippy::unwrap_used, clippy::panic)]

use tmio_testkit::reliability::{fast_subset, run_cell, MatrixConfig};
use tmio_testkit::NetnsLinks;

fn run(name: &str) {
    let cell = fast_subset()
        .into_iter()
        .find(|cell| cell.name == name)
        .unwrap();
    if cell.name.starts_with("loss") && !NetnsLinks::should_run(name).unwrap() {
        return;
    }
    let config = MatrixConfig {
        // Fault cells strike after 1 MiB: leave them room.
        bytes: 2 << 20,
        ..MatrixConfig::new(env!("CARGO_BIN_EXE_tmio"))
    };
    let report = run_cell(&config, &cell).unwrap();
    eprintln!(
        "{name}: sent {} delivered {} exit {:?} error {:?} gateway {:?} rss {} / {} KiB, {:.1} s",
        report.sent,
        report.delivered,
        report.proxy_exit,
        report.proxy_error,
        report.gateway_session,
        report.proxy_rss_kib,
        report.gateway_rss_kib,
        report.elapsed.as_secs_f64()
    );
    if let Err(why) = &report.verdict {
        panic!(
            "{name}: {why}\n--- proxy stderr\n{}\n--- gateway stderr\n{}",
            report.proxy_stderr_tail, report.gateway_stderr_tail
        );
    }
}

#[test]
fn loss10_delay0() {
    run("loss10-delay0");
}

#[test]
fn reorder25() {
    run("reorder25");
}

#[test]
fn dup5() {
    run("dup5");
}

#[test]
fn gateway_killed() {
    run("gateway-killed");
}

#[test]
fn pusher_killed() {
    run("pusher-killed");
}

#[test]
fn upstream_gone() {
    run("upstream-gone");
}

#[test]
fn upstream_slow() {
    run("upstream-slow");
}
