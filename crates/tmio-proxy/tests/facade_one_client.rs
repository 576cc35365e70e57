//! One proxy serves exactly one pusher: a second TCP connection is refused.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{
    io::{Read, Write},
    time::Duration,
};

use common::started_proxy;

#[test]
fn second_client_is_refused() {
    let mut started = started_proxy(&[], "");
    let port = started.port;
    let mut first = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    first.write_all(b"first").unwrap();
    // Give the proxy time to take the first pusher and close its listener.
    std::thread::sleep(Duration::from_millis(300));
    let second = std::net::TcpStream::connect(("127.0.0.1", port));
    match second {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(mut s) => {
            // Accepted by the kernel's backlog in a race: it must be reset, never served.
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let _ = s.write_all(b"second");
            let mut buf = [0u8; 1];
            let n = s.read(&mut buf);
            assert!(
                matches!(n, Ok(0) | Err(_)),
                "second client was served: {n:?}"
            );
        }
    }
    drop(first);
    assert_eq!(started.next_received(Duration::from_secs(10)), b"first");
    // No second session reached the far side.
    let received = &mut started.sink.received;
    let more = started.rt.block_on(async {
        tokio::time::timeout(Duration::from_millis(500), received.recv()).await
    });
    assert!(more.is_err(), "a second session reached the server");
    started.proxy.stop();
}
