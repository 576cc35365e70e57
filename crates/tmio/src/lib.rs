//! The `tmio` command as a library: its argument syntax, subcommands and exit statuses, so the
//! binary (`src/main.rs`) only parses, sets up logging and a runtime, and dispatches.
//!
//! - `tmio proxy LOCAL_URL REMOTE_URL`: one pusher's TCP stream over SRT ([`proxy_cmd`]);
//! - `tmio gateway LISTEN_URL UPSTREAM_URL`: SRT back to TCP servers ([`gateway_cmd`]);
//! - `tmio demo`: both, a generated stream and a sink, in one process ([`demo`]);
//! - `tmio url`: what tmio understands from a URL ([`url_cmd`]).
//!
//! Exit statuses: 0 done, 1 runtime error (its message says `local` or `remote`), 2 bad
//! arguments ([`CommandError::exit_code`]).
//!
//! ```
//! use clap::Parser;
//! use tmio::{Cli, Command};
//! use tmio_proxy::Preset;
//!
//! let cli = Cli::try_parse_from([
//!     "tmio", "proxy", "tcp://127.0.0.1:1935", "srt://gateway.example:9000",
//!     "--preset", "ts-latency:300", "--opt", "latency=400",
//! ])?;
//! let Command::Proxy(args) = cli.command else { unreachable!() };
//! assert_eq!(args.preset, Some(Preset::MpegTsFixedLatency { latency_ms: 300 }));
//! assert_eq!(args.options, [("latency".to_owned(), "400".to_owned())]);
//!
//! // Bad arguments are clap errors, which exit with status 2 like tmio's own usage errors.
//! let bad = Cli::try_parse_from(["tmio", "proxy", "tcp://127.0.0.1:0", "srt://h:1", "--preset", "udp"]);
//! assert_eq!(bad.map(|_| ()).map_err(|e| e.exit_code()), Err(2));
//! # Ok::<(), clap::Error>(())
//! ```
#![warn(missing_docs)]

use clap::{Parser, Subcommand};

pub mod args;
pub mod demo;
mod error;
pub mod gateway_cmd;
pub mod proxy_cmd;
pub mod signals;
pub mod stats_view;
pub mod url_cmd;

pub use error::{CommandError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE};

/// Push any TCP live stream (an RTMP encoder) over SRT.
#[derive(Debug, Parser)]
#[command(name = "tmio", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take one pusher (RTMP encoder) on a local TCP port and push its stream over SRT.
    Proxy(proxy_cmd::ProxyArgs),
    /// Listen for SRT callers and pump each session to a TCP upstream (an RTMP server).
    Gateway(gateway_cmd::GatewayArgs),
    /// Run gateway, sink, proxy and a generated stream on loopback and check every byte.
    Demo(demo::DemoArgs),
    /// Parse tcp:// and srt:// URLs and print their canonical form and every typed field.
    Url(url_cmd::UrlArgs),
}
