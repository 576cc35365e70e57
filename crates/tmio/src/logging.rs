//! The logging options every subcommand takes (`-v`, `-q`, `--log-level`, `--log-file`) and the
//! log filter they make, with `RUST_LOG` as the fallback.
//!
//! One rule for both spellings of a filter (`--log-level` and `RUST_LOG`): a comma-separated
//! list of directives, each a level (`off`, `error`, `warn`, `info`, `debug`, `trace`) or
//! `TARGET=LEVEL` (e.g. `tmio_transport=trace`). A bare word that is not a level is refused,
//! so a misspelt level (`degub`) is an error naming it, not a filter that silently shows
//! nothing.

use std::path::PathBuf;

use clap::Args;
use tracing_subscriber::EnvFilter;

use crate::CommandError;

/// The levels a directive may name.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Logging options, taken by every subcommand (before or after its name).
#[derive(Debug, Clone, Default, Args)]
pub struct LogArgs {
    /// More log detail: -v debug, -vv trace.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true,
          conflicts_with_all = ["quiet", "log_level"])]
    pub verbose: u8,
    /// Less log output: -q warnings and errors only, -qq errors only.
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count, global = true,
          conflicts_with = "log_level")]
    pub quiet: u8,
    /// Log filter: a level (off, error, warn, info, debug, trace) or TARGET=LEVEL items,
    /// comma-separated (e.g. info,tmio_transport=trace). Replaces RUST_LOG, which takes the
    /// same syntax; without either, the level is info.
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,
    /// Append the log to PATH instead of writing it to stderr.
    #[arg(long, value_name = "PATH", global = true)]
    pub log_file: Option<PathBuf>,
}

/// Where the filter came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterSource {
    /// `--log-level`.
    Option,
    /// The `RUST_LOG` environment variable.
    Environment,
    /// `-v`/`-q` or the default.
    Verbosity,
}

impl LogArgs {
    /// The filter text and where it came from: `--log-level`, else `-v`/`-q`, else `rust_log`
    /// (the value of `RUST_LOG`, if set and not blank), else `info`.
    ///
    /// ```
    /// use clap::Parser as _;
    /// use tmio::{logging::FilterSource, Cli};
    ///
    /// let cli = Cli::try_parse_from(["tmio", "-vv", "url"])?;
    /// assert_eq!(cli.log.filter_text(Some("warn")), ("trace".to_owned(), FilterSource::Verbosity));
    /// let cli = Cli::try_parse_from(["tmio", "url", "--log-level", "tmio=debug"])?;
    /// assert_eq!(cli.log.filter_text(None), ("tmio=debug".to_owned(), FilterSource::Option));
    /// let cli = Cli::try_parse_from(["tmio", "url"])?;
    /// assert_eq!(cli.log.filter_text(Some("warn")), ("warn".to_owned(), FilterSource::Environment));
    /// assert_eq!(cli.log.filter_text(None), ("info".to_owned(), FilterSource::Verbosity));
    /// # Ok::<(), clap::Error>(())
    /// ```
    pub fn filter_text(&self, rust_log: Option<&str>) -> (String, FilterSource) {
        if let Some(level) = &self.log_level {
            return (level.clone(), FilterSource::Option);
        }
        let by_count = match (self.verbose, self.quiet) {
            (0, 0) => None,
            (1, _) => Some("debug"),
            (_, 0) => Some("trace"),
            (_, 1) => Some("warn"),
            _ => Some("error"),
        };
        if let Some(level) = by_count {
            return (level.to_owned(), FilterSource::Verbosity);
        }
        match rust_log.map(str::trim) {
            Some(text) if !text.is_empty() => (text.to_owned(), FilterSource::Environment),
            _ => ("info".to_owned(), FilterSource::Verbosity),
        }
    }

    /// The filter these options and `RUST_LOG` (given as `rust_log`) make, or a usage error
    /// naming the bad filter and where it came from.
    pub fn filter(&self, rust_log: Option<&str>) -> Result<EnvFilter, CommandError> {
        // clap checks conflicts among arguments given at one level only.
        let counted = match (self.verbose, self.quiet) {
            (0, 0) => None,
            (_, 0) => Some("-v"),
            (0, _) => Some("-q"),
            _ => {
                return Err(CommandError::BadArgument {
                    argument: "-v/-q",
                    reason: "-v and -q contradict each other: give one".to_owned(),
                })
            }
        };
        if let (Some(counted), Some(level)) = (counted, &self.log_level) {
            return Err(CommandError::BadArgument {
                argument: "--log-level",
                reason: format!("{level:?} and {counted} both set the level: give one"),
            });
        }
        let (text, source) = self.filter_text(rust_log);
        let argument = match source {
            FilterSource::Option => "--log-level",
            FilterSource::Environment => "RUST_LOG",
            FilterSource::Verbosity => "-v/-q",
        };
        parse_filter(&text).map_err(|reason| CommandError::BadArgument { argument, reason })
    }
}

/// Parses a log filter by the rule of this module; the error names the filter and the
/// offending directive.
///
/// ```
/// use tmio::logging::parse_filter;
///
/// assert!(parse_filter("debug").is_ok());
/// assert!(parse_filter("info,tmio_transport=trace").is_ok());
/// let error = parse_filter("degub").err().unwrap_or_default();
/// assert!(error.contains("\"degub\""), "{error}");
/// assert!(parse_filter("tmio=loud").is_err());
/// ```
pub fn parse_filter(text: &str) -> Result<EnvFilter, String> {
    for directive in text.split(',').map(str::trim) {
        if directive.is_empty() {
            return Err(format!("log filter {text:?} has an empty item"));
        }
        let level = match directive.rsplit_once('=') {
            Some((_, level)) => level,
            None => directive,
        };
        if !LEVELS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(level.trim()))
        {
            return Err(format!(
                "log filter {text:?}: {directive:?} is neither a level ({}) nor TARGET=LEVEL",
                LEVELS.join(", ")
            ));
        }
    }
    EnvFilter::builder()
        .parse(text)
        .map_err(|error| format!("log filter {text:?}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_filters_are_refused_with_their_text() {
        for bad in [
            "",
            "verbose",
            "info,",
            "tmio=",
            "=debug",
            "tmio[x=debug",
            "info,degub",
        ] {
            let error = parse_filter(bad).err();
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains(&format!("{bad:?}"))),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn levels_and_targets_are_accepted() {
        for good in [
            "off",
            "WARN",
            "info,tmio_transport=trace",
            "tmio_proxy::gateway=debug",
        ] {
            assert!(parse_filter(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_bad_rust_log_names_the_variable() {
        let error = LogArgs::default().filter(Some("loud")).err();
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("RUST_LOG") && text.contains("\"loud\""),
            "{text}"
        );
    }

    #[test]
    fn two_ways_of_setting_the_level_are_refused() {
        let both = LogArgs {
            verbose: 1,
            log_level: Some("info".into()),
            ..LogArgs::default()
        };
        assert!(both.filter(None).is_err());
        let contradiction = LogArgs {
            verbose: 1,
            quiet: 1,
            ..LogArgs::default()
        };
        assert!(contradiction.filter(None).is_err());
    }

    #[test]
    fn quiet_counts_down_to_errors() {
        let args = LogArgs {
            quiet: 2,
            ..LogArgs::default()
        };
        assert_eq!(args.filter_text(Some("trace")).0, "error");
    }
}
