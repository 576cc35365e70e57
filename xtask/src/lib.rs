//! `xtask`: tmio's project automation, run as `cargo xtask <task>` (a cargo alias in
//! `.cargo/config.toml`).
//!
//! Tasks: `deps` (runs `scripts/install-deps.sh`), `test` (the one test command of the README and
//! of CI: deps, fmt, clippy, tests, fuzzers), `fuzz`, `soak` (the `#[ignore]`d long tests) and
//! `bench`, `reliability` (the fault matrix, writes docs/reliability.md), and `release` (version bump, checks, packaging, tag). Every task accepts `--dry-run`,
//! which prints the commands it would run and runs nothing; `release --dry-run` instead runs the
//! checks and packaging and changes nothing. The crate is std-only so that it builds in seconds
//! on a fresh machine.
//!
//! The pieces are public so they can be tested without running anything:
//!
//! ```
//! use xtask::cli::{parse_args, FuzzBudget, FuzzBuild, Task};
//! use xtask::libfuzzer::FuzzLog;
//!
//! let invocation = parse_args(["fuzz", "--seconds", "5", "--dry-run"].map(String::from))?;
//! assert!(invocation.dry_run);
//! assert_eq!(
//!     invocation.task,
//!     Task::Fuzz { budget: FuzzBudget::seconds(5), target: None, build: FuzzBuild::AddressSanitizer }
//! );
//!
//! // libFuzzer's last words tell how many inputs it ran.
//! let mut log = FuzzLog::default();
//! log.feed_line("Done 2714938 runs in 4 second(s)");
//! assert_eq!(log.executions(), Some(2_714_938));
//! # Ok::<(), xtask::Error>(())
//! ```
#![warn(missing_docs)]
// Tests may unwrap (project rule); the library code may not.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cli;
mod error;
pub mod libfuzzer;
pub mod manifest;
pub mod semver;
pub mod shell;
pub mod summary;
pub mod tasks;

pub use error::Error;

use std::path::{Path, PathBuf};

use cli::{Invocation, Task};
use shell::Shell;

/// The workspace root: the parent of this crate's manifest directory.
pub fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// Runs one parsed invocation against the workspace at [`project_root`].
pub fn run(invocation: &Invocation) -> Result<(), Error> {
    let shell = Shell::new(project_root(), invocation.dry_run);
    match &invocation.task {
        Task::Help => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Task::Deps => tasks::deps::run(&shell),
        Task::Test(options) => tasks::test::run(&shell, options),
        Task::Fuzz {
            budget,
            target,
            build,
        } => tasks::fuzz::run(&shell, *budget, target.as_deref(), *build).map(|_reports| ()),
        Task::Soak { long } => tasks::soak::run(&shell, *long),
        Task::Bench(options) => tasks::bench::run(&shell, options),
        Task::Reliability { fast } => tasks::reliability::run(&shell, *fast),
        // `release --dry-run` runs the checks and packaging for real and changes nothing, so
        // its shell executes; the flag goes to the task instead.
        Task::Release(options) => tasks::release::run(
            &Shell::new(project_root(), false),
            options,
            invocation.dry_run,
        ),
    }
}
