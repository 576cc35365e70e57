//! `cargo xtask bench`: criterion benchmarks, the side-by-side peer benchmark, the full chain
//! bulk benchmark (`benches/chain.sh`, when it exists), the stream latency, lossy-path and
//! many-sessions benchmarks. `--part NAME` (repeatable) runs only those parts; `--quick` runs
//! each with small sizes (a few minutes in all) and writes its plots under
//! `target/bench-quick/` instead of `docs/img/`; `--tmio PATH` measures that tmio binary.
//!
//! Every part runs even when an earlier one failed (a benchmark run should report what it
//! could); the task fails at the end if any part did.

use crate::shell::{Cmd, Shell};
use crate::Error;

/// The peer benchmark script, relative to the workspace root (optional).
pub const PEERS_SCRIPT: &str = "benches/peers.sh";
/// The full-chain bulk benchmark (benchmark 1 of issue 9; run when it exists).
pub const CHAIN_SCRIPT: &str = "benches/chain.sh";
/// Stream latency on loopback.
pub const LATENCY_SCRIPT: &str = "benches/latency.sh";
/// Goodput and retransmissions through tbf and random loss between namespaces (root).
pub const LOSSY_SCRIPT: &str = "benches/lossy.sh";
/// Many sessions at once.
pub const SESSIONS_SCRIPT: &str = "benches/sessions.sh";
/// Where `--quick` runs write their plots and tables (full runs: the scripts' default,
/// `docs/img`).
pub const QUICK_OUTPUT: &str = "target/bench-quick";

/// One part of the benchmark run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchPart {
    /// `cargo bench -p tmio-benches`.
    Criterion,
    /// `benches/peers.sh`.
    Peers,
    /// `benches/chain.sh`.
    Chain,
    /// `benches/latency.sh`.
    Latency,
    /// `benches/lossy.sh`.
    Lossy,
    /// `benches/sessions.sh`.
    Sessions,
}

impl BenchPart {
    /// Every part, in the order a full run takes them.
    pub const ALL: [BenchPart; 6] = [
        BenchPart::Criterion,
        BenchPart::Peers,
        BenchPart::Chain,
        BenchPart::Latency,
        BenchPart::Lossy,
        BenchPart::Sessions,
    ];

    /// The part's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BenchPart::Criterion => "criterion",
            BenchPart::Peers => "peers",
            BenchPart::Chain => "chain",
            BenchPart::Latency => "latency",
            BenchPart::Lossy => "lossy",
            BenchPart::Sessions => "sessions",
        }
    }

    /// The part named `name`, if any.
    pub fn from_name(name: &str) -> Option<BenchPart> {
        BenchPart::ALL.into_iter().find(|part| part.name() == name)
    }
}

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenchOptions {
    /// Only these parts (empty: all).
    pub parts: Vec<BenchPart>,
    /// Small sizes, output under [`QUICK_OUTPUT`].
    pub quick: bool,
    /// The tmio binary the stream benchmarks measure (`TMIO=`; default: built from the tree).
    pub tmio: Option<String>,
}

fn script(path: &str, args: &[&str], options: &BenchOptions) -> Cmd {
    let mut cmd = Cmd::new("bash").arg(path).args(args.iter().copied());
    if options.quick {
        cmd = cmd.env("BENCH_QUICK", "1").env("BENCH_IMG", QUICK_OUTPUT);
    }
    if let Some(tmio) = &options.tmio {
        cmd = cmd.env("TMIO", tmio);
    }
    cmd
}

/// The commands of one run, in order; parts whose script does not exist are left out with a
/// note on stderr (`peers.sh` and `chain.sh` are optional).
pub fn plan(shell: &Shell, options: &BenchOptions) -> Vec<Cmd> {
    let parts: Vec<BenchPart> = if options.parts.is_empty() {
        BenchPart::ALL.to_vec()
    } else {
        BenchPart::ALL
            .into_iter()
            .filter(|part| options.parts.contains(part))
            .collect()
    };
    let quick = options.quick;
    let mut commands = Vec::new();
    for part in parts {
        let (path, args): (&str, &[&str]) = match (part, quick) {
            (BenchPart::Criterion, false) => {
                commands.push(Cmd::cargo().args(["bench", "-p", "tmio-benches"]));
                continue;
            }
            (BenchPart::Criterion, true) => {
                commands.push(Cmd::cargo().args(["bench", "-p", "tmio-benches", "--", "--quick"]));
                continue;
            }
            (BenchPart::Peers, false) => (PEERS_SCRIPT, &[]),
            (BenchPart::Peers, true) => (PEERS_SCRIPT, &["64", "1"]),
            // chain.sh's own defaults; BENCH_QUICK=1 asks it for small sizes.
            (BenchPart::Chain, _) => (CHAIN_SCRIPT, &[]),
            (BenchPart::Latency, false) => (LATENCY_SCRIPT, &[]),
            (BenchPart::Latency, true) => (LATENCY_SCRIPT, &["3", "1"]),
            (BenchPart::Lossy, false) => (LOSSY_SCRIPT, &[]),
            (BenchPart::Lossy, true) => (LOSSY_SCRIPT, &["1", "2", "1"]),
            (BenchPart::Sessions, false) => (SESSIONS_SCRIPT, &[]),
            (BenchPart::Sessions, true) => (SESSIONS_SCRIPT, &["4 10", "3"]),
        };
        if !shell.root().join(path).is_file() {
            eprintln!(
                "xtask: {path} does not exist (yet): the {} part is skipped",
                part.name()
            );
            continue;
        }
        let mut cmd = script(path, args, options);
        if quick && part == BenchPart::Sessions {
            cmd = cmd.env("FACADE_N", "10");
        }
        commands.push(cmd);
    }
    commands
}

/// Runs every planned command, on through failures; fails at the end if any part failed.
pub fn run(shell: &Shell, options: &BenchOptions) -> Result<(), Error> {
    let mut first_error = None;
    for cmd in plan(shell, options) {
        if let Err(error) = shell.run(&cmd) {
            eprintln!("xtask: benchmark part failed, going on with the next: {error}");
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::scratch::ScratchDir;

    const STREAM_SCRIPTS: [&str; 3] = [LATENCY_SCRIPT, LOSSY_SCRIPT, SESSIONS_SCRIPT];

    fn planned(root: &ScratchDir, options: &BenchOptions) -> Vec<String> {
        let shell = Shell::new(root.path(), true);
        run(&shell, options).unwrap();
        shell.planned()
    }

    #[test]
    fn without_scripts_only_criterion_runs() {
        let root = ScratchDir::new();
        assert_eq!(
            planned(&root, &BenchOptions::default()),
            ["cargo bench -p tmio-benches"]
        );
    }

    #[test]
    fn a_full_run_takes_every_script_that_exists_in_order() {
        let root = ScratchDir::new();
        for path in [PEERS_SCRIPT, CHAIN_SCRIPT].iter().chain(&STREAM_SCRIPTS) {
            root.write(path, "#!/bin/sh\n");
        }
        assert_eq!(
            planned(&root, &BenchOptions::default()),
            [
                "cargo bench -p tmio-benches",
                "bash benches/peers.sh",
                "bash benches/chain.sh",
                "bash benches/latency.sh",
                "bash benches/lossy.sh",
                "bash benches/sessions.sh",
            ]
        );
    }

    #[test]
    fn chain_is_skipped_until_its_script_exists() {
        let root = ScratchDir::new();
        root.write(PEERS_SCRIPT, "#!/bin/sh\n");
        root.write(LATENCY_SCRIPT, "#!/bin/sh\n");
        assert_eq!(
            planned(&root, &BenchOptions::default()),
            [
                "cargo bench -p tmio-benches",
                "bash benches/peers.sh",
                "bash benches/latency.sh",
            ]
        );
    }

    #[test]
    fn quick_runs_small_sizes_into_target_with_the_given_tmio() {
        let root = ScratchDir::new();
        for path in [PEERS_SCRIPT, CHAIN_SCRIPT].iter().chain(&STREAM_SCRIPTS) {
            root.write(path, "#!/bin/sh\n");
        }
        let options = BenchOptions {
            parts: Vec::new(),
            quick: true,
            tmio: Some("/opt/tmio".into()),
        };
        let env = "BENCH_QUICK=1 BENCH_IMG=target/bench-quick TMIO=/opt/tmio";
        assert_eq!(
            planned(&root, &options),
            [
                "cargo bench -p tmio-benches -- --quick".to_owned(),
                format!("{env} bash benches/peers.sh 64 1"),
                format!("{env} bash benches/chain.sh"),
                format!("{env} bash benches/latency.sh 3 1"),
                format!("{env} bash benches/lossy.sh 1 2 1"),
                format!("{env} FACADE_N=10 bash benches/sessions.sh '4 10' 3"),
            ]
        );
    }

    #[test]
    fn parts_run_alone_in_the_full_order() {
        let root = ScratchDir::new();
        for path in STREAM_SCRIPTS {
            root.write(path, "#!/bin/sh\n");
        }
        let options = BenchOptions {
            parts: vec![BenchPart::Sessions, BenchPart::Latency],
            quick: false,
            tmio: None,
        };
        assert_eq!(
            planned(&root, &options),
            ["bash benches/latency.sh", "bash benches/sessions.sh"]
        );
    }

    #[test]
    fn part_names_round_trip() {
        for part in BenchPart::ALL {
            assert_eq!(BenchPart::from_name(part.name()), Some(part));
        }
        assert_eq!(BenchPart::from_name("everything"), None);
    }
}
