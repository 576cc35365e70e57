//! The `tmio` command: push any TCP live stream (RTMP) over SRT, and the gateway on the far
//! side. Each subcommand lives in its own module; `main` only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod url_cmd;

/// Push any TCP live stream (an RTMP encoder) over SRT.
#[derive(Debug, Parser)]
#[command(name = "tmio", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse tcp:// and srt:// URLs and print their canonical form and every typed field.
    Url(url_cmd::UrlArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Url(args) => url_cmd::run(&args),
    }
}
