//! `start` with port 0: the proxy connects SRT first, binds a free port, reports it through
//! `on_start`, and the pusher's bytes reach the far side exactly.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{io::Write, time::Duration};

use common::{payload, started_proxy};

#[test]
fn port_zero_is_reported_and_bytes_arrive() {
    let mut started = started_proxy(
        &[("Maximum bandwidth (bytes per second)", "-1")],
        "?streamid=%23!::r=live/test",
    );
    assert_eq!(started.ip, "127.0.0.1");
    assert_ne!(started.port, 0);

    let data = payload(1 << 20, 3);
    let mut pusher = std::net::TcpStream::connect(("127.0.0.1", started.port)).unwrap();
    pusher.write_all(&data).unwrap();
    drop(pusher);
    let got = started.next_received(Duration::from_secs(20));
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
    let stats = started.proxy.stats().unwrap();
    assert!(stats.bytes_sent >= data.len() as u64, "{stats:?}");
    started.proxy.stop();
    assert!(started.seen.try_recv().is_err(), "no error expected");
}
