//! The `cargo xtask` command line: `--dry-run` prints the pipeline and runs nothing; bad
//! arguments exit with status 2 and the usage text.

use std::process::Command;

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

#[test]
fn test_dry_run_prints_the_checks_in_order_and_passes() {
    let output = xtask(&["test", "--dry-run", "--no-install", "--fuzz-seconds", "0"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let planned: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("[dry-run] "))
        .collect();
    assert_eq!(
        planned,
        [
            "cargo fmt --all -- --check",
            "cargo clippy --workspace --all-targets -- -D warnings",
            "cargo test --workspace",
        ]
    );
    assert!(stdout.contains("deps    skipped"), "{stdout}");
    assert!(stdout.contains("fuzz    skipped"), "{stdout}");
}

#[test]
fn deps_dry_run_names_the_install_script() {
    let output = xtask(&["deps", "--dry-run"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "[dry-run] bash scripts/install-deps.sh"
    );
}

#[test]
fn unknown_task_exits_2_with_usage() {
    let output = xtask(&["tset"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown task `tset`"), "{stderr}");
    assert!(stderr.contains("usage: cargo xtask"), "{stderr}");
}

#[test]
fn help_prints_usage_and_succeeds() {
    let output = xtask(&["help"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("usage: cargo xtask"));
}

#[test]
fn release_refuses_a_bad_version_before_running_anything() {
    for (version, message) in [
        (
            "1.0",
            "release version `1.0` is not a semantic version: expected MAJOR.MINOR.PATCH",
        ),
        (
            "0.0.1",
            "release version 0.0.1 is not newer than the current",
        ),
        // No CHANGELOG.md section for it (nor ever will be).
        ("9999.0.0", "CHANGELOG.md has no section for 9999.0.0"),
    ] {
        let output = xtask(&[
            "release",
            "--dry-run",
            "--no-install",
            "--fuzz-seconds",
            "0",
            version,
        ]);
        assert_eq!(output.status.code(), Some(1), "{version}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{version}: {stderr}");
        // Refused before any check or packaging ran.
        assert!(!stderr.contains("cargo"), "{version}: {stderr}");
        assert!(output.stdout.is_empty(), "{version}");
    }
}

#[test]
fn release_without_a_version_is_a_usage_error() {
    let output = xtask(&["release", "--dry-run"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing release VERSION"), "{stderr}");
}
