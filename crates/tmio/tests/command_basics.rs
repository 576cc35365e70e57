//! What every user meets first: `--version`, `--help`, the logging options on every subcommand
//! and the hints in URL mistakes (did you mean, bracketed IPv6).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

fn tmio_with_env(args: &[&str], rust_log: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tmio"));
    match rust_log {
        Some(filter) => command.env("RUST_LOG", filter),
        None => command.env_remove("RUST_LOG"),
    };
    command.args(args).output().unwrap()
}

fn tmio(args: &[&str]) -> Output {
    tmio_with_env(args, None)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_names_the_build_and_the_srt_version() {
    let output = tmio(&["--version"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with(&format!("tmio {}\n", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    assert!(stdout.contains("build: git "), "{stdout}");
    assert!(
        stdout.contains(&format!("SRT {}", tmio::SRT_VERSION)),
        "{stdout}"
    );
    let short = text(&tmio(&["-V"]).stdout);
    assert!(
        short
            .trim_end()
            .ends_with(&format!("SRT {})", tmio::SRT_VERSION)),
        "{short}"
    );
}

#[test]
fn every_subcommand_takes_the_logging_options_and_mentions_rust_log() {
    for subcommand in ["proxy", "gateway", "demo", "url"] {
        let output = tmio(&[subcommand, "--help"]);
        assert_eq!(output.status.code(), Some(0), "{subcommand}");
        let help = text(&output.stdout);
        for option in [
            "--verbose",
            "--quiet",
            "--log-level",
            "--log-file",
            "RUST_LOG",
        ] {
            assert!(help.contains(option), "{subcommand}: no {option}:\n{help}");
        }
    }
    assert!(text(&tmio(&["--help"]).stdout).contains("RUST_LOG"));
}

#[test]
fn a_bad_log_filter_is_an_error_naming_it() {
    let output = tmio_with_env(&["url", "tcp://127.0.0.1:1"], Some("degub"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("RUST_LOG") && stderr.contains("\"degub\""),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    let output = tmio(&["demo", "--log-level", "tmio=loud"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--log-level") && stderr.contains("tmio=loud"),
        "{stderr}"
    );

    // -v and --log-level say two different things: refused.
    assert_eq!(
        tmio(&["-v", "url", "--log-level", "info"]).status.code(),
        Some(2)
    );
}

#[test]
fn quiet_and_log_file_route_the_log() {
    // `tmio demo` logs at info (gateway up, proxy up, session events).
    let dir = std::env::temp_dir().join(format!("tmio-log-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("demo.log");
    let _ = std::fs::remove_file(&log);
    let output = tmio(&[
        "demo",
        "--seconds",
        "1",
        "--mbps",
        "2",
        "--log-file",
        log.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("INFO") && logged.contains("proxy up"),
        "{logged}"
    );
    assert!(!logged.contains('\x1b'), "colours in a file: {logged:?}");
    assert!(
        !text(&output.stderr).contains("INFO"),
        "{}",
        text(&output.stderr)
    );

    // -q: warnings and errors only, whatever RUST_LOG says.
    let output = tmio_with_env(
        &["-q", "demo", "--seconds", "1", "--mbps", "2"],
        Some("debug"),
    );
    assert_eq!(output.status.code(), Some(0));
    let stderr = text(&output.stderr);
    assert!(
        !stderr.contains("INFO") && !stderr.contains("DEBUG"),
        "{stderr}"
    );
    assert!(text(&output.stdout).contains("result:      OK"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_misspelt_url_option_gets_a_suggestion_and_no_pointer_to_missing_docs() {
    let output = tmio(&[
        "proxy",
        "tcp://127.0.0.1:0",
        "srt://127.0.0.1:9000?latancy=200",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("did you mean \"latency\"?"), "{stderr}");
    assert!(
        !stderr.contains("docs/") && !stderr.contains("lenient"),
        "{stderr}"
    );
}

#[test]
fn an_unbracketed_ipv6_address_gets_the_same_url_bracketed() {
    let output = tmio(&["proxy", "tcp://::1:1936", "srt://127.0.0.1:9000"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("write tcp://[::1]:1936"), "{stderr}");
}
