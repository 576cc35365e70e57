//! `Proxy` with a bonded group (two links, one behind a UDP relay that is cut mid-stream) → a
//! `Gateway` listening with `groupconnect=1` → a TCP sink: the group is one session and one
//! upstream connection, and every byte arrives (sha256).
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::time::Duration;

use sha2::{Digest, Sha256};
use tmio_proxy::{Bond, BondLink, Gateway, GatewayEvent, GroupMode, Proxy};
use tmio_testkit::{LossyUdpRelay, RelayConfig};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const TOTAL: usize = 4 << 20;
const CUT_AFTER: usize = 3 << 19;

async fn bonded_push(mode: GroupMode) {
    // The upstream: counts what arrives and cuts the relay link after CUT_AFTER bytes.
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let mut gateway = Gateway::builder("srt://127.0.0.1:0?groupconnect=1")
        .unwrap()
        .upstream(&format!("tcp://{upstream_addr}"))
        .unwrap()
        .start()
        .await
        .unwrap();
    let port = gateway.local_addr().port();
    let relay = std::sync::Arc::new(
        LossyUdpRelay::start(RelayConfig::new(gateway.local_addr()))
            .await
            .unwrap(),
    );
    let cut_relay = relay.clone();
    let sink = tokio::spawn(async move {
        let (mut socket, _) = upstream.accept().await.unwrap();
        let mut got = Vec::with_capacity(TOTAL);
        let mut buf = vec![0u8; 64 << 10];
        let mut cut = false;
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if !cut && got.len() >= CUT_AFTER {
                cut_relay.blackout_now(Duration::from_secs(600));
                cut = true;
            }
        }
        // One group, one upstream connection: nobody else connects.
        let second = tokio::time::timeout(Duration::from_millis(200), upstream.accept()).await;
        assert!(second.is_err(), "a second upstream connection was opened");
        got
    });
    let links = vec![
        BondLink::parse(&format!("srt://127.0.0.1:{port},weight=10")).unwrap(),
        BondLink::parse(&format!("srt://{},weight=100", relay.local_addr())).unwrap(),
    ];
    let mut proxy = Proxy::builder(
        "tcp://127.0.0.1:0",
        &format!("srt://127.0.0.1:{port}?streamid=%23!::r=live/bond,m=publish"),
    )
    .unwrap()
    .bond(Bond { mode, links })
    .start()
    .await
    .unwrap();
    // Both links up before the push (bounded wait).
    let monitor = proxy.monitor();
    for _ in 0..500 {
        if monitor.path_reports().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(monitor.path_reports().len(), 2);
    let data = common::payload(TOTAL, 9);
    let mut pusher = TcpStream::connect(proxy.local_addr()).await.unwrap();
    pusher.write_all(&data).await.unwrap();
    pusher.shutdown().await.unwrap();
    let moved = proxy.wait().await.unwrap();
    assert_eq!(moved.local_to_remote, TOTAL as u64);
    let got = sink.await.unwrap();
    assert_eq!(got.len(), TOTAL);
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data));
    let events = monitor.link_events();
    println!(
        "{mode:?}: {} bytes through; link events {events:?}",
        got.len()
    );
    let mut started = 0;
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(500), gateway.next_event()).await
    {
        if matches!(event, GatewayEvent::SessionStarted { .. }) {
            started += 1;
        }
        if matches!(event, GatewayEvent::SessionEnded { .. }) {
            break;
        }
    }
    assert_eq!(started, 1, "one session for the group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_group_through_the_gateway_survives_a_cut_link() {
    tokio::time::timeout(Duration::from_secs(60), bonded_push(GroupMode::Broadcast))
        .await
        .expect("finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_group_through_the_gateway_fails_over_from_a_cut_link() {
    tokio::time::timeout(Duration::from_secs(60), bonded_push(GroupMode::Backup))
        .await
        .expect("finished in time");
}

#[tokio::test]
async fn a_gateway_without_groupconnect_refuses_a_group() {
    let gateway = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream("tcp://127.0.0.1:9")
        .unwrap()
        .start()
        .await
        .unwrap();
    let port = gateway.local_addr().port();
    let links = vec![BondLink::parse(&format!("srt://127.0.0.1:{port}")).unwrap()];
    let error = Proxy::builder("tcp://127.0.0.1:0", &format!("srt://127.0.0.1:{port}"))
        .unwrap()
        .bond(Bond {
            mode: GroupMode::Broadcast,
            links,
        })
        .start()
        .await
        .unwrap_err();
    println!("{error}");
    assert!(error.to_string().contains("1015"), "{error}");
    drop(gateway);
}

#[test]
fn link_specs_are_checked() {
    assert!(BondLink::parse("srt://127.0.0.1:9000,bind=127.0.0.2:5000,weight=100").is_ok());
    let with_device = BondLink::parse("srt://127.0.0.1:9000,dev=wlan0,weight=7").unwrap();
    assert_eq!(with_device.device.as_deref(), Some("wlan0"));
    assert_eq!(with_device.weight, 7);
    for bad in [
        "srt://127.0.0.1:9000,dev=",
        "srt://127.0.0.1:9000,dev=an-interface-name-too-long",
        "srt://127.0.0.1:9000,weight=101",
        "srt://127.0.0.1:9000,bind=nowhere",
        "srt://127.0.0.1:9000,colour=blue",
        "srt://127.0.0.1:9000?latency=200",
        "tcp://127.0.0.1:9000",
    ] {
        assert!(BondLink::parse(bad).is_err(), "{bad}");
    }
}

/// libsrt 1.5.1's group caller (`srt-test-live`, two members from 127.0.0.2 and 127.0.0.3)
/// → the gateway with `groupconnect=1` → a TCP sink: one session, every byte. Skipped with a
/// message without the bonding build (scripts/build-libsrt-bonding.sh).
async fn libsrt_group_to_gateway(kind: tmio_testkit::GroupType) {
    use tmio_testkit::{
        libsrt_group::GROUP_CHUNK, loopback_members, Feed, GroupUri, LibsrtGroupPeer,
    };
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    let mut gateway = Gateway::builder("srt://127.0.0.1:0?groupconnect=1")
        .unwrap()
        .upstream(&format!("tcp://{upstream_addr}"))
        .unwrap()
        .start()
        .await
        .unwrap();
    let port = gateway.local_addr().port();
    let len = 1600 * GROUP_CHUNK;
    let data = std::sync::Arc::new(common::payload(len, 12));
    let mut fed = (*data).clone();
    fed.extend(std::iter::repeat_n(0u8, 200 * GROUP_CHUNK));
    let members = loopback_members(port, 2);
    let members = vec![members[0].clone().weight(1), members[1].clone().weight(0)];
    let uri = GroupUri::caller(kind, members).option("latency", "200");
    let mut libsrt = LibsrtGroupPeer::sender(
        uri,
        Feed::Paced {
            data: std::sync::Arc::new(fed),
            bytes_per_sec: 2_000_000,
        },
    )
    .lifetime(Duration::from_secs(30))
    .linger(Duration::from_secs(2))
    .spawn()
    .unwrap();
    let (mut socket, _) = tokio::time::timeout(Duration::from_secs(10), upstream.accept())
        .await
        .unwrap_or_else(|_| panic!("no upstream connection; libsrt: {}", libsrt.stderr_text()))
        .unwrap();
    let mut got = vec![0u8; len];
    tokio::time::timeout(Duration::from_secs(20), socket.read_exact(&mut got))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{kind:?}: not every byte came; libsrt: {}",
                libsrt.stderr_text()
            )
        })
        .unwrap();
    let _ = libsrt.stop();
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data[..]), "{kind:?}");
    let second = tokio::time::timeout(Duration::from_millis(200), upstream.accept()).await;
    assert!(second.is_err(), "a second upstream connection was opened");
    let mut started = 0;
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(200), gateway.next_event()).await
    {
        if matches!(event, GatewayEvent::SessionStarted { .. }) {
            started += 1;
        }
    }
    assert_eq!(started, 1, "{kind:?}: one session for the group");
    println!("libsrt {kind:?} group -> gateway: {len} bytes, one session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libsrt_groups_reach_a_gateway_with_groupconnect() {
    let test = "libsrt_groups_reach_a_gateway_with_groupconnect";
    if !tmio_testkit::LibsrtGroupPeer::should_run(test).unwrap() {
        return;
    }
    for kind in [
        tmio_testkit::GroupType::Broadcast,
        tmio_testkit::GroupType::Backup,
    ] {
        tokio::time::timeout(Duration::from_secs(60), libsrt_group_to_gateway(kind))
            .await
            .expect("finished in time");
    }
}
