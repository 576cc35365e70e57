//! One proxy serves exactly one pusher: a second TCP connection is refused.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{
    io::{Read, Write},
    time::Duration,
};

use common::{next_seen, recorder, Seen};
use tmio_proxy::TmioProxy;

#[test]
fn second_client_is_refused() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut sink, gateway) = rt.block_on(async {
        let sink = common::sink().await;
        let gateway = common::gateway(sink.addr, &[]).await;
        (sink, gateway)
    });
    let proxy = TmioProxy::create();
    let (listener, seen) = recorder(&[]);
    proxy.set_listener(listener);
    proxy
        .start(
            "tcp://127.0.0.1:0",
            &format!("srt://{}", gateway.local_addr()),
            None,
        )
        .unwrap();
    let Seen::Started(_, port) = next_seen(&seen, Duration::from_secs(5)) else {
        panic!("expected on_start")
    };
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
    let got = rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(10), sink.received.recv()).await
        })
        .unwrap()
        .unwrap();
    assert_eq!(got, b"first");
    // No second session reached the far side.
    let more = rt.block_on(async {
        tokio::time::timeout(Duration::from_millis(500), sink.received.recv()).await
    });
    assert!(more.is_err(), "a second session reached the server");
    proxy.stop();
}
