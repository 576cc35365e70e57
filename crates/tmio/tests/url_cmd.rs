//! `tmio url` run as a process: good URLs print a report and exit 0, bad ones print a
//! one-line error and exit 2.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

fn tmio(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tmio"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn no_argument_checks_the_embedded_example() {
    let output = tmio(&["url"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.starts_with("srt://sh.srt.tencentcloud.com:9000?streamid=#!::h=push.example.com,r=live/test,txSecret=abc,txTime=5F000000"), "{out}");
    assert!(out.contains("mode:    caller"), "{out}");
    assert!(out.contains("txSecret         = abc"), "{out}");
    assert!(out.contains("h (host)         = push.example.com"), "{out}");
}

#[test]
fn good_urls_print_canonical_form_and_fields() {
    let output = tmio(&[
        "url",
        "tcp://127.0.0.1:1935",
        "SRT://:9000/ignored?LocalIP=127.0.0.1&tlpktdrop=off&passphrase=abcdefghijk",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("tcp://127.0.0.1:1935\n"), "{out}");
    assert!(out.contains("address: 127.0.0.1 (IPv4)"), "{out}");
    assert!(
        out.contains("srt://:9000?adapter=127.0.0.1&tlpktdrop=0&passphrase=<hidden>\n"),
        "{out}"
    );
    assert!(!out.contains("abcdefghijk"), "{out}");
    assert!(
        out.contains("mode:    listener (default: no host)"),
        "{out}"
    );
    assert!(out.contains("tlpktdrop            = 0  [false]"), "{out}");
    assert!(out.contains("[<hidden, 11 bytes>]"), "{out}");
    assert!(out.contains("warning: path \"/ignored\" ignored"), "{out}");
}

#[test]
fn bad_url_exits_2_with_one_line_error() {
    let output = tmio(&["url", "srt://example.com:9000?latency=abc"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("invalid value \"abc\" for \"latency\": expected milliseconds"),
        "{err}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn tcp_host_name_is_refused() {
    let output = tmio(&["url", "tcp://localhost:1935"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("give an address"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn mixed_good_and_bad_reports_both_and_exits_2() {
    let output = tmio(&["url", "srt://h:9000", "srt://h:9000?nosuch=1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).contains("srt://h:9000\n"));
    assert!(stderr(&output).contains("unknown option \"nosuch\""));
}

#[test]
fn lenient_flag_turns_unknown_options_into_warnings() {
    let output = tmio(&["url", "--lenient", "srt://h:9000?nosuch=1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("warning: unknown option \"nosuch\" (value \"1\") ignored"));
}
