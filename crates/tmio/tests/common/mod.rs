//! Helpers shared by the process tests: a `tmio` child killed on drop, its stdout as lines,
//! its stderr collected, a gateway started on a free port, a `tmio` in a pseudo-terminal,
//! bounded waits, and a TCP sink.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::{
    io::{BufRead as _, BufReader, Read as _},
    net::{SocketAddr, TcpListener},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use sha2::{Digest as _, Sha256};

/// A running `tmio` process; killed when dropped.
pub struct Tmio {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every stdout line received so far (also those `wait_line` went past).
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Tmio {
    /// Starts `tmio ARGS...` with piped stdout and stderr, logging at `info`.
    pub fn spawn(args: &[&str]) -> Tmio {
        Tmio::spawn_with_log(args, Some("info"))
    }

    /// Starts `tmio ARGS...` with `RUST_LOG` set to `rust_log`, or unset for `None` (the
    /// command's default level).
    pub fn spawn_with_log(args: &[&str], rust_log: Option<&str>) -> Tmio {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tmio"));
        match rust_log {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Tmio {
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Waits (bounded) for a stdout line starting with `prefix` and returns the rest.
    pub fn wait_line(&mut self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                Err(_) => panic!(
                    "no stdout line starting with {prefix:?} within {within:?}; stderr:\n{}",
                    self.stderr()
                ),
            }
        }
    }

    /// Every stdout line received so far, one per line (call after `wait_exit` for all).
    pub fn stdout(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.iter().map(|line| format!("{line}\n")).collect()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded) for the process to exit; panics with its stderr if it does not.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the stderr reader catch up with the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "tmio did not exit within {within:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has already exited, without waiting.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
    }
}

impl Drop for Tmio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tmio gateway srt://127.0.0.1:0[?QUERY] UPSTREAM`, once it says where it listens: the process
/// and its `127.0.0.1:PORT`.
pub fn spawn_gateway(query: &str, upstream: &str) -> (Tmio, String) {
    let listen = if query.is_empty() {
        "srt://127.0.0.1:0".to_owned()
    } else {
        format!("srt://127.0.0.1:0?{query}")
    };
    let mut gateway = Tmio::spawn(&["gateway", &listen, upstream]);
    let addr = gateway.wait_line("listening srt://", Duration::from_secs(10));
    (gateway, addr.trim().to_owned())
}

/// A `tmio` command run in an 80 × 24 pseudo-terminal (util-linux `script`), as a user's
/// terminal would show it: everything drawn is collected, and the `listening tcp://` address
/// is picked out of it.
pub struct InTerminal {
    script: Child,
    drawn: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
    listening: mpsc::Receiver<String>,
}

impl InTerminal {
    /// Starts `tmio ARGS` (one shell-quoted string) in the terminal, logging at `info`.
    pub fn spawn(args: &str) -> InTerminal {
        let command = format!(
            "stty cols 80 rows 24 && exec {} {args}",
            env!("CARGO_BIN_EXE_tmio")
        );
        let mut script = Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs tmio in a pty");
        let mut terminal = script.stdout.take().unwrap();
        let drawn = Arc::new(Mutex::new(String::new()));
        let (announce, listening) = mpsc::channel();
        let collected = drawn.clone();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            let mut announced = false;
            while let Ok(n) = terminal.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let mut text = collected.lock().unwrap();
                text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                if !announced {
                    if let Some(rest) = text.split("listening tcp://").nth(1) {
                        if let Some(addr) =
                            rest.split("\r\n").next().filter(|_| rest.contains('\n'))
                        {
                            let _ = announce.send(addr.to_owned());
                            announced = true;
                        }
                    }
                }
            }
        });
        InTerminal {
            script,
            drawn,
            reader: Some(reader),
            listening,
        }
    }

    /// Waits (bounded) for the `listening tcp://ADDR` line and returns ADDR.
    pub fn listening_addr(&self, within: Duration) -> String {
        self.listening
            .recv_timeout(within)
            .unwrap_or_else(|_| panic!("no listening address drawn: {:?}", self.drawn()))
    }

    /// What the terminal has shown so far.
    pub fn drawn(&self) -> String {
        self.drawn.lock().unwrap().clone()
    }

    /// Sends `signal` to tmio itself (the child of `script`, which `exec`ed it).
    pub fn signal_tmio(&self, signal: nix::sys::signal::Signal) {
        let children =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", self.script.id()))
                .unwrap();
        for pid in children.split_whitespace() {
            let pid = nix::unistd::Pid::from_raw(pid.parse().unwrap());
            nix::sys::signal::kill(pid, signal).unwrap();
        }
    }

    /// Waits (bounded) for tmio to end; returns its exit status and all the terminal showed.
    pub fn wait_exit(mut self, within: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.script.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "tmio did not end within {within:?}: {:?}",
                self.drawn()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        (status, self.drawn())
    }
}

impl Drop for InTerminal {
    fn drop(&mut self) {
        let _ = self.script.kill();
        let _ = self.script.wait();
    }
}

/// A TCP server standing in for the RTMP server: takes one connection, reads it to the end.
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Bytes received so far (updated while reading).
    pub received: Arc<Mutex<u64>>,
    done: JoinHandle<(u64, [u8; 32])>,
}

impl Sink {
    /// Binds on loopback and starts the reading thread.
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(0u64));
        let counter = received.clone();
        let done = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = stream.read(&mut buffer).unwrap();
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                total += n as u64;
                *counter.lock().unwrap() = total;
            }
            (total, hasher.finalize().into())
        });
        Sink {
            addr,
            received,
            done,
        }
    }

    /// Waits for the end of the stream: byte count and SHA-256.
    pub fn finish(self) -> (u64, [u8; 32]) {
        self.done.join().unwrap()
    }

    /// Waits (bounded) until at least `bytes` arrived.
    pub fn wait_for(&self, bytes: u64, within: Duration) {
        let deadline = Instant::now() + within;
        while *self.received.lock().unwrap() < bytes {
            assert!(
                Instant::now() < deadline,
                "the sink got {} of {bytes} bytes within {within:?}",
                self.received.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Deterministic pseudo-random bytes.
pub fn stream_bytes(len: usize, seed: u64) -> Vec<u8> {
    use rand::{RngCore as _, SeedableRng as _};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A TCP server standing in for the RTMP server that takes any number of connections, one
/// after another or at once, and reads each to its end: one result per connection, in the order
/// they were accepted.
pub struct MultiSink {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Connections accepted so far.
    pub accepted: Arc<std::sync::atomic::AtomicUsize>,
    /// Bytes received so far on each connection, by acceptance order.
    pub progress: Arc<Mutex<Vec<u64>>>,
    /// Each connection's received bytes, by acceptance order, once it ended.
    results: Arc<Mutex<Vec<Option<Vec<u8>>>>>,
}

impl MultiSink {
    /// Binds on loopback and starts accepting.
    pub fn start() -> MultiSink {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let progress = Arc::new(Mutex::new(Vec::new()));
        let results = Arc::new(Mutex::new(Vec::new()));
        let (count, progress_all, results_all) =
            (accepted.clone(), progress.clone(), results.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let index = count.fetch_add(1, Ordering::SeqCst);
                progress_all.lock().unwrap().push(0);
                results_all.lock().unwrap().push(None);
                let (progress, results) = (progress_all.clone(), results_all.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
                    let mut received = Vec::new();
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = stream.read(&mut buffer) {
                        if n == 0 {
                            break;
                        }
                        received.extend_from_slice(&buffer[..n]);
                        progress.lock().unwrap()[index] = received.len() as u64;
                    }
                    results.lock().unwrap()[index] = Some(received);
                });
            }
        });
        MultiSink {
            addr,
            accepted,
            progress,
            results,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits (bounded) until connection `index` (0-based) has received at least `bytes`.
    pub fn wait_for(&self, index: usize, bytes: u64, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let got = self.progress.lock().unwrap().get(index).copied();
            if got.is_some_and(|got| got >= bytes) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "connection {index} of the sink got {got:?} of {bytes} bytes within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (bounded) for connection `index` (0-based) to end and returns what it received.
    pub fn received(&self, index: usize, within: Duration) -> Vec<u8> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(Some(bytes)) = self.results.lock().unwrap().get(index) {
                return bytes.clone();
            }
            assert!(
                Instant::now() < deadline,
                "connection {index} of the sink did not end within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits (bounded) until `condition` holds, polling; panics naming `what` otherwise.
pub fn wait_until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of `name=` in the last log line of `log` that contains `marker`.
pub fn log_field(log: &str, marker: &str, name: &str) -> Option<u64> {
    let line = log.lines().rfind(|line| line.contains(marker))?;
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    line[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
