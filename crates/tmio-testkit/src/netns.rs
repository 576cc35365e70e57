//! [`NetnsLink`]: two network namespaces joined by a veth pair, with kernel loss (nftables) and
//! rate limits (tc tbf). Linux only; needs root and the `ip`, `nft` and `tc` commands.
//!
//! Names are `tmio-test-<pid>-<n>-a` / `-b`; the veth ends are created directly inside the
//! namespaces (`veth-a`, `veth-b`), so nothing appears in the caller's namespace. Addresses are a
//! /30 in 10.0.0.0/8 chosen from the pid and counter; they exist only inside the two namespaces.
//! Everything is deleted on drop (deleting a namespace deletes its veth end and rules).
//!
//! Code runs inside a namespace in one of two ways:
//! - a process: [`NetnsLink::exec_in`] gives an `ip netns exec NS program` [`Command`];
//! - a thread: [`NetnsLink::enter_on_thread`] / [`NetnsLink::run_in`] spawn a std thread, `setns`
//!   it into the namespace and run a future on a current-thread tokio runtime built there. Sockets
//!   belong to the namespace of the thread that creates them, so create them inside the future;
//!   do not use `spawn_blocking` (its pool threads live in the original namespace).

use std::fs::File;
use std::future::Future;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;

use crate::Error;

/// One end of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first namespace (address `.1` of the /30).
    A,
    /// The second namespace (address `.2` of the /30).
    B,
}

impl Side {
    /// The other end.
    pub fn peer(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// Prefix of every namespace this module creates.
pub const NAMESPACE_PREFIX: &str = "tmio-test-";
const NETNS_DIR: &str = "/run/netns";
const NFT_TABLE: &str = "tmio";

static LINK_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Two namespaces joined by a veth pair. Dropping it deletes both namespaces.
#[derive(Debug)]
pub struct NetnsLink {
    namespaces: [String; 2],
    interfaces: [&'static str; 2],
    addrs: [Ipv4Addr; 2],
    removed: bool,
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a helper command to completion, feeding `stdin`; returns its stdout.
fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, Error> {
    use std::io::Write;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|source| Error::Spawn {
        program: program.into(),
        source,
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|source| Error::Io {
                what: format!("stdin of {}", command_line(program, args)),
                source,
            })?;
    }
    let output = child.wait_with_output().map_err(|source| Error::Io {
        what: command_line(program, args),
        source,
    })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(Error::CommandFailed {
            command: command_line(program, args),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn pid_is_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

impl NetnsLink {
    /// Whether this machine lets us create namespaces: root, the `ip`, `nft` and `tc` commands,
    /// and a trial `ip netns add` / `del`. The error says what is missing.
    pub fn available() -> Result<(), String> {
        if !cfg!(target_os = "linux") {
            return Err("network namespaces need Linux".into());
        }
        if !nix::unistd::geteuid().is_root() {
            return Err("network namespaces need root (run the tests as root)".into());
        }
        for (program, flag) in [("ip", "-V"), ("nft", "--version"), ("tc", "-V")] {
            run(program, &[flag], None).map_err(|e| format!("`{program}` is unusable: {e}"))?;
        }
        // Unique per call: tests in one process probe concurrently.
        let probe = format!(
            "{NAMESPACE_PREFIX}{}-probe{}",
            std::process::id(),
            LINK_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &probe], None).map_err(|e| e.to_string())?;
        run("ip", &["netns", "del", &probe], None).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// For tests: `Ok(true)` when namespaces work; `Ok(false)` after printing why the test named
    /// `test` is skipped; an error instead of a skip when the `CI` variable is set, because CI
    /// runs as root and must run these tests.
    pub fn should_run(test: &str) -> Result<bool, Error> {
        match Self::available() {
            Ok(()) => Ok(true),
            Err(reason) if std::env::var_os("CI").is_some() => Err(Error::NetnsUnavailable(
                format!("{test} cannot run on CI: {reason}"),
            )),
            Err(reason) => {
                eprintln!("skipping {test}: {reason}");
                Ok(false)
            }
        }
    }

    /// Creates the two namespaces, the veth pair, the addresses, and brings every interface up
    /// (`lo` included). On failure whatever was created is removed.
    pub fn new() -> Result<Self, Error> {
        let pid = std::process::id();
        let counter = LINK_COUNTER.fetch_add(1, Ordering::Relaxed);
        let base = format!("{NAMESPACE_PREFIX}{pid}-{counter}");
        // A /30 per link inside 10.0.0.0/8: 2^22 blocks, 64 per pid before wrapping.
        let block = (pid.wrapping_mul(64).wrapping_add(counter)) & ((1 << 22) - 1);
        let network = (10u32 << 24) | (block << 2);
        let mut link = Self {
            namespaces: [format!("{base}-a"), format!("{base}-b")],
            interfaces: ["veth-a", "veth-b"],
            addrs: [Ipv4Addr::from(network + 1), Ipv4Addr::from(network + 2)],
            removed: true,
        };
        run("ip", &["netns", "add", &link.namespaces[0]], None)?;
        if let Err(error) = run("ip", &["netns", "add", &link.namespaces[1]], None) {
            let _ = run("ip", &["netns", "del", &link.namespaces[0]], None);
            return Err(error);
        }
        link.removed = false;
        // From here on, Drop cleans up if a step fails.
        let [ns_a, ns_b] = &link.namespaces;
        let [if_a, if_b] = link.interfaces;
        run(
            "ip",
            &[
                "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b, "netns",
                ns_b,
            ],
            None,
        )?;
        for side in [Side::A, Side::B] {
            let ns = link.namespace(side);
            let cidr = format!("{}/30", link.addr(side));
            run(
                "ip",
                &["-n", ns, "addr", "add", &cidr, "dev", link.interface(side)],
                None,
            )?;
            run(
                "ip",
                // gso_max_segs 1: the veth cuts GSO batches into datagrams, so nftables drops
                // and counts datagrams as a wire would.
                &[
                    "-n",
                    ns,
                    "link",
                    "set",
                    link.interface(side),
                    "gso_max_segs",
                    "1",
                    "up",
                ],
                None,
            )?;
            run("ip", &["-n", ns, "link", "set", "lo", "up"], None)?;
        }
        tracing::debug!(a = %link.namespaces[0], b = %link.namespaces[1], "netns link created");
        Ok(link)
    }

    /// The namespace's name (for `ip netns exec`, `/run/netns/NAME`).
    pub fn namespace(&self, side: Side) -> &str {
        &self.namespaces[side.index()]
    }

    /// The veth end's name inside that side's namespace.
    pub fn interface(&self, side: Side) -> &str {
        self.interfaces[side.index()]
    }

    /// That side's address on the link.
    pub fn addr(&self, side: Side) -> Ipv4Addr {
        self.addrs[side.index()]
    }

    /// Drops `percent` % of the UDP datagrams arriving at `side` (nftables `numgen random` in an
    /// input chain of `side`'s namespace, 0.01 % resolution). 0 removes the rule.
    pub fn set_loss_toward(&self, side: Side, percent: f64) -> Result<(), Error> {
        if !(0.0..=100.0).contains(&percent) {
            return Err(Error::InvalidPercent(percent));
        }
        let ns = self.namespace(side);
        // Declaring then deleting the table makes the script work whether or not it existed.
        let mut script = format!("table inet {NFT_TABLE} {{}}\ndelete table inet {NFT_TABLE}\n");
        let threshold = (percent * 100.0).round() as u32;
        if threshold > 0 {
            script.push_str(&format!(
                "table inet {NFT_TABLE} {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    meta l4proto udp numgen random mod 10000 < {threshold} counter drop\n  }}\n}}\n"
            ));
        }
        run(
            "ip",
            &["netns", "exec", ns, "nft", "-f", "-"],
            Some(&script),
        )?;
        Ok(())
    }

    /// UDP datagrams dropped so far by the loss rule toward `side` (0 when no rule is set).
    /// The counter restarts whenever `set_loss*` replaces the rule.
    pub fn dropped_toward(&self, side: Side) -> Result<u64, Error> {
        let ns = self.namespace(side);
        match run(
            "ip",
            &[
                "netns", "exec", ns, "nft", "list", "table", "inet", NFT_TABLE,
            ],
            None,
        ) {
            Ok(listing) => Ok(parse_counter_packets(&listing)),
            // No table: no loss rule, nothing dropped.
            Err(Error::CommandFailed { .. }) => Ok(0),
            Err(other) => Err(other),
        }
    }

    /// Drops `percent` % of the UDP datagrams in each direction.
    pub fn set_loss(&self, percent: f64) -> Result<(), Error> {
        self.set_loss_toward(Side::A, percent)?;
        self.set_loss_toward(Side::B, percent)
    }

    /// Limits what `side` sends to `bits_per_sec` with a token bucket (`tc qdisc replace dev veth
    /// root tbf`): burst is 10 ms of traffic (at least 16 KB), queueing at most 100 ms.
    pub fn set_rate_from(&self, side: Side, bits_per_sec: u64) -> Result<(), Error> {
        if bits_per_sec == 0 {
            return Err(Error::InvalidRate(0));
        }
        let rate = format!("{bits_per_sec}bit");
        let burst = (bits_per_sec / 8 / 100).max(16_000).to_string();
        let ns = self.namespace(side);
        let dev = self.interface(side);
        run(
            "ip",
            &[
                "netns", "exec", ns, "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate",
                &rate, "burst", &burst, "latency", "100ms",
            ],
            None,
        )?;
        Ok(())
    }

    /// Limits both directions to `bits_per_sec`.
    pub fn set_rate(&self, bits_per_sec: u64) -> Result<(), Error> {
        self.set_rate_from(Side::A, bits_per_sec)?;
        self.set_rate_from(Side::B, bits_per_sec)
    }

    /// Removes the rate limits of both directions.
    pub fn clear_rate(&self) -> Result<(), Error> {
        for side in [Side::A, Side::B] {
            let (ns, dev) = (self.namespace(side), self.interface(side));
            // `del` fails when no root qdisc was set; that is the state we want.
            let _ = run(
                "ip",
                &[
                    "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root",
                ],
                None,
            );
        }
        Ok(())
    }

    /// `ip netns exec NS program`: add arguments, stdio, then spawn.
    pub fn exec_in(&self, side: Side, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", self.namespace(side)])
            .arg(program);
        command
    }

    /// Spawns a thread that enters `side`'s namespace, builds a current-thread tokio runtime and
    /// runs the future `f` returns. Create sockets inside the future.
    pub fn enter_on_thread<F, Fut, T>(
        &self,
        side: Side,
        f: F,
    ) -> Result<JoinHandle<Result<T, Error>>, Error>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        let namespace = self.namespace(side).to_owned();
        std::thread::Builder::new()
            .name(format!("netns-{namespace}"))
            .spawn(move || {
                enter_namespace(&namespace)?;
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|source| Error::Runtime {
                        what: "tokio runtime in namespace",
                        source,
                    })?;
                Ok(runtime.block_on(f()))
            })
            .map_err(|source| Error::Runtime {
                what: "namespace thread",
                source,
            })
    }

    /// [`enter_on_thread`](Self::enter_on_thread) and wait for the result; a panic inside `f`
    /// is passed on to the caller.
    pub fn run_in<F, Fut, T>(&self, side: Side, f: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        match self.enter_on_thread(side, f)?.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Deletes both namespaces now, reporting failures (drop does the same, silently).
    pub fn remove(mut self) -> Result<(), Error> {
        self.remove_namespaces()
    }

    fn remove_namespaces(&mut self) -> Result<(), Error> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        let mut first_error = None;
        for ns in &self.namespaces {
            if Path::new(NETNS_DIR).join(ns).exists() {
                if let Err(error) = run("ip", &["netns", "del", ns], None) {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Deletes `tmio-test-*` namespaces left by processes that no longer run (crashed test
    /// runs); namespaces of live processes, other test runs included, are left alone. Returns
    /// the names removed.
    pub fn cleanup_stale() -> Result<Vec<String>, Error> {
        let entries = match std::fs::read_dir(NETNS_DIR) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    what: NETNS_DIR.into(),
                    source,
                })
            }
        };
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(NAMESPACE_PREFIX) else {
                continue;
            };
            let owner = rest
                .split('-')
                .next()
                .and_then(|pid| pid.parse::<u32>().ok());
            let stale = match owner {
                Some(pid) => !pid_is_alive(pid),
                None => false,
            };
            if stale {
                run("ip", &["netns", "del", &name], None)?;
                removed.push(name);
            }
        }
        Ok(removed)
    }

    /// Whether a namespace of that name exists (`/run/netns/NAME`).
    pub fn namespace_exists(name: &str) -> bool {
        Path::new(NETNS_DIR).join(name).exists()
    }
}

/// Sums the `counter packets N` fields of an `nft list` output.
fn parse_counter_packets(listing: &str) -> u64 {
    let words: Vec<&str> = listing.split_whitespace().collect();
    words
        .windows(3)
        .filter(|w| w[0] == "counter" && w[1] == "packets")
        .filter_map(|w| w[2].parse::<u64>().ok())
        .sum()
}

fn enter_namespace(namespace: &str) -> Result<(), Error> {
    let path = Path::new(NETNS_DIR).join(namespace);
    let enter_err = |source| Error::EnterNamespace {
        namespace: namespace.to_owned(),
        source,
    };
    let file = File::open(&path).map_err(enter_err)?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|errno| enter_err(std::io::Error::from(errno)))
}

impl Drop for NetnsLink {
    fn drop(&mut self) {
        if let Err(error) = self.remove_namespaces() {
            tracing::warn!(%error, "could not remove test namespaces");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_counters_are_parsed() {
        let listing = "table inet tmio {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tmeta l4proto udp numgen random mod 10000 < 2000 counter packets 412 bytes 90640 drop\n\t}\n}\n";
        assert_eq!(parse_counter_packets(listing), 412);
        assert_eq!(parse_counter_packets("table inet tmio {}"), 0);
    }

    #[test]
    fn sides_are_each_others_peer() {
        assert_eq!(Side::A.peer(), Side::B);
        assert_eq!(Side::B.peer().peer(), Side::B);
    }

    #[test]
    fn failing_commands_report_command_and_stderr() {
        match run("ip", &["link", "show", "dev", "tmio-no-such-dev"], None) {
            Err(Error::CommandFailed {
                command, stderr, ..
            }) => {
                assert!(command.contains("tmio-no-such-dev"));
                assert!(!stderr.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            run("/nonexistent/tmio-tool", &[], None),
            Err(Error::Spawn { .. })
        ));
    }
}
