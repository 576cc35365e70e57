//! The table printed at the end of `cargo xtask test`: step, status, seconds.

use std::fmt;
use std::time::{Duration, Instant};

use crate::Error;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It ran and passed.
    Ok,
    /// It ran and failed.
    Failed,
    /// It was not wanted (`--no-install`, `--fuzz-seconds 0`).
    Skipped,
    /// An earlier step failed, so it never ran.
    NotRun,
    /// `--dry-run`: its commands were printed.
    DryRun,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Status::Ok => "ok",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
            Status::NotRun => "not run",
            Status::DryRun => "dry-run",
        })
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The step name.
    pub step: String,
    /// How it ended.
    pub status: Status,
    /// Wall-clock time it took.
    pub elapsed: Duration,
    /// A short note (fuzz executions, why skipped...).
    pub note: String,
}

/// Runs named steps in order, stopping at the first failure, and keeps a row for each.
#[derive(Debug, Default)]
pub struct Summary {
    rows: Vec<Row>,
    failed: bool,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Summary {
        Summary::default()
    }

    /// Runs `step` unless an earlier step failed. `step` returns a note for the table.
    /// A failure is returned as [`Error::StepFailed`] naming the step; later calls then only
    /// add "not run" rows.
    pub fn step(
        &mut self,
        name: &str,
        dry_run: bool,
        step: impl FnOnce() -> Result<String, Error>,
    ) -> Result<(), Error> {
        if self.failed {
            self.push(name, Status::NotRun, Duration::ZERO, String::new());
            return Ok(());
        }
        eprintln!("xtask: ── {name} ──");
        let started = Instant::now();
        let result = step();
        let elapsed = started.elapsed();
        match result {
            Ok(note) => {
                let status = if dry_run { Status::DryRun } else { Status::Ok };
                self.push(name, status, elapsed, note);
                Ok(())
            }
            Err(error) => {
                self.failed = true;
                self.push(name, Status::Failed, elapsed, error.to_string());
                Err(Error::StepFailed {
                    step: name.to_owned(),
                    source: Box::new(error),
                })
            }
        }
    }

    /// Adds a row for a step that is not wanted.
    pub fn skip(&mut self, name: &str, why: &str) {
        let status = if self.failed {
            Status::NotRun
        } else {
            Status::Skipped
        };
        self.push(name, status, Duration::ZERO, why.to_owned());
    }

    /// The rows so far.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    fn push(&mut self, step: &str, status: Status, elapsed: Duration, note: String) {
        self.rows.push(Row {
            step: step.to_owned(),
            status,
            elapsed,
            note,
        });
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step_width = self
            .rows
            .iter()
            .map(|row| row.step.len())
            .chain(["step".len()])
            .max()
            .unwrap_or(4);
        writeln!(
            f,
            "{:<step_width$}  {:<7}  {:>8}  note",
            "step", "status", "seconds"
        )?;
        for row in &self.rows {
            // Notes can be whole error messages: keep the table to one line per step.
            let note = row.note.lines().next().unwrap_or("");
            let line = format!(
                "{:<step_width$}  {:<7}  {:>8.1}  {note}",
                row.step,
                row.status,
                row.elapsed.as_secs_f64()
            );
            writeln!(f, "{}", line.trim_end())?;
        }
        let total: Duration = self.rows.iter().map(|row| row.elapsed).sum();
        write!(
            f,
            "{:<step_width$}  {:<7}  {:>8.1}",
            "total",
            "",
            total.as_secs_f64()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_after_a_failure_are_not_run() {
        let mut summary = Summary::new();
        let mut ran_after_failure = false;
        summary.step("fmt", false, || Ok(String::new())).unwrap();
        let error = summary
            .step("clippy", false, || Err(Error::MissingTask))
            .unwrap_err();
        assert!(matches!(&error, Error::StepFailed { step, .. } if step == "clippy"));
        summary
            .step("test", false, || {
                ran_after_failure = true;
                Ok(String::new())
            })
            .unwrap();
        summary.skip("fuzz", "--fuzz-seconds 0");
        assert!(!ran_after_failure);
        let statuses: Vec<_> = summary.rows().iter().map(|row| row.status).collect();
        assert_eq!(
            statuses,
            [Status::Ok, Status::Failed, Status::NotRun, Status::NotRun]
        );
    }

    #[test]
    fn table_has_a_header_one_line_per_step_and_a_total() {
        let mut summary = Summary::new();
        summary.skip("deps", "--no-install");
        summary
            .step("fuzz", false, || Ok("url_roundtrip: 10 runs".to_owned()))
            .unwrap();
        let table = summary.to_string();
        let lines: Vec<_> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("step"), "{table}");
        assert!(lines[1].starts_with("deps  skipped"), "{table}");
        assert!(lines[1].ends_with("--no-install"), "{table}");
        assert!(lines[2].starts_with("fuzz  ok"), "{table}");
        assert!(lines[2].ends_with("url_roundtrip: 10 runs"), "{table}");
        assert!(lines[3].starts_with("total"), "{table}");
        assert!(table.lines().all(|line| line == line.trim_end()), "{table}");
    }

    #[test]
    fn dry_run_steps_are_marked_as_such() {
        let mut summary = Summary::new();
        summary.step("fmt", true, || Ok(String::new())).unwrap();
        assert_eq!(summary.rows()[0].status, Status::DryRun);
    }
}
