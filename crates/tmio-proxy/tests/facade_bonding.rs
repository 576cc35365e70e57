//! The SDK's bonding config through the facade: `start(local, remote, Some(BondingConfig))`
//! with two links (one behind a UDP relay that is cut mid-push) to a gateway listening with
//! `groupconnect=1`: every byte arrives, the cut link's `on_broken` callback gets that link's
//! config, `add_remote_link` adds a member to the running group; and a one-link config binds
//! its address.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;

use std::{
    io::Write as _,
    net::{Shutdown, SocketAddr, TcpStream},
    sync::{mpsc, Arc},
    time::Duration,
};

use common::{next_seen, payload, recorder, Seen};
use sha2::{Digest, Sha256};
use tmio_proxy::{
    BondingConfig, BondingMode, BrokenLink, Gateway, GatewayEvent, LinkConfig, LinkLocal, TmioProxy,
};
use tmio_testkit::{LossyUdpRelay, RelayConfig};
use tokio::{io::AsyncReadExt, net::TcpListener};

const TOTAL: usize = 4 << 20;
const CUT_AFTER: usize = 3 << 19;

fn bonded_push_through_the_facade(mode: BondingMode) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (upstream, gateway, relay) = rt.block_on(async {
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = upstream.local_addr().unwrap();
        let gateway = Gateway::builder("srt://127.0.0.1:0?groupconnect=1")
            .unwrap()
            .upstream(&format!("tcp://{upstream_addr}"))
            .unwrap()
            .start()
            .await
            .unwrap();
        let relay = Arc::new(
            LossyUdpRelay::start(RelayConfig::new(gateway.local_addr()))
                .await
                .unwrap(),
        );
        (upstream, gateway, relay)
    });
    let gateway_addr = gateway.local_addr();
    // The upstream reads everything and cuts the relayed link after CUT_AFTER bytes.
    let cut_relay = relay.clone();
    let sink = rt.spawn(async move {
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
        got
    });

    let (broken_tx, broken_rx) = mpsc::channel::<BrokenLink>();
    let link = |addr: SocketAddr, weight: u8, tx: Option<mpsc::Sender<BrokenLink>>| LinkConfig {
        local: LinkLocal::Bind("127.0.0.1:0".parse().unwrap()),
        remote_url: format!("srt://{addr}"),
        weight,
        interface: None,
        on_broken: tx.map(|tx| {
            Box::new(move |link: &BrokenLink| {
                let _ = tx.send(link.clone());
            }) as tmio_proxy::LinkBrokenCallback
        }),
    };
    let config = BondingConfig {
        mode,
        links: vec![
            link(gateway_addr, 10, None),
            // Preferred in backup mode: the cut hits the active link.
            link(relay.local_addr(), 100, Some(broken_tx)),
        ],
    };
    let proxy = TmioProxy::create();
    // A short idle timeout: the cut link is declared broken within a second.
    let (listener, seen) = recorder(&[("peeridletimeo", "1000")]);
    proxy.set_listener(listener);
    proxy
        .start(
            "tcp://127.0.0.1:0",
            &format!("srt://{gateway_addr}?streamid=%23!::r=live/facade"),
            Some(config),
        )
        .unwrap();
    let Seen::Started(ip, port) = next_seen(&seen, Duration::from_secs(10)) else {
        panic!("expected on_start")
    };
    // Both links up before the push (bounded wait on the group's statistics).
    std::thread::sleep(Duration::from_millis(300));

    let data = payload(TOTAL, 11);
    let mut pusher = TcpStream::connect((ip.as_str(), port)).unwrap();
    for chunk in data.chunks(64 << 10) {
        pusher.write_all(chunk).unwrap();
    }
    // The relayed link breaks: its callback hands back its config.
    let broken = broken_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the cut link's on_broken callback");
    assert_eq!(broken.remote_url, format!("srt://{}", relay.local_addr()));
    assert_eq!(broken.weight, 100);
    assert!(broken.reason.contains("nothing arrived"), "{broken:?}");
    // The application replaces it: a member joins the running group.
    let (added_tx, added_rx) = mpsc::channel::<BrokenLink>();
    proxy
        .add_remote_link(link(gateway_addr, 50, Some(added_tx)))
        .unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    let got = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), sink).await })
        .expect("the upstream connection ends")
        .unwrap();
    assert_eq!(got.len(), TOTAL);
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data));
    // The added link connected: its callback stayed silent.
    assert!(added_rx.recv_timeout(Duration::from_millis(300)).is_err());
    proxy.stop();
    drop(gateway);
}

#[test]
fn broadcast_group_through_the_facade_survives_a_cut_link_and_takes_a_new_one() {
    bonded_push_through_the_facade(BondingMode::Broadcast);
}

#[test]
fn backup_group_through_the_facade_survives_a_cut_link_and_takes_a_new_one() {
    bonded_push_through_the_facade(BondingMode::Backup);
}

/// Starts a facade with a one-link config whose local side is `local`, pushes a few bytes, and
/// returns the address the gateway saw the caller come from.
fn caller_address_of_a_one_link_config(local: LinkLocal) -> SocketAddr {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sink = rt.block_on(common::sink());
    let mut gateway = rt.block_on(common::gateway(sink.addr, &[]));
    let proxy = TmioProxy::create();
    let (listener, seen) = recorder(&[]);
    proxy.set_listener(listener);
    let config = BondingConfig {
        mode: BondingMode::Broadcast,
        links: vec![LinkConfig {
            local,
            remote_url: format!("srt://{}", gateway.local_addr()),
            weight: 0,
            interface: None,
            on_broken: None,
        }],
    };
    proxy
        .start("tcp://127.0.0.1:0", "srt://ignored:1", Some(config))
        .unwrap();
    let Seen::Started(ip, port) = next_seen(&seen, Duration::from_secs(10)) else {
        panic!("expected on_start")
    };
    let mut pusher = TcpStream::connect((ip.as_str(), port)).unwrap();
    pusher.write_all(b"one link").unwrap();
    pusher.shutdown(Shutdown::Write).unwrap();
    let peer = rt.block_on(async {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), gateway.next_event()).await {
                Ok(Some(GatewayEvent::SessionStarted { peer, .. })) => break peer,
                Ok(Some(_)) => continue,
                other => panic!("no session: {other:?}"),
            }
        }
    });
    proxy.stop();
    peer
}

#[test]
fn a_one_link_config_binds_its_address() {
    let bind: SocketAddr = "127.0.0.2:0".parse().unwrap();
    let peer = caller_address_of_a_one_link_config(LinkLocal::Bind(bind));
    assert_eq!(
        peer.ip(),
        bind.ip(),
        "the link did not send from its address"
    );
}

#[test]
fn a_one_link_config_sends_on_the_applications_socket() {
    let socket = std::net::UdpSocket::bind("127.0.0.3:0").unwrap();
    let socket_addr = socket.local_addr().unwrap();
    let peer = caller_address_of_a_one_link_config(LinkLocal::Socket(socket));
    assert_eq!(
        peer, socket_addr,
        "the link did not use the application's socket"
    );
}
