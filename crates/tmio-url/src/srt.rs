//! `srt://HOST:PORT?options` URLs.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::encode::decode;
use crate::redact::{Secrets, Unredacted};
use crate::split::split;
use crate::{
    is_secret_name, redact_url_text, Error, Host, OptionKey, SrtOptions, StreamId, HIDDEN,
};

pub use crate::options::Mode;

/// Something in the URL that was accepted but has no effect; the caller decides whether to
/// show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Warning {
    /// SRT has no paths: `srt://host:9000/live/x` is `srt://host:9000`. Carries the path
    /// as written (percent-encoding kept, secrets hidden as by
    /// [`redact_url_text`](crate::redact_url_text)). A lone `/` is not reported.
    PathIgnored(String),
    /// An option this crate does not know, ignored in lenient mode (decoded).
    UnknownOption {
        /// The option name.
        key: String,
        /// Its value, or [`HIDDEN`](crate::HIDDEN) when the name looks like a secret's
        /// ([`is_secret_name`](crate::is_secret_name)).
        value: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::PathIgnored(path) => {
                write!(
                    f,
                    "path {path:?} ignored: SRT URLs have no path (use streamid=…)"
                )
            }
            Warning::UnknownOption { key, value } => {
                write!(f, "unknown option {key:?} (value {value:?}) ignored")
            }
        }
    }
}

/// How strict [`SrtUrl::parse_with`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept unknown query keys and report them as [`Warning::UnknownOption`] instead of
    /// failing with [`Error::UnknownOption`].
    pub allow_unknown_options: bool,
}

impl ParseOptions {
    /// Unknown options are errors (the default).
    pub const STRICT: ParseOptions = ParseOptions {
        allow_unknown_options: false,
    };
    /// Unknown options become warnings.
    pub const LENIENT: ParseOptions = ParseOptions {
        allow_unknown_options: true,
    };
}

const SRT_EXAMPLE: &str = "srt://example.com:9000";

/// An `srt://` URL: the remote SRT peer (or the local listening address) and its options.
///
/// Equality compares host, port and options; [`warnings`](SrtUrl::warnings) describe the text
/// that was parsed and are not part of the value.
///
/// ```
/// use std::time::Duration;
/// use tmio_url::{Mode, SrtUrl};
/// let url: SrtUrl = "srt://example.com:9000?latency=200&streamid=#!::r=live/test".parse()?;
/// assert_eq!(url.mode(), Mode::Caller);
/// assert_eq!(url.options().latency, Some(Duration::from_millis(200)));
/// assert_eq!(url.to_string(), "srt://example.com:9000?latency=200&streamid=#!::r=live/test");
/// # Ok::<(), tmio_url::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SrtUrl {
    host: Option<Host>,
    port: u16,
    options: SrtOptions,
    warnings: Vec<Warning>,
}

impl SrtUrl {
    /// Builds a URL from its parts, checking what parsing would check.
    pub fn new(host: Option<Host>, port: u16, options: SrtOptions) -> Result<Self, Error> {
        options.validate()?;
        let url = SrtUrl {
            host,
            port,
            options,
            warnings: Vec::new(),
        };
        url.check_mode().map_err(Error::hide_secrets)?;
        Ok(url)
    }

    /// Parses strictly: unknown options are errors.
    pub fn parse(input: &str) -> Result<Self, Error> {
        Self::parse_with(input, ParseOptions::STRICT)
    }

    /// Parses leniently: unknown options become [`Warning::UnknownOption`].
    pub fn parse_lenient(input: &str) -> Result<Self, Error> {
        Self::parse_with(input, ParseOptions::LENIENT)
    }

    /// Parses with the given strictness. An error carries no secret (see
    /// [`redact_url_text`](crate::redact_url_text)).
    pub fn parse_with(input: &str, parse_options: ParseOptions) -> Result<Self, Error> {
        Self::parse_text(input, parse_options).map_err(Error::hide_secrets)
    }

    fn parse_text(input: &str, parse_options: ParseOptions) -> Result<Self, Error> {
        let parts = split(input, SRT_EXAMPLE)?;
        if parts.scheme != "srt" {
            return Err(Error::UnsupportedScheme {
                scheme: parts.scheme,
                expected: "srt://",
            });
        }
        let host = match parts.host {
            "" => None,
            host => Some(Host::parse_url_host(host)?),
        };
        let mut warnings = Vec::new();
        if !parts.path.is_empty() && parts.path != "/" {
            warnings.push(Warning::PathIgnored(redact_url_text(parts.path)));
        }
        let mut options = SrtOptions::new();
        for item in parts.query.unwrap_or("").split('&') {
            if item.is_empty() {
                continue;
            }
            let (raw_key, raw_value) =
                item.split_once('=')
                    .ok_or_else(|| Error::MissingOptionValue {
                        key: item.to_owned(),
                    })?;
            let key = decode(raw_key)?;
            let value =
                decode(raw_value).map_err(|error| secret_not_utf8(&key, raw_value, error))?;
            if key.is_empty() {
                return Err(Error::EmptyOptionKey { value });
            }
            match OptionKey::from_name(&key) {
                Some(option) => options.set_key(option, &value)?,
                None if parse_options.allow_unknown_options => {
                    let value = if is_secret_name(&key) {
                        HIDDEN.to_owned()
                    } else {
                        value
                    };
                    warnings.push(Warning::UnknownOption { key, value })
                }
                None => return Err(Error::UnknownOption { key, value }),
            }
        }
        let url = SrtUrl {
            host,
            port: parts.port,
            options,
            warnings,
        };
        url.check_mode()?;
        Ok(url)
    }

    fn check_mode(&self) -> Result<(), Error> {
        let mode = self.mode();
        if mode != Mode::Listener && self.host.is_none() {
            return Err(Error::MissingHost { mode });
        }
        if mode != Mode::Listener && self.port == 0 {
            return Err(Error::ZeroPort { mode });
        }
        Ok(())
    }

    /// The host: the remote peer (caller, rendezvous) or the address to bind (listener);
    /// `None` for `srt://:PORT`.
    pub fn host(&self) -> Option<&Host> {
        self.host.as_ref()
    }

    /// The port: the remote peer's (caller, rendezvous) or the one to bind (listener).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host and port as a socket address, when the host is an IP address.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.host
            .as_ref()
            .and_then(Host::ip)
            .map(|ip| SocketAddr::new(ip, self.port))
    }

    /// The query options.
    pub fn options(&self) -> &SrtOptions {
        &self.options
    }

    /// The connection mode: the `mode` option, else libsrt's rule (as `srt-live-transmit`
    /// applies it): no host means listener, a host with `adapter` means rendezvous, a host
    /// alone means caller.
    pub fn mode(&self) -> Mode {
        match (self.options.mode, &self.host, &self.options.adapter) {
            (Some(mode), _, _) => mode,
            (None, None, _) => Mode::Listener,
            (None, Some(_), Some(_)) => Mode::Rendezvous,
            (None, Some(_), None) => Mode::Caller,
        }
    }

    /// The stream id, if given.
    pub fn stream_id(&self) -> Option<&StreamId> {
        self.options.streamid.as_ref()
    }

    /// What was accepted but ignored while parsing.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Prints the URL with its secrets, for a program that passes it on (never for a log):
    /// parsing what it prints gives an equal value. See [`Unredacted`].
    pub fn unredacted(&self) -> Unredacted<'_, SrtUrl> {
        Unredacted(self)
    }

    pub(crate) fn write_url(&self, f: &mut fmt::Formatter<'_>, secrets: Secrets) -> fmt::Result {
        f.write_str("srt://")?;
        if let Some(host) = &self.host {
            write!(f, "{host}")?;
        }
        write!(f, ":{}", self.port)?;
        if !self.options.is_empty() {
            f.write_str("?")?;
            self.options.write_query(f, secrets)?;
        }
        Ok(())
    }
}

/// The error for a query value that is not UTF-8 after percent-decoding: the raw value is
/// dropped when the key names a secret.
fn secret_not_utf8(key: &str, raw_value: &str, error: Error) -> Error {
    if OptionKey::from_name(key).is_some_and(OptionKey::is_secret) {
        Error::InvalidPassphrase {
            length: percent_encoding::percent_decode_str(raw_value).count(),
            reason: "not valid UTF-8 after percent-decoding",
        }
    } else if is_secret_name(key) {
        Error::InvalidUtf8 {
            part: format!("{key}={HIDDEN}"),
        }
    } else {
        error
    }
}

impl PartialEq for SrtUrl {
    fn eq(&self, other: &Self) -> bool {
        self.host == other.host && self.port == other.port && self.options == other.options
    }
}

impl Eq for SrtUrl {}

impl FromStr for SrtUrl {
    type Err = Error;
    fn from_str(input: &str) -> Result<Self, Error> {
        Self::parse(input)
    }
}

/// Prints the canonical URL: lower-case scheme, no path, options in the order given under
/// their canonical names, values percent-encoded where needed, and the passphrase as
/// [`HIDDEN`](crate::HIDDEN) (`passphrase=<hidden>`): the keys and their order stay readable,
/// the secret never shows. [`SrtUrl::unredacted`] prints the secret too.
impl fmt::Display for SrtUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_url(f, Secrets::Hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    #[test]
    fn listener_caller_and_rendezvous_defaults_follow_libsrt() {
        assert_eq!(SrtUrl::parse("srt://:9000").unwrap().mode(), Mode::Listener);
        assert_eq!(SrtUrl::parse("srt://h:9000").unwrap().mode(), Mode::Caller);
        assert_eq!(
            SrtUrl::parse("srt://h:9000?adapter=10.0.0.2")
                .unwrap()
                .mode(),
            Mode::Rendezvous
        );
        assert_eq!(
            SrtUrl::parse("srt://:9000?adapter=10.0.0.2")
                .unwrap()
                .mode(),
            Mode::Listener
        );
        assert_eq!(
            SrtUrl::parse("srt://10.0.0.1:9000?mode=listener")
                .unwrap()
                .mode(),
            Mode::Listener
        );
        assert_eq!(
            SrtUrl::parse("srt://h:9000?mode=rendezvous")
                .unwrap()
                .mode(),
            Mode::Rendezvous
        );
    }

    #[test]
    fn hosts_of_every_kind() {
        let url = SrtUrl::parse("srt://[::1]:9000").unwrap();
        assert_eq!(url.host(), Some(&Host::Ipv6(Ipv6Addr::LOCALHOST)));
        assert_eq!(url.socket_addr(), Some("[::1]:9000".parse().unwrap()));
        let url = SrtUrl::parse("srt://127.0.0.1:9000").unwrap();
        assert_eq!(url.host(), Some(&Host::Ipv4(Ipv4Addr::LOCALHOST)));
        let url = SrtUrl::parse("srt://example.com:9000").unwrap();
        assert_eq!(url.socket_addr(), None);
        assert_eq!(SrtUrl::parse("srt://:9000").unwrap().host(), None);
    }

    #[test]
    fn path_is_ignored_with_a_warning() {
        let url = SrtUrl::parse("srt://h:9000/live/x?latency=20").unwrap();
        assert_eq!(url.warnings(), &[Warning::PathIgnored("/live/x".into())]);
        assert_eq!(url.to_string(), "srt://h:9000?latency=20");
        assert!(SrtUrl::parse("srt://h:9000/")
            .unwrap()
            .warnings()
            .is_empty());
    }

    #[test]
    fn unknown_options_are_errors_unless_lenient() {
        assert_eq!(
            SrtUrl::parse("srt://h:9000?foo=bar"),
            Err(Error::UnknownOption {
                key: "foo".into(),
                value: "bar".into()
            })
        );
        let url = SrtUrl::parse_lenient("srt://h:9000?foo=b%20r&latency=5").unwrap();
        assert_eq!(
            url.warnings(),
            &[Warning::UnknownOption {
                key: "foo".into(),
                value: "b r".into()
            }]
        );
        assert_eq!(url.to_string(), "srt://h:9000?latency=5");
    }

    #[test]
    fn query_items_are_checked() {
        assert_eq!(
            SrtUrl::parse("srt://h:9000?tlpktdrop"),
            Err(Error::MissingOptionValue {
                key: "tlpktdrop".into()
            })
        );
        assert_eq!(
            SrtUrl::parse("srt://h:9000?=1"),
            Err(Error::EmptyOptionKey { value: "1".into() })
        );
        assert_eq!(
            SrtUrl::parse("srt://h:9000?latency=1&latency=2"),
            Err(Error::DuplicateOption { key: "latency" })
        );
        assert!(SrtUrl::parse("srt://h:9000?&latency=1&&").is_ok());
        assert!(SrtUrl::parse("srt://h:9000?").unwrap().options().is_empty());
    }

    #[test]
    fn percent_encoding_is_decoded_and_printed_back() {
        let url = SrtUrl::parse("srt://h:9000?passphrase=a%26b%20c%3Dd12345").unwrap();
        assert_eq!(url.options().passphrase.as_deref(), Some("a&b c=d12345"));
        assert_eq!(
            url.unredacted().to_string(),
            "srt://h:9000?passphrase=a%26b%20c=d12345"
        );
        assert_eq!(url.to_string(), "srt://h:9000?passphrase=<hidden>");
        assert!(matches!(
            SrtUrl::parse("srt://h:9000?streamid=%ff"),
            Err(Error::InvalidUtf8 { .. })
        ));
        let url = SrtUrl::parse("srt://h:9000?%6Catency=7").unwrap();
        assert_eq!(url.options().latency, Some(Duration::from_millis(7)));
    }

    #[test]
    fn mode_needs_host_and_port() {
        assert_eq!(
            SrtUrl::parse("srt://:9000?mode=caller"),
            Err(Error::MissingHost { mode: Mode::Caller })
        );
        assert_eq!(
            SrtUrl::parse("srt://:9000?mode=rendezvous"),
            Err(Error::MissingHost {
                mode: Mode::Rendezvous
            })
        );
        assert_eq!(
            SrtUrl::parse("srt://h:0"),
            Err(Error::ZeroPort { mode: Mode::Caller })
        );
        assert!(SrtUrl::parse("srt://:0").is_ok());
    }

    #[test]
    fn wrong_scheme_is_named() {
        assert_eq!(
            SrtUrl::parse("tcp://127.0.0.1:1935"),
            Err(Error::UnsupportedScheme {
                scheme: "tcp".into(),
                expected: "srt://"
            })
        );
        assert_eq!(SrtUrl::parse("SRT://h:1").unwrap().to_string(), "srt://h:1");
    }

    #[test]
    fn new_validates_like_parse() {
        let mut options = SrtOptions::new();
        options.latency = Some(Duration::from_millis(200));
        let url = SrtUrl::new(Some(Host::Name("h".into())), 9000, options.clone()).unwrap();
        assert_eq!(url.to_string(), "srt://h:9000?latency=200");
        assert_eq!(SrtUrl::parse(&url.to_string()).unwrap(), url);
        assert!(SrtUrl::new(None, 9000, {
            let mut o = options.clone();
            o.mode = Some(Mode::Caller);
            o
        })
        .is_err());
        options.payloadsize = Some(5000);
        assert!(SrtUrl::new(None, 9000, options).is_err());
    }

    #[test]
    fn equality_ignores_warnings() {
        let a = SrtUrl::parse("srt://h:9000/x").unwrap();
        let b = SrtUrl::parse("srt://h:9000").unwrap();
        assert_eq!(a, b);
    }
}
