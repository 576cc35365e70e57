//! The one error type of the `tmio` command, and the exit status each error maps to.

use std::{io, path::PathBuf};

/// Exit status of a run that ended well.
pub const EXIT_OK: u8 = 0;
/// Exit status of a runtime failure (the network, the server, the pusher).
pub const EXIT_RUNTIME: u8 = 1;
/// Exit status of bad arguments (the same as clap's own usage errors).
pub const EXIT_USAGE: u8 = 2;

/// Everything that ends a `tmio` subcommand with a non-zero status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// An argument was rejected (a URL, an option name or value, a preset, a route).
    #[error("bad arguments: {0}")]
    Usage(tmio_proxy::Error),
    /// A command-line value that is not a proxy setting was rejected.
    #[error("bad argument {argument}: {reason}")]
    BadArgument {
        /// The argument (e.g. `--stats-json`).
        argument: &'static str,
        /// Why, with the offending value.
        reason: String,
    },
    /// The proxy or gateway failed while running; `side` says which side.
    #[error("error ({side}): {source}")]
    Runtime {
        /// `local`, `remote` or `unknown` (`ErrorType::as_str`).
        side: &'static str,
        /// What failed.
        source: tmio_proxy::Error,
    },
    /// Writing the stats file failed.
    #[error("error (local): cannot write stats to {path}: {source}")]
    StatsFile {
        /// The file given with `--stats-json`.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Installing the signal handlers or another local resource failed.
    #[error("error (local): {context}: {source}")]
    LocalIo {
        /// What tmio was doing.
        context: &'static str,
        /// What the OS said.
        source: io::Error,
    },
    /// A second SIGINT/SIGTERM/SIGHUP arrived while a graceful stop was flushing.
    #[error("error (local): stopped by a second {signal} before every byte was flushed")]
    Interrupted {
        /// The signal's name.
        signal: &'static str,
    },
    /// The demo's sink did not receive exactly the bytes the pusher sent, or did not finish.
    #[error("demo failed: {0}")]
    Demo(String),
}

impl CommandError {
    /// Sorts a `tmio-proxy` error: what the user typed is a usage error (exit 2), the rest is
    /// a runtime error naming its side (exit 1).
    pub fn from_proxy(error: tmio_proxy::Error) -> CommandError {
        match error {
            tmio_proxy::Error::Url { .. }
            | tmio_proxy::Error::UrlUse { .. }
            | tmio_proxy::Error::Option(_)
            | tmio_proxy::Error::Unsupported(_) => CommandError::Usage(error),
            other => CommandError::Runtime {
                side: other.error_type().as_str(),
                source: other,
            },
        }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Usage(_) | CommandError::BadArgument { .. } => EXIT_USAGE,
            CommandError::Runtime { .. }
            | CommandError::StatsFile { .. }
            | CommandError::LocalIo { .. }
            | CommandError::Interrupted { .. }
            | CommandError::Demo(_) => EXIT_RUNTIME,
        }
    }
}

impl From<tmio_proxy::Error> for CommandError {
    fn from(error: tmio_proxy::Error) -> Self {
        CommandError::from_proxy(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_and_option_errors_are_usage_errors() {
        let url = tmio_proxy::Proxy::builder("tcp://nowhere", "srt://127.0.0.1:9000")
            .map(|_| ())
            .map_err(CommandError::from_proxy);
        let error = url.err().map(|e| e.exit_code());
        assert_eq!(error, Some(EXIT_USAGE));

        let option = tmio_proxy::Proxy::builder("tcp://127.0.0.1:0", "srt://127.0.0.1:9000")
            .and_then(|b| b.option("no such option", "1"))
            .map(|_| ())
            .map_err(CommandError::from_proxy);
        let error = option.err();
        assert_eq!(
            error.as_ref().map(CommandError::exit_code),
            Some(EXIT_USAGE)
        );
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("no such option"), "{text}");
    }

    #[test]
    fn runtime_errors_name_their_side() {
        let error = CommandError::from_proxy(tmio_proxy::Error::Upstream {
            addr: "127.0.0.1:1"
                .parse()
                .unwrap_or(std::net::SocketAddr::from(([127, 0, 0, 1], 1))),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        });
        assert_eq!(error.exit_code(), EXIT_RUNTIME);
        assert!(error.to_string().starts_with("error (remote): "), "{error}");

        let error = CommandError::from_proxy(tmio_proxy::Error::LocalIo {
            context: "accepting the pusher",
            source: io::Error::from(io::ErrorKind::Other),
        });
        assert!(error.to_string().starts_with("error (local): "), "{error}");
    }
}
