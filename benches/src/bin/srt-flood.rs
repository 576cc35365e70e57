//! Handshake floods against an SRT listener on loopback, for `benches/handshake-flood.sh`
//! (tmio issue 7): what a gateway costs per stranger, and whether it survives them.
//!
//! ```text
//! srt-flood induction TARGET COUNT [CHUNK=500] [MAX_SECONDS=300]
//! srt-flood handshake TARGET COUNT [CHUNK=100] [MAX_SECONDS=300]
//! srt-flood garbage   TARGET COUNT [CHUNK=7]   [MAX_SECONDS=60]
//! srt-flood sink      MAX_SECONDS REPORT_FILE
//! ```
//!
//! - `induction`: COUNT induction handshakes, each from a new source address. Sockets are bound
//!   on 127.1.0.1, 127.1.0.2, … (all of 127.0.0.0/8 is local; addresses ending in .0 or .255 are
//!   skipped), CHUNK at a time; each chunk's answers are collected (at most 200 ms after its
//!   last send) and its sockets closed before the next.
//! - `handshake`: COUNT complete HSv5 handshakes (induction, then a conclusion with an HSREQ
//!   extension, no stream id, no encryption), each from a new source address, CHUNK at a time,
//!   built with srt-protocol's packet types. A caller whose conclusion is answered then stays
//!   silent: its socket is closed with its chunk, so the listener hears nothing more from it.
//! - `garbage`: COUNT datagrams that made srt-protocol 0.4.4's parser panic (control type 0x7fff,
//!   subtype 5, 6 or 7 with an empty body, subtype 8 with a 0-3 byte body), in turn, CHUNK per
//!   fresh source socket.
//! - `sink`: a TCP server standing in for the upstream: prints `listening IP:PORT`, accepts any
//!   number of connections, reads each to its end and keeps `REPORT_FILE` up to date (rewritten
//!   at most every 100 ms): `accepted N`, `open N`, `bytes N`, and for the last connection that
//!   ended after carrying bytes, `last_closed_bytes N` and `last_closed_sha256 HEX`. It stops
//!   after MAX_SECONDS, or at SIGINT/SIGTERM.
//!
//! Every mode is bounded in count and time, and the target must be a loopback address (IPv4 for
//! the modes that need many source addresses). The flood modes print one summary line on stdout:
//! `MODE sent=N answered=N accepted=N rejected=N silent=N seconds=S`.
use std::{
    collections::BTreeMap,
    io::ErrorKind,
    net::{Ipv4Addr, SocketAddr, UdpSocket},
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};
use srt_protocol::{
    options::{KeySize, PacketCount, PacketSize, SrtVersion},
    packet::{
        ControlPacket, ControlTypes, HandshakeControlInfo, HandshakeVsInfo, HsV5Info, Packet,
        SeqNumber, ShakeType, SocketId, SocketType, SrtControlPacket, SrtHandshake, SrtShakeFlags,
        TimeStamp,
    },
};
use tokio::io::AsyncReadExt;

fn usage() -> ExitCode {
    eprintln!(
        "usage: srt-flood (induction|handshake|garbage) TARGET COUNT [CHUNK] [MAX_SECONDS]\n       \
         srt-flood sink MAX_SECONDS REPORT_FILE"
    );
    ExitCode::from(2)
}

/// How long a chunk waits for answers after its last send.
const ANSWER_GRACE: Duration = Duration::from_millis(200);
/// How often an unanswered handshake packet is sent again, and how many times in all.
const HANDSHAKE_RESEND: Duration = Duration::from_millis(300);
const HANDSHAKE_TRIES: u32 = 4;

/// Source addresses 127.1.0.1, 127.1.0.2, …, skipping .0 and .255.
struct Sources {
    next: u32,
}

impl Sources {
    fn new() -> Sources {
        Sources {
            next: u32::from(Ipv4Addr::new(127, 1, 0, 1)),
        }
    }

    fn next_addr(&mut self) -> Result<Ipv4Addr, String> {
        loop {
            let candidate = Ipv4Addr::from(self.next);
            if candidate.octets()[0] != 127 {
                return Err("ran out of 127.0.0.0/8 source addresses".into());
            }
            self.next += 1;
            if !matches!(candidate.octets()[3], 0 | 255) {
                return Ok(candidate);
            }
        }
    }

    /// A non-blocking UDP socket on the next source address.
    fn bind(&mut self) -> Result<UdpSocket, String> {
        let ip = self.next_addr()?;
        let socket =
            UdpSocket::bind(SocketAddr::from((ip, 0))).map_err(|e| format!("binding {ip}: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("{ip}: {e}"))?;
        Ok(socket)
    }
}

fn serialize(packet: &Packet) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    packet.serialize(&mut out);
    out
}

/// A caller's induction request, as srt-protocol's caller sends it.
fn induction(socket_id: u32, initial_sequence: u32) -> Vec<u8> {
    serialize(&Packet::Control(ControlPacket {
        timestamp: TimeStamp::from_micros(0),
        dest_sockid: SocketId(0),
        control_type: ControlTypes::Handshake(HandshakeControlInfo {
            init_seq_num: SeqNumber::new_truncate(initial_sequence),
            max_packet_size: PacketSize(1500),
            max_flow_size: PacketCount(8192),
            shake_type: ShakeType::Induction,
            socket_id: SocketId(socket_id),
            syn_cookie: 0,
            peer_addr: Ipv4Addr::LOCALHOST.into(),
            info: HandshakeVsInfo::V4(SocketType::Datagram),
        }),
    }))
}

/// A caller's HSv5 conclusion with an HSREQ extension (SRT 1.5.0, 120 ms latency both ways).
fn conclusion(socket_id: u32, initial_sequence: u32, cookie: i32) -> Vec<u8> {
    serialize(&Packet::Control(ControlPacket {
        timestamp: TimeStamp::from_micros(0),
        dest_sockid: SocketId(0),
        control_type: ControlTypes::Handshake(HandshakeControlInfo {
            init_seq_num: SeqNumber::new_truncate(initial_sequence),
            max_packet_size: PacketSize(1500),
            max_flow_size: PacketCount(8192),
            shake_type: ShakeType::Conclusion,
            socket_id: SocketId(socket_id),
            syn_cookie: cookie,
            peer_addr: Ipv4Addr::LOCALHOST.into(),
            info: HandshakeVsInfo::V5(HsV5Info {
                key_size: KeySize::Unspecified,
                ext_hs: Some(SrtControlPacket::HandshakeRequest(SrtHandshake {
                    version: SrtVersion::new(1, 5, 0),
                    flags: SrtShakeFlags::SUPPORTED,
                    send_latency: Duration::from_millis(120),
                    recv_latency: Duration::from_millis(120),
                })),
                ext_km: None,
                ext_group: None,
                sid: None,
            }),
        }),
    }))
}

/// The datagrams that made srt-protocol 0.4.4's parser panic (issue 7, defect 1).
fn garbage_datagrams() -> Vec<Vec<u8>> {
    let header = |subtype: u8| {
        let mut datagram = vec![0xff, 0xff, 0x00, subtype];
        datagram.extend([0u8; 12]);
        datagram
    };
    let mut datagrams = vec![header(5), header(6), header(7)];
    for body in 0..4 {
        let mut datagram = header(8);
        datagram.extend(std::iter::repeat_n(0xab, body));
        datagrams.push(datagram);
    }
    datagrams
}

/// The handshake type and SYN cookie of a handshake packet, read by hand (the answer comes
/// from the network: no parser that could panic).
fn handshake_fields(datagram: &[u8]) -> Option<(i32, i32)> {
    let word = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(
            datagram.get(at..at + 4)?.try_into().ok()?,
        ))
    };
    // Control bit set, control type 0 (handshake).
    if datagram.len() < 64 || datagram[0] != 0x80 || datagram[1] != 0 {
        return None;
    }
    Some((word(16 + 20)?, word(16 + 28)?))
}

/// Handshake answers waiting on `socket` (non-blocking): (handshake type, cookie) of each.
fn drain(socket: &UdpSocket, target: SocketAddr) -> Vec<(i32, i32)> {
    let mut buffer = [0u8; 2048];
    let mut answers = Vec::new();
    loop {
        match socket.recv_from(&mut buffer) {
            Ok((len, from)) if from == target => {
                if let Some(fields) = handshake_fields(&buffer[..len]) {
                    answers.push(fields);
                }
            }
            Ok(_) => {}
            // WouldBlock ends the round; ICMP errors (ConnectionRefused) and the like too.
            Err(_) => return answers,
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    answered: u64,
    accepted: u64,
    rejected: BTreeMap<i32, u64>,
    silent: u64,
}

impl Tally {
    fn print(&self, mode: &str, started: Instant, stopped_early: bool) {
        let rejected: u64 = self.rejected.values().sum();
        let codes: Vec<String> = self
            .rejected
            .iter()
            .map(|(code, n)| format!("{code}:{n}"))
            .collect();
        println!(
            "{mode} sent={} answered={} accepted={} rejected={rejected} silent={} seconds={:.2}{}{}",
            self.sent,
            self.answered,
            self.accepted,
            self.silent,
            started.elapsed().as_secs_f64(),
            if codes.is_empty() {
                String::new()
            } else {
                format!(" reject_codes={}", codes.join(","))
            },
            if stopped_early {
                " (stopped at MAX_SECONDS)"
            } else {
                ""
            },
        );
    }
}

fn flood_inductions(
    target: SocketAddr,
    count: u64,
    chunk: u64,
    limit: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    let mut sources = Sources::new();
    let mut tally = Tally::default();
    let mut stopped_early = false;
    while tally.sent < count {
        if started.elapsed() > limit {
            stopped_early = true;
            break;
        }
        let size = chunk.min(count - tally.sent);
        let mut sockets = Vec::with_capacity(size as usize);
        for i in 0..size {
            let socket = sources.bind()?;
            let id = u32::try_from((tally.sent + i) % u64::from(u32::MAX)).unwrap_or(1) + 1;
            match socket.send_to(&induction(id, id.wrapping_mul(7919)), target) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("sending to {target}: {e}")),
            }
            sockets.push((socket, false));
        }
        tally.sent += size;
        let deadline = Instant::now() + ANSWER_GRACE;
        let mut waiting = sockets.len();
        while waiting > 0 && Instant::now() < deadline {
            for (socket, answered) in sockets.iter_mut().filter(|(_, answered)| !*answered) {
                if drain(socket, target).iter().any(|(kind, _)| *kind == 1) {
                    *answered = true;
                    waiting -= 1;
                }
            }
            if waiting > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        tally.answered += (sockets.len() - waiting) as u64;
        tally.silent += waiting as u64;
    }
    tally.print("induction", started, stopped_early);
    Ok(())
}

/// One caller of the `handshake` mode.
struct Caller {
    socket: UdpSocket,
    socket_id: u32,
    initial_sequence: u32,
    cookie: Option<i32>,
    outcome: Option<i32>,
}

/// Sends each waiting caller's packet (`packet`) up to HANDSHAKE_TRIES times until `answer`
/// takes a reply for it.
fn handshake_round(
    callers: &mut [Caller],
    target: SocketAddr,
    waiting: impl Fn(&Caller) -> bool,
    packet: impl Fn(&Caller) -> Vec<u8>,
    answer: impl Fn(&mut Caller, i32, i32) -> bool,
) {
    for _ in 0..HANDSHAKE_TRIES {
        let mut pending = 0;
        for caller in callers.iter().filter(|c| waiting(c)) {
            let _ = caller.socket.send_to(&packet(caller), target);
            pending += 1;
        }
        if pending == 0 {
            return;
        }
        let deadline = Instant::now() + HANDSHAKE_RESEND;
        while pending > 0 && Instant::now() < deadline {
            for caller in callers.iter_mut().filter(|c| waiting(c)) {
                for (kind, cookie) in drain(&caller.socket, target) {
                    if answer(caller, kind, cookie) {
                        pending -= 1;
                        break;
                    }
                }
            }
            if pending > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

fn flood_handshakes(
    target: SocketAddr,
    count: u64,
    chunk: u64,
    limit: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    let mut sources = Sources::new();
    let mut tally = Tally::default();
    let mut stopped_early = false;
    while tally.sent < count {
        if started.elapsed() > limit {
            stopped_early = true;
            break;
        }
        let size = chunk.min(count - tally.sent);
        let mut callers = Vec::with_capacity(size as usize);
        for i in 0..size {
            let id = u32::try_from((tally.sent + i) % u64::from(u32::MAX)).unwrap_or(1) + 1;
            callers.push(Caller {
                socket: sources.bind()?,
                socket_id: id,
                initial_sequence: id.wrapping_mul(7919) & 0x7fff_ffff,
                cookie: None,
                outcome: None,
            });
        }
        tally.sent += size;
        handshake_round(
            &mut callers,
            target,
            |c| c.cookie.is_none(),
            |c| induction(c.socket_id, c.initial_sequence),
            |c, kind, cookie| {
                if kind == 1 {
                    c.cookie = Some(cookie);
                }
                c.cookie.is_some()
            },
        );
        handshake_round(
            &mut callers,
            target,
            |c| c.cookie.is_some() && c.outcome.is_none(),
            |c| conclusion(c.socket_id, c.initial_sequence, c.cookie.unwrap_or(0)),
            |c, kind, _| {
                // -1: the conclusion answer (accepted); 1000 and up: a rejection code.
                if kind == -1 || kind >= 1000 {
                    c.outcome = Some(kind);
                }
                c.outcome.is_some()
            },
        );
        for caller in &callers {
            match caller.outcome {
                Some(-1) => {
                    tally.answered += 1;
                    tally.accepted += 1;
                }
                Some(code) => {
                    tally.answered += 1;
                    *tally.rejected.entry(code).or_default() += 1;
                }
                None => tally.silent += 1,
            }
        }
    }
    tally.print("handshake", started, stopped_early);
    Ok(())
}

fn flood_garbage(
    target: SocketAddr,
    count: u64,
    chunk: u64,
    limit: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    let datagrams = garbage_datagrams();
    let mut tally = Tally::default();
    let mut stopped_early = false;
    let bind: SocketAddr = if target.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    while tally.sent < count {
        if started.elapsed() > limit {
            stopped_early = true;
            break;
        }
        let socket = UdpSocket::bind(bind).map_err(|e| format!("binding {bind}: {e}"))?;
        for _ in 0..chunk.min(count - tally.sent) {
            let datagram = &datagrams[(tally.sent % datagrams.len() as u64) as usize];
            match socket.send_to(datagram, target) {
                Ok(_) => {}
                // The kernel's buffer is full (or the port answered ICMP): wait a little.
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
            tally.sent += 1;
        }
    }
    tally.print("garbage", started, stopped_early);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The counting sink

#[derive(Debug, Default)]
struct SinkState {
    accepted: u64,
    open: u64,
    bytes: u64,
    last_closed: Option<(u64, String)>,
    version: u64,
}

impl SinkState {
    fn report(&self) -> String {
        let mut text = format!(
            "accepted {}\nopen {}\nbytes {}\n",
            self.accepted, self.open, self.bytes
        );
        if let Some((bytes, digest)) = &self.last_closed {
            text.push_str(&format!(
                "last_closed_bytes {bytes}\nlast_closed_sha256 {digest}\n"
            ));
        }
        text
    }
}

fn lock(state: &Mutex<SinkState>) -> std::sync::MutexGuard<'_, SinkState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_report(path: &str, text: &str) -> Result<(), String> {
    let temporary = format!("{path}.tmp");
    std::fs::write(&temporary, text).map_err(|e| format!("{temporary}: {e}"))?;
    std::fs::rename(&temporary, path).map_err(|e| format!("{path}: {e}"))
}

async fn sink_connection(mut stream: tokio::net::TcpStream, state: Arc<Mutex<SinkState>>) {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    // A reset ends the connection like a close does.
    while let Ok(n) = stream.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
        let mut state = lock(&state);
        state.bytes += n as u64;
        state.version += 1;
    }
    let mut state = lock(&state);
    state.open -= 1;
    if total > 0 {
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        state.last_closed = Some((total, digest));
    }
    state.version += 1;
}

async fn sink(limit: Duration, report: String) -> Result<(), String> {
    use tokio::signal::unix::{signal, SignalKind};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("binding the sink: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = Arc::new(Mutex::new(SinkState::default()));
    write_report(&report, &lock(&state).report())?;
    println!("listening {addr}");
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut written = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // Out of file descriptors and the like: keep serving the connections we have.
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                {
                    let mut state = lock(&state);
                    state.accepted += 1;
                    state.open += 1;
                    state.version += 1;
                }
                tokio::spawn(sink_connection(stream, state.clone()));
            }
            _ = tick.tick() => {
                let (version, text) = {
                    let state = lock(&state);
                    (state.version, state.report())
                };
                if version != written {
                    write_report(&report, &text)?;
                    written = version;
                }
            }
            _ = &mut deadline => break,
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    let text = lock(&state).report();
    write_report(&report, &text)
}

// ---------------------------------------------------------------------------------------------

/// The flood target: a loopback address (IPv4 for the modes that bind many source addresses).
fn loopback_target(text: &str, needs_ipv4: bool) -> Result<SocketAddr, String> {
    let target: SocketAddr = text
        .parse()
        .map_err(|_| format!("{text}: not an IP:PORT address"))?;
    if !target.ip().is_loopback() {
        return Err(format!(
            "{text}: srt-flood only sends to loopback addresses"
        ));
    }
    if needs_ipv4 && !target.is_ipv4() {
        return Err(format!(
            "{text}: this mode needs an IPv4 loopback target (its sources are 127.x.y.z)"
        ));
    }
    Ok(target)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let number = |s: &str| s.parse::<u64>().ok();
    let result = match argv.as_slice() {
        ["sink", seconds, report] => {
            let Some(seconds) = number(seconds) else {
                return usage();
            };
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    eprintln!("srt-flood: cannot start tokio: {e}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(sink(Duration::from_secs(seconds), (*report).to_owned()))
        }
        [mode @ ("induction" | "handshake" | "garbage"), target, count, rest @ ..] => {
            let (default_chunk, default_seconds) = match *mode {
                "induction" => (500, 300),
                "handshake" => (100, 300),
                _ => (7, 60),
            };
            let chunk = match rest.first() {
                Some(text) => number(text),
                None => Some(default_chunk),
            };
            let seconds = match rest.get(1) {
                Some(text) => number(text),
                None => Some(default_seconds),
            };
            let (Some(count), Some(chunk), Some(seconds)) = (number(count), chunk, seconds) else {
                return usage();
            };
            if chunk == 0 || rest.len() > 2 {
                return usage();
            }
            let limit = Duration::from_secs(seconds);
            loopback_target(target, *mode != "garbage").and_then(|target| match *mode {
                "induction" => flood_inductions(target, count, chunk, limit),
                "handshake" => flood_handshakes(target, count, chunk, limit),
                _ => flood_garbage(target, count, chunk, limit),
            })
        }
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("srt-flood: {e}");
            ExitCode::FAILURE
        }
    }
}
