//! `cargo xtask soak`: the `#[ignore]`d long-running tests, in release mode (but the hour-long
//! soak); `cargo xtask soak --long`: the two 30-minute soaks through release builds of
//! `tmio` and `tmio-reliability`, their figures written into docs/reliability.md.

use crate::shell::{Cmd, Shell};
use crate::tasks::reliability::{release_dir, REPORT};
use crate::Error;

/// The ignored test that runs both 30-minute soaks (crates/tmio/tests/soak.rs); `--long` runs
/// them through the runner instead, so plain `soak` leaves it out.
pub const LONG_SOAK_TEST: &str = "soak_30_minutes_1_then_50_sessions";

/// Sessions of the long soaks, in order.
pub const LONG_SOAK_SESSIONS: [u32; 2] = [1, 50];

/// Runs `cargo test --workspace --release -- --ignored --skip LONG_SOAK_TEST`, or with `long`
/// builds the release binaries and runs the 30-minute soaks (1, then 50 sessions; 20 Mbit/s in
/// total, 5 % loss), each writing its subsection of [`REPORT`].
pub fn run(shell: &Shell, long: bool) -> Result<(), Error> {
    if !long {
        return shell.run(&Cmd::cargo().args([
            "test",
            "--workspace",
            "--release",
            "--",
            "--ignored",
            "--skip",
            LONG_SOAK_TEST,
        ]));
    }
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
    for sessions in LONG_SOAK_SESSIONS {
        shell.run(
            &Cmd::new(&format!("{dir}/tmio-reliability"))
                .arg("--tmio")
                .arg(format!("{dir}/tmio"))
                .args(["--soak", "--sessions"])
                .arg(sessions.to_string())
                .args([
                    "--minutes",
                    "30",
                    "--mbps",
                    "20",
                    "--loss",
                    "5",
                    "--out",
                    REPORT,
                ]),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soak_runs_only_the_ignored_tests_in_release() {
        let shell = Shell::new(std::env::temp_dir(), true);
        run(&shell, false).unwrap();
        assert_eq!(
            shell.planned(),
            [format!(
                "cargo test --workspace --release -- --ignored --skip {LONG_SOAK_TEST}"
            )]
        );
    }

    #[test]
    fn long_soak_builds_release_binaries_then_runs_1_then_50_sessions() {
        let shell = Shell::new(std::env::temp_dir(), true);
        run(&shell, true).unwrap();
        let dir = release_dir();
        let soak = |n: u32| {
            format!(
                "{dir}/tmio-reliability --tmio {dir}/tmio --soak --sessions {n} --minutes 30 --mbps 20 --loss 5 --out docs/reliability.md"
            )
        };
        assert_eq!(
            shell.planned(),
            [
                "cargo build --release -p tmio --bin tmio -p tmio-testkit --bin tmio-reliability"
                    .to_owned(),
                soak(1),
                soak(50),
            ]
        );
    }
}
