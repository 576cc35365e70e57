//! Many proxies run at once in one process (50 facades to one gateway), each moving its own
//! bytes exactly.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{io::Write, time::Duration};

use common::{next_seen, payload, recorder, Seen};
use tmio_proxy::TmioProxy;

const PROXIES: usize = 50;
const BYTES: usize = 200_000;

#[test]
fn fifty_proxies_at_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut sink, gateway) = rt.block_on(async {
        let sink = common::sink().await;
        let gateway = common::gateway(sink.addr, &[]).await;
        (sink, gateway)
    });
    let remote = format!("srt://{}", gateway.local_addr());
    let mut proxies = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..PROXIES {
        let proxy = TmioProxy::create();
        let (listener, seen) = recorder(&[]);
        proxy.set_listener(listener);
        proxy.start("tcp://127.0.0.1:0", &remote, None).unwrap();
        let Seen::Started(_, port) = next_seen(&seen, Duration::from_secs(5)) else {
            panic!("expected on_start")
        };
        ports.push(port);
        proxies.push((proxy, seen));
    }
    let pushers: Vec<_> = ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            std::thread::spawn(move || {
                let mut pusher = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut data = payload(BYTES, i as u64);
                data[..8].copy_from_slice(&(i as u64).to_be_bytes());
                pusher.write_all(&data).unwrap();
            })
        })
        .collect();
    for pusher in pushers {
        pusher.join().unwrap();
    }
    let mut seen_ids = std::collections::BTreeSet::new();
    rt.block_on(async {
        for _ in 0..PROXIES {
            let got = tokio::time::timeout(Duration::from_secs(60), sink.received.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.len(), BYTES);
            let id = u64::from_be_bytes(got[..8].try_into().unwrap());
            let mut want = payload(BYTES, id);
            want[..8].copy_from_slice(&id.to_be_bytes());
            assert!(got == want, "proxy {id}: bytes differ");
            seen_ids.insert(id);
        }
    });
    assert_eq!(seen_ids.len(), PROXIES);
    for (proxy, seen) in proxies {
        proxy.stop();
        assert!(seen.try_recv().is_err(), "unexpected on_error");
    }
}
