//! UDP sockets for SRT and the datagram ⇄ packet codec (srt-protocol's).

use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
};

use socket2::{Domain, Protocol, Socket, Type};
use srt_protocol::packet::{Packet, PacketParseError};
use tokio::net::UdpSocket;

use crate::Error;

/// Largest datagram tmio accepts (an SRT packet never exceeds the 1500-byte MSS, but a peer may
/// send anything: a larger datagram is read whole and then rejected by the parser).
pub(crate) const MAX_DATAGRAM: usize = 65_536;

/// Binds a non-blocking UDP socket with large kernel buffers.
pub(crate) fn bind(addr: SocketAddr, buffer_bytes: usize) -> Result<UdpSocket, Error> {
    let bind_error = |source: io::Error| Error::Bind { addr, source };
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(bind_error)?;
    if addr.is_ipv6() {
        // Accept v4-mapped peers too, as libsrt does with `ipv6only=0`.
        let _ = socket.set_only_v6(false);
    }
    socket.set_nonblocking(true).map_err(bind_error)?;
    socket.bind(&addr.into()).map_err(bind_error)?;
    finish(socket.into(), buffer_bytes).map_err(|e| match e {
        Error::LocalIo { source, .. } => Error::Bind { addr, source },
        other => other,
    })
}

/// Takes over a UDP socket the application already opened (the SDK lets a link reuse one).
pub(crate) fn adopt(socket: std::net::UdpSocket, buffer_bytes: usize) -> Result<UdpSocket, Error> {
    socket
        .set_nonblocking(true)
        .map_err(|source| Error::LocalIo {
            context: "making the given UDP socket non-blocking",
            source,
        })?;
    finish(socket, buffer_bytes)
}

fn finish(socket: std::net::UdpSocket, buffer_bytes: usize) -> Result<UdpSocket, Error> {
    let socket2 = Socket::from(socket);
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    let _ = socket2.set_recv_buffer_size(buffer_bytes);
    let _ = socket2.set_send_buffer_size(buffer_bytes);
    UdpSocket::from_std(socket2.into()).map_err(|source| Error::LocalIo {
        context: "registering the UDP socket with tokio",
        source,
    })
}

/// The wildcard address of the same family as `remote`, port 0.
pub(crate) fn any_address_for(remote: SocketAddr) -> SocketAddr {
    match remote {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}

/// Parses one datagram. Never panics on any input (checked by a fuzz target and a proptest).
pub(crate) fn decode(datagram: &[u8], from: SocketAddr) -> Result<Packet, PacketParseError> {
    let mut buf = datagram;
    Packet::parse(&mut buf, from.is_ipv6())
}

/// Serialises one packet into `out` (cleared first).
pub(crate) fn encode(packet: &Packet, out: &mut Vec<u8>) {
    out.clear();
    packet.serialize(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
            let from: SocketAddr = "127.0.0.1:1".parse().unwrap();
            let _ = decode(&bytes, from);
        }
    }

    #[tokio::test]
    async fn bind_reports_the_address_on_failure() {
        let first = bind("127.0.0.1:0".parse().unwrap(), 1 << 20).unwrap();
        let taken = first.local_addr().unwrap();
        let err = bind(taken, 1 << 20).unwrap_err();
        assert!(err.to_string().contains(&taken.to_string()), "{err}");
    }
}
