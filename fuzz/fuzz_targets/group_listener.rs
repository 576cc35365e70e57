//! tmio's own group members (libsrt's bonding), single callers and arbitrary datagrams into a
//! `groupconnect` listener under simulated time: requests, joins, refusals, sessions and groups
//! ending, timers. Any panic, or a member whose two sides disagree about its group, is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tmio_transport::fuzzing::group_members_into_listener(data);
});
