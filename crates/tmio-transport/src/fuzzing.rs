//! Entry points for the cargo-fuzz targets in `fuzz/` (not an API: hidden from the docs).
//!
//! They feed arbitrary datagrams, under simulated time, into what a datagram from the network
//! reaches: the decoder, the listener's handshake core (with a valid SYN cookie minted for
//! conclusions when the input asks, so fuzzing gets past the cookie check), and an established
//! session's data path. Any panic is a finding.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use srt_protocol::packet::{CoreRejectReason, RejectReason, SeqNumber, SocketId};

use crate::srt::{
    config::SrtConfig,
    connection::{Connection, ConnectionConfig, DeliveryMode, GroupMode, PathConfig, PathId},
    handshake::{
        listener::{ListenerCore, ListenerLimits},
        packet::ShakeKind,
    },
    wire::{self, Datagram},
};

/// Splits fuzz input into steps: a control byte, a 2-byte length, then the datagram.
fn steps(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 3 {
            return None;
        }
        let control = data[0];
        let len = usize::from(u16::from_le_bytes([data[1], data[2]]));
        let rest = &data[3..];
        let len = len.min(rest.len());
        let (datagram, tail) = rest.split_at(len);
        data = tail;
        Some((control, datagram))
    })
}

/// Datagrams into a listener: decode, handshake core, accept/reject, timers.
pub fn datagrams_into_listener(data: &[u8]) {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let config = SrtConfig {
        passphrase: (flags & 1 == 1).then(|| "fuzzing-passphrase".to_owned()),
        ..SrtConfig::default()
    };
    let limits = ListenerLimits {
        max_sessions: 4,
        max_sessions_per_ip: 3,
        max_pending: 3,
        max_handshakes_per_second: 5,
    };
    let start = Instant::now();
    let mut now = start;
    let mut core = ListenerCore::new(&config, limits, flags & 2 == 2, now);
    for (control, datagram) in steps(data) {
        now += Duration::from_millis(u64::from(control & 0x3f) * 40);
        let from = SocketAddr::from(([127, 0, 0, 1 + (control >> 6)], 4000));
        if let Ok(Datagram::Handshake(mut hs)) = wire::decode(datagram, from) {
            if hs.kind == ShakeKind::Conclusion && control & 0x20 == 0 {
                hs.cookie = core.valid_cookie(now, from);
            }
            core.handle(now, from, hs);
        }
        while core.poll_transmit().is_some() {}
        while let Some(request) = core.poll_request() {
            if control & 0x10 == 0 {
                let _ = core.accept(now, request.peer, Some("fuzzing-passphrase"));
            } else {
                core.reject(
                    now,
                    request.peer,
                    RejectReason::Core(CoreRejectReason::Peer),
                );
            }
        }
        if control & 0x08 != 0 {
            core.session_ended(from, u32::from(control));
        }
        if core.poll_timeout().is_some_and(|at| at <= now) {
            core.handle_timeout(now);
        }
    }
}

/// Datagrams into an established session (reliable or live), with data flowing out.
pub fn datagrams_into_session(data: &[u8]) {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let start = Instant::now();
    let delivery = if flags & 1 == 0 {
        DeliveryMode::Reliable
    } else {
        DeliveryMode::Live {
            recv_latency: Duration::from_millis(120),
            send_latency: Duration::from_millis(120),
            too_late_drop: flags & 2 == 2,
        }
    };
    let config = ConnectionConfig {
        local_socket_id: SocketId(1),
        remote_socket_id: SocketId(2),
        initial_sequence_number: SeqNumber::new_truncate(u32::from(flags) << 20),
        start_time: start,
        delivery,
        payload_size: 1316,
        send_buffer_bytes: 64 * 1316,
        recv_buffer_bytes: 64 * 1316,
        peer_flow_window: 64,
        max_bandwidth: None,
        peer_idle_timeout: Duration::from_secs(5),
        cipher: None,
    };
    let mut conn = Connection::new(config, start);
    // Flag bits 2-3: a group of two paths (the same socket ids on both, so every datagram can
    // reach either), broadcast or backup.
    if flags & 4 == 4 {
        conn.add_path(
            start,
            PathConfig {
                local_socket_id: SocketId(1),
                remote_socket_id: SocketId(2),
                peer_flow_window: 64,
                weight: 50,
            },
        );
        if flags & 8 == 8 {
            conn.set_group_mode(start, GroupMode::Backup);
        }
    }
    let mut now = start;
    let from = SocketAddr::from(([127, 0, 0, 1], 4000));
    let mut buf = [0u8; 4096];
    for (control, datagram) in steps(data) {
        now += Duration::from_millis(u64::from(control & 0x1f) * 10);
        if let Ok(Datagram::Packet(packet)) = wire::decode(datagram, from) {
            // The top bit picks the path a datagram arrives on.
            conn.handle_packet(now, PathId(u32::from(control >> 7)), packet);
        }
        if control & 0x20 != 0 {
            let _ = conn.write(now, &buf[..usize::from(control)]);
        }
        while conn.poll_transmit(now).is_some() {}
        if conn.poll_timeout().is_some_and(|at| at <= now) {
            conn.handle_timeout(now);
        }
        while conn.poll_event().is_some() {}
        let _ = conn.read(now, &mut buf);
        if control & 0xc0 == 0xc0 {
            conn.close(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_harnesses_run_on_a_real_handshake_and_garbage() {
        // A libsrt caller's induction and conclusion (tests/data/handshakes/live-plain.hex).
        let text = include_str!("../tests/data/handshakes/live-plain.hex");
        let mut input = vec![0u8];
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let bytes: Vec<u8> = (0..line.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
                .collect();
            input.push(1);
            input.extend(u16::try_from(bytes.len()).unwrap().to_le_bytes());
            input.extend(bytes);
        }
        datagrams_into_listener(&input);
        datagrams_into_session(&input);
        let garbage = [0xffu8, 0xff, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut input = vec![0u8, 1, 16, 0];
        input.extend(garbage);
        datagrams_into_listener(&input);
        datagrams_into_session(&input);
    }
}
