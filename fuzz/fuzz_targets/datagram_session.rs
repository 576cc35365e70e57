//! Arbitrary datagrams, under simulated time, into an established SRT session's data path
//! (reliable or live mode), with data written, read and timers run between them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tmio_transport::fuzzing::datagrams_into_session(data);
});
