//! Typed option values: the generic [`OptionValue`] and the option-specific enums.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// The transmission type (`SRTO_TRANSTYPE`): libsrt's set of mode defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransmissionType {
    /// `live`: timestamp-based delivery (TSBPD), too-late drop, NAK reports, 1316-byte payloads.
    Live,
    /// `file`: no TSBPD, no drops, no payload limit, file congestion control.
    File,
}

impl TransmissionType {
    /// The name used by libsrt and the SDK: `live` or `file`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransmissionType::Live => "live",
            TransmissionType::File => "file",
        }
    }

    /// Parses `live` or `file` (ASCII case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("live") {
            Some(TransmissionType::Live)
        } else if text.eq_ignore_ascii_case("file") {
            Some(TransmissionType::File)
        } else {
            None
        }
    }
}

impl fmt::Display for TransmissionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The encryption key length (`SRTO_PBKEYLEN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum KeyLength {
    /// `0`: not advertised; AES-128 unless the peer asks for more.
    Default,
    /// `16`: AES-128.
    Aes128,
    /// `24`: AES-192.
    Aes192,
    /// `32`: AES-256.
    Aes256,
}

impl KeyLength {
    /// The length in bytes (0 for [`KeyLength::Default`]).
    pub fn bytes(self) -> u8 {
        match self {
            KeyLength::Default => 0,
            KeyLength::Aes128 => 16,
            KeyLength::Aes192 => 24,
            KeyLength::Aes256 => 32,
        }
    }

    /// The key length for a byte count of 0, 16, 24 or 32.
    pub fn from_bytes(bytes: i64) -> Option<Self> {
        match bytes {
            0 => Some(KeyLength::Default),
            16 => Some(KeyLength::Aes128),
            24 => Some(KeyLength::Aes192),
            32 => Some(KeyLength::Aes256),
            _ => None,
        }
    }
}

/// The sender's bandwidth cap (`SRTO_MAXBW`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum MaxBandwidth {
    /// `-1`: no cap (libsrt's default).
    Unlimited,
    /// `0`: the input bandwidth (given or measured) plus the overhead percentage.
    RelativeToInput,
    /// A cap in bytes per second (1 to 2^63 - 1).
    BytesPerSecond(u64),
}

impl MaxBandwidth {
    /// libsrt's integer form: -1, 0 or the cap.
    pub fn as_i64(self) -> i64 {
        match self {
            MaxBandwidth::Unlimited => -1,
            MaxBandwidth::RelativeToInput => 0,
            MaxBandwidth::BytesPerSecond(bytes) => i64::try_from(bytes).unwrap_or(i64::MAX),
        }
    }

    /// From libsrt's integer form; `None` below -1.
    pub fn from_i64(value: i64) -> Option<Self> {
        match value {
            -1 => Some(MaxBandwidth::Unlimited),
            0 => Some(MaxBandwidth::RelativeToInput),
            bytes if bytes > 0 => Some(MaxBandwidth::BytesPerSecond(bytes.unsigned_abs())),
            _ => None,
        }
    }
}

/// A value of any option, as [`Options::get`](crate::Options::get) returns it and
/// [`Options::set`](crate::Options::set) takes it.
///
/// Integers are in the option's unit (ms, s, bytes, bytes/s, %, packets). Its `Display` form is
/// what [`Options::set_by_name`](crate::Options::set_by_name) parses back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum OptionValue {
    /// A whole number in the option's unit.
    Integer(i64),
    /// A flag.
    Bool(bool),
    /// Text (passphrase, stream id); empty means unset.
    Text(String),
    /// The transmission type.
    TransmissionType(TransmissionType),
}

impl OptionValue {
    /// The name of the value's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            OptionValue::Integer(_) => "integer",
            OptionValue::Bool(_) => "boolean",
            OptionValue::Text(_) => "text",
            OptionValue::TransmissionType(_) => "transmission type",
        }
    }
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Integer(value) => write!(f, "{value}"),
            OptionValue::Bool(value) => write!(f, "{value}"),
            OptionValue::Text(value) => f.write_str(value),
            OptionValue::TransmissionType(value) => f.write_str(value.as_str()),
        }
    }
}

impl From<i64> for OptionValue {
    fn from(value: i64) -> Self {
        OptionValue::Integer(value)
    }
}

impl From<bool> for OptionValue {
    fn from(value: bool) -> Self {
        OptionValue::Bool(value)
    }
}

impl From<&str> for OptionValue {
    fn from(value: &str) -> Self {
        OptionValue::Text(value.to_owned())
    }
}

impl From<TransmissionType> for OptionValue {
    fn from(value: TransmissionType) -> Self {
        OptionValue::TransmissionType(value)
    }
}

/// How the transport must deliver the bytes, derived from TSBPD mode, too-late drop, latency
/// and send drop delay (see [`Options::delivery_policy`](crate::Options::delivery_policy)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum DeliveryPolicy {
    /// No timestamp-based delivery and no drops: every byte, in order, however late (RTMP).
    Reliable,
    /// Timestamp-based delivery: the receiver holds each packet for the negotiated latency
    /// (the larger of our receive latency and the peer's peer latency, and the other way round
    /// for what we send); with `too_late_drop`, packets that miss it are dropped.
    Live {
        /// Our receiver's latency (`SRTO_RCVLATENCY`).
        #[serde(
            rename = "receive_latency_ms",
            serialize_with = "crate::options::serialize_millis"
        )]
        receive_latency: Duration,
        /// The latency asked of the peer's receiver (`SRTO_PEERLATENCY`).
        #[serde(
            rename = "peer_latency_ms",
            serialize_with = "crate::options::serialize_millis"
        )]
        peer_latency: Duration,
        /// Whether packets that arrive too late are dropped.
        too_late_drop: bool,
    },
    /// No timestamp-based delivery, but too-late drop is on: the sender gives up on a packet
    /// not acknowledged within `drop_after` (libsrt: peer latency + send drop delay, at least
    /// 1 s, plus 20 ms). Bytes can be lost: never use it for RTMP.
    SenderDrop {
        /// How long the sender keeps trying a packet.
        #[serde(
            rename = "drop_after_ms",
            serialize_with = "crate::options::serialize_millis"
        )]
        drop_after: Duration,
    },
}
