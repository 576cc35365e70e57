//! `cargo xtask bench`: criterion benchmarks, then the side-by-side peer benchmarks.

use crate::shell::{Cmd, Shell};
use crate::Error;

/// The peer benchmark script, relative to the workspace root (optional).
pub const PEERS_SCRIPT: &str = "benches/peers.sh";

/// Runs `cargo bench -p tmio-benches`, then `benches/peers.sh` when it exists.
pub fn run(shell: &Shell) -> Result<(), Error> {
    shell.run(&Cmd::cargo().args(["bench", "-p", "tmio-benches"]))?;
    if shell.root().join(PEERS_SCRIPT).is_file() {
        shell.run(&Cmd::new("bash").arg(PEERS_SCRIPT))
    } else {
        eprintln!("xtask: {PEERS_SCRIPT} does not exist yet: no peer benchmarks run");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::scratch::ScratchDir;

    #[test]
    fn without_peers_script_only_criterion_runs() {
        let root = ScratchDir::new();
        let shell = Shell::new(root.path(), true);
        run(&shell).unwrap();
        assert_eq!(shell.planned(), ["cargo bench -p tmio-benches"]);
    }

    #[test]
    fn peers_script_runs_after_criterion_when_present() {
        let root = ScratchDir::new();
        root.write(PEERS_SCRIPT, "#!/bin/sh\n");
        let shell = Shell::new(root.path(), true);
        run(&shell).unwrap();
        assert_eq!(
            shell.planned(),
            ["cargo bench -p tmio-benches", "bash benches/peers.sh"]
        );
    }
}
