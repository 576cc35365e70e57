//! libsrt peers run inside a namespace link (`in_namespace`, `listener_on` a namespace address,
//! `wait_for_listen` through `/proc/PID/net/udp`) and carry 2 MB exactly, over a rate-limited
//! link, and (ignored by default) over a lossy one.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tmio_testkit::libsrt::DEFAULT_CHUNK;
use tmio_testkit::{Feed, LibsrtPeer, NetnsLink, Side, Sink, SrtUri};

/// Sends 2 MB from side A to a listener in side B at 1 MB/s; checks the sha256.
fn transfer_across(link: &NetnsLink, name: &str) {
    let dir = std::env::temp_dir().join(format!("tmio-testkit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = dir.join("received.bin");

    let mut data = vec![0u8; 1374 * DEFAULT_CHUNK];
    rand::rngs::StdRng::seed_from_u64(11).fill_bytes(&mut data);
    let data = Arc::new(data);

    let listen = SocketAddr::from((link.addr(Side::B), 9000));
    let options = [("latency", "200"), ("tlpktdrop", "0")];
    let mut listener_uri = SrtUri::listener_on(listen);
    let mut caller_uri = SrtUri::caller(listen);
    for (key, value) in options {
        listener_uri = listener_uri.option(key, value);
        caller_uri = caller_uri.option(key, value);
    }
    let mut receiver = LibsrtPeer::receiver(listener_uri, Sink::File(output.clone()))
        .in_namespace(link.namespace(Side::B))
        .lifetime(Duration::from_secs(20))
        .spawn()
        .unwrap();
    receiver.wait_for_listen(Duration::from_secs(5)).unwrap();
    let feed = Feed::Paced {
        data: Arc::clone(&data),
        bytes_per_sec: 1_000_000,
    };
    let mut sender = LibsrtPeer::sender(caller_uri, feed)
        .in_namespace(link.namespace(Side::A))
        .lifetime(Duration::from_secs(20))
        .spawn()
        .unwrap();

    let got = receiver.wait_for_output_len(data.len() as u64, Duration::from_secs(15));
    let fed = sender.wait_fed();
    receiver.stop().unwrap();
    let got =
        got.unwrap_or_else(|e| panic!("{e}\nsender fed {fed} bytes: {}", sender.stderr_text()));
    assert_eq!(fed, data.len() as u64);
    assert_eq!(got, data.len() as u64);
    let received = std::fs::read(&output).unwrap();
    assert_eq!(Sha256::digest(&received), Sha256::digest(data.as_slice()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn srt_live_transmit_crosses_a_rate_limited_namespace_link() {
    let name = "srt_live_transmit_crosses_a_rate_limited_namespace_link";
    if !NetnsLink::should_run(name).unwrap() || !LibsrtPeer::should_run(name).unwrap() {
        return;
    }
    let link = NetnsLink::new().unwrap();
    // 20 Mbit/s: well above the 8 Mbit/s feed plus SRT overhead.
    link.set_rate(20_000_000).unwrap();
    transfer_across(&link, "netns-rate");
}

/// libsrt 1.5.1's receiver sometimes stalls for good under loss at near-zero RTT (about 1 run
/// in 8 at 2 %, 3 in 7 at 10 %; see docs/testkit.md), so this is a reproduction, not a gate:
/// `cargo test -p tmio-testkit --test libsrt_over_netns_link -- --ignored`.
#[test]
#[ignore = "libsrt's own receiver stalls in some runs at this loss; reproduction only"]
fn srt_live_transmit_crosses_a_lossy_namespace_link() {
    let name = "srt_live_transmit_crosses_a_lossy_namespace_link";
    if !NetnsLink::should_run(name).unwrap() || !LibsrtPeer::should_run(name).unwrap() {
        return;
    }
    let link = NetnsLink::new().unwrap();
    link.set_loss(2.0).unwrap();
    transfer_across(&link, "netns-loss");
    let dropped = link.dropped_toward(Side::B).unwrap() + link.dropped_toward(Side::A).unwrap();
    eprintln!("kernel dropped {dropped} datagrams");
    assert!(dropped > 5, "loss was applied: {dropped}");
}
