//! Bonded groups against libsrt 1.5.1's own groups (the bonding build's `srt-test-live`, from
//! `scripts/build-libsrt-bonding.sh`), both ways, broadcast and backup, over loopback; one member
//! link goes through a UDP relay and is cut mid-stream; every byte is checked (sha256). Skipped
//! with a message when the bonding build is absent (required under `CI`).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tmio_testkit::{
    free_loopback_udp_port, libsrt_group::GROUP_CHUNK, Feed, GroupNode, GroupType as LibsrtType,
    GroupUri, LibsrtGroupPeer, LossyUdpRelay, RelayConfig, Sink,
};
use tmio_transport::srt::{
    connection::DeliveryMode, GroupConnect, GroupMode, ListenerLimits, MemberSpec, SrtConfig,
    SrtListener, SrtStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Payload per test: a multiple of libsrt's read size.
const LEN: usize = 3200 * GROUP_CHUNK; // 4.0 MiB
/// tmio → libsrt: the relay member is cut once this much was written (the send buffer holds
/// 2 MiB, so at least 1 MiB has left by then).
const CUT_AFTER_WRITTEN: usize = 3 << 20;
/// libsrt → tmio: the relay member is cut once this much arrived.
const CUT_AFTER_RECEIVED: usize = 3 << 19;

fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

fn on(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], port))
}

/// What tmio uses against a libsrt group: live delivery (libsrt's groups are live mode only),
/// with too-late drop off so that nothing is given up.
fn live_lossless() -> SrtConfig {
    SrtConfig {
        delivery: DeliveryMode::Live {
            recv_latency: Duration::from_millis(200),
            send_latency: Duration::from_millis(200),
            too_late_drop: false,
        },
        ..SrtConfig::default()
    }
}

fn libsrt_type(mode: GroupMode) -> LibsrtType {
    match mode {
        GroupMode::Broadcast => LibsrtType::Broadcast,
        GroupMode::Backup => LibsrtType::Backup,
    }
}

fn check(got: &[u8], data: &[u8], what: &str) {
    if let Some(first) = got.iter().zip(data).position(|(a, b)| a != b) {
        panic!(
            "{what}: bytes differ from byte {first} on ({} of {} bytes)",
            got.len(),
            data.len()
        );
    }
    assert_eq!(got.len(), data.len(), "{what}: length");
    assert_eq!(Sha256::digest(got), Sha256::digest(data), "{what}: sha256");
}

/// tmio's two-member group (member 0 from 127.0.0.2 direct, member 1 through a relay, weights
/// 10 and 100) → `srt-test-live`'s group listener; member 1 is cut after `CUT_AFTER_WRITTEN`.
async fn tmio_group_to_libsrt(mode: GroupMode, config: SrtConfig, label: &str) {
    let port = free_loopback_udp_port().unwrap();
    let out_path = std::env::temp_dir().join(format!(
        "tmio-group-interop-{}-{port}.out",
        std::process::id()
    ));
    let mut libsrt = LibsrtGroupPeer::receiver(
        GroupUri::listener(port).option("latency", "200"),
        Sink::File(out_path.clone()),
    )
    .lifetime(Duration::from_secs(40))
    .spawn()
    .unwrap();
    libsrt.wait_for_listen(Duration::from_secs(5)).unwrap();
    let relay = LossyUdpRelay::start(RelayConfig::new(on(1, port)))
        .await
        .unwrap();
    let group = GroupConnect {
        mode,
        members: vec![
            MemberSpec {
                remote: on(1, port),
                bind: Some(on(2, 0)),
                weight: 10,
                device: None,
            },
            MemberSpec {
                remote: relay.local_addr(),
                bind: None,
                weight: 100,
                device: None,
            },
        ],
        config,
    };
    let mut stream = SrtStream::connect_group(group).await.unwrap_or_else(|e| {
        panic!(
            "{label}: group connect failed: {e}; libsrt: {}",
            libsrt.stderr_text()
        )
    });
    for _ in 0..500 {
        if stream.path_reports().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        stream.path_reports().len(),
        2,
        "{label}: both members connected; events {:?}",
        stream.link_events()
    );
    let data = payload(LEN, 21);
    let mut written = 0;
    let mut cut = false;
    for chunk in data.chunks(GROUP_CHUNK) {
        stream.write_all(chunk).await.unwrap();
        written += chunk.len();
        if !cut && written >= CUT_AFTER_WRITTEN {
            relay.blackout_now(Duration::from_secs(600));
            cut = true;
        }
    }
    stream.shutdown().await.unwrap();
    for report in stream.path_reports() {
        println!(
            "{label}: path {} {} -> {}: {:?}, {} sent, {} retransmitted",
            report.path,
            report.local,
            report.remote,
            report.stats.state,
            report.stats.packets_sent,
            report.stats.packets_retransmitted
        );
    }
    let events = stream.link_events();
    drop(stream);
    let arrived = libsrt.wait_for_output_len(LEN as u64, Duration::from_secs(15));
    let stderr = libsrt.stderr_text();
    let _ = libsrt.stop();
    let got = std::fs::read(&out_path).unwrap();
    let _ = std::fs::remove_file(&out_path);
    println!(
        "{label}: libsrt received {} of {LEN} bytes ({arrived:?}); events {events:?}",
        got.len()
    );
    if got.len() != LEN {
        println!("{label}: libsrt stderr: {stderr}");
    }
    check(&got, &data, label);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmio_broadcast_and_backup_groups_to_a_libsrt_group_listener() {
    let test = "tmio_broadcast_and_backup_groups_to_a_libsrt_group_listener";
    if !LibsrtGroupPeer::should_run(test).unwrap() {
        return;
    }
    for mode in [GroupMode::Broadcast, GroupMode::Backup] {
        let label = format!("tmio {mode:?} -> libsrt");
        tokio::time::timeout(
            Duration::from_secs(60),
            tmio_group_to_libsrt(mode, live_lossless(), &label),
        )
        .await
        .expect("finished in time");
    }
}

/// `srt-test-live`'s two-member group caller (member 0 from 127.0.0.2 direct, weight 1; member 1
/// from 127.0.0.3 through a relay, weight 2) → a tmio listener with groups; member 1 is cut once
/// `CUT_AFTER_RECEIVED` bytes arrived.
/// What one run of [`libsrt_group_to_tmio`] showed.
enum GroupRun {
    /// Every byte arrived, checked.
    Delivered,
    /// libsrt sent nothing on one of its two connected members before the cut, and the cut
    /// ended the stream: libsrt's doing, not the failover under test. Seen in up to a third of
    /// the runs when both tests of this file run at once (broadcast and backup alike): tmio
    /// accepted the member at once and had no repeated conclusion from it, libsrt logged
    /// "Connection established" for both members (`LIBSRT_LL=note`), and its group sender
    /// never used the direct one.
    LibsrtLeftAMemberUnused,
}

async fn libsrt_group_to_tmio(mode: GroupMode, config: SrtConfig, label: &str) -> GroupRun {
    // `TEST_LOG=tmio_transport=debug` shows the listener's side of the handshakes,
    // `LIBSRT_LL=note` libsrt's (its log level; default warning).
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init();
    }
    let listener = SrtListener::bind_with(on(1, 0), config, ListenerLimits::default(), true)
        .await
        .unwrap();
    let port = listener.local_addr().port();
    let relay = Arc::new(
        LossyUdpRelay::start(RelayConfig::new(on(1, port)))
            .await
            .unwrap(),
    );
    let nodes = vec![
        GroupNode::new(on(1, port)).source(on(2, 0)).weight(1),
        GroupNode::new(relay.local_addr())
            .source(on(3, 0))
            .weight(2),
    ];
    let data = Arc::new(payload(LEN, 22));
    // Filler after the payload: libsrt closes the group as soon as its input ends.
    let mut feed_bytes = (*data).clone();
    feed_bytes.extend(std::iter::repeat_n(0u8, 400 * GROUP_CHUNK));
    let feed = Feed::Paced {
        data: Arc::new(feed_bytes),
        bytes_per_sec: 2_000_000,
    };
    // libsrt gives a member 3 s (`conntimeo`) for the listener's answer, then drops it for good
    // and runs the group on the others; the first member's answer waits for this test's
    // `accept`, which a loaded CI machine has delayed that long (the group then sent nothing on
    // that member, "Active, 0 packets received", and the cut ended the stream). Give it 10 s.
    let uri = GroupUri::caller(libsrt_type(mode), nodes)
        .option("latency", "200")
        .option("conntimeo", "10000");
    let mut libsrt = LibsrtGroupPeer::sender(uri, feed)
        .lifetime(Duration::from_secs(40))
        .linger(Duration::from_secs(2))
        .arg("-ll")
        .arg(std::env::var("LIBSRT_LL").unwrap_or_else(|_| "warning".into()))
        .spawn()
        .unwrap();
    let mut listener = listener;
    let request = tokio::time::timeout(Duration::from_secs(10), listener.next_request())
        .await
        .unwrap_or_else(|_| panic!("{label}: no request; libsrt: {}", libsrt.stderr_text()))
        .unwrap();
    assert_eq!(request.group_mode(), Some(mode), "{label}");
    let mut stream = request.accept(None).await.unwrap();
    let mut got = vec![0u8; LEN];
    let mut filled = 0;
    let mut last: Option<Instant> = None;
    let mut longest_pause = Duration::ZERO;
    let mut cut = false;
    let mut unused_before_cut = false;
    while filled < LEN {
        let n = stream.read(&mut got[filled..]).await.unwrap();
        if n == 0 {
            break;
        }
        let now = Instant::now();
        if let Some(last) = last {
            longest_pause = longest_pause.max(now - last);
        }
        last = Some(now);
        filled += n;
        if !cut && filled >= CUT_AFTER_RECEIVED {
            unused_before_cut = stream
                .path_reports()
                .iter()
                .any(|report| report.stats.packets_received == 0);
            relay.blackout_now(Duration::from_secs(600));
            cut = true;
        }
    }
    for report in stream.path_reports() {
        println!(
            "{label}: path {} {} <- {}: {:?}, {} packets received",
            report.path,
            report.local,
            report.remote,
            report.stats.state,
            report.stats.packets_received
        );
    }
    println!(
        "{label}: {filled} of {LEN} bytes, longest delivery pause {:.1} ms; events {:?}",
        longest_pause.as_secs_f64() * 1e3,
        stream.link_events()
    );
    if filled != LEN {
        println!("{label}: libsrt stderr: {}", libsrt.stderr_text());
    }
    drop(stream);
    let _ = libsrt.stop();
    if filled < LEN && unused_before_cut {
        return GroupRun::LibsrtLeftAMemberUnused;
    }
    got.truncate(filled);
    check(&got, &data, label);
    GroupRun::Delivered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libsrt_broadcast_and_backup_groups_to_a_tmio_listener() {
    let test = "libsrt_broadcast_and_backup_groups_to_a_tmio_listener";
    if !LibsrtGroupPeer::should_run(test).unwrap() {
        return;
    }
    for mode in [GroupMode::Broadcast, GroupMode::Backup] {
        let label = format!("libsrt {mode:?} -> tmio");
        // Up to three tries (a new libsrt process each) if libsrt left a member unused: the test
        // is about the failover, which needs libsrt to use both members.
        let mut tries = 0;
        loop {
            tries += 1;
            let run = tokio::time::timeout(
                Duration::from_secs(60),
                libsrt_group_to_tmio(mode, live_lossless(), &label),
            )
            .await
            .expect("finished in time");
            match run {
                GroupRun::Delivered => break,
                GroupRun::LibsrtLeftAMemberUnused if tries < 3 => {
                    println!("{label}: libsrt sent nothing on one member before the cut; again");
                }
                GroupRun::LibsrtLeftAMemberUnused => {
                    panic!("{label}: libsrt left a member unused in {tries} runs")
                }
            }
        }
    }
}
