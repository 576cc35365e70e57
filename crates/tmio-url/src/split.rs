//! Splitting a URL into scheme, authority (host and port), path and query.

use crate::Error;

/// The raw parts of `scheme://authority/path?query`. `#` is not a fragment delimiter: SRT
/// stream ids start with `#!::` and are written unencoded in practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts<'a> {
    /// The scheme, lower-cased.
    pub scheme: String,
    /// The host as written: empty, a name, an IPv4 address or `[IPv6]`.
    pub host: &'a str,
    /// The port.
    pub port: u16,
    /// The path including its leading `/`, or empty.
    pub path: &'a str,
    /// The text after the first `?`, if any.
    pub query: Option<&'a str>,
}

/// Splits `input`; `example` is shown when the port is missing.
pub(crate) fn split<'a>(input: &'a str, example: &'static str) -> Result<Parts<'a>, Error> {
    let (scheme, rest) = input
        .split_once("://")
        .ok_or_else(|| Error::MissingScheme {
            input: input.to_owned(),
        })?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(Error::MissingScheme {
            input: input.to_owned(),
        });
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(slash) => before_query.split_at(slash),
        None => (before_query, ""),
    };
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        return Err(Error::UserInfo {
            userinfo: userinfo.to_owned(),
        });
    }
    let scheme = scheme.to_ascii_lowercase();
    if !authority.starts_with('[') && authority.matches(':').count() > 1 {
        return Err(unbracketed_ipv6(&scheme, authority));
    }
    let (host, port) = split_host_port(authority, example)?;
    Ok(Parts {
        scheme,
        host,
        port,
        path,
        query,
    })
}

/// The error for an IPv6 address written without brackets, suggesting the same scheme, address
/// and port bracketed: `tcp://::1:1936` → `tcp://[::1]:1936`. When the last `:`-group cannot be
/// a port (the whole text is an address, e.g. `::1`), the suggestion ends in `:PORT`.
fn unbracketed_ipv6(scheme: &str, authority: &str) -> Error {
    let as_address_and_port = authority.rsplit_once(':').filter(|(address, port)| {
        !port.is_empty()
            && port.parse::<u16>().is_ok()
            && address.parse::<std::net::Ipv6Addr>().is_ok()
    });
    let suggestion = match as_address_and_port {
        Some((address, port)) => format!("{scheme}://[{address}]:{port}"),
        None => format!("{scheme}://[{authority}]:PORT"),
    };
    Error::UnbracketedIpv6 {
        authority: authority.to_owned(),
        suggestion,
    }
}

fn split_host_port<'a>(authority: &'a str, example: &'static str) -> Result<(&'a str, u16), Error> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or_else(|| Error::InvalidHost {
            host: authority.to_owned(),
            reason: "an IPv6 address must be closed with ']'",
        })?;
        let (host, after) = authority.split_at(close + 1);
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => {
                return Err(Error::InvalidHost {
                    host: authority.to_owned(),
                    reason: "expected ':' and a port after ']'",
                })
            }
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None | Some("") => {
            return Err(Error::MissingPort {
                host: host.to_owned(),
                example,
            })
        }
        Some(port) => port,
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidPort {
            port: port.to_owned(),
        });
    }
    let port = port.parse::<u16>().map_err(|_| Error::InvalidPort {
        port: port.to_owned(),
    })?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "srt://host:9000";

    #[test]
    fn splits_every_part() {
        let parts = split("SRT://host:9000/app/x?latency=1&a=b?c", EXAMPLE).unwrap();
        assert_eq!(
            parts,
            Parts {
                scheme: "srt".into(),
                host: "host",
                port: 9000,
                path: "/app/x",
                query: Some("latency=1&a=b?c"),
            }
        );
    }

    #[test]
    fn hash_is_not_a_fragment() {
        let parts = split("srt://h:1?streamid=#!::r=a/b,m=publish", EXAMPLE).unwrap();
        assert_eq!(parts.query, Some("streamid=#!::r=a/b,m=publish"));
        assert_eq!(parts.path, "");
    }

    #[test]
    fn empty_host_and_ipv6() {
        assert_eq!(split("srt://:9000", EXAMPLE).unwrap().host, "");
        assert_eq!(split("srt://[::1]:9000", EXAMPLE).unwrap().host, "[::1]");
    }

    #[test]
    fn errors_name_the_part() {
        assert!(matches!(
            split("host:9000", EXAMPLE),
            Err(Error::MissingScheme { .. })
        ));
        assert!(matches!(
            split("://host:9000", EXAMPLE),
            Err(Error::MissingScheme { .. })
        ));
        assert!(matches!(
            split("1a://h:1", EXAMPLE),
            Err(Error::MissingScheme { .. })
        ));
        assert_eq!(
            split("srt://user:pw@host:9000", EXAMPLE),
            Err(Error::UserInfo {
                userinfo: "user:pw".into()
            })
        );
        assert_eq!(
            split("srt://host", EXAMPLE),
            Err(Error::MissingPort {
                host: "host".into(),
                example: EXAMPLE
            })
        );
        assert!(matches!(
            split("srt://host:", EXAMPLE),
            Err(Error::MissingPort { .. })
        ));
        assert!(matches!(
            split("srt://[::1]", EXAMPLE),
            Err(Error::MissingPort { .. })
        ));
        assert_eq!(
            split("srt://host:65536", EXAMPLE),
            Err(Error::InvalidPort {
                port: "65536".into()
            })
        );
        assert!(matches!(
            split("srt://host:+1", EXAMPLE),
            Err(Error::InvalidPort { .. })
        ));
        assert!(matches!(
            split("srt://host:9x", EXAMPLE),
            Err(Error::InvalidPort { .. })
        ));
        assert_eq!(
            split("srt://::1:9000", EXAMPLE),
            Err(Error::UnbracketedIpv6 {
                authority: "::1:9000".into(),
                suggestion: "srt://[::1]:9000".into(),
            })
        );
        assert!(matches!(
            split("srt://[::1:9000", EXAMPLE),
            Err(Error::InvalidHost { .. })
        ));
        assert!(matches!(
            split("srt://[::1]9000", EXAMPLE),
            Err(Error::InvalidHost { .. })
        ));
    }

    #[test]
    fn unbracketed_ipv6_suggests_the_same_scheme_address_and_port() {
        for (input, suggestion) in [
            ("tcp://::1:1936", "tcp://[::1]:1936"),
            ("TCP://::1:1936", "tcp://[::1]:1936"),
            (
                "srt://2001:db8::7:9000?latency=20",
                "srt://[2001:db8::7]:9000",
            ),
            ("tcp://fe80::1:0", "tcp://[fe80::1]:0"),
            // The last group is no port (not a number, or out of range): the address whole.
            ("tcp://::ffff", "tcp://[::ffff]:PORT"),
            ("tcp://2001:db8::1:99999", "tcp://[2001:db8::1:99999]:PORT"),
        ] {
            let error = split(input, EXAMPLE).err();
            match &error {
                Some(Error::UnbracketedIpv6 { suggestion: s, .. }) => {
                    assert_eq!(s, suggestion, "{input}")
                }
                other => panic!("{input}: {other:?}"),
            }
            let text = error.map(|e| e.to_string()).unwrap_or_default();
            assert!(text.ends_with(&format!("write {suggestion}")), "{text}");
        }
    }
}
