//! A tmio group over real kernel paths: caller in namespace A, listener (with groups) in B, joined
//! by two or three veth links with their own addresses; each member binds its link's address.
//! 4 MiB at 20 Mbit/s; once 1.5 MiB arrived, one link is cut (`ip link set down`, or an nftables
//! rule dropping everything); every byte must arrive (sha256). Cases:
//!
//! - two clean links, link 0 cut: broadcast, and backup (link 0 active, weight 100);
//! - three links, broadcast: 5 % random loss (nft) on link 0, link 1 limited to 25 Mbit/s (tbf),
//!   link 2 clean and cut;
//! - three links, backup (weights 100/50/10), 2 % loss on every link, the active link cut; which
//!   link took over is printed.
//!
//! The longest delivery pause, and the longest one ending after the cut, are printed, not
//! asserted. Needs root (`ip`, `nft`, `tc`): without it each test prints why it is skipped,
//! except under `CI`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    net::{IpAddr, SocketAddr},
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
    GroupConnect, GroupMode, LinkEvent, ListenerLimits, MemberSpec, PathEvent, PathState,
    SrtConfig, SrtListener, SrtStream,
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

/// Which link a case cuts.
#[derive(Debug, Clone, Copy)]
enum CutTarget {
    /// This link, by index.
    Link(usize),
    /// Backup: the link whose path is active when the cut is due (asked from the caller's
    /// path reports).
    Active,
}

/// One run: the links' settings (one entry per link), the mode and the cut.
#[derive(Debug, Clone, Copy)]
struct Case {
    mode: GroupMode,
    /// Backup weights, one per link (broadcast ignores them).
    weights: &'static [u8],
    /// Random UDP loss in each direction, percent, one per link.
    loss_percent: &'static [f64],
    /// tbf rate in each direction, one per link (`None`: unlimited).
    rate_bits_per_sec: &'static [Option<u64>],
    target: CutTarget,
    cut: Cut,
}

/// A gap between two reads on the listener end: when the later read returned, and how long
/// the gap was.
type Gap = (Instant, Duration);

/// The link whose address a path report's local address is (caller side), if any.
fn link_of(local: IpAddr, link_addrs: &[IpAddr]) -> Option<usize> {
    link_addrs.iter().position(|addr| *addr == local)
}

fn group_over_veth(case: Case) {
    let count = case.weights.len();
    assert_eq!(case.loss_percent.len(), count);
    assert_eq!(case.rate_bits_per_sec.len(), count);
    let links = NetnsLinks::new(count).unwrap();
    for (index, (&loss, &rate)) in case
        .loss_percent
        .iter()
        .zip(case.rate_bits_per_sec)
        .enumerate()
    {
        if loss > 0.0 {
            links.set_loss(index, loss).unwrap();
        }
        if let Some(rate) = rate {
            links.set_rate(index, rate).unwrap();
        }
    }
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
                let mut gaps: Vec<Gap> = Vec::new();
                loop {
                    let n = stream.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    let now = Instant::now();
                    if let Some(last) = last {
                        let gap = now - last;
                        // Only gaps worth reporting are kept (at most one per read).
                        if gap >= Duration::from_millis(1) {
                            gaps.push((now, gap));
                        }
                    }
                    last = Some(now);
                    got.extend_from_slice(&buf[..n]);
                    progress.store(got.len(), Ordering::Release);
                }
                (got, gaps, stream.path_reports().len())
            };
            tokio::time::timeout(Duration::from_secs(60), run)
                .await
                .expect("the listener end finished in time")
        })
        .unwrap();
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let link_addrs: Vec<IpAddr> = links
        .links()
        .iter()
        .map(|link| IpAddr::from(link.addr(Side::A)))
        .collect();
    let members: Vec<MemberSpec> = links
        .links()
        .iter()
        .zip(case.weights)
        .map(|(link, &weight)| MemberSpec {
            remote: SocketAddr::from((link.addr(Side::B), PORT)),
            bind: Some(SocketAddr::from((link.addr(Side::A), 0))),
            weight,
            device: None,
        })
        .collect();
    let data = Arc::new(payload(TOTAL, 5));
    let sent = data.clone();
    let mode = case.mode;
    let (monitor_tx, monitor_rx) = mpsc::sync_channel(1);
    let client = links
        .enter_on_thread(Side::A, move || async move {
            let group = GroupConnect {
                mode,
                members,
                config: config(),
            };
            let mut stream = SrtStream::connect_group(group).await.unwrap();
            for _ in 0..500 {
                if stream.path_reports().len() == count {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(stream.path_reports().len(), count, "every member connected");
            monitor_tx.send(stream.monitor()).unwrap();
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
    let monitor = monitor_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // Cut once 1.5 MiB arrived (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Acquire) < CUT_AFTER && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let cut_link = match case.target {
        CutTarget::Link(index) => index,
        CutTarget::Active => {
            let active: Vec<usize> = monitor
                .path_reports()
                .iter()
                .filter(|report| report.stats.state == PathState::Active)
                .filter_map(|report| link_of(report.local.ip(), &link_addrs))
                .collect();
            assert_eq!(active.len(), 1, "one active path in backup: {active:?}");
            active[0]
        }
    };
    let cut_at_time = Instant::now();
    links.cut(cut_link, case.cut).unwrap();
    let cut_at = received.load(Ordering::Acquire);
    let events = client.join().unwrap().unwrap();
    let (got, gaps, paths) = server.join().unwrap().unwrap();
    let longest = gaps.iter().map(|&(_, gap)| gap).max().unwrap_or_default();
    let longest_after_cut = gaps
        .iter()
        .filter(|&&(end, _)| end >= cut_at_time)
        .map(|&(_, gap)| gap)
        .max()
        .unwrap_or_default();
    let dropped: Vec<(u64, u64)> = (0..count)
        .map(|index| {
            (
                links.dropped_toward(index, Side::B).unwrap(),
                links.dropped_toward(index, Side::A).unwrap(),
            )
        })
        .collect();
    println!(
        "{:?}, {count} links (weights {:?}, loss {:?} %, rate {:?} bit/s), link {cut_link} cut ({:?}) after {cut_at} bytes: {} of {TOTAL} bytes, longest delivery pause {:.1} ms, longest ending after the cut {:.1} ms; nft drops toward B/A per link {dropped:?}",
        case.mode,
        case.weights,
        case.loss_percent,
        case.rate_bits_per_sec,
        case.cut,
        got.len(),
        longest.as_secs_f64() * 1e3,
        longest_after_cut.as_secs_f64() * 1e3,
    );
    for event in &events {
        println!("  caller: {event:?}");
    }
    if matches!(case.mode, GroupMode::Backup) {
        // The path activated last, as a link index: the one that took over after the cut.
        let took_over = events.iter().rev().find_map(|event| match event {
            LinkEvent::Path(PathEvent::Activated(path)) => Some(*path),
            _ => None,
        });
        let took_over_link = took_over.and_then(|path| {
            events.iter().find_map(|event| match event {
                LinkEvent::MemberConnected {
                    path: connected,
                    local,
                    ..
                } if *connected == path => link_of(local.ip(), &link_addrs),
                _ => None,
            })
        });
        println!("  took over: {took_over:?} = link {took_over_link:?}");
        assert_ne!(took_over_link, Some(cut_link), "another link took over");
    }
    assert_eq!(got.len(), TOTAL);
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data[..]));
    assert_eq!(paths, count);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, LinkEvent::MemberConnected { .. }))
            .count(),
        count
    );
    links.remove().unwrap();
}

/// Two clean links, link 0 cut (weights 100/10).
fn two_clean_links(mode: GroupMode, cut: Cut) -> Case {
    Case {
        mode,
        weights: &[100, 10],
        loss_percent: &[0.0, 0.0],
        rate_bits_per_sec: &[None, None],
        target: CutTarget::Link(0),
        cut,
    }
}

#[test]
fn broadcast_group_over_two_veth_links_loses_nothing_when_one_goes_down() {
    let test = "broadcast_group_over_two_veth_links_loses_nothing_when_one_goes_down";
    if !NetnsLinks::should_run(test).unwrap() {
        return;
    }
    group_over_veth(two_clean_links(GroupMode::Broadcast, Cut::LinkDown));
    group_over_veth(two_clean_links(GroupMode::Broadcast, Cut::DropAll));
}

#[test]
fn backup_group_over_two_veth_links_fails_over_when_the_active_one_is_cut() {
    let test = "backup_group_over_two_veth_links_fails_over_when_the_active_one_is_cut";
    if !NetnsLinks::should_run(test).unwrap() {
        return;
    }
    group_over_veth(two_clean_links(GroupMode::Backup, Cut::LinkDown));
    group_over_veth(two_clean_links(GroupMode::Backup, Cut::DropAll));
}

#[test]
fn broadcast_group_over_three_impaired_veth_links_loses_nothing_when_one_goes_down() {
    let test = "broadcast_group_over_three_impaired_veth_links_loses_nothing_when_one_goes_down";
    if !NetnsLinks::should_run(test).unwrap() {
        return;
    }
    group_over_veth(Case {
        mode: GroupMode::Broadcast,
        weights: &[100, 100, 100],
        loss_percent: &[5.0, 0.0, 0.0],
        rate_bits_per_sec: &[None, Some(25_000_000), None],
        target: CutTarget::Link(2),
        cut: Cut::LinkDown,
    });
}

#[test]
fn backup_group_over_three_lossy_veth_links_fails_over_when_the_active_one_is_cut() {
    let test = "backup_group_over_three_lossy_veth_links_fails_over_when_the_active_one_is_cut";
    if !NetnsLinks::should_run(test).unwrap() {
        return;
    }
    group_over_veth(Case {
        mode: GroupMode::Backup,
        weights: &[100, 50, 10],
        loss_percent: &[2.0, 2.0, 2.0],
        rate_bits_per_sec: &[None, None, None],
        target: CutTarget::Active,
        cut: Cut::LinkDown,
    });
}
