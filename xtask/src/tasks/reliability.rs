//! `cargo xtask reliability`: the fault matrix through release builds of `tmio proxy` and
//! `tmio gateway` (crates/tmio-testkit/src/reliability.rs); writes docs/reliability.md.

use crate::shell::{Cmd, Shell};
use crate::Error;

/// The generated report, relative to the workspace root.
pub const REPORT: &str = "docs/reliability.md";

/// Where cargo puts release binaries: `$CARGO_TARGET_DIR/release`, else `target/release`.
pub(crate) fn release_dir() -> String {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    format!("{}/release", target.trim_end_matches('/'))
}

/// Builds `tmio` and `tmio-reliability` in release mode, then runs the matrix: all of it into
/// [`REPORT`], or with `fast` the default tests' subset with the report on stdout.
pub fn run(shell: &Shell, fast: bool) -> Result<(), Error> {
    shell.run(&Cmd::cargo().args([
        "build",
        "--release",
        "-p",
        "tmio",
        "--bin",
        "tmio",
        "-p",
        "tmio-testkit",
        "--bin",
        "tmio-reliability",
    ]))?;
    let dir = release_dir();
    let mut runner = Cmd::new(&format!("{dir}/tmio-reliability"))
        .arg("--tmio")
        .arg(format!("{dir}/tmio"));
    runner = if fast {
        runner.arg("--fast")
    } else {
        runner.args(["--out", REPORT])
    };
    shell.run(&runner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reliability_builds_release_binaries_then_writes_the_report() {
        let shell = Shell::new(std::env::temp_dir(), true);
        run(&shell, false).unwrap();
        let dir = release_dir();
        assert_eq!(
            shell.planned(),
            [
                "cargo build --release -p tmio --bin tmio -p tmio-testkit --bin tmio-reliability"
                    .to_owned(),
                format!("{dir}/tmio-reliability --tmio {dir}/tmio --out docs/reliability.md"),
            ]
        );
    }

    #[test]
    fn fast_reliability_prints_the_subset() {
        let shell = Shell::new(std::env::temp_dir(), true);
        run(&shell, true).unwrap();
        assert!(
            shell.planned()[1].ends_with("--fast"),
            "{:?}",
            shell.planned()
        );
    }
}
