//! `tmio gateway --route`: sessions go to the upstream their stream id's resource names (the
//! longest route wins), the rest to the default upstream; an unreachable upstream rejects the
//! caller (with `--upstream-connect accept`), whose proxy then exits 1 with a remote error.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    io::Write as _,
    net::{Shutdown, TcpListener, TcpStream},
    time::Duration,
};

use common::{sha256, stream_bytes, Sink, Tmio};
use nix::sys::signal::Signal;

/// Pushes `data` through a proxy process to `remote` and expects exit 0.
fn push(remote: &str, data: &[u8]) {
    let mut proxy = Tmio::spawn(&["proxy", "tcp://127.0.0.1:0", remote]);
    let local = proxy.wait_line("listening tcp://", Duration::from_secs(10));
    let mut pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.write_all(data).unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    let status = proxy.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{remote}: {}", proxy.stderr());
}

#[test]
fn resources_pick_their_upstream_longest_route_first() {
    let default_sink = Sink::start();
    let live_sink = Sink::start();
    let special_sink = Sink::start();
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://{}", default_sink.addr),
        "--route",
        &format!("live=tcp://{}", live_sink.addr),
        "--route",
        &format!("live/special=tcp://{}", special_sink.addr),
    ]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));

    let special = stream_bytes(300_000, 1);
    let live = stream_bytes(200_000, 2);
    let other = stream_bytes(100_000, 3);
    push(
        &format!("srt://{gateway_addr}?streamid=%23!::r=live/special/cam1,m=publish"),
        &special,
    );
    push(
        &format!("srt://{gateway_addr}?streamid=%23!::h=push.example.com,r=live/test,txSecret=abc"),
        &live,
    );
    push(
        &format!("srt://{gateway_addr}?streamid=%23!::r=vod/x"),
        &other,
    );

    assert_eq!(
        special_sink.finish(),
        (special.len() as u64, sha256(&special))
    );
    assert_eq!(live_sink.finish(), (live.len() as u64, sha256(&live)));
    assert_eq!(default_sink.finish(), (other.len() as u64, sha256(&other)));

    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let log = gateway.stderr();
    assert_eq!(log.matches("session started").count(), 3, "{log}");
    assert_eq!(log.matches("session ended").count(), 3, "{log}");
}

#[test]
fn unreachable_upstream_rejects_and_the_proxy_exits_remote() {
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // With the upstream opened during the handshake, an unreachable one rejects the caller
    // (gateway_first_bytes.rs covers the default, first-bytes).
    let mut gateway = Tmio::spawn(&[
        "gateway",
        "srt://127.0.0.1:0",
        &format!("tcp://127.0.0.1:{closed_port}"),
        "--upstream-connect",
        "accept",
    ]);
    let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &format!("srt://{gateway_addr}?streamid=%23!::r=live/test"),
    ]);
    let status = proxy.wait_exit(Duration::from_secs(20));
    let stderr = proxy.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tmio: error (remote): "), "{stderr}");

    gateway.signal(Signal::SIGTERM);
    assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
    let log = gateway.stderr();
    assert!(log.contains("caller rejected"), "{log}");
    assert!(log.contains(&format!("127.0.0.1:{closed_port}")), "{log}");
}

#[test]
fn a_stream_id_routes_alike_written_with_hash_or_percent_23() {
    // ffmpeg 5.1 and libsrt's apps send `streamid=%23!::…` as written, without decoding it;
    // tmio decodes it. `%2523` makes tmio's proxy send a literal `%23`, as those callers do.
    for spelling in [
        "#!::r=live/special",
        "%23!::r=live/special",
        "%2523!::r=live/special",
    ] {
        let closed_port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let routed = Sink::start();
        let mut gateway = Tmio::spawn(&[
            "gateway",
            "srt://127.0.0.1:0",
            &format!("tcp://127.0.0.1:{closed_port}"),
            "--route",
            &format!("live/special=tcp://{}", routed.addr),
        ]);
        let gateway_addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
        let data = stream_bytes(50_000, 4);
        // A session sent to the default upstream (a closed port) would make the proxy exit 1.
        push(&format!("srt://{gateway_addr}?streamid={spelling}"), &data);
        assert_eq!(
            routed.finish(),
            (data.len() as u64, sha256(&data)),
            "{spelling}"
        );
        gateway.signal(Signal::SIGTERM);
        assert_eq!(gateway.wait_exit(Duration::from_secs(15)).code(), Some(0));
    }
}
