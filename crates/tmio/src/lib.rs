//! The `tmio` command as a library: its argument syntax, subcommands and exit statuses, so the
//! binary (`src/main.rs`) only parses, sets up logging and a runtime, and dispatches.
//!
//! - `tmio proxy LOCAL_URL REMOTE_URL`: one pusher's TCP stream over SRT, or with `--persist`
//!   one pusher after another ([`proxy_cmd`]);
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
pub mod logging;
pub mod proxy_cmd;
pub mod signals;
pub mod stats_view;
pub mod url_cmd;

pub use error::{CommandError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE};

/// The SRT version tmio announces in its handshakes (HSv5), the one of the `srt-protocol`
/// codec it builds on (a test checks the two agree).
pub const SRT_VERSION: &str = "1.3.1";

/// `tmio -V`: the crate version, the build's git commit (`unknown` when built outside a git
/// checkout) and the SRT version.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("TMIO_BUILD_COMMIT"),
    ", SRT 1.3.1)"
);

/// `tmio --version`: [`VERSION`]'s facts, one per line.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nbuild: git ",
    env!("TMIO_BUILD_COMMIT"),
    ", ",
    env!("TMIO_BUILD_TARGET"),
    ", ",
    env!("TMIO_BUILD_PROFILE"),
    " profile",
    "\nSRT: speaks SRT 1.3.1 (HSv5 handshake, srt-protocol 0.4 packet codec); \
     tested against libsrt 1.5.1"
);

/// Text shown at the end of `tmio --help` and of every subcommand's help.
const LOG_HELP: &str = "Logging: lines go to stderr (or --log-file). The filter is --log-level, \
    else -v/-q, else the RUST_LOG environment variable (same syntax as --log-level, \
    e.g. RUST_LOG=info,tmio_transport=trace), else info. A bad filter is an error.";

/// Push any TCP live stream (an RTMP encoder) over SRT.
#[derive(Debug, Parser)]
#[command(name = "tmio", version = VERSION, long_version = LONG_VERSION, about,
          long_about = None, after_help = LOG_HELP)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Logging options (every subcommand takes them).
    #[command(flatten)]
    pub log: logging::LogArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take one pusher (RTMP encoder) on a local TCP port and push its stream over SRT; with
    /// --persist, pusher after pusher.
    #[command(after_help = LOG_HELP)]
    Proxy(proxy_cmd::ProxyArgs),
    /// Listen for SRT callers and pump each session to a TCP upstream (an RTMP server).
    #[command(after_help = LOG_HELP)]
    Gateway(gateway_cmd::GatewayArgs),
    /// Run gateway, sink, proxy and a generated stream on loopback and check every byte (the
    /// default preset caps the stream at 20 Mbit/s).
    #[command(after_help = LOG_HELP)]
    Demo(demo::DemoArgs),
    /// Parse tcp:// and srt:// URLs and print their canonical form and every typed field.
    #[command(after_help = LOG_HELP)]
    Url(url_cmd::UrlArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_srt_version_shown_is_the_one_the_handshake_sends() {
        assert_eq!(
            srt_protocol::options::SrtVersion::CURRENT.to_string(),
            SRT_VERSION
        );
        assert!(VERSION.contains(&format!("SRT {SRT_VERSION}")));
        assert!(LONG_VERSION.contains(&format!("SRT {SRT_VERSION}")));
    }
}
