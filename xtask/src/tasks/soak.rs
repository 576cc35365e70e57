//! `cargo xtask soak`: the `#[ignore]`d long-running tests, in release mode.

use crate::shell::{Cmd, Shell};
use crate::Error;

/// Runs `cargo test --workspace --release -- --ignored`.
pub fn run(shell: &Shell) -> Result<(), Error> {
    shell.run(&Cmd::cargo().args(["test", "--workspace", "--release", "--", "--ignored"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soak_runs_only_the_ignored_tests_in_release() {
        let shell = Shell::new(std::env::temp_dir(), true);
        run(&shell).unwrap();
        assert_eq!(
            shell.planned(),
            ["cargo test --workspace --release -- --ignored"]
        );
    }
}
