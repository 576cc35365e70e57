//! Datagram → packet, for everything that arrives from the network.
//!
//! The one entry point for bytes from a socket. Handshakes are parsed by tmio's own codec
//! ([`super::handshake::packet`]); every other packet is checked here against what
//! srt-protocol's parser can take without panicking, and only then parsed by it. What srt-protocol
//! would panic on (user-defined control packets with empty or short bodies, key material with no
//! key) and what tmio does not use (user-defined control packets other than key refresh) is
//! refused with a [`DecodeError`]. Nothing here can panic on any input: a proptest below and the
//! `datagram` fuzz target check it. See `docs/srt-stack-choice-evidence.md` for why.

use std::{fmt, net::SocketAddr};

use srt_protocol::packet::{Packet, PacketParseError};

use super::handshake::packet::{
    is_handshake, parse_key_material, Handshake, HandshakeParseError, HEADER_BYTES,
};

/// A datagram, parsed.
#[derive(Debug)]
pub(crate) enum Datagram {
    /// A handshake packet (control type 0), parsed by tmio's codec.
    Handshake(Handshake),
    /// Any other packet, parsed by srt-protocol after tmio's checks.
    Packet(Packet),
}

/// Why a datagram was dropped.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// Shorter than an SRT header.
    TooShort(usize),
    /// A malformed handshake.
    Handshake(HandshakeParseError),
    /// srt-protocol refused it.
    Packet(PacketParseError),
    /// A packet tmio does not take.
    Unsupported(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort(len) => write!(f, "{len} bytes is shorter than an SRT header"),
            DecodeError::Handshake(e) => write!(f, "{e}"),
            DecodeError::Packet(e) => write!(f, "{e}"),
            DecodeError::Unsupported(what) => write!(f, "unsupported: {what}"),
        }
    }
}

/// SRT's user-defined control type, whose subtype is in the header's reserved field.
const USER_DEFINED_CONTROL: u16 = 0x7fff;
/// Subtypes of a user-defined control packet that tmio takes: key refresh request and response.
const KM_REFRESH_REQUEST: u16 = 3;
const KM_REFRESH_RESPONSE: u16 = 4;

/// Parses one datagram. Never panics.
pub(crate) fn decode(datagram: &[u8], from: SocketAddr) -> Result<Datagram, DecodeError> {
    if datagram.len() < HEADER_BYTES {
        return Err(DecodeError::TooShort(datagram.len()));
    }
    if is_handshake(datagram) {
        return Handshake::parse(datagram)
            .map(Datagram::Handshake)
            .map_err(DecodeError::Handshake);
    }
    let is_control = datagram[0] & 0x80 != 0;
    if is_control {
        let control_type = u16::from_be_bytes([datagram[0], datagram[1]]) & 0x7fff;
        if control_type == USER_DEFINED_CONTROL {
            let subtype = u16::from_be_bytes([datagram[2], datagram[3]]);
            if subtype != KM_REFRESH_REQUEST && subtype != KM_REFRESH_RESPONSE {
                return Err(DecodeError::Unsupported(
                    "user-defined control packet other than a key refresh",
                ));
            }
            parse_key_material(subtype, &datagram[HEADER_BYTES..])
                .map_err(DecodeError::Handshake)?;
        }
    }
    let mut buf = datagram;
    Packet::parse(&mut buf, from.is_ipv6())
        .map(Datagram::Packet)
        .map_err(DecodeError::Packet)
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

    fn from() -> SocketAddr {
        "127.0.0.1:9000".parse().unwrap()
    }

    #[test]
    fn the_packets_that_crashed_srt_protocol_are_refused() {
        // Subtypes 5, 6, 7 with an empty body and 8 with 0-3 bytes: issue 7's datagrams.
        for subtype in [5u8, 6, 7, 8] {
            for extra in 0..4 {
                let mut bytes = vec![0xff, 0xff, 0x00, subtype];
                bytes.extend([0u8; 12]);
                bytes.extend(vec![0u8; extra]);
                assert!(
                    matches!(decode(&bytes, from()), Err(DecodeError::Unsupported(_))),
                    "subtype {subtype} + {extra} bytes"
                );
            }
        }
        // Key refresh with no body or KF = 0.
        let mut km = vec![0xff, 0xff, 0x00, 0x03];
        km.extend([0u8; 12]);
        assert!(decode(&km, from()).is_err());
        km.extend([0x12, 0x20, 0x29, 0x00]);
        km.extend([0u8; 44]);
        assert!(decode(&km, from()).is_err());
    }

    #[test]
    fn ordinary_packets_still_parse() {
        // A keepalive and a data packet.
        let keepalive = [0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7];
        assert!(matches!(
            decode(&keepalive, from()),
            Ok(Datagram::Packet(Packet::Control(_)))
        ));
        let mut data = vec![0, 0, 0, 1, 0xc0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7];
        data.extend(b"payload");
        assert!(matches!(
            decode(&data, from()),
            Ok(Datagram::Packet(Packet::Data(_)))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode(&bytes, from());
            let v6: SocketAddr = "[::1]:9000".parse().unwrap();
            let _ = decode(&bytes, v6);
        }

        #[test]
        fn decode_never_panics_on_control_packets(
            kind in prop_oneof![0u16..10, Just(0x7fffu16)],
            subtype in 0u16..10,
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut bytes = Vec::new();
            bytes.extend((kind | 0x8000).to_be_bytes());
            bytes.extend(subtype.to_be_bytes());
            bytes.extend([0u8; 12]);
            bytes.extend(body);
            let _ = decode(&bytes, from());
        }
    }
}
