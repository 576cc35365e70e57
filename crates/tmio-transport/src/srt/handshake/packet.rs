//! tmio's own codec for SRT handshake packets (control type 0), every extension included.
//!
//! srt-protocol parses handshakes too, but panics on several extensions (congestion control,
//! packet filter, group, empty strings) and never keeps the group extension; a listener on the
//! open network must answer every handshake it can parse, and reject with a reason the ones it
//! cannot serve. So handshakes are parsed here, with every length checked, and nothing in this
//! file can panic on any input (a proptest and the `datagram` fuzz target check it). Key-material
//! bodies are checked structurally here before srt-protocol's own parser sees them.
//!
//! Layout after the 16-byte SRT header (all big-endian; libsrt's `handshake.md`):
//! version, encryption field (16 bits) + extension field (16 bits), initial sequence number,
//! MSS, flow window, handshake type, socket id, SYN cookie, peer IP (16 bytes), then — in HSv5
//! conclusions — extension blocks: type (16 bits), length in 32-bit words (16 bits), body.

use std::fmt;

use bytes::{Buf, BufMut};
use srt_protocol::packet::{KeyingMaterialMessage, SrtHandshake};

/// Bytes of the SRT header every packet starts with.
pub(crate) const HEADER_BYTES: usize = 16;
/// Bytes of the fixed handshake body (without extensions).
pub(crate) const BODY_BYTES: usize = 48;
/// The extension field of an HSv5 induction: "this is SRT".
pub(crate) const SRT_MAGIC: u16 = 0x4A17;
/// libsrt's limit on a stream id, bytes.
pub(crate) const MAX_STREAM_ID_BYTES: usize = 512;

/// Extension flags of an HSv5 conclusion (the extension field).
pub(crate) mod ext_flags {
    /// HSREQ/HSRSP present.
    pub const HSREQ: u16 = 0x1;
    /// KMREQ/KMRSP present.
    pub const KMREQ: u16 = 0x2;
    /// Configuration extensions (stream id, congestion, filter, group) present.
    pub const CONFIG: u16 = 0x4;
}

/// Extension block types (libsrt's `SRT_CMD_*`).
pub(crate) mod ext_type {
    pub const HSREQ: u16 = 1;
    pub const HSRSP: u16 = 2;
    pub const KMREQ: u16 = 3;
    pub const KMRSP: u16 = 4;
    pub const SID: u16 = 5;
    pub const CONGESTION: u16 = 6;
    pub const FILTER: u16 = 7;
    pub const GROUP: u16 = 8;
}

/// Where a handshake packet lies in the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShakeKind {
    /// 1: the first exchange of caller and listener.
    Induction,
    /// 0: rendezvous, first packet.
    WaveAHand,
    /// -1: the second exchange (caller), or rendezvous.
    Conclusion,
    /// -2: rendezvous, last packet.
    Agreement,
    /// -3: rendezvous "done".
    Done,
    /// 1000 and up: a rejection with its reason code.
    Rejection(i32),
}

impl ShakeKind {
    fn from_raw(raw: i32) -> Result<ShakeKind, HandshakeParseError> {
        Ok(match raw {
            1 => ShakeKind::Induction,
            0 => ShakeKind::WaveAHand,
            -1 => ShakeKind::Conclusion,
            -2 => ShakeKind::Agreement,
            -3 => ShakeKind::Done,
            code if code >= 1000 => ShakeKind::Rejection(code),
            other => return Err(HandshakeParseError::BadShakeType(other)),
        })
    }

    fn raw(self) -> i32 {
        match self {
            ShakeKind::Induction => 1,
            ShakeKind::WaveAHand => 0,
            ShakeKind::Conclusion => -1,
            ShakeKind::Agreement => -2,
            ShakeKind::Done => -3,
            ShakeKind::Rejection(code) => code,
        }
    }
}

/// A key material answer: the material, or libsrt's one-word error state (`KM_S_NOSECRET` = 3,
/// `KM_S_BADSECRET` = 4) that a responder sends when it cannot use the caller's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyMaterialAnswer {
    Material(KeyingMaterialMessage),
    ErrorState(u32),
}

/// The group membership extension (`SRT_CMD_GROUP`), kept as libsrt lays it out: word 0 the
/// sender's group id (a socket id with [`GROUP_ID_BIT`] set), word 1 `type << 24 | flags << 16 |
/// weight`; libsrt may add more words, kept as they came. Parsing guarantees two words at least.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupExtension {
    pub words: Vec<u32>,
}

/// The bit that marks a socket id as a group id (libsrt's `SRTGROUP_MASK`).
pub(crate) const GROUP_ID_BIT: u32 = 0x4000_0000;

/// A group's type, as the group extension carries it (libsrt 1.5's `SRT_GROUP_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupType {
    /// 1: every packet on every member; the receiver keeps the first copy.
    Broadcast,
    /// 2: main/backup: one active member at a time, chosen by weight.
    Backup,
    /// Anything else (libsrt reserves 3 for balancing, 4 for multicast).
    Other(u8),
}

impl GroupType {
    fn from_raw(raw: u8) -> GroupType {
        match raw {
            1 => GroupType::Broadcast,
            2 => GroupType::Backup,
            other => GroupType::Other(other),
        }
    }

    /// The type's number on the wire.
    pub(crate) fn raw(self) -> u8 {
        match self {
            GroupType::Broadcast => 1,
            GroupType::Backup => 2,
            GroupType::Other(raw) => raw,
        }
    }
}

impl GroupExtension {
    /// A member's membership: its group's id (the group bit is set here), type, flags, weight.
    pub(crate) fn new(group_id: u32, kind: GroupType, flags: u8, weight: u16) -> GroupExtension {
        let word = u32::from(kind.raw()) << 24 | u32::from(flags) << 16 | u32::from(weight);
        GroupExtension {
            words: vec![group_id | GROUP_ID_BIT, word],
        }
    }

    fn word(&self, index: usize) -> u32 {
        self.words.get(index).copied().unwrap_or(0)
    }

    /// The sender's group id (with the group bit).
    pub(crate) fn group_id(&self) -> u32 {
        self.word(0)
    }

    /// Whether the id carries the group bit, as every group id must.
    pub(crate) fn has_group_bit(&self) -> bool {
        self.group_id() & GROUP_ID_BIT != 0
    }

    pub(crate) fn group_type(&self) -> GroupType {
        GroupType::from_raw((self.word(1) >> 24) as u8)
    }

    pub(crate) fn flags(&self) -> u8 {
        (self.word(1) >> 16) as u8
    }

    /// The member's weight (0-100 in the SDK; libsrt takes any 16-bit value).
    pub(crate) fn weight(&self) -> u16 {
        self.word(1) as u16
    }
}

/// One extension block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Extension {
    HandshakeRequest(SrtHandshake),
    HandshakeResponse(SrtHandshake),
    KeyMaterialRequest(KeyingMaterialMessage),
    KeyMaterialResponse(KeyMaterialAnswer),
    StreamId(String),
    /// A stream id that is not UTF-8 (SRT requires it): kept, as sent, so the listener can
    /// refuse it with a reason instead of dropping the handshake.
    StreamIdNotUtf8(Vec<u8>),
    /// The congestion controller's name (`live`, `file`).
    Congestion(String),
    /// A packet filter configuration (e.g. FEC: `fec,cols:10,rows:5`).
    Filter(String),
    Group(GroupExtension),
    /// A type tmio does not know: kept so the listener can refuse it by number.
    Unknown {
        kind: u16,
        body: Vec<u8>,
    },
}

/// A parsed handshake packet: header fields, the fixed body and the extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handshake {
    pub timestamp: u32,
    pub dest_socket_id: u32,
    pub version: u32,
    /// HSv5: the key length in bytes / 8 announced (0, 2, 3, 4); HSv4: 0.
    pub encryption_field: u16,
    /// HSv4: the socket type; HSv5 induction: [`SRT_MAGIC`]; HSv5 conclusion: [`ext_flags`].
    pub extension_field: u16,
    pub initial_sequence: u32,
    pub mss: u32,
    pub flow_window: u32,
    pub kind: ShakeKind,
    pub socket_id: u32,
    pub cookie: i32,
    /// The peer IP as the sender wrote it (libsrt: four 32-bit words in host order).
    pub peer_ip: [u8; 16],
    pub extensions: Vec<Extension>,
}

/// Why a handshake packet could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HandshakeParseError {
    /// Fewer bytes than the fixed part needs.
    TooShort(usize),
    /// Not a handshake (control type 0).
    NotAHandshake,
    /// A handshake type outside SRT's values.
    BadShakeType(i32),
    /// An extension block longer than what is left.
    TruncatedExtension { kind: u16, words: u16 },
    /// Bytes after the last extension that do not make a block.
    TrailingBytes(usize),
    /// A malformed extension body.
    BadExtension { kind: u16, why: &'static str },
}

impl fmt::Display for HandshakeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeParseError::TooShort(len) => {
                write!(f, "handshake of {len} bytes is shorter than 64")
            }
            HandshakeParseError::NotAHandshake => write!(f, "not a handshake packet"),
            HandshakeParseError::BadShakeType(t) => write!(f, "unknown handshake type {t}"),
            HandshakeParseError::TruncatedExtension { kind, words } => write!(
                f,
                "extension {kind} claims {words} words, more than the packet holds"
            ),
            HandshakeParseError::TrailingBytes(n) => {
                write!(f, "{n} stray bytes after the extensions")
            }
            HandshakeParseError::BadExtension { kind, why } => {
                write!(f, "malformed extension {kind}: {why}")
            }
        }
    }
}

/// Whether `datagram` is a handshake (a control packet of type 0).
pub(crate) fn is_handshake(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && datagram[0] == 0x80 && datagram[1] == 0x00
}

impl Handshake {
    /// Parses a whole datagram. Never panics.
    pub(crate) fn parse(datagram: &[u8]) -> Result<Handshake, HandshakeParseError> {
        if datagram.len() < HEADER_BYTES + BODY_BYTES {
            return Err(HandshakeParseError::TooShort(datagram.len()));
        }
        if !is_handshake(datagram) {
            return Err(HandshakeParseError::NotAHandshake);
        }
        let mut buf = &datagram[4..];
        let _additional_info = buf.get_u32();
        let timestamp = buf.get_u32();
        let dest_socket_id = buf.get_u32();
        let version = buf.get_u32();
        let encryption_field = buf.get_u16();
        let extension_field = buf.get_u16();
        let initial_sequence = buf.get_u32();
        let mss = buf.get_u32();
        let flow_window = buf.get_u32();
        let kind = ShakeKind::from_raw(buf.get_i32())?;
        let socket_id = buf.get_u32();
        let cookie = buf.get_i32();
        let mut peer_ip = [0u8; 16];
        buf.copy_to_slice(&mut peer_ip);
        let mut extensions = Vec::new();
        // Extensions only follow in HSv5 packets other than the induction.
        let carries_extensions = version == 5 && kind != ShakeKind::Induction;
        if carries_extensions {
            while buf.remaining() >= 4 {
                let kind = buf.get_u16();
                let words = buf.get_u16();
                let len = usize::from(words) * 4;
                if buf.remaining() < len {
                    return Err(HandshakeParseError::TruncatedExtension { kind, words });
                }
                let (body, rest) = buf.split_at(len);
                extensions.push(parse_extension(kind, body)?);
                buf = rest;
            }
            if buf.has_remaining() {
                return Err(HandshakeParseError::TrailingBytes(buf.remaining()));
            }
        }
        Ok(Handshake {
            timestamp,
            dest_socket_id,
            version,
            encryption_field,
            extension_field,
            initial_sequence,
            mss,
            flow_window,
            kind,
            socket_id,
            cookie,
            peer_ip,
            extensions,
        })
    }

    /// Serialises the whole datagram into `out` (cleared first).
    pub(crate) fn serialize(&self, out: &mut Vec<u8>) {
        out.clear();
        out.put_u32(0x8000_0000);
        out.put_u32(0);
        out.put_u32(self.timestamp);
        out.put_u32(self.dest_socket_id);
        out.put_u32(self.version);
        out.put_u16(self.encryption_field);
        out.put_u16(self.extension_field);
        out.put_u32(self.initial_sequence);
        out.put_u32(self.mss);
        out.put_u32(self.flow_window);
        out.put_i32(self.kind.raw());
        out.put_u32(self.socket_id);
        out.put_i32(self.cookie);
        out.put_slice(&self.peer_ip);
        for extension in &self.extensions {
            serialize_extension(extension, out);
        }
    }

    /// The datagram as bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + BODY_BYTES + 64);
        self.serialize(&mut out);
        out
    }

    /// The first extension of a kind, by a selector.
    pub(crate) fn find<'a, T>(&'a self, select: impl Fn(&'a Extension) -> Option<T>) -> Option<T> {
        self.extensions.iter().find_map(select)
    }

    /// The stream id, if one came.
    pub(crate) fn stream_id(&self) -> Option<&str> {
        self.find(|e| match e {
            Extension::StreamId(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// The key length announced in bytes (0 = none).
    pub(crate) fn announced_key_bytes(&self) -> u16 {
        self.encryption_field.saturating_mul(8)
    }
}

fn bad(kind: u16, why: &'static str) -> HandshakeParseError {
    HandshakeParseError::BadExtension { kind, why }
}

fn parse_extension(kind: u16, body: &[u8]) -> Result<Extension, HandshakeParseError> {
    Ok(match kind {
        ext_type::HSREQ | ext_type::HSRSP => {
            if body.len() < 12 {
                return Err(bad(kind, "an SRT handshake needs 3 words"));
            }
            let mut b = body;
            let hs = SrtHandshake::parse(&mut b).map_err(|_| bad(kind, "unparsable"))?;
            if kind == ext_type::HSREQ {
                Extension::HandshakeRequest(hs)
            } else {
                Extension::HandshakeResponse(hs)
            }
        }
        ext_type::KMREQ => Extension::KeyMaterialRequest(parse_key_material(kind, body)?),
        ext_type::KMRSP => {
            if body.len() == 4 {
                let mut b = body;
                Extension::KeyMaterialResponse(KeyMaterialAnswer::ErrorState(b.get_u32()))
            } else {
                Extension::KeyMaterialResponse(KeyMaterialAnswer::Material(parse_key_material(
                    kind, body,
                )?))
            }
        }
        ext_type::SID => match parse_string(kind, body) {
            Ok(text) => Extension::StreamId(text),
            Err(_) => Extension::StreamIdNotUtf8(body.to_vec()),
        },
        ext_type::CONGESTION => Extension::Congestion(parse_string(kind, body)?),
        ext_type::FILTER => Extension::Filter(parse_string(kind, body)?),
        ext_type::GROUP => {
            if body.len() < 8 {
                return Err(bad(kind, "a group extension needs at least 2 words"));
            }
            let words = body
                .chunks_exact(4)
                .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
                .collect();
            Extension::Group(GroupExtension { words })
        }
        _ => Extension::Unknown {
            kind,
            body: body.to_vec(),
        },
    })
}

/// Key length in bytes of a key-material message's `KLen/4` field, the lengths AES allows.
const KEY_LENGTHS: [usize; 3] = [16, 24, 32];

/// Checks a key material message's layout (what srt-protocol's parser and its unwrap assume, and
/// libsrt sends), then lets srt-protocol parse it.
pub(crate) fn parse_key_material(
    kind: u16,
    body: &[u8],
) -> Result<KeyingMaterialMessage, HandshakeParseError> {
    if body.len() < 16 {
        return Err(bad(kind, "key material shorter than its 4-word header"));
    }
    let key_flags = body[3] & 0b11;
    if key_flags == 0 {
        return Err(bad(kind, "key material without a key (KF = 0)"));
    }
    let salt_len = usize::from(body[14]) * 4;
    let key_len = usize::from(body[15]) * 4;
    if salt_len != 16 {
        return Err(bad(kind, "key material salt is not 16 bytes"));
    }
    if !KEY_LENGTHS.contains(&key_len) {
        return Err(bad(kind, "key material key length is not 16, 24 or 32"));
    }
    let keys = if key_flags == 0b11 { 2 } else { 1 };
    let expected = 16 + salt_len + keys * key_len + 8;
    if body.len() != expected {
        return Err(bad(kind, "key material length does not match its fields"));
    }
    let mut b = body;
    KeyingMaterialMessage::parse(&mut b).map_err(|_| bad(kind, "unparsable key material"))
}

/// SRT strings: 32-bit words with their bytes reversed, NUL-padded at the end.
fn parse_string(kind: u16, body: &[u8]) -> Result<String, HandshakeParseError> {
    let mut bytes = Vec::with_capacity(body.len());
    for word in body.chunks_exact(4) {
        bytes.extend([word[3], word[2], word[1], word[0]]);
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    String::from_utf8(bytes).map_err(|_| bad(kind, "not UTF-8"))
}

fn put_string(kind: u16, text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let words = bytes.len().div_ceil(4);
    out.put_u16(kind);
    out.put_u16(u16::try_from(words).unwrap_or(u16::MAX));
    for chunk in bytes.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        out.put_slice(&[word[3], word[2], word[1], word[0]]);
    }
}

fn put_block(kind: u16, out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.put_u16(kind);
    out.put_u16(0);
    body(out);
    let words = (out.len() - start - 4) / 4;
    let words = u16::try_from(words).unwrap_or(u16::MAX).to_be_bytes();
    out[start + 2] = words[0];
    out[start + 3] = words[1];
}

fn serialize_extension(extension: &Extension, out: &mut Vec<u8>) {
    use srt_protocol::packet::SrtControlPacket;
    match extension {
        Extension::HandshakeRequest(hs) => put_block(ext_type::HSREQ, out, |o| hs.serialize(o)),
        Extension::HandshakeResponse(hs) => put_block(ext_type::HSRSP, out, |o| hs.serialize(o)),
        Extension::KeyMaterialRequest(km) => put_block(ext_type::KMREQ, out, |o| {
            SrtControlPacket::KeyRefreshRequest(km.clone()).serialize(o)
        }),
        Extension::KeyMaterialResponse(KeyMaterialAnswer::Material(km)) => {
            put_block(ext_type::KMRSP, out, |o| {
                SrtControlPacket::KeyRefreshResponse(km.clone()).serialize(o)
            })
        }
        Extension::KeyMaterialResponse(KeyMaterialAnswer::ErrorState(state)) => {
            put_block(ext_type::KMRSP, out, |o| o.put_u32(*state))
        }
        Extension::StreamId(s) => put_string(ext_type::SID, s, out),
        Extension::StreamIdNotUtf8(body) => put_block(ext_type::SID, out, |o| o.put_slice(body)),
        Extension::Congestion(s) => put_string(ext_type::CONGESTION, s, out),
        Extension::Filter(s) => put_string(ext_type::FILTER, s, out),
        Extension::Group(group) => put_block(ext_type::GROUP, out, |o| {
            for word in &group.words {
                o.put_u32(*word);
            }
        }),
        Extension::Unknown { kind, body } => put_block(*kind, out, |o| o.put_slice(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use srt_protocol::{options::SrtVersion, packet::SrtShakeFlags};
    use std::time::Duration;

    fn conclusion() -> Handshake {
        Handshake {
            timestamp: 7,
            dest_socket_id: 0,
            version: 5,
            encryption_field: 0,
            extension_field: ext_flags::HSREQ | ext_flags::CONFIG,
            initial_sequence: 12345,
            mss: 1500,
            flow_window: 8192,
            kind: ShakeKind::Conclusion,
            socket_id: 0x1234_5678,
            cookie: -42,
            peer_ip: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            extensions: vec![
                Extension::HandshakeRequest(SrtHandshake {
                    version: SrtVersion::new(1, 3, 1),
                    flags: SrtShakeFlags::SUPPORTED,
                    send_latency: Duration::from_millis(120),
                    recv_latency: Duration::from_millis(80),
                }),
                Extension::StreamId("#!::r=live/test,m=publish".into()),
                Extension::Congestion("file".into()),
                Extension::Filter("fec,cols:10,rows:5".into()),
                Extension::Group(GroupExtension {
                    words: vec![0x4000_0001, 0x0100_0000],
                }),
            ],
        }
    }

    #[test]
    fn a_conclusion_round_trips_with_every_extension() {
        let hs = conclusion();
        let bytes = hs.to_bytes();
        assert!(is_handshake(&bytes));
        assert_eq!(Handshake::parse(&bytes), Ok(hs));
    }

    #[test]
    fn strings_are_reversed_words_with_nul_padding() {
        let mut out = Vec::new();
        put_string(ext_type::SID, "abcde", &mut out);
        assert_eq!(out, [0, 5, 0, 2, b'd', b'c', b'b', b'a', 0, 0, 0, b'e']);
        assert_eq!(parse_string(5, &out[4..]).unwrap(), "abcde");
    }

    #[test]
    fn empty_and_short_extensions_are_errors_not_panics() {
        let mut hs = conclusion();
        hs.extensions.clear();
        let mut bytes = hs.to_bytes();
        // A stream id block claiming 0 words is an empty stream id, not a crash.
        bytes.extend([0, 5, 0, 0]);
        let parsed = Handshake::parse(&bytes).unwrap();
        assert_eq!(parsed.stream_id(), Some(""));
        // A group block of 0 words is malformed.
        let mut group = hs.to_bytes();
        group.extend([0, 8, 0, 0]);
        assert!(matches!(
            Handshake::parse(&group),
            Err(HandshakeParseError::BadExtension { kind: 8, .. })
        ));
        // A block claiming more than the packet has.
        let mut long = hs.to_bytes();
        long.extend([0, 5, 0, 9, 1, 2, 3, 4]);
        assert!(matches!(
            Handshake::parse(&long),
            Err(HandshakeParseError::TruncatedExtension { kind: 5, words: 9 })
        ));
        // Key material with KF = 0.
        let mut km = hs.to_bytes();
        km.extend([0, 3, 0, 4]);
        km.extend([0x12, 0x20, 0x29, 0x00]);
        km.extend([0; 12]);
        assert!(matches!(
            Handshake::parse(&km),
            Err(HandshakeParseError::BadExtension { kind: 3, .. })
        ));
    }

    #[test]
    fn the_group_extension_reads_libsrts_layout() {
        // From group-broadcast.hex: group 0x68af659a, broadcast, flags 0, weight 0.
        let group = GroupExtension {
            words: vec![0x68af_659a, 0x0100_0000],
        };
        assert_eq!(group.group_id(), 0x68af_659a);
        assert!(group.has_group_bit());
        assert_eq!(group.group_type(), GroupType::Broadcast);
        assert_eq!((group.flags(), group.weight()), (0, 0));
        let backup = GroupExtension::new(0x1234, GroupType::Backup, 1, 100);
        assert_eq!(backup.words, vec![0x4000_1234, 0x0201_0064]);
        assert_eq!(backup.group_type(), GroupType::Backup);
        assert_eq!((backup.flags(), backup.weight()), (1, 100));
        assert_eq!(
            GroupExtension::new(7, GroupType::Other(3), 0, 0).group_type(),
            GroupType::Other(3)
        );
    }

    #[test]
    fn a_one_word_key_material_answer_is_an_error_state() {
        let mut hs = conclusion();
        hs.extensions = vec![Extension::KeyMaterialResponse(
            KeyMaterialAnswer::ErrorState(3),
        )];
        let bytes = hs.to_bytes();
        assert_eq!(Handshake::parse(&bytes).unwrap(), hs);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Handshake::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_after_a_valid_prefix(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut hs = conclusion();
            hs.extensions.clear();
            let mut bytes = hs.to_bytes();
            bytes.extend(tail);
            if let Ok(parsed) = Handshake::parse(&bytes) {
                // Whatever parses serialises back to something that parses the same.
                prop_assert_eq!(Handshake::parse(&parsed.to_bytes()), Ok(parsed));
            }
        }
    }
}
