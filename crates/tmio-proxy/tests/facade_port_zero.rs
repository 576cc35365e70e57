//! `start` with port 0: the proxy connects SRT first, binds a free port, reports it through
//! `on_start`, and the pusher's bytes reach the far side exactly.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{io::Write, time::Duration};

use common::{next_seen, payload, recorder, Seen};
use tmio_proxy::TmioProxy;

#[test]
fn port_zero_is_reported_and_bytes_arrive() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut sink, gateway) = rt.block_on(async {
        let sink = common::sink().await;
        let gateway = common::gateway(sink.addr, &[]).await;
        (sink, gateway)
    });
    let proxy = TmioProxy::create();
    let (listener, seen) = recorder(&[("Maximum bandwidth (bytes per second)", "-1")]);
    proxy.set_listener(listener);
    let remote = format!("srt://{}?streamid=%23!::r=live/test", gateway.local_addr());
    proxy.start("tcp://127.0.0.1:0", &remote, None).unwrap();
    let Seen::Started(ip, port) = next_seen(&seen, Duration::from_secs(5)) else {
        panic!("expected on_start first")
    };
    assert_eq!(ip, "127.0.0.1");
    assert_ne!(port, 0);

    let data = payload(1 << 20, 3);
    let mut pusher = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    pusher.write_all(&data).unwrap();
    drop(pusher);
    let got = rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(20), sink.received.recv()).await
        })
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
    let stats = proxy.stats().unwrap();
    assert!(stats.bytes_sent >= data.len() as u64, "{stats:?}");
    proxy.stop();
    assert!(seen.try_recv().is_err(), "no error expected");
}
