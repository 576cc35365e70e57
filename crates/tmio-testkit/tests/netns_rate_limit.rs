//! `set_rate` caps what a side can send: a burst far above the rate is mostly dropped by tbf.
#![allow(clippy::unwrap_used, clippy::panic)]

mod netns_common;

use std::time::Duration;

use netns_common::{send_from, spawn_receiver};
use tmio_testkit::{NetnsLink, Side};

#[test]
fn a_burst_above_the_rate_is_cut_down() {
    if !NetnsLink::should_run("a_burst_above_the_rate_is_cut_down").unwrap() {
        return;
    }
    let link = NetnsLink::new().unwrap();
    // 1 Mbit/s = 125 kB/s: tbf holds a 16 kB burst plus 100 ms (12.5 kB) of queue, so of a
    // 1 MB burst only a few dozen 1000-byte datagrams get through.
    link.set_rate(1_000_000).unwrap();
    let receiver = spawn_receiver(
        link.as_links(),
        0,
        Side::B,
        1000,
        Duration::from_millis(700),
    );
    send_from(link.as_links(), 0, Side::A, 1000, 1000, 0);
    let (limited, _) = receiver.join().unwrap().unwrap();
    eprintln!("1 Mbit/s burst: {limited} of 1000 received");
    assert!(limited > 0, "some datagrams pass");
    assert!(
        limited < 200,
        "{limited} of 1000 passed a 1 Mbit/s link in a burst"
    );

    link.clear_rate().unwrap();
    let receiver = spawn_receiver(link.as_links(), 0, Side::B, 1000, Duration::from_secs(1));
    send_from(link.as_links(), 0, Side::A, 1000, 1000, 20);
    let (unlimited, _) = receiver.join().unwrap().unwrap();
    assert_eq!(unlimited, 1000);
}
