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
    /// The SDK's integer `0` (live) or `1` (file); as text also `live` or `file`.
    TransmissionType,
    /// `live`, `live_bbr` or `file` (text), belonging to the transmission type (`live` and
    /// `live_bbr` with live, `file` with file).
    Congestion,
    /// Only this whole number: what tmio always does. Any other value is refused with the
    /// option's [`OptionSpec::refusal`].
    FixedInteger(i64),
    /// Only this flag value: what tmio always does. The other is refused with the option's
    /// [`OptionSpec::refusal`].
    FixedBool(bool),
}

/// One option: its name (the reference SDK's where it has one), libsrt names, unit and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub enum OptionName {
    /// "thread safe check" (the SDK's `base_options::THREAD_SAFE_CHECK`).
    ThreadSafeCheck,
    /// "timeout (ms)" (the SDK's `base_options::TIMEOUT_MS`).
    Timeout,
    /// "recv send flags" (the SDK's `base_options::RECV_SEND_FLAGS`).
    RecvSendFlags,
    /// "send buffer size (in bytes)" (`SRTO_SNDBUF`).
    SendBufferSize,
    /// "receive buffer size (in bytes)" (`SRTO_RCVBUF`).
    ReceiveBufferSize,
    /// "srt maximum payload size (bytes)" (`SRTO_PAYLOADSIZE`).
    PayloadSize,
    /// "srt latency (ms)": sets both receive and peer latency (`SRTO_LATENCY`).
    Latency,
    /// "Maximum bandwidth (bytes per second)" (`SRTO_MAXBW`).
    MaxBandwidth,
    /// "srt recovery bandwidth overhead above input rate" (`SRTO_OHEADBW`, %).
    OverheadBandwidth,
    /// "srt stream id" (`SRTO_STREAMID`).
    StreamId,
    /// "Connect timeout(in milliseconds). Caller default: 3000, rendezvous (x 10)"
    /// (`SRTO_CONNTIMEO`).
    ConnectTimeout,
    /// "Crypto key len in bytes" (`SRTO_PBKEYLEN`).
    KeyLength,
    /// "Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto" (`SRTO_PASSPHRASE`).
    Passphrase,
    /// "Estimated input bandwidth (bytes per second)" (`SRTO_INPUTBW`).
    InputBandwidth,
    /// "Minimum value of input bandwidth estimation (bytes per second)" (`SRTO_MININPUTBW`).
    MinInputBandwidth,
    /// "Too-late Packet Drop" (`SRTO_TLPKTDROP`).
    TooLatePacketDrop,
    /// "Minimum SRT version that is required from the peer" (`SRTO_MINVERSION`).
    MinVersion,
    /// "The transmission type for the socket" (`SRTO_TRANSTYPE`; the SDK's int 0 live, 1 file).
    TransmissionType,
    /// "The congestion control algorithm" (`SRTO_CONGESTION`: file, live, live_bbr).
    Congestion,
    /// "Number of seconds that the socket waits for unsent data when closing" (`SRTO_LINGER`).
    Linger,
    /// "TsbPd" (`SRTO_TSBPDMODE`).
    TsbpdMode,
    /// "srt receive latency (ms)" (`SRTO_RCVLATENCY`; tmio's name).
    ReceiveLatency,
    /// "srt peer latency (ms)" (`SRTO_PEERLATENCY`; tmio's name).
    PeerLatency,
    /// "Peer idle timeout (ms)" (`SRTO_PEERIDLETIMEO`; tmio's name).
    PeerIdleTimeout,
    /// "Max segment size (bytes)" (`SRTO_MSS`; tmio's name).
    MaxSegmentSize,
    /// "Flight flag size (packets)" (`SRTO_FC`; tmio's name).
    FlightFlagSize,
    /// "Send drop delay (ms)" (`SRTO_SNDDROPDELAY`; tmio's name).
    SendDropDelay,
    /// "Message API" (`SRTO_MESSAGEAPI`; tmio's name).
    MessageApi,
    /// "NAK report" (`SRTO_NAKREPORT`; tmio's name; only `true`).
    NakReport,
    /// "Enforced encryption" (`SRTO_ENFORCEDENCRYPTION`; tmio's name; only `true`).
    EnforcedEncryption,
    /// "Drift tracer" (`SRTO_DRIFTTRACER`; tmio's name; only `false`).
    DriftTracer,
    /// "Key refresh rate (packets)" (`SRTO_KMREFRESHRATE`; tmio's name; only 2^25).
    KeyRefreshRate,
    /// "Key pre-announce (packets)" (`SRTO_KMPREANNOUNCE`; tmio's name; only 4000).
    KeyPreAnnounce,
    /// "IP TTL (hops)" (`SRTO_IPTTL`; tmio's name; only -1).
    IpTtl,
    /// "IP type of service" (`SRTO_IPTOS`; tmio's name; only -1).
    IpTos,
}

/// The description of one option: names, unit, range, libsrt default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// The option.
    pub name: OptionName,
    /// Its name: the reference SDK's string exactly (`tmio-options.h`), e.g.
    /// `"srt latency (ms)"`, or tmio's own when `tmio_name` is true.
    pub sdk_name: &'static str,
    /// Whether `sdk_name` is tmio's own: the SDK has no name for this option.
    pub tmio_name: bool,
    /// The libsrt URI query key, e.g. `"latency"` (`""`: none, an SDK base option).
    pub uri_key: &'static str,
    /// The libsrt socket option, e.g. `"SRTO_LATENCY"` (`""`: none).
    pub srt_option: &'static str,
    /// The unit of integer values (`""` for flags and text).
    pub unit: &'static str,
    /// The values taken.
    pub range: ValueRange,
    /// The values taken, in words, for error messages.
    pub expected: &'static str,
    /// The default: libsrt's in live mode (the SDK's for its base options), as text.
    pub libsrt_default: &'static str,
    /// What it does in tmio.
    pub description: &'static str,
    /// Why a value is refused (`""`: never refused beyond its range).
    pub refusal: &'static str,
}

macro_rules! spec {
    ($name:ident, $sdk:literal, $tmio:literal, $uri:literal, $srto:literal, $unit:literal,
     $range:expr, $expected:literal, $default:literal, $description:literal) => {
        spec!(
            $name,
            $sdk,
            $tmio,
            $uri,
            $srto,
            $unit,
            $range,
            $expected,
            $default,
            $description,
            ""
        )
    };
    ($name:ident, $sdk:literal, $tmio:literal, $uri:literal, $srto:literal, $unit:literal,
     $range:expr, $expected:literal, $default:literal, $description:literal, $refusal:literal) => {
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
            refusal: $refusal,
        }
    };
}

use ValueRange::{Bool, FixedBool, FixedInteger, Integer};

/// The number of options.
pub const OPTION_COUNT: usize = 35;

/// Every option, in [`OptionName`] order: the SDK's 21 names in `tmio-options.h` order, then
/// tmio's names for the other libsrt options.
pub static OPTION_TABLE: [OptionSpec; OPTION_COUNT] = [
    spec!(ThreadSafeCheck, "thread safe check", false, "", "", "",
        FixedBool(false), "false (tmio has no thread check to turn on)",
        "false", "The SDK's debug check that one Tmio is used from one thread. tmio's calls take a lock and are safe from any thread: only false is accepted.",
        "tmio's proxy calls are safe from any thread (each takes a lock), so there is no thread check to turn on"),
    spec!(Timeout, "timeout (ms)", false, "", "", "ms",
        FixedInteger(-1), "-1 (no timeout)",
        "-1", "The SDK's timeout of its blocking Tmio open/recv/send calls. tmio has no such calls: only -1 is accepted.",
        "tmio has no blocking open/recv/send calls for it to bound; the connection is bounded by the connect timeout and \"Peer idle timeout (ms)\""),
    spec!(RecvSendFlags, "recv send flags", false, "", "", "",
        FixedInteger(3), "3 (FLAG_RECV_SEND: both directions)",
        "3", "The SDK's directions of a Tmio (1 receive, 2 send, 3 both). The proxy always carries both: only 3 is accepted.",
        "the proxy always carries both directions (FLAG_RECV_SEND = 3)"),
    spec!(SendBufferSize, "send buffer size (in bytes)", false, "sndbuf", "SRTO_SNDBUF", "bytes",
        Integer { min: 1, max: I32_MAX }, "a whole number of bytes from 1 to 2147483647 (at least 32 packets)",
        "12058624", "The sender buffer: bytes sent and not yet acknowledged."),
    spec!(ReceiveBufferSize, "receive buffer size (in bytes)", false, "rcvbuf", "SRTO_RCVBUF", "bytes",
        Integer { min: 1, max: I32_MAX }, "a whole number of bytes from 1 to 2147483647 (at least 32 packets)",
        "12058624", "The receiver buffer: must hold latency x bitrate bytes."),
    spec!(PayloadSize, "srt maximum payload size (bytes)", false, "payloadsize", "SRTO_PAYLOADSIZE", "bytes",
        Integer { min: 0, max: 1456 }, "a whole number of bytes from 0 to 1456 (0: segment size - 44)",
        "1316", "The most payload bytes per packet (7 MPEG-TS packets = 1316)."),
    spec!(Latency, "srt latency (ms)", false, "latency", "SRTO_LATENCY", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "120", "Sets both the receive latency and the peer latency; reads back the receive latency."),
    spec!(MaxBandwidth, "Maximum bandwidth (bytes per second)", false, "maxbw", "SRTO_MAXBW", "bytes/s",
        Integer { min: -1, max: i64::MAX }, "-1 (unlimited), 0 (input bandwidth + overhead) or bytes per second up to 9223372036854775807",
        "-1", "The sender's rate, retransmissions and headers included: with congestion live_bbr (the presets) the ceiling of the adaptive rate, with live a fixed pacing rate. -1: no cap, adaptive; 0: the input bandwidth plus the overhead (adaptive when the input bandwidth is 0)."),
    spec!(OverheadBandwidth, "srt recovery bandwidth overhead above input rate", false, "oheadbw", "SRTO_OHEADBW", "%",
        Integer { min: 5, max: 100 }, "a whole percentage from 5 to 100",
        "25", "Room for retransmissions above the input bandwidth, when the maximum bandwidth is 0."),
    spec!(StreamId, "srt stream id", false, "streamid", "SRTO_STREAMID", "",
        ValueRange::Text { min_bytes: 1, max_bytes: 512 }, "up to 512 bytes of text (empty: none)",
        "", "Sent by the caller in the handshake; listeners route and authorise by it. A stream id in the URL wins."),
    spec!(ConnectTimeout, "Connect timeout(in milliseconds). Caller default: 3000, rendezvous (x 10)", false, "conntimeo", "SRTO_CONNTIMEO", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "3000", "How long a caller waits for the handshake; a rendezvous waits ten times as long."),
    spec!(KeyLength, "Crypto key len in bytes", false, "pbkeylen", "SRTO_PBKEYLEN", "bytes",
        ValueRange::KeyLength, "0, 16, 24 or 32 (bytes; 0: not advertised, effectively 16)",
        "0", "The AES key length: 16 (AES-128), 24 (AES-192) or 32 (AES-256)."),
    spec!(Passphrase, "Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto", false, "passphrase", "SRTO_PASSPHRASE", "",
        ValueRange::Text { min_bytes: 10, max_bytes: 79 }, "10 to 79 bytes of text, or empty for no encryption",
        "", "Enables AES encryption with a key derived from this secret."),
    spec!(InputBandwidth, "Estimated input bandwidth (bytes per second)", false, "inputbw", "SRTO_INPUTBW", "bytes/s",
        Integer { min: 0, max: i64::MAX }, "0 (estimate it) or bytes per second up to 9223372036854775807",
        "0", "The stream's input rate: with a maximum bandwidth of 0, the cap is this plus the overhead."),
    spec!(MinInputBandwidth, "Minimum value of input bandwidth estimation (bytes per second)", false, "mininputbw", "SRTO_MININPUTBW", "bytes/s",
        Integer { min: 0, max: i64::MAX }, "0 or bytes per second up to 9223372036854775807",
        "0", "Floor of the estimated input rate (maximum bandwidth 0, input bandwidth 0). tmio does not estimate the input rate: the proxy refuses a non-zero value where libsrt would use it."),
    spec!(TooLatePacketDrop, "Too-late Packet Drop", false, "tlpktdrop", "SRTO_TLPKTDROP", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Drop packets that cannot be delivered in time. Loses bytes: off for RTMP."),
    spec!(MinVersion, "Minimum SRT version that is required from the peer", false, "minversion", "SRTO_MINVERSION", "",
        Integer { min: 0, max: 0x01_03_00 }, "a version from 0 to 66304 (0x010300, SRT 1.3.0: tmio's handshake, HSv5 only, guarantees it; newer minimums are not checked)",
        "65536", "The oldest peer version accepted (0x010300 = 1.3.0). tmio's handshake refuses every peer older than 1.3.0 (HSv5 only)."),
    spec!(TransmissionType, "The transmission type for the socket", false, "transtype", "SRTO_TRANSTYPE", "",
        ValueRange::TransmissionType, "0 (live) or 1 (file); as text also live or file",
        "0", "Sets the mode defaults: TSBPD, too-late drop, latency, payload size, linger, send drop delay, message API, congestion control."),
    spec!(Congestion, "The congestion control algorithm", false, "congestion", "SRTO_CONGESTION", "",
        ValueRange::Congestion, "live, live_bbr (live mode) or file (file mode)",
        "live", "live_bbr: the sending rate adapts to the path (delay- and loss-aware; random loss is not congestion) and never exceeds \"Maximum bandwidth (bytes per second)\"; tmio's presets select it. live: paced at exactly the maximum bandwidth when one is set (libsrt's behaviour), adaptive without one. The transmission type sets live or file."),
    spec!(Linger, "Number of seconds that the socket waits for unsent data when closing", false, "linger", "SRTO_LINGER", "s",
        Integer { min: 0, max: I32_MAX }, "a whole number of seconds from 0 to 2147483647 (0: off)",
        "0", "How long closing waits for unsent data (libsrt: 0 in live mode, 180 in file mode)."),
    spec!(TsbpdMode, "TsbPd", false, "tsbpdmode", "SRTO_TSBPDMODE", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Timestamp-based packet delivery: deliver each packet latency ms after it was sent."),
    spec!(ReceiveLatency, "srt receive latency (ms)", true, "rcvlatency", "SRTO_RCVLATENCY", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "120", "How long our receiver holds each packet before delivery (TSBPD only)."),
    spec!(PeerLatency, "srt peer latency (ms)", true, "peerlatency", "SRTO_PEERLATENCY", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "0", "The smallest latency we ask of the peer's receiver (TSBPD only)."),
    spec!(PeerIdleTimeout, "Peer idle timeout (ms)", true, "peeridletimeo", "SRTO_PEERIDLETIMEO", "ms",
        Integer { min: 0, max: I32_MAX }, "a whole number of milliseconds from 0 to 2147483647",
        "5000", "Silence from the peer after which the connection is broken."),
    spec!(MaxSegmentSize, "Max segment size (bytes)", true, "mss", "SRTO_MSS", "bytes",
        Integer { min: 76, max: 65535 }, "a whole number of bytes from 76 to 65535",
        "1500", "The largest IP packet, headers included (the payload gets 44 bytes less)."),
    spec!(FlightFlagSize, "Flight flag size (packets)", true, "fc", "SRTO_FC", "packets",
        Integer { min: 32, max: I32_MAX }, "a whole number of packets from 32 to 2147483647",
        "25600", "The flow-control window: packets in flight, unacknowledged."),
    spec!(SendDropDelay, "Send drop delay (ms)", true, "snddropdelay", "SRTO_SNDDROPDELAY", "ms",
        Integer { min: -1, max: I32_MAX }, "-1 (never drop) or a whole number of milliseconds from 0 to 2147483647",
        "0", "Extra time before the sender drops too-late packets (libsrt: 0 live, -1 file). tmio's live sender drops as libsrt with 0: the proxy refuses another value together with too-late drop."),
    spec!(MessageApi, "Message API", true, "messageapi", "SRTO_MESSAGEAPI", "",
        Bool, "true or false (1/0, yes/no, on/off)",
        "true", "Message (true) or stream (false) API: live mode needs the message API, tmio's file mode is a byte stream (false)."),
    spec!(NakReport, "NAK report", true, "nakreport", "SRTO_NAKREPORT", "",
        FixedBool(true), "true (tmio always repeats its loss reports)",
        "true", "Repeat loss reports periodically until the loss is recovered: tmio's receiver always does.",
        "tmio's receiver always repeats its loss reports until the loss is recovered"),
    spec!(EnforcedEncryption, "Enforced encryption", true, "enforcedencryption", "SRTO_ENFORCEDENCRYPTION", "",
        FixedBool(true), "true (tmio always refuses a passphrase mismatch)",
        "true", "Reject a peer whose passphrase differs (or that has none): tmio's handshake always does.",
        "tmio's handshake always refuses a peer whose passphrase differs or that has none"),
    spec!(DriftTracer, "Drift tracer", true, "drifttracer", "SRTO_DRIFTTRACER", "",
        FixedBool(false), "false (tmio has no drift tracer)",
        "true", "Track the drift between the sender's and the receiver's clocks: tmio's live receiver does not.",
        "tmio's live receiver has no clock drift tracer"),
    spec!(KeyRefreshRate, "Key refresh rate (packets)", true, "kmrefreshrate", "SRTO_KMREFRESHRATE", "packets",
        Integer { min: 0, max: I32_MAX }, "0 (the default) or a whole number of packets from 3 to 2147483647, at least 2 x a set pre-announce + 1",
        "16777216", "Packets the sender encrypts with one key before switching to the next (tmio's default 2^25; libsrt's 2^24)."),
    spec!(KeyPreAnnounce, "Key pre-announce (packets)", true, "kmpreannounce", "SRTO_KMPREANNOUNCE", "packets",
        Integer { min: 0, max: I32_MAX }, "0 (the default) or a whole number of packets from 1 to (key refresh rate - 1) / 2",
        "4096", "Packets before a key switch at which the sender announces the next key (tmio's default 4000, as libsrt's 4096 lowered to (key refresh rate - 1) / 2 if that is less)."),
    spec!(IpTtl, "IP TTL (hops)", true, "ipttl", "SRTO_IPTTL", "hops",
        FixedInteger(-1), "-1 (the system's default TTL)",
        "-1", "The IP time-to-live (IPv6 hop limit) of outgoing packets: the system's in tmio.",
        "tmio's UDP socket keeps the system's TTL"),
    spec!(IpTos, "IP type of service", true, "iptos", "SRTO_IPTOS", "",
        FixedInteger(-1), "-1 (the system's default type of service)",
        "-1", "The IP type of service (IPv6 traffic class) of outgoing packets: the system's in tmio.",
        "tmio's UDP socket keeps the system's type of service"),
];

/// A name tmio knows and refuses whatever the value: the SDK's RIST options and libsrt options
/// tmio's transport has no equivalent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusedOption {
    /// The SDK's name (or tmio's for a libsrt option the SDK does not name).
    pub name: &'static str,
    /// Whether `name` is tmio's own.
    pub tmio_name: bool,
    /// The libsrt URI key (`""`: none).
    pub uri_key: &'static str,
    /// The libsrt socket option (`""`: none).
    pub srt_option: &'static str,
    /// Why it is refused.
    pub reason: &'static str,
}

/// Every refused name.
pub static REFUSED_OPTIONS: [RefusedOption; 3] = [
    RefusedOption {
        name: "buffer size in ms",
        tmio_name: false,
        uri_key: "",
        srt_option: "",
        reason: "RIST is not supported (this is the SDK's rist_options::BUFFER_SIZE)",
    },
    RefusedOption {
        name: "profile",
        tmio_name: false,
        uri_key: "",
        srt_option: "",
        reason: "RIST is not supported (this is the SDK's rist_options::PROFILE)",
    },
    RefusedOption {
        name: "Loss max TTL (packets)",
        tmio_name: true,
        uri_key: "lossmaxttl",
        srt_option: "SRTO_LOSSMAXTTL",
        reason: "tmio's receiver learns its reordering tolerance from the packets it sees \
                 (reorder_tolerance_ms in the statistics) instead of a fixed packet count",
    },
];

impl RefusedOption {
    /// The refused option called `name` (its name, URI key or `SRTO_` constant, ASCII
    /// case-insensitive).
    pub fn find(name: &str) -> Option<&'static RefusedOption> {
        let name = name.trim();
        REFUSED_OPTIONS
            .iter()
            .find(|refused| matches_any(name, [refused.name, refused.uri_key, refused.srt_option]))
    }
}

/// Whether `name` is one of `names` (ASCII case-insensitive; empty names match nothing).
fn matches_any(name: &str, names: [&str; 3]) -> bool {
    !name.is_empty()
        && names
            .iter()
            .any(|candidate| !candidate.is_empty() && candidate.eq_ignore_ascii_case(name))
}

impl OptionName {
    /// Every option, in table order.
    pub const ALL: [OptionName; OPTION_COUNT] = [
        OptionName::ThreadSafeCheck,
        OptionName::Timeout,
        OptionName::RecvSendFlags,
        OptionName::SendBufferSize,
        OptionName::ReceiveBufferSize,
        OptionName::PayloadSize,
        OptionName::Latency,
        OptionName::MaxBandwidth,
        OptionName::OverheadBandwidth,
        OptionName::StreamId,
        OptionName::ConnectTimeout,
        OptionName::KeyLength,
        OptionName::Passphrase,
        OptionName::InputBandwidth,
        OptionName::MinInputBandwidth,
        OptionName::TooLatePacketDrop,
        OptionName::MinVersion,
        OptionName::TransmissionType,
        OptionName::Congestion,
        OptionName::Linger,
        OptionName::TsbpdMode,
        OptionName::ReceiveLatency,
        OptionName::PeerLatency,
        OptionName::PeerIdleTimeout,
        OptionName::MaxSegmentSize,
        OptionName::FlightFlagSize,
        OptionName::SendDropDelay,
        OptionName::MessageApi,
        OptionName::NakReport,
        OptionName::EnforcedEncryption,
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
            .find(|spec| matches_any(name, [spec.sdk_name, spec.uri_key, spec.srt_option]))
            .map(|spec| spec.name)
    }

    /// Looks an option up by its libsrt URI key only (ASCII case-insensitive).
    pub fn from_uri_key(key: &str) -> Option<OptionName> {
        OPTION_TABLE
            .iter()
            .find(|spec| !key.is_empty() && spec.uri_key.eq_ignore_ascii_case(key))
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
        // A name listed twice for one option (none today) would be deduplicated, not an error.
        let mut all: Vec<(String, String)> = OPTION_TABLE
            .iter()
            .flat_map(|spec| {
                [spec.sdk_name, spec.uri_key, spec.srt_option]
                    .map(|name| (name.to_ascii_lowercase(), format!("{:?}", spec.name)))
            })
            .chain(REFUSED_OPTIONS.iter().flat_map(|refused| {
                [refused.name, refused.uri_key, refused.srt_option]
                    .map(|name| (name.to_ascii_lowercase(), refused.name.to_owned()))
            }))
            .filter(|(name, _)| !name.is_empty())
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
            if !spec.uri_key.is_empty() {
                assert_eq!(OptionName::from_name(spec.uri_key), Some(spec.name));
                assert_eq!(OptionName::from_name(spec.srt_option), Some(spec.name));
                assert_eq!(OptionName::from_uri_key(spec.uri_key), Some(spec.name));
            }
        }
        assert_eq!(
            OptionName::from_name("TOO-LATE PACKET DROP"),
            Some(OptionName::TooLatePacketDrop)
        );
        assert_eq!(OptionName::from_name("latencyy"), None);
        assert_eq!(OptionName::from_name(""), None);
        assert_eq!(OptionName::from_uri_key(""), None);
        assert!(RefusedOption::find("").is_none());
        assert!(RefusedOption::find("lossmaxttl").is_some());
    }
}
