//! UDP crosses a namespace link (code entered with `enter_on_thread`), and `set_loss` drops about
//! the asked share of datagrams.
#![allow(clippy::unwrap_used, clippy::panic)]

mod netns_common;

use std::time::Duration;

use netns_common::{send_from, spawn_receiver};
use tmio_testkit::{NetnsLink, Side};

const DATAGRAMS: u64 = 2000;

#[test]
fn udp_crosses_the_link_then_loses_about_twenty_percent() {
    if !NetnsLink::should_run("udp_crosses_the_link_then_loses_about_twenty_percent").unwrap() {
        return;
    }
    let link = NetnsLink::new().unwrap();
    assert!(link.addr(Side::A).is_private());

    let receiver = spawn_receiver(
        link.as_links(),
        0,
        Side::B,
        DATAGRAMS,
        Duration::from_secs(1),
    );
    send_from(link.as_links(), 0, Side::A, DATAGRAMS, 200, 50);
    let (clean, bytes) = receiver.join().unwrap().unwrap();
    assert_eq!(clean, DATAGRAMS, "no loss configured");
    assert_eq!(bytes, DATAGRAMS * 200);

    link.set_loss(20.0).unwrap();
    let receiver = spawn_receiver(
        link.as_links(),
        0,
        Side::B,
        DATAGRAMS,
        Duration::from_secs(1),
    );
    send_from(link.as_links(), 0, Side::A, DATAGRAMS, 200, 50);
    let (lossy, _) = receiver.join().unwrap().unwrap();
    // The rule's counter saw exactly the datagrams that did not arrive (warm-up aside).
    let counted = link.dropped_toward(Side::B).unwrap();
    assert!(
        counted == DATAGRAMS - lossy || counted == DATAGRAMS - lossy + 1,
        "{counted}"
    );
    eprintln!("20 % loss: {lossy} of {DATAGRAMS} received");
    // Expected 1600, standard deviation ~18: the bounds are > 5 sigma away.
    assert!(
        (1500..=1700).contains(&lossy),
        "received {lossy} of {DATAGRAMS} at 20 % loss"
    );

    // The other direction is impaired too, and removing the loss restores a clean link.
    let receiver = spawn_receiver(
        link.as_links(),
        0,
        Side::A,
        DATAGRAMS,
        Duration::from_secs(1),
    );
    send_from(link.as_links(), 0, Side::B, DATAGRAMS, 200, 50);
    let (reverse, _) = receiver.join().unwrap().unwrap();
    assert!(
        (1500..=1700).contains(&reverse),
        "received {reverse} B -> A"
    );

    link.set_loss(0.0).unwrap();
    assert_eq!(link.dropped_toward(Side::B).unwrap(), 0);
    let receiver = spawn_receiver(
        link.as_links(),
        0,
        Side::B,
        DATAGRAMS,
        Duration::from_secs(1),
    );
    send_from(link.as_links(), 0, Side::A, DATAGRAMS, 200, 50);
    assert_eq!(receiver.join().unwrap().unwrap().0, DATAGRAMS);

    assert!(matches!(
        link.set_loss(101.0),
        Err(tmio_testkit::Error::InvalidPercent(_))
    ));
}
