//! Arbitrary datagrams, under simulated time, into an SRT listener: the decoder, the handshake
//! core (with valid SYN cookies minted for conclusions when the input asks), accept/reject and
//! timers. Any panic is a finding (one 16-byte datagram once stopped the gateway).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tmio_transport::fuzzing::datagrams_into_listener(data);
});
