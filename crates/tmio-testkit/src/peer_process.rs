//! [`PeerProcess`]: the running libsrt tool behind a [`crate::LibsrtPeer`] or a
//! [`crate::LibsrtGroupPeer`].
//!
//! Both peers start a tool that reads `file://con` (stdin) or writes it (stdout), so they share
//! everything around the process: wiring stdin and stdout to the [`Feed`] or [`Sink`] (stdout
//! unbuffered with `stdbuf -o0` when it is a file), collecting stderr on a thread, running a
//! paced feed on another, and polling, stopping and killing the process (it is killed on drop).
//! What differs (the tool, its arguments, how a paced feed starts and ends) is the peer's.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::libsrt::{udp_port_bound, Feed, Sink};
use crate::Error;

/// coreutils' `stdbuf`, used to unbuffer a receiver's stdout.
const STDBUF: &str = "/usr/bin/stdbuf";
/// How much of the tool's stderr is kept.
const STDERR_LIMIT: usize = 256 * 1024;
/// How often the waits look at the process and its output.
pub(crate) const POLL: Duration = Duration::from_millis(10);

/// What a peer does: send a [`Feed`] or receive into a [`Sink`].
#[derive(Debug, Clone)]
pub(crate) enum Role {
    Send(Feed),
    Receive(Sink),
}

impl Role {
    /// The tool's source and target: `file://con` on the local side, `uri` on the SRT side.
    fn source_and_target(&self, uri: String) -> (String, String) {
        match self {
            Role::Send(_) => ("file://con".to_owned(), uri),
            Role::Receive(_) => (uri, "file://con".to_owned()),
        }
    }
}

/// `lifetime` in whole seconds, rounded up.
pub(crate) fn whole_seconds(lifetime: Duration) -> u64 {
    lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0)
}

/// How to run a peer's tool.
#[derive(Debug)]
pub(crate) struct PeerCommand {
    /// What the tool's stdin and stdout are wired to.
    pub(crate) role: Role,
    /// The SRT side: the tool's target when it sends, its source when it receives.
    pub(crate) uri: String,
    /// Run under `ip netns exec NAMESPACE`.
    pub(crate) namespace: Option<String>,
    /// The tool.
    pub(crate) program: PathBuf,
    /// The peer's own options for the tool (its lifetime, …), first on the command line.
    pub(crate) tool_options: Vec<String>,
    /// The options the builder's user added, after `tool_options`.
    pub(crate) extra_args: Vec<String>,
    /// Whether [`PeerProcess::command_line`] shows each argument in single quotes.
    pub(crate) quote_args: bool,
    /// Longest the tool may live (the peer tells the tool in `tool_options`;
    /// [`PeerProcess::wait`] enforces it).
    pub(crate) lifetime: Duration,
    /// What the process is, for the log line at start ("libsrt peer").
    pub(crate) label: &'static str,
}

/// What the thread of a [`Feed::Paced`] gets.
pub(crate) struct PacedFeed {
    /// The tool's stdin: dropping it closes it.
    pub(crate) stdin: ChildStdin,
    /// The payload.
    pub(crate) data: Arc<Vec<u8>>,
    /// Pace of the writes.
    pub(crate) bytes_per_sec: u64,
    /// What the tool printed on stderr so far.
    pub(crate) stderr: Arc<Mutex<String>>,
    /// Set when the process is being killed: the feed stops.
    pub(crate) stopping: Arc<AtomicBool>,
}

/// What [`PeerProcess::wait_for_output_len`] does when the process exits before writing enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EarlyExit {
    /// Fails at once: "… before writing all its output".
    Fail,
    /// Looks at the output once more (the tool may have written the rest just before exiting),
    /// then fails: "… before writing LEN bytes (wrote HAVE)".
    RecheckOutput,
}

/// For a peer's `should_run`: `Ok(true)` when `tool` found the program; otherwise an error
/// naming `program` when the `CI` variable is set (CI must run these tests), else `Ok(false)`
/// after printing "{skip_prefix}{test}: {reason}".
pub(crate) fn tool_should_run(
    test: &str,
    tool: Result<PathBuf, String>,
    program: PathBuf,
    skip_prefix: &str,
) -> Result<bool, Error> {
    match tool {
        Ok(_) => Ok(true),
        Err(reason) if std::env::var_os("CI").is_some() => Err(Error::Spawn {
            program,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{test} cannot run on CI: {reason}"),
            ),
        }),
        Err(reason) => {
            eprintln!("{skip_prefix}{test}: {reason}");
            Ok(false)
        }
    }
}

/// The public methods that [`crate::LibsrtPeer`] and [`crate::LibsrtGroupPeer`] pass on to
/// their `process: PeerProcess` unchanged, with their doc comments (the methods whose
/// documentation or behaviour differs are written out in each peer).
macro_rules! peer_process_methods {
    () => {
        /// The process id.
        pub fn pid(&self) -> u32 {
            self.process.pid()
        }

        /// The command as run (for messages).
        pub fn command_line(&self) -> &str {
            self.process.command_line()
        }

        /// Everything the tool printed on stderr so far (first 256 KiB).
        pub fn stderr_text(&self) -> String {
            self.process.stderr_text()
        }

        /// Whether the process is still running.
        pub fn is_running(&mut self) -> bool {
            self.process.is_running()
        }

        /// Bytes written to the [`Sink::File`] so far (0 for other peers).
        pub fn output_len(&self) -> u64 {
            self.process.output_len()
        }

        /// Waits at most `timeout` (and never past the lifetime plus 2 s) for the process to
        /// exit; kills it and reports a timeout otherwise.
        pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, Error> {
            self.process.wait(timeout)
        }
    };
}
pub(crate) use peer_process_methods;

/// A running tool with its stderr collector and paced feeder threads. Dropping it kills the
/// process.
#[derive(Debug)]
pub(crate) struct PeerProcess {
    child: Child,
    command_line: String,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    feeder: Option<JoinHandle<u64>>,
    stopping: Arc<AtomicBool>,
    output_path: Option<PathBuf>,
    started: Instant,
    lifetime: Duration,
}

impl PeerProcess {
    /// Starts the tool; for a [`Feed::Paced`], also a thread that runs `feed` and returns the
    /// bytes it wrote.
    pub(crate) fn spawn(
        command: PeerCommand,
        feed: impl FnOnce(PacedFeed) -> u64 + Send + 'static,
    ) -> Result<Self, Error> {
        let (source, target) = command.role.source_and_target(command.uri);
        let mut args = command.tool_options;
        args.extend(command.extra_args);
        args.push(source);
        args.push(target);

        let mut prefix: Vec<PathBuf> = Vec::new();
        if let Some(ns) = &command.namespace {
            prefix.extend(["ip", "netns", "exec", ns.as_str()].map(PathBuf::from));
        }
        // The tools write `file://con` through C stdio (`cout` is synchronised with it), which
        // block-buffers a file: without `stdbuf -o0` the last KiB only reach the file when the
        // process exits.
        if matches!(command.role, Role::Receive(Sink::File(_))) && Path::new(STDBUF).exists() {
            prefix.extend([STDBUF, "-o0"].map(PathBuf::from));
        }
        prefix.push(command.program);
        let mut process = Command::new(&prefix[0]);
        process
            .args(&prefix[1..])
            .args(&args)
            .stderr(Stdio::piped());
        let mut output_path = None;
        match &command.role {
            Role::Send(Feed::Paced { .. }) => {
                process.stdin(Stdio::piped()).stdout(Stdio::null());
            }
            Role::Send(Feed::File(path)) => {
                let file = File::open(path).map_err(|source| Error::Io {
                    what: path.display().to_string(),
                    source,
                })?;
                process.stdin(Stdio::from(file)).stdout(Stdio::null());
            }
            Role::Receive(Sink::File(path)) => {
                let file = File::create(path).map_err(|source| Error::Io {
                    what: path.display().to_string(),
                    source,
                })?;
                process.stdin(Stdio::null()).stdout(Stdio::from(file));
                output_path = Some(path.clone());
            }
            Role::Receive(Sink::Discard) => {
                process.stdin(Stdio::null()).stdout(Stdio::null());
            }
        }
        let quote_args = command.quote_args;
        let command_line = prefix
            .iter()
            .map(|p| p.display().to_string())
            .chain(args.iter().map(|a| {
                if quote_args {
                    format!("'{a}'")
                } else {
                    a.clone()
                }
            }))
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = process.spawn().map_err(|source| Error::Spawn {
            program: prefix[0].clone(),
            source,
        })?;
        tracing::debug!(%command_line, pid = child.id(), "{} started", command.label);

        let stderr = Arc::new(Mutex::new(String::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let stderr_thread = child.stderr.take().map(|pipe| {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || collect_stderr(pipe, &sink))
        });
        let feeder = match (&command.role, child.stdin.take()) {
            (
                Role::Send(Feed::Paced {
                    data,
                    bytes_per_sec,
                }),
                Some(stdin),
            ) => {
                let paced = PacedFeed {
                    stdin,
                    data: Arc::clone(data),
                    bytes_per_sec: *bytes_per_sec,
                    stderr: Arc::clone(&stderr),
                    stopping: Arc::clone(&stopping),
                };
                Some(std::thread::spawn(move || feed(paced)))
            }
            _ => None,
        };
        Ok(Self {
            child,
            command_line,
            stderr,
            stderr_thread,
            feeder,
            stopping,
            output_path,
            started: Instant::now(),
            lifetime: command.lifetime,
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The command as run (for messages).
    pub(crate) fn command_line(&self) -> &str {
        &self.command_line
    }

    /// Everything the tool printed on stderr so far (first 256 KiB).
    pub(crate) fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The error for a process that has exited "before `what`"; `None` while it runs.
    fn exited_error(&mut self, what: &str) -> Option<Error> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(Error::CommandFailed {
                command: self.command_line.clone(),
                status: format!("{status} before {what}"),
                stderr: self.stderr_text(),
            }),
            _ => None,
        }
    }

    /// Polls the process's own `/proc/PID/net/udp{,6}` (so it works inside a namespace too)
    /// until a UDP socket is bound on `port`.
    pub(crate) fn wait_for_udp_port(&mut self, port: u16, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if udp_port_bound(self.child.id(), port) {
                return Ok(());
            }
            if let Some(error) = self.exited_error("binding its port") {
                return Err(error);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "{} to bind UDP port {port}; stderr: {}",
                        self.command_line,
                        self.stderr_text()
                    ),
                    after: timeout,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Bytes written to the [`Sink::File`] so far (0 for other peers).
    pub(crate) fn output_len(&self) -> u64 {
        self.output_path
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len())
    }

    /// Polls until the output file holds at least `len` bytes; returns its length. When the
    /// process exits first, does what `early_exit` says; on timeout the error tells how many
    /// bytes arrived.
    pub(crate) fn wait_for_output_len(
        &mut self,
        len: u64,
        timeout: Duration,
        early_exit: EarlyExit,
    ) -> Result<u64, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let have = self.output_len();
            if have >= len {
                return Ok(have);
            }
            match early_exit {
                EarlyExit::Fail => {
                    if let Some(error) = self.exited_error("writing all its output") {
                        return Err(error);
                    }
                }
                EarlyExit::RecheckOutput => {
                    if let Some(error) =
                        self.exited_error(&format!("writing {len} bytes (wrote {have})"))
                    {
                        let have = self.output_len();
                        return if have >= len { Ok(have) } else { Err(error) };
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!(
                        "{len} output bytes (got {have}); stderr: {}",
                        self.stderr_text()
                    ),
                    after: timeout,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for the paced feed's thread; returns what it returned (0 without one).
    pub(crate) fn wait_fed(&mut self) -> u64 {
        self.feeder
            .take()
            .and_then(|feeder| feeder.join().ok())
            .unwrap_or(0)
    }

    /// Waits at most `timeout` (and never past the lifetime plus 2 s) for the process to exit;
    /// kills it and reports a timeout otherwise.
    pub(crate) fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, Error> {
        let limit = timeout
            .min((self.lifetime + Duration::from_secs(2)).saturating_sub(self.started.elapsed()));
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.join_threads();
                    return Ok(status);
                }
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => {
                    self.kill();
                    return Err(Error::Timeout {
                        what: format!("{} to exit", self.command_line),
                        after: limit,
                    });
                }
                Err(source) => {
                    return Err(Error::Io {
                        what: format!("waiting for {}", self.command_line),
                        source,
                    })
                }
            }
        }
    }

    /// Asks the tool to stop with SIGINT, waits up to 2 s, then kills it.
    pub(crate) fn stop(&mut self) -> Result<ExitStatus, Error> {
        if let Ok(Some(status)) = self.child.try_wait() {
            self.join_threads();
            return Ok(status);
        }
        // The child has not been reaped, so its pid cannot have been reused.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        match self.wait(Duration::from_secs(2)) {
            Err(Error::Timeout { .. }) => self.child.wait().map_err(|source| Error::Io {
                what: format!("waiting for {}", self.command_line),
                source,
            }),
            other => other,
        }
    }

    fn kill(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_threads();
    }

    fn join_threads(&mut self) {
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// Appends what `pipe` yields to `sink` (up to [`STDERR_LIMIT`]) until it closes.
fn collect_stderr(mut pipe: impl Read, sink: &Mutex<String>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            break;
        }
        let mut text = sink.lock().unwrap_or_else(|p| p.into_inner());
        if text.len() < STDERR_LIMIT {
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/bin/sh -c SCRIPT` as a peer: the URI and `file://con` become the script's `$0` and `$1`.
    fn shell(role: Role, script: &str, quote_args: bool) -> PeerCommand {
        PeerCommand {
            role,
            uri: "srt://127.0.0.1:9".into(),
            namespace: None,
            program: PathBuf::from("/bin/sh"),
            tool_options: vec!["-c".into(), script.into()],
            extra_args: Vec::new(),
            quote_args,
            lifetime: Duration::from_secs(20),
            label: "test peer",
        }
    }

    fn no_feed(_: PacedFeed) -> u64 {
        0
    }

    #[test]
    fn lifetimes_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
        assert_eq!(whole_seconds(Duration::from_millis(3001)), 4);
    }

    #[test]
    fn command_line_shows_the_arguments_as_asked() {
        let mut quoted =
            PeerProcess::spawn(shell(Role::Receive(Sink::Discard), "true", true), no_feed).unwrap();
        assert_eq!(
            quoted.command_line(),
            "/bin/sh '-c' 'true' 'srt://127.0.0.1:9' 'file://con'"
        );
        assert!(quoted.wait(Duration::from_secs(10)).unwrap().success());
        let mut sender = PeerProcess::spawn(
            shell(Role::Send(Feed::File("/dev/null".into())), "true", false),
            no_feed,
        )
        .unwrap();
        assert_eq!(
            sender.command_line(),
            "/bin/sh -c true file://con srt://127.0.0.1:9"
        );
        assert!(sender.wait(Duration::from_secs(10)).unwrap().success());
    }

    #[test]
    fn an_early_exit_is_reported_as_each_peer_wants() {
        let path = std::env::temp_dir().join(format!("tmio-peer-process-{}", std::process::id()));
        let sink = Role::Receive(Sink::File(path.clone()));
        let mut fail =
            PeerProcess::spawn(shell(sink.clone(), "printf abc", false), no_feed).unwrap();
        let err = fail
            .wait_for_output_len(10, Duration::from_secs(10), EarlyExit::Fail)
            .unwrap_err();
        assert!(
            err.to_string().contains("before writing all its output"),
            "{err}"
        );
        let mut recheck = PeerProcess::spawn(shell(sink, "printf abc", false), no_feed).unwrap();
        let err = recheck
            .wait_for_output_len(10, Duration::from_secs(10), EarlyExit::RecheckOutput)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("before writing 10 bytes (wrote 3)"),
            "{err}"
        );
        assert_eq!(
            recheck
                .wait_for_output_len(3, Duration::from_secs(10), EarlyExit::RecheckOutput)
                .unwrap(),
            3
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_paced_feed_reaches_stdin_and_its_count_comes_back() {
        let data = Arc::new(vec![5u8; 4096]);
        let feed = Role::Send(Feed::Paced {
            data: Arc::clone(&data),
            bytes_per_sec: 0,
        });
        let mut peer = PeerProcess::spawn(shell(feed, "wc -c >&2", false), |paced: PacedFeed| {
            crate::libsrt::feed_paced(paced.stdin, &paced.data, 0, &paced.stopping)
        })
        .unwrap();
        assert_eq!(peer.wait_fed(), 4096);
        assert!(peer.wait(Duration::from_secs(10)).unwrap().success());
        assert_eq!(peer.stderr_text().trim(), "4096");
    }

    #[test]
    fn dropping_a_running_process_kills_it() {
        let peer = PeerProcess::spawn(
            shell(Role::Receive(Sink::Discard), "exec sleep 30", false),
            no_feed,
        )
        .unwrap();
        let pid = peer.pid();
        drop(peer);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
