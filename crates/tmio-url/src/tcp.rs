//! `tcp://IP:PORT` URLs: the local side a pusher connects to.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::split::split;
use crate::{Error, Host};

const TCP_EXAMPLE: &str = "tcp://127.0.0.1:1935";

/// A `tcp://IP:PORT` URL: an IPv4 or bracketed IPv6 address and a port (0 lets the system
/// choose). Host names are refused: the local side must be an address.
///
/// ```
/// use tmio_url::TcpUrl;
/// let url: TcpUrl = "tcp://[::1]:1935".parse()?;
/// assert_eq!(url.addr, "[::1]:1935".parse().unwrap());
/// assert_eq!(url.to_string(), "tcp://[::1]:1935");
/// assert!("tcp://localhost:1935".parse::<TcpUrl>().is_err());
/// # Ok::<(), tmio_url::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpUrl {
    /// The socket address.
    pub addr: SocketAddr,
}

impl TcpUrl {
    /// A URL for the given address.
    pub fn new(addr: SocketAddr) -> Self {
        TcpUrl { addr }
    }

    /// Parses `tcp://IP:PORT` (a lone trailing `/` is accepted). An error carries no secret
    /// (see [`redact_url_text`](crate::redact_url_text)).
    pub fn parse(input: &str) -> Result<Self, Error> {
        Self::parse_text(input).map_err(Error::hide_secrets)
    }

    fn parse_text(input: &str) -> Result<Self, Error> {
        let parts = split(input, TCP_EXAMPLE)?;
        if parts.scheme != "tcp" {
            return Err(Error::UnsupportedScheme {
                scheme: parts.scheme,
                expected: "tcp://",
            });
        }
        if !parts.path.is_empty() && parts.path != "/" {
            return Err(Error::TcpPath {
                path: parts.path.to_owned(),
            });
        }
        if let Some(query) = parts.query.filter(|q| !q.is_empty()) {
            return Err(Error::TcpQuery {
                query: query.to_owned(),
            });
        }
        if parts.host.is_empty() {
            return Err(Error::TcpMissingHost);
        }
        let ip: IpAddr = match Host::parse_url_host(parts.host)? {
            Host::Name(name) => return Err(Error::TcpHostName { host: name }),
            Host::Ipv4(ip) => ip.into(),
            Host::Ipv6(ip) => ip.into(),
        };
        Ok(TcpUrl {
            addr: SocketAddr::new(ip, parts.port),
        })
    }
}

impl From<SocketAddr> for TcpUrl {
    fn from(addr: SocketAddr) -> Self {
        TcpUrl { addr }
    }
}

impl FromStr for TcpUrl {
    type Err = Error;
    fn from_str(input: &str) -> Result<Self, Error> {
        Self::parse(input)
    }
}

/// Prints `tcp://IP:PORT` (IPv6 in brackets, without scope id or flow info).
impl fmt::Display for TcpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tcp://{}:{}",
            Host::from(self.addr.ip()),
            self.addr.port()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_port_zero_parse() {
        assert_eq!(
            TcpUrl::parse("tcp://127.0.0.1:1935").unwrap().addr,
            "127.0.0.1:1935".parse().unwrap()
        );
        assert_eq!(
            TcpUrl::parse("tcp://0.0.0.0:0").unwrap().addr,
            "0.0.0.0:0".parse().unwrap()
        );
        assert_eq!(
            TcpUrl::parse("TCP://[::]:0/").unwrap().to_string(),
            "tcp://[::]:0"
        );
    }

    #[test]
    fn names_are_refused_with_advice() {
        let error = TcpUrl::parse("tcp://localhost:1935").unwrap_err();
        assert_eq!(
            error,
            Error::TcpHostName {
                host: "localhost".into()
            }
        );
        assert!(error.to_string().contains("give an address"), "{error}");
        assert_eq!(TcpUrl::parse("tcp://:1935"), Err(Error::TcpMissingHost));
    }

    #[test]
    fn paths_queries_and_other_schemes_are_refused() {
        assert_eq!(
            TcpUrl::parse("tcp://127.0.0.1:1935/live"),
            Err(Error::TcpPath {
                path: "/live".into()
            })
        );
        assert_eq!(
            TcpUrl::parse("tcp://127.0.0.1:1935?x=1"),
            Err(Error::TcpQuery {
                query: "x=1".into()
            })
        );
        assert!(matches!(
            TcpUrl::parse("srt://127.0.0.1:1935"),
            Err(Error::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            TcpUrl::parse("tcp://127.0.0.1"),
            Err(Error::MissingPort { .. })
        ));
        assert!(matches!(
            TcpUrl::parse("tcp://1.2.3:5"),
            Err(Error::InvalidHost { .. })
        ));
    }

    #[test]
    fn display_drops_the_scope_id() {
        let addr: SocketAddr = "[fe80::1%2]:80".parse().unwrap();
        assert_eq!(TcpUrl::new(addr).to_string(), "tcp://[fe80::1]:80");
    }
}
