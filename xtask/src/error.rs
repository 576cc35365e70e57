//! The one error type of xtask (std only, so `Display` and `Error` are written by hand).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

/// Everything that can go wrong in `cargo xtask`.
#[derive(Debug)]
pub enum Error {
    /// No task was named on the command line.
    MissingTask,
    /// The first argument is not a known task.
    UnknownTask(String),
    /// A flag the task does not accept.
    UnknownFlag {
        /// The task being parsed.
        task: &'static str,
        /// The flag as given.
        flag: String,
    },
    /// A flag that needs a value came last.
    MissingValue(String),
    /// A flag's value is not acceptable.
    InvalidValue {
        /// The flag.
        flag: String,
        /// The value as given.
        value: String,
        /// What is expected instead.
        expected: &'static str,
    },
    /// A program could not be started at all (not installed, not executable, ...).
    Spawn {
        /// The command line, as printed.
        command: String,
        /// Why it could not start.
        source: io::Error,
    },
    /// A command ran and exited unsuccessfully.
    CommandFailed {
        /// The command line, as printed.
        command: String,
        /// Its exit status.
        status: ExitStatus,
    },
    /// A file-system operation failed.
    Io {
        /// What was being done, with the path.
        context: String,
        /// The underlying error.
        source: io::Error,
    },
    /// `fuzz/` has no fuzz targets (no `fuzz/Cargo.toml`, or `cargo fuzz list` printed nothing).
    NoFuzzTargets(PathBuf),
    /// `--target NAME` names a target that `cargo fuzz list` does not list.
    UnknownFuzzTarget {
        /// The name asked for.
        name: String,
        /// The targets that exist.
        available: Vec<String>,
    },
    /// A fuzz target crashed (or libFuzzer failed otherwise).
    FuzzFailed {
        /// The fuzz target.
        target: String,
        /// The exit status of `cargo fuzz run`.
        status: ExitStatus,
        /// The crashing input libFuzzer saved, when it said where.
        artifact: Option<String>,
    },
    /// A step of `cargo xtask test` failed; the summary names it too.
    StepFailed {
        /// The step name, as in the summary table.
        step: String,
        /// What failed inside it.
        source: Box<Error>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingTask => write!(f, "no task given"),
            Error::UnknownTask(task) => write!(f, "unknown task `{task}`"),
            Error::UnknownFlag { task, flag } => {
                write!(f, "task `{task}` does not accept `{flag}`")
            }
            Error::MissingValue(flag) => write!(f, "`{flag}` needs a value"),
            Error::InvalidValue {
                flag,
                value,
                expected,
            } => write!(f, "`{flag} {value}`: expected {expected}"),
            Error::Spawn { command, source } => {
                write!(f, "could not start `{command}`: {source}")
            }
            Error::CommandFailed { command, status } => {
                write!(f, "`{command}` failed ({status})")
            }
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::NoFuzzTargets(dir) => write!(
                f,
                "no fuzz targets found in {}/ (expected a cargo-fuzz project there)",
                dir.display()
            ),
            Error::UnknownFuzzTarget { name, available } => write!(
                f,
                "no fuzz target named `{name}` (available: {})",
                available.join(", ")
            ),
            Error::FuzzFailed {
                target,
                status,
                artifact,
            } => {
                write!(f, "fuzz target `{target}` failed ({status})")?;
                if let Some(artifact) = artifact {
                    write!(f, "; crashing input saved to {artifact}")?;
                }
                Ok(())
            }
            Error::StepFailed { step, source } => write!(f, "step `{step}` failed: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn { source, .. } | Error::Io { source, .. } => Some(source),
            Error::StepFailed { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}
