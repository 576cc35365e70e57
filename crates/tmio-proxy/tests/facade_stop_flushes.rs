//! `TmioProxy::stop` right after the pusher finished delivers everything the pusher sent, bytes
//! still in the local socket's buffer included (the pump drains what is ready before it stops).
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{io::Write as _, net::TcpStream, time::Duration};

use common::{payload, started_proxy};

#[test]
fn stop_right_after_the_pusher_closed_loses_nothing() {
    let mut started = started_proxy(&[("maxbw", "-1")], "");
    let data = payload(4 << 20, 21);
    let mut pusher = TcpStream::connect((started.ip.as_str(), started.port)).unwrap();
    pusher.write_all(&data).unwrap();
    drop(pusher);
    // At once: most of the 4 MiB is still in the socket buffers or in flight.
    started.proxy.stop();
    let received = started.next_received(Duration::from_secs(20));
    assert_eq!(received.len(), data.len());
    assert!(received == data, "the bytes differ");
}
