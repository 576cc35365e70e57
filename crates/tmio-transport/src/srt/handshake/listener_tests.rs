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
fn a_caller_with_the_sdks_live_bbr_congestion_is_served_and_answered_in_kind() {
    // The TMIO SDK's `CONGESTIONTYPE = live_bbr` travels in the conclusion like libsrt's `file`:
    // take a captured libsrt conclusion naming `file` and name `live_bbr` instead.
    let now = Instant::now();
    let mut core = listener(None, ListenerLimits::default(), now);
    let packets: Vec<Handshake> = vectors("congestion-file-caller-only")
        .into_iter()
        .filter(|(from_caller, _)| *from_caller)
        .map(|(_, bytes)| Handshake::parse(&bytes).unwrap())
        .collect();
    let from = addr(40001);
    core.handle(now, from, packets[0].clone());
    let cookie = sent(&mut core)[0].0.cookie;
    let mut conclusion = packets[1].clone();
    conclusion.cookie = cookie;
    let mut renamed = 0;
    for extension in &mut conclusion.extensions {
        if let Extension::Congestion(name) = extension {
            *name = "live_bbr".into();
            renamed += 1;
        }
    }
    assert_eq!(
        renamed, 1,
        "the captured conclusion names a congestion controller"
    );
    core.handle(now, from, conclusion);
    let request = core.poll_request().expect("a live_bbr caller is served");
    core.accept(now, request.peer, None).unwrap();
    let answer = sent(&mut core).remove(0).0;
    assert_eq!(answer.kind, ShakeKind::Conclusion);
    assert!(answer
        .extensions
        .contains(&Extension::Congestion("live_bbr".into())));
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
    // Key material whose key is 20 bytes, no AES key, with no length announced: the wire parser
    // already refuses it; the listener core refuses it too when it is handed such a handshake.
    let (mut core, mut conclusion) = base();
    conclusion
        .extensions
        .push(Extension::KeyMaterialRequest(KeyingMaterialMessage {
            pt: PacketType::KeyingMaterial,
            key_flags: KeyFlags::EVEN,
            keki: 0,
            cipher: CipherType::Ctr,
            auth: Auth::None,
            salt: vec![7; 16],
            wrapped_keys: vec![9; 8 + 20],
        }));
    assert!(Handshake::parse(&conclusion.to_bytes()).is_err());
    core.handle(now, addr(1), conclusion);
    assert!(core.poll_request().is_none());
    assert_eq!(
        sent(&mut core).first().map(|(hs, _)| hs.kind),
        Some(ShakeKind::Rejection(1004))
    );
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

// ---- Groups (libsrt's bonding) ----

use crate::srt::handshake::{
    packet::{GroupExtension, GroupType},
    GroupMembership,
};

fn group_listener(passphrase: Option<&str>, limits: ListenerLimits, now: Instant) -> ListenerCore {
    ListenerCore::new(&config(passphrase), limits, true, now)
}

fn on(ip: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, ip], port))
}

fn group_of_handshake(hs: &Handshake) -> Option<GroupExtension> {
    hs.find(|e| match e {
        Extension::Group(g) => Some(g.clone()),
        _ => None,
    })
}

/// A captured libsrt group case: each member's (caller address, induction, conclusion) and the
/// listener's conclusion responses, in capture order.
struct GroupCapture {
    members: Vec<(SocketAddr, Handshake, Handshake)>,
    responses: Vec<(SocketAddr, Handshake)>,
}

fn group_capture(case: &str) -> GroupCapture {
    let path = format!(
        "{}/tests/data/handshakes/{case}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut direction = None;
    let mut members: Vec<(SocketAddr, Handshake, Handshake)> = Vec::new();
    let mut inductions: Vec<(SocketAddr, Handshake)> = Vec::new();
    let mut responses = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            // "caller->listener (127.0.0.2:36610 <-> 127.0.0.1:43167) ..."
            let from_caller = comment.starts_with("caller->listener");
            if from_caller || comment.starts_with("listener->caller") {
                let caller: SocketAddr = comment
                    .split(['(', ' '])
                    .find_map(|word| word.parse().ok())
                    .unwrap();
                direction = Some((from_caller, caller));
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let bytes: Vec<u8> = (0..line.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
                .collect();
            let (from_caller, caller) = direction.unwrap();
            if !crate::srt::handshake::packet::is_handshake(&bytes) {
                continue;
            }
            let hs = Handshake::parse(&bytes).unwrap();
            match (from_caller, hs.kind) {
                (true, ShakeKind::Induction) => inductions.push((caller, hs)),
                (true, ShakeKind::Conclusion) => {
                    let induction = inductions
                        .iter()
                        .find(|(from, _)| *from == caller)
                        .unwrap()
                        .1
                        .clone();
                    members.push((caller, induction, hs));
                }
                (false, ShakeKind::Conclusion) => responses.push((caller, hs)),
                _ => {}
            }
        }
    }
    GroupCapture { members, responses }
}

/// Feeds a captured member's induction and conclusion (with the core's cookie) from its address.
fn feed_member(core: &mut ListenerCore, now: Instant, member: &(SocketAddr, Handshake, Handshake)) {
    let (from, induction, conclusion) = member;
    core.handle(now, *from, induction.clone());
    let cookie = sent(core)
        .into_iter()
        .find(|(hs, to)| to == from && hs.kind == ShakeKind::Induction)
        .unwrap()
        .0
        .cookie;
    let mut conclusion = conclusion.clone();
    conclusion.cookie = cookie;
    core.handle(now, *from, conclusion);
}

/// The kinds of a handshake's extensions, in order.
fn extension_kinds(hs: &Handshake) -> Vec<std::mem::Discriminant<Extension>> {
    hs.extensions.iter().map(std::mem::discriminant).collect()
}

#[test]
fn a_libsrt_group_member_is_accepted_and_the_second_joins_without_the_application() {
    for (case, kind) in [
        ("group-broadcast", GroupType::Broadcast),
        ("group-backup", GroupType::Backup),
    ] {
        let capture = group_capture(case);
        assert_eq!(capture.members.len(), 2, "{case}");
        let now = Instant::now();
        let mut core = group_listener(None, ListenerLimits::default(), now);
        let (first, second) = (&capture.members[0], &capture.members[1]);
        let caller_group = group_of_handshake(&first.2).unwrap();
        // The first member: a request to the application, marked with its group.
        feed_member(&mut core, now, first);
        let request = core.poll_request().unwrap();
        assert_eq!(request.peer, first.0);
        assert_eq!(
            request.group,
            Some(GroupRequest {
                peer_group_id: caller_group.group_id(),
                kind,
                weight: caller_group.weight(),
            }),
            "{case}"
        );
        let established = core.accept(now, first.0, None).unwrap();
        assert_eq!(established.initial_sequence, first.2.initial_sequence);
        let link = core.group_of(first.0, first.2.socket_id).unwrap();
        assert_eq!(link.peer_group_id, caller_group.group_id());
        assert_ne!(
            link.local_group_id & GROUP_ID_BIT,
            0,
            "{case}: the group bit"
        );
        // The answer is laid out as libsrt's: HSRSP then GROUP, CONFIG set, the listener's
        // group id, the type, flags 0 and the member's weight.
        let answer = sent(&mut core).remove(0).0;
        let libsrt_answer = &capture
            .responses
            .iter()
            .find(|(to, _)| *to == first.0)
            .unwrap()
            .1;
        assert_eq!(answer.kind, ShakeKind::Conclusion);
        assert_eq!(
            answer.extension_field, libsrt_answer.extension_field,
            "{case}"
        );
        assert_eq!(
            extension_kinds(&answer),
            extension_kinds(libsrt_answer),
            "{case}"
        );
        let ours = group_of_handshake(&answer).unwrap();
        let theirs = group_of_handshake(libsrt_answer).unwrap();
        assert_eq!(
            ours.words[1], theirs.words[1],
            "{case}: type, flags, weight"
        );
        assert_eq!(ours.group_id(), link.local_group_id);
        // The second member joins the session: no request, a MemberJoined.
        feed_member(&mut core, now, second);
        assert!(core.poll_request().is_none(), "{case}: not asked again");
        let joined = core.poll_joined().unwrap();
        assert!(core.poll_joined().is_none());
        assert_eq!(joined.session, link.local_group_id);
        assert_eq!(joined.member.remote, second.0);
        assert_eq!(joined.member.remote_socket_id, second.2.socket_id);
        assert_eq!(joined.member.initial_sequence, established.initial_sequence);
        assert_ne!(joined.member.local_socket_id, established.local_socket_id);
        assert_eq!(
            joined.link.weight,
            group_of_handshake(&second.2).unwrap().weight()
        );
        assert_eq!(
            core.group_of(second.0, second.2.socket_id),
            Some(joined.link)
        );
        let answer = sent(&mut core).remove(0).0;
        assert_eq!(answer.dest_socket_id, second.2.socket_id);
        let group = group_of_handshake(&answer).unwrap();
        assert_eq!(group.group_id(), link.local_group_id);
        assert_eq!(group.weight(), joined.link.weight);
        assert_eq!(core.sessions(), 1, "{case}: a group is one session");
        // A repeated conclusion of the joined member gets the same answer again, no second join.
        feed_member(&mut core, now, second);
        assert!(core.poll_joined().is_none());
        assert_eq!(
            sent(&mut core)
                .iter()
                .filter(|(hs, _)| hs.kind == ShakeKind::Conclusion)
                .count(),
            1
        );
        // The group leaves with its last member.
        core.session_ended(first.0, first.2.socket_id);
        assert_eq!(core.sessions(), 1);
        core.session_ended(second.0, second.2.socket_id);
        assert_eq!(core.sessions(), 0);
        assert!(core.groups.is_empty() && core.sessions_per_ip.is_empty());
    }
}

#[test]
fn group_members_are_refused_without_groupconnect() {
    let capture = group_capture("group-broadcast");
    let now = Instant::now();
    let mut core = listener(None, ListenerLimits::default(), now);
    feed_member(&mut core, now, &capture.members[0]);
    assert!(core.poll_request().is_none());
    let answer = sent(&mut core).pop().unwrap().0;
    assert_eq!(answer.kind, ShakeKind::Rejection(1015));
    // tmio's caller names the reason.
    let membership = GroupMembership::new_group(GroupType::Broadcast);
    let mut caller =
        CallerHandshake::new_member(addr(9000), &config(None), now, membership).unwrap();
    let result = run_members(&mut core, &mut [(&mut caller, on(2, 1))], now, |_| {
        Some(None)
    })
    .0
    .remove(0);
    match result {
        Some(Err(Error::Rejected { code, reason, .. })) => {
            assert_eq!(code, 1015);
            assert!(reason.contains("groupconnect=1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

/// Runs tmio callers (each from its address) against the core in simulated time until every one
/// is done or 8 rounds passed; requests are answered by `decide` (as in [`connect`]). Returns
/// each caller's result and every member that joined.
fn run_members(
    core: &mut ListenerCore,
    callers: &mut [(&mut CallerHandshake, SocketAddr)],
    now: Instant,
    decide: impl Fn(&CallerRequest) -> Option<Option<&'static str>>,
) -> (Vec<Option<Result<Established, Error>>>, Vec<MemberJoined>) {
    let mut results: Vec<Option<Result<Established, Error>>> =
        callers.iter().map(|_| None).collect();
    let mut joined = Vec::new();
    for round in 0..8 {
        let at = now + Duration::from_millis(300 * round);
        for (i, (caller, from)) in callers.iter_mut().enumerate() {
            if results[i].is_some() {
                continue;
            }
            while let Some(bytes) = caller.poll_transmit(at) {
                core.handle(at, *from, Handshake::parse(&bytes).unwrap());
            }
        }
        while let Some(request) = core.poll_request() {
            match decide(&request) {
                Some(passphrase) => {
                    let _ = core.accept(at, request.peer, passphrase);
                }
                None => core.reject(at, request.peer, RejectReason::User(3403)),
            }
        }
        joined.extend(std::iter::from_fn(|| core.poll_joined()));
        for (hs, to) in sent(core) {
            for (i, (caller, from)) in callers.iter_mut().enumerate() {
                if *from == to && results[i].is_none() {
                    if let Some(result) = caller.handle(at, hs.clone()) {
                        results[i] = Some(result);
                    }
                }
            }
        }
        if results.iter().all(Option::is_some) {
            break;
        }
    }
    (results, joined)
}

#[test]
fn two_tmio_members_make_one_session_with_a_groupconnect_listener() {
    let now = Instant::now();
    let limits = ListenerLimits {
        max_sessions: 1,
        max_sessions_per_ip: 1,
        ..ListenerLimits::default()
    };
    let mut core = group_listener(Some(PASSPHRASE), limits, now);
    let caller_config = SrtConfig {
        stream_id: Some("#!::r=live/bonded,m=publish".into()),
        ..config(Some(PASSPHRASE))
    };
    let membership = GroupMembership::new_group(GroupType::Backup);
    let member = |weight| GroupMembership {
        weight,
        ..membership
    };
    let mut wifi =
        CallerHandshake::new_member(addr(9000), &caller_config, now, member(100)).unwrap();
    let mut cellular =
        CallerHandshake::new_member(addr(9000), &caller_config, now, member(10)).unwrap();
    // Both members call at once: the second waits with the first, then joins on accept.
    let requests = std::cell::Cell::new(0);
    let (results, joined) = run_members(
        &mut core,
        &mut [(&mut wifi, on(2, 5000)), (&mut cellular, on(3, 5000))],
        now,
        |request| {
            requests.set(requests.get() + 1);
            assert!(request.authenticated);
            assert_eq!(request.group.unwrap().peer_group_id, membership.group_id);
            Some(None)
        },
    );
    assert_eq!(requests.get(), 1, "the application is asked once");
    let sides: Vec<Established> = results.into_iter().map(|r| r.unwrap().unwrap()).collect();
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].member.remote, on(3, 5000));
    assert_eq!(joined[0].link.weight, 10);
    for side in &sides {
        assert_eq!(side.initial_sequence, membership.initial_sequence);
        assert!(side.cipher.is_some());
    }
    let (wifi_link, cellular_link) = (wifi.group_link().unwrap(), cellular.group_link().unwrap());
    assert_eq!(wifi_link.peer_group_id, cellular_link.peer_group_id);
    assert_eq!(wifi_link.peer_group_id, joined[0].session);
    assert_eq!((wifi_link.weight, cellular_link.weight), (100, 10));
    let listener_link = core
        .group_of(on(2, 5000), sides[0].local_socket_id)
        .unwrap();
    assert_eq!(listener_link.local_group_id, wifi_link.peer_group_id);
    assert_eq!(listener_link.peer_group_id, membership.group_id);
    assert_eq!(listener_link.kind, GroupType::Backup);
    assert_eq!(core.sessions(), 1);
    // The group counts once per source IP: each IP is at its limit of 1 now.
    let single = connect(
        &mut core,
        &config(Some(PASSPHRASE)),
        on(2, 6000),
        now,
        |_| Some(None),
    );
    assert!(
        matches!(single, Some(Err(Error::Rejected { code: 2402, .. }))),
        "{single:?}"
    );
    // A third member that already knows the listener's group joins; one told another id fails.
    let mut third = CallerHandshake::new_member(
        addr(9000),
        &caller_config,
        now,
        GroupMembership {
            peer_group_id: Some(wifi_link.peer_group_id),
            ..member(50)
        },
    )
    .unwrap();
    let (results, joined) = run_members(&mut core, &mut [(&mut third, on(2, 5001))], now, |_| {
        panic!("a member of an accepted group reached the application")
    });
    assert!(matches!(results[0], Some(Ok(_))), "{:?}", results[0]);
    assert_eq!(joined.len(), 1);
    let mut confused = CallerHandshake::new_member(
        addr(9000),
        &caller_config,
        now,
        GroupMembership {
            peer_group_id: Some(wifi_link.peer_group_id ^ 1),
            ..member(50)
        },
    )
    .unwrap();
    let (results, _) = run_members(&mut core, &mut [(&mut confused, on(2, 5002))], now, |_| {
        Some(None)
    });
    match &results[0] {
        Some(Err(Error::Handshake { reason, .. })) => {
            assert!(reason.contains("other members are in"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // The application ends the session: the group leaves; the same group calling again is new.
    assert!(core.group_ended(joined[0].session));
    assert!(!core.group_ended(joined[0].session));
    assert_eq!(core.sessions(), 0);
    assert!(core.groups.is_empty() && core.sessions_per_ip.is_empty());
    let mut again =
        CallerHandshake::new_member(addr(9000), &caller_config, now, member(100)).unwrap();
    let asked = std::cell::Cell::new(false);
    let (results, _) = run_members(&mut core, &mut [(&mut again, on(2, 5003))], now, |_| {
        asked.set(true);
        Some(None)
    });
    assert!(asked.get() && matches!(results[0], Some(Ok(_))));
}

/// A tmio group's two members from 127.0.0.2/127.0.0.3; the first accepted, the second's
/// outcome returned (its rejection code, or 0 when it joined).
fn second_member_outcome(
    core: &mut ListenerCore,
    first: GroupMembership,
    first_config: &SrtConfig,
    second: GroupMembership,
    second_config: &SrtConfig,
    now: Instant,
) -> i32 {
    let mut a = CallerHandshake::new_member(addr(9000), first_config, now, first).unwrap();
    let (results, _) = run_members(core, &mut [(&mut a, on(2, 7000))], now, |_| Some(None));
    assert!(matches!(results[0], Some(Ok(_))), "{:?}", results[0]);
    let mut b = CallerHandshake::new_member(addr(9000), second_config, now, second).unwrap();
    let (results, joined) = run_members(core, &mut [(&mut b, on(3, 7000))], now, |_| {
        panic!("asked about a later member")
    });
    match results.into_iter().next().flatten() {
        Some(Ok(_)) => {
            assert_eq!(joined.len(), 1);
            0
        }
        Some(Err(Error::Rejected { code, .. })) => {
            assert!(joined.is_empty());
            code
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn later_members_that_do_not_fit_their_group_are_refused_with_a_reason() {
    let now = Instant::now();
    let limits = ListenerLimits::default();
    let group = GroupMembership::new_group(GroupType::Broadcast);
    let plain = config(None);
    let outcome = |second: GroupMembership, second_config: &SrtConfig| {
        let mut core = group_listener(None, limits, now);
        second_member_outcome(&mut core, group, &plain, second, second_config, now)
    };
    assert_eq!(outcome(group, &plain), 0, "a fitting member joins");
    let backup = GroupMembership {
        kind: GroupType::Backup,
        ..group
    };
    assert_eq!(outcome(backup, &plain), 1015, "another type");
    let isn = GroupMembership {
        initial_sequence: (group.initial_sequence + 1) & 0x7fff_ffff,
        ..group
    };
    assert_eq!(
        outcome(isn, &plain),
        1015,
        "another initial sequence number"
    );
    let sid = SrtConfig {
        stream_id: Some("#!::r=other".into()),
        ..config(None)
    };
    assert_eq!(outcome(group, &sid), 1015, "another stream id");
    let flags = GroupMembership { flags: 1, ..group };
    assert_eq!(outcome(flags, &plain), 1015, "SYNCONMSG");
    assert_eq!(
        outcome(group, &config(Some(PASSPHRASE))),
        1011,
        "encrypts, the group does not"
    );
    // A group accepted with the application's passphrase: members need the same one.
    let mut core = group_listener(None, limits, now);
    let mut a =
        CallerHandshake::new_member(addr(9000), &config(Some(PASSPHRASE)), now, group).unwrap();
    let (results, _) = run_members(&mut core, &mut [(&mut a, on(2, 1))], now, |_| {
        Some(Some(PASSPHRASE))
    });
    assert!(matches!(results[0], Some(Ok(_))));
    for (port, member_config, code) in [
        (2, config(Some("another-passphrase")), 1010),
        (3, config(None), 1011),
    ] {
        let mut b = CallerHandshake::new_member(addr(9000), &member_config, now, group).unwrap();
        let (results, _) = run_members(&mut core, &mut [(&mut b, on(3, port))], now, |_| {
            panic!("asked about a later member")
        });
        assert!(
            matches!(results[0], Some(Err(Error::Rejected { code: c, .. })) if c == code),
            "{:?}",
            results[0]
        );
    }
    let mut b =
        CallerHandshake::new_member(addr(9000), &config(Some(PASSPHRASE)), now, group).unwrap();
    let (results, joined) = run_members(&mut core, &mut [(&mut b, on(3, 4))], now, |_| None);
    assert!(matches!(results[0], Some(Ok(_))) && joined.len() == 1);
    assert!(joined[0].member.cipher.is_some());
}

#[test]
fn a_group_has_at_most_eight_members() {
    let now = Instant::now();
    let mut core = group_listener(None, ListenerLimits::default(), now);
    let group = GroupMembership::new_group(GroupType::Broadcast);
    let mut codes = Vec::new();
    for port in 1..=9u16 {
        let mut member =
            CallerHandshake::new_member(addr(9000), &config(None), now, group).unwrap();
        let (results, _) = run_members(&mut core, &mut [(&mut member, on(2, port))], now, |_| {
            Some(None)
        });
        codes.push(match results.into_iter().next().flatten() {
            Some(Ok(_)) => 0,
            Some(Err(Error::Rejected { code, .. })) => code,
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(codes, [0, 0, 0, 0, 0, 0, 0, 0, 2402]);
    assert_eq!(core.sessions(), 1);
    assert_eq!(core.sessions_per_ip.get(&on(2, 0).ip()), Some(&1));
}

#[test]
fn members_of_a_refused_or_expired_group_are_refused_with_its_reason() {
    let now = Instant::now();
    let group = GroupMembership::new_group(GroupType::Backup);
    // The application refuses the first member: a member waiting with it and a later one get
    // the same code, without a request.
    let mut core = group_listener(None, ListenerLimits::default(), now);
    let mut a = CallerHandshake::new_member(addr(9000), &config(None), now, group).unwrap();
    let mut b = CallerHandshake::new_member(addr(9000), &config(None), now, group).unwrap();
    let asked = std::cell::Cell::new(0);
    let (results, _) = run_members(
        &mut core,
        &mut [(&mut a, on(2, 1)), (&mut b, on(3, 1))],
        now,
        |_| {
            asked.set(asked.get() + 1);
            None
        },
    );
    assert_eq!(asked.get(), 1);
    for result in &results {
        assert!(
            matches!(result, Some(Err(Error::Rejected { code: 3403, .. }))),
            "{result:?}"
        );
    }
    let mut c = CallerHandshake::new_member(addr(9000), &config(None), now, group).unwrap();
    let (results, _) = run_members(&mut core, &mut [(&mut c, on(4, 1))], now, |_| {
        panic!("a member of a refused group reached the application")
    });
    assert!(matches!(
        results[0],
        Some(Err(Error::Rejected { code: 3403, .. }))
    ));
    assert!(core.groups.is_empty());
    // The application does not answer in time: 1016 for the first and every later member.
    let mut core = group_listener(None, ListenerLimits::default(), now);
    let mut a = CallerHandshake::new_member(addr(9000), &config(None), now, group).unwrap();
    let induction = Handshake::parse(&a.poll_transmit(now).unwrap()).unwrap();
    core.handle(now, on(2, 1), induction);
    for (hs, _) in sent(&mut core) {
        a.handle(now, hs);
    }
    core.handle(
        now,
        on(2, 1),
        Handshake::parse(&a.poll_transmit(now).unwrap()).unwrap(),
    );
    assert!(core.poll_request().is_some());
    let expiry = core.poll_timeout().unwrap();
    core.handle_timeout(expiry);
    assert_eq!(sent(&mut core)[0].0.kind, ShakeKind::Rejection(1016));
    let mut late = CallerHandshake::new_member(addr(9000), &config(None), now, group).unwrap();
    let (results, _) = run_members(&mut core, &mut [(&mut late, on(3, 1))], expiry, |_| {
        panic!("a member of an expired group reached the application")
    });
    assert!(
        matches!(results[0], Some(Err(Error::Rejected { code: 1016, .. }))),
        "{:?}",
        results[0]
    );
    // The refusal is forgotten after a while: the group may ask again.
    let forgotten = expiry + REFUSED_GROUP_TTL + Duration::from_secs(3);
    core.handle_timeout(forgotten);
    assert!(core.refused_groups.is_empty() && core.poll_timeout().is_none());
    let mut again =
        CallerHandshake::new_member(addr(9000), &config(None), forgotten, group).unwrap();
    let (results, _) = run_members(&mut core, &mut [(&mut again, on(4, 1))], forgotten, |_| {
        Some(None)
    });
    assert!(matches!(results[0], Some(Ok(_))), "{:?}", results[0]);
}

#[test]
fn a_tmio_member_conclusion_is_laid_out_as_libsrts() {
    let capture = group_capture("group-broadcast");
    let (_, _, libsrt) = &capture.members[0];
    let theirs = group_of_handshake(libsrt).unwrap();
    let now = Instant::now();
    let membership = GroupMembership {
        group_id: theirs.group_id(),
        kind: GroupType::Broadcast,
        flags: 0,
        weight: theirs.weight(),
        initial_sequence: libsrt.initial_sequence,
        peer_group_id: None,
    };
    let mut caller =
        CallerHandshake::new_member(addr(9000), &config(None), now, membership).unwrap();
    caller.cookie = Some(libsrt.cookie);
    let ours = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
    assert_eq!(ours.extension_field, libsrt.extension_field);
    assert_eq!(ours.initial_sequence, libsrt.initial_sequence);
    assert_eq!(extension_kinds(&ours), extension_kinds(libsrt));
    let group_block = |hs: &Handshake| {
        let bytes = hs.to_bytes();
        let at = bytes.len() - 12;
        bytes[at..].to_vec()
    };
    // The whole SRT_CMD_GROUP block, byte for byte: type 8, 2 words, id, type/flags/weight.
    assert_eq!(group_block(&ours), group_block(libsrt));
    assert_eq!(&group_block(libsrt)[..4], &[0, 8, 0, 2]);
    // With a stream id and a passphrase: HSREQ, SID, GROUP, KMREQ as libsrt orders them.
    let mut caller = CallerHandshake::new_member(
        addr(9000),
        &SrtConfig {
            stream_id: Some("#!::r=live/test".into()),
            ..config(Some(PASSPHRASE))
        },
        now,
        membership,
    )
    .unwrap();
    caller.cookie = Some(1);
    let ours = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
    let names: Vec<&str> = ours
        .extensions
        .iter()
        .map(|e| match e {
            Extension::HandshakeRequest(_) => "HSREQ",
            Extension::StreamId(_) => "SID",
            Extension::Group(_) => "GROUP",
            Extension::KeyMaterialRequest(_) => "KMREQ",
            _ => "other",
        })
        .collect();
    assert_eq!(names, ["HSREQ", "SID", "GROUP", "KMREQ"]);
}

#[test]
fn a_member_answered_without_a_group_fails_with_a_clear_error() {
    let now = Instant::now();
    let mut core = group_listener(None, ListenerLimits::default(), now);
    let membership = GroupMembership::new_group(GroupType::Broadcast);
    let mut caller =
        CallerHandshake::new_member(addr(9000), &config(None), now, membership).unwrap();
    let induction = Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap();
    core.handle(now, on(2, 1), induction);
    for (hs, _) in sent(&mut core) {
        caller.handle(now, hs);
    }
    core.handle(
        now,
        on(2, 1),
        Handshake::parse(&caller.poll_transmit(now).unwrap()).unwrap(),
    );
    let request = core.poll_request().unwrap();
    core.accept(now, request.peer, None).unwrap();
    let answer = sent(&mut core).remove(0).0;
    // An answer of another group type is refused.
    let mut other_type = answer.clone();
    for extension in &mut other_type.extensions {
        if let Extension::Group(g) = extension {
            *g = GroupExtension::new(g.group_id(), GroupType::Backup, 0, g.weight());
        }
    }
    let mut twin = CallerHandshake::new_member(addr(9000), &config(None), now, membership).unwrap();
    twin.local_socket_id = caller.local_socket_id;
    twin.cookie = caller.cookie;
    match twin.handle(now, other_type) {
        Some(Err(Error::Handshake { reason, .. })) => {
            assert!(reason.contains("group type 2"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let mut answer = answer;
    answer
        .extensions
        .retain(|e| !matches!(e, Extension::Group(_)));
    match caller.handle(now, answer) {
        Some(Err(Error::Handshake { reason, .. })) => {
            assert!(reason.contains("without a group extension"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(caller.group_link().is_none());
    // Invalid memberships are refused before anything is sent.
    for membership in [
        GroupMembership {
            weight: 101,
            ..membership
        },
        GroupMembership {
            group_id: 0x1234,
            ..membership
        },
        GroupMembership {
            kind: GroupType::Other(3),
            ..membership
        },
        GroupMembership {
            initial_sequence: 0x8000_0000,
            ..membership
        },
    ] {
        let result = CallerHandshake::new_member(addr(9000), &config(None), now, membership);
        assert!(
            matches!(result, Err(Error::InvalidConfig { .. })),
            "{membership:?}"
        );
    }
}

// ---- Groups against libsrt itself (the bonding build's srt-test-live), over loopback UDP ----
//
// The sans-IO sides driven by a plain UDP loop: the handshake only (the data path does not take
// members yet). Skipped with a message when scripts/build-libsrt-bonding.sh has not been run.

/// How long a loop below waits at most for libsrt (a failure guard, not a measurement).
const LIBSRT_DEADLINE: Duration = Duration::from_secs(10);

fn loopback_socket(ip: u8, port: u16) -> std::net::UdpSocket {
    let socket = std::net::UdpSocket::bind(on(ip, port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    socket
}

/// A received datagram, if one came within the socket's read timeout.
fn receive(socket: &std::net::UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 2048];
    let (len, from) = socket.recv_from(&mut buf).ok()?;
    buf.truncate(len);
    Some((buf, from))
}

#[test]
fn tmio_members_are_accepted_by_a_libsrt_group_listener() {
    let test = "tmio_members_are_accepted_by_a_libsrt_group_listener";
    if !tmio_testkit::LibsrtGroupPeer::should_run(test).unwrap() {
        return;
    }
    tmio_members_to_libsrt(GroupType::Backup);
    tmio_members_to_libsrt(GroupType::Broadcast);
}

/// tmio's two members of a `kind` group (127.0.0.2 weight 1, 127.0.0.3 weight 0) against
/// libsrt's group listener.
fn tmio_members_to_libsrt(kind: GroupType) {
    use tmio_testkit::{free_loopback_udp_port, GroupUri, LibsrtGroupPeer, Sink};
    let port = free_loopback_udp_port().unwrap();
    let mut libsrt = LibsrtGroupPeer::receiver(GroupUri::listener(port), Sink::Discard)
        .spawn()
        .unwrap();
    libsrt.wait_for_listen(Duration::from_secs(5)).unwrap();
    let remote = addr(port);
    let membership = GroupMembership::new_group(kind);
    let start = Instant::now();
    let mut members: Vec<_> = [(2, 1), (3, 0)]
        .into_iter()
        .map(|(ip, weight)| {
            let caller = CallerHandshake::new_member(
                remote,
                &config(None),
                start,
                GroupMembership {
                    weight,
                    ..membership
                },
            )
            .unwrap();
            (caller, loopback_socket(ip, 0), None)
        })
        .collect();
    while start.elapsed() < LIBSRT_DEADLINE && members.iter().any(|m| m.2.is_none()) {
        for (caller, socket, result) in members.iter_mut().filter(|m| m.2.is_none()) {
            while let Some(bytes) = caller.poll_transmit(Instant::now()) {
                socket.send_to(&bytes, remote).unwrap();
            }
            if let Some((bytes, from)) = receive(socket) {
                if let Ok(crate::srt::wire::Datagram::Handshake(hs)) =
                    crate::srt::wire::decode(&bytes, from)
                {
                    *result = caller.handle(Instant::now(), hs);
                }
            }
        }
    }
    libsrt.stop().unwrap();
    let links: Vec<GroupLink> = members
        .iter()
        .map(|(caller, _, result)| {
            assert!(
                matches!(result, Some(Ok(_))),
                "{kind:?}: {result:?}; libsrt: {}",
                libsrt.stderr_text()
            );
            caller.group_link().unwrap()
        })
        .collect();
    // libsrt put both members in one group of its own and repeated each member's weight.
    assert_ne!(links[0].peer_group_id & GROUP_ID_BIT, 0);
    assert_eq!(links[0].peer_group_id, links[1].peer_group_id);
    assert_eq!((links[0].weight, links[1].weight), (1, 0));
    for (_, _, result) in members {
        let established = result.unwrap().unwrap();
        assert_eq!(established.initial_sequence, membership.initial_sequence);
    }
}

#[test]
fn a_libsrt_group_callers_members_join_one_session_of_the_listener_core() {
    use tmio_testkit::GroupType as LibsrtType;
    let test = "a_libsrt_group_callers_members_join_one_session_of_the_listener_core";
    if !tmio_testkit::LibsrtGroupPeer::should_run(test).unwrap() {
        return;
    }
    for (libsrt_kind, kind) in [
        (LibsrtType::Broadcast, GroupType::Broadcast),
        (LibsrtType::Backup, GroupType::Backup),
    ] {
        // libsrt 1.5.1's group sender now and then leaves a member it connected unused (both
        // "Connection established" in its log, every packet on the other member; see
        // `tests/libsrt_group_interop.rs`): a run that falls short that way alone is repeated
        // with a new libsrt process, at most three runs.
        let mut runs = 0;
        loop {
            runs += 1;
            match libsrt_members_to_core(libsrt_kind, kind) {
                Ok(()) => break,
                Err(short) if runs < 3 => eprintln!("run {runs}: {short}; again"),
                Err(short) => panic!("{short} ({runs} runs)"),
            }
        }
    }
}

/// A libsrt group caller of `libsrt_kind` (members 127.0.0.2 with weight 1 and 127.0.0.3 with
/// weight 0) against the core; broadcast: data on both links, backup: on the weight-1 one.
/// Panics on any disagreement, except one: both members joined and libsrt sent data on fewer
/// of them than `kind` wants, which is returned as an error (libsrt's, see the caller).
fn libsrt_members_to_core(
    libsrt_kind: tmio_testkit::GroupType,
    kind: GroupType,
) -> Result<(), String> {
    use tmio_testkit::{
        libsrt_group::GROUP_CHUNK, loopback_members, Feed, GroupUri, LibsrtGroupPeer,
    };
    let socket = loopback_socket(1, 0);
    let port = socket.local_addr().unwrap().port();
    let start = Instant::now();
    let mut core = group_listener(None, ListenerLimits::default(), start);
    let members = loopback_members(port, 2);
    let members = vec![members[0].clone().weight(1), members[1].clone().weight(0)];
    let uri = GroupUri::caller(libsrt_kind, members);
    let feed = Feed::Paced {
        data: std::sync::Arc::new(vec![7u8; 40 * GROUP_CHUNK]),
        bytes_per_sec: 200_000,
    };
    let mut libsrt = LibsrtGroupPeer::sender(uri, feed).spawn().unwrap();
    let mut requests = Vec::new();
    let mut sessions = Vec::new();
    let mut joined = Vec::new();
    // Local socket ids of the member links that received a data packet from libsrt: libsrt
    // sends data on a member only once it took the listener's answer.
    let mut carrying = std::collections::BTreeSet::new();
    let wanted = if kind == GroupType::Broadcast { 2 } else { 1 };
    while start.elapsed() < LIBSRT_DEADLINE && carrying.len() < wanted {
        if let Some((bytes, from)) = receive(&socket) {
            match crate::srt::wire::decode(&bytes, from) {
                Ok(crate::srt::wire::Datagram::Handshake(hs)) => {
                    core.handle(Instant::now(), from, hs)
                }
                _ if bytes.len() >= 16 && bytes[0] & 0x80 == 0 => {
                    carrying.insert(u32::from_be_bytes([
                        bytes[12], bytes[13], bytes[14], bytes[15],
                    ]));
                }
                _ => {}
            }
        }
        while let Some(request) = core.poll_request() {
            let established = core.accept(Instant::now(), request.peer, None).unwrap();
            sessions.push(established.local_socket_id);
            requests.push(request);
        }
        while let Some(member) = core.poll_joined() {
            sessions.push(member.member.local_socket_id);
            joined.push(member);
        }
        while let Some((bytes, to)) = core.poll_transmit() {
            socket.send_to(&bytes, to).unwrap();
        }
    }
    libsrt.stop().unwrap();
    let stderr = libsrt.stderr_text();
    assert_eq!(requests.len(), 1, "{kind:?}: one request; libsrt: {stderr}");
    let group = requests[0].group.unwrap();
    assert_eq!(joined.len(), 1, "{kind:?}: one join; libsrt: {stderr}");
    // Either member may come first; each carries its own weight.
    let weight_of = |peer: SocketAddr| u16::from(peer.ip() == on(2, 0).ip());
    assert_eq!(
        (group.kind, group.weight),
        (kind, weight_of(requests[0].peer))
    );
    assert_eq!(joined[0].link.weight, weight_of(joined[0].member.remote));
    let first = core
        .accepted
        .keys()
        .find(|(peer, _)| *peer == requests[0].peer)
        .and_then(|&(peer, id)| core.group_of(peer, id))
        .unwrap();
    assert_eq!(joined[0].session, first.local_group_id);
    assert_ne!(joined[0].member.remote.ip(), requests[0].peer.ip());
    // Broadcast: both member links carry libsrt's data, so libsrt took both answers. Backup:
    // one member carries it. Which one is libsrt's race: it activates the first member that
    // connects, usually the weight-1 member (127.0.0.2), but now and then the other (seen about
    // one run in three on a loaded machine), and a weight only decides once both are up.
    let links = [
        (requests[0].peer, sessions[0]),
        (joined[0].member.remote, sessions[1]),
    ];
    let members: std::collections::BTreeSet<u32> = links.iter().map(|(_, id)| *id).collect();
    if carrying.len() < wanted && carrying.is_subset(&members) {
        return Err(format!(
            "{kind:?}: libsrt sent data on {carrying:?} of members {members:?}; libsrt: {stderr}"
        ));
    }
    match kind {
        GroupType::Broadcast => assert_eq!(
            carrying, members,
            "{kind:?}: data on the members; libsrt: {stderr}"
        ),
        _ => assert!(
            carrying.len() == 1 && carrying.is_subset(&members),
            "{kind:?}: data on one member of {members:?}, got {carrying:?}; libsrt: {stderr}"
        ),
    }
    Ok(())
}

#[test]
fn a_resent_conclusion_carries_the_same_key_material() {
    let now = Instant::now();
    let mut caller = CallerHandshake::new(addr(9000), &config(Some(PASSPHRASE)), now).unwrap();
    caller.cookie = Some(1);
    let first = caller.poll_transmit(now).unwrap();
    let resend = caller
        .poll_transmit(now + Duration::from_millis(250))
        .unwrap();
    let key_material = |bytes: &[u8]| {
        Handshake::parse(bytes).unwrap().find(|e| match e {
            Extension::KeyMaterialRequest(km) => Some(km.clone()),
            _ => None,
        })
    };
    assert!(key_material(&first).is_some());
    assert_eq!(key_material(&first), key_material(&resend), "wrapped once");
}

#[test]
fn later_members_count_against_the_per_ip_and_rate_limits() {
    let now = Instant::now();
    let group = GroupMembership::new_group(GroupType::Broadcast);
    let outcome = |core: &mut ListenerCore, from: SocketAddr| {
        let mut member =
            CallerHandshake::new_member(addr(9000), &config(None), now, group).unwrap();
        let (results, _) = run_members(core, &mut [(&mut member, from)], now, |_| Some(None));
        match results.into_iter().next().flatten() {
            Some(Ok(_)) => 0,
            Some(Err(Error::Rejected { code, .. })) => code,
            other => panic!("{other:?}"),
        }
    };
    // One session per source IP: a single caller holds 127.0.0.3's; the group holds 127.0.0.2's.
    let limits = ListenerLimits {
        max_sessions_per_ip: 1,
        ..ListenerLimits::default()
    };
    let mut core = group_listener(None, limits, now);
    assert!(matches!(
        connect(&mut core, &config(None), on(3, 1), now, |_| Some(None)),
        Some(Ok(_))
    ));
    assert_eq!(outcome(&mut core, on(2, 1)), 0, "the first member");
    assert_eq!(
        outcome(&mut core, on(3, 2)),
        2402,
        "a member from a full address"
    );
    assert_eq!(
        outcome(&mut core, on(2, 2)),
        0,
        "a member from the group's own address"
    );
    assert_eq!(core.sessions(), 2);
    // Every member takes a token of the handshake rate (each may cost a key unwrap).
    let limits = ListenerLimits {
        max_handshakes_per_second: 2,
        ..ListenerLimits::default()
    };
    let mut core = group_listener(None, limits, now);
    assert_eq!(outcome(&mut core, on(2, 1)), 0);
    assert_eq!(outcome(&mut core, on(3, 1)), 0);
    assert_eq!(outcome(&mut core, on(4, 1)), 1005);
}

mod key_material_answer {
    use super::*;
    use srt_protocol::protocol::encryption::key::{EncryptionKey, KeyEncryptionKey, Salt};
    use srt_protocol::settings::KeySettings;

    fn passphrase() -> Passphrase {
        Passphrase::try_from("answer-passphrase".to_owned()).unwrap()
    }

    #[test]
    fn the_answer_is_what_wrapping_the_unwrapped_keys_again_gives() {
        for key_size in [KeySize::AES128, KeySize::AES192, KeySize::AES256] {
            let settings = KeySettings {
                key_size,
                passphrase: passphrase(),
            };
            let caller = StreamCipher::new_random(&settings);
            let mut request = caller.key_material().unwrap();
            // Fields the answer does not copy.
            request.keki = 7;
            let unwrapped = unwrap_keys(&passphrase(), &request).unwrap();
            let answer = answer_key_material(Some(&request), &unwrapped);
            assert_eq!(answer, unwrapped.key_material(), "{key_size:?}");
            assert_eq!(answer.unwrap().wrapped_keys, request.wrapped_keys);
        }
    }

    #[test]
    fn one_key_is_answered_with_one_key_and_no_key_with_nothing() {
        let settings = KeySettings {
            key_size: KeySize::AES128,
            passphrase: passphrase(),
        };
        let salt = Salt::try_from(&[0x5a; 16]).unwrap();
        let key = EncryptionKey::try_from(&[0x33; 16]).unwrap();
        let wrapped_keys =
            KeyEncryptionKey::new(&settings, &salt).encrypt_wrapped_keys(key.as_bytes());
        let request = KeyingMaterialMessage {
            pt: PacketType::KeyingMaterial,
            key_flags: KeyFlags::ODD,
            keki: 0,
            cipher: CipherType::Ctr,
            auth: Auth::None,
            salt: salt.as_slice().to_vec(),
            wrapped_keys,
        };
        let unwrapped = unwrap_keys(&passphrase(), &request).unwrap();
        let answer = answer_key_material(Some(&request), &unwrapped);
        assert_eq!(answer, unwrapped.key_material());
        assert_eq!(answer.unwrap().key_flags, KeyFlags::ODD);

        let no_key = KeyingMaterialMessage {
            key_flags: KeyFlags::empty(),
            wrapped_keys: request.wrapped_keys[..8].to_vec(),
            ..request
        };
        assert_eq!(answer_key_material(Some(&no_key), &unwrapped), None);
        // Without the request's key material it wraps.
        assert_eq!(
            answer_key_material(None, &unwrapped),
            unwrapped.key_material()
        );
    }

    #[test]
    fn a_caller_sends_the_keys_it_was_given_unless_they_are_for_another_passphrase() {
        let now = Instant::now();
        let settings = KeySettings {
            key_size: KeySize::AES128,
            passphrase: passphrase(),
        };
        let given = StreamCipher::new_random(&settings);
        let given_key_material = given.key_material().unwrap();
        for (caller_passphrase, sends_given) in
            [("answer-passphrase", true), ("another-passphrase", false)]
        {
            let mut core = listener(None, ListenerLimits::default(), now);
            let mut caller =
                CallerHandshake::new(addr(9000), &config(Some(caller_passphrase)), now).unwrap();
            caller.use_keys(given.clone(), given_key_material.clone());
            let mut sent_key_material = None;
            for round in 0..2 {
                let at = now + Duration::from_millis(300 * round);
                while let Some(bytes) = caller.poll_transmit(at) {
                    let hs = Handshake::parse(&bytes).unwrap();
                    if let Some(km) = hs.find(|e| match e {
                        Extension::KeyMaterialRequest(km) => Some(km.clone()),
                        _ => None,
                    }) {
                        sent_key_material = Some(km);
                    }
                    core.handle(at, addr(9000), hs);
                }
                for (hs, _) in sent(&mut core) {
                    assert!(caller.handle(at, hs).is_none());
                }
            }
            let km = sent_key_material.expect("a conclusion with key material");
            assert_eq!(km == given_key_material, sends_given, "{caller_passphrase}");
        }
    }
}
