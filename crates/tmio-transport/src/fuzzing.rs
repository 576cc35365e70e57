//! Entry points for the cargo-fuzz targets in `fuzz/` (not an API: hidden from the docs).
//!
//! They feed arbitrary datagrams, under simulated time, into what a datagram from the network
//! reaches: the decoder, the listener's handshake core (with a valid SYN cookie minted for
//! conclusions when the input asks, so fuzzing gets past the cookie check), tmio's own group
//! members (libsrt's bonding) into a `groupconnect` listener, and an established
//! session's data path. Any panic is a finding.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use std::sync::OnceLock;

use srt_protocol::{
    options::{KeySize, Passphrase},
    packet::{
        Auth, CipherType, CoreRejectReason, KeyFlags, KeyingMaterialMessage, PacketType,
        RejectReason, SeqNumber, SocketId,
    },
    protocol::encryption::key::{KeyEncryptionKey, Salt},
    settings::KeySettings,
};

use crate::srt::{
    cipher::StreamCipher,
    config::SrtConfig,
    connection::{Connection, ConnectionConfig, DeliveryMode, GroupMode, PathConfig, PathId},
    handshake::{
        listener::{ListenerCore, ListenerLimits},
        packet::{GroupType, Handshake, ShakeKind},
        CallerHandshake, Established, GroupMembership,
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
        while let Some(joined) = core.poll_joined() {
            if control & 0x04 != 0 {
                core.group_ended(joined.session);
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

/// AES-128 keys for an encrypting caller with `passphrase`, and their key material: derived once
/// per process (a key derivation is PBKDF2, the most expensive thing a handshake does) from a
/// fixed salt and fixed keys, so that every run of an input encrypts alike. `None` if the
/// passphrase is not one of the harness's (or not a valid passphrase).
fn prepared_keys(passphrase: &str) -> Option<(StreamCipher, KeyingMaterialMessage)> {
    type Prepared = Vec<(&'static str, StreamCipher, KeyingMaterialMessage)>;
    static PREPARED: OnceLock<Prepared> = OnceLock::new();
    let prepared = PREPARED.get_or_init(|| {
        GROUP_PASSPHRASES
            .iter()
            .flatten()
            .zip(1u8..)
            .filter_map(|(&passphrase, n)| {
                let settings = KeySettings {
                    key_size: KeySize::AES128,
                    passphrase: Passphrase::try_from(passphrase.to_owned()).ok()?,
                };
                let salt = Salt::try_from(&[0x50 + n; 16]).ok()?;
                let keys: Vec<u8> = [n; 16].into_iter().chain([0x80 | n; 16]).collect();
                let key_material = KeyingMaterialMessage {
                    pt: PacketType::KeyingMaterial,
                    key_flags: KeyFlags::EVEN | KeyFlags::ODD,
                    keki: 0,
                    cipher: CipherType::Ctr,
                    auth: Auth::None,
                    salt: salt.as_slice().to_vec(),
                    wrapped_keys: KeyEncryptionKey::new(&settings, &salt)
                        .encrypt_wrapped_keys(&keys),
                };
                let cipher = StreamCipher::unwrap(&settings.passphrase, &key_material)?;
                Some((passphrase, cipher, key_material))
            })
            .collect()
    });
    prepared
        .iter()
        .find(|(name, _, _)| *name == passphrase)
        .map(|(_, cipher, key_material)| (cipher.clone(), key_material.clone()))
}

/// The passphrases of [`group_members_into_listener`]'s callers and answers: none, the
/// listener's, another.
const GROUP_PASSPHRASES: [Option<&str>; 3] =
    [None, Some("fuzzing-passphrase"), Some("other-passphrase")];

/// One of tmio's callers in [`group_members_into_listener`]: its handshake, address and result.
struct FuzzCaller {
    handshake: CallerHandshake,
    from: SocketAddr,
    result: Option<Result<Established, crate::Error>>,
}

/// tmio's group members (and single callers, and arbitrary datagrams) into a `groupconnect`
/// listener under simulated time. The input is a flags byte (bit 0: the listener has a
/// passphrase; bit 1: `groupconnect` off; bit 2: callers may encrypt), then 3-byte steps: an operation with a time step,
/// and two argument bytes choosing the member's address, group (three, one of them conflicting in
/// type with another), weight, initial sequence, passphrase and stream id, or the application's
/// answer, a session or group ending, timers, or a raw datagram. Besides never panicking it
/// checks what both sides must agree on: a joined member is in the session its link names, with
/// the group's initial sequence number, and a member's caller and the listener name each other's
/// group ids. Returns how many members joined a session without a request (for tests).
pub fn group_members_into_listener(data: &[u8]) -> usize {
    let Some((&flags, mut data)) = data.split_first() else {
        return 0;
    };
    let config = SrtConfig {
        passphrase: (flags & 1 == 1).then(|| "fuzzing-passphrase".to_owned()),
        ..SrtConfig::default()
    };
    let limits = ListenerLimits {
        max_sessions: 4,
        max_sessions_per_ip: 3,
        max_pending: 3,
        max_handshakes_per_second: 50,
    };
    let mut joins = 0;
    // Key derivation (PBKDF2) dominates an encrypted handshake. The callers' keys are derived
    // once per process (`prepared_keys`); the listener still derives once per encrypted caller
    // it checks, so callers encrypt only in inputs whose flags ask for it (bit 2), two at most,
    // which still covers the same and another passphrase and keeps the other inputs fast.
    let mut encrypted_callers = if flags & 4 != 0 { 0 } else { 2 };
    let groups = [
        (0x4000_0001, GroupType::Broadcast, 1000),
        (0x4000_0002, GroupType::Backup, 2000),
        (0x4000_0001, GroupType::Backup, 1000),
    ];
    let start = Instant::now();
    let mut now = start;
    let mut core = ListenerCore::new(&config, limits, flags & 2 == 0, now);
    let mut callers: Vec<FuzzCaller> = Vec::new();
    let mut sessions: Vec<u32> = Vec::new();
    while data.len() >= 3 {
        let (op, a, b) = (data[0], data[1], data[2]);
        data = &data[3..];
        now += Duration::from_millis(u64::from(op & 0x0f) * 60);
        let from = SocketAddr::from(([127, 0, 0, 1 + (a & 3)], 4000 + u16::from((a >> 2) & 3)));
        match (op >> 4) % 7 {
            0 if callers.len() < 16 => {
                let (group_id, kind, isn) = groups[usize::from(b % 3)];
                let mut passphrase = GROUP_PASSPHRASES[usize::from((a >> 4) % 3)];
                if passphrase.is_some() {
                    encrypted_callers += 1;
                    if encrypted_callers > 2 {
                        passphrase = None;
                    }
                }
                let caller_config = SrtConfig {
                    passphrase: passphrase.map(str::to_owned),
                    stream_id: (a & 0x40 != 0).then(|| "#!::r=fuzz".to_owned()),
                    ..SrtConfig::default()
                };
                let membership = GroupMembership {
                    group_id,
                    flags: u8::from(b & 0x80 != 0 && b & 0x40 != 0),
                    weight: u16::from((b >> 2) & 0x7f),
                    initial_sequence: isn + u32::from(b >> 7),
                    ..GroupMembership::new_group(kind)
                };
                let handshake = if a & 0x80 != 0 {
                    CallerHandshake::new(from, &caller_config, now)
                } else {
                    CallerHandshake::new_member(from, &caller_config, now, membership)
                };
                if let Ok(mut handshake) = handshake {
                    if let Some((cipher, key_material)) = passphrase.and_then(prepared_keys) {
                        handshake.use_keys(cipher, key_material);
                    }
                    callers.push(FuzzCaller {
                        handshake,
                        from,
                        result: None,
                    });
                }
            }
            1 => {
                while let Some(request) = core.poll_request() {
                    let passphrase = GROUP_PASSPHRASES[usize::from(a % 3)];
                    match b % 3 {
                        0 => {
                            let _ = core.accept(now, request.peer, passphrase);
                        }
                        1 => core.reject(
                            now,
                            request.peer,
                            RejectReason::Core(CoreRejectReason::Peer),
                        ),
                        _ => {
                            if core.authenticate(now, request.peer, passphrase).is_ok() {
                                let _ = core.accept(now, request.peer, None);
                            }
                        }
                    }
                }
            }
            2 if core.poll_timeout().is_some_and(|at| at <= now) => core.handle_timeout(now),
            3 => {
                let done: Vec<(SocketAddr, u32)> = callers
                    .iter()
                    .filter_map(|c| match &c.result {
                        Some(Ok(e)) => Some((c.from, e.local_socket_id)),
                        _ => None,
                    })
                    .collect();
                if let Some(&(peer, id)) = done.get(usize::from(a) % done.len().max(1)) {
                    core.session_ended(peer, id);
                }
            }
            4 => {
                if let Some(&session) = sessions.get(usize::from(a) % sessions.len().max(1)) {
                    core.group_ended(session);
                }
            }
            5 => {
                let len = usize::from(b).min(data.len());
                let (datagram, rest) = data.split_at(len);
                data = rest;
                if let Ok(Datagram::Handshake(mut hs)) = wire::decode(datagram, from) {
                    if hs.kind == ShakeKind::Conclusion && a & 0x20 == 0 {
                        hs.cookie = core.valid_cookie(now, from);
                    }
                    core.handle(now, from, hs);
                }
            }
            _ => {}
        }
        // Every caller's next handshake to the listener, every answer back to its callers.
        for caller in callers.iter_mut().filter(|c| c.result.is_none()) {
            while let Some(bytes) = caller.handshake.poll_transmit(now) {
                if let Ok(hs) = Handshake::parse(&bytes) {
                    core.handle(now, caller.from, hs);
                }
            }
        }
        while let Some((bytes, to)) = core.poll_transmit() {
            let Ok(hs) = Handshake::parse(&bytes) else {
                continue;
            };
            for caller in callers
                .iter_mut()
                .filter(|c| c.from == to && c.result.is_none())
            {
                caller.result = caller.handshake.handle(now, hs.clone());
                if let (Some(Ok(established)), Some(link)) =
                    (&caller.result, caller.handshake.group_link())
                {
                    let listener_side = core.group_of(caller.from, established.local_socket_id);
                    if let Some(listener_side) = listener_side {
                        assert_eq!(listener_side.local_group_id, link.peer_group_id);
                        assert_eq!(listener_side.peer_group_id, link.local_group_id);
                        assert_eq!(listener_side.kind, link.kind);
                        assert_eq!(listener_side.weight, link.weight);
                    }
                }
            }
        }
        while let Some(joined) = core.poll_joined() {
            assert_eq!(joined.session, joined.link.local_group_id);
            let link = core.group_of(joined.member.remote, joined.member.remote_socket_id);
            assert_eq!(link, Some(joined.link));
            let isn = groups
                .iter()
                .find(|g| g.0 == joined.link.peer_group_id)
                .map(|g| g.2);
            assert!(isn.is_some_and(|isn| joined.member.initial_sequence & !1 == isn));
            if !sessions.contains(&joined.session) && sessions.len() < 16 {
                sessions.push(joined.session);
            }
            joins += 1;
        }
    }
    joins
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
        rate_control: crate::srt::connection::RateControl::UNCAPPED,
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
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_group_harness_holds_on_seeded_random_inputs() {
        // The group_listener fuzz target's checks on every `cargo test`: 400 seeded inputs of 40
        // steps, most of them well-formed members of two groups (no single callers, weights
        // 0-60, the group's ISN, flags 0, no stream id) and answers, so that groups form and
        // members join; one step in five is random bytes.
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let mut joins = 0;
        for _ in 0..400 {
            let mut input = vec![rng.gen::<u8>() & 0x05];
            for _ in 0..40 {
                let step: [u8; 3] = if rng.gen_range(0..5) == 0 {
                    rng.gen()
                } else {
                    let op = [0x00, 0x00, 0x10, 0x10, 0x20, 0x30, 0x40][rng.gen_range(0..7)];
                    let a = rng.gen::<u8>() & 0x3f;
                    let b = (rng.gen::<u8>() & 0x3c) | rng.gen_range(0..2);
                    [op | (rng.gen::<u8>() & 0x07), a, b]
                };
                input.extend(step);
            }
            joins += group_members_into_listener(&input);
        }
        // 113 with this seed: a change that makes joins rare fails here.
        assert!(
            joins > 50,
            "only {joins} members joined: the inputs miss the join path"
        );
    }

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
        // Two group members, accepted, the second joins; a conflicting member; timers.
        let two_members = [
            0, 0x00, 0x05, 0x00, 0x00, 0x06, 0x00, 0x10, 0, 0, 0x20, 0, 0,
        ];
        assert_eq!(group_members_into_listener(&two_members), 1);
        group_members_into_listener(&[
            0, 0x00, 0x05, 0x00, 0x10, 0, 0, 0x00, 0x06, 0x00, 0x00, 0x07, 0x02, 0x20, 0, 0, 0x40,
            0, 0, 0x30, 0, 0,
        ]);
        let garbage = [0xffu8, 0xff, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut input = vec![0u8, 1, 16, 0];
        input.extend(garbage);
        datagrams_into_listener(&input);
        datagrams_into_session(&input);
    }
}
