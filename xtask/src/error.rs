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
    /// One of several libFuzzer workers (`--workers`) saved a failing input, or ended without
    /// its final statistics.
    FuzzWorkerFailed {
        /// The fuzz target.
        target: String,
        /// The worker's log (`fuzz-N.log` in the workspace root).
        log: PathBuf,
        /// The input the worker saved, when it said where.
        artifact: Option<String>,
    },
    /// A task needs a positional argument that was not given.
    MissingArgument(&'static str),
    /// `release VERSION` is not a semantic version.
    InvalidReleaseVersion {
        /// The version as given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `release VERSION` does not come after the current version.
    ReleaseVersionNotNewer {
        /// The published crates' version now.
        current: String,
        /// The version asked for.
        requested: String,
    },
    /// CHANGELOG.md has no `## VERSION` section.
    ChangelogMissingVersion {
        /// The version asked for.
        version: String,
        /// The changelog, relative to the workspace root.
        path: PathBuf,
    },
    /// The published crates do not all have the same version: each crate and its version.
    CratesDisagreeOnVersion(Vec<(String, String)>),
    /// A manifest xtask cannot read as it needs to.
    Manifest {
        /// The manifest, relative to the workspace root.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// No workspace member is published.
    NoPublishedCrates,
    /// These published crates depend on each other in a cycle (or on such a cycle).
    DependencyCycle(Vec<String>),
    /// A published crate depends (not as a dev-dependency) on an unpublished member.
    PublishedDependsOnUnpublished {
        /// The published crate.
        published: String,
        /// The member it depends on, which has `publish = false`.
        unpublished: String,
    },
    /// A real release needs a clean tree: these are `git status --porcelain` lines.
    DirtyTree(Vec<String>),
    /// The release tag exists already.
    TagExists(String),
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
            Error::FuzzWorkerFailed {
                target,
                log,
                artifact,
            } => {
                write!(f, "a libFuzzer worker on `{target}` failed (see {})", log.display())?;
                if let Some(artifact) = artifact {
                    write!(f, "; input saved to {artifact}")?;
                }
                Ok(())
            }
            Error::StepFailed { step, source } => write!(f, "step `{step}` failed: {source}"),
            Error::MissingArgument(what) => write!(f, "missing {what}"),
            Error::InvalidReleaseVersion { value, reason } => {
                write!(f, "release version `{value}` is not a semantic version: {reason}")
            }
            Error::ReleaseVersionNotNewer { current, requested } => write!(
                f,
                "release version {requested} is not newer than the current {current}"
            ),
            Error::ChangelogMissingVersion { version, path } => write!(
                f,
                "{} has no section for {version}: rename `## Unreleased` to `## {version}` (see the rule at its top)",
                path.display()
            ),
            Error::CratesDisagreeOnVersion(versions) => {
                let list: Vec<String> = versions
                    .iter()
                    .map(|(name, version)| format!("{name} {version}"))
                    .collect();
                write!(
                    f,
                    "the published crates disagree on the current version: {}",
                    list.join(", ")
                )
            }
            Error::Manifest { path, problem } => write!(f, "{}: {problem}", path.display()),
            Error::NoPublishedCrates => {
                write!(f, "no workspace member is published (all have `publish = false`)")
            }
            Error::DependencyCycle(names) => write!(
                f,
                "these published crates cannot be ordered, their dependencies form a cycle: {}",
                names.join(", ")
            ),
            Error::PublishedDependsOnUnpublished {
                published,
                unpublished,
            } => write!(
                f,
                "published crate `{published}` depends on `{unpublished}`, which has `publish = false`"
            ),
            Error::DirtyTree(lines) => write!(
                f,
                "the working tree has uncommitted changes (a release commits only its bump): {}",
                lines.join(", ")
            ),
            Error::TagExists(tag) => write!(f, "tag {tag} exists already"),
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
