//! The crate's one error type and the description of what an option value must look like.

use std::fmt;

use crate::srt::Mode;

/// Everything that can be wrong with a `tcp://` or `srt://` URL or an SRT stream id.
///
/// Every variant names the offending part of the input, and its `Display` text says what to
/// write instead. A secret is never carried: a passphrase error gives its length only
/// ([`Error::InvalidPassphrase`]) and the text of the input is carried with its secret values
/// replaced by [`HIDDEN`](crate::HIDDEN) (see [`redact_url_text`](crate::redact_url_text)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text has no `scheme://` prefix.
    #[error(
        "{input:?} is not a URL: expected scheme://…, e.g. srt://host:9000 or tcp://127.0.0.1:1935"
    )]
    MissingScheme {
        /// The whole input.
        input: String,
    },
    /// The scheme is not one this parser accepts.
    #[error("unsupported scheme {scheme:?}: expected {expected}")]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
        /// The scheme(s) accepted here, e.g. `"srt://"`.
        expected: &'static str,
    },
    /// The authority has a `user@` part, which neither scheme uses.
    #[error("user info {userinfo:?} is not supported: remove the part before '@'")]
    UserInfo {
        /// The text before `@`.
        userinfo: String,
    },
    /// The URL has no `:PORT` (or an empty one).
    #[error("missing port after host {host:?}: write HOST:PORT, e.g. {example}")]
    MissingPort {
        /// The host part as written (may be empty).
        host: String,
        /// An example of a correct URL for this scheme.
        example: &'static str,
    },
    /// The port is not a number from 0 to 65535.
    #[error("invalid port {port:?}: expected a whole number from 0 to 65535")]
    InvalidPort {
        /// The port as written.
        port: String,
    },
    /// Port 0 only makes sense for something that binds (a listener, or the local tcp:// side).
    #[error("port 0 is not allowed in {mode} mode: give the port of the remote SRT peer")]
    ZeroPort {
        /// The effective connection mode.
        mode: Mode,
    },
    /// The host is neither a valid name, a valid IPv4 address nor a bracketed IPv6 address.
    #[error("invalid host {host:?}: {reason}")]
    InvalidHost {
        /// The host as written.
        host: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A caller or rendezvous URL needs the remote host.
    #[error(
        "{mode} mode needs a remote host: write srt://HOST:PORT (an empty host means listener)"
    )]
    MissingHost {
        /// The effective connection mode.
        mode: Mode,
    },
    /// `tcp://` takes an IP address, never a host name.
    #[error("tcp:// needs an IP address, not the name {host:?}: give an address, e.g. tcp://127.0.0.1:1935 or tcp://[::1]:1935")]
    TcpHostName {
        /// The name as written.
        host: String,
    },
    /// `tcp://` with an empty host.
    #[error("tcp:// needs an IP address: give an address, e.g. tcp://127.0.0.1:1935 or tcp://0.0.0.0:1935")]
    TcpMissingHost,
    /// `tcp://` URLs have no path.
    #[error("tcp:// URLs take no path, found {path:?}: write tcp://IP:PORT")]
    TcpPath {
        /// The path as written.
        path: String,
    },
    /// `tcp://` URLs have no query options.
    #[error("tcp:// URLs take no options, found {query:?}: write tcp://IP:PORT")]
    TcpQuery {
        /// The query as written (without `?`).
        query: String,
    },
    /// An IPv6 address written without brackets, e.g. `tcp://::1:1936`.
    #[error("IPv6 address {authority:?} must be written in brackets: write {suggestion}")]
    UnbracketedIpv6 {
        /// The authority (host and port) as written.
        authority: String,
        /// The same URL's scheme, address and port, bracketed, e.g. `tcp://[::1]:1936`
        /// (`PORT` stands for a port that could not be told apart from the address).
        suggestion: String,
    },
    /// A part decodes (after percent-decoding) to bytes that are not UTF-8.
    #[error("{part:?} is not valid UTF-8 after percent-decoding")]
    InvalidUtf8 {
        /// The raw (still encoded) text.
        part: String,
    },
    /// A query item has no `=`.
    #[error("option {key:?} has no value: write {key}=VALUE")]
    MissingOptionValue {
        /// The item as written.
        key: String,
    },
    /// A query item has an empty key (`=value`).
    #[error("option with an empty name (\"={value}\"): write NAME=VALUE")]
    EmptyOptionKey {
        /// The value after `=`.
        value: String,
    },
    /// The query names an option this crate does not know (strict mode only). Its text
    /// suggests the nearest known option name when one is close enough to be a typo
    /// ([`suggest_option_name`]).
    #[error("unknown option {key:?} (value {value:?}){}", did_you_mean(key))]
    UnknownOption {
        /// The option name as given (decoded).
        key: String,
        /// Its value (decoded).
        value: String,
    },
    /// The same option (or two aliases of it) appears twice.
    #[error("option {key:?} is given twice: keep one")]
    DuplicateOption {
        /// The canonical option name.
        key: &'static str,
    },
    /// An option value does not parse or is out of range.
    #[error("invalid value {value:?} for {key:?}: expected {expected}")]
    InvalidOptionValue {
        /// The canonical option name.
        key: &'static str,
        /// The value (decoded).
        value: String,
        /// What the value must look like.
        expected: ValueKind,
    },
    /// A passphrase that cannot be used. Its value is never carried nor printed, only its
    /// length and what is wrong with it.
    #[error("invalid value for \"passphrase\" ({length} bytes, not shown): {reason}")]
    InvalidPassphrase {
        /// Its length in bytes (percent-decoded).
        length: usize,
        /// What is wrong, e.g. "expected 10 to 79 bytes".
        reason: &'static str,
    },
    /// A stream id longer than libsrt's 512-byte limit.
    #[error("stream id is {length} bytes long: libsrt allows at most 512")]
    StreamIdTooLong {
        /// The length in bytes.
        length: usize,
    },
    /// An access-control (`#!::`) stream id item without `=`.
    #[error(
        "stream id item {item:?} has no '=': write key=value items separated by ',' after \"#!::\""
    )]
    StreamIdItemWithoutValue {
        /// The item as written.
        item: String,
    },
    /// An access-control stream id item with an empty key.
    #[error("stream id item {item:?} has an empty key: write key=value")]
    StreamIdEmptyKey {
        /// The item as written.
        item: String,
    },
    /// An access-control stream id key appears twice.
    #[error("stream id key {key:?} is given twice: keep one")]
    StreamIdDuplicateKey {
        /// The key.
        key: String,
    },
    /// The `t=` (type) value is not `stream`, `file` or `auth`.
    #[error("invalid stream id type t={value:?}: expected stream, file or auth")]
    StreamIdInvalidType {
        /// The value as written.
        value: String,
    },
    /// The `m=` (mode) value is not `request`, `publish` or `bidirectional`.
    #[error("invalid stream id mode m={value:?}: expected request, publish or bidirectional")]
    StreamIdInvalidMode {
        /// The value as written.
        value: String,
    },
    /// An access-control key or value contains a character the `#!::` syntax cannot carry.
    #[error("stream id {what} {text:?} contains {character:?}, which the \"#!::key=value,…\" syntax cannot carry")]
    StreamIdForbiddenCharacter {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// The offending key or value.
        text: String,
        /// The character (`,` in values; `,` or `=` in keys).
        character: char,
    },
}

/// The known option name (canonical or alias, as [`OptionKey::from_name`] accepts it) nearest to
/// `unknown`, if it is close enough to be a typo: at most one edit for names of up to 4
/// letters, two for longer ones (insertions, deletions, substitutions and swaps of two
/// neighbours, ASCII case ignored). Ties go to the first name in [`OptionKey::ALL`] order.
///
/// ```
/// use tmio_url::suggest_option_name;
///
/// assert_eq!(suggest_option_name("latancy"), Some("latency"));
/// assert_eq!(suggest_option_name("pasphrase"), Some("passphrase"));
/// assert_eq!(suggest_option_name("STREMID"), Some("streamid"));
/// assert_eq!(suggest_option_name("bitrate"), None);
/// ```
///
/// [`OptionKey::from_name`]: crate::OptionKey::from_name
/// [`OptionKey::ALL`]: crate::OptionKey::ALL
pub fn suggest_option_name(unknown: &str) -> Option<&'static str> {
    let unknown = unknown.to_ascii_lowercase();
    let limit = if unknown.chars().count() <= 4 { 1 } else { 2 };
    let mut best: Option<(usize, &'static str)> = None;
    for key in crate::OptionKey::ALL {
        for name in std::iter::once(key.name()).chain(key.aliases().iter().copied()) {
            let distance = edit_distance(&unknown, &name.to_ascii_lowercase());
            if distance <= limit && best.is_none_or(|(shortest, _)| distance < shortest) {
                best = Some((distance, name));
            }
        }
    }
    best.map(|(_, name)| name)
}

/// `": did you mean \"NAME\"?"` for [`Error::UnknownOption`]'s message, or nothing.
fn did_you_mean(key: &str) -> String {
    match suggest_option_name(key) {
        Some(name) => format!(": did you mean {name:?}?"),
        None => String::new(),
    }
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
/// of two adjacent characters, each costing one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut distance = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                distance = distance.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = distance;
        }
    }
    rows[a.len()][b.len()]
}

/// What an option value must look like; used in [`Error::InvalidOptionValue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// Whole milliseconds, 0 to 2147483647.
    Milliseconds,
    /// Whole milliseconds, 60 to 2147483647 (`groupminstabletimeo`).
    GroupStableMilliseconds,
    /// Whole seconds, 0 to 2147483647 (`linger`).
    Seconds,
    /// A boolean: 1/0, true/false, yes/no, on/off.
    Bool,
    /// `caller`, `listener` or `rendezvous` (or the aliases `client`, `server`).
    Mode,
    /// `live` or `file`.
    TransType,
    /// `live`, `live_bbr` or `file`.
    CongestionControl,
    /// A passphrase of 10 to 79 bytes.
    Passphrase,
    /// 0, 16, 24 or 32.
    KeyLength,
    /// -1 (unlimited), 0 (relative to `inputbw`) or bytes per second.
    MaxBandwidth,
    /// Bytes per second, 0 to 9223372036854775807.
    BytesPerSecond,
    /// A percentage from 5 to 100.
    OverheadPercent,
    /// Payload bytes, 0 to 1456.
    PayloadSize,
    /// Maximum segment size in bytes, 76 to 65535.
    SegmentSize,
    /// Buffer bytes, 1 to 2147483647.
    BufferBytes,
    /// Packets, 0 to 2147483647.
    Packets,
    /// Flow-control window in packets, 32 to 2147483647.
    FlowWindow,
    /// An IP address or host name (IPv6 without brackets allowed).
    Address,
    /// A port number, 0 to 65535.
    Port,
    /// A whole number, 0 to 65535 (`weight`).
    Weight,
    /// IP time to live, 1 to 255.
    Ttl,
    /// IP type of service, 0 to 255.
    Tos,
    /// A stream id (at most 512 bytes).
    StreamId,
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Milliseconds => "milliseconds (a whole number from 0 to 2147483647)",
            Self::GroupStableMilliseconds => "milliseconds (a whole number from 60 to 2147483647)",
            Self::Seconds => "seconds (a whole number from 0 to 2147483647)",
            Self::Bool => "a boolean: 1/0, true/false, yes/no or on/off",
            Self::Mode => "caller, listener or rendezvous",
            Self::TransType => "live or file",
            Self::CongestionControl => "live, live_bbr or file",
            Self::Passphrase => "a passphrase of 10 to 79 bytes",
            Self::KeyLength => "a key length in bytes: 0 (default), 16, 24 or 32",
            Self::MaxBandwidth => {
                "-1 (unlimited), 0 (relative to inputbw) or a bandwidth in bytes per second"
            }
            Self::BytesPerSecond => {
                "bytes per second (a whole number from 0 to 9223372036854775807)"
            }
            Self::OverheadPercent => "a percentage from 5 to 100",
            Self::PayloadSize => "bytes (a whole number from 0 to 1456)",
            Self::SegmentSize => "bytes (a whole number from 76 to 65535)",
            Self::BufferBytes => "bytes (a whole number from 1 to 2147483647)",
            Self::Packets => "packets (a whole number from 0 to 2147483647)",
            Self::FlowWindow => "packets (a whole number from 32 to 2147483647)",
            Self::Address => "an IP address or host name",
            Self::Port => "a port number from 0 to 65535",
            Self::Weight => "a whole number from 0 to 65535",
            Self::Ttl => "a hop count from 1 to 255",
            Self::Tos => "a whole number from 0 to 255",
            Self::StreamId => "a stream id of at most 512 bytes",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_value_message_names_key_value_and_expectation() {
        let error = Error::InvalidOptionValue {
            key: "latency",
            value: "abc".into(),
            expected: ValueKind::Milliseconds,
        };
        assert_eq!(
            error.to_string(),
            "invalid value \"abc\" for \"latency\": expected milliseconds (a whole number from 0 to 2147483647)"
        );
    }

    #[test]
    fn edit_distance_counts_typos() {
        assert_eq!(edit_distance("latency", "latency"), 0);
        assert_eq!(edit_distance("latancy", "latency"), 1);
        assert_eq!(edit_distance("latnecy", "latency"), 1);
        assert_eq!(edit_distance("ltncy", "latency"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn unknown_option_message_suggests_a_near_name_and_no_docs_or_modes() {
        let error = Error::UnknownOption {
            key: "latancy".into(),
            value: "200".into(),
        };
        assert_eq!(
            error.to_string(),
            "unknown option \"latancy\" (value \"200\"): did you mean \"latency\"?"
        );
        let far = Error::UnknownOption {
            key: "bitrate".into(),
            value: "5".into(),
        };
        assert_eq!(far.to_string(), "unknown option \"bitrate\" (value \"5\")");
        for error in [error, far] {
            let text = error.to_string();
            assert!(
                !text.contains("docs/") && !text.contains("lenient"),
                "{text}"
            );
        }
    }

    #[test]
    fn zero_port_message_names_the_mode() {
        let error = Error::ZeroPort { mode: Mode::Caller };
        assert!(error.to_string().contains("caller mode"), "{error}");
    }
}
