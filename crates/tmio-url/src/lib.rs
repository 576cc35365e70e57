//! `tmio-url`: the URLs of tmio's proxy API, parsed into typed values and printed back.
//!
//! * [`TcpUrl`] — `tcp://IP:PORT`, the local side a pusher connects to.
//! * [`SrtUrl`] — `srt://HOST:PORT?options`, the remote SRT peer (or a local listener), with
//!   [`SrtOptions`] named and measured as libsrt's `srt-live-transmit` documents them.
//! * [`StreamId`] — the stream id, typed when it uses libsrt's access-control syntax
//!   `#!::key=value,…`.
//!
//! Printing ([`Display`](std::fmt::Display)) gives a canonical URL with every secret (the
//! passphrase) shown as [`HIDDEN`]; so do `Debug`, warnings and errors, so nothing printed for a
//! log or a person carries a secret. [`SrtUrl::unredacted`] prints the exact URL for a program;
//! parsing that again gives an equal value. Nothing here panics on any input: every problem is
//! an [`Error`] variant that names the offending part. See `docs/url.md` for the grammar, the
//! option list and the redaction rule.
//!
//! ```
//! use std::time::Duration;
//! use tmio_url::{AccessMode, Mode, SrtUrl, TcpUrl, Url};
//!
//! let local: TcpUrl = "tcp://127.0.0.1:1935".parse()?;
//! assert_eq!(local.addr.port(), 1935);
//!
//! let remote: SrtUrl =
//!     "srt://sh.srt.tencentcloud.com:9000?streamid=#!::h=push.example.com,r=live/test,txSecret=abc,txTime=5F000000&latency=200"
//!         .parse()?;
//! assert_eq!(remote.mode(), Mode::Caller);
//! assert_eq!(remote.options().latency, Some(Duration::from_millis(200)));
//! let access = remote.stream_id().and_then(|id| id.access_control()).expect("#!:: id");
//! assert_eq!(access.resource(), Some("live/test"));
//! assert_eq!(access.get("txSecret"), Some("abc"));
//! assert_eq!(access.mode(), None::<AccessMode>);
//! assert_eq!(remote.to_string().parse::<SrtUrl>()?, remote);
//!
//! // Either scheme, chosen by the text:
//! assert!(matches!("srt://:9000".parse::<Url>()?, Url::Srt(_)));
//!
//! // Errors say what to fix:
//! let error = "srt://h:9000?latency=abc".parse::<SrtUrl>().unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "invalid value \"abc\" for \"latency\": expected milliseconds (a whole number from 0 to 2147483647)"
//! );
//! # Ok::<(), tmio_url::Error>(())
//! ```
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]

mod encode;
mod error;
mod host;
mod options;
mod redact;
mod split;
mod srt;
mod stream_id;
mod tcp;

use std::fmt;
use std::str::FromStr;

pub use error::{suggest_option_name, Error, ValueKind};
pub use host::Host;
pub use options::{
    CongestionControl, KeyLength, MaxBandwidth, Mode, OptionKey, SrtOptions, TransType,
};
pub use redact::{is_secret_name, redact_url_text, Unredacted, HIDDEN};
pub use srt::{ParseOptions, SrtUrl, Warning};
pub use stream_id::{
    AccessControl, AccessMode, Item, ResourceType, StreamId, ACCESS_CONTROL_PREFIX,
    MAX_STREAM_ID_LEN,
};
pub use tcp::TcpUrl;

/// A `tcp://` or an `srt://` URL, chosen by the scheme.
// Parsed once per command line or API call: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Url {
    /// `tcp://IP:PORT`.
    Tcp(TcpUrl),
    /// `srt://HOST:PORT?options`.
    Srt(SrtUrl),
}

impl Url {
    /// Parses either scheme; `srt://` options with the given strictness.
    pub fn parse_with(input: &str, parse_options: ParseOptions) -> Result<Self, Error> {
        let scheme = input
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .ok_or_else(|| {
                Error::MissingScheme {
                    input: input.to_owned(),
                }
                .hide_secrets()
            })?;
        match scheme.as_str() {
            "tcp" => TcpUrl::parse(input).map(Url::Tcp),
            "srt" => SrtUrl::parse_with(input, parse_options).map(Url::Srt),
            _ => Err(Error::UnsupportedScheme {
                scheme,
                expected: "srt:// or tcp://",
            }),
        }
    }
}

impl Url {
    /// Prints the URL with its secrets, for a program that passes it on (see [`Unredacted`]).
    pub fn unredacted(&self) -> Unredacted<'_, Url> {
        Unredacted(self)
    }
}

impl FromStr for Url {
    type Err = Error;
    fn from_str(input: &str) -> Result<Self, Error> {
        Self::parse_with(input, ParseOptions::STRICT)
    }
}

/// The canonical URL, secrets shown as [`HIDDEN`].
impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Url::Tcp(url) => write!(f, "{url}"),
            Url::Srt(url) => write!(f, "{url}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_dispatches_on_scheme() {
        assert!(matches!(
            "tcp://127.0.0.1:1".parse::<Url>(),
            Ok(Url::Tcp(_))
        ));
        assert!(matches!("SRT://h:1".parse::<Url>(), Ok(Url::Srt(_))));
        assert_eq!(
            "rtmp://h/live".parse::<Url>(),
            Err(Error::UnsupportedScheme {
                scheme: "rtmp".into(),
                expected: "srt:// or tcp://"
            })
        );
        assert!(matches!(
            "h:1".parse::<Url>(),
            Err(Error::MissingScheme { .. })
        ));
        let lenient = Url::parse_with("srt://h:1?zz=1", ParseOptions::LENIENT).unwrap();
        assert_eq!(lenient.to_string(), "srt://h:1");
    }
}
