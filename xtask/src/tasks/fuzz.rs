//! `cargo xtask fuzz`: every cargo-fuzz target in `fuzz/`, seeded from `fuzz/seeds/<target>/`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::cli::{FuzzBudget, FuzzBuild};
use crate::libfuzzer::FuzzLog;
use crate::shell::{Cmd, Shell};
use crate::Error;

/// The cargo-fuzz project, relative to the workspace root.
pub const FUZZ_DIR: &str = "fuzz";

/// The result of fuzzing one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzReport {
    /// The fuzz target.
    pub target: String,
    /// Inputs libFuzzer executed (`None` in dry-run mode, or if libFuzzer did not say).
    pub executions: Option<u64>,
    /// Wall-clock time of its libFuzzer run (the build is a step of its own).
    pub elapsed: Duration,
    /// libFuzzer's average executions per second, over its run time only (`None` in dry-run
    /// mode, or if libFuzzer did not say).
    pub exec_per_second: Option<u64>,
    /// Files in `fuzz/corpus/<target>/` after the run (`None` in dry-run mode).
    pub corpus_files: Option<u64>,
}

/// Fuzzes every target (or only `only`), built as `build`, each until `budget` runs out, and
/// prints a table of executions. The targets are built once first; then, with one libFuzzer
/// process per target, as many targets run side by side as the machine has CPUs (each its own
/// CPU for the whole budget; their output is printed as each ends), else one after the other
/// with the output as it comes. Stops after the first target that crashes (and whatever ran
/// beside it).
pub fn run(
    shell: &Shell,
    budget: FuzzBudget,
    only: Option<&str>,
    build: FuzzBuild,
) -> Result<Vec<FuzzReport>, Error> {
    let mut targets = list_targets(shell)?;
    if let Some(name) = only {
        if !targets.iter().any(|target| target == name) {
            return Err(Error::UnknownFuzzTarget {
                name: name.to_owned(),
                available: targets,
            });
        }
        targets = vec![name.to_owned()];
    }
    for target in &targets {
        copy_seeds(shell, target)?;
    }
    // cargo-fuzz passes nightly-only flags (-Zsanitizer); RUSTC_BOOTSTRAP=1 lets stable accept them.
    // Every target, or the one asked for.
    shell.run(
        &Cmd::cargo()
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "build"])
            .args(build.cargo_fuzz_flags().iter().copied())
            .args(only),
    )?;
    let side_by_side = targets_side_by_side(budget, targets.len());
    let mut reports = Vec::with_capacity(targets.len());
    for group in targets.chunks(side_by_side) {
        let outcome = if group.len() == 1 {
            fuzz_target(shell, &group[0], budget, build)
                .map(|report| vec![report])
                .map_err(|error| (Vec::new(), error))
        } else {
            fuzz_side_by_side(shell, group, budget, build)
        };
        match outcome {
            Ok(done) => reports.extend(done),
            Err((done, error)) => {
                reports.extend(done);
                // Show what the targets that ended well did.
                if !reports.is_empty() {
                    println!("\n{}", report_table(&reports));
                }
                return Err(error);
            }
        }
    }
    if !shell.is_dry_run() {
        println!("\n{}", report_table(&reports));
    }
    Ok(reports)
}

/// How many targets run at once: one per CPU when each target has one libFuzzer process (with
/// `-workers`, one target already takes several CPUs).
fn targets_side_by_side(budget: FuzzBudget, targets: usize) -> usize {
    if budget.workers > 1 {
        return 1;
    }
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    cpus.min(targets).max(1)
}

/// The targets `cargo fuzz list` prints (run inside `fuzz/`). In dry-run mode the command is
/// only printed and the targets are read from the file names in `fuzz/fuzz_targets/`.
pub fn list_targets(shell: &Shell) -> Result<Vec<String>, Error> {
    let fuzz_dir = shell.root().join(FUZZ_DIR);
    if !fuzz_dir.join("Cargo.toml").is_file() {
        return Err(Error::NoFuzzTargets(PathBuf::from(FUZZ_DIR)));
    }
    let listed = shell.read_stdout(&Cmd::cargo().args(["fuzz", "list"]).current_dir(FUZZ_DIR))?;
    let targets = match listed {
        Some(stdout) => parse_target_list(&stdout),
        None => target_sources(&fuzz_dir.join("fuzz_targets"))?,
    };
    if targets.is_empty() {
        return Err(Error::NoFuzzTargets(PathBuf::from(FUZZ_DIR)));
    }
    Ok(targets)
}

/// One target name per non-empty line.
pub fn parse_target_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `fuzz_targets/*.rs` file stems, sorted (what `cargo fuzz add` creates; dry-run only).
fn target_sources(dir: &Path) -> Result<Vec<String>, Error> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(io_error(format!("listing {}", dir.display()), source)),
    };
    let mut targets = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| io_error(format!("listing {}", dir.display()), source))?
            .path();
        if path.extension().is_some_and(|extension| extension == "rs") {
            if let Some(stem) = path.file_stem() {
                targets.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    targets.sort();
    Ok(targets)
}

/// The command that fuzzes `target` until `budget` runs out.
fn fuzz_command(target: &str, budget: FuzzBudget, build: FuzzBuild) -> Cmd {
    let corpus = format!("{FUZZ_DIR}/corpus/{target}");
    Cmd::cargo()
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run"])
        .args(build.cargo_fuzz_flags().iter().copied())
        .args([target, corpus.as_str(), "--"])
        .args(budget.libfuzzer_flags())
        .arg("-print_final_stats=1")
}

/// Runs libFuzzer on `target` until `budget` runs out, its output shown as it comes.
fn fuzz_target(
    shell: &Shell,
    target: &str,
    budget: FuzzBudget,
    build: FuzzBuild,
) -> Result<FuzzReport, Error> {
    let worker_logs = worker_logs(shell, budget.workers);
    for path in &worker_logs {
        // A stale log would be summed with this run's.
        if let Err(source) = fs::remove_file(path) {
            if source.kind() != std::io::ErrorKind::NotFound {
                return Err(io_error(format!("removing {}", path.display()), source));
            }
        }
    }
    let mut log = FuzzLog::default();
    let started = Instant::now();
    let status = shell.run_watching_stderr(&fuzz_command(target, budget, build), |line| {
        log.feed_line(line)
    })?;
    finish(shell, target, status, &log, &worker_logs, started.elapsed())
}

/// Runs libFuzzer on each of `targets` at once, until `budget` runs out; prints each one's
/// output when it ends. On a failure, returns the reports of the targets that ended well too.
fn fuzz_side_by_side(
    shell: &Shell,
    targets: &[String],
    budget: FuzzBudget,
    build: FuzzBuild,
) -> Result<Vec<FuzzReport>, (Vec<FuzzReport>, Error)> {
    let started = Instant::now();
    let mut running = Vec::with_capacity(targets.len());
    for target in targets {
        // On an error the ones already started are killed as `running` is dropped.
        let child = shell
            .spawn_capturing_stderr(&fuzz_command(target, budget, build))
            .map_err(|error| (Vec::new(), error))?;
        running.push((target, child));
    }
    let mut reports = Vec::with_capacity(targets.len());
    let mut first_error = None;
    for (target, child) in running {
        let outcome = match child {
            None => finish(
                shell,
                target,
                None,
                &FuzzLog::default(),
                &[],
                started.elapsed(),
            ),
            Some(child) => child.wait().and_then(|(status, lines)| {
                let mut log = FuzzLog::default();
                eprintln!("xtask: output of fuzz target {target}:");
                for line in &lines {
                    eprintln!("{line}");
                    log.feed_line(line);
                }
                finish(shell, target, Some(status), &log, &[], started.elapsed())
            }),
        };
        match outcome {
            Ok(report) => reports.push(report),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        None => Ok(reports),
        Some(error) => Err((reports, error)),
    }
}

/// The report of a libFuzzer run that ended with `status` (`None`: dry run), or its failure.
fn finish(
    shell: &Shell,
    target: &str,
    status: Option<ExitStatus>,
    log: &FuzzLog,
    worker_logs: &[PathBuf],
    elapsed: Duration,
) -> Result<FuzzReport, Error> {
    if let Some(status) = status.filter(|status| !status.success()) {
        return Err(Error::FuzzFailed {
            target: target.to_owned(),
            status,
            artifact: log.artifact().map(str::to_owned),
        });
    }
    let (executions, exec_per_second) = if worker_logs.is_empty() {
        (log.executions(), log.exec_per_second())
    } else {
        sum_worker_logs(target, worker_logs)?
    };
    Ok(FuzzReport {
        target: target.to_owned(),
        executions,
        elapsed,
        exec_per_second,
        corpus_files: count_corpus_files(shell, &format!("{FUZZ_DIR}/corpus/{target}"))?,
    })
}

/// Where libFuzzer's `-jobs` workers write their output: `fuzz-N.log` in the directory it runs
/// in (the workspace root). None for one worker, and none in dry-run mode.
fn worker_logs(shell: &Shell, workers: u64) -> Vec<PathBuf> {
    if workers <= 1 || shell.is_dry_run() {
        return Vec::new();
    }
    (0..workers)
        .map(|worker| shell.root().join(format!("fuzz-{worker}.log")))
        .collect()
}

/// Executions and executions per second summed over the workers' logs; a worker that saved an
/// input or printed no final statistics is a failure.
fn sum_worker_logs(target: &str, logs: &[PathBuf]) -> Result<(Option<u64>, Option<u64>), Error> {
    let (mut executions, mut per_second) = (0, 0);
    for path in logs {
        let text = fs::read_to_string(path)
            .map_err(|source| io_error(format!("reading {}", path.display()), source))?;
        let mut log = FuzzLog::default();
        log.feed_text(&text);
        match (log.artifact(), log.executions()) {
            (None, Some(count)) => {
                executions += count;
                per_second += log.exec_per_second().unwrap_or(0);
            }
            (artifact, _) => {
                return Err(Error::FuzzWorkerFailed {
                    target: target.to_owned(),
                    log: path.clone(),
                    artifact: artifact.map(str::to_owned),
                })
            }
        }
    }
    Ok((Some(executions), Some(per_second)))
}

/// Files in the corpus directory `corpus` (relative to the root); `None` in dry-run mode.
fn count_corpus_files(shell: &Shell, corpus: &str) -> Result<Option<u64>, Error> {
    if shell.is_dry_run() {
        return Ok(None);
    }
    let dir = shell.root().join(corpus);
    let entries = fs::read_dir(&dir)
        .map_err(|source| io_error(format!("listing {}", dir.display()), source))?;
    let mut files = 0;
    for entry in entries {
        let entry =
            entry.map_err(|source| io_error(format!("listing {}", dir.display()), source))?;
        let is_file = entry
            .file_type()
            .map_err(|source| io_error(format!("reading {}", entry.path().display()), source))?
            .is_file();
        if is_file {
            files += 1;
        }
    }
    Ok(Some(files))
}

/// Copies the files of `fuzz/seeds/<target>/` into `fuzz/corpus/<target>/` (created if needed;
/// files already there are kept). Returns how many files were copied.
pub fn copy_seeds(shell: &Shell, target: &str) -> Result<usize, Error> {
    let seeds_relative = format!("{FUZZ_DIR}/seeds/{target}");
    let corpus_relative = format!("{FUZZ_DIR}/corpus/{target}");
    shell.announce(&format!(
        "mkdir -p {corpus_relative} && cp {seeds_relative}/* {corpus_relative}/"
    ));
    if shell.is_dry_run() {
        return Ok(0);
    }
    let corpus = shell.root().join(&corpus_relative);
    let seeds = shell.root().join(&seeds_relative);
    fs::create_dir_all(&corpus)
        .map_err(|source| io_error(format!("creating {}", corpus.display()), source))?;
    let entries = match fs::read_dir(&seeds) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "xtask: {seeds_relative}/ does not exist: {target} starts from its corpus only"
            );
            return Ok(0);
        }
        Err(source) => return Err(io_error(format!("listing {}", seeds.display()), source)),
    };
    let mut copied = 0;
    for entry in entries {
        let entry =
            entry.map_err(|source| io_error(format!("listing {}", seeds.display()), source))?;
        let is_file = entry
            .file_type()
            .map_err(|source| io_error(format!("reading {}", entry.path().display()), source))?
            .is_file();
        if is_file {
            let destination = corpus.join(entry.file_name());
            fs::copy(entry.path(), &destination).map_err(|source| {
                io_error(
                    format!(
                        "copying {} to {}",
                        entry.path().display(),
                        destination.display()
                    ),
                    source,
                )
            })?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// `target  executions  seconds  exec/s  corpus`, one line per target: seconds of wall-clock
/// time of its libFuzzer run (side by side: until it was seen to end), executions per second as
/// libFuzzer counts them (its run time only).
pub fn report_table(reports: &[FuzzReport]) -> String {
    let width = reports
        .iter()
        .map(|report| report.target.len())
        .chain(["fuzz target".len()])
        .max()
        .unwrap_or(11);
    let mut table = format!(
        "{:<width$}  {:>12}  {:>8}  {:>8}  {:>8}\n",
        "fuzz target", "executions", "seconds", "exec/s", "corpus"
    );
    for report in reports {
        let seconds = report.elapsed.as_secs_f64();
        let executions = report
            .executions
            .map_or_else(|| "unknown".to_owned(), |runs| runs.to_string());
        let per_second = report
            .exec_per_second
            .map_or_else(|| "unknown".to_owned(), |rate| rate.to_string());
        let corpus = report
            .corpus_files
            .map_or_else(|| "unknown".to_owned(), |files| files.to_string());
        // Writing to a String cannot fail.
        let _ = writeln!(
            table,
            "{:<width$}  {executions:>12}  {seconds:>8.1}  {per_second:>8}  {corpus:>8}",
            report.target,
        );
    }
    table
}

/// A one-line note for the `cargo xtask test` summary: `url_roundtrip 2714938 runs, …`.
pub fn summary_note(reports: &[FuzzReport]) -> String {
    reports
        .iter()
        .map(|report| match report.executions {
            Some(runs) => format!("{} {runs} runs", report.target),
            None => report.target.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn io_error(context: String, source: std::io::Error) -> Error {
    Error::Io { context, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::scratch::ScratchDir;

    fn fuzz_project(targets: &[&str]) -> ScratchDir {
        let root = ScratchDir::new();
        root.write("fuzz/Cargo.toml", "[package]\nname = \"fuzz\"\n");
        for target in targets {
            root.write(&format!("fuzz/fuzz_targets/{target}.rs"), "");
        }
        root
    }

    #[test]
    fn without_a_fuzz_project_fuzzing_fails_clearly_even_in_dry_run() {
        let root = ScratchDir::new();
        for dry_run in [true, false] {
            let shell = Shell::new(root.path(), dry_run);
            let error = run(
                &shell,
                FuzzBudget::seconds(5),
                None,
                FuzzBuild::AddressSanitizer,
            )
            .unwrap_err();
            assert!(matches!(error, Error::NoFuzzTargets(_)), "{error:?}");
            assert_eq!(
                error.to_string(),
                "no fuzz targets found in fuzz/ (expected a cargo-fuzz project there)"
            );
        }
    }

    #[test]
    fn a_fuzz_project_without_targets_fails_clearly() {
        let root = fuzz_project(&[]);
        let shell = Shell::new(root.path(), true);
        let error = run(
            &shell,
            FuzzBudget::seconds(5),
            None,
            FuzzBuild::AddressSanitizer,
        )
        .unwrap_err();
        assert!(matches!(error, Error::NoFuzzTargets(_)), "{error:?}");
    }

    #[test]
    fn dry_run_lists_seeds_builds_once_then_runs_every_target() {
        let root = fuzz_project(&["url_roundtrip", "stream_id"]);
        let shell = Shell::new(root.path(), true);
        let reports = run(
            &shell,
            FuzzBudget::seconds(5),
            None,
            FuzzBuild::AddressSanitizer,
        )
        .unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(
            shell.planned(),
            [
                "(cd fuzz && cargo fuzz list)",
                "mkdir -p fuzz/corpus/stream_id && cp fuzz/seeds/stream_id/* fuzz/corpus/stream_id/",
                "mkdir -p fuzz/corpus/url_roundtrip && cp fuzz/seeds/url_roundtrip/* fuzz/corpus/url_roundtrip/",
                "RUSTC_BOOTSTRAP=1 cargo fuzz build",
                "RUSTC_BOOTSTRAP=1 cargo fuzz run stream_id fuzz/corpus/stream_id -- -max_total_time=5 -print_final_stats=1",
                "RUSTC_BOOTSTRAP=1 cargo fuzz run url_roundtrip fuzz/corpus/url_roundtrip -- -max_total_time=5 -print_final_stats=1",
            ]
        );
        // Nothing was copied or created.
        assert!(!root.path().join("fuzz/corpus").exists());
    }

    #[test]
    fn the_long_run_plans_ten_million_executions_per_target() {
        let root = fuzz_project(&["url_roundtrip", "stream_id"]);
        let shell = Shell::new(root.path(), true);
        let reports = run(
            &shell,
            FuzzBudget::runs(10_000_000),
            None,
            FuzzBuild::AddressSanitizer,
        )
        .unwrap();
        assert_eq!(reports.len(), 2);
        assert!(reports
            .iter()
            .all(|report| report.corpus_files.is_none() && report.exec_per_second.is_none()));
        assert_eq!(
            shell.planned(),
            [
                "(cd fuzz && cargo fuzz list)",
                "mkdir -p fuzz/corpus/stream_id && cp fuzz/seeds/stream_id/* fuzz/corpus/stream_id/",
                "mkdir -p fuzz/corpus/url_roundtrip && cp fuzz/seeds/url_roundtrip/* fuzz/corpus/url_roundtrip/",
                "RUSTC_BOOTSTRAP=1 cargo fuzz build",
                "RUSTC_BOOTSTRAP=1 cargo fuzz run stream_id fuzz/corpus/stream_id -- -runs=10000000 -print_final_stats=1",
                "RUSTC_BOOTSTRAP=1 cargo fuzz run url_roundtrip fuzz/corpus/url_roundtrip -- -runs=10000000 -print_final_stats=1",
            ]
        );
        // Both limits: whichever comes first.
        let budget = FuzzBudget {
            seconds: Some(600),
            runs: Some(1000),
            workers: 1,
        };
        assert_eq!(
            planned_stream_id_run(budget, FuzzBuild::AddressSanitizer).as_deref(),
            Some("RUSTC_BOOTSTRAP=1 cargo fuzz run stream_id fuzz/corpus/stream_id -- -max_total_time=600 -runs=1000 -print_final_stats=1")
        );
    }

    /// The last command a dry run of `stream_id` with `budget`, built as `build`, would run.
    fn planned_stream_id_run(budget: FuzzBudget, build: FuzzBuild) -> Option<String> {
        let root = fuzz_project(&["stream_id"]);
        let shell = Shell::new(root.path(), true);
        run(&shell, budget, Some("stream_id"), build).unwrap();
        shell.planned().last().cloned()
    }

    #[test]
    fn the_checked_build_runs_without_a_sanitizer_and_with_debug_assertions() {
        assert_eq!(
            planned_stream_id_run(
                FuzzBudget::runs(10_000_000).with_workers(2),
                FuzzBuild::Checked
            )
            .as_deref(),
            Some("RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none --debug-assertions stream_id fuzz/corpus/stream_id -- -runs=5000000 -jobs=2 -workers=2 -print_final_stats=1")
        );
    }

    #[test]
    fn workers_split_the_executions_and_their_logs_are_summed() {
        assert_eq!(
            planned_stream_id_run(
                FuzzBudget::runs(10_000_000).with_workers(2),
                FuzzBuild::AddressSanitizer
            )
            .as_deref(),
            Some("RUSTC_BOOTSTRAP=1 cargo fuzz run stream_id fuzz/corpus/stream_id -- -runs=5000000 -jobs=2 -workers=2 -print_final_stats=1")
        );
        let dir = ScratchDir::new();
        let clean = |n: u64, rate: u64| {
            format!("#{n}\tDONE   cov: 1 ft: 1 corp: 1/1b exec/s: {rate}\nDone {n} runs in 1 second(s)\nstat::number_of_executed_units: {n}\nstat::average_exec_per_sec:     {rate}\n")
        };
        let logs = [dir.path().join("fuzz-0.log"), dir.path().join("fuzz-1.log")];
        fs::write(&logs[0], clean(5_000_000, 460)).unwrap();
        fs::write(&logs[1], clean(5_000_001, 455)).unwrap();
        assert_eq!(
            sum_worker_logs("stream_id", &logs).unwrap(),
            (Some(10_000_001), Some(915))
        );
        // A worker that found something fails the run, naming its log and the input.
        fs::write(
            &logs[1],
            "==1== ERROR: libFuzzer: deadly signal\nartifact_prefix='a/'; Test unit written to a/crash-1\n",
        )
        .unwrap();
        let error = sum_worker_logs("stream_id", &logs).unwrap_err();
        assert!(
            matches!(&error, Error::FuzzWorkerFailed { artifact: Some(a), log, .. } if a == "a/crash-1" && log == &logs[1]),
            "{error:?}"
        );
        // So does one that ended without its statistics (killed).
        fs::write(&logs[1], "#1000\tNEW cov: 1\n").unwrap();
        assert!(matches!(
            sum_worker_logs("stream_id", &logs),
            Err(Error::FuzzWorkerFailed { artifact: None, .. })
        ));
    }

    #[test]
    fn targets_run_side_by_side_one_per_cpu_unless_each_has_workers() {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        assert_eq!(
            targets_side_by_side(FuzzBudget::seconds(30), 6),
            cpus.min(6)
        );
        assert_eq!(targets_side_by_side(FuzzBudget::seconds(30), 1), 1);
        assert_eq!(
            targets_side_by_side(FuzzBudget::seconds(30).with_workers(2), 6),
            1
        );
        assert_eq!(targets_side_by_side(FuzzBudget::runs(10), 0), 1);
    }

    #[test]
    fn one_target_can_be_chosen() {
        let root = fuzz_project(&["url_roundtrip", "stream_id"]);
        let shell = Shell::new(root.path(), true);
        let reports = run(
            &shell,
            FuzzBudget::seconds(9),
            Some("url_roundtrip"),
            FuzzBuild::AddressSanitizer,
        )
        .unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].target, "url_roundtrip");
        assert!(shell
            .planned()
            .contains(&"RUSTC_BOOTSTRAP=1 cargo fuzz build url_roundtrip".to_owned()));
        assert!(shell
            .planned()
            .iter()
            .all(|line| !line.contains("stream_id")));
    }

    #[test]
    fn an_unknown_target_is_refused_with_the_list() {
        let root = fuzz_project(&["url_roundtrip", "stream_id"]);
        let shell = Shell::new(root.path(), true);
        let error = run(
            &shell,
            FuzzBudget::seconds(5),
            Some("nope"),
            FuzzBuild::AddressSanitizer,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "no fuzz target named `nope` (available: stream_id, url_roundtrip)"
        );
    }

    #[test]
    fn seeds_are_copied_into_the_corpus_keeping_what_is_there() {
        let root = fuzz_project(&["stream_id"]);
        root.write("fuzz/seeds/stream_id/plain", "#!::r=live/x");
        root.write("fuzz/seeds/stream_id/user", "#!::u=bob,r=a");
        root.write("fuzz/seeds/stream_id/subdir/ignored", "x");
        root.write("fuzz/corpus/stream_id/found-earlier", "abc");
        let shell = Shell::new(root.path(), false);
        assert_eq!(copy_seeds(&shell, "stream_id").unwrap(), 2);
        let corpus = root.path().join("fuzz/corpus/stream_id");
        let mut names: Vec<_> = fs::read_dir(&corpus)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["found-earlier", "plain", "user"]);
        assert_eq!(
            fs::read_to_string(corpus.join("plain")).unwrap(),
            "#!::r=live/x"
        );
    }

    #[test]
    fn missing_seeds_still_create_the_corpus_directory() {
        let root = fuzz_project(&["stream_id"]);
        let shell = Shell::new(root.path(), false);
        assert_eq!(copy_seeds(&shell, "stream_id").unwrap(), 0);
        assert!(root.path().join("fuzz/corpus/stream_id").is_dir());
    }

    #[test]
    fn cargo_fuzz_list_output_is_one_target_per_line() {
        assert_eq!(
            parse_target_list("url_roundtrip\nstream_id\n\n"),
            ["url_roundtrip", "stream_id"]
        );
        assert!(parse_target_list("").is_empty());
    }

    #[test]
    fn tables_show_executions_per_target() {
        let reports = [
            FuzzReport {
                target: "url_roundtrip".to_owned(),
                executions: Some(2_714_938),
                elapsed: Duration::from_secs(61),
                exec_per_second: Some(44_507),
                corpus_files: Some(8_043),
            },
            FuzzReport {
                target: "stream_id".to_owned(),
                executions: None,
                elapsed: Duration::from_secs(60),
                exec_per_second: None,
                corpus_files: None,
            },
        ];
        let table = report_table(&reports);
        let lines: Vec<_> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[1].starts_with("url_roundtrip"), "{table}");
        assert!(lines[1].contains("2714938"), "{table}");
        assert!(lines[1].contains(" 44507 "), "{table}");
        assert!(lines[1].ends_with(" 8043"), "{table}");
        assert!(lines[2].contains("unknown"), "{table}");
        assert_eq!(
            summary_note(&reports),
            "url_roundtrip 2714938 runs, stream_id"
        );
    }
}
