//! The option table: every option's SDK name, libsrt URI key, `SRTO_` constant, unit, range
//! and libsrt default, in one place.

use std::fmt;

use serde::Serialize;

const I32_MAX: i64 = i32::MAX as i64;

/// What values an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRange {
    /// A whole number from `min` to `max` inclusive, in the option's unit.
    Integer {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// `-1` (not set: the system's default) or a whole number from `min` to `max` inclusive.
    OptionalInteger {
        /// Smallest value other than -1.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool,
    /// Text of `min_bytes` to `max_bytes` bytes, or empty for "not set".
    Text {
        /// Shortest non-empty text.
        min_bytes: usize,
        /// Longest text.
        max_bytes: usize,
    },
    /// 0, 16, 24 or 32.
    KeyLength,
    /// `live` or `file`.
    TransmissionType,
}

/// One option of the reference SDK, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum OptionName {
    /// "srt latency (ms)": sets both receive and peer latency (`SRTO_LATENCY`).
    Latency,
    /// "srt receive latency (ms)" (`SRTO_RCVLATENCY`).
    ReceiveLatency,
    /// "srt peer latency (ms)" (`SRTO_PEERLATENCY`).
    PeerLatency,
    /// "Too-late Packet Drop" (`SRTO_TLPKTDROP`).
    TooLatePacketDrop,
    /// "Maximum bandwidth (bytes per second)" (`SRTO_MAXBW`).
    MaxBandwidth,
    /// "Input bandwidth (bytes per second)" (`SRTO_INPUTBW`).
    InputBandwidth,
    /// "Overhead bandwidth (%)" (`SRTO_OHEADBW`).
    OverheadBandwidth,
    /// "Payload size (bytes)" (`SRTO_PAYLOADSIZE`).
    PayloadSize,
    /// "Send buffer size (bytes)" (`SRTO_SNDBUF`).
    SendBufferSize,
    /// "Receive buffer size (bytes)" (`SRTO_RCVBUF`).
    ReceiveBufferSize,
    /// "Connect timeout (ms)" (`SRTO_CONNTIMEO`).
    ConnectTimeout,
    /// "Peer idle timeout (ms)" (`SRTO_PEERIDLETIMEO`).
    PeerIdleTimeout,
    /// "Linger (s)" (`SRTO_LINGER`).
    Linger,
    /// "Passphrase" (`SRTO_PASSPHRASE`).
    Passphrase,
    /// "Key length (bytes)" (`SRTO_PBKEYLEN`).
    KeyLength,
    /// "Stream ID" (`SRTO_STREAMID`).
    StreamId,
    /// "Transmission type" (`SRTO_TRANSTYPE`).
    TransmissionType,
    /// "TSBPD mode" (`SRTO_TSBPDMODE`).
    TsbpdMode,
    /// "NAK report" (`SRTO_NAKREPORT`).
    NakReport,
    /// "Max segment size (bytes)" (`SRTO_MSS`).
    MaxSegmentSize,
    /// "Flight flag size (packets)" (`SRTO_FC`; tmio's name, the SDK has none we know).
    FlightFlagSize,
    /// "Enforced encryption" (`SRTO_ENFORCEDENCRYPTION`; tmio's name).
    EnforcedEncryption,
    /// "Send drop delay (ms)" (`SRTO_SNDDROPDELAY`; tmio's name).
    SendDropDelay,
    /// "Loss max TTL (packets)" (`SRTO_LOSSMAXTTL`; tmio's name).
    LossMaxTtl,
    /// "Minimum input bandwidth (bytes per second)" (`SRTO_MININPUTBW`; tmio's name).
    MinInputBandwidth,
    /// "Congestion control" (`SRTO_CONGESTION`; tmio's name).
    Congestion,
    /// "Message API" (`SRTO_MESSAGEAPI`; tmio's name).
    MessageApi,
    /// "Drift tracer" (`SRTO_DRIFTTRACER`; tmio's name).
    DriftTracer,
    /// "Key refresh rate (packets)" (`SRTO_KMREFRESHRATE`; tmio's name).
    KeyRefreshRate,
    /// "Key pre-announce (packets)" (`SRTO_KMPREANNOUNCE`; tmio's name).
    KeyPreAnnounce,
    /// "IP TTL (hops)" (`SRTO_IPTTL`; tmio's name).
    IpTtl,
    /// "IP type of service" (`SRTO_IPTOS`; tmio's name).
    IpTos,
}

/// The description of one option: names, unit, range, libsrt default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// The option.
    pub name: OptionName,
    /// The reference SDK's name, e.g. `"srt latency (ms)"`.
    pub sdk_name: &'static str,
    /// Whether `sdk_name` is tmio's own (the SDK has no name for it that we know).
    pub tmio_name: bool,
    /// The libsrt URI query key, e.g. `"latency"`.
    pub uri_key: &'static str,
    /// The libsrt socket option, e.g. `"SRTO_LATENCY"`.
    pub srt_option: &'static str,
    /// The unit of integer values (`""` for flags and text).
    pub unit: &'static str,
    /// The values taken.
    pub range: ValueRange,
    /// The values taken, in words, for error messages.
    pub expected: &'static str,
    /// libsrt's default in live mode, as text.
    pub libsrt_default: &'static str,
    /// What it does.
    pub description: &'static str,
}

macro_rules! spec {
    ($name:ident, $sdk:literal, $tmio:literal, $uri:literal, $srto:literal, $unit:literal,
     $range:expr, $expected:literal, $default:literal, $description:literal) => {
        OptionSpec {
            name: OptionName::$name,
            sdk_name: $sdk,
            tmio_name: $tmio,
            uri_key: $uri,
            srt_option: $srto,
            unit: $unit,
            range: $range,
            expected: $expected,
            libsrt_default: $default,
            description: $description,
        }
    };
}

use ValueRange::{Bool, Integer};

/// Every option, in [`OptionName`] order.
pub static OPTION_TABLE: [OptionSpec; 32] = [
    spec!(Latency, "srt latency (ms)", false, "latency", "SRTO_LATENCY", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "120", "Sets both the receive latency and the peer latency; reads back the receive latency."),
    spec!(ReceiveLatency, "srt receive latency (ms)", false, "rcvlatency", "SRTO_RCVLATENCY", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "120", "How long our receiver holds each packet before delivery (TSBPD only)."),
    spec!(PeerLatency, "srt peer latency (ms)", false, "peerlatency", "SRTO_PEERLATENCY", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "0", "The smallest latency we ask of the peer's receiver (TSBPD only)."),
    spec!(TooLatePacketDrop, "Too-late Packet Drop", false, "tlpktdrop", "SRTO_TLPKTDROP", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Drop packets that cannot be delivered in time. Loses bytes: off for RTMP."),
    spec!(MaxBandwidth, "Maximum bandwidth (bytes per second)", false, "maxbw", "SRTO_MAXBW", "bytes/s",
        Integer { min: -1, max: i64::MAX }, "-1 (unlimited), 0 (input bandwidth + overhead) or bytes per second up to 9223372036854775807",
        "-1", "The sender's rate cap, retransmissions included."),
    spec!(InputBandwidth, "Input bandwidth (bytes per second)", false, "inputbw", "SRTO_INPUTBW", "bytes/s",
        Integer { min: 0, max: i64::MAX }, "0 (measure it) or bytes per second up to 9223372036854775807",
        "0", "The stream's input rate, used when the maximum bandwidth is 0."),
    spec!(OverheadBandwidth, "Overhead bandwidth (%)", false, "oheadbw", "SRTO_OHEADBW", "%",
        Integer { min: 5, max: 100 }, "a whole percentage from 5 to 100",
        "25", "Room for retransmissions above the input rate, when the maximum bandwidth is 0."),
    spec!(PayloadSize, "Payload size (bytes)", false, "payloadsize", "SRTO_PAYLOADSIZE", "bytes",
        Integer { min: 0, max: 1456 }, "a whole number of bytes from 0 to 1456 (0: segment size - 44)",
        "1316", "The most payload bytes per packet (7 MPEG-TS packets = 1316)."),
    spec!(SendBufferSize, "Send buffer size (bytes)", false, "sndbuf", "SRTO_SNDBUF", "bytes",
        Integer { min: 1, max: I32_MAX }, "a whole number of bytes from 1 to 2147483647 (at least 32 packets)",
        "12058624", "The sender buffer: bytes sent and not yet acknowledged."),
    spec!(ReceiveBufferSize, "Receive buffer size (bytes)", false, "rcvbuf", "SRTO_RCVBUF", "bytes",
        Integer { min: 1, max: I32_MAX }, "a whole number of bytes from 1 to 2147483647 (at least 32 packets)",
        "12058624", "The receiver buffer: must hold latency x bitrate bytes."),
    spec!(ConnectTimeout, "Connect timeout (ms)", false, "conntimeo", "SRTO_CONNTIMEO", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "3000", "How long a caller waits for the handshake (x10 for rendezvous)."),
    spec!(PeerIdleTimeout, "Peer idle timeout (ms)", false, "peeridletimeo", "SRTO_PEERIDLETIMEO", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "5000", "Silence from the peer after which the connection is broken."),
    spec!(Linger, "Linger (s)", false, "linger", "SRTO_LINGER", "s",
        Integer { min: 0, max: I32_MAX }, "a whole number of seconds from 0 to 2147483647 (0: off)",
        "0", "How long closing waits for unsent data (libsrt: 0 in live mode, 180 in file mode)."),
    spec!(Passphrase, "Passphrase", false, "passphrase", "SRTO_PASSPHRASE", "",
        ValueRange::Text { min_bytes: 10, max_bytes: 79 }, "10 to 79 bytes of text, or empty for no encryption",
        "", "Enables AES encryption with a key derived from this secret."),
    spec!(KeyLength, "Key length (bytes)", false, "pbkeylen", "SRTO_PBKEYLEN", "bytes",
        ValueRange::KeyLength, "0, 16, 24 or 32 (bytes; 0: not advertised, effectively 16)",
        "0", "The AES key length: 16 (AES-128), 24 (AES-192) or 32 (AES-256)."),
    spec!(StreamId, "Stream ID", false, "streamid", "SRTO_STREAMID", "",
        ValueRange::Text { min_bytes: 1, max_bytes: 512 }, "up to 512 bytes of text (empty: none)",
        "", "Sent by the caller in the handshake; listeners route and authorise by it."),
    spec!(TransmissionType, "Transmission type", false, "transtype", "SRTO_TRANSTYPE", "",
        ValueRange::TransmissionType, "live or file",
        "live", "Sets the mode defaults: TSBPD, too-late drop, NAK report, latency, payload size, linger, send drop delay."),
    spec!(TsbpdMode, "TSBPD mode", false, "tsbpdmode", "SRTO_TSBPDMODE", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Timestamp-based packet delivery: deliver each packet latency ms after it was sent."),
    spec!(NakReport, "NAK report", false, "nakreport", "SRTO_NAKREPORT", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Repeat loss reports periodically until the loss is recovered."),
    spec!(MaxSegmentSize, "Max segment size (bytes)", false, "mss", "SRTO_MSS", "bytes",
        Integer { min: 76, max: 65535 }, "a whole number of bytes from 76 to 65535",
        "1500", "The largest IP packet, headers included (the payload gets 44 bytes less)."),
    spec!(FlightFlagSize, "Flight flag size (packets)", true, "fc", "SRTO_FC", "packets",
        Integer { min: 32, max: I32_MAX }, "a whole number of packets from 32 to 2147483647",
        "25600", "The flow-control window: packets in flight, unacknowledged."),
    spec!(EnforcedEncryption, "Enforced encryption", true, "enforcedencryption", "SRTO_ENFORCEDENCRYPTION", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Reject a peer whose passphrase differs (or that has none)."),
    spec!(SendDropDelay, "Send drop delay (ms)", true, "snddropdelay", "SRTO_SNDDROPDELAY", "ms",
        Integer { min: -1, max: I32_MAX }, "-1 (never drop) or a whole number of milliseconds from 0 to 2147483647",
        "0", "Extra time before the sender drops too-late packets (libsrt: 0 live, -1 file)."),
    spec!(LossMaxTtl, "Loss max TTL (packets)", true, "lossmaxttl", "SRTO_LOSSMAXTTL", "packets",
        Integer { min: 0, max: I32_MAX }, "a whole number of packets from 0 to 2147483647",
        "0", "Reordering tolerance before a gap is reported lost (0: report at once)."),
    spec!(MinInputBandwidth, "Minimum input bandwidth (bytes per second)", true, "mininputbw", "SRTO_MININPUTBW", "bytes/s",
        Integer { min: 0, max: i64::MAX }, "0 or bytes per second up to 9223372036854775807",
        "0", "Floor of the measured input rate, when the maximum bandwidth is 0."),
    spec!(Congestion, "Congestion control", true, "congestion", "SRTO_CONGESTION", "",
        ValueRange::TransmissionType, "live or file",
        "live", "The congestion controller; set with the transmission type."),
    spec!(MessageApi, "Message API", true, "messageapi", "SRTO_MESSAGEAPI", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Message (true) or stream (false) API; live mode needs the message API."),
    spec!(DriftTracer, "Drift tracer", true, "drifttracer", "SRTO_DRIFTTRACER", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Track the drift between the sender's and the receiver's clocks."),
    spec!(KeyRefreshRate, "Key refresh rate (packets)", true, "kmrefreshrate", "SRTO_KMREFRESHRATE", "packets",
        Integer { min: 0, max: I32_MAX }, "a whole number of packets from 0 to 2147483647",
        "16777216", "Packets sent with one encryption key before it is replaced."),
    spec!(KeyPreAnnounce, "Key pre-announce (packets)", true, "kmpreannounce", "SRTO_KMPREANNOUNCE", "packets",
        Integer { min: 0, max: I32_MAX }, "a whole number of packets from 0 to 2147483647 (at most (refresh rate - 1) / 2)",
        "4096", "Packets before and after a key change during which both keys are valid."),
    spec!(IpTtl, "IP TTL (hops)", true, "ipttl", "SRTO_IPTTL", "hops",
        ValueRange::OptionalInteger { min: 1, max: 255 }, "-1 (system default) or a whole number of hops from 1 to 255",
        "-1", "The IP time-to-live (IPv6 hop limit) of outgoing packets."),
    spec!(IpTos, "IP type of service", true, "iptos", "SRTO_IPTOS", "",
        ValueRange::OptionalInteger { min: 0, max: 255 }, "-1 (system default) or a whole number from 0 to 255",
        "-1", "The IP type of service (IPv6 traffic class) of outgoing packets."),
];

impl OptionName {
    /// Every option, in table order.
    pub const ALL: [OptionName; 32] = [
        OptionName::Latency,
        OptionName::ReceiveLatency,
        OptionName::PeerLatency,
        OptionName::TooLatePacketDrop,
        OptionName::MaxBandwidth,
        OptionName::InputBandwidth,
        OptionName::OverheadBandwidth,
        OptionName::PayloadSize,
        OptionName::SendBufferSize,
        OptionName::ReceiveBufferSize,
        OptionName::ConnectTimeout,
        OptionName::PeerIdleTimeout,
        OptionName::Linger,
        OptionName::Passphrase,
        OptionName::KeyLength,
        OptionName::StreamId,
        OptionName::TransmissionType,
        OptionName::TsbpdMode,
        OptionName::NakReport,
        OptionName::MaxSegmentSize,
        OptionName::FlightFlagSize,
        OptionName::EnforcedEncryption,
        OptionName::SendDropDelay,
        OptionName::LossMaxTtl,
        OptionName::MinInputBandwidth,
        OptionName::Congestion,
        OptionName::MessageApi,
        OptionName::DriftTracer,
        OptionName::KeyRefreshRate,
        OptionName::KeyPreAnnounce,
        OptionName::IpTtl,
        OptionName::IpTos,
    ];

    /// The option's description.
    pub fn spec(self) -> &'static OptionSpec {
        // `OPTION_TABLE` lists the options in declaration order (checked by a test).
        &OPTION_TABLE[self as usize]
    }

    /// The reference SDK's name, e.g. `"srt latency (ms)"`.
    pub fn sdk_name(self) -> &'static str {
        self.spec().sdk_name
    }

    /// The libsrt URI query key, e.g. `"latency"`.
    pub fn uri_key(self) -> &'static str {
        self.spec().uri_key
    }

    /// Looks an option up by its SDK name, libsrt URI key or `SRTO_` constant (all ASCII
    /// case-insensitive).
    pub fn from_name(name: &str) -> Option<OptionName> {
        let name = name.trim();
        OPTION_TABLE
            .iter()
            .find(|spec| {
                spec.sdk_name.eq_ignore_ascii_case(name)
                    || spec.uri_key.eq_ignore_ascii_case(name)
                    || spec.srt_option.eq_ignore_ascii_case(name)
            })
            .map(|spec| spec.name)
    }

    /// Looks an option up by its libsrt URI key only (ASCII case-insensitive).
    pub fn from_uri_key(key: &str) -> Option<OptionName> {
        OPTION_TABLE
            .iter()
            .find(|spec| spec.uri_key.eq_ignore_ascii_case(key))
            .map(|spec| spec.name)
    }
}

impl fmt::Display for OptionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sdk_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_declaration_order() {
        for (index, name) in OptionName::ALL.iter().enumerate() {
            assert_eq!(OPTION_TABLE[index].name, *name);
            assert_eq!(*name as usize, index);
        }
    }

    #[test]
    fn no_name_belongs_to_two_options() {
        // "Passphrase" is both the SDK name and (case-insensitively) the URI key of one option.
        let mut all: Vec<(String, OptionName)> = OPTION_TABLE
            .iter()
            .flat_map(|spec| {
                [spec.sdk_name, spec.uri_key, spec.srt_option]
                    .map(|name| (name.to_ascii_lowercase(), spec.name))
            })
            .collect();
        all.sort();
        all.dedup();
        let count = all.len();
        all.dedup_by(|a, b| a.0 == b.0);
        assert_eq!(all.len(), count);
    }

    #[test]
    fn every_name_finds_its_option() {
        for spec in &OPTION_TABLE {
            assert_eq!(OptionName::from_name(spec.sdk_name), Some(spec.name));
            assert_eq!(OptionName::from_name(spec.uri_key), Some(spec.name));
            assert_eq!(OptionName::from_name(spec.srt_option), Some(spec.name));
            assert_eq!(OptionName::from_uri_key(spec.uri_key), Some(spec.name));
        }
        assert_eq!(
            OptionName::from_name("TOO-LATE PACKET DROP"),
            Some(OptionName::TooLatePacketDrop)
        );
        assert_eq!(OptionName::from_name("latencyy"), None);
    }
}
