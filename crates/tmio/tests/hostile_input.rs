//! Hostile input against `tmio gateway` and `tmio proxy` processes (issue 7): datagrams that
//! made srt-protocol's parser panic, libsrt callers in file mode and with a packet filter, a
//! stream id over 512 bytes, and wrong, missing or unexpected passphrases.
//!
//! Every test ends with a real push through `tmio proxy` → `tmio gateway` → a TCP sink that
//! must arrive byte-exact on a fresh upstream connection, with the sink counting every upstream
//! connection the gateway opened (refused callers must cost none), and the gateway stopping with
//! status 0 on SIGTERM or SIGINT.
//!
//! The libsrt tests need Debian's `srt-tools` (`srt-live-transmit`, `srt-file-transmit`): missing,
//! they fail when `CI` is set and are skipped with a printed reason otherwise. libsrt's apps hold
//! back the tail of their input, so those tests send a payload followed by filler and require
//! the upstream to get at least the whole payload, and nothing but a prefix of payload + filler.
//!
//! The waits below are safety bounds on a shared machine, not speed assertions.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::{
    collections::HashSet,
    io::{Read as _, Write as _},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use common::{sha256, stream_bytes, Tmio};
use nix::sys::signal::Signal;

/// Bound for handshakes, process start-up and exits.
const WAIT: Duration = Duration::from_secs(20);
/// Bound for a transfer of a few MiB.
const TRANSFER_WAIT: Duration = Duration::from_secs(60);
const SRT_LIVE_TRANSMIT: &str = "/usr/bin/srt-live-transmit";
const SRT_FILE_TRANSMIT: &str = "/usr/bin/srt-file-transmit";
const PASSPHRASE: &str = "correct-horse-battery";
const WRONG_PASSPHRASE: &str = "wrong-horse-battery";

// ---------------------------------------------------------------------------------------------
// The datagrams

/// The 16-byte control packets of issue 7, defect 1: control type 0x7fff (an SRT extension
/// message) with subtype 5 (stream id), 6 (congestion) or 7 (filter) and an empty body, and
/// subtype 8 (group) with a 0 to 3 byte body. srt-protocol 0.4.4's parser panics on each.
fn parser_panic_datagrams() -> Vec<Vec<u8>> {
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
    assert_eq!(
        datagrams[0],
        [0xff, 0xff, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    datagrams
}

/// Sends every datagram of [`parser_panic_datagrams`] (twice) to `target` from a fresh port.
fn send_parser_panic_datagrams(target: SocketAddr) {
    let bind: SocketAddr = match target.ip() {
        IpAddr::V4(_) => "127.0.0.1:0".parse().unwrap(),
        IpAddr::V6(_) => "[::1]:0".parse().unwrap(),
    };
    let socket = UdpSocket::bind(bind).unwrap();
    for _ in 0..2 {
        for datagram in parser_panic_datagrams() {
            socket.send_to(&datagram, target).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The upstream: a TCP sink that counts and keeps every connection

#[derive(Debug, Default)]
struct Upstream {
    bytes: Vec<u8>,
    closed: bool,
}

/// Stands in for the RTMP server: accepts any number of connections, keeps what each carried
/// and whether it has ended.
struct UpstreamSink {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<Arc<Mutex<Upstream>>>>>,
    stop: Arc<AtomicBool>,
}

impl UpstreamSink {
    fn start() -> UpstreamSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let connections: Arc<Mutex<Vec<Arc<Mutex<Upstream>>>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (list, stopping) = (connections.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let upstream = Arc::new(Mutex::new(Upstream::default()));
                        list.lock().unwrap().push(upstream.clone());
                        let stopping = stopping.clone();
                        std::thread::spawn(move || read_upstream(stream, &upstream, &stopping));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("the upstream sink's accept failed: {e}"),
                }
            }
        });
        UpstreamSink {
            addr,
            connections,
            stop,
        }
    }

    /// Upstream connections the gateway opened so far.
    fn accepted(&self) -> usize {
        self.connections.lock().unwrap().len()
    }

    /// Each connection's byte count and whether it ended, for messages.
    fn summary(&self) -> Vec<(usize, bool)> {
        self.connections
            .lock()
            .unwrap()
            .iter()
            .map(|c| {
                let c = c.lock().unwrap();
                (c.bytes.len(), c.closed)
            })
            .collect()
    }

    fn bytes_of(&self, index: usize) -> Vec<u8> {
        let connection = self.connections.lock().unwrap()[index].clone();
        let bytes = connection.lock().unwrap().bytes.clone();
        bytes
    }

    /// Waits (bounded) until connection `index` exists and carried at least `len` bytes.
    fn wait_bytes(&self, index: usize, len: usize, within: Duration, context: &dyn Fn() -> String) {
        let deadline = Instant::now() + within;
        loop {
            let have = self
                .connections
                .lock()
                .unwrap()
                .get(index)
                .map(|c| c.lock().unwrap().bytes.len());
            if have.is_some_and(|have| have >= len) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "upstream connection {index} did not get {len} bytes within {within:?} \
                 (connections as (bytes, ended): {:?})\n{}",
                self.summary(),
                context()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (bounded) until a connection numbered `first` or later has ended after carrying
    /// bytes; returns them.
    fn wait_delivery(
        &self,
        first: usize,
        within: Duration,
        context: &dyn Fn() -> String,
    ) -> Vec<u8> {
        let deadline = Instant::now() + within;
        loop {
            let delivered = self
                .connections
                .lock()
                .unwrap()
                .iter()
                .skip(first)
                .map(|c| c.lock().unwrap())
                .find(|c| c.closed && !c.bytes.is_empty())
                .map(|c| c.bytes.clone());
            if let Some(bytes) = delivered {
                return bytes;
            }
            assert!(
                Instant::now() < deadline,
                "no upstream connection from number {first} on ended with bytes within \
                 {within:?} (connections as (bytes, ended): {:?})\n{}",
                self.summary(),
                context()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for UpstreamSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn read_upstream(mut stream: TcpStream, upstream: &Mutex<Upstream>, stop: &AtomicBool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buffer = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => upstream
                .lock()
                .unwrap()
                .bytes
                .extend_from_slice(&buffer[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            // A reset ends the connection too.
            Err(_) => break,
        }
    }
    upstream.lock().unwrap().closed = true;
}

// ---------------------------------------------------------------------------------------------
// tmio processes

/// Starts `tmio gateway srt://127.0.0.1:0?QUERY tcp://SINK` and returns it with its address.
fn start_gateway(sink: &UpstreamSink, query: &str) -> (Tmio, SocketAddr) {
    let listen = if query.is_empty() {
        "srt://127.0.0.1:0".to_owned()
    } else {
        format!("srt://127.0.0.1:0?{query}")
    };
    let mut gateway = Tmio::spawn(&["gateway", &listen, &format!("tcp://{}", sink.addr)]);
    let addr = gateway.wait_line("listening srt://", WAIT);
    (gateway, addr.trim().parse().unwrap())
}

/// The proxy's remote URL for the gateway, with `query` appended.
fn remote_url(gateway: SocketAddr, query: &str) -> String {
    let mut url = format!("srt://{gateway}?streamid=%23!::r=live/test");
    if !query.is_empty() {
        url.push('&');
        url.push_str(query);
    }
    url
}

/// Starts `tmio proxy` to the gateway and connects a pusher (with a write timeout, so a wedged
/// proxy fails the test instead of hanging it).
fn start_proxy(gateway: &Tmio, gateway_addr: SocketAddr, query: &str) -> (Tmio, TcpStream) {
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &remote_url(gateway_addr, query),
    ]);
    let local = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        proxy.wait_line("listening tcp://", WAIT)
    })) {
        Ok(local) => local,
        Err(_) => panic!(
            "the proxy never opened its local port (its SRT connection failed); proxy stderr:\n{}\n\
             gateway stderr:\n{}",
            proxy.stderr(),
            gateway.stderr()
        ),
    };
    let pusher = TcpStream::connect(local.trim()).unwrap();
    pusher.set_write_timeout(Some(TRANSFER_WAIT)).unwrap();
    (proxy, pusher)
}

/// Writes `bytes` as the pusher; a blocked write means the proxy stopped taking data.
fn push_bytes(pusher: &mut TcpStream, bytes: &[u8], proxy: &Tmio) {
    if let Err(e) = pusher.write_all(bytes) {
        panic!(
            "the pusher could not write {} bytes ({e}): the proxy stopped taking data; \
             proxy stderr:\n{}",
            bytes.len(),
            proxy.stderr()
        );
    }
}

fn describe(who: &str, process: &Tmio) -> String {
    format!("{who} stderr:\n{}", process.stderr())
}

/// The end of every test: a 1 MiB push through a new `tmio proxy` (with `proxy_query`, e.g. a
/// passphrase) arrives byte-exact on upstream connection number `upstreams_before` (the
/// connections before it belong to the test's earlier callers), no other upstream connection
/// was opened, and the gateway stops with status 0 on `signal`.
fn final_push_and_stop(
    mut gateway: Tmio,
    gateway_addr: SocketAddr,
    sink: &UpstreamSink,
    upstreams_before: usize,
    proxy_query: &str,
    signal: Signal,
) {
    if let Some(status) = gateway.exited() {
        panic!(
            "the gateway exited ({status}) before the final push\n{}",
            describe("gateway", &gateway)
        );
    }
    let data = stream_bytes(1 << 20, 77);
    let (mut proxy, mut pusher) = start_proxy(&gateway, gateway_addr, proxy_query);
    push_bytes(&mut pusher, &data, &proxy);
    pusher.shutdown(Shutdown::Write).unwrap();
    let status = proxy.wait_exit(TRANSFER_WAIT);
    assert_eq!(
        status.code(),
        Some(0),
        "final push: {}\n{}",
        describe("proxy", &proxy),
        describe("gateway", &gateway)
    );
    drop(pusher);
    let context = || describe("gateway", &gateway);
    let delivered = sink.wait_delivery(upstreams_before, TRANSFER_WAIT, &context);
    assert_eq!(
        (delivered.len(), sha256(&delivered)),
        (data.len(), sha256(&data)),
        "the final push did not arrive exactly"
    );
    assert_eq!(
        sink.accepted(),
        upstreams_before + 1,
        "the gateway opened {} upstream connections where {} were expected (the earlier \
         callers' {upstreams_before} and the final push's); connections as (bytes, ended): {:?}\n{}",
        sink.accepted(),
        upstreams_before + 1,
        sink.summary(),
        describe("gateway", &gateway)
    );
    gateway.signal(signal);
    let status = gateway.wait_exit(WAIT);
    let log = gateway.stderr();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        log.contains(&format!("{signal:?}: stopping gracefully")),
        "{log}"
    );
    assert!(log.contains("gateway stopped"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// libsrt's apps

/// The libsrt tool at `path`, or `None` (after printing why `test` is skipped) when it is not
/// installed; on CI a missing tool fails the test.
fn libsrt_tool(test: &str, path: &'static str) -> Option<&'static str> {
    if Path::new(path).exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} must run on CI but {path} is missing (scripts/install-deps.sh installs srt-tools)"
    );
    eprintln!("skipping {test}: {path} is missing (apt-get install srt-tools)");
    None
}

/// A running libsrt app; killed (SIGKILL: srt-live-transmit ignores SIGTERM while it
/// connects) when dropped.
struct LibsrtApp {
    child: Child,
    command_line: String,
    stderr: Arc<Mutex<String>>,
}

impl LibsrtApp {
    fn spawn(program: &str, args: &[&str], stdin: Stdio) -> LibsrtApp {
        let mut child = Command::new(program)
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let mut text = collected.lock().unwrap();
                // srt-live-transmit retries a refused connection in a tight loop: keep the start.
                if text.len() < 64 * 1024 {
                    text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            }
        });
        LibsrtApp {
            child,
            command_line: format!("{program} {}", args.join(" ")),
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded) for `needle` (compared in lower case) in the app's stderr.
    fn saw(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.stderr().to_lowercase().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn describe(&self) -> String {
        format!("`{}` stderr:\n{}", self.command_line, self.stderr())
    }
}

impl Drop for LibsrtApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory of this test process, removed when dropped (also when the test fails).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("tmio-hostile-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A payload and the filler sent after it (libsrt holds back the tail of its input).
fn payload_and_filler() -> (Vec<u8>, Vec<u8>) {
    (stream_bytes(2 << 20, 31), stream_bytes(1 << 20, 32))
}

/// What upstream connection `index` got is at least the payload and a prefix of
/// payload + filler.
fn assert_payload_arrived(sink: &UpstreamSink, index: usize, payload: &[u8], filler: &[u8]) {
    let received = sink.bytes_of(index);
    let sent = [payload, filler].concat();
    assert!(
        received.len() >= payload.len() && received.len() <= sent.len(),
        "upstream got {} bytes; the payload is {} and payload + filler {}",
        received.len(),
        payload.len(),
        sent.len()
    );
    assert!(
        received == sent[..received.len()],
        "upstream bytes differ from what was sent (first difference at byte {})",
        received
            .iter()
            .zip(&sent)
            .position(|(a, b)| a != b)
            .unwrap_or(received.len())
    );
}

/// srt-live-transmit (`file://con` → `srt://GATEWAY?QUERY`) in a file-mode configuration: the
/// gateway serves it as a reliable byte stream, then the final push.
fn srt_live_transmit_file_mode_is_served(test: &str, query: &str) {
    let Some(program) = libsrt_tool(test, SRT_LIVE_TRANSMIT) else {
        return;
    };
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, "");
    let (payload, filler) = payload_and_filler();
    let target = format!("srt://{gateway_addr}?{query}");
    let mut caller = LibsrtApp::spawn(program, &["file://con", &target], Stdio::piped());
    // It discards what it reads from stdin before its SRT side is up: feed only once connected.
    assert!(
        caller.saw("srt target connected", WAIT),
        "the {query} caller never connected\n{}\n{}",
        caller.describe(),
        describe("gateway", &gateway)
    );
    let mut stdin = caller.child.stdin.take().unwrap();
    let feed = [payload.as_slice(), filler.as_slice()].concat();
    // A writer thread: if the transfer stalls, the write blocks until the app is killed.
    let feeder = std::thread::spawn(move || stdin.write_all(&feed).is_ok());
    let context = || format!("{}\n{}", caller.describe(), describe("gateway", &gateway));
    sink.wait_bytes(0, payload.len(), TRANSFER_WAIT, &context);
    assert_payload_arrived(&sink, 0, &payload, &filler);
    drop(caller);
    let _ = feeder.join();
    final_push_and_stop(gateway, gateway_addr, &sink, 1, "", Signal::SIGTERM);
}

/// A libsrt caller with a passphrase setting (`query`) the gateway must refuse: srt-live-transmit
/// reports the rejection, and the gateway opened no upstream connection for it.
fn libsrt_caller_is_rejected(test: &str, gateway: &Tmio, gateway_addr: SocketAddr, query: &str) {
    let Some(program) = libsrt_tool(test, SRT_LIVE_TRANSMIT) else {
        return;
    };
    let target = if query.is_empty() {
        format!("srt://{gateway_addr}")
    } else {
        format!("srt://{gateway_addr}?{query}")
    };
    let caller = LibsrtApp::spawn(program, &["file://con", &target], Stdio::piped());
    assert!(
        caller.saw("reject", WAIT),
        "srt-live-transmit ({query:?}) reported no rejection\n{}\n{}",
        caller.describe(),
        describe("gateway", gateway)
    );
}

/// A `tmio proxy` the gateway must refuse exits 1 with a remote error.
fn tmio_proxy_is_rejected(gateway: &Tmio, gateway_addr: SocketAddr, query: &str) {
    let mut proxy = Tmio::spawn(&[
        "proxy",
        "tcp://127.0.0.1:0",
        &remote_url(gateway_addr, query),
    ]);
    let status = proxy.wait_exit(WAIT);
    let stderr = proxy.stderr();
    assert_eq!(
        status.code(),
        Some(1),
        "proxy ({query}): {stderr}\n{}",
        describe("gateway", gateway)
    );
    assert!(
        stderr.contains("tmio: error (remote): "),
        "proxy ({query}): {stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// A hand-built HSv5 caller (the stream id extension is not limited to 512 bytes on the wire)

#[derive(Debug, PartialEq, Eq)]
enum HandshakeAnswer {
    /// A conclusion answer: the listener accepted.
    Accepted,
    /// A rejection, with its code.
    Rejected(i32),
    /// Nothing within the bound.
    Silent,
}

/// One handshake control packet: header (handshake, destination socket 0), then the handshake
/// body and `extensions`.
#[allow(clippy::too_many_arguments)]
fn handshake_packet(
    version: u32,
    encryption: u16,
    extension_field: u16,
    initial_sequence: u32,
    shake_type: i32,
    socket_id: u32,
    cookie: i32,
    extensions: &[u8],
) -> Vec<u8> {
    let mut packet = Vec::new();
    packet.extend(0x8000_0000u32.to_be_bytes()); // control, type 0 = handshake
    packet.extend([0u8; 12]); // type-specific info, timestamp, destination socket id 0
    packet.extend(version.to_be_bytes());
    packet.extend(encryption.to_be_bytes());
    packet.extend(extension_field.to_be_bytes());
    packet.extend(initial_sequence.to_be_bytes());
    packet.extend(1500u32.to_be_bytes()); // MTU
    packet.extend(8192u32.to_be_bytes()); // flow window
    packet.extend(shake_type.to_be_bytes());
    packet.extend(socket_id.to_be_bytes());
    packet.extend(cookie.to_be_bytes());
    packet.extend(u32::from(Ipv4Addr::LOCALHOST).to_le_bytes()); // peer IP, as SRT writes it
    packet.extend([0u8; 12]);
    packet.extend(extensions);
    packet
}

/// The handshake type and cookie of a handshake answer.
fn handshake_answer(datagram: &[u8]) -> Option<(i32, i32)> {
    if datagram.len() < 64 || datagram[..4] != 0x8000_0000u32.to_be_bytes() {
        return None;
    }
    let word = |at: usize| i32::from_be_bytes(datagram[at..at + 4].try_into().unwrap());
    Some((word(16 + 20), word(16 + 28)))
}

/// Sends `packet` every 250 ms until an answer whose handshake type `wanted` accepts arrives.
fn exchange(
    socket: &UdpSocket,
    to: SocketAddr,
    packet: &[u8],
    wanted: impl Fn(i32) -> bool,
) -> Option<(i32, i32)> {
    socket
        .set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let mut buffer = [0u8; 1500];
    while Instant::now() < deadline {
        socket.send_to(packet, to).unwrap();
        let resend = Instant::now() + Duration::from_millis(250);
        while Instant::now() < resend {
            let Ok((len, from)) = socket.recv_from(&mut buffer) else {
                break;
            };
            if from != to {
                continue;
            }
            if let Some(answer) = handshake_answer(&buffer[..len]) {
                if wanted(answer.0) {
                    return Some(answer);
                }
            }
        }
    }
    None
}

/// Calls `gateway` with an HSv5 handshake built by hand, carrying `stream_id` (any length).
fn raw_call_with_stream_id(gateway: SocketAddr, stream_id: &str) -> HandshakeAnswer {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (socket_id, initial_sequence) = (0x2345_6789, 0x0123_4567);
    // Induction: version 4, extension field 2 (UDT_DGRAM), handshake type 1.
    let induction = handshake_packet(4, 0, 2, initial_sequence, 1, socket_id, 0, &[]);
    let Some((_, cookie)) = exchange(&socket, gateway, &induction, |kind| kind == 1) else {
        return HandshakeAnswer::Silent;
    };
    let mut extensions = Vec::new();
    // HSREQ: SRT 1.5.0; TSBPD both ways, crypt, too-late drop, NAK reports, retransmit flag;
    // 120 ms latency both ways.
    extensions.extend(1u16.to_be_bytes());
    extensions.extend(3u16.to_be_bytes());
    extensions.extend(0x0001_0500u32.to_be_bytes());
    extensions.extend(0x3fu32.to_be_bytes());
    extensions.extend(((120u32 << 16) | 120).to_be_bytes());
    // Stream id: 32-bit words, each with its bytes reversed, zero-padded.
    let mut padded = stream_id.as_bytes().to_vec();
    padded.resize(stream_id.len().div_ceil(4) * 4, 0);
    extensions.extend(5u16.to_be_bytes());
    extensions.extend(u16::try_from(padded.len() / 4).unwrap().to_be_bytes());
    for word in padded.chunks(4) {
        extensions.extend(word.iter().rev());
    }
    // Conclusion: version 5, extension flags HSREQ | CONFIG, handshake type -1.
    let conclusion = handshake_packet(
        5,
        0,
        1 | 4,
        initial_sequence,
        -1,
        socket_id,
        cookie,
        &extensions,
    );
    match exchange(&socket, gateway, &conclusion, |kind| {
        kind == -1 || kind >= 1000
    }) {
        Some((-1, _)) => HandshakeAnswer::Accepted,
        Some((code, _)) => HandshakeAnswer::Rejected(code),
        None => HandshakeAnswer::Silent,
    }
}

// ---------------------------------------------------------------------------------------------
// Finding a process's UDP sockets

/// The local addresses of the UDP sockets process `pid` holds (from `/proc/PID/fd` socket
/// inodes and `/proc/PID/net/udp{,6}`), wildcards turned into loopback.
fn udp_sockets_of(pid: u32) -> Vec<SocketAddr> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let mut found = Vec::new();
    for table in ["udp", "udp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || !inodes.contains(fields[9]) {
                continue;
            }
            let Some((ip_hex, port_hex)) = fields[1].split_once(':') else {
                continue;
            };
            let port = u16::from_str_radix(port_hex, 16).unwrap();
            // The kernel prints the address as 32-bit words in host (little-endian) order.
            let words: Vec<u32> = (0..ip_hex.len() / 8)
                .map(|i| u32::from_str_radix(&ip_hex[i * 8..i * 8 + 8], 16).unwrap())
                .collect();
            let ip = match words.as_slice() {
                [v4] => match Ipv4Addr::from(v4.swap_bytes()) {
                    ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    ip => IpAddr::V4(ip),
                },
                words => {
                    let mut octets = [0u8; 16];
                    for (i, word) in words.iter().enumerate() {
                        octets[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
                    }
                    match Ipv6Addr::from(octets) {
                        ip if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                        ip => match ip.to_ipv4_mapped() {
                            Some(v4) => IpAddr::V4(v4),
                            None => IpAddr::V6(ip),
                        },
                    }
                }
            };
            found.push(SocketAddr::new(ip, port));
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Defect 1: datagrams that panicked srt-protocol's parser stop the gateway (exit status 0)

#[test]
fn parser_panic_datagrams_before_a_session_leave_the_gateway_serving() {
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, "");
    send_parser_panic_datagrams(gateway_addr);
    final_push_and_stop(gateway, gateway_addr, &sink, 0, "", Signal::SIGTERM);
}

#[test]
fn parser_panic_datagrams_during_a_session_leave_it_running() {
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, "");
    let (mut proxy, mut pusher) = start_proxy(&gateway, gateway_addr, "");
    let data = stream_bytes(2 << 20, 41);
    let (first, rest) = data.split_at(1 << 20);
    push_bytes(&mut pusher, first, &proxy);
    let context = || {
        format!(
            "{}\n{}",
            describe("proxy", &proxy),
            describe("gateway", &gateway)
        )
    };
    sink.wait_bytes(0, first.len(), TRANSFER_WAIT, &context);

    send_parser_panic_datagrams(gateway_addr);
    push_bytes(&mut pusher, rest, &proxy);
    pusher.shutdown(Shutdown::Write).unwrap();
    let status = proxy.wait_exit(TRANSFER_WAIT);
    assert_eq!(
        status.code(),
        Some(0),
        "{}\n{}",
        describe("proxy", &proxy),
        describe("gateway", &gateway)
    );
    drop(pusher);
    let context = || describe("gateway", &gateway);
    let delivered = sink.wait_delivery(0, TRANSFER_WAIT, &context);
    assert_eq!(
        (delivered.len(), sha256(&delivered)),
        (data.len(), sha256(&data)),
        "the session hit by the datagrams did not arrive exactly"
    );
    final_push_and_stop(gateway, gateway_addr, &sink, 1, "", Signal::SIGINT);
}

// ---------------------------------------------------------------------------------------------
// Defect 3: the same datagrams to a running proxy's UDP port wedge the proxy

/// Starts a gateway and a proxy, pushes 1 MiB, then sends the datagrams to every UDP socket of
/// the proxy from an unrelated port.
fn proxy_hit_mid_push() -> (UpstreamSink, Tmio, SocketAddr, Tmio, TcpStream, Vec<u8>) {
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, "");
    let (proxy, mut pusher) = start_proxy(&gateway, gateway_addr, "");
    let data = stream_bytes(2 << 20, 51);
    push_bytes(&mut pusher, &data[..1 << 20], &proxy);
    let context = || describe("proxy", &proxy);
    sink.wait_bytes(0, 1 << 20, TRANSFER_WAIT, &context);
    let sockets = udp_sockets_of(proxy.pid());
    assert!(!sockets.is_empty(), "found no UDP socket of the proxy");
    for socket in sockets {
        send_parser_panic_datagrams(socket);
    }
    (sink, gateway, gateway_addr, proxy, pusher, data)
}

#[test]
fn parser_panic_datagrams_to_the_proxys_port_do_not_stop_the_push() {
    let (sink, gateway, gateway_addr, mut proxy, mut pusher, data) = proxy_hit_mid_push();
    push_bytes(&mut pusher, &data[1 << 20..], &proxy);
    pusher.shutdown(Shutdown::Write).unwrap();
    let status = proxy.wait_exit(TRANSFER_WAIT);
    assert_eq!(status.code(), Some(0), "{}", describe("proxy", &proxy));
    drop(pusher);
    let context = || describe("proxy", &proxy);
    let delivered = sink.wait_delivery(0, TRANSFER_WAIT, &context);
    assert_eq!(
        (delivered.len(), sha256(&delivered)),
        (data.len(), sha256(&data)),
        "the push hit by the datagrams did not arrive exactly"
    );
    final_push_and_stop(gateway, gateway_addr, &sink, 1, "", Signal::SIGTERM);
}

#[test]
fn proxy_hit_by_parser_panic_datagrams_still_stops_on_sigterm() {
    // The first MiB has crossed before the datagrams, and the pusher writes nothing more: a
    // stop must deliver exactly that MiB and exit 0.
    let (sink, gateway, gateway_addr, mut proxy, pusher, data) = proxy_hit_mid_push();
    proxy.signal(Signal::SIGTERM);
    let status = proxy.wait_exit(WAIT);
    assert_eq!(status.code(), Some(0), "{}", describe("proxy", &proxy));
    let context = || describe("gateway", &gateway);
    let delivered = sink.wait_delivery(0, TRANSFER_WAIT, &context);
    let first = &data[..1 << 20];
    assert_eq!(
        (delivered.len(), sha256(&delivered)),
        (first.len(), sha256(first)),
        "the push stopped by SIGTERM did not arrive exactly"
    );
    drop(pusher);
    final_push_and_stop(gateway, gateway_addr, &sink, 1, "", Signal::SIGINT);
}

// ---------------------------------------------------------------------------------------------
// Defect 2: libsrt callers in file mode stop the gateway; a FEC caller gets no answer

#[test]
fn srt_live_transmit_transtype_file_caller_is_served_as_a_byte_stream() {
    srt_live_transmit_file_mode_is_served(
        "srt_live_transmit_transtype_file_caller_is_served_as_a_byte_stream",
        "transtype=file",
    );
}

#[test]
fn srt_live_transmit_congestion_file_caller_is_served_as_a_byte_stream() {
    srt_live_transmit_file_mode_is_served(
        "srt_live_transmit_congestion_file_caller_is_served_as_a_byte_stream",
        "congestion=file",
    );
}

#[test]
fn srt_file_transmit_caller_is_served_as_a_byte_stream() {
    let test = "srt_file_transmit_caller_is_served_as_a_byte_stream";
    let Some(program) = libsrt_tool(test, SRT_FILE_TRANSMIT) else {
        return;
    };
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, "");
    let (payload, filler) = payload_and_filler();
    let dir = TempDir::new("srt-file-transmit");
    let input = dir.0.join("payload.bin");
    std::fs::write(&input, [payload.as_slice(), filler.as_slice()].concat()).unwrap();
    let source = format!("file://{}", input.display());
    let target = format!("srt://{gateway_addr}?streamid=payload.bin");
    let caller = LibsrtApp::spawn(program, &[&source, &target], Stdio::null());
    let context = || format!("{}\n{}", caller.describe(), describe("gateway", &gateway));
    sink.wait_bytes(0, payload.len(), TRANSFER_WAIT, &context);
    assert_payload_arrived(&sink, 0, &payload, &filler);
    drop(caller);
    final_push_and_stop(gateway, gateway_addr, &sink, 1, "", Signal::SIGTERM);
}

#[test]
fn fec_caller_is_rejected_and_the_gateway_keeps_serving() {
    let test = "fec_caller_is_rejected_and_the_gateway_keeps_serving";
    let Some(program) = libsrt_tool(test, SRT_LIVE_TRANSMIT) else {
        return;
    };
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, "");
    let target = format!("srt://{gateway_addr}?packetfilter=fec");
    let caller = LibsrtApp::spawn(program, &["file://con", &target], Stdio::piped());
    assert!(
        caller.saw("reject", WAIT),
        "the FEC caller reported no rejection\n{}\n{}",
        caller.describe(),
        describe("gateway", &gateway)
    );
    drop(caller);
    final_push_and_stop(gateway, gateway_addr, &sink, 0, "", Signal::SIGTERM);
}

// ---------------------------------------------------------------------------------------------
// Defect 5: a stream id over 512 bytes became "no stream id" and went to the default upstream

#[test]
fn stream_id_over_512_bytes_is_rejected_without_an_upstream_connection() {
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, "");
    let stream_id = format!("#!::r=live/{}", "x".repeat(600 - 11));
    assert_eq!(stream_id.len(), 600);
    let answer = raw_call_with_stream_id(gateway_addr, &stream_id);
    assert!(
        matches!(answer, HandshakeAnswer::Rejected(_)),
        "a 600-byte stream id got {answer:?}\n{}",
        describe("gateway", &gateway)
    );
    final_push_and_stop(gateway, gateway_addr, &sink, 0, "", Signal::SIGTERM);
}

// ---------------------------------------------------------------------------------------------
// Defect 6: a wrong passphrase made the gateway open an upstream connection before rejecting

#[test]
fn wrong_passphrase_callers_never_reach_the_upstream() {
    let test = "wrong_passphrase_callers_never_reach_the_upstream";
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, &format!("passphrase={PASSPHRASE}"));
    let wrong = format!("passphrase={WRONG_PASSPHRASE}");
    libsrt_caller_is_rejected(test, &gateway, gateway_addr, &wrong);
    tmio_proxy_is_rejected(&gateway, gateway_addr, &wrong);
    let right = format!("passphrase={PASSPHRASE}");
    final_push_and_stop(gateway, gateway_addr, &sink, 0, &right, Signal::SIGTERM);
}

#[test]
fn missing_passphrase_callers_never_reach_the_upstream() {
    let test = "missing_passphrase_callers_never_reach_the_upstream";
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, &format!("passphrase={PASSPHRASE}"));
    libsrt_caller_is_rejected(test, &gateway, gateway_addr, "");
    tmio_proxy_is_rejected(&gateway, gateway_addr, "");
    let right = format!("passphrase={PASSPHRASE}");
    final_push_and_stop(gateway, gateway_addr, &sink, 0, &right, Signal::SIGINT);
}

#[test]
fn unexpected_passphrase_callers_never_reach_the_upstream() {
    let test = "unexpected_passphrase_callers_never_reach_the_upstream";
    let sink = UpstreamSink::start();
    let (gateway, gateway_addr) = start_gateway(&sink, "");
    let unexpected = format!("passphrase={PASSPHRASE}");
    libsrt_caller_is_rejected(test, &gateway, gateway_addr, &unexpected);
    tmio_proxy_is_rejected(&gateway, gateway_addr, &unexpected);
    final_push_and_stop(gateway, gateway_addr, &sink, 0, "", Signal::SIGTERM);
}
