//! `tmio proxy` towards a port where no SRT listener answers exits 1, and its message says the
//! remote side failed.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{net::UdpSocket, time::Duration};

use common::Tmio;

fn assert_remote_failure(port: u16) {
    let remote = format!("srt://127.0.0.1:{port}");
    let mut tmio = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &remote,
        "--opt",
        "conntimeo=500",
    ]);
    let status = tmio.wait_exit(Duration::from_secs(15));
    let stderr = tmio.stderr();
    assert_eq!(status.code(), Some(1), "stderr:\n{stderr}");
    assert!(stderr.contains("tmio: error (remote): "), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(!stderr.contains("listening tcp://"), "{stderr}");
}

#[test]
fn silent_udp_port_times_out_as_a_remote_error() {
    // A bound UDP socket that never answers: the handshake times out.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_remote_failure(silent.local_addr().unwrap().port());
    drop(silent);
}

#[test]
fn closed_udp_port_is_a_remote_error() {
    let port = {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    assert_remote_failure(port);
}
