//! Host names and IP addresses as they appear in URLs.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::Error;

/// Longest DNS name accepted (RFC 1035 limit on the textual form without the trailing dot).
const MAX_NAME_LEN: usize = 253;
/// Longest DNS label.
const MAX_LABEL_LEN: usize = 63;

/// The host of an `srt://` URL or the value of `adapter`: a DNS name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, kept as written (letters, digits, `-`, `_`, dot-separated labels).
    Name(String),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written in brackets in a URL).
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parses the host part of a URL: a name, an IPv4 address or a bracketed IPv6 address.
    ///
    /// ```
    /// use tmio_url::Host;
    /// assert_eq!(Host::parse_url_host("[::1]")?, Host::Ipv6(std::net::Ipv6Addr::LOCALHOST));
    /// assert!(Host::parse_url_host("::1").is_err());
    /// # Ok::<(), tmio_url::Error>(())
    /// ```
    pub fn parse_url_host(text: &str) -> Result<Self, Error> {
        Self::parse_url_host_text(text).map_err(Error::hide_secrets)
    }

    fn parse_url_host_text(text: &str) -> Result<Self, Error> {
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(|| Error::InvalidHost {
                host: text.to_owned(),
                reason: "an IPv6 address must be closed with ']'",
            })?;
            return inner
                .parse::<Ipv6Addr>()
                .map(Host::Ipv6)
                .map_err(|_| Error::InvalidHost {
                    host: text.to_owned(),
                    reason: "not a valid IPv6 address inside [ ]",
                });
        }
        if text.contains(':') {
            return Err(Error::InvalidHost {
                host: text.to_owned(),
                reason: "an IPv6 address must be written in brackets, e.g. [::1]:9000",
            });
        }
        Self::parse_name_or_ipv4(text)
    }

    /// Parses a host given as an option value (`adapter=`): a name, an IPv4 address, or an
    /// IPv6 address with or without brackets (libsrt's tools expect it without).
    pub fn parse_option_value(text: &str) -> Result<Self, Error> {
        Self::parse_option_value_text(text).map_err(Error::hide_secrets)
    }

    fn parse_option_value_text(text: &str) -> Result<Self, Error> {
        if text.starts_with('[') {
            return Self::parse_url_host_text(text);
        }
        if text.contains(':') {
            return text
                .parse::<Ipv6Addr>()
                .map(Host::Ipv6)
                .map_err(|_| Error::InvalidHost {
                    host: text.to_owned(),
                    reason: "not a valid IPv6 address",
                });
        }
        Self::parse_name_or_ipv4(text)
    }

    fn parse_name_or_ipv4(text: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidHost {
            host: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(invalid("the host is empty"));
        }
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return text.parse::<Ipv4Addr>().map(Host::Ipv4).map_err(|_| {
                invalid("not a valid IPv4 address (four numbers 0-255 separated by dots)")
            });
        }
        if text.len() > MAX_NAME_LEN {
            return Err(invalid("a host name is at most 253 characters long"));
        }
        for label in text.split('.') {
            if label.is_empty() {
                return Err(invalid(
                    "a host name has no empty labels (\"..\" or a leading/trailing dot)",
                ));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(invalid("a host name label is at most 63 characters long"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid(
                    "a host name may only contain letters, digits, '-', '_' and dots",
                ));
            }
        }
        Ok(Host::Name(text.to_owned()))
    }

    /// The IP address, if this host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Name(_) => None,
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        }
    }

    /// The host as an option value: like [`Display`](fmt::Display) but IPv6 without brackets.
    pub fn to_option_value(&self) -> String {
        match self {
            Host::Ipv6(ip) => ip.to_string(),
            other => other.to_string(),
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(ip) => Host::Ipv4(ip),
            IpAddr::V6(ip) => Host::Ipv6(ip),
        }
    }
}

/// Prints the host as it appears in a URL (IPv6 in brackets).
impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ipv4(ip) => write!(f, "{ip}"),
            Host::Ipv6(ip) => write!(f, "[{ip}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ipv4_and_bracketed_ipv6_parse() {
        assert_eq!(
            Host::parse_url_host("sh.srt.tencentcloud.com").unwrap(),
            Host::Name("sh.srt.tencentcloud.com".into())
        );
        assert_eq!(
            Host::parse_url_host("10.0.0.1").unwrap(),
            Host::Ipv4(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(
            Host::parse_url_host("[2001:db8::1]").unwrap(),
            Host::Ipv6("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            Host::parse_url_host("my_host-1").unwrap(),
            Host::Name("my_host-1".into())
        );
    }

    #[test]
    fn malformed_hosts_are_rejected_with_a_reason() {
        for bad in [
            "",
            "1.2.3",
            "256.1.1.1",
            "::1",
            "[::1",
            "[zz]",
            "a..b",
            ".a",
            "a.",
            "a b",
            "ex%41mple",
            "é.com",
        ] {
            match Host::parse_url_host(bad) {
                Err(Error::InvalidHost { host, .. }) => assert_eq!(host, bad),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let long_label = "a".repeat(64);
        assert!(Host::parse_url_host(&long_label).is_err());
        let long_name = ["a"; 127].join(".") + ".bb";
        assert!(long_name.len() > 253);
        assert!(Host::parse_url_host(&long_name).is_err());
    }

    #[test]
    fn option_values_take_bare_ipv6() {
        assert_eq!(
            Host::parse_option_value("::1").unwrap(),
            Host::Ipv6(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(
            Host::parse_option_value("[::1]").unwrap(),
            Host::Ipv6(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(Host::Ipv6(Ipv6Addr::LOCALHOST).to_option_value(), "::1");
        assert_eq!(Host::Ipv6(Ipv6Addr::LOCALHOST).to_string(), "[::1]");
    }
}
