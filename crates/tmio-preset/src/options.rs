//! [`Options`]: every SRT option tmio knows, typed, settable by the SDK's names, validated.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::table::{RefusedOption, ValueRange};
use crate::{
    CongestionControl, DeliveryPolicy, Error, KeyLength, MaxBandwidth, OptionName, OptionValue,
    TransmissionType,
};

/// IPv4 + UDP headers (28 bytes) and the SRT data header (16 bytes): a packet's payload is
/// the segment size minus this.
pub const PACKET_HEADERS: u32 = 44;

/// libsrt's smallest send or receive buffer, in packets.
pub const MIN_BUFFER_PACKETS: u64 = 32;

/// An encryption passphrase: its `Debug` form and its serialisation never show it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Passphrase(String);

impl Passphrase {
    /// The secret itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(***)")
    }
}

impl Serialize for Passphrase {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

pub(crate) fn serialize_millis<S: Serializer>(
    value: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
}

fn serialize_secs<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(value.as_secs())
}

fn serialize_max_bandwidth<S: Serializer>(
    value: &MaxBandwidth,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_i64(value.as_i64())
}

fn serialize_key_length<S: Serializer>(
    value: &KeyLength,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u8(value.bytes())
}

fn serialize_drop_delay<S: Serializer>(
    value: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        None => serializer.serialize_i64(-1),
        Some(delay) => serialize_millis(delay, serializer),
    }
}

fn serialize_congestion<S: Serializer>(
    value: &CongestionControl,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_str())
}

/// The transmission type a congestion controller belongs to.
fn transmission_type_of(congestion: CongestionControl) -> TransmissionType {
    match congestion {
        CongestionControl::Live | CongestionControl::LiveBbr => TransmissionType::Live,
        CongestionControl::File => TransmissionType::File,
    }
}

/// The default congestion controller of a transmission type (libsrt's).
fn congestion_of(kind: TransmissionType) -> CongestionControl {
    match kind {
        TransmissionType::Live => CongestionControl::Live,
        TransmissionType::File => CongestionControl::File,
    }
}

/// Every SRT option tmio knows, with typed getters and setters, and access by the reference
/// SDK's option names ([`Options::set_by_name`], [`Options::get_by_name`]).
///
/// [`Options::default`] holds libsrt's live-mode defaults; [`Options::from_preset`] starts
/// from a [`Preset`](crate::Preset). Each setter checks its value's range; combinations (payload
/// size against segment size, buffer sizes, key length without passphrase) are checked by
/// [`Options::validate`], which the transport calls before use.
///
/// `Serialize` gives a JSON-friendly dump (durations in ms, linger in s, the passphrase as
/// `"***"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Options {
    transmission_type: TransmissionType,
    tsbpd_mode: bool,
    too_late_packet_drop: bool,
    #[serde(rename = "receive_latency_ms", serialize_with = "serialize_millis")]
    receive_latency: Duration,
    #[serde(rename = "peer_latency_ms", serialize_with = "serialize_millis")]
    peer_latency: Duration,
    #[serde(
        rename = "max_bandwidth_bytes_per_second",
        serialize_with = "serialize_max_bandwidth"
    )]
    max_bandwidth: MaxBandwidth,
    #[serde(rename = "input_bandwidth_bytes_per_second")]
    input_bandwidth: u64,
    overhead_percent: u8,
    payload_size: u32,
    send_buffer_size: u32,
    receive_buffer_size: u32,
    #[serde(rename = "connect_timeout_ms", serialize_with = "serialize_millis")]
    connect_timeout: Duration,
    #[serde(rename = "peer_idle_timeout_ms", serialize_with = "serialize_millis")]
    peer_idle_timeout: Duration,
    #[serde(rename = "linger_s", serialize_with = "serialize_secs")]
    linger: Duration,
    passphrase: Option<Passphrase>,
    #[serde(serialize_with = "serialize_key_length")]
    key_length: KeyLength,
    stream_id: Option<String>,
    mss: u32,
    flight_flag_size: u32,
    #[serde(rename = "send_drop_delay_ms", serialize_with = "serialize_drop_delay")]
    send_drop_delay: Option<Duration>,
    #[serde(rename = "min_input_bandwidth_bytes_per_second")]
    min_input_bandwidth: u64,
    min_version: u32,
    #[serde(rename = "key_refresh_rate_packets")]
    key_refresh_rate: u32,
    #[serde(rename = "key_pre_announce_packets")]
    key_pre_announce: u32,
    /// Whether the pre-announcement was set (to something other than 0, libsrt's "default"):
    /// only then does one above (key refresh rate - 1) / 2 conflict; the default is lowered to
    /// fit, as libsrt lowers it when the refresh rate is set.
    #[serde(skip)]
    key_pre_announce_set: bool,
    #[serde(serialize_with = "serialize_congestion")]
    congestion: CongestionControl,
    message_api: bool,
}

/// libsrt's default send and receive buffer: 8192 packets of 1472 bytes.
const LIBSRT_DEFAULT_BUFFER: u32 = 8192 * 1472;

/// tmio's default key refresh period, packets (srt-protocol's; libsrt's is 2^24).
const DEFAULT_KEY_REFRESH_RATE: u32 = 1 << 25;
/// tmio's default key pre-announcement, packets (srt-protocol's; libsrt's is 4096).
const DEFAULT_KEY_PRE_ANNOUNCE: u32 = 4000;

/// libsrt's default `SRTO_MINVERSION`: 0x010000 (1.0.0).
const LIBSRT_DEFAULT_MIN_VERSION: u32 = 0x01_00_00;

impl Default for Options {
    /// libsrt's defaults for a live-mode socket.
    fn default() -> Self {
        Options {
            transmission_type: TransmissionType::Live,
            tsbpd_mode: true,
            too_late_packet_drop: true,
            receive_latency: Duration::from_millis(120),
            peer_latency: Duration::ZERO,
            max_bandwidth: MaxBandwidth::Unlimited,
            input_bandwidth: 0,
            overhead_percent: 25,
            payload_size: 1316,
            send_buffer_size: LIBSRT_DEFAULT_BUFFER,
            receive_buffer_size: LIBSRT_DEFAULT_BUFFER,
            connect_timeout: Duration::from_millis(3000),
            peer_idle_timeout: Duration::from_millis(5000),
            linger: Duration::ZERO,
            passphrase: None,
            key_length: KeyLength::Default,
            stream_id: None,
            mss: 1500,
            flight_flag_size: 25600,
            send_drop_delay: Some(Duration::ZERO),
            min_input_bandwidth: 0,
            min_version: LIBSRT_DEFAULT_MIN_VERSION,
            key_refresh_rate: DEFAULT_KEY_REFRESH_RATE,
            key_pre_announce: DEFAULT_KEY_PRE_ANNOUNCE,
            key_pre_announce_set: false,
            congestion: CongestionControl::Live,
            message_api: true,
        }
    }
}

fn invalid(name: OptionName, value: impl fmt::Display) -> Error {
    Error::InvalidValue {
        option: name.sdk_name(),
        value: value.to_string(),
        expected: name.spec().expected,
    }
}

/// A duration as a whole number of `unit`s; an error if it has a smaller remainder or is
/// too large.
fn whole_units(name: OptionName, duration: Duration, unit: Duration) -> Result<i64, Error> {
    let nanos = duration.as_nanos();
    let unit_nanos = unit.as_nanos();
    if unit_nanos == 0 || nanos % unit_nanos != 0 {
        return Err(invalid(name, format_args!("{duration:?}")));
    }
    i64::try_from(nanos / unit_nanos).map_err(|_| invalid(name, format_args!("{duration:?}")))
}

fn millis(name: OptionName, duration: Duration) -> Result<OptionValue, Error> {
    whole_units(name, duration, Duration::from_millis(1)).map(OptionValue::Integer)
}

fn duration_millis(value: &Duration) -> i64 {
    i64::try_from(value.as_millis()).unwrap_or(i64::MAX)
}

fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["1", "true", "yes", "on"];
    const FALSE: [&str; 4] = ["0", "false", "no", "off"];
    let text = text.trim();
    if TRUE.iter().any(|word| word.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|word| word.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

/// Parses `text` as a value of option `name`.
pub(crate) fn parse_value(name: OptionName, text: &str) -> Result<OptionValue, Error> {
    match name.spec().range {
        ValueRange::Integer { .. } | ValueRange::OptionalInteger { .. } | ValueRange::KeyLength => {
            text.trim()
                .parse::<i64>()
                .map(OptionValue::Integer)
                .map_err(|_| invalid(name, text))
        }
        ValueRange::Bool => parse_bool(text)
            .map(OptionValue::Bool)
            .ok_or_else(|| invalid(name, text)),
        ValueRange::Text { .. } => Ok(OptionValue::Text(text.to_owned())),
        ValueRange::TransmissionType => transmission_type_from_text(text.trim())
            .map(OptionValue::TransmissionType)
            .ok_or_else(|| invalid(name, text)),
        ValueRange::Congestion => Ok(OptionValue::Text(text.trim().to_owned())),
        ValueRange::FixedInteger(_) => text
            .trim()
            .parse::<i64>()
            .map(OptionValue::Integer)
            .map_err(|_| invalid(name, text)),
        ValueRange::FixedBool(_) => parse_bool(text)
            .map(OptionValue::Bool)
            .ok_or_else(|| invalid(name, text)),
    }
}

/// The SDK's integer form of a transmission type (`TRANSTYPE_LIVE` 0, `TRANSTYPE_FILE` 1).
fn transmission_type_from_integer(number: i64) -> Option<TransmissionType> {
    match number {
        0 => Some(TransmissionType::Live),
        1 => Some(TransmissionType::File),
        _ => None,
    }
}

/// `0`/`1` (the SDK's integers) or `live`/`file` (libsrt's words).
fn transmission_type_from_text(text: &str) -> Option<TransmissionType> {
    match text.parse::<i64>() {
        Ok(number) => transmission_type_from_integer(number),
        Err(_) => TransmissionType::parse(text),
    }
}

/// The SDK's integer form of `kind`.
fn transmission_type_integer(kind: TransmissionType) -> i64 {
    match kind {
        TransmissionType::Live => 0,
        TransmissionType::File => 1,
    }
}

/// [`Error::Refused`] for option `name` and `value`.
fn refused(name: OptionName, value: impl fmt::Display) -> Error {
    Error::Refused {
        option: name.sdk_name(),
        value: value.to_string(),
        reason: name.spec().refusal,
    }
}

/// The error for a name no option has: [`Error::Refused`] for a name tmio knows and refuses
/// ([`RefusedOption`]), [`Error::UnknownOption`] otherwise.
pub(crate) fn no_such_option(name: &str, value: impl fmt::Display) -> Error {
    match RefusedOption::find(name) {
        Some(known) => Error::Refused {
            option: known.name,
            value: value.to_string(),
            reason: known.reason,
        },
        None => Error::unknown_option(name, value),
    }
}

impl Options {
    /// libsrt's live-mode defaults (same as [`Options::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    // ----- access by name -------------------------------------------------------------------

    /// Sets an option by name (the SDK name, e.g. `"srt latency (ms)"`, or the libsrt URI key
    /// or `SRTO_` constant) from its text value.
    ///
    /// Integers are in the option's unit; flags take `true`/`false`, `1`/`0`, `yes`/`no`,
    /// `on`/`off`; an empty passphrase or stream id unsets it. An unknown name, a value that
    /// does not parse or one out of range is an error naming both; nothing is ignored.
    pub fn set_by_name(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let option = OptionName::from_name(name).ok_or_else(|| no_such_option(name, value))?;
        let parsed = parse_value(option, value)?;
        self.set(option, parsed)
    }

    /// Sets an option by name from a typed value (see [`Options::set_by_name`]).
    pub fn set_value_by_name(&mut self, name: &str, value: OptionValue) -> Result<(), Error> {
        let option = OptionName::from_name(name).ok_or_else(|| no_such_option(name, &value))?;
        self.set(option, value)
    }

    /// An option's value by name (see [`Options::set_by_name`] for the names). Its `Display`
    /// form sets it back with `set_by_name`.
    pub fn get_by_name(&self, name: &str) -> Result<OptionValue, Error> {
        let option = OptionName::from_name(name).ok_or_else(|| no_such_option(name, ""))?;
        Ok(self.get(option))
    }

    /// Sets an option from a typed value, checking its kind and range.
    ///
    /// Setting [`OptionName::TransmissionType`] to a different type first loads that type's
    /// libsrt defaults (see [`Options::set_transmission_type`]).
    pub fn set(&mut self, name: OptionName, value: OptionValue) -> Result<(), Error> {
        let spec = name.spec();
        let wrong_kind = |value: &OptionValue, expected: &'static str| Error::WrongValueKind {
            option: spec.sdk_name,
            value: value.to_string(),
            given: value.kind_name(),
            expected,
        };
        match (spec.range, value) {
            (ValueRange::Integer { min, max }, OptionValue::Integer(number)) => {
                if number < min || number > max {
                    return Err(invalid(name, number));
                }
                self.store_integer(name, number)
            }
            (ValueRange::OptionalInteger { min, max }, OptionValue::Integer(number)) => {
                if number != -1 && (number < min || number > max) {
                    return Err(invalid(name, number));
                }
                self.store_integer(name, number)
            }
            (ValueRange::KeyLength, OptionValue::Integer(number)) => {
                self.key_length =
                    KeyLength::from_bytes(number).ok_or_else(|| invalid(name, number))?;
                Ok(())
            }
            (ValueRange::Bool, OptionValue::Bool(flag)) => self.store_bool(name, flag),
            (
                ValueRange::Text {
                    min_bytes,
                    max_bytes,
                },
                OptionValue::Text(text),
            ) => {
                if !text.is_empty() && (text.len() < min_bytes || text.len() > max_bytes) {
                    return Err(match name {
                        // The secret itself is never carried by an error: its length only.
                        OptionName::Passphrase => Error::InvalidPassphrase {
                            length: text.len(),
                            expected: spec.expected,
                        },
                        _ => invalid(name, text),
                    });
                }
                let text = (!text.is_empty()).then_some(text);
                match name {
                    OptionName::Passphrase => self.passphrase = text.map(Passphrase),
                    _ => self.stream_id = text,
                }
                Ok(())
            }
            (ValueRange::TransmissionType, OptionValue::TransmissionType(kind)) => {
                self.set_transmission_type(kind);
                Ok(())
            }
            (ValueRange::TransmissionType, OptionValue::Integer(number)) => {
                let kind =
                    transmission_type_from_integer(number).ok_or_else(|| invalid(name, number))?;
                self.set_transmission_type(kind);
                Ok(())
            }
            (ValueRange::TransmissionType, OptionValue::Text(text)) => {
                let kind =
                    transmission_type_from_text(text.trim()).ok_or_else(|| invalid(name, &text))?;
                self.set_transmission_type(kind);
                Ok(())
            }
            (ValueRange::Congestion, OptionValue::TransmissionType(kind)) => {
                self.congestion = congestion_of(kind);
                Ok(())
            }
            (ValueRange::Congestion, OptionValue::Text(text)) => {
                self.congestion =
                    CongestionControl::parse(text.trim()).ok_or_else(|| invalid(name, &text))?;
                Ok(())
            }
            (ValueRange::FixedInteger(fixed), OptionValue::Integer(number)) => {
                if number == fixed {
                    Ok(())
                } else {
                    Err(refused(name, number))
                }
            }
            (ValueRange::FixedBool(fixed), OptionValue::Bool(flag)) => {
                if flag == fixed {
                    Ok(())
                } else {
                    Err(refused(name, flag))
                }
            }
            (
                ValueRange::Integer { .. }
                | ValueRange::OptionalInteger { .. }
                | ValueRange::KeyLength
                | ValueRange::FixedInteger(_),
                other,
            ) => Err(wrong_kind(&other, "an integer")),
            (ValueRange::Bool | ValueRange::FixedBool(_), other) => {
                Err(wrong_kind(&other, "a boolean"))
            }
            (ValueRange::Text { .. }, other) => Err(wrong_kind(&other, "text")),
            (ValueRange::TransmissionType, other) => {
                Err(wrong_kind(&other, "0 (live) or 1 (file)"))
            }
            (ValueRange::Congestion, other) => {
                Err(wrong_kind(&other, "text: live, live_bbr or file"))
            }
        }
    }

    /// An option's typed value.
    pub fn get(&self, name: OptionName) -> OptionValue {
        use OptionValue::{Bool, Integer, Text};
        match name {
            OptionName::Latency | OptionName::ReceiveLatency => {
                Integer(duration_millis(&self.receive_latency))
            }
            OptionName::PeerLatency => Integer(duration_millis(&self.peer_latency)),
            OptionName::TooLatePacketDrop => Bool(self.too_late_packet_drop),
            OptionName::MaxBandwidth => Integer(self.max_bandwidth.as_i64()),
            OptionName::InputBandwidth => {
                Integer(i64::try_from(self.input_bandwidth).unwrap_or(i64::MAX))
            }
            OptionName::OverheadBandwidth => Integer(i64::from(self.overhead_percent)),
            OptionName::PayloadSize => Integer(i64::from(self.payload_size)),
            OptionName::SendBufferSize => Integer(i64::from(self.send_buffer_size)),
            OptionName::ReceiveBufferSize => Integer(i64::from(self.receive_buffer_size)),
            OptionName::ConnectTimeout => Integer(duration_millis(&self.connect_timeout)),
            OptionName::PeerIdleTimeout => Integer(duration_millis(&self.peer_idle_timeout)),
            OptionName::Linger => Integer(i64::try_from(self.linger.as_secs()).unwrap_or(i64::MAX)),
            OptionName::Passphrase => Text(
                self.passphrase
                    .as_ref()
                    .map(|secret| secret.0.clone())
                    .unwrap_or_default(),
            ),
            OptionName::KeyLength => Integer(i64::from(self.key_length.bytes())),
            OptionName::StreamId => Text(self.stream_id.clone().unwrap_or_default()),
            OptionName::TransmissionType => {
                Integer(transmission_type_integer(self.transmission_type))
            }
            OptionName::TsbpdMode => Bool(self.tsbpd_mode),
            OptionName::MaxSegmentSize => Integer(i64::from(self.mss)),
            OptionName::FlightFlagSize => Integer(i64::from(self.flight_flag_size)),
            OptionName::SendDropDelay => {
                Integer(self.send_drop_delay.as_ref().map_or(-1, duration_millis))
            }
            OptionName::MinInputBandwidth => {
                Integer(i64::try_from(self.min_input_bandwidth).unwrap_or(i64::MAX))
            }
            OptionName::MinVersion => Integer(i64::from(self.min_version)),
            OptionName::KeyRefreshRate => Integer(i64::from(self.key_refresh_rate)),
            OptionName::KeyPreAnnounce => Integer(i64::from(self.key_pre_announce())),
            OptionName::Congestion => Text(self.congestion.as_str().to_owned()),
            OptionName::MessageApi => Bool(self.message_api),
            // The options with one value (checked by a test: their range is fixed).
            OptionName::ThreadSafeCheck
            | OptionName::Timeout
            | OptionName::RecvSendFlags
            | OptionName::NakReport
            | OptionName::EnforcedEncryption
            | OptionName::DriftTracer
            | OptionName::IpTtl
            | OptionName::IpTos => match name.spec().range {
                ValueRange::FixedBool(fixed) => Bool(fixed),
                ValueRange::FixedInteger(fixed) => Integer(fixed),
                _ => Text(String::new()),
            },
        }
    }

    /// Stores an integer already checked against the option's range.
    fn store_integer(&mut self, name: OptionName, number: i64) -> Result<(), Error> {
        let unsigned = || u64::try_from(number).map_err(|_| invalid(name, number));
        let small = || u32::try_from(number).map_err(|_| invalid(name, number));
        match name {
            OptionName::Latency => {
                self.receive_latency = Duration::from_millis(unsigned()?);
                self.peer_latency = self.receive_latency;
            }
            OptionName::ReceiveLatency => self.receive_latency = Duration::from_millis(unsigned()?),
            OptionName::PeerLatency => self.peer_latency = Duration::from_millis(unsigned()?),
            OptionName::MaxBandwidth => {
                self.max_bandwidth =
                    MaxBandwidth::from_i64(number).ok_or_else(|| invalid(name, number))?;
            }
            OptionName::InputBandwidth => self.input_bandwidth = unsigned()?,
            OptionName::OverheadBandwidth => {
                self.overhead_percent = u8::try_from(number).map_err(|_| invalid(name, number))?;
            }
            OptionName::PayloadSize => self.payload_size = small()?,
            OptionName::SendBufferSize => self.send_buffer_size = small()?,
            OptionName::ReceiveBufferSize => self.receive_buffer_size = small()?,
            OptionName::ConnectTimeout => self.connect_timeout = Duration::from_millis(unsigned()?),
            OptionName::PeerIdleTimeout => {
                self.peer_idle_timeout = Duration::from_millis(unsigned()?);
            }
            OptionName::Linger => self.linger = Duration::from_secs(unsigned()?),
            OptionName::MaxSegmentSize => self.mss = small()?,
            OptionName::FlightFlagSize => self.flight_flag_size = small()?,
            OptionName::SendDropDelay => {
                self.send_drop_delay = if number == -1 {
                    None
                } else {
                    Some(Duration::from_millis(unsigned()?))
                };
            }
            OptionName::MinInputBandwidth => self.min_input_bandwidth = unsigned()?,
            OptionName::MinVersion => self.min_version = small()?,
            // 0 selects the default, as in libsrt; 1 and 2 leave no room for a pre-announcement.
            OptionName::KeyRefreshRate => {
                self.key_refresh_rate = match small()? {
                    0 => DEFAULT_KEY_REFRESH_RATE,
                    1 | 2 => return Err(invalid(name, number)),
                    packets => packets,
                }
            }
            OptionName::KeyPreAnnounce => {
                let packets = small()?;
                if packets == 0 {
                    self.key_pre_announce_set = false;
                    self.key_pre_announce = DEFAULT_KEY_PRE_ANNOUNCE;
                } else if self.key_pre_announce_set || packets != self.key_pre_announce() {
                    // (Setting the default as it reads leaves it the default.)
                    self.key_pre_announce_set = true;
                    self.key_pre_announce = packets;
                }
            }
            _ => return Err(invalid(name, number)),
        }
        Ok(())
    }

    fn store_bool(&mut self, name: OptionName, flag: bool) -> Result<(), Error> {
        match name {
            OptionName::TooLatePacketDrop => self.too_late_packet_drop = flag,
            OptionName::TsbpdMode => self.tsbpd_mode = flag,
            OptionName::MessageApi => self.message_api = flag,
            _ => return Err(invalid(name, flag)),
        }
        Ok(())
    }

    // ----- typed setters --------------------------------------------------------------------

    /// Sets the transmission type. A change of type first loads libsrt's defaults for it, as
    /// `SRTO_TRANSTYPE` does: live = TSBPD, too-late drop, NAK report and message API on,
    /// receive latency 120 ms, peer latency 0, payload 1316, linger 0, send drop delay 0,
    /// live congestion control (`live_bbr`, if that was set, stays: it is a live-mode
    /// controller); file = all of those off or 0, payload 0 (no limit), linger 180 s, send drop
    /// delay -1 (never drop), file congestion control. (libsrt's NAK report default follows the
    /// type too; tmio's receiver always reports, see docs/options.md.) Setting the current type
    /// changes nothing.
    pub fn set_transmission_type(&mut self, kind: TransmissionType) {
        if kind == self.transmission_type {
            return;
        }
        self.transmission_type = kind;
        let live = kind == TransmissionType::Live;
        self.tsbpd_mode = live;
        self.too_late_packet_drop = live;
        self.receive_latency = Duration::from_millis(if live { 120 } else { 0 });
        self.peer_latency = Duration::ZERO;
        self.payload_size = if live { 1316 } else { 0 };
        self.linger = Duration::from_secs(if live { 0 } else { 180 });
        self.send_drop_delay = live.then_some(Duration::ZERO);
        self.message_api = live;
        if transmission_type_of(self.congestion) != kind {
            self.congestion = congestion_of(kind);
        }
    }

    /// Sets both the receive and the peer latency (`SRTO_LATENCY`), whole milliseconds up to
    /// 2^31 - 1.
    pub fn set_latency(&mut self, latency: Duration) -> Result<(), Error> {
        self.set(OptionName::Latency, millis(OptionName::Latency, latency)?)
    }

    /// Sets the receive latency (`SRTO_RCVLATENCY`), whole milliseconds.
    pub fn set_receive_latency(&mut self, latency: Duration) -> Result<(), Error> {
        let value = millis(OptionName::ReceiveLatency, latency)?;
        self.set(OptionName::ReceiveLatency, value)
    }

    /// Sets the peer latency (`SRTO_PEERLATENCY`), whole milliseconds.
    pub fn set_peer_latency(&mut self, latency: Duration) -> Result<(), Error> {
        self.set(
            OptionName::PeerLatency,
            millis(OptionName::PeerLatency, latency)?,
        )
    }

    /// Sets too-late packet drop (`SRTO_TLPKTDROP`).
    pub fn set_too_late_packet_drop(&mut self, on: bool) {
        self.too_late_packet_drop = on;
    }

    /// Sets the bandwidth cap (`SRTO_MAXBW`); a cap above 2^63 - 1 is an error.
    pub fn set_max_bandwidth(&mut self, max: MaxBandwidth) -> Result<(), Error> {
        match max {
            MaxBandwidth::BytesPerSecond(0) => Err(invalid(OptionName::MaxBandwidth, 0)),
            MaxBandwidth::BytesPerSecond(bytes) if i64::try_from(bytes).is_err() => {
                Err(invalid(OptionName::MaxBandwidth, bytes))
            }
            _ => {
                self.max_bandwidth = max;
                Ok(())
            }
        }
    }

    /// Sets the input bandwidth (`SRTO_INPUTBW`) in bytes per second (0: measure it).
    pub fn set_input_bandwidth(&mut self, bytes_per_second: u64) -> Result<(), Error> {
        let value = i64::try_from(bytes_per_second)
            .map_err(|_| invalid(OptionName::InputBandwidth, bytes_per_second))?;
        self.set(OptionName::InputBandwidth, OptionValue::Integer(value))
    }

    /// Sets the overhead bandwidth (`SRTO_OHEADBW`), 5 to 100 %.
    pub fn set_overhead_percent(&mut self, percent: u8) -> Result<(), Error> {
        self.set(
            OptionName::OverheadBandwidth,
            OptionValue::Integer(i64::from(percent)),
        )
    }

    /// Sets the payload size (`SRTO_PAYLOADSIZE`), 0 to 1456 bytes.
    pub fn set_payload_size(&mut self, bytes: u32) -> Result<(), Error> {
        self.set(
            OptionName::PayloadSize,
            OptionValue::Integer(i64::from(bytes)),
        )
    }

    /// Sets the send buffer size (`SRTO_SNDBUF`) in bytes.
    pub fn set_send_buffer_size(&mut self, bytes: u32) -> Result<(), Error> {
        self.set(
            OptionName::SendBufferSize,
            OptionValue::Integer(i64::from(bytes)),
        )
    }

    /// Sets the receive buffer size (`SRTO_RCVBUF`) in bytes.
    pub fn set_receive_buffer_size(&mut self, bytes: u32) -> Result<(), Error> {
        self.set(
            OptionName::ReceiveBufferSize,
            OptionValue::Integer(i64::from(bytes)),
        )
    }

    /// Sets the connect timeout (`SRTO_CONNTIMEO`), whole milliseconds.
    pub fn set_connect_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        let value = millis(OptionName::ConnectTimeout, timeout)?;
        self.set(OptionName::ConnectTimeout, value)
    }

    /// Sets the peer idle timeout (`SRTO_PEERIDLETIMEO`), whole milliseconds.
    pub fn set_peer_idle_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        let value = millis(OptionName::PeerIdleTimeout, timeout)?;
        self.set(OptionName::PeerIdleTimeout, value)
    }

    /// Sets the linger time (`SRTO_LINGER`), whole seconds (zero: off).
    pub fn set_linger(&mut self, linger: Duration) -> Result<(), Error> {
        let seconds = whole_units(OptionName::Linger, linger, Duration::from_secs(1))?;
        self.set(OptionName::Linger, OptionValue::Integer(seconds))
    }

    /// Sets (10 to 79 bytes) or clears (`None` or empty) the passphrase (`SRTO_PASSPHRASE`).
    pub fn set_passphrase(&mut self, passphrase: Option<&str>) -> Result<(), Error> {
        self.set(
            OptionName::Passphrase,
            OptionValue::Text(passphrase.unwrap_or_default().to_owned()),
        )
    }

    /// Sets the key length (`SRTO_PBKEYLEN`).
    pub fn set_key_length(&mut self, key_length: KeyLength) {
        self.key_length = key_length;
    }

    /// Sets (up to 512 bytes) or clears (`None` or empty) the stream id (`SRTO_STREAMID`).
    pub fn set_stream_id(&mut self, stream_id: Option<&str>) -> Result<(), Error> {
        self.set(
            OptionName::StreamId,
            OptionValue::Text(stream_id.unwrap_or_default().to_owned()),
        )
    }

    /// Sets TSBPD mode (`SRTO_TSBPDMODE`).
    pub fn set_tsbpd_mode(&mut self, on: bool) {
        self.tsbpd_mode = on;
    }

    /// Sets the maximum segment size (`SRTO_MSS`), 76 to 65535 bytes.
    pub fn set_mss(&mut self, bytes: u32) -> Result<(), Error> {
        self.set(
            OptionName::MaxSegmentSize,
            OptionValue::Integer(i64::from(bytes)),
        )
    }

    /// Sets the flight flag size (`SRTO_FC`), at least 32 packets.
    pub fn set_flight_flag_size(&mut self, packets: u32) -> Result<(), Error> {
        self.set(
            OptionName::FlightFlagSize,
            OptionValue::Integer(i64::from(packets)),
        )
    }

    /// Sets the send drop delay (`SRTO_SNDDROPDELAY`), whole milliseconds; `None` never drops.
    pub fn set_send_drop_delay(&mut self, delay: Option<Duration>) -> Result<(), Error> {
        let value = match delay {
            None => OptionValue::Integer(-1),
            Some(delay) => millis(OptionName::SendDropDelay, delay)?,
        };
        self.set(OptionName::SendDropDelay, value)
    }

    /// Sets the minimum input bandwidth (`SRTO_MININPUTBW`) in bytes per second.
    pub fn set_min_input_bandwidth(&mut self, bytes_per_second: u64) -> Result<(), Error> {
        let value = i64::try_from(bytes_per_second)
            .map_err(|_| invalid(OptionName::MinInputBandwidth, bytes_per_second))?;
        self.set(OptionName::MinInputBandwidth, OptionValue::Integer(value))
    }

    /// Sets the minimum peer version (`SRTO_MINVERSION`, e.g. `0x010300` for 1.3.0): at most
    /// 0x010300, which tmio's HSv5-only handshake guarantees.
    pub fn set_min_version(&mut self, version: u32) -> Result<(), Error> {
        self.set(
            OptionName::MinVersion,
            OptionValue::Integer(i64::from(version)),
        )
    }

    /// Sets the congestion controller (`SRTO_CONGESTION`) without loading mode defaults:
    /// `live_bbr` makes the sending rate adaptive with the maximum bandwidth as its ceiling,
    /// `live` paces at the maximum bandwidth when one is set.
    pub fn set_congestion(&mut self, kind: CongestionControl) {
        self.congestion = kind;
    }

    /// Sets the message API (`SRTO_MESSAGEAPI`).
    pub fn set_message_api(&mut self, on: bool) {
        self.message_api = on;
    }

    // ----- typed getters --------------------------------------------------------------------

    /// The transmission type.
    pub fn transmission_type(&self) -> TransmissionType {
        self.transmission_type
    }

    /// The receive latency: what `SRTO_LATENCY` reads back.
    pub fn latency(&self) -> Duration {
        self.receive_latency
    }

    /// The receive latency (`SRTO_RCVLATENCY`).
    pub fn receive_latency(&self) -> Duration {
        self.receive_latency
    }

    /// The peer latency (`SRTO_PEERLATENCY`).
    pub fn peer_latency(&self) -> Duration {
        self.peer_latency
    }

    /// Whether too-late packet drop is on.
    pub fn too_late_packet_drop(&self) -> bool {
        self.too_late_packet_drop
    }

    /// The bandwidth cap.
    pub fn max_bandwidth(&self) -> MaxBandwidth {
        self.max_bandwidth
    }

    /// The input bandwidth in bytes per second (0: measured).
    pub fn input_bandwidth(&self) -> u64 {
        self.input_bandwidth
    }

    /// The overhead bandwidth in percent.
    pub fn overhead_percent(&self) -> u8 {
        self.overhead_percent
    }

    /// The payload size as set (0: no limit).
    pub fn payload_size(&self) -> u32 {
        self.payload_size
    }

    /// The payload bytes per packet the transport should use: the payload size, or the
    /// segment size minus 44 when it is 0.
    pub fn packet_payload_size(&self) -> u32 {
        let most = self.mss.saturating_sub(PACKET_HEADERS);
        if self.payload_size == 0 {
            most
        } else {
            self.payload_size.min(most)
        }
    }

    /// The send buffer size in bytes.
    pub fn send_buffer_size(&self) -> u32 {
        self.send_buffer_size
    }

    /// The receive buffer size in bytes.
    pub fn receive_buffer_size(&self) -> u32 {
        self.receive_buffer_size
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The peer idle timeout.
    pub fn peer_idle_timeout(&self) -> Duration {
        self.peer_idle_timeout
    }

    /// The linger time (zero: off).
    pub fn linger(&self) -> Duration {
        self.linger
    }

    /// The passphrase, if encryption is on.
    pub fn passphrase(&self) -> Option<&Passphrase> {
        self.passphrase.as_ref()
    }

    /// The key length as set.
    pub fn key_length(&self) -> KeyLength {
        self.key_length
    }

    /// The key length in effect: `None` without a passphrase, AES-128 when the key length is
    /// left at [`KeyLength::Default`].
    pub fn effective_key_length(&self) -> Option<KeyLength> {
        self.passphrase.as_ref().map(|_| match self.key_length {
            KeyLength::Default => KeyLength::Aes128,
            other => other,
        })
    }

    /// The stream id, if set.
    pub fn stream_id(&self) -> Option<&str> {
        self.stream_id.as_deref()
    }

    /// Whether TSBPD mode is on.
    pub fn tsbpd_mode(&self) -> bool {
        self.tsbpd_mode
    }

    /// The maximum segment size in bytes.
    pub fn mss(&self) -> u32 {
        self.mss
    }

    /// The flight flag size in packets.
    pub fn flight_flag_size(&self) -> u32 {
        self.flight_flag_size
    }

    /// The send drop delay (`None`: the sender never drops).
    pub fn send_drop_delay(&self) -> Option<Duration> {
        self.send_drop_delay
    }

    /// The minimum input bandwidth in bytes per second.
    pub fn min_input_bandwidth(&self) -> u64 {
        self.min_input_bandwidth
    }

    /// The minimum peer version (`0x010300` = 1.3.0).
    pub fn min_version(&self) -> u32 {
        self.min_version
    }

    /// Packets the sender encrypts with one key before switching to the next
    /// (`SRTO_KMREFRESHRATE`).
    pub fn key_refresh_rate(&self) -> u32 {
        self.key_refresh_rate
    }

    /// Packets before a key switch at which the sender announces the next key
    /// (`SRTO_KMPREANNOUNCE`). Unless set, the default, lowered to (key refresh rate - 1) / 2
    /// if that is less (libsrt lowers it so when the refresh rate is set).
    pub fn key_pre_announce(&self) -> u32 {
        if self.key_pre_announce_set {
            self.key_pre_announce
        } else {
            self.key_pre_announce
                .min(self.key_refresh_rate.saturating_sub(1) / 2)
        }
    }

    /// The congestion controller.
    pub fn congestion(&self) -> CongestionControl {
        self.congestion
    }

    /// Whether the message API is on.
    pub fn message_api(&self) -> bool {
        self.message_api
    }

    // ----- derived --------------------------------------------------------------------------

    /// How the transport must deliver bytes:
    ///
    /// - TSBPD on: [`DeliveryPolicy::Live`] with the latencies and too-late drop;
    /// - TSBPD off, too-late drop on and a send drop delay: [`DeliveryPolicy::SenderDrop`]
    ///   after max(peer latency + send drop delay, 1 s) + 20 ms, as libsrt's sender does;
    /// - otherwise [`DeliveryPolicy::Reliable`].
    pub fn delivery_policy(&self) -> DeliveryPolicy {
        if self.tsbpd_mode {
            return DeliveryPolicy::Live {
                receive_latency: self.receive_latency,
                peer_latency: self.peer_latency,
                too_late_drop: self.too_late_packet_drop,
            };
        }
        match (self.too_late_packet_drop, self.send_drop_delay) {
            (true, Some(delay)) => DeliveryPolicy::SenderDrop {
                drop_after: (self.peer_latency.saturating_add(delay))
                    .max(Duration::from_secs(1))
                    .saturating_add(Duration::from_millis(20)),
            },
            _ => DeliveryPolicy::Reliable,
        }
    }

    /// Checks the combinations of options:
    ///
    /// - the payload size fits the segment size (at most `mss - 44`, so 1456 with 1500);
    /// - the send and receive buffers hold at least 32 packets of `mss - 44` bytes;
    /// - the receive buffer holds no more packets than the flight flag size;
    /// - the congestion control matches the transmission type (tmio's follows it);
    /// - live mode keeps the message API on, file mode keeps it off (tmio's file mode is a
    ///   byte stream);
    /// - a key length other than 0 comes with a passphrase (a passphrase without a key length
    ///   is fine: AES-128, see [`Options::effective_key_length`]);
    /// - the key pre-announcement is at most (key refresh rate - 1) / 2 packets (libsrt's rule).
    pub fn validate(&self) -> Result<(), Error> {
        if self.key_pre_announce() > self.key_refresh_rate.saturating_sub(1) / 2 {
            return Err(Error::Conflict {
                option: OptionName::KeyPreAnnounce.sdk_name(),
                value: self.key_pre_announce().to_string(),
                other: OptionName::KeyRefreshRate.sdk_name(),
                other_value: self.key_refresh_rate.to_string(),
                rule: "the next key is announced at most (key refresh rate - 1) / 2 packets \
                       before the switch",
            });
        }
        let packet_payload = self.mss.saturating_sub(PACKET_HEADERS).max(1);
        if self.payload_size > packet_payload {
            return Err(Error::PayloadTooLarge {
                payload_size: self.payload_size,
                mss: self.mss,
                max: packet_payload,
            });
        }
        let min = MIN_BUFFER_PACKETS * u64::from(packet_payload);
        for (name, bytes) in [
            (OptionName::SendBufferSize, self.send_buffer_size),
            (OptionName::ReceiveBufferSize, self.receive_buffer_size),
        ] {
            if u64::from(bytes) < min {
                return Err(Error::BufferTooSmall {
                    option: name.sdk_name(),
                    bytes,
                    min,
                    packet_payload,
                });
            }
        }
        let packets = u64::from(self.receive_buffer_size).div_ceil(u64::from(packet_payload));
        if packets > u64::from(self.flight_flag_size) {
            return Err(Error::ReceiveBufferAboveFlightWindow {
                bytes: self.receive_buffer_size,
                packets,
                flight_flag_size: self.flight_flag_size,
            });
        }
        if transmission_type_of(self.congestion) != self.transmission_type {
            return Err(Error::Conflict {
                option: OptionName::Congestion.sdk_name(),
                value: self.congestion.to_string(),
                other: OptionName::TransmissionType.sdk_name(),
                other_value: self.transmission_type.to_string(),
                rule:
                    "the congestion control belongs to the transmission type (live or live_bbr with \
                     live, file with file)",
            });
        }
        if self.transmission_type == TransmissionType::File && self.message_api {
            return Err(Error::Conflict {
                option: OptionName::MessageApi.sdk_name(),
                value: "true".into(),
                other: OptionName::TransmissionType.sdk_name(),
                other_value: "file".into(),
                rule: "tmio's file mode is a byte stream without message boundaries",
            });
        }
        if self.transmission_type == TransmissionType::Live && !self.message_api {
            return Err(Error::Conflict {
                option: OptionName::MessageApi.sdk_name(),
                value: "false".into(),
                other: OptionName::TransmissionType.sdk_name(),
                other_value: "live".into(),
                rule: "live mode only has the message API",
            });
        }
        if self.passphrase.is_none() && self.key_length != KeyLength::Default {
            return Err(Error::KeyLengthWithoutPassphrase {
                key_length: self.key_length.bytes(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn latency_sets_both_directions_and_reads_back_the_receive_side() {
        let mut options = Options::new();
        options.set_by_name("srt latency (ms)", "250").unwrap();
        assert_eq!(options.receive_latency(), Duration::from_millis(250));
        assert_eq!(options.peer_latency(), Duration::from_millis(250));
        options.set_by_name("srt peer latency (ms)", "40").unwrap();
        assert_eq!(
            options.get_by_name("srt latency (ms)").unwrap(),
            OptionValue::Integer(250)
        );
    }

    #[test]
    fn options_with_one_value_read_it_back_and_refuse_others() {
        let mut options = Options::new();
        for spec in crate::OPTION_TABLE.iter() {
            let (kept, other) = match spec.range {
                ValueRange::FixedBool(fixed) => {
                    (OptionValue::Bool(fixed), OptionValue::Bool(!fixed))
                }
                ValueRange::FixedInteger(fixed) => {
                    (OptionValue::Integer(fixed), OptionValue::Integer(fixed + 1))
                }
                _ => continue,
            };
            assert_eq!(options.get(spec.name), kept, "{}", spec.sdk_name);
            options.set(spec.name, kept.clone()).unwrap();
            assert_eq!(
                options.set(spec.name, other.clone()),
                Err(Error::Refused {
                    option: spec.sdk_name,
                    value: other.to_string(),
                    reason: spec.refusal,
                })
            );
            assert!(!spec.refusal.is_empty(), "{}", spec.sdk_name);
        }
        assert_eq!(options, Options::new());
    }

    #[test]
    fn durations_must_be_whole_units() {
        let mut options = Options::new();
        assert!(matches!(
            options.set_latency(Duration::from_micros(1500)),
            Err(Error::InvalidValue {
                option: "srt latency (ms)",
                ..
            })
        ));
        assert!(options.set_linger(Duration::from_millis(1500)).is_err());
        options.set_linger(Duration::from_secs(3)).unwrap();
        assert_eq!(options.get(OptionName::Linger), OptionValue::Integer(3));
    }

    #[test]
    fn a_change_of_transmission_type_loads_its_defaults() {
        let mut options = Options::new();
        options
            .set_by_name("The transmission type for the socket", "1")
            .unwrap();
        assert!(!options.tsbpd_mode());
        assert!(!options.too_late_packet_drop());
        assert_eq!(options.payload_size(), 0);
        assert_eq!(options.linger(), Duration::from_secs(180));
        assert_eq!(options.send_drop_delay(), None);
        assert_eq!(options.delivery_policy(), DeliveryPolicy::Reliable);
        options.set_latency(Duration::from_millis(5)).unwrap();
        // Setting the same type again keeps what was set since.
        options.set_by_name("transtype", "FILE").unwrap();
        assert_eq!(options.latency(), Duration::from_millis(5));
        options.set_transmission_type(TransmissionType::Live);
        assert_eq!(options, Options::default());
    }

    #[test]
    fn payload_size_zero_means_the_whole_segment() {
        let mut options = Options::new();
        options.set_payload_size(0).unwrap();
        assert_eq!(options.packet_payload_size(), 1456);
        options.set_mss(1400).unwrap();
        assert_eq!(options.packet_payload_size(), 1356);
    }

    #[test]
    fn sender_drop_without_tsbpd_has_a_floor_of_a_second() {
        let mut options = Options::new();
        options.set_tsbpd_mode(false);
        assert_eq!(
            options.delivery_policy(),
            DeliveryPolicy::SenderDrop {
                drop_after: Duration::from_millis(1020)
            }
        );
        options
            .set_peer_latency(Duration::from_millis(1500))
            .unwrap();
        options
            .set_send_drop_delay(Some(Duration::from_millis(500)))
            .unwrap();
        assert_eq!(
            options.delivery_policy(),
            DeliveryPolicy::SenderDrop {
                drop_after: Duration::from_millis(2020)
            }
        );
        options.set_send_drop_delay(None).unwrap();
        assert_eq!(options.delivery_policy(), DeliveryPolicy::Reliable);
    }

    #[test]
    fn wrong_value_kinds_are_errors() {
        let mut options = Options::new();
        assert_eq!(
            options.set(OptionName::TsbpdMode, OptionValue::Integer(1)),
            Err(Error::WrongValueKind {
                option: "TsbPd",
                value: "1".into(),
                given: "integer",
                expected: "a boolean",
            })
        );
        assert!(options
            .set(OptionName::Latency, OptionValue::Bool(true))
            .is_err());
        assert!(options
            .set(OptionName::Passphrase, OptionValue::Integer(3))
            .is_err());
    }

    #[test]
    fn the_passphrase_never_shows_in_debug_or_json_forms() {
        let mut options = Options::new();
        options
            .set_passphrase(Some("correct horse battery"))
            .unwrap();
        assert!(!format!("{options:?}").contains("horse"));
        let json = serde_json::to_string(&options).unwrap();
        assert!(!json.contains("horse"), "{json}");
        assert!(json.contains(r#""passphrase":"***""#), "{json}");
        assert_eq!(
            options.passphrase().map(Passphrase::as_str),
            Some("correct horse battery")
        );
    }
}
