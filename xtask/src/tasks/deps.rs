//! `cargo xtask deps`: installs what the tests need, through `scripts/install-deps.sh`.

use crate::shell::{Cmd, Shell};
use crate::Error;

/// The install script, relative to the workspace root.
pub const INSTALL_SCRIPT: &str = "scripts/install-deps.sh";

/// Runs the install script (Debian packages, cargo-fuzz; idempotent).
pub fn run(shell: &Shell) -> Result<(), Error> {
    shell.run(&Cmd::new("bash").arg(INSTALL_SCRIPT))
}
