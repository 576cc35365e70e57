//! Dropping a link removes its namespaces; `cleanup_stale` removes those of dead processes only.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use tmio_testkit::{NetnsLink, Side};

#[test]
fn drop_removes_both_namespaces() {
    if !NetnsLink::should_run("drop_removes_both_namespaces").unwrap() {
        return;
    }
    let link = NetnsLink::new().unwrap();
    let names = [
        link.namespace(Side::A).to_owned(),
        link.namespace(Side::B).to_owned(),
    ];
    assert!(names.iter().all(|n| NetnsLink::namespace_exists(n)));
    // exec_in runs a program inside: the veth end is there, and the root namespace has none.
    let inside = link
        .exec_in(Side::A, "ip")
        .args(["-o", "addr", "show"])
        .output()
        .unwrap();
    let inside = String::from_utf8_lossy(&inside.stdout);
    assert!(inside.contains(&link.addr(Side::A).to_string()), "{inside}");
    drop(link);
    assert!(names.iter().all(|n| !NetnsLink::namespace_exists(n)));
}

#[test]
fn cleanup_stale_removes_only_dead_owners() {
    if !NetnsLink::should_run("cleanup_stale_removes_only_dead_owners").unwrap() {
        return;
    }
    // A pid above the kernel's pid_max (4194304) can never be alive.
    let stale = "tmio-test-4999999-0-a";
    let status = Command::new("ip")
        .args(["netns", "add", stale])
        .status()
        .unwrap();
    assert!(status.success());
    let live = NetnsLink::new().unwrap();
    let removed = NetnsLink::cleanup_stale().unwrap();
    assert!(removed.contains(&stale.to_owned()), "{removed:?}");
    assert!(!NetnsLink::namespace_exists(stale));
    assert!(NetnsLink::namespace_exists(live.namespace(Side::A)));
    live.remove().unwrap();
}
