//! `cargo xtask test`: the one test command of the README and of CI.

use crate::cli::{FuzzBudget, FuzzBuild, TestOptions};
use crate::shell::{Cmd, Shell};
use crate::summary::Summary;
use crate::tasks::{deps, fuzz};
use crate::Error;

/// Runs deps, fmt, clippy, the workspace tests and the fuzzers, stopping at the first failing
/// step, then prints the summary table (also after a failure).
pub fn run(shell: &Shell, options: &TestOptions) -> Result<(), Error> {
    let mut summary = Summary::new();
    let result = run_steps(shell, options, &mut summary);
    println!("\n{summary}");
    // A failure is reported once, by `main`.
    match &result {
        Ok(()) if shell.is_dry_run() => println!("xtask test: dry run, nothing was run"),
        Ok(()) => println!("xtask test: all steps passed"),
        Err(_) => {}
    }
    result
}

/// The steps, in order; after a failure the remaining ones are recorded as not run.
pub fn run_steps(shell: &Shell, options: &TestOptions, summary: &mut Summary) -> Result<(), Error> {
    let dry_run = shell.is_dry_run();
    let no_note = |result: Result<(), Error>| result.map(|()| String::new());
    let mut outcomes = Vec::new();

    if options.install {
        outcomes.push(summary.step("deps", dry_run, || no_note(deps::run(shell))));
    } else {
        summary.skip("deps", "--no-install");
    }
    outcomes.push(summary.step("fmt", dry_run, || {
        no_note(shell.run(&Cmd::cargo().args(["fmt", "--all", "--", "--check"])))
    }));
    outcomes.push(summary.step("clippy", dry_run, || {
        no_note(shell.run(&Cmd::cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])))
    }));
    // Unit, integration and doc tests; #[ignore]d soak tests are left to `cargo xtask soak`.
    outcomes.push(summary.step("test", dry_run, || {
        no_note(shell.run(&Cmd::cargo().args(["test", "--workspace"])))
    }));
    if options.fuzz_seconds == 0 {
        summary.skip("fuzz", "--fuzz-seconds 0");
    } else {
        outcomes.push(summary.step("fuzz", dry_run, || {
            fuzz::run(
                shell,
                FuzzBudget::seconds(options.fuzz_seconds),
                None,
                FuzzBuild::AddressSanitizer,
            )
            .map(|reports| fuzz::summary_note(&reports))
        }));
    }
    outcomes.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Status;
    use crate::tasks::scratch::ScratchDir;

    const FMT: &str = "cargo fmt --all -- --check";
    const CLIPPY: &str = "cargo clippy --workspace --all-targets -- -D warnings";
    const TEST: &str = "cargo test --workspace";

    #[test]
    fn default_run_installs_checks_tests_and_fuzzes_for_thirty_seconds() {
        let root = ScratchDir::new();
        root.write("fuzz/Cargo.toml", "");
        root.write("fuzz/fuzz_targets/url_roundtrip.rs", "");
        let shell = Shell::new(root.path(), true);
        let mut summary = Summary::new();
        run_steps(&shell, &TestOptions::default(), &mut summary).unwrap();
        assert_eq!(
            shell.planned(),
            [
                "bash scripts/install-deps.sh",
                FMT,
                CLIPPY,
                TEST,
                "(cd fuzz && cargo fuzz list)",
                "mkdir -p fuzz/corpus/url_roundtrip && cp fuzz/seeds/url_roundtrip/* fuzz/corpus/url_roundtrip/",
                "RUSTC_BOOTSTRAP=1 cargo fuzz build",
                "RUSTC_BOOTSTRAP=1 cargo fuzz run url_roundtrip fuzz/corpus/url_roundtrip -- -max_total_time=30 -print_final_stats=1",
            ]
        );
        let steps: Vec<_> = summary.rows().iter().map(|row| row.step.as_str()).collect();
        assert_eq!(steps, ["deps", "fmt", "clippy", "test", "fuzz"]);
        assert!(summary
            .rows()
            .iter()
            .all(|row| row.status == Status::DryRun));
    }

    #[test]
    fn no_install_and_zero_fuzz_seconds_skip_those_steps() {
        let root = ScratchDir::new();
        let shell = Shell::new(root.path(), true);
        let mut summary = Summary::new();
        let options = TestOptions {
            install: false,
            fuzz_seconds: 0,
        };
        run_steps(&shell, &options, &mut summary).unwrap();
        assert_eq!(shell.planned(), [FMT, CLIPPY, TEST]);
        let statuses: Vec<_> = summary.rows().iter().map(|row| row.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Skipped,
                Status::DryRun,
                Status::DryRun,
                Status::DryRun,
                Status::Skipped
            ]
        );
    }

    #[test]
    fn missing_fuzz_targets_fail_the_fuzz_step_by_name() {
        let root = ScratchDir::new();
        let shell = Shell::new(root.path(), true);
        let mut summary = Summary::new();
        let options = TestOptions {
            install: false,
            fuzz_seconds: 5,
        };
        let error = run_steps(&shell, &options, &mut summary).unwrap_err();
        assert!(
            matches!(&error, Error::StepFailed { step, source }
                if step == "fuzz" && matches!(**source, Error::NoFuzzTargets(_))),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "step `fuzz` failed: no fuzz targets found in fuzz/ (expected a cargo-fuzz project there)");
        assert_eq!(
            summary.rows().last().map(|row| row.status),
            Some(Status::Failed)
        );
    }

    #[test]
    fn the_first_failing_step_stops_the_run() {
        // Not a dry run: the scratch root's deps script fails, and nothing after it may run.
        let root = ScratchDir::new();
        root.write(deps::INSTALL_SCRIPT, "exit 3\n");
        let shell = Shell::new(root.path(), false);
        let mut summary = Summary::new();
        let error = run_steps(&shell, &TestOptions::default(), &mut summary).unwrap_err();
        assert!(
            matches!(&error, Error::StepFailed { step, source }
                if step == "deps" && matches!(**source, Error::CommandFailed { .. })),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "step `deps` failed: `bash scripts/install-deps.sh` failed (exit status: 3)"
        );
        let statuses: Vec<_> = summary.rows().iter().map(|row| row.status).collect();
        assert_eq!(
            statuses,
            [
                Status::Failed,
                Status::NotRun,
                Status::NotRun,
                Status::NotRun,
                Status::NotRun
            ]
        );
    }
}
