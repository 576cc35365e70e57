//! `NetnsLinks`: two namespaces joined by two and three veth pairs. UDP crosses each link both
//! ways; a cut link (down, or 100 % drop) carries nothing while the others carry everything,
//! and comes back on restore; loss or a rate limit set on one link hits only that link (loss
//! near the asked rate).
//! (nftables' `numgen random` cannot be seeded: the loss bounds are > 5 sigma wide.)
#![allow(clippy::unwrap_used, clippy::panic)]

mod netns_common;

use std::time::Duration;

use netns_common::{send_from, spawn_receiver};
use tmio_testkit::{Cut, NetnsLinks, Side};

const DATAGRAMS: u64 = 500;

/// Sends `count` datagrams over link `index` from `side` and returns how many arrived.
fn count_across(links: &NetnsLinks, index: usize, side: Side, count: u64, quiet: Duration) -> u64 {
    let receiver = spawn_receiver(links, index, side.peer(), count, quiet);
    send_from(links, index, side, count, 200, 50);
    receiver.join().unwrap().unwrap().0
}

#[test]
fn udp_crosses_each_of_two_links_both_ways() {
    if !NetnsLinks::should_run("udp_crosses_each_of_two_links_both_ways").unwrap() {
        return;
    }
    let links = NetnsLinks::new(2).unwrap();
    assert_eq!(links.links().len(), 2);
    let (first, second) = (links.link(0).unwrap(), links.link(1).unwrap());
    assert_ne!(first.addr(Side::A), second.addr(Side::A));
    assert_eq!(second.interface(Side::B), "veth1-b");
    for index in 0..2 {
        for side in [Side::A, Side::B] {
            let got = count_across(&links, index, side, DATAGRAMS, Duration::from_secs(1));
            assert_eq!(got, DATAGRAMS, "link {index} from {side:?}");
        }
    }
    // gso_max_segs 1 on every end.
    let shown = links
        .exec_in(Side::A, "ip")
        .args(["-d", "link", "show", "dev", "veth1-a"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("gso_max_segs 1 "), "{shown}");
    assert!(matches!(
        links.link(2),
        Err(tmio_testkit::Error::NoSuchLink { link: 2, links: 2 })
    ));
    assert!(matches!(
        NetnsLinks::new(0),
        Err(tmio_testkit::Error::InvalidLinkCount(0))
    ));
}

#[test]
fn a_cut_link_carries_nothing_and_the_others_everything() {
    if !NetnsLinks::should_run("a_cut_link_carries_nothing_and_the_others_everything").unwrap() {
        return;
    }
    let links = NetnsLinks::new(3).unwrap();
    for how in [Cut::LinkDown, Cut::DropAll] {
        links.cut(1, how).unwrap();
        assert_eq!(links.is_up(1).unwrap(), how == Cut::DropAll, "{how:?}");
        for side in [Side::A, Side::B] {
            let cut = count_across(&links, 1, side, DATAGRAMS, Duration::from_millis(500));
            assert_eq!(cut, 0, "{how:?}: link 1 from {side:?} carried {cut}");
            if how == Cut::DropAll {
                // Every datagram (and the warm-up) was dropped by the cut's rule.
                let dropped = links.dropped_toward(1, side.peer()).unwrap();
                assert_eq!(dropped, DATAGRAMS + 1, "{how:?} toward {:?}", side.peer());
            }
            for other in [0, 2] {
                let got = count_across(&links, other, side, DATAGRAMS, Duration::from_secs(1));
                assert_eq!(got, DATAGRAMS, "{how:?}: link {other} from {side:?}");
            }
        }
        links.restore(1).unwrap();
        assert!(links.is_up(1).unwrap());
        for side in [Side::A, Side::B] {
            let got = count_across(&links, 1, side, DATAGRAMS, Duration::from_secs(1));
            assert_eq!(got, DATAGRAMS, "{how:?} restored: link 1 from {side:?}");
        }
        assert_eq!(links.dropped_toward(1, Side::B).unwrap(), 0);
    }
}

#[test]
fn loss_on_one_link_spares_the_other() {
    if !NetnsLinks::should_run("loss_on_one_link_spares_the_other").unwrap() {
        return;
    }
    let links = NetnsLinks::new(2).unwrap();
    links.set_loss_toward(1, Side::B, 20.0).unwrap();
    let total = 2000;
    let lossy = count_across(&links, 1, Side::A, total, Duration::from_secs(1));
    let counted = links.dropped_toward(1, Side::B).unwrap();
    eprintln!("link 1 at 20 % loss: {lossy} of {total} received, {counted} counted as dropped");
    // Expected 1600, standard deviation ~18.
    assert!((1500..=1700).contains(&lossy), "{lossy}");
    // The warm-up datagram may be among the dropped ones.
    assert!(
        counted == total - lossy || counted == total - lossy + 1,
        "{counted}"
    );
    // Only toward B on link 1: the reverse direction and link 0 are clean.
    assert_eq!(
        count_across(&links, 1, Side::B, total, Duration::from_secs(1)),
        total
    );
    assert_eq!(
        count_across(&links, 0, Side::A, total, Duration::from_secs(1)),
        total
    );
    assert_eq!(links.dropped_toward(0, Side::B).unwrap(), 0);
    links.set_loss(1, 0.0).unwrap();
    assert_eq!(
        count_across(&links, 1, Side::A, total, Duration::from_secs(1)),
        total
    );
}

#[test]
fn a_relay_inside_a_namespace_may_forward_over_a_link() {
    if !NetnsLinks::should_run("a_relay_inside_a_namespace_may_forward_over_a_link").unwrap() {
        return;
    }
    use std::net::SocketAddr;
    use tmio_testkit::{LossyUdpRelay, RelayConfig};
    let links = NetnsLinks::new(2).unwrap();
    let target = SocketAddr::from((links.link(1).unwrap().addr(Side::B), netns_common::PORT));
    let receiver = spawn_receiver(&links, 1, Side::B, 10, Duration::from_secs(1));
    // Outside the namespaces the same relay is refused.
    let outside = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(LossyUdpRelay::start(RelayConfig::new(target)));
    assert!(matches!(outside, Err(tmio_testkit::Error::NotLoopback(_))));
    links
        .run_in(Side::A, move || async move {
            let relay = LossyUdpRelay::start(RelayConfig::new(target))
                .await
                .unwrap();
            let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for _ in 0..10 {
                client
                    .send_to(&[7u8; 100], relay.local_addr())
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            relay.shutdown().await
        })
        .unwrap();
    assert_eq!(receiver.join().unwrap().unwrap().0, 10);
}

#[test]
fn a_rate_limit_on_one_link_spares_the_other() {
    if !NetnsLinks::should_run("a_rate_limit_on_one_link_spares_the_other").unwrap() {
        return;
    }
    let links = NetnsLinks::new(2).unwrap();
    // 1 Mbit/s: tbf holds a 16 kB burst plus 100 ms of queue, so of 1000 back-to-back
    // 1000-byte datagrams only a few dozen pass (as in netns_rate_limit.rs).
    links.set_rate(1, 1_000_000).unwrap();
    let receiver = spawn_receiver(&links, 1, Side::B, 1000, Duration::from_millis(700));
    send_from(&links, 1, Side::A, 1000, 1000, 0);
    let limited = receiver.join().unwrap().unwrap().0;
    eprintln!("1 Mbit/s on link 1: {limited} of 1000 received");
    assert!(limited > 0 && limited < 200, "{limited}");
    let receiver = spawn_receiver(&links, 0, Side::B, 1000, Duration::from_secs(1));
    send_from(&links, 0, Side::A, 1000, 1000, 20);
    assert_eq!(receiver.join().unwrap().unwrap().0, 1000);
    links.clear_rate(1).unwrap();
    let receiver = spawn_receiver(&links, 1, Side::B, 1000, Duration::from_secs(1));
    send_from(&links, 1, Side::A, 1000, 1000, 20);
    assert_eq!(receiver.join().unwrap().unwrap().0, 1000);
}
