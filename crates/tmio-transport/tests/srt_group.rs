//! Bonded groups through the tokio endpoint, tmio to tmio over loopback: a caller group of two
//! members (one of them behind a UDP relay) to a listener bound with groups on; one member is cut
//! mid-stream and every byte still arrives (sha256). The longest pause in delivery is printed,
//! not asserted (timing belongs to benches).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tmio_testkit::relay::{LossyUdpRelay, RelayConfig};
use tmio_transport::srt::{
    GroupConnect, GroupMode, LinkEvent, ListenerLimits, MemberSpec, PathEvent, SrtConfig,
    SrtListener, SrtStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOTAL: usize = 4 << 20;
const CUT_AFTER: usize = 3 << 19; // 1.5 MiB received
const CHUNK: usize = 64 << 10;

fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// A listener on a free loopback port that takes groups.
async fn group_listener(config: SrtConfig) -> SrtListener {
    SrtListener::bind_with(
        "127.0.0.1:0".parse().unwrap(),
        config,
        ListenerLimits::default(),
        true,
    )
    .await
    .unwrap()
}

/// What the listener side saw.
struct Received {
    bytes: Vec<u8>,
    longest_pause: Duration,
    paths: usize,
}

/// Accepts one group and reads it to the end, timing the pauses between reads; calls `cut`
/// once `CUT_AFTER` bytes have arrived.
async fn receive_group(mut listener: SrtListener, cut: Box<dyn FnOnce() + Send>) -> Received {
    let mut cut = Some(cut);
    let request = listener.next_request().await.unwrap();
    assert!(
        request.group_mode().is_some(),
        "the first member is a group's"
    );
    let mut stream = request.accept(None).await.unwrap();
    let mut bytes = Vec::with_capacity(TOTAL);
    let mut buf = vec![0u8; 64 << 10];
    let mut last: Option<Instant> = None;
    let mut longest_pause = Duration::ZERO;
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        let now = Instant::now();
        if let Some(last) = last {
            longest_pause = longest_pause.max(now - last);
        }
        last = Some(now);
        bytes.extend_from_slice(&buf[..n]);
        if bytes.len() >= CUT_AFTER {
            if let Some(cut) = cut.take() {
                cut();
            }
        }
    }
    let paths = stream.path_reports().len();
    for event in stream.link_events() {
        println!("listener: {event:?}");
    }
    Received {
        bytes,
        longest_pause,
        paths,
    }
}

/// A two-member group (member 0 direct, member 1 through a relay) sends 4 MiB; the member
/// `cut_member` is cut (100 % loss both ways) after 1.5 MiB.
async fn group_with_cut(mode: GroupMode, weights: [u8; 2], cut_member: usize) {
    let config = SrtConfig::default();
    let listener = group_listener(config.clone()).await;
    let addr = listener.local_addr();
    let relay = std::sync::Arc::new(LossyUdpRelay::start(RelayConfig::new(addr)).await.unwrap());
    let cut_relay = relay.clone();
    let cut: Box<dyn FnOnce() + Send> = Box::new(move || {
        if cut_member == 1 {
            cut_relay.blackout_now(Duration::from_secs(600));
        }
    });
    let server = tokio::spawn(receive_group(listener, cut));
    let group = GroupConnect {
        mode,
        members: vec![
            MemberSpec {
                remote: addr,
                bind: None,
                weight: weights[0],
                device: None,
            },
            MemberSpec {
                remote: relay.local_addr(),
                bind: None,
                weight: weights[1],
                device: None,
            },
        ],
        config,
    };
    let mut stream = SrtStream::connect_group(group).await.unwrap();
    // Both members connected before the data starts (bounded wait).
    for _ in 0..500 {
        if stream.path_reports().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stream.path_reports().len(), 2, "both members connected");
    let data = payload(TOTAL, 7);
    for chunk in data.chunks(CHUNK) {
        stream.write_all(chunk).await.unwrap();
    }
    stream.shutdown().await.unwrap();
    let reports = stream.path_reports();
    for report in &reports {
        println!(
            "caller path {} {} -> {}: {:?}, {} packets sent, {} retransmitted",
            report.path,
            report.local,
            report.remote,
            report.stats.state,
            report.stats.packets_sent,
            report.stats.packets_retransmitted
        );
    }
    let events = stream.link_events();
    for event in &events {
        println!("caller: {event:?}");
    }
    let received = server.await.unwrap();
    println!(
        "{mode:?}: {} of {} bytes, longest delivery pause {:.1} ms (member {cut_member} cut after {} bytes received)",
        received.bytes.len(),
        TOTAL,
        received.longest_pause.as_secs_f64() * 1e3,
        CUT_AFTER
    );
    assert_eq!(received.bytes.len(), TOTAL);
    assert_eq!(Sha256::digest(&received.bytes), Sha256::digest(&data));
    assert_eq!(received.paths, 2, "the listener's session had both members");
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, LinkEvent::MemberConnected { .. }))
            .count()
            == 2,
        "{events:?}"
    );
    if mode == GroupMode::Backup {
        // The cut member carried the data first (higher weight), the other took over.
        assert!(
            events
                .iter()
                .any(|e| matches!(e, LinkEvent::Path(PathEvent::Unstable { .. }))),
            "{events:?}"
        );
    }
    println!("relay: {:?}", relay.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_group_survives_a_member_cut() {
    tokio::time::timeout(
        Duration::from_secs(60),
        group_with_cut(GroupMode::Broadcast, [0, 0], 1),
    )
    .await
    .expect("finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_group_fails_over_when_the_active_member_is_cut() {
    tokio::time::timeout(
        Duration::from_secs(60),
        group_with_cut(GroupMode::Backup, [10, 100], 1),
    )
    .await
    .expect("finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_cannot_connect_is_reported_and_the_group_goes_on() {
    let config = SrtConfig {
        connect_timeout: Duration::from_millis(500),
        ..SrtConfig::default()
    };
    let mut listener = group_listener(config.clone()).await;
    let addr = listener.local_addr();
    // A port nobody answers on.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let group = GroupConnect {
        mode: GroupMode::Broadcast,
        members: vec![
            MemberSpec {
                remote: addr,
                bind: None,
                weight: 0,
                device: None,
            },
            MemberSpec {
                remote: silent.local_addr().unwrap(),
                bind: None,
                weight: 0,
                device: None,
            },
        ],
        config,
    };
    let server = tokio::spawn(async move {
        let mut stream = listener.accept().await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        got
    });
    let mut stream = SrtStream::connect_group(group).await.unwrap();
    let mut failed = None;
    for _ in 0..300 {
        failed = stream
            .link_events()
            .into_iter()
            .find(|e| matches!(e, LinkEvent::MemberFailed { member: 1, .. }));
        if failed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("{failed:?}");
    assert!(failed.is_some(), "the silent member is reported");
    let data = payload(256 << 10, 3);
    stream.write_all(&data).await.unwrap();
    stream.shutdown().await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_with_no_reachable_member_fails() {
    let config = SrtConfig {
        connect_timeout: Duration::from_millis(300),
        ..SrtConfig::default()
    };
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let group = GroupConnect {
        mode: GroupMode::Backup,
        members: vec![MemberSpec {
            remote: silent.local_addr().unwrap(),
            bind: None,
            weight: 1,
            device: None,
        }],
        config,
    };
    let error = SrtStream::connect_group(group).await.unwrap_err();
    println!("{error}");
    assert!(matches!(
        error,
        tmio_transport::Error::ConnectTimeout { .. }
    ));
}

#[tokio::test]
async fn a_group_needs_one_to_eight_members() {
    let group = GroupConnect {
        mode: GroupMode::Broadcast,
        members: Vec::new(),
        config: SrtConfig::default(),
    };
    let error = SrtStream::connect_group(group).await.unwrap_err();
    assert!(error.to_string().contains("1 to 8"), "{error}");
}

/// Waits (bounded) until `stream` reports an event `wanted` accepts; every event seen is kept.
async fn wait_for_event(
    stream: &SrtStream,
    seen: &mut Vec<LinkEvent>,
    wanted: impl Fn(&LinkEvent) -> bool,
) -> bool {
    for _ in 0..1000 {
        let fresh = stream.link_events();
        let found = fresh.iter().any(&wanted);
        seen.extend(fresh);
        if found {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_after_one_broke_carries_the_rest() {
    tokio::time::timeout(Duration::from_secs(60), member_added_after_one_broke())
        .await
        .expect("finished in time");
}

/// Members 0 and 1 each behind a relay; member 1 is cut for good and breaks; member 2 is added
/// (`add_member`, behind a third relay); then member 0 is cut too: the rest of the 4 MiB can
/// only go through the added member.
async fn member_added_after_one_broke() {
    let config = SrtConfig {
        peer_idle_timeout: Duration::from_secs(1),
        ..SrtConfig::default()
    };
    let mut listener = group_listener(config.clone()).await;
    let addr = listener.local_addr();
    let mut relays = Vec::new();
    for _ in 0..3 {
        relays.push(LossyUdpRelay::start(RelayConfig::new(addr)).await.unwrap());
    }
    let server = tokio::spawn(async move {
        let mut stream = listener.accept().await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        (got, stream.path_reports().len())
    });
    let member = |relay: &tmio_testkit::relay::RelayHandle| MemberSpec {
        remote: relay.local_addr(),
        bind: None,
        weight: 50,
        device: None,
    };
    let group = GroupConnect {
        mode: GroupMode::Broadcast,
        members: vec![member(&relays[0]), member(&relays[1])],
        config,
    };
    let mut stream = SrtStream::connect_group(group).await.unwrap();
    let mut seen = Vec::new();
    let both: fn(&LinkEvent) -> bool =
        |e| matches!(e, LinkEvent::MemberConnected { member: 1, .. });
    let first: fn(&LinkEvent) -> bool =
        |e| matches!(e, LinkEvent::MemberConnected { member: 0, .. });
    for wanted in [both, first] {
        let already = seen.iter().any(wanted);
        assert!(
            already || wait_for_event(&stream, &mut seen, wanted).await,
            "{seen:?}"
        );
    }
    let data = payload(TOTAL, 11);
    let quarter = TOTAL / 4;
    stream.write_all(&data[..quarter]).await.unwrap();
    relays[1].blackout_now(Duration::from_secs(600));
    let path_of_member_1 = seen
        .iter()
        .find_map(|e| match e {
            LinkEvent::MemberConnected {
                member: 1, path, ..
            } => Some(*path),
            _ => None,
        })
        .unwrap();
    let broken = move |e: &LinkEvent| matches!(e, LinkEvent::Path(PathEvent::Broken { path, .. }) if *path == path_of_member_1);
    stream.write_all(&data[quarter..2 * quarter]).await.unwrap();
    assert!(
        wait_for_event(&stream, &mut seen, broken).await,
        "member 1 broke: {seen:?}"
    );
    let index = stream.add_member(member(&relays[2])).unwrap();
    assert_eq!(index, 2);
    let added = |e: &LinkEvent| matches!(e, LinkEvent::MemberConnected { member: 2, .. });
    assert!(
        wait_for_event(&stream, &mut seen, added).await,
        "member 2 connected: {seen:?}"
    );
    relays[0].blackout_now(Duration::from_secs(600));
    stream.write_all(&data[2 * quarter..]).await.unwrap();
    stream.shutdown().await.unwrap();
    seen.extend(stream.link_events());
    for event in &seen {
        println!("caller: {event:?}");
    }
    let (got, paths) = server.await.unwrap();
    assert_eq!(got.len(), TOTAL);
    assert_eq!(Sha256::digest(&got), Sha256::digest(&data));
    assert_eq!(paths, 3, "the listener's session took the added member");
}

#[tokio::test]
async fn a_single_link_takes_no_members() {
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), SrtConfig::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let server = tokio::spawn(async move { listener.accept().await.unwrap() });
    let single = SrtStream::connect(
        addr,
        tmio_transport::srt::ConnectMode::Caller,
        &SrtConfig::default(),
    )
    .await
    .unwrap();
    let error = single
        .add_member(MemberSpec {
            remote: addr,
            bind: None,
            weight: 1,
            device: None,
        })
        .unwrap_err();
    assert!(error.to_string().contains("connect_group"), "{error}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_tied_to_an_interface_sends_through_it_and_a_missing_one_is_named() {
    // An interface that does not exist: the member fails with an error naming it.
    let config = SrtConfig {
        connect_timeout: Duration::from_millis(500),
        ..SrtConfig::default()
    };
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let missing = GroupConnect {
        mode: GroupMode::Broadcast,
        members: vec![MemberSpec {
            remote: silent.local_addr().unwrap(),
            bind: None,
            weight: 0,
            device: Some("tmio-nodev0".into()),
        }],
        config: config.clone(),
    };
    let error = SrtStream::connect_group(missing).await.unwrap_err();
    assert!(
        matches!(&error, tmio_transport::Error::BindDevice { device, .. } if device == "tmio-nodev0"),
        "{error}"
    );
    assert!(error.to_string().contains("tmio-nodev0"), "{error}");

    // The loopback interface, as root (SO_BINDTODEVICE needs CAP_NET_RAW): the member connects
    // and the bytes arrive.
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|status| {
            status
                .lines()
                .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        println!("skipped the lo part: SO_BINDTODEVICE needs root or CAP_NET_RAW");
        return;
    }
    let mut listener = group_listener(SrtConfig::default()).await;
    let addr = listener.local_addr();
    let server = tokio::spawn(async move {
        let mut stream = listener.accept().await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        got
    });
    let group = GroupConnect {
        mode: GroupMode::Broadcast,
        members: vec![MemberSpec {
            remote: addr,
            bind: None,
            weight: 0,
            device: Some("lo".into()),
        }],
        config,
    };
    let mut stream = SrtStream::connect_group(group).await.unwrap();
    stream.write_all(b"through lo").await.unwrap();
    stream.shutdown().await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"through lo");
}

/// Three members, each behind its own userspace relay (the non-root counterpart of
/// `group_netns.rs`'s kernel paths): member 0 with `losses[0]` random loss each way, member 1
/// with `losses[1]` and a 25 Mbit/s bottleneck, member 2 with `losses[2]`; the written stream is
/// paced at 20 Mbit/s; member `cut` is cut (100 % loss both ways) once 1.5 MiB arrived. Every
/// byte must arrive; the longest pause is printed.
async fn three_relayed_members(mode: GroupMode, weights: [u8; 3], losses: [f64; 3], cut: usize) {
    use tmio_testkit::impairment::{ImpairmentConfig, RateLimit};
    let config = SrtConfig::default();
    let listener = group_listener(config.clone()).await;
    let addr = listener.local_addr();
    let mut relays = Vec::new();
    for (index, loss) in losses.iter().enumerate() {
        let impairment = ImpairmentConfig {
            loss: *loss,
            rate_limit: (index == 1).then_some(RateLimit {
                bytes_per_sec: 25_000_000 / 8,
                queue_limit_bytes: 256 << 10,
            }),
            ..ImpairmentConfig::default()
        };
        let relay =
            LossyUdpRelay::start(RelayConfig::symmetric(addr, impairment, 7 + index as u64))
                .await
                .unwrap();
        relays.push(std::sync::Arc::new(relay));
    }
    let cut_relay = relays[cut].clone();
    let server = tokio::spawn(receive_group(
        listener,
        Box::new(move || cut_relay.blackout_now(Duration::from_secs(600))),
    ));
    let group = GroupConnect {
        mode,
        members: relays
            .iter()
            .zip(weights)
            .map(|(relay, weight)| MemberSpec {
                remote: relay.local_addr(),
                bind: None,
                weight,
                device: None,
            })
            .collect(),
        config,
    };
    let mut stream = SrtStream::connect_group(group).await.unwrap();
    for _ in 0..500 {
        if stream.path_reports().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stream.path_reports().len(), 3, "three members connected");
    let data = payload(TOTAL, 13);
    // 20 Mbit/s: 64 KiB every 26 ms.
    let started = Instant::now();
    for (index, chunk) in data.chunks(CHUNK).enumerate() {
        let due = started + Duration::from_micros(26_214 * index as u64);
        tokio::time::sleep_until(due.into()).await;
        stream.write_all(chunk).await.unwrap();
    }
    stream.shutdown().await.unwrap();
    let received = tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("the group delivered in time")
        .unwrap();
    for event in stream.link_events() {
        println!("caller: {event:?}");
    }
    println!(
        "{mode:?}, 3 relayed members (loss {losses:?}, member 1 at 25 Mbit/s), member {cut} cut: \
         longest pause {:?}",
        received.longest_pause
    );
    assert_eq!(received.bytes.len(), TOTAL);
    assert_eq!(Sha256::digest(&received.bytes), Sha256::digest(&data));
    assert_eq!(received.paths, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_over_three_lossy_relayed_members_with_one_cut() {
    three_relayed_members(GroupMode::Broadcast, [0, 0, 0], [0.05, 0.0, 0.0], 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_over_three_lossy_relayed_members_with_the_active_one_cut() {
    three_relayed_members(GroupMode::Backup, [100, 50, 10], [0.02, 0.02, 0.02], 0).await;
}
