//! A tmio group over real kernel paths: caller in namespace A, listener (with groups) in B, joined
//! by two veth links with their own addresses; each member binds its link's address. 4 MiB at
//! 20 Mbit/s; once 1.5 MiB arrived, link 0 is cut (`ip link set down`, or an nftables rule
//! dropping everything): broadcast and backup (link 0 active, weight 100) deliver every byte
//! (sha256); the longest delivery pause is printed, not asserted.
//!
//! Needs root (`ip`, `nft`): without it each test prints why it is skipped, except under `CI`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tmio_testkit::{Cut, NetnsLinks, Side};
use tmio_transport::srt::{
    GroupConnect, GroupMode, LinkEvent, ListenerLimits, MemberSpec, SrtConfig, SrtListener,
    SrtStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOTAL: usize = 4 << 20;
const CUT_AFTER: usize = 3 << 19;
const PORT: u16 = 9000;

fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

fn config() -> SrtConfig {
    SrtConfig {
        connect_timeout: Duration::from_secs(5),
        ..SrtConfig::default()
    }
}

fn group_over_veth(mode: GroupMode, cut: Cut) {
    let links = NetnsLinks::new(2).unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let progress = received.clone();
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let listen = SocketAddr::from(([0, 0, 0, 0], PORT));
    let server = links
        .enter_on_thread(Side::B, move || async move {
            let mut listener =
                SrtListener::bind_with(listen, config(), ListenerLimits::default(), true)
                    .await
                    .unwrap();
            ready_tx.send(()).unwrap();
            let run = async {
                let request = listener.next_request().await.unwrap();
                let mut stream = request.accept(None).await.unwrap();
                let mut got = Vec::with_capacity(TOTAL);
                let mut buf = vec![0u8; 64 << 10];
                let mut last: Option<Instant> = None;
                let mut longest = Duration::ZERO;
                loop {
                    let n = stream.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    let now = Instant::now();
                    if let Some(last) = last {
                        longest = longest.max(now - last);
                    }
                    last = Some(now);
                    got.extend_from_slice(&buf[..n]);
                    progress.store(got.len(), Ordering::Release);
                }
                (got, longest, stream.path_reports().len())
            };
            tokio::time::timeout(Duration::from_secs(60), run)
                .await
                .expect("the listener end finished in time")
        })
        .unwrap();
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let members: Vec<MemberSpec> = links
        .links()
        .iter()
        .enumerate()
        .map(|(index, link)| MemberSpec {
            remote: SocketAddr::from((link.addr(Side::B), PORT)),
            bind: Some(SocketAddr::from((link.addr(Side::A), 0))),
            weight: if index == 0 { 100 } else { 10 },
            device: None,
        })
        .collect();
    let data = Arc::new(payload(TOTAL, 5));
    let sent = data.clone();
    let client = links
        .enter_on_thread(Side::A, move || async move {
            let group = GroupConnect {
                mode,
                members,
                config: config(),
            };
            let mut stream = SrtStream::connect_group(group).await.unwrap();
            for _ in 0..500 {
                if stream.path_reports().len() == 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(stream.path_reports().len(), 2, "both members connected");
            let send = async {
                stream.write_all(&sent).await.unwrap();
                stream.shutdown().await.unwrap();
            };
            tokio::time::timeout(Duration::from_secs(60), send)
                .await
                .expect("the caller end finished in time");
            stream.link_events()
        })
        .unwrap();
    // Cut link 0 once 1.5 MiB arrived (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Acquire) < CUT_AFTER && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    links.cut(0, cut).unwrap();
    let cut_at = received.load(Ordering::Acquire);
    let events = client.join().unwrap().unwrap();
    let (got, longest, paths) = server.join().unwrap().unwrap();
    println!(
        "{mode:?}, link 0 cut ({cut:?}) after {cut_at} bytes: {} of {TOTAL} bytes, longest delivery pause {:.1} ms",
        got.len(),
        longest.as_secs_f64() * 1e3
    );
    for event in &events {
        println!("  caller: {event:?}");
    }
    assert_eq!(got.len(), TOTAL);
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data[..]));
    assert_eq!(paths, 2);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, LinkEvent::MemberConnected { .. }))
            .count(),
        2
    );
    links.remove().unwrap();
}

#[test]
fn broadcast_group_over_two_veth_links_loses_nothing_when_one_goes_down() {
    let test = "broadcast_group_over_two_veth_links_loses_nothing_when_one_goes_down";
    if !NetnsLinks::should_run(test).unwrap() {
        return;
    }
    group_over_veth(GroupMode::Broadcast, Cut::LinkDown);
    group_over_veth(GroupMode::Broadcast, Cut::DropAll);
}

#[test]
fn backup_group_over_two_veth_links_fails_over_when_the_active_one_is_cut() {
    let test = "backup_group_over_two_veth_links_fails_over_when_the_active_one_is_cut";
    if !NetnsLinks::should_run(test).unwrap() {
        return;
    }
    group_over_veth(GroupMode::Backup, Cut::LinkDown);
    group_over_veth(GroupMode::Backup, Cut::DropAll);
}
