//! Secrets are never printed: the one rule every printer of tmio follows.
//!
//! A secret is the value of an option that names one: the SRT passphrase (query key
//! `passphrase`, SDK name `Passphrase`, `SRTO_PASSPHRASE`) and, since a misspelt key must not
//! print its value either, any name this crate does not know that contains `pass` or `secret`
//! ([`is_secret_name`]). Typed values print [`HIDDEN`] in its place ([`SrtUrl`](crate::SrtUrl)'s
//! and [`SrtOptions`](crate::SrtOptions)' `Display` and `Debug`, warnings, errors); text that
//! was never parsed, such as a URL that failed to parse, goes through [`redact_url_text`].
//! Programs that must pass the secret on print through [`Unredacted`].

use std::fmt;

use percent_encoding::percent_decode_str;

use crate::{Error, OptionKey, SrtOptions, SrtUrl, Url};

/// What is printed in place of a secret value.
pub const HIDDEN: &str = "<hidden>";

/// Whether the value of the option called `name` (a query key, an SDK option name or an
/// `SRTO_` name, ASCII case-insensitive) must never be printed: a known option that is a
/// secret ([`OptionKey::is_secret`]), or a name this crate does not know that contains `pass`
/// or `secret` (`passphrse`, `password`, `SRTO_PASSPHRASE`, `txSecret`).
///
/// ```
/// use tmio_url::is_secret_name;
/// assert!(is_secret_name("passphrase"));
/// assert!(is_secret_name("SRTO_PASSPHRASE"));
/// assert!(is_secret_name("Passphrse"));
/// assert!(!is_secret_name("latency"));
/// ```
pub fn is_secret_name(name: &str) -> bool {
    if let Some(key) = OptionKey::from_name(name) {
        return key.is_secret();
    }
    let lower = name.to_ascii_lowercase();
    lower.contains("pass") || lower.contains("secret")
}

/// `text` (a URL as given, which may not parse, or any part of one) with every secret value
/// replaced by [`HIDDEN`]: in each `key=value` item (the query after the first `?` is split at
/// `&`, and so is the text before it) whose percent-decoded key [`is_secret_name`], the value;
/// and the password of a `user:password@` part. Everything else is kept as written, so the
/// result still reads as the URL given.
///
/// ```
/// use tmio_url::redact_url_text;
/// assert_eq!(
///     redact_url_text("srt://h:9000?latency=20&passphrase=0123456789&pbkeylen=32"),
///     "srt://h:9000?latency=20&passphrase=<hidden>&pbkeylen=32"
/// );
/// assert_eq!(redact_url_text("srt:/h?PASSPHRASE=x"), "srt:/h?PASSPHRASE=<hidden>");
/// assert_eq!(redact_url_text("srt://user:pw@h:1"), "srt://user:<hidden>@h:1");
/// ```
pub fn redact_url_text(text: &str) -> String {
    let (before_query, query) = match text.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (text, None),
    };
    let mut out = String::with_capacity(text.len());
    match before_query.split_once("://") {
        Some((scheme, after)) => {
            let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            out.push_str(scheme);
            out.push_str("://");
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    out.push_str(&redact_userinfo(userinfo));
                    out.push('@');
                    out.push_str(&redact_items(host));
                }
                None => out.push_str(&redact_items(authority)),
            }
            out.push_str(&redact_items(path));
        }
        None => out.push_str(&redact_items(before_query)),
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_items(query));
    }
    out
}

/// `user:password` with the password replaced by [`HIDDEN`].
pub(crate) fn redact_userinfo(userinfo: &str) -> String {
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:{HIDDEN}"),
        None => userinfo.to_owned(),
    }
}

/// Replaces the value of every `&`-separated `key=value` item whose key names a secret.
fn redact_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, item) in text.split('&').enumerate() {
        if index > 0 {
            out.push('&');
        }
        match item.split_once('=') {
            Some((key, _))
                if is_secret_name(percent_decode_str(key).decode_utf8_lossy().trim()) =>
            {
                out.push_str(key);
                out.push('=');
                out.push_str(HIDDEN);
            }
            _ => out.push_str(item),
        }
    }
    out
}

impl Error {
    /// The same error with every text it carries from the input passed through
    /// [`redact_url_text`] (and an unknown option's value hidden when its key names a
    /// secret). Applied where parsing hands an error out, so no error of this crate carries a
    /// secret; applying it twice changes nothing.
    pub(crate) fn hide_secrets(self) -> Error {
        let redact = |text: String| redact_url_text(&text);
        match self {
            Error::MissingScheme { input } => Error::MissingScheme {
                input: redact(input),
            },
            Error::UserInfo { userinfo } => Error::UserInfo {
                userinfo: redact_userinfo(&userinfo),
            },
            Error::MissingPort { host, example } => Error::MissingPort {
                host: redact(host),
                example,
            },
            Error::InvalidPort { port } => Error::InvalidPort { port: redact(port) },
            Error::InvalidHost { host, reason } => Error::InvalidHost {
                host: redact(host),
                reason,
            },
            Error::TcpHostName { host } => Error::TcpHostName { host: redact(host) },
            Error::TcpPath { path } => Error::TcpPath { path: redact(path) },
            Error::TcpQuery { query } => Error::TcpQuery {
                query: redact(query),
            },
            Error::InvalidUtf8 { part } => Error::InvalidUtf8 { part: redact(part) },
            Error::MissingOptionValue { key } => Error::MissingOptionValue { key: redact(key) },
            Error::EmptyOptionKey { value } => Error::EmptyOptionKey {
                value: redact(value),
            },
            Error::UnknownOption { key, value: _ } if is_secret_name(&key) => {
                Error::UnknownOption {
                    key,
                    value: HIDDEN.to_owned(),
                }
            }
            Error::InvalidOptionValue {
                key,
                value: _,
                expected,
            } if is_secret_name(key) => Error::InvalidOptionValue {
                key,
                value: HIDDEN.to_owned(),
                expected,
            },
            other => other,
        }
    }
}

/// Whether [`Unredacted`]'s `Display` or the ordinary one is printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secrets {
    /// Secret values print as [`HIDDEN`].
    Hidden,
    /// Secret values print as they are.
    Shown,
}

/// A URL or option set printed **with** its secrets (`Display`), for a program that must pass
/// the exact value on — never for a log, an error or a report. Made by
/// [`SrtUrl::unredacted`], [`Url::unredacted`] and [`SrtOptions::unredacted`]; parsing what it
/// prints gives an equal value.
///
/// ```
/// use tmio_url::SrtUrl;
/// let url: SrtUrl = "srt://h:9000?passphrase=0123456789".parse()?;
/// assert_eq!(url.to_string(), "srt://h:9000?passphrase=<hidden>");
/// let exact = url.unredacted().to_string();
/// assert_eq!(exact, "srt://h:9000?passphrase=0123456789");
/// assert_eq!(exact.parse::<SrtUrl>()?, url);
/// # Ok::<(), tmio_url::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Unredacted<'a, T>(pub(crate) &'a T);

/// Never prints the secret: `Debug` is for logs.
impl<T> fmt::Debug for Unredacted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unredacted(..)")
    }
}

impl fmt::Display for Unredacted<'_, SrtOptions> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_query(f, Secrets::Shown)
    }
}

impl fmt::Display for Unredacted<'_, SrtUrl> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_url(f, Secrets::Shown)
    }
}

impl fmt::Display for Unredacted<'_, Url> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Url::Tcp(url) => write!(f, "{url}"),
            Url::Srt(url) => url.write_url(f, Secrets::Shown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_secret_items_change() {
        for (text, redacted) in [
            ("", ""),
            ("srt://h:1", "srt://h:1"),
            ("passphrase=abc", "passphrase=<hidden>"),
            ("srt://h:1?passphrase=", "srt://h:1?passphrase=<hidden>"),
            (
                "srt://h:1?streamid=#!::r=a,u=b&pass%70hrase=a%26b&latency=2",
                "srt://h:1?streamid=#!::r=a,u=b&pass%70hrase=<hidden>&latency=2",
            ),
            (
                "srt://h:1&passphrase=x?y",
                "srt://h:1&passphrase=<hidden>?y",
            ),
            (
                "srt://h:1?passphrase=a?b&c=d",
                "srt://h:1?passphrase=<hidden>&c=d",
            ),
            ("srt//h:1?passphrase=x?y", "srt//h:1?passphrase=<hidden>"),
            ("srt://h:1/a&Password=x", "srt://h:1/a&Password=<hidden>"),
            ("srt://u@h:1", "srt://u@h:1"),
            ("srt://u:p:q@h:1?x=1", "srt://u:<hidden>@h:1?x=1"),
            ("srt://h:1?latency=20&&", "srt://h:1?latency=20&&"),
            ("?&=&passphrase", "?&=&passphrase"),
            ("srt://h:1?txSecret=a", "srt://h:1?txSecret=<hidden>"),
        ] {
            assert_eq!(redact_url_text(text), redacted, "{text:?}");
            assert_eq!(redact_url_text(redacted), redacted, "{redacted:?} again");
        }
    }

    #[test]
    fn multibyte_text_is_kept_whole() {
        let text = "srt://hé:1?é=ü&passphrase=日本語のパスワード&ü=é";
        assert_eq!(
            redact_url_text(text),
            "srt://hé:1?é=ü&passphrase=<hidden>&ü=é"
        );
    }

    #[test]
    fn secret_names() {
        for name in [
            "passphrase",
            "PASSPHRASE",
            "Passphrase",
            "SRTO_PASSPHRASE",
            "Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto",
            "passwd",
            "txSecret",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["latency", "streamid", "pbkeylen", "srt latency (ms)", ""] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn unredacted_debug_does_not_print_the_secret() {
        let url = SrtUrl::parse("srt://h:1?passphrase=0123456789").unwrap();
        assert_eq!(format!("{:?}", url.unredacted()), "Unredacted(..)");
    }
}
