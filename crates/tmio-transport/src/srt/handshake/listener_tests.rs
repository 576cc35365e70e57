//! The listener's handshake under simulated time: tmio's caller against it, and libsrt's captured
//! handshakes (tests/data/handshakes) fed to it.

use super::*;
use crate::srt::handshake::{packet::HandshakeParseError, CallerHandshake};

const PASSPHRASE: &str = "tmio-test-passphrase";

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn config(passphrase: Option<&str>) -> SrtConfig {
    SrtConfig {
        passphrase: passphrase.map(str::to_owned),
        ..SrtConfig::default()
    }
}

fn listener(passphrase: Option<&str>, limits: ListenerLimits, now: Instant) -> ListenerCore {
    ListenerCore::new(&config(passphrase), limits, false, now)
}

/// Everything the listener sends, parsed.
fn sent(core: &mut ListenerCore) -> Vec<(Handshake, SocketAddr)> {
    std::iter::from_fn(|| core.poll_transmit())
        .map(|(bytes, to)| (Handshake::parse(&bytes).unwrap(), to))
        .collect()
}

/// Runs tmio's caller against the core until the caller is done or stuck; the core's requests
/// are answered by `decide`.
fn connect(
    core: &mut ListenerCore,
    caller_config: &SrtConfig,
    from: SocketAddr,
    now: Instant,
    decide: impl Fn(&CallerRequest) -> Option<Option<&'static str>>,
) -> Option<Result<Established, Error>> {
    let mut caller = CallerHandshake::new(addr(9000), caller_config, now).unwrap();
    for round in 0..8 {
        let at = now + Duration::from_millis(300 * round);
        while let Some(bytes) = caller.poll_transmit(at) {
            core.handle(at, from, Handshake::parse(&bytes).unwrap());
        }
        while let Some(request) = core.poll_request() {
            match decide(&request) {
                Some(passphrase) => {
                    let _ = core.accept(at, request.peer, passphrase);
                }
                None => core.reject(at, request.peer, RejectReason::User(3403)),
            }
        }
        for (hs, to) in sent(core) {
            assert_eq!(to, from);
            if let Some(result) = caller.handle(at, hs) {
                return Some(result);
            }
        }
    }
    None
}

use crate::Error;

#[test]
fn tmio_caller_connects_and_both_sides_agree() {
    let now = Instant::now();
    let mut core = listener(None, ListenerLimits::default(), now);
    let caller = SrtConfig {
        stream_id: Some("#!::r=live/test".into()),
        ..SrtConfig::default()
    };
    let mut seen = None;
    let mut caller_hs = CallerHandshake::new(addr(9000), &caller, now).unwrap();
    // Induction: answered, nothing kept.
    let induction = caller_hs.poll_transmit(now).unwrap();
    core.handle(now, addr(5000), Handshake::parse(&induction).unwrap());
    assert_eq!(core.pending(), 0);
    let answer = sent(&mut core);
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].0.extension_field, SRT_MAGIC);
    assert!(caller_hs.handle(now, answer[0].0.clone()).is_none());
    // Conclusion: one request with the stream id.
    let conclusion = caller_hs.poll_transmit(now).unwrap();
    core.handle(now, addr(5000), Handshake::parse(&conclusion).unwrap());
    // A repeat while pending is not a second request.
    core.handle(now, addr(5000), Handshake::parse(&conclusion).unwrap());
    let request = core.poll_request().unwrap();
    assert!(core.poll_request().is_none());
    assert_eq!(request.stream_id.as_deref(), Some("#!::r=live/test"));
    assert_eq!(request.key_bytes, 0);
    let listener_side = core.accept(now, request.peer, None).unwrap();
    for (hs, _) in sent(&mut core) {
        seen = caller_hs.handle(now, hs);
    }
    let caller_side = seen.unwrap().unwrap();
    assert_eq!(caller_side.remote_socket_id, listener_side.local_socket_id);
    assert_eq!(listener_side.remote_socket_id, caller_side.local_socket_id);
    assert_eq!(caller_side.initial_sequence, listener_side.initial_sequence);
    assert_eq!(core.sessions(), 1);
    // A lost answer: the caller's repeated conclusion gets the same answer again.
    core.handle(now, addr(5000), Handshake::parse(&conclusion).unwrap());
    let again = sent(&mut core);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0.socket_id, listener_side.local_socket_id);
    core.session_ended(addr(5000), caller_side.local_socket_id);
    assert_eq!(core.sessions(), 0);
}

#[test]
fn inductions_from_many_addresses_keep_no_state() {
    let now = Instant::now();
    let mut core = listener(None, ListenerLimits::default(), now);
    let mut caller = CallerHandshake::new(addr(9000), &config(None), now).unwrap();
    let induction = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
    for port in 0..60_000u16 {
        let from = SocketAddr::from(([127, 0, (port >> 8) as u8, port as u8], port));
        core.handle(now, from, induction.clone());
        assert!(core.poll_transmit().is_some());
    }
    assert_eq!(core.pending(), 0);
    assert_eq!(core.sessions(), 0);
    assert!(core.rejected.is_empty() && core.accepted.is_empty());
    assert_eq!(core.poll_timeout(), None);
}

#[test]
fn a_conclusion_without_our_cookie_gets_nothing() {
    let now = Instant::now();
    let mut core = listener(None, ListenerLimits::default(), now);
    let mut caller = CallerHandshake::new(addr(9000), &config(None), now).unwrap();
    caller.cookie = Some(12345);
    let conclusion = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
    core.handle(now, addr(5000), conclusion.clone());
    assert!(core.poll_transmit().is_none());
    assert!(core.poll_request().is_none());
    assert_eq!(core.pending(), 0);
    // A cookie given to another address does not work either.
    let mut other = CallerHandshake::new(addr(9000), &config(None), now).unwrap();
    let induction = Handshake::parse(&other.poll_transmit(now).unwrap()).unwrap();
    core.handle(now, addr(5001), induction);
    let cookie = sent(&mut core)[0].0.cookie;
    let mut stolen = conclusion;
    stolen.cookie = cookie;
    core.handle(now, addr(5000), stolen);
    assert!(core.poll_transmit().is_none());
    // Cookies stay valid for the current and the previous 64-second bucket only.
    let later = now + Duration::from_secs(200);
    other.cookie = Some(cookie);
    let late = Handshake::parse(&other.poll_transmit(later).unwrap()).unwrap();
    assert_eq!(late.kind, ShakeKind::Conclusion);
    core.handle(later, addr(5001), late);
    assert!(core.poll_transmit().is_none());
}

#[test]
fn passphrases_are_checked_before_the_application_hears_of_the_caller() {
    let now = Instant::now();
    let limits = ListenerLimits::default();
    let accept = |_: &CallerRequest| Some(None);
    // Right passphrase: authenticated request, connected, ciphers on both sides.
    let mut core = listener(Some(PASSPHRASE), limits, now);
    let result = connect(&mut core, &config(Some(PASSPHRASE)), addr(1), now, |r| {
        assert!(r.authenticated);
        assert_eq!(r.key_bytes, 16);
        Some(None)
    });
    let established = result.unwrap().unwrap();
    assert!(established.cipher.is_some());
    // Wrong passphrase: 1010, and no request.
    let mut core = listener(Some(PASSPHRASE), limits, now);
    let result = connect(
        &mut core,
        &config(Some("another-passphrase")),
        addr(2),
        now,
        |_| panic!("a caller with a wrong key reached the application"),
    );
    assert!(
        matches!(result, Some(Err(Error::Rejected { code: 1010, .. }))),
        "{result:?}"
    );
    // No passphrase at the caller: 1011.
    let result = connect(&mut core, &config(None), addr(3), now, accept);
    assert!(
        matches!(result, Some(Err(Error::Rejected { code: 1011, .. }))),
        "{result:?}"
    );
    // A listener without passphrase: the application decides, with a passphrase of its own.
    let mut core = listener(None, limits, now);
    let result = connect(&mut core, &config(Some(PASSPHRASE)), addr(4), now, |r| {
        assert!(!r.authenticated);
        Some(Some(PASSPHRASE))
    });
    assert!(result.unwrap().unwrap().cipher.is_some());
    let result = connect(&mut core, &config(Some(PASSPHRASE)), addr(5), now, accept);
    assert!(
        matches!(result, Some(Err(Error::Rejected { code: 1011, .. }))),
        "{result:?}"
    );
    let result = connect(&mut core, &config(Some(PASSPHRASE)), addr(6), now, |_| {
        Some(Some("not-the-passphrase"))
    });
    assert!(
        matches!(result, Some(Err(Error::Rejected { code: 1010, .. }))),
        "{result:?}"
    );
}

#[test]
fn limits_refuse_with_a_reason() {
    let now = Instant::now();
    let limits = ListenerLimits {
        max_sessions: 3,
        max_sessions_per_ip: 2,
        max_pending: 8,
        max_handshakes_per_second: 1000,
    };
    let mut core = listener(None, limits, now);
    let accept = |_: &CallerRequest| Some(None);
    let on = |ip: u8, port: u16| SocketAddr::from(([127, 0, 0, ip], port));
    for port in [1, 2] {
        assert!(matches!(
            connect(&mut core, &config(None), on(1, port), now, accept),
            Some(Ok(_))
        ));
    }
    let third_from_ip = connect(&mut core, &config(None), on(1, 3), now, accept);
    assert!(matches!(
        third_from_ip,
        Some(Err(Error::Rejected { code: 2402, .. }))
    ));
    assert!(matches!(
        connect(&mut core, &config(None), on(2, 1), now, accept),
        Some(Ok(_))
    ));
    let fourth = connect(&mut core, &config(None), on(3, 1), now, accept);
    assert!(matches!(
        fourth,
        Some(Err(Error::Rejected { code: 2402, .. }))
    ));
    // Rate: a burst beyond one second's worth is refused with "backlog".
    let limits = ListenerLimits {
        max_handshakes_per_second: 2,
        ..ListenerLimits::default()
    };
    let mut core = listener(None, limits, now);
    let results: Vec<_> = (1..=3)
        .map(|port| connect(&mut core, &config(None), on(1, port), now, accept))
        .collect();
    assert!(matches!(results[0], Some(Ok(_))) && matches!(results[1], Some(Ok(_))));
    assert!(matches!(
        results[2],
        Some(Err(Error::Rejected { code: 1005, .. }))
    ));
}

#[test]
fn an_unanswered_request_expires_with_timeout() {
    let now = Instant::now();
    let mut core = listener(None, ListenerLimits::default(), now);
    let mut caller = CallerHandshake::new(addr(9000), &config(None), now).unwrap();
    let induction = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
    core.handle(now, addr(7), induction);
    for (hs, _) in sent(&mut core) {
        caller.handle(now, hs);
    }
    let conclusion = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
    core.handle(now, addr(7), conclusion);
    assert!(core.poll_request().is_some());
    let at = core.poll_timeout().unwrap();
    assert_eq!(at, now + PENDING_TTL);
    core.handle_timeout(at);
    let rejection = sent(&mut core);
    assert_eq!(rejection[0].0.kind, ShakeKind::Rejection(1016));
    assert_eq!(core.pending(), 0);
    assert_eq!(
        core.accept(at, addr(7), None).unwrap_err(),
        AcceptError::NotPending
    );
}

/// The datagrams of a captured case, with their direction.
fn vectors(case: &str) -> Vec<(bool, Vec<u8>)> {
    let path = format!(
        "{}/tests/data/handshakes/{case}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let mut from_caller = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            if comment.starts_with("caller->listener") {
                from_caller = true;
            } else if comment.starts_with("listener->caller") {
                from_caller = false;
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let bytes = (0..line.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
                .collect();
            out.push((from_caller, bytes));
        }
    }
    out
}

/// Feeds a captured libsrt caller's induction and conclusion to the core (the conclusion with
/// the core's own cookie) and returns the request or the rejection code.
fn serve_libsrt_caller(core: &mut ListenerCore, case: &str) -> Result<CallerRequest, i32> {
    let now = Instant::now();
    let packets: Vec<Handshake> = vectors(case)
        .into_iter()
        .filter(|(from_caller, _)| *from_caller)
        .map(|(_, bytes)| Handshake::parse(&bytes).unwrap())
        .collect();
    let from = addr(40000);
    core.handle(now, from, packets[0].clone());
    let cookie = sent(core)[0].0.cookie;
    let mut conclusion = packets[1].clone();
    conclusion.cookie = cookie;
    core.handle(now, from, conclusion);
    if let Some(request) = core.poll_request() {
        return Ok(request);
    }
    match sent(core).first().map(|(hs, _)| hs.kind) {
        Some(ShakeKind::Rejection(code)) => Err(code),
        other => panic!("{case}: neither a request nor a rejection: {other:?}"),
    }
}

#[test]
fn every_captured_libsrt_handshake_parses_and_reserialises() {
    let dir = format!("{}/tests/data/handshakes", env!("CARGO_MANIFEST_DIR"));
    let mut cases = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("hex") {
            continue;
        }
        let case = path.file_stem().unwrap().to_str().unwrap().to_owned();
        for (_, bytes) in vectors(&case) {
            if !crate::srt::handshake::packet::is_handshake(&bytes) {
                continue;
            }
            let parsed: Result<Handshake, HandshakeParseError> = Handshake::parse(&bytes);
            let parsed = parsed.unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(parsed.to_bytes(), bytes, "{case}: byte-exact round trip");
        }
        cases += 1;
    }
    assert!(cases >= 10, "only {cases} captured cases found");
}

#[test]
fn libsrt_callers_are_served_or_refused_with_libsrts_reasons() {
    let now = Instant::now();
    let limits = ListenerLimits::default();
    let plain = || listener(None, limits, now);
    // Live and file mode (the latter is a reliable byte stream for tmio).
    assert!(serve_libsrt_caller(&mut plain(), "live-plain").is_ok());
    let mut core = plain();
    let file = serve_libsrt_caller(&mut core, "transtype-file").unwrap();
    core.accept(now, file.peer, None).unwrap();
    let answer = sent(&mut core).remove(0).0;
    assert_eq!(answer.kind, ShakeKind::Conclusion);
    assert!(answer
        .extensions
        .contains(&Extension::Congestion("file".into())));
    assert!(serve_libsrt_caller(&mut plain(), "congestion-file-caller-only").is_ok());
    assert!(serve_libsrt_caller(&mut plain(), "messageapi-0-caller-only").is_ok());
    // A live-mode tmio listener cannot serve file congestion control.
    let live = SrtConfig {
        delivery: DeliveryMode::Live {
            recv_latency: Duration::from_millis(120),
            send_latency: Duration::from_millis(120),
            too_late_drop: true,
        },
        ..SrtConfig::default()
    };
    let mut live_core = ListenerCore::new(&live, limits, false, now);
    assert_eq!(
        serve_libsrt_caller(&mut live_core, "transtype-file"),
        Err(1013)
    );
    // Packet filters: refused with REJ_FILTER.
    for case in ["fec-caller-only", "fec-bare-caller-only"] {
        assert_eq!(serve_libsrt_caller(&mut plain(), case), Err(1014), "{case}");
    }
    // Encryption.
    let with_pass = |p| listener(Some(p), limits, now);
    let aes = serve_libsrt_caller(&mut with_pass(PASSPHRASE), "aes128-streamid").unwrap();
    assert!(aes.authenticated);
    assert_eq!(aes.key_bytes, 16);
    assert_eq!(aes.stream_id.as_deref(), Some("#!::r=live/test,m=publish"));
    let aes256 = serve_libsrt_caller(&mut with_pass(PASSPHRASE), "aes256-streamid").unwrap();
    assert_eq!(aes256.key_bytes, 32);
    assert_eq!(
        serve_libsrt_caller(&mut with_pass("another-passphrase-here"), "aes128-streamid"),
        Err(1010)
    );
    assert_eq!(
        serve_libsrt_caller(&mut with_pass(PASSPHRASE), "live-plain"),
        Err(1011)
    );
}

#[test]
fn malformed_conclusions_are_refused_with_a_reason() {
    let now = Instant::now();
    let base = || {
        let mut core = listener(None, ListenerLimits::default(), now);
        let packets: Vec<Handshake> = vectors("live-plain")
            .into_iter()
            .filter(|(c, _)| *c)
            .map(|(_, b)| Handshake::parse(&b).unwrap())
            .collect();
        core.handle(now, addr(1), packets[0].clone());
        let cookie = sent(&mut core)[0].0.cookie;
        let mut conclusion = packets[1].clone();
        conclusion.cookie = cookie;
        (core, conclusion)
    };
    let refused = |edit: &dyn Fn(&mut Handshake)| {
        let (mut core, mut conclusion) = base();
        edit(&mut conclusion);
        // Through the wire format, as a datagram would come.
        let parsed = Handshake::parse(&conclusion.to_bytes()).unwrap();
        core.handle(now, addr(1), parsed);
        assert!(core.poll_request().is_none());
        match sent(&mut core).first().map(|(hs, _)| hs.kind) {
            Some(ShakeKind::Rejection(code)) => code,
            other => panic!("not refused: {other:?}"),
        }
    };
    assert_eq!(refused(&|hs| hs.mss = 45), 1004);
    assert_eq!(refused(&|hs| hs.version = 4), 1008);
    assert_eq!(
        refused(&|hs| hs
            .extensions
            .retain(|e| !matches!(e, Extension::HandshakeRequest(_)))),
        1004
    );
    assert_eq!(
        refused(&|hs| hs
            .extensions
            .push(Extension::StreamId(format!("#!::r={}", "a".repeat(510))))),
        2400
    );
    assert_eq!(
        refused(&|hs| hs.extensions.push(Extension::Unknown {
            kind: 42,
            body: vec![0; 4]
        })),
        1004
    );
    assert_eq!(
        refused(&|hs| hs.extensions.push(Extension::Group(
            crate::srt::handshake::packet::GroupExtension {
                words: vec![0x4000_0001, 0x0100_0000]
            }
        ))),
        1015
    );
    assert_eq!(
        refused(&|hs| hs.extensions.push(Extension::Group(
            crate::srt::handshake::packet::GroupExtension {
                words: vec![0x0000_0001, 0x0100_0000]
            }
        ))),
        1015,
        "a group id without the group bit"
    );
    assert_eq!(refused(&|hs| hs.encryption_field = 2), 1004);
    assert_eq!(
        refused(&|hs| hs
            .extensions
            .push(Extension::StreamIdNotUtf8(vec![0xff, 0xfe, 0x00, 0x41]))),
        2400,
        "a stream id that is not UTF-8"
    );
    // 512 bytes exactly is allowed.
    let (mut core, mut conclusion) = base();
    conclusion
        .extensions
        .push(Extension::StreamId("s".repeat(512)));
    core.handle(now, addr(1), conclusion);
    assert!(core.poll_request().is_some());
}

#[test]
fn libsrt_group_members_are_read_and_refused_until_groups_are_served() {
    use crate::srt::handshake::packet::{GroupExtension, GroupType};
    for (case, kind) in [
        ("group-broadcast", GroupType::Broadcast),
        ("group-backup", GroupType::Backup),
    ] {
        let conclusions: Vec<Handshake> = vectors(case)
            .into_iter()
            .filter(|(from_caller, bytes)| {
                *from_caller && crate::srt::handshake::packet::is_handshake(bytes)
            })
            .map(|(_, bytes)| Handshake::parse(&bytes).unwrap())
            .filter(|hs| hs.kind == ShakeKind::Conclusion)
            .collect();
        assert_eq!(conclusions.len(), 2, "{case}: two members");
        let groups: Vec<GroupExtension> = conclusions
            .iter()
            .map(|hs| {
                hs.find(|e| match e {
                    Extension::Group(g) => Some(g.clone()),
                    _ => None,
                })
                .unwrap()
            })
            .collect();
        // Both members name one group, of the case's type, and share the initial sequence.
        assert_eq!(groups[0].group_id(), groups[1].group_id(), "{case}");
        assert!(groups
            .iter()
            .all(|g| g.has_group_bit() && g.group_type() == kind));
        assert_eq!(
            conclusions[0].initial_sequence,
            conclusions[1].initial_sequence
        );
        for groupconnect in [false, true] {
            let now = Instant::now();
            let mut core =
                ListenerCore::new(&config(None), ListenerLimits::default(), groupconnect, now);
            let from = addr(41000);
            let mut induction = conclusions[0].clone();
            induction.kind = ShakeKind::Induction;
            induction.extensions.clear();
            core.handle(now, from, induction);
            let cookie = sent(&mut core)[0].0.cookie;
            let mut conclusion = conclusions[0].clone();
            conclusion.cookie = cookie;
            core.handle(now, from, conclusion);
            assert!(core.poll_request().is_none());
            let answer = sent(&mut core).remove(0).0;
            assert_eq!(answer.kind, ShakeKind::Rejection(1015), "{case}");
        }
    }
}

#[test]
fn authenticate_checks_a_callers_key_before_it_is_accepted() {
    let now = Instant::now();
    let mut core = listener(None, ListenerLimits::default(), now);
    // Brings a caller with `caller_passphrase` to the pending state; returns its caller side.
    let pending = |core: &mut ListenerCore, port: u16, caller_passphrase: Option<&str>| {
        let mut caller = CallerHandshake::new(addr(9000), &config(caller_passphrase), now).unwrap();
        let induction = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
        core.handle(now, addr(port), induction);
        for (hs, _) in sent(core) {
            caller.handle(now, hs);
        }
        let conclusion = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
        core.handle(now, addr(port), conclusion);
        assert!(core.poll_request().is_some());
        caller
    };
    let refused = |core: &mut ListenerCore| sent(core).first().map(|(hs, _)| hs.kind);
    pending(&mut core, 1, Some(PASSPHRASE));
    assert_eq!(
        core.authenticate(now, addr(1), Some("a-wrong-passphrase")),
        Err(AcceptError::Rejected(RejectReason::Core(
            CoreRejectReason::BadSecret
        )))
    );
    assert_eq!(refused(&mut core), Some(ShakeKind::Rejection(1010)));
    assert_eq!(core.pending(), 0);
    pending(&mut core, 2, Some(PASSPHRASE));
    assert_eq!(
        core.authenticate(now, addr(2), None),
        Err(AcceptError::Rejected(RejectReason::Core(
            CoreRejectReason::Unsecure
        )))
    );
    pending(&mut core, 3, None);
    assert_eq!(
        core.authenticate(now, addr(3), Some(PASSPHRASE)),
        Err(AcceptError::Rejected(RejectReason::Core(
            CoreRejectReason::Unsecure
        )))
    );
    // The right one: nothing answered yet, then accepted with the cipher the check found.
    let mut caller = pending(&mut core, 4, Some(PASSPHRASE));
    assert_eq!(core.authenticate(now, addr(4), Some(PASSPHRASE)), Ok(()));
    assert!(sent(&mut core).is_empty());
    let listener_side = core.accept(now, addr(4), None).unwrap();
    assert!(listener_side.cipher.is_some());
    let caller_side = sent(&mut core)
        .into_iter()
        .find_map(|(hs, _)| caller.handle(now, hs))
        .unwrap()
        .unwrap();
    assert!(caller_side.cipher.is_some());
    assert_eq!(
        core.authenticate(now, addr(5), None),
        Err(AcceptError::NotPending)
    );
}
