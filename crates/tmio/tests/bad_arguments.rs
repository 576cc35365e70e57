//! Bad arguments exit with status 2 and a message naming what was wrong, before any network
//! activity: bad URLs, unknown option names, bad presets, bad routes.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

fn tmio(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tmio"))
        .args(args)
        .output()
        .unwrap()
}

fn assert_usage_error(args: &[&str], expected: &[&str]) {
    let output = tmio(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    for words in expected {
        assert!(
            stderr.contains(words),
            "{args:?}: {words:?} not in\n{stderr}"
        );
    }
    assert!(output.stdout.is_empty(), "{args:?} printed on stdout");
}

#[test]
fn bad_local_url() {
    assert_usage_error(
        &["proxy", "tcp://nowhere:99999", "srt://127.0.0.1:9000"],
        &["bad arguments", "local URL", "tcp://nowhere:99999"],
    );
}

#[test]
fn bad_remote_url() {
    assert_usage_error(
        &["proxy", "tcp://127.0.0.1:0", "rtmp://127.0.0.1/live"],
        &["bad arguments", "remote URL", "rtmp://127.0.0.1/live"],
    );
    assert_usage_error(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            "srt://127.0.0.1:9000?latencyy=20",
        ],
        &["bad arguments", "latencyy"],
    );
}

#[test]
fn unknown_option_name() {
    assert_usage_error(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            "srt://127.0.0.1:9000",
            "--opt",
            "no_such_option=1",
        ],
        &["bad arguments", "unknown option", "no_such_option"],
    );
    assert_usage_error(
        &[
            "gateway",
            "srt://127.0.0.1:0",
            "tcp://127.0.0.1:1935",
            "--opt",
            "bogus=2",
        ],
        &["unknown option", "bogus"],
    );
}

#[test]
fn option_without_a_value() {
    assert_usage_error(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            "srt://127.0.0.1:9000",
            "--opt",
            "latency",
        ],
        &["--opt", "NAME=VALUE"],
    );
}

#[test]
fn bad_option_value() {
    assert_usage_error(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            "srt://127.0.0.1:9000",
            "--opt",
            "latency=soon",
        ],
        &["bad arguments", "soon"],
    );
}

#[test]
fn bad_preset() {
    assert_usage_error(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            "srt://127.0.0.1:9000",
            "--preset",
            "ts-fast",
        ],
        &["unknown preset", "ts-fast", "ts-latency"],
    );
}

#[test]
fn bad_gateway_route_and_upstream() {
    assert_usage_error(
        &[
            "gateway",
            "srt://127.0.0.1:0",
            "tcp://127.0.0.1:1935",
            "--route",
            "live",
        ],
        &["--route", "RESOURCE=tcp://IP:PORT"],
    );
    assert_usage_error(
        &[
            "gateway",
            "srt://127.0.0.1:0",
            "tcp://127.0.0.1:1935",
            "--route",
            "live=udp://127.0.0.1:5",
        ],
        &["bad arguments", "upstream URL", "udp://127.0.0.1:5"],
    );
    assert_usage_error(
        &["gateway", "srt://127.0.0.1:0", "tcp://host-without-port"],
        &["bad arguments", "upstream URL"],
    );
}

#[test]
fn missing_arguments_and_unknown_subcommands() {
    assert_usage_error(&["proxy", "tcp://127.0.0.1:0"], &["REMOTE_URL"]);
    assert_usage_error(&["push"], &["push"]);
}

#[test]
fn persist_and_upstream_connect_options() {
    assert_usage_error(
        &[
            "proxy",
            "tcp://127.0.0.1:0",
            "srt://127.0.0.1:9000",
            "--persist-hold",
            "5",
        ],
        &["--persist"],
    );
    assert_usage_error(
        &[
            "proxy",
            "--persist",
            "tcp://127.0.0.1:0",
            "srt://127.0.0.1:9000",
            "--persist-hold",
            "0",
        ],
        &["--persist-hold", "out of range"],
    );
    assert_usage_error(
        &[
            "gateway",
            "srt://127.0.0.1:0",
            "tcp://127.0.0.1:1",
            "--upstream-connect",
            "later",
        ],
        &["later", "first-bytes", "accept"],
    );
}

#[test]
fn bad_bond_arguments() {
    let base = ["proxy", "tcp://127.0.0.1:0", "srt://127.0.0.1:9000"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    // --link without --bond, --bond without --link.
    assert_usage_error(&with(&["--link", "srt://127.0.0.1:9000"]), &["--bond"]);
    assert_usage_error(&with(&["--bond", "backup"]), &["--link"]);
    assert_usage_error(
        &with(&["--bond", "mesh", "--link", "srt://127.0.0.1:9000"]),
        &["mesh"],
    );
    assert_usage_error(
        &with(&[
            "--bond",
            "backup",
            "--link",
            "srt://127.0.0.1:9000,weight=200",
        ]),
        &["weight"],
    );
    assert_usage_error(
        &with(&[
            "--bond",
            "backup",
            "--link",
            "srt://127.0.0.1:9000,bind=here",
        ]),
        &["bind"],
    );
}
