//! `tmio gateway --allow RULE` and `--route-passphrase RESOURCE=PASSPHRASE`: refused callers'
//! proxies exit 1 naming the SRT code (2403, 1011, 1010); allowed ones push byte-exact.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::Write as _,
    net::{Shutdown, TcpStream},
    time::Duration,
};

use common::{sha256, stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

fn refused(gateway: &str, query: &str, code: &str) {
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway}?conntimeo=2000&{query}"),
    ]);
    let status = proxy.wait_exit(Duration::from_secs(20));
    let said = proxy.stderr();
    assert_eq!(status.code(), Some(1), "{query}: {said}");
    assert!(said.contains(code), "{query}: expected {code}: {said}");
}

#[test]
fn allow_rules_and_route_passphrases_refuse_with_their_codes() {
    let sink = Sink::start();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", sink.addr),
        "--allow",
        "r=live,m=publish",
        "--route-passphrase",
        "live/secret=the-secret-route",
    ]);
    let addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let addr = addr.trim();
    refused(addr, "streamid=%23!::r=vod/x,m=publish", "2403");
    refused(addr, "streamid=%23!::r=live/cam", "2403");
    refused(addr, "streamid=%23!::r=live/secret/cam,m=publish", "1011");
    refused(
        addr,
        "streamid=%23!::r=live/secret/cam,m=publish&passphrase=not-the-secret",
        "1010",
    );
    let data = stream_bytes(500_000, 7);
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!(
            "srt://{addr}?streamid=%23!::r=live/secret/cam,m=publish&passphrase=the-secret-route"
        ),
    ]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.write_all(&data).unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        proxy.wait_exit(Duration::from_secs(30)).code(),
        Some(0),
        "{}",
        proxy.stderr()
    );
    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(20)).code(), Some(0));
    let (received, digest) = sink.finish();
    assert_eq!(received, data.len() as u64);
    assert_eq!(digest, sha256(&data));
    assert!(
        !gateway.stderr().contains("the-secret-route"),
        "{}",
        gateway.stderr()
    );
}
