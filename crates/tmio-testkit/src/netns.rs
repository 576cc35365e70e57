//! Network namespaces for tests. Linux only; needs root and the `ip`, `nft` and `tc` commands
//! (`ethtool`, when installed, turns GRO off explicitly; it is off by default on veth).
//!
//! - [`NetnsLinks`]: two namespaces joined by N veth pairs (1 to [`MAX_LINKS`]), each pair with
//!   its own /30 in 10.0.0.0/8 and its own interface names (`veth0-a`/`veth0-b`, `veth1-a`…);
//!   per link and direction nftables loss, tbf rate, cuts (`ip link set down`, or 100 % drop),
//!   restore, and counters of what the rules dropped. For bonded groups: one path per link.
//! - [`NetnsLink`]: the one-link case (the same implementation, link 0 of a [`NetnsLinks`]).
//!
//! Names are `tmio-test-<pid>-<n>-a` / `-b`; the veth ends are created directly inside the
//! namespaces, so nothing appears in the caller's namespace, and the addresses exist only inside
//! the two namespaces. Every veth end has `gso_max_segs 1` and GRO off, so one datagram is one
//! packet for the rules (one drop is one datagram). Everything is deleted on drop (deleting a
//! namespace deletes its veth ends and rules); [`NetnsLinks::cleanup_stale`] removes those of
//! dead processes.
//!
//! Code runs inside a namespace in one of three ways:
//! - a process: [`NetnsLinks::exec_in`] gives an `ip netns exec NS program` [`Command`];
//! - a tokio thread: [`NetnsLinks::enter_on_thread`] / [`NetnsLinks::run_in`] spawn a std
//!   thread, `setns` it into the namespace and run a future on a current-thread tokio runtime
//!   built there. Sockets belong to the namespace of the thread that creates them, so create
//!   them inside the future; do not use `spawn_blocking` (its pool threads live in the original
//!   namespace);
//! - a plain thread: [`NetnsLinks::spawn_thread_in`] (blocking std sockets).

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
/// Most veth pairs one [`NetnsLinks`] may have.
pub const MAX_LINKS: usize = 4;
const NETNS_DIR: &str = "/run/netns";

static LINK_COUNTER: AtomicU32 = AtomicU32::new(0);

/// How [`NetnsLinks::cut`] takes a link out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cut {
    /// `ip link set down` on both veth ends: sends on it fail (no route), nothing arrives.
    LinkDown,
    /// An nftables rule in each namespace drops every packet arriving on the link (UDP, ICMP,
    /// TCP alike); the interfaces stay up, so senders see nothing wrong.
    DropAll,
}

/// One veth pair of a [`NetnsLinks`]: its interface names and addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethLink {
    index: usize,
    interfaces: [String; 2],
    addrs: [Ipv4Addr; 2],
}

impl VethLink {
    /// Which link this is (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The veth end's name inside that side's namespace (`veth<i>-a`, `veth<i>-b`).
    pub fn interface(&self, side: Side) -> &str {
        &self.interfaces[side.index()]
    }

    /// That side's address on this link (`.1` for A, `.2` for B of the link's /30).
    pub fn addr(&self, side: Side) -> Ipv4Addr {
        self.addrs[side.index()]
    }
}

/// Two namespaces joined by one or more veth pairs. Dropping it deletes both namespaces.
#[derive(Debug)]
pub struct NetnsLinks {
    namespaces: [String; 2],
    links: Vec<VethLink>,
    removed: bool,
}

/// Two namespaces joined by one veth pair: link 0 of a [`NetnsLinks`]. Dropping it deletes
/// both namespaces.
#[derive(Debug)]
pub struct NetnsLink {
    links: NetnsLinks,
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

fn ethtool_available() -> bool {
    run("ethtool", &["--version"], None).is_ok()
}

/// The addresses of link `index` of the set numbered `set`: a /30 per link inside 10.0.0.0/8,
/// [`MAX_LINKS`] blocks per set (2^22 blocks in all). Only links of one set must differ: each
/// set lives in its own namespaces.
fn link_addrs(set: u32, index: usize) -> [Ipv4Addr; 2] {
    let block = (set
        .wrapping_mul(MAX_LINKS as u32)
        .wrapping_add(index as u32))
        & ((1 << 22) - 1);
    let network = (10u32 << 24) | (block << 2);
    [Ipv4Addr::from(network + 1), Ipv4Addr::from(network + 2)]
}

fn loss_table(link: usize) -> String {
    format!("tmio-loss{link}")
}

fn cut_table(link: usize) -> String {
    format!("tmio-cut{link}")
}

/// An nft script that (re)creates `table inet NAME` with one input-chain `rule`, or only
/// removes the table when `rule` is `None`. Declaring then deleting first makes the script work
/// whether or not the table existed.
fn nft_table_script(name: &str, rule: Option<&str>) -> String {
    let mut script = format!("table inet {name} {{}}\ndelete table inet {name}\n");
    if let Some(rule) = rule {
        script.push_str(&format!(
            "table inet {name} {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    {rule}\n  }}\n}}\n"
        ));
    }
    script
}

impl NetnsLinks {
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

    /// Creates the two namespaces and `count` veth pairs (1 to [`MAX_LINKS`]) with their
    /// addresses, and brings every interface up (`lo` included). On failure whatever was
    /// created is removed.
    pub fn new(count: usize) -> Result<Self, Error> {
        if !(1..=MAX_LINKS).contains(&count) {
            return Err(Error::InvalidLinkCount(count));
        }
        let pid = std::process::id();
        let counter = LINK_COUNTER.fetch_add(1, Ordering::Relaxed);
        let base = format!("{NAMESPACE_PREFIX}{pid}-{counter}");
        let set = pid.wrapping_mul(64).wrapping_add(counter);
        let links = (0..count)
            .map(|index| VethLink {
                index,
                interfaces: [format!("veth{index}-a"), format!("veth{index}-b")],
                addrs: link_addrs(set, index),
            })
            .collect();
        let mut created = Self {
            namespaces: [format!("{base}-a"), format!("{base}-b")],
            links,
            removed: true,
        };
        run("ip", &["netns", "add", &created.namespaces[0]], None)?;
        if let Err(error) = run("ip", &["netns", "add", &created.namespaces[1]], None) {
            let _ = run("ip", &["netns", "del", &created.namespaces[0]], None);
            return Err(error);
        }
        created.removed = false;
        // From here on, Drop cleans up if a step fails.
        let ethtool = ethtool_available();
        for side in [Side::A, Side::B] {
            run(
                "ip",
                &["-n", created.namespace(side), "link", "set", "lo", "up"],
                None,
            )?;
        }
        for link in &created.links {
            let [ns_a, ns_b] = &created.namespaces;
            let [if_a, if_b] = &link.interfaces;
            run(
                "ip",
                &[
                    "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
                    "netns", ns_b,
                ],
                None,
            )?;
            for side in [Side::A, Side::B] {
                let ns = created.namespace(side);
                let dev = link.interface(side);
                let cidr = format!("{}/30", link.addr(side));
                run("ip", &["-n", ns, "addr", "add", &cidr, "dev", dev], None)?;
                // gso_max_segs 1: the veth cuts GSO batches into datagrams, so nftables drops
                // and counts datagrams as a wire would.
                run(
                    "ip",
                    &["-n", ns, "link", "set", dev, "gso_max_segs", "1", "up"],
                    None,
                )?;
                if ethtool {
                    // GRO off (the veth default here): no merging on the receiving side either.
                    run(
                        "ip",
                        &["netns", "exec", ns, "ethtool", "-K", dev, "gro", "off"],
                        None,
                    )?;
                }
            }
        }
        tracing::debug!(
            a = %created.namespaces[0],
            b = %created.namespaces[1],
            links = created.links.len(),
            "netns links created"
        );
        Ok(created)
    }

    /// The namespace's name (for `ip netns exec`, `/run/netns/NAME`).
    pub fn namespace(&self, side: Side) -> &str {
        &self.namespaces[side.index()]
    }

    /// Every link, in order.
    pub fn links(&self) -> &[VethLink] {
        &self.links
    }

    /// Link `index`, or [`Error::NoSuchLink`].
    pub fn link(&self, index: usize) -> Result<&VethLink, Error> {
        self.links.get(index).ok_or(Error::NoSuchLink {
            link: index,
            links: self.links.len(),
        })
    }

    fn nft(&self, side: Side, script: &str) -> Result<(), Error> {
        run(
            "ip",
            &["netns", "exec", self.namespace(side), "nft", "-f", "-"],
            Some(script),
        )
        .map(|_| ())
    }

    /// Drops `percent` % of the UDP datagrams arriving at `side` over link `link` (nftables
    /// `numgen random` in an input chain of `side`'s namespace, matched by the link's
    /// interface; 0.01 % resolution). 0 removes the rule. Other links are not affected.
    pub fn set_loss_toward(&self, link: usize, side: Side, percent: f64) -> Result<(), Error> {
        if !(0.0..=100.0).contains(&percent) {
            return Err(Error::InvalidPercent(percent));
        }
        let dev = self.link(link)?.interface(side);
        let threshold = (percent * 100.0).round() as u32;
        let rule = (threshold > 0).then(|| {
            format!("iifname \"{dev}\" meta l4proto udp numgen random mod 10000 < {threshold} counter drop")
        });
        self.nft(side, &nft_table_script(&loss_table(link), rule.as_deref()))
    }

    /// Drops `percent` % of the UDP datagrams in each direction of link `link`.
    pub fn set_loss(&self, link: usize, percent: f64) -> Result<(), Error> {
        self.set_loss_toward(link, Side::A, percent)?;
        self.set_loss_toward(link, Side::B, percent)
    }

    /// Packets dropped so far on their way into `side` over link `link`: by the loss rule
    /// (which restarts its count whenever `set_loss*` replaces it) plus by a [`Cut::DropAll`]
    /// (which restarts at each cut). 0 when no rule is set.
    pub fn dropped_toward(&self, link: usize, side: Side) -> Result<u64, Error> {
        self.link(link)?;
        let ns = self.namespace(side);
        let mut dropped = 0;
        for table in [loss_table(link), cut_table(link)] {
            match run(
                "ip",
                &["netns", "exec", ns, "nft", "list", "table", "inet", &table],
                None,
            ) {
                Ok(listing) => dropped += parse_counter_packets(&listing),
                // No table: no rule, nothing dropped.
                Err(Error::CommandFailed { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(dropped)
    }

    /// Limits what `side` sends over link `link` to `bits_per_sec` with a token bucket (`tc
    /// qdisc replace dev veth root tbf`): burst is 10 ms of traffic (at least 16 KB), queueing
    /// at most 100 ms.
    pub fn set_rate_from(&self, link: usize, side: Side, bits_per_sec: u64) -> Result<(), Error> {
        if bits_per_sec == 0 {
            return Err(Error::InvalidRate(0));
        }
        let rate = format!("{bits_per_sec}bit");
        let burst = (bits_per_sec / 8 / 100).max(16_000).to_string();
        let ns = self.namespace(side);
        let dev = self.link(link)?.interface(side);
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

    /// Limits both directions of link `link` to `bits_per_sec`.
    pub fn set_rate(&self, link: usize, bits_per_sec: u64) -> Result<(), Error> {
        self.set_rate_from(link, Side::A, bits_per_sec)?;
        self.set_rate_from(link, Side::B, bits_per_sec)
    }

    /// Removes the rate limits of both directions of link `link`.
    pub fn clear_rate(&self, link: usize) -> Result<(), Error> {
        let veth = self.link(link)?;
        for side in [Side::A, Side::B] {
            let (ns, dev) = (self.namespace(side), veth.interface(side));
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

    /// Takes link `link` out in both directions, the way `how` says; [`restore`](Self::restore)
    /// brings it back. Loss and rate settings are kept.
    pub fn cut(&self, link: usize, how: Cut) -> Result<(), Error> {
        let veth = self.link(link)?;
        for side in [Side::A, Side::B] {
            match how {
                Cut::LinkDown => {
                    run(
                        "ip",
                        &[
                            "-n",
                            self.namespace(side),
                            "link",
                            "set",
                            veth.interface(side),
                            "down",
                        ],
                        None,
                    )?;
                }
                Cut::DropAll => {
                    let rule = format!("iifname \"{}\" counter drop", veth.interface(side));
                    self.nft(side, &nft_table_script(&cut_table(link), Some(&rule)))?;
                }
            }
        }
        Ok(())
    }

    /// Undoes any [`cut`](Self::cut) of link `link` (both kinds; a link not cut is left as it
    /// is): the drop rules are removed and both ends set up.
    pub fn restore(&self, link: usize) -> Result<(), Error> {
        let veth = self.link(link)?;
        for side in [Side::A, Side::B] {
            self.nft(side, &nft_table_script(&cut_table(link), None))?;
            run(
                "ip",
                &[
                    "-n",
                    self.namespace(side),
                    "link",
                    "set",
                    veth.interface(side),
                    "up",
                ],
                None,
            )?;
        }
        Ok(())
    }

    /// Whether both ends of link `link` are administratively up (`ip link show`).
    pub fn is_up(&self, link: usize) -> Result<bool, Error> {
        let veth = self.link(link)?;
        for side in [Side::A, Side::B] {
            let listing = run(
                "ip",
                &[
                    "-n",
                    self.namespace(side),
                    "-o",
                    "link",
                    "show",
                    "dev",
                    veth.interface(side),
                ],
                None,
            )?;
            let flags = listing
                .split_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(flags, _)| flags)
                .unwrap_or("");
            if !flags.split(',').any(|flag| flag == "UP") {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `ip netns exec NS program`: add arguments, stdio, then spawn.
    pub fn exec_in(&self, side: Side, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", self.namespace(side)])
            .arg(program);
        command
    }

    /// Spawns a std thread that enters `side`'s namespace and runs `f` there (blocking code:
    /// std sockets created inside `f` belong to the namespace).
    pub fn spawn_thread_in<F, T>(
        &self,
        side: Side,
        f: F,
    ) -> Result<JoinHandle<Result<T, Error>>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let namespace = self.namespace(side).to_owned();
        std::thread::Builder::new()
            .name(format!("netns-{namespace}"))
            .spawn(move || {
                enter_namespace(&namespace)?;
                Ok(f())
            })
            .map_err(|source| Error::Runtime {
                what: "namespace thread",
                source,
            })
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

impl Drop for NetnsLinks {
    fn drop(&mut self) {
        if let Err(error) = self.remove_namespaces() {
            tracing::warn!(%error, "could not remove test namespaces");
        }
    }
}

impl NetnsLink {
    /// See [`NetnsLinks::available`].
    pub fn available() -> Result<(), String> {
        NetnsLinks::available()
    }

    /// See [`NetnsLinks::should_run`].
    pub fn should_run(test: &str) -> Result<bool, Error> {
        NetnsLinks::should_run(test)
    }

    /// Creates the two namespaces, the veth pair (`veth0-a`, `veth0-b`), the addresses, and
    /// brings every interface up (`lo` included). On failure whatever was created is removed.
    pub fn new() -> Result<Self, Error> {
        Ok(Self {
            links: NetnsLinks::new(1)?,
        })
    }

    /// The link set behind this link (link 0): cuts, threads, and everything indexed by link.
    pub fn as_links(&self) -> &NetnsLinks {
        &self.links
    }

    fn veth(&self) -> &VethLink {
        // `new` made exactly one link.
        &self.links.links[0]
    }

    /// The namespace's name (for `ip netns exec`, `/run/netns/NAME`).
    pub fn namespace(&self, side: Side) -> &str {
        self.links.namespace(side)
    }

    /// The veth end's name inside that side's namespace.
    pub fn interface(&self, side: Side) -> &str {
        self.veth().interface(side)
    }

    /// That side's address on the link.
    pub fn addr(&self, side: Side) -> Ipv4Addr {
        self.veth().addr(side)
    }

    /// See [`NetnsLinks::set_loss_toward`].
    pub fn set_loss_toward(&self, side: Side, percent: f64) -> Result<(), Error> {
        self.links.set_loss_toward(0, side, percent)
    }

    /// See [`NetnsLinks::dropped_toward`].
    pub fn dropped_toward(&self, side: Side) -> Result<u64, Error> {
        self.links.dropped_toward(0, side)
    }

    /// Drops `percent` % of the UDP datagrams in each direction.
    pub fn set_loss(&self, percent: f64) -> Result<(), Error> {
        self.links.set_loss(0, percent)
    }

    /// See [`NetnsLinks::set_rate_from`].
    pub fn set_rate_from(&self, side: Side, bits_per_sec: u64) -> Result<(), Error> {
        self.links.set_rate_from(0, side, bits_per_sec)
    }

    /// Limits both directions to `bits_per_sec`.
    pub fn set_rate(&self, bits_per_sec: u64) -> Result<(), Error> {
        self.links.set_rate(0, bits_per_sec)
    }

    /// Removes the rate limits of both directions.
    pub fn clear_rate(&self) -> Result<(), Error> {
        self.links.clear_rate(0)
    }

    /// See [`NetnsLinks::cut`].
    pub fn cut(&self, how: Cut) -> Result<(), Error> {
        self.links.cut(0, how)
    }

    /// See [`NetnsLinks::restore`].
    pub fn restore(&self) -> Result<(), Error> {
        self.links.restore(0)
    }

    /// `ip netns exec NS program`: add arguments, stdio, then spawn.
    pub fn exec_in(&self, side: Side, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.links.exec_in(side, program)
    }

    /// See [`NetnsLinks::enter_on_thread`].
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
        self.links.enter_on_thread(side, f)
    }

    /// See [`NetnsLinks::run_in`].
    pub fn run_in<F, Fut, T>(&self, side: Side, f: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        self.links.run_in(side, f)
    }

    /// Deletes both namespaces now, reporting failures (drop does the same, silently).
    pub fn remove(self) -> Result<(), Error> {
        self.links.remove()
    }

    /// See [`NetnsLinks::cleanup_stale`].
    pub fn cleanup_stale() -> Result<Vec<String>, Error> {
        NetnsLinks::cleanup_stale()
    }

    /// Whether a namespace of that name exists (`/run/netns/NAME`).
    pub fn namespace_exists(name: &str) -> bool {
        NetnsLinks::namespace_exists(name)
    }
}

/// Whether the calling thread is inside one of the `tmio-test-*` namespaces this module creates
/// (its `/proc/thread-self/ns/net` is the same namespace as one of `/run/netns/tmio-test-*`).
/// Every address there is private to the test, so the relay may forward to them.
pub fn current_thread_in_test_namespace() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(own) = std::fs::metadata("/proc/thread-self/ns/net") else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return false;
    };
    entries.flatten().any(|entry| {
        entry
            .file_name()
            .to_string_lossy()
            .starts_with(NAMESPACE_PREFIX)
            && std::fs::metadata(entry.path())
                .map(|meta| meta.dev() == own.dev() && meta.ino() == own.ino())
                .unwrap_or(false)
    })
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
    fn links_of_one_set_get_distinct_slash_30s() {
        let addrs: Vec<_> = (0..MAX_LINKS)
            .map(|i| link_addrs(4_194_303 * 64 + 63, i))
            .collect();
        for (i, pair) in addrs.iter().enumerate() {
            assert_eq!(pair[0].octets()[0], 10);
            assert_eq!(u32::from(pair[1]) - u32::from(pair[0]), 1);
            assert_eq!(u32::from(pair[0]) & 3, 1, "{pair:?} is .1/.2 of a /30");
            for other in &addrs[i + 1..] {
                assert_ne!(u32::from(pair[0]) >> 2, u32::from(other[0]) >> 2);
            }
        }
    }

    #[test]
    fn nft_scripts_replace_or_remove_one_table() {
        let script = nft_table_script("tmio-loss1", Some("iifname \"veth1-b\" counter drop"));
        assert!(script.starts_with("table inet tmio-loss1 {}\ndelete table inet tmio-loss1\n"));
        assert!(script.contains("hook input"));
        assert!(script.contains("iifname \"veth1-b\" counter drop"));
        let removal = nft_table_script("tmio-cut0", None);
        assert_eq!(
            removal,
            "table inet tmio-cut0 {}\ndelete table inet tmio-cut0\n"
        );
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
