//! Command-line parsing for `cargo xtask` (hand-written: std only).

use crate::tasks::bench::{BenchOptions, BenchPart};
use crate::Error;

/// The help text.
pub const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  deps   [--dry-run]
         install what the tests need (scripts/install-deps.sh: Debian packages, cargo-fuzz)
  test   [--no-install] [--fuzz-seconds N] [--dry-run]
         the test command of the README and of CI: deps, fmt, clippy, cargo test --workspace,
         then every fuzz target for N seconds (default 30; 0 skips fuzzing)
  fuzz   [--seconds N] [--runs N | --long] [--workers N] [--no-sanitizer] [--target NAME]
         [--dry-run]
         build the targets in fuzz/, then run each (or only NAME) for N seconds (default 30),
         as many side by side as there are CPUs (one after the other with --workers above 1);
         --runs N instead stops each after N executions (libFuzzer's -runs),
         --long is --runs 10000000 (the long run of docs/fuzzing.md); with --seconds as well,
         whichever comes first; --workers N runs N libFuzzer processes on the target's corpus
         (libFuzzer's -jobs/-workers), the executions split between them and summed after;
         --no-sanitizer builds without AddressSanitizer and with debug assertions and overflow
         checks (cargo fuzz -s none -a): several times the executions per second
  soak   [--long] [--dry-run]
         run the #[ignore]d long tests (cargo test --workspace --release -- --ignored), but
         the hour-long soak; --long instead: the issue's soaks (30 min at 20 Mbit/s, 5 % loss,
         1 then 50 sessions) through release builds, figures written into docs/reliability.md
  bench  [--part NAME]... [--quick] [--tmio PATH] [--dry-run]
         run the benchmarks: criterion, benches/peers.sh, benches/chain.sh (when it exists),
         benches/latency.sh, benches/lossy.sh (root: namespaces), benches/sessions.sh; plots and
         tables into docs/img. --part (criterion, peers, chain, latency, lossy, sessions; may be
         repeated) runs only those; --quick: small sizes, output into target/bench-quick;
         --tmio: the tmio binary the stream benchmarks measure (default: built from the tree)
  reliability [--fast] [--dry-run]
         the fault matrix (loss x delay, reorder, duplication, blackout, killed processes, gone
         or slow upstream) through release builds of tmio proxy and gateway; writes
         docs/reliability.md (--fast: the default tests' subset, report on stdout, no file)
  release [--no-install] [--fuzz-seconds N] [--dry-run] VERSION
         bump every crate to VERSION (semver, newer than now; CHANGELOG.md needs a `## VERSION`
         section), run the checks of `test`, cargo package and cargo publish --dry-run of every
         published crate in dependency order, commit the bump, tag vVERSION (needs a clean tree).
         --dry-run shows the bump as a diff and runs the checks and packaging of the current
         tree, writing nothing and tagging nothing
  help   print this text

--dry-run prints the commands a task would run and runs nothing (release: see above).";

/// Seconds each fuzz target runs when no duration is given.
pub const DEFAULT_FUZZ_SECONDS: u64 = 30;

/// Executions per fuzz target of `cargo xtask fuzz --long`.
pub const LONG_FUZZ_RUNS: u64 = 10_000_000;

/// When each fuzz target stops: after so many seconds, so many executions, or whichever comes
/// first. At least one of the two is set (the constructors and the parser make sure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuzzBudget {
    /// libFuzzer's `-max_total_time` (at least 1; 0 would mean "forever").
    pub seconds: Option<u64>,
    /// libFuzzer's `-runs` (at least 1): executions in all, shared by the workers.
    pub runs: Option<u64>,
    /// libFuzzer processes on the target's one corpus (`-jobs=N -workers=N`; at least 1).
    pub workers: u64,
}

impl FuzzBudget {
    /// `seconds` per target, however many executions that is.
    pub const fn seconds(seconds: u64) -> Self {
        FuzzBudget {
            seconds: Some(seconds),
            runs: None,
            workers: 1,
        }
    }

    /// `runs` executions per target, however long that takes.
    pub const fn runs(runs: u64) -> Self {
        FuzzBudget {
            seconds: None,
            runs: Some(runs),
            workers: 1,
        }
    }

    /// The same budget spread over `workers` libFuzzer processes.
    pub const fn with_workers(mut self, workers: u64) -> Self {
        self.workers = workers;
        self
    }

    /// The libFuzzer flags: `-max_total_time=N` and/or `-runs=N`, and with more than one worker
    /// `-jobs=N -workers=N`; libFuzzer applies `-runs` to each worker, so each gets its share
    /// (rounded up) of the executions.
    pub fn libfuzzer_flags(&self) -> Vec<String> {
        let mut flags = Vec::with_capacity(4);
        if let Some(seconds) = self.seconds {
            flags.push(format!("-max_total_time={seconds}"));
        }
        let workers = self.workers.max(1);
        if let Some(runs) = self.runs {
            flags.push(format!("-runs={}", runs.div_ceil(workers)));
        }
        if workers > 1 {
            flags.push(format!("-jobs={workers}"));
            flags.push(format!("-workers={workers}"));
        }
        flags
    }
}

/// How the fuzz targets are built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FuzzBuild {
    /// cargo-fuzz's default: AddressSanitizer, release, no debug assertions.
    #[default]
    AddressSanitizer,
    /// No sanitizer, debug assertions and overflow checks on (`-s none -a`): an arithmetic
    /// overflow panics, a memory error only if it crashes. Several times faster; the code the
    /// targets reach is safe Rust apart from its dependencies' vetted `unsafe`.
    Checked,
}

impl FuzzBuild {
    /// The `cargo fuzz run` flags of this build.
    pub fn cargo_fuzz_flags(self) -> &'static [&'static str] {
        match self {
            FuzzBuild::AddressSanitizer => &[],
            FuzzBuild::Checked => &["--sanitizer", "none", "--debug-assertions"],
        }
    }
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// What to do.
    pub task: Task,
    /// Print the commands instead of running them.
    pub dry_run: bool,
}

/// One `cargo xtask` task and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Print the usage text.
    Help,
    /// Run `scripts/install-deps.sh`.
    Deps,
    /// The full test pipeline.
    Test(TestOptions),
    /// Run the fuzz targets.
    Fuzz {
        /// When each target stops.
        budget: FuzzBudget,
        /// Run only this target.
        target: Option<String>,
        /// How the targets are built.
        build: FuzzBuild,
    },
    /// Run the ignored long tests in release mode.
    Soak {
        /// Instead, the two 30-minute soaks through `tmio-reliability`, into the report.
        long: bool,
    },
    /// Run the benchmarks.
    Bench(BenchOptions),
    /// Run the fault matrix.
    Reliability {
        /// Only the fast subset, report on stdout.
        fast: bool,
    },
    /// Bump, check, package and tag a release.
    Release(ReleaseOptions),
}

/// Options of `cargo xtask release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseOptions {
    /// The version to release, as given (checked by the task).
    pub version: String,
    /// The checks run before packaging, as for `cargo xtask test`.
    pub checks: TestOptions,
}

/// Options of `cargo xtask test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestOptions {
    /// Run `scripts/install-deps.sh` first.
    pub install: bool,
    /// Seconds per fuzz target; 0 skips the fuzz step.
    pub fuzz_seconds: u64,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            install: true,
            fuzz_seconds: DEFAULT_FUZZ_SECONDS,
        }
    }
}

/// Parses the arguments after `cargo xtask` (the program name already removed).
///
/// `--help` or `-h` anywhere asks for the usage text. Flags take their value either as the next argument or after `=` (`--seconds=5`).
pub fn parse_args<I>(args: I) -> Result<Invocation, Error>
where
    I: IntoIterator<Item = String>,
{
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        return Ok(Invocation {
            task: Task::Help,
            dry_run: false,
        });
    }
    let mut args = args.into_iter();
    let task_name = args.next().ok_or(Error::MissingTask)?;
    let mut flags = Flags::new(args);
    let mut dry_run = false;
    let task = match task_name.as_str() {
        "help" => Task::Help,
        "deps" => {
            flags.parse("deps", &mut dry_run, |_, _| Ok(false))?;
            Task::Deps
        }
        "soak" => {
            let mut long = false;
            flags.parse("soak", &mut dry_run, |flag, _| match flag {
                "--long" => {
                    long = true;
                    Ok(true)
                }
                _ => Ok(false),
            })?;
            Task::Soak { long }
        }
        "bench" => {
            let mut options = BenchOptions::default();
            flags.parse("bench", &mut dry_run, |flag, flags| match flag {
                "--quick" => {
                    options.quick = true;
                    Ok(true)
                }
                "--tmio" => {
                    options.tmio = Some(flags.value(flag)?);
                    Ok(true)
                }
                "--part" => {
                    let value = flags.value(flag)?;
                    let part = BenchPart::from_name(&value).ok_or(Error::InvalidValue {
                        flag: flag.to_owned(),
                        value,
                        expected: "criterion, peers, chain, latency, lossy or sessions",
                    })?;
                    if !options.parts.contains(&part) {
                        options.parts.push(part);
                    }
                    Ok(true)
                }
                _ => Ok(false),
            })?;
            Task::Bench(options)
        }
        "reliability" => {
            let mut fast = false;
            flags.parse("reliability", &mut dry_run, |flag, _| match flag {
                "--fast" => {
                    fast = true;
                    Ok(true)
                }
                _ => Ok(false),
            })?;
            Task::Reliability { fast }
        }
        "test" => {
            let mut options = TestOptions::default();
            flags.parse("test", &mut dry_run, |flag, flags| match flag {
                "--no-install" => {
                    options.install = false;
                    Ok(true)
                }
                "--fuzz-seconds" => {
                    options.fuzz_seconds = flags.number(flag, 0, SECONDS_AT_LEAST_ZERO)?;
                    Ok(true)
                }
                _ => Ok(false),
            })?;
            Task::Test(options)
        }
        "release" => {
            let mut checks = TestOptions::default();
            let mut version = None;
            flags.parse("release", &mut dry_run, |flag, flags| match flag {
                "--no-install" => {
                    checks.install = false;
                    Ok(true)
                }
                "--fuzz-seconds" => {
                    checks.fuzz_seconds = flags.number(flag, 0, SECONDS_AT_LEAST_ZERO)?;
                    Ok(true)
                }
                _ if !flag.starts_with('-') && version.is_none() => {
                    version = Some(flag.to_owned());
                    Ok(true)
                }
                _ => Ok(false),
            })?;
            let version = version.ok_or(Error::MissingArgument("release VERSION"))?;
            Task::Release(ReleaseOptions { version, checks })
        }
        "fuzz" => {
            let mut seconds = None;
            let mut runs = None;
            let mut target = None;
            let mut workers = 1;
            let mut build = FuzzBuild::default();
            flags.parse("fuzz", &mut dry_run, |flag, flags| match flag {
                "--no-sanitizer" => {
                    build = FuzzBuild::Checked;
                    Ok(true)
                }
                // libFuzzer reads -max_total_time=0 as "no limit": refuse 0 here.
                "--seconds" => {
                    seconds = Some(flags.number(flag, 1, SECONDS_AT_LEAST_ONE)?);
                    Ok(true)
                }
                // -runs=0 would run only the corpus, -runs=-1 forever: 1 or more.
                "--runs" => {
                    let value = flags.number(flag, 1, RUNS_AT_LEAST_ONE)?;
                    set_runs_once(&mut runs, flag, value)?;
                    Ok(true)
                }
                "--long" => {
                    set_runs_once(&mut runs, flag, LONG_FUZZ_RUNS)?;
                    Ok(true)
                }
                "--target" => {
                    target = Some(flags.value(flag)?);
                    Ok(true)
                }
                "--workers" => {
                    workers = flags.number(flag, 1, WORKERS_AT_LEAST_ONE)?;
                    if workers > MAX_FUZZ_WORKERS {
                        return Err(Error::InvalidValue {
                            flag: flag.to_owned(),
                            value: workers.to_string(),
                            expected: WORKERS_AT_LEAST_ONE,
                        });
                    }
                    Ok(true)
                }
                _ => Ok(false),
            })?;
            let budget = match (seconds, runs) {
                (None, None) => FuzzBudget::seconds(DEFAULT_FUZZ_SECONDS),
                (seconds, runs) => FuzzBudget {
                    seconds,
                    runs,
                    workers: 1,
                },
            }
            .with_workers(workers);
            Task::Fuzz {
                budget,
                target,
                build,
            }
        }
        _ => return Err(Error::UnknownTask(task_name)),
    };
    Ok(Invocation { task, dry_run })
}

const SECONDS_AT_LEAST_ZERO: &str = "a whole number of seconds (0 or more)";
const SECONDS_AT_LEAST_ONE: &str = "a whole number of seconds (1 or more)";
const RUNS_AT_LEAST_ONE: &str = "a whole number of executions (1 or more)";
const WORKERS_AT_LEAST_ONE: &str = "a whole number of libFuzzer processes (1 to 64)";
/// The most `--workers` accepted.
const MAX_FUZZ_WORKERS: u64 = 64;

/// `--runs` and `--long` both set the executions: only one of them, once.
fn set_runs_once(runs: &mut Option<u64>, flag: &str, value: u64) -> Result<(), Error> {
    if runs.is_some() {
        return Err(Error::InvalidValue {
            flag: flag.to_owned(),
            value: value.to_string(),
            expected: "one of --runs N and --long, once",
        });
    }
    *runs = Some(value);
    Ok(())
}

/// The remaining arguments of one task, with `--flag=value` split in two.
struct Flags<I: Iterator<Item = String>> {
    args: I,
    pending_value: Option<String>,
}

impl<I: Iterator<Item = String>> Flags<I> {
    fn new(args: I) -> Self {
        Flags {
            args,
            pending_value: None,
        }
    }

    /// Walks the flags; `task_flag` handles the task's own ones and returns whether it knew
    /// the flag. `--dry-run` is common to all tasks.
    fn parse<F>(
        &mut self,
        task: &'static str,
        dry_run: &mut bool,
        mut task_flag: F,
    ) -> Result<(), Error>
    where
        F: FnMut(&str, &mut Self) -> Result<bool, Error>,
    {
        while let Some(arg) = self.args.next() {
            let flag = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    self.pending_value = Some(value.to_owned());
                    flag.to_owned()
                }
                _ => arg,
            };
            let known = if flag == "--dry-run" {
                *dry_run = true;
                true
            } else {
                task_flag(&flag, self)?
            };
            if !known {
                return Err(Error::UnknownFlag { task, flag });
            }
            if let Some(value) = self.pending_value.take() {
                // `--dry-run=yes`, `--no-install=1`: a value on a flag that takes none.
                return Err(Error::InvalidValue {
                    flag,
                    value,
                    expected: "no value",
                });
            }
        }
        Ok(())
    }

    fn value(&mut self, flag: &str) -> Result<String, Error> {
        self.pending_value
            .take()
            .or_else(|| self.args.next())
            .ok_or_else(|| Error::MissingValue(flag.to_owned()))
    }

    /// A whole number of at least `minimum`; `expected` says what in the error.
    fn number(&mut self, flag: &str, minimum: u64, expected: &'static str) -> Result<u64, Error> {
        let value = self.value(flag)?;
        match value.parse::<u64>() {
            Ok(number) if number >= minimum => Ok(number),
            _ => Err(Error::InvalidValue {
                flag: flag.to_owned(),
                value,
                expected,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Invocation, Error> {
        parse_args(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn test_defaults_install_and_fuzz_thirty_seconds() {
        let invocation = parse(&["test"]).unwrap();
        assert_eq!(
            invocation,
            Invocation {
                task: Task::Test(TestOptions {
                    install: true,
                    fuzz_seconds: 30
                }),
                dry_run: false
            }
        );
    }

    #[test]
    fn test_accepts_all_its_flags_in_any_order() {
        let invocation =
            parse(&["test", "--fuzz-seconds", "5", "--dry-run", "--no-install"]).unwrap();
        assert!(invocation.dry_run);
        assert_eq!(
            invocation.task,
            Task::Test(TestOptions {
                install: false,
                fuzz_seconds: 5
            })
        );
    }

    #[test]
    fn flag_values_may_follow_an_equals_sign() {
        let invocation = parse(&["test", "--fuzz-seconds=7"]).unwrap();
        assert_eq!(
            invocation.task,
            Task::Test(TestOptions {
                install: true,
                fuzz_seconds: 7
            })
        );
        let invocation = parse(&["fuzz", "--target=stream_id", "--seconds=3"]).unwrap();
        assert_eq!(
            invocation.task,
            Task::Fuzz {
                budget: FuzzBudget::seconds(3),
                target: Some("stream_id".to_owned()),
                build: FuzzBuild::AddressSanitizer
            }
        );
    }

    #[test]
    fn zero_fuzz_seconds_skips_fuzzing_in_test_but_is_refused_by_fuzz() {
        let invocation = parse(&["test", "--fuzz-seconds", "0"]).unwrap();
        assert_eq!(
            invocation.task,
            Task::Test(TestOptions {
                install: true,
                fuzz_seconds: 0
            })
        );
        let error = parse(&["fuzz", "--seconds", "0"]).unwrap_err();
        assert!(
            matches!(&error, Error::InvalidValue { flag, value, .. } if flag == "--seconds" && value == "0"),
            "{error:?}"
        );
    }

    #[test]
    fn fuzz_defaults_to_every_target_for_thirty_seconds() {
        let invocation = parse(&["fuzz"]).unwrap();
        assert_eq!(
            invocation.task,
            Task::Fuzz {
                budget: FuzzBudget::seconds(30),
                target: None,
                build: FuzzBuild::AddressSanitizer
            }
        );
        assert!(!invocation.dry_run);
    }

    #[test]
    fn no_sanitizer_selects_the_checked_build() {
        assert_eq!(
            parse(&["fuzz", "--long", "--no-sanitizer"]).unwrap().task,
            Task::Fuzz {
                budget: FuzzBudget::runs(10_000_000),
                target: None,
                build: FuzzBuild::Checked
            }
        );
        assert_eq!(
            FuzzBuild::Checked.cargo_fuzz_flags(),
            ["--sanitizer", "none", "--debug-assertions"]
        );
        assert!(FuzzBuild::AddressSanitizer.cargo_fuzz_flags().is_empty());
    }

    #[test]
    fn fuzz_workers_share_the_long_run() {
        assert_eq!(
            parse(&[
                "fuzz",
                "--long",
                "--workers",
                "2",
                "--target",
                "group_listener"
            ])
            .unwrap()
            .task,
            Task::Fuzz {
                budget: FuzzBudget::runs(10_000_000).with_workers(2),
                target: Some("group_listener".to_owned()),
                build: FuzzBuild::AddressSanitizer
            }
        );
        assert_eq!(
            FuzzBudget::runs(10_000_001)
                .with_workers(2)
                .libfuzzer_flags(),
            ["-runs=5000001", "-jobs=2", "-workers=2"]
        );
        for bad in ["0", "65", "two"] {
            let error = parse(&["fuzz", "--workers", bad]).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidValue { flag, value, .. } if flag == "--workers" && value == bad),
                "{error:?}"
            );
        }
    }

    #[test]
    fn fuzz_runs_and_long_count_executions_without_a_time_limit() {
        assert_eq!(
            parse(&["fuzz", "--runs", "1000"]).unwrap().task,
            Task::Fuzz {
                budget: FuzzBudget::runs(1000),
                target: None,
                build: FuzzBuild::AddressSanitizer
            }
        );
        assert_eq!(
            parse(&["fuzz", "--long", "--target", "stream_id"])
                .unwrap()
                .task,
            Task::Fuzz {
                budget: FuzzBudget::runs(10_000_000),
                target: Some("stream_id".to_owned()),
                build: FuzzBuild::AddressSanitizer
            }
        );
        // With --seconds too, whichever comes first.
        let budget = FuzzBudget {
            seconds: Some(600),
            runs: Some(10_000_000),
            workers: 1,
        };
        assert_eq!(
            parse(&["fuzz", "--seconds=600", "--long"]).unwrap().task,
            Task::Fuzz {
                budget,
                target: None,
                build: FuzzBuild::AddressSanitizer
            }
        );
        assert_eq!(
            budget.libfuzzer_flags(),
            ["-max_total_time=600", "-runs=10000000"]
        );
        assert_eq!(
            FuzzBudget::seconds(45).libfuzzer_flags(),
            ["-max_total_time=45"]
        );
    }

    #[test]
    fn fuzz_runs_must_be_positive_and_given_once() {
        for bad in ["0", "-1", "many", ""] {
            let error = parse(&["fuzz", "--runs", bad]).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidValue { flag, value, .. } if flag == "--runs" && value == bad),
                "{bad}: {error:?}"
            );
        }
        let error = parse(&["fuzz", "--runs", "5", "--long"]).unwrap_err();
        assert!(
            matches!(&error, Error::InvalidValue { flag, .. } if flag == "--long"),
            "{error:?}"
        );
        let error = parse(&["fuzz", "--long=yes"]).unwrap_err();
        assert!(
            matches!(&error, Error::InvalidValue { flag, value, .. } if flag == "--long" && value == "yes"),
            "{error:?}"
        );
        let error = parse(&["test", "--long"]).unwrap_err();
        assert!(
            matches!(&error, Error::UnknownFlag { task: "test", .. }),
            "{error:?}"
        );
    }

    #[test]
    fn every_task_accepts_dry_run() {
        for task in ["deps", "test", "fuzz", "soak", "bench"] {
            let invocation = parse(&[task, "--dry-run"]).unwrap();
            assert!(invocation.dry_run, "{task}");
        }
    }

    #[test]
    fn simple_tasks_parse_to_their_variant() {
        assert_eq!(parse(&["deps"]).unwrap().task, Task::Deps);
        assert_eq!(parse(&["soak"]).unwrap().task, Task::Soak { long: false });
        assert_eq!(
            parse(&["soak", "--long"]).unwrap().task,
            Task::Soak { long: true }
        );
        assert_eq!(
            parse(&["reliability"]).unwrap().task,
            Task::Reliability { fast: false }
        );
        assert_eq!(
            parse(&["reliability", "--fast"]).unwrap().task,
            Task::Reliability { fast: true }
        );
        assert_eq!(
            parse(&["bench"]).unwrap().task,
            Task::Bench(BenchOptions::default())
        );
        assert_eq!(parse(&["help"]).unwrap().task, Task::Help);
        assert_eq!(parse(&["--help"]).unwrap().task, Task::Help);
    }

    #[test]
    fn bench_takes_parts_quick_and_a_tmio_binary() {
        let invocation = parse(&[
            "bench",
            "--part",
            "latency",
            "--quick",
            "--part=sessions",
            "--tmio",
            "/x/tmio",
        ])
        .unwrap();
        assert_eq!(
            invocation.task,
            Task::Bench(BenchOptions {
                parts: vec![BenchPart::Latency, BenchPart::Sessions],
                quick: true,
                tmio: Some("/x/tmio".into()),
            })
        );
        assert!(matches!(
            parse(&["bench", "--part", "everything"]),
            Err(Error::InvalidValue { .. })
        ));
    }

    #[test]
    fn help_anywhere_prints_the_usage() {
        for args in [
            &["test", "--help"][..],
            &["fuzz", "-h"],
            &["-h"],
            &["nope", "--help"],
        ] {
            assert_eq!(parse(args).unwrap().task, Task::Help, "{args:?}");
        }
    }

    #[test]
    fn missing_task_is_an_error() {
        assert!(matches!(parse(&[]), Err(Error::MissingTask)));
    }

    #[test]
    fn unknown_task_is_named_in_the_error() {
        let error = parse(&["tset"]).unwrap_err();
        assert!(matches!(&error, Error::UnknownTask(task) if task == "tset"));
        assert_eq!(error.to_string(), "unknown task `tset`");
    }

    #[test]
    fn flags_of_other_tasks_are_refused() {
        let error = parse(&["soak", "--seconds", "5"]).unwrap_err();
        assert!(
            matches!(&error, Error::UnknownFlag { task: "soak", flag } if flag == "--seconds"),
            "{error:?}"
        );
        let error = parse(&["fuzz", "--no-install"]).unwrap_err();
        assert!(
            matches!(&error, Error::UnknownFlag { task: "fuzz", .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_flag_without_its_value_is_an_error() {
        let error = parse(&["fuzz", "--target"]).unwrap_err();
        assert!(matches!(&error, Error::MissingValue(flag) if flag == "--target"));
        let error = parse(&["test", "--fuzz-seconds"]).unwrap_err();
        assert!(matches!(&error, Error::MissingValue(flag) if flag == "--fuzz-seconds"));
    }

    #[test]
    fn non_numeric_seconds_are_refused_with_the_value() {
        for bad in ["five", "-1", "1.5", ""] {
            let error = parse(&["test", "--fuzz-seconds", bad]).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidValue { value, .. } if value == bad),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn release_takes_a_version_and_the_test_flags() {
        let invocation = parse(&[
            "release",
            "--dry-run",
            "0.2.0",
            "--no-install",
            "--fuzz-seconds=0",
        ])
        .unwrap();
        assert!(invocation.dry_run);
        assert_eq!(
            invocation.task,
            Task::Release(ReleaseOptions {
                version: "0.2.0".to_owned(),
                checks: TestOptions {
                    install: false,
                    fuzz_seconds: 0
                }
            })
        );
        let error = parse(&["release", "--dry-run"]).unwrap_err();
        assert!(matches!(error, Error::MissingArgument("release VERSION")));
        assert_eq!(error.to_string(), "missing release VERSION");
        let error = parse(&["release", "0.2.0", "0.3.0"]).unwrap_err();
        assert!(
            matches!(&error, Error::UnknownFlag { task: "release", flag } if flag == "0.3.0"),
            "{error:?}"
        );
    }

    #[test]
    fn a_value_on_a_switch_is_refused() {
        let error = parse(&["deps", "--dry-run=yes"]).unwrap_err();
        assert!(
            matches!(&error, Error::InvalidValue { flag, value, .. } if flag == "--dry-run" && value == "yes"),
            "{error:?}"
        );
    }
}
