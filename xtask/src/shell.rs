//! Running commands, or with `--dry-run` only printing them.

use std::cell::RefCell;
use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use crate::Error;

/// One command line: program, arguments, extra environment, working directory (relative to
/// the workspace root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    program: OsString,
    shown_program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
}

impl Cmd {
    /// A command running `program`, looked up in `PATH`.
    pub fn new(program: &str) -> Cmd {
        Cmd {
            program: program.into(),
            shown_program: program.to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            dir: None,
        }
    }

    /// `cargo`: the cargo that runs xtask (`$CARGO`) when there is one, else `cargo` from
    /// `PATH`. Printed as `cargo` either way.
    pub fn cargo() -> Cmd {
        let mut cmd = Cmd::new("cargo");
        if let Some(cargo) = std::env::var_os("CARGO") {
            cmd.program = cargo;
        }
        cmd
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    /// Adds several arguments.
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Cmd {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for this command only.
    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs in `dir`, relative to the workspace root.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.dir = Some(dir.into());
        self
    }

    fn to_command(&self, root: &Path) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .current_dir(
                self.dir
                    .as_ref()
                    .map_or_else(|| root.to_path_buf(), |dir| root.join(dir)),
            )
            // CI has no stdin; nothing xtask runs may wait for a keyboard.
            .stdin(Stdio::null());
        command
    }
}

impl fmt::Display for Cmd {
    /// Shell syntax, runnable from the workspace root:
    /// `(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz list)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words: Vec<String> = self
            .env
            .iter()
            .map(|(key, value)| format!("{key}={}", shell_quote(value)))
            .collect();
        words.push(shell_quote(&self.shown_program));
        words.extend(self.args.iter().map(|arg| shell_quote(arg)));
        let line = words.join(" ");
        match &self.dir {
            Some(dir) => write!(f, "(cd {} && {line})", shell_quote(&dir.to_string_lossy())),
            None => f.write_str(&line),
        }
    }
}

/// Quotes `word` for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs commands from the workspace root, or, in dry-run mode, prints and records them.
#[derive(Debug)]
pub struct Shell {
    root: PathBuf,
    dry_run: bool,
    planned: RefCell<Vec<String>>,
}

impl Shell {
    /// A shell working in `root`.
    pub fn new(root: impl Into<PathBuf>, dry_run: bool) -> Shell {
        Shell {
            root: root.into(),
            dry_run,
            planned: RefCell::new(Vec::new()),
        }
    }

    /// The workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether commands are only printed.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Every command and action printed so far in dry-run mode, in order.
    pub fn planned(&self) -> Vec<String> {
        self.planned.borrow().clone()
    }

    /// Announces an action done in-process (copying files...): in dry-run mode it is
    /// recorded and printed, and the caller must then skip it.
    pub fn announce(&self, action: &str) {
        if self.dry_run {
            println!("[dry-run] {action}");
            self.planned.borrow_mut().push(action.to_owned());
        } else {
            eprintln!("xtask: {action}");
        }
    }

    /// Runs `cmd` with the terminal's stdout and stderr; fails unless it exits with 0.
    pub fn run(&self, cmd: &Cmd) -> Result<(), Error> {
        if self.plan(cmd) {
            return Ok(());
        }
        let status = cmd
            .to_command(&self.root)
            .status()
            .map_err(|source| spawn_error(cmd, source))?;
        check_status(cmd, status)
    }

    /// Runs a read-only `cmd` (`git status`...) even in dry-run mode, without echoing it, and
    /// returns its standard output; fails unless it exits with 0.
    pub fn query(&self, cmd: &Cmd) -> Result<String, Error> {
        let output = cmd
            .to_command(&self.root)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|source| spawn_error(cmd, source))?;
        check_status(cmd, output.status)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs `cmd` and returns its standard output (stderr goes to the terminal); fails unless
    /// it exits with 0. In dry-run mode returns `None`.
    pub fn read_stdout(&self, cmd: &Cmd) -> Result<Option<String>, Error> {
        if self.plan(cmd) {
            return Ok(None);
        }
        let output = cmd
            .to_command(&self.root)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|source| spawn_error(cmd, source))?;
        check_status(cmd, output.status)?;
        Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned()))
    }

    /// Runs `cmd`, copying its standard error to ours line by line and handing each line to
    /// `on_line`; returns the exit status whatever it is (`None` in dry-run mode).
    pub fn run_watching_stderr(
        &self,
        cmd: &Cmd,
        mut on_line: impl FnMut(&str),
    ) -> Result<Option<ExitStatus>, Error> {
        let Some(mut child) = self.spawn_with_piped_stderr(cmd)? else {
            return Ok(None);
        };
        if let Some(stderr) = child.stderr.take() {
            let read = for_each_line(stderr, |line| {
                eprintln!("{line}");
                on_line(line);
            });
            if let Err(source) = read {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Io {
                    context: format!("reading the output of `{cmd}`"),
                    source,
                });
            }
        }
        child
            .wait()
            .map(Some)
            .map_err(|source| spawn_error(cmd, source))
    }

    /// Starts `cmd` with its standard error collected line by line (for commands that run side
    /// by side, whose output would otherwise interleave); `None` in dry-run mode. The command
    /// line is echoed when it starts; the lines come back from [`Captured::wait`].
    pub fn spawn_capturing_stderr(&self, cmd: &Cmd) -> Result<Option<Captured>, Error> {
        let Some(mut child) = self.spawn_with_piped_stderr(cmd)? else {
            return Ok(None);
        };
        let stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            if let Some(stderr) = stderr {
                for_each_line(stderr, |line| lines.push(line.to_owned()))?;
            }
            Ok(lines)
        });
        Ok(Some(Captured {
            command: cmd.to_string(),
            child,
            reader: Some(reader),
        }))
    }

    /// Plans `cmd` (`None` in dry-run mode), else starts it with its standard error piped.
    fn spawn_with_piped_stderr(&self, cmd: &Cmd) -> Result<Option<Child>, Error> {
        if self.plan(cmd) {
            return Ok(None);
        }
        cmd.to_command(&self.root)
            .stderr(Stdio::piped())
            .spawn()
            .map(Some)
            .map_err(|source| spawn_error(cmd, source))
    }

    /// Dry-run: prints and records `cmd`, returns true. Otherwise echoes it, returns false.
    fn plan(&self, cmd: &Cmd) -> bool {
        let line = cmd.to_string();
        if self.dry_run {
            println!("[dry-run] {line}");
            self.planned.borrow_mut().push(line);
            true
        } else {
            eprintln!("$ {line}");
            false
        }
    }
}

/// A command started by [`Shell::spawn_capturing_stderr`]. Dropped without [`Captured::wait`]
/// (an error elsewhere), its process is killed and reaped (a program that process started
/// itself, such as the fuzzer `cargo fuzz run` starts, runs on to the end of its own budget).
#[derive(Debug)]
pub struct Captured {
    command: String,
    child: Child,
    reader: Option<JoinHandle<std::io::Result<Vec<String>>>>,
}

impl Captured {
    /// Waits for the command to end; returns its exit status, whatever it is, and the lines it
    /// wrote to standard error.
    pub fn wait(mut self) -> Result<(ExitStatus, Vec<String>), Error> {
        let lines = match self.reader.take().map(JoinHandle::join) {
            Some(Ok(Ok(lines))) => lines,
            Some(Ok(Err(source))) => {
                return Err(Error::Io {
                    context: format!("reading the output of `{}`", self.command),
                    source,
                })
            }
            Some(Err(_)) | None => {
                return Err(Error::Io {
                    context: format!("reading the output of `{}`", self.command),
                    source: std::io::Error::other("the reading thread stopped"),
                })
            }
        };
        let status = self.child.wait().map_err(|source| Error::Spawn {
            command: self.command.clone(),
            source,
        })?;
        Ok((status, lines))
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        // After `wait` the child is reaped: std then neither signals nor waits again.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Hands each line of `output` to `on_line`, its line ending trimmed (bytes that are not UTF-8
/// replaced), until the end of the output.
fn for_each_line(output: impl Read, mut on_line: impl FnMut(&str)) -> std::io::Result<()> {
    let mut reader = BufReader::new(output);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        on_line(String::from_utf8_lossy(&line).trim_end());
    }
}

fn spawn_error(cmd: &Cmd, source: std::io::Error) -> Error {
    Error::Spawn {
        command: cmd.to_string(),
        source,
    }
}

fn check_status(cmd: &Cmd, status: ExitStatus) -> Result<(), Error> {
    if status.success() {
        Ok(())
    } else {
        Err(Error::CommandFailed {
            command: cmd.to_string(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_runnable_shell_line() {
        let cmd = Cmd::new("cargo")
            .args(["fuzz", "run", "url_roundtrip", "fuzz/corpus/url_roundtrip"])
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["--", "-max_total_time=5"]);
        assert_eq!(
            cmd.to_string(),
            "RUSTC_BOOTSTRAP=1 cargo fuzz run url_roundtrip fuzz/corpus/url_roundtrip -- -max_total_time=5"
        );
        let cmd = Cmd::new("cargo").args(["fuzz", "list"]).current_dir("fuzz");
        assert_eq!(cmd.to_string(), "(cd fuzz && cargo fuzz list)");
    }

    #[test]
    fn cargo_is_shown_as_cargo_whatever_its_path() {
        assert_eq!(Cmd::cargo().arg("test").to_string(), "cargo test");
    }

    #[test]
    fn words_with_spaces_or_quotes_are_quoted() {
        assert_eq!(shell_quote("plain-word_1.2"), "plain-word_1.2");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn dry_run_records_and_runs_nothing() {
        let shell = Shell::new(std::env::temp_dir(), true);
        // A program that does not exist: running it would fail.
        let cmd = Cmd::new("xtask-no-such-program").arg("x");
        shell.run(&cmd).unwrap();
        assert_eq!(shell.read_stdout(&cmd).unwrap(), None);
        assert_eq!(shell.run_watching_stderr(&cmd, |_| {}).unwrap(), None);
        shell.announce("copy a -> b");
        assert_eq!(
            shell.planned(),
            [
                "xtask-no-such-program x",
                "xtask-no-such-program x",
                "xtask-no-such-program x",
                "copy a -> b"
            ]
        );
    }

    #[test]
    fn failing_and_missing_programs_are_errors_naming_the_command() {
        let shell = Shell::new(std::env::temp_dir(), false);
        let error = shell.run(&Cmd::new("false")).unwrap_err();
        assert!(matches!(&error, Error::CommandFailed { command, .. } if command == "false"));
        let error = shell.run(&Cmd::new("xtask-no-such-program")).unwrap_err();
        assert!(
            matches!(&error, Error::Spawn { command, .. } if command == "xtask-no-such-program")
        );
        assert!(shell.planned().is_empty());
    }

    #[test]
    fn read_stdout_returns_the_output() {
        let shell = Shell::new(std::env::temp_dir(), false);
        let output = shell
            .read_stdout(&Cmd::new("printf").arg("a\\nb\\n"))
            .unwrap();
        assert_eq!(output.as_deref(), Some("a\nb\n"));
    }

    #[test]
    fn stderr_lines_reach_the_watcher_and_the_status_is_returned() {
        let shell = Shell::new(std::env::temp_dir(), false);
        let mut lines = Vec::new();
        let status = shell
            .run_watching_stderr(
                &Cmd::new("sh").args(["-c", "echo one >&2; echo two >&2; exit 3"]),
                |line| lines.push(line.to_owned()),
            )
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(lines, ["one", "two"]);
    }

    #[test]
    fn captured_commands_run_side_by_side_and_return_their_lines_and_status() {
        let shell = Shell::new(std::env::temp_dir(), false);
        let started = std::time::Instant::now();
        // Each waits for the other's file: they only end if both run at once.
        let dir = std::env::temp_dir().join(format!("xtask-side-by-side-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = |me: &str, other: &str, code: u8| {
            format!(
                "touch {dir}/{me}; i=0; while [ ! -e {dir}/{other} ]; do i=$((i+1)); [ $i -gt 100 ] && exit 9; sleep 0.05; done; echo {me} >&2; echo done >&2; exit {code}",
                dir = dir.display()
            )
        };
        let first = shell
            .spawn_capturing_stderr(&Cmd::new("sh").args(["-c", &script("a", "b", 0)]))
            .unwrap()
            .unwrap();
        let second = shell
            .spawn_capturing_stderr(&Cmd::new("sh").args(["-c", &script("b", "a", 4)]))
            .unwrap()
            .unwrap();
        let (status, lines) = first.wait().unwrap();
        assert_eq!(
            (status.code(), lines),
            (Some(0), vec!["a".to_owned(), "done".to_owned()])
        );
        let (status, lines) = second.wait().unwrap();
        assert_eq!(
            (status.code(), lines),
            (Some(4), vec!["b".to_owned(), "done".to_owned()])
        );
        std::fs::remove_dir_all(&dir).unwrap();
        // Dropped unwaited, a command is killed rather than waited for.
        let sleeper = shell
            .spawn_capturing_stderr(&Cmd::new("sleep").arg("30"))
            .unwrap()
            .unwrap();
        drop(sleeper);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        // Dry run: recorded, nothing started.
        let dry = Shell::new(std::env::temp_dir(), true);
        assert!(dry
            .spawn_capturing_stderr(&Cmd::new("xtask-no-such-program"))
            .unwrap()
            .is_none());
        assert_eq!(dry.planned(), ["xtask-no-such-program"]);
    }

    #[test]
    fn queries_run_even_in_dry_run_mode_and_are_not_recorded() {
        let shell = Shell::new(std::env::temp_dir(), true);
        let output = shell.query(&Cmd::new("printf").arg("x")).unwrap();
        assert_eq!(output, "x");
        assert!(shell.planned().is_empty());
        let error = shell.query(&Cmd::new("false")).unwrap_err();
        assert!(matches!(&error, Error::CommandFailed { command, .. } if command == "false"));
    }

    #[test]
    fn commands_run_in_their_directory_under_the_root() {
        let shell = Shell::new("/", false);
        let output = shell
            .read_stdout(&Cmd::new("pwd").current_dir("tmp"))
            .unwrap();
        assert_eq!(output.as_deref().map(str::trim), Some("/tmp"));
    }
}
