//! The typed query options of an `srt://` URL, named and measured as libsrt's
//! `srt-live-transmit` documents them.

use std::fmt;
use std::time::Duration;

use crate::encode::encode_query_value;
use crate::redact::{Secrets, Unredacted};
use crate::{Error, Host, StreamId, ValueKind, HIDDEN};

/// The SRT connection mode (`mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Connects to a remote listener (`caller`, alias `client`).
    Caller,
    /// Waits for callers (`listener`, alias `server`).
    Listener,
    /// Both sides connect to each other at once (`rendezvous`).
    Rendezvous,
}

impl Mode {
    /// The canonical name used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Caller => "caller",
            Mode::Listener => "listener",
            Mode::Rendezvous => "rendezvous",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transmission type (`transtype=`) or congestion controller (`congestion=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransType {
    /// `live`: timestamp-based delivery, live congestion control (libsrt's default).
    Live,
    /// `file`: buffer API, file congestion control.
    File,
}

impl TransType {
    /// The name used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            TransType::Live => "live",
            TransType::File => "file",
        }
    }
}

/// The congestion controller (`congestion=`, `SRTO_CONGESTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CongestionControl {
    /// `live`: libsrt's live controller, paced at `maxbw` when it is set (the default with
    /// `transtype=live`).
    Live,
    /// `live_bbr`: the TMIO SDK's name for an adaptive controller on top of live mode; in tmio the
    /// sending rate adapts to the path and `maxbw` is its ceiling (what tmio's presets select).
    LiveBbr,
    /// `file`: file congestion control (the default with `transtype=file`).
    File,
}

impl CongestionControl {
    /// The name used in URLs and by libsrt and the SDK.
    pub fn as_str(self) -> &'static str {
        match self {
            CongestionControl::Live => "live",
            CongestionControl::LiveBbr => "live_bbr",
            CongestionControl::File => "file",
        }
    }

    /// Parses `live`, `live_bbr` or `file` (ASCII case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Live, Self::LiveBbr, Self::File]
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text))
    }

    /// The transmission type this controller belongs to (`live_bbr` is a live-mode controller).
    pub fn trans_type(self) -> TransType {
        match self {
            CongestionControl::Live | CongestionControl::LiveBbr => TransType::Live,
            CongestionControl::File => TransType::File,
        }
    }
}

impl fmt::Display for CongestionControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The crypto key length (`pbkeylen=`), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyLength {
    /// `0`: let the peers agree (AES-128 unless the peer asks for more).
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
}

/// The sender's bandwidth limit (`maxbw=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxBandwidth {
    /// `-1`: no limit (libsrt's default).
    Unlimited,
    /// `0`: `inputbw` (or its estimate) plus `oheadbw` percent.
    RelativeToInput,
    /// A limit in bytes per second (1 to 9223372036854775807).
    BytesPerSecond(u64),
}

/// Value kinds: each parses the decoded text of one option value and prints it back.
mod kinds {
    use super::*;

    /// A parse failure: `None` means "the generic message for this option's value kind".
    pub(super) type Failure = Option<Error>;

    const I32_MAX: u64 = i32::MAX as u64;
    const I64_MAX: u64 = i64::MAX as u64;

    fn whole(raw: &str) -> Result<u64, Failure> {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(None);
        }
        raw.parse::<u64>().map_err(|_| None)
    }

    fn ranged(raw: &str, min: u64, max: u64) -> Result<u64, Failure> {
        let n = whole(raw)?;
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(None)
        }
    }

    pub(super) mod millis {
        use super::*;
        pub fn parse(raw: &str) -> Result<Duration, Failure> {
            ranged(raw, 0, I32_MAX).map(Duration::from_millis)
        }
        pub fn print(value: &Duration) -> String {
            value.as_millis().to_string()
        }
    }

    pub(super) mod group_stable_millis {
        use super::*;
        pub fn parse(raw: &str) -> Result<Duration, Failure> {
            ranged(raw, 60, I32_MAX).map(Duration::from_millis)
        }
        pub use super::millis::print;
    }

    pub(super) mod seconds {
        use super::*;
        pub fn parse(raw: &str) -> Result<Duration, Failure> {
            ranged(raw, 0, I32_MAX).map(Duration::from_secs)
        }
        pub fn print(value: &Duration) -> String {
            value.as_secs().to_string()
        }
    }

    pub(super) mod boolean {
        use super::*;
        pub fn parse(raw: &str) -> Result<bool, Failure> {
            match raw.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(None),
            }
        }
        pub fn print(value: &bool) -> String {
            if *value { "1" } else { "0" }.to_owned()
        }
    }

    pub(super) mod mode {
        use super::*;
        pub fn parse(raw: &str) -> Result<Mode, Failure> {
            match raw.to_ascii_lowercase().as_str() {
                "caller" | "client" => Ok(Mode::Caller),
                "listener" | "server" => Ok(Mode::Listener),
                "rendezvous" => Ok(Mode::Rendezvous),
                _ => Err(None),
            }
        }
        pub fn print(value: &Mode) -> String {
            value.as_str().to_owned()
        }
    }

    pub(super) mod trans_type {
        use super::*;
        pub fn parse(raw: &str) -> Result<TransType, Failure> {
            match raw.to_ascii_lowercase().as_str() {
                "live" => Ok(TransType::Live),
                "file" => Ok(TransType::File),
                _ => Err(None),
            }
        }
        pub fn print(value: &TransType) -> String {
            value.as_str().to_owned()
        }
    }

    pub(super) mod congestion_control {
        use super::*;
        pub fn parse(raw: &str) -> Result<CongestionControl, Failure> {
            CongestionControl::parse(raw).ok_or(None)
        }
        pub fn print(value: &CongestionControl) -> String {
            value.as_str().to_owned()
        }
    }

    #[allow(clippy::ptr_arg)] // `print` takes `&FieldType` like every kind.
    pub(super) mod passphrase {
        use super::*;
        pub fn parse(raw: &str) -> Result<String, Failure> {
            if (10..=79).contains(&raw.len()) {
                Ok(raw.to_owned())
            } else {
                Err(Some(Error::InvalidPassphrase {
                    length: raw.len(),
                    reason: "expected 10 to 79 bytes",
                }))
            }
        }
        pub fn print(value: &String) -> String {
            value.to_owned()
        }
    }

    pub(super) mod key_length {
        use super::*;
        pub fn parse(raw: &str) -> Result<KeyLength, Failure> {
            match whole(raw)? {
                0 => Ok(KeyLength::Default),
                16 => Ok(KeyLength::Aes128),
                24 => Ok(KeyLength::Aes192),
                32 => Ok(KeyLength::Aes256),
                _ => Err(None),
            }
        }
        pub fn print(value: &KeyLength) -> String {
            value.bytes().to_string()
        }
    }

    pub(super) mod max_bandwidth {
        use super::*;
        pub fn parse(raw: &str) -> Result<MaxBandwidth, Failure> {
            if raw == "-1" {
                return Ok(MaxBandwidth::Unlimited);
            }
            match ranged(raw, 0, I64_MAX)? {
                0 => Ok(MaxBandwidth::RelativeToInput),
                n => Ok(MaxBandwidth::BytesPerSecond(n)),
            }
        }
        pub fn print(value: &MaxBandwidth) -> String {
            match value {
                MaxBandwidth::Unlimited => "-1".to_owned(),
                MaxBandwidth::RelativeToInput => "0".to_owned(),
                MaxBandwidth::BytesPerSecond(n) => n.to_string(),
            }
        }
    }

    pub(super) mod bytes_per_second {
        use super::*;
        pub fn parse(raw: &str) -> Result<u64, Failure> {
            ranged(raw, 0, I64_MAX)
        }
        pub fn print(value: &u64) -> String {
            value.to_string()
        }
    }

    pub(super) mod buffer_bytes {
        use super::*;
        pub fn parse(raw: &str) -> Result<u64, Failure> {
            ranged(raw, 1, I32_MAX)
        }
        pub use super::bytes_per_second::print;
    }

    /// Generates a `u8`/`u16`/`u32` kind with an inclusive range.
    macro_rules! small_int_kind {
        ($name:ident, $ty:ty, $min:expr, $max:expr) => {
            pub(super) mod $name {
                use super::*;
                pub fn parse(raw: &str) -> Result<$ty, Failure> {
                    let n = ranged(raw, $min, $max)?;
                    <$ty>::try_from(n).map_err(|_| None)
                }
                pub fn print(value: &$ty) -> String {
                    value.to_string()
                }
            }
        };
    }

    small_int_kind!(overhead_percent, u8, 5, 100);
    small_int_kind!(payload_size, u32, 0, 1456);
    small_int_kind!(segment_size, u32, 76, 65535);
    small_int_kind!(packets, u32, 0, I32_MAX);
    small_int_kind!(flow_window, u32, 32, I32_MAX);
    small_int_kind!(port, u16, 0, 65535);
    small_int_kind!(weight, u16, 0, 65535);
    small_int_kind!(ttl, u8, 1, 255);
    small_int_kind!(tos, u8, 0, 255);

    pub(super) mod address {
        use super::*;
        pub fn parse(raw: &str) -> Result<Host, Failure> {
            Host::parse_option_value(raw).map_err(|_| None)
        }
        pub fn print(value: &Host) -> String {
            value.to_option_value()
        }
    }

    pub(super) mod stream_id {
        use super::*;
        pub fn parse(raw: &str) -> Result<StreamId, Failure> {
            StreamId::parse(raw).map_err(Some)
        }
        pub fn print(value: &StreamId) -> String {
            value.to_string()
        }
    }
}

/// Declares every option once: the key enum, the options struct and their dispatch.
macro_rules! srt_options {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $field:ident : $ty:ty = $name:literal $([$($alias:literal),*])?,
            $value_kind:ident => $kind:ident;
    )*) => {
        /// The name of one SRT option (the libsrt URI query key).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum OptionKey {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl OptionKey {
            /// Every option, in the order of the documentation.
            pub const ALL: &'static [OptionKey] = &[ $( OptionKey::$variant, )* ];

            /// The canonical query key.
            pub fn name(self) -> &'static str {
                match self { $( OptionKey::$variant => $name, )* }
            }

            /// Other query keys accepted for this option (printed as [`OptionKey::name`]).
            pub fn aliases(self) -> &'static [&'static str] {
                match self { $( OptionKey::$variant => &[$($($alias),*)?], )* }
            }

            /// What a value of this option must look like.
            pub fn value_kind(self) -> ValueKind {
                match self { $( OptionKey::$variant => ValueKind::$value_kind, )* }
            }

            /// Looks a query key up (ASCII case-insensitive), aliases included.
            pub fn from_name(name: &str) -> Option<OptionKey> {
                OptionKey::ALL.iter().copied().find(|key| {
                    key.name().eq_ignore_ascii_case(name)
                        || key.aliases().iter().any(|alias| alias.eq_ignore_ascii_case(name))
                })
            }
        }

        /// The typed query options of an `srt://` URL: one field per option, `None` when
        /// not given, plus the order in which they were given so printing is canonical.
        ///
        /// Fields may be set directly; a field set that way prints after those set through
        /// [`SrtOptions::set`] or parsing, in [`OptionKey::ALL`] order.
        ///
        /// `Display` (the query string) prints the passphrase as [`HIDDEN`]; `Debug` shows the
        /// set options only and hides the passphrase too. [`SrtOptions::unredacted`] prints
        /// it, for a program that passes it on.
        #[derive(Clone, Default)]
        pub struct SrtOptions {
            $( $(#[doc = $doc])* pub $field: Option<$ty>, )*
            order: Vec<OptionKey>,
        }

        impl SrtOptions {
            /// Whether the option has a value.
            pub fn is_set(&self, key: OptionKey) -> bool {
                match key { $( OptionKey::$variant => self.$field.is_some(), )* }
            }

            /// Removes the option's value.
            pub fn clear(&mut self, key: OptionKey) {
                match key { $( OptionKey::$variant => self.$field = None, )* }
                self.order.retain(|k| *k != key);
            }

            /// The canonical text of the option's value (not percent-encoded), the secret
            /// itself for the passphrase: for a program, never for printing (see
            /// [`SrtOptions::value_text_redacted`]).
            pub fn value_text(&self, key: OptionKey) -> Option<String> {
                match key {
                    $( OptionKey::$variant => self.$field.as_ref().map(kinds::$kind::print), )*
                }
            }

            /// The option's typed value in `Debug` form, e.g. `200ms` or `Aes256`; the
            /// passphrase is hidden (`<hidden, N bytes>`).
            pub fn value_debug(&self, key: OptionKey) -> Option<String> {
                if key.is_secret() {
                    return self
                        .passphrase
                        .as_ref()
                        .map(|p| format!("<hidden, {} bytes>", p.len()));
                }
                match key {
                    $( OptionKey::$variant => self.$field.as_ref().map(|v| format!("{v:?}")), )*
                }
            }

            fn parse_into(&mut self, key: OptionKey, raw: &str) -> Result<(), Error> {
                match key {
                    $( OptionKey::$variant => {
                        let value = kinds::$kind::parse(raw).map_err(|failure| {
                            failure.unwrap_or_else(|| Error::InvalidOptionValue {
                                key: $name,
                                value: raw.to_owned(),
                                expected: ValueKind::$value_kind,
                            })
                        })?;
                        self.$field = Some(value);
                    } )*
                }
                Ok(())
            }

            fn fields_equal(&self, other: &Self) -> bool {
                true $( && self.$field == other.$field )*
            }

            fn key_equal(&self, other: &Self, key: OptionKey) -> bool {
                match key { $( OptionKey::$variant => self.$field == other.$field, )* }
            }
        }
    };
}

srt_options! {
    /// `mode`: caller, listener or rendezvous. Without it the URL decides (see
    /// [`SrtUrl::mode`](crate::SrtUrl::mode)).
    Mode mode: Mode = "mode", Mode => mode;
    /// `streamid` (`SRTO_STREAMID`): at most 512 bytes; `#!::` ids are typed.
    StreamId streamid: StreamId = "streamid", StreamId => stream_id;
    /// `latency` (`SRTO_LATENCY`), ms: sets both receiver and peer latency.
    Latency latency: Duration = "latency", Milliseconds => millis;
    /// `rcvlatency` (`SRTO_RCVLATENCY`), ms: the receiver's latency.
    RcvLatency rcvlatency: Duration = "rcvlatency", Milliseconds => millis;
    /// `peerlatency` (`SRTO_PEERLATENCY`), ms: the latency asked of the peer's receiver.
    PeerLatency peerlatency: Duration = "peerlatency", Milliseconds => millis;
    /// `passphrase` (`SRTO_PASSPHRASE`): 10 to 79 bytes; enables encryption.
    Passphrase passphrase: String = "passphrase", Passphrase => passphrase;
    /// `pbkeylen` (`SRTO_PBKEYLEN`): crypto key length, 0/16/24/32 bytes.
    PbKeyLen pbkeylen: KeyLength = "pbkeylen", KeyLength => key_length;
    /// `maxbw` (`SRTO_MAXBW`), bytes/s: -1 unlimited, 0 relative to `inputbw`.
    MaxBw maxbw: MaxBandwidth = "maxbw", MaxBandwidth => max_bandwidth;
    /// `inputbw` (`SRTO_INPUTBW`), bytes/s: the input rate (0: estimate it).
    InputBw inputbw: u64 = "inputbw", BytesPerSecond => bytes_per_second;
    /// `mininputbw` (`SRTO_MININPUTBW`), bytes/s: floor for the input-rate estimate.
    MinInputBw mininputbw: u64 = "mininputbw", BytesPerSecond => bytes_per_second;
    /// `oheadbw` (`SRTO_OHEADBW`), percent 5-100: retransmission overhead over the input rate.
    OheadBw oheadbw: u8 = "oheadbw", OverheadPercent => overhead_percent;
    /// `payloadsize` (`SRTO_PAYLOADSIZE`), bytes 0-1456: largest payload per packet.
    PayloadSize payloadsize: u32 = "payloadsize", PayloadSize => payload_size;
    /// `mss` (`SRTO_MSS`), bytes 76-65535: maximum segment (IP packet) size.
    Mss mss: u32 = "mss", SegmentSize => segment_size;
    /// `conntimeo` (`SRTO_CONNTIMEO`), ms: connection timeout.
    ConnTimeo conntimeo: Duration = "conntimeo", Milliseconds => millis;
    /// `peeridletimeo` (`SRTO_PEERIDLETIMEO`), ms: silence after which the link is broken.
    PeerIdleTimeo peeridletimeo: Duration = "peeridletimeo", Milliseconds => millis;
    /// `transtype` (`SRTO_TRANSTYPE`): live or file.
    TransType transtype: TransType = "transtype", TransType => trans_type;
    /// `congestion` (`SRTO_CONGESTION`): live, live_bbr (adaptive under `maxbw`) or file.
    Congestion congestion: CongestionControl = "congestion", CongestionControl => congestion_control;
    /// `tlpktdrop` (`SRTO_TLPKTDROP`): drop packets that are too late.
    TlPktDrop tlpktdrop: bool = "tlpktdrop", Bool => boolean;
    /// `nakreport` (`SRTO_NAKREPORT`): repeat loss reports periodically.
    NakReport nakreport: bool = "nakreport", Bool => boolean;
    /// `messageapi` (`SRTO_MESSAGEAPI`): message (true) or buffer (false) API.
    MessageApi messageapi: bool = "messageapi", Bool => boolean;
    /// `tsbpdmode` (`SRTO_TSBPDMODE`): timestamp-based packet delivery.
    TsbpdMode tsbpdmode: bool = "tsbpdmode", Bool => boolean;
    /// `enforcedencryption` (`SRTO_ENFORCEDENCRYPTION`): reject a passphrase mismatch.
    EnforcedEncryption enforcedencryption: bool = "enforcedencryption", Bool => boolean;
    /// `drifttracer` (`SRTO_DRIFTTRACER`): receiver clock-drift tracking.
    DriftTracer drifttracer: bool = "drifttracer", Bool => boolean;
    /// `sndbuf` (`SRTO_SNDBUF`), bytes: sender buffer size.
    SndBuf sndbuf: u64 = "sndbuf", BufferBytes => buffer_bytes;
    /// `rcvbuf` (`SRTO_RCVBUF`), bytes: receiver buffer size.
    RcvBuf rcvbuf: u64 = "rcvbuf", BufferBytes => buffer_bytes;
    /// `fc` (`SRTO_FC`), packets (32..): flow-control window.
    Fc fc: u32 = "fc", FlowWindow => flow_window;
    /// `lossmaxttl` (`SRTO_LOSSMAXTTL`), packets: reorder tolerance.
    LossMaxTtl lossmaxttl: u32 = "lossmaxttl", Packets => packets;
    /// `kmrefreshrate` (`SRTO_KMREFRESHRATE`), packets: encryption key refresh rate.
    KmRefreshRate kmrefreshrate: u32 = "kmrefreshrate", Packets => packets;
    /// `kmpreannounce` (`SRTO_KMPREANNOUNCE`), packets: key switchover pre-announce.
    KmPreAnnounce kmpreannounce: u32 = "kmpreannounce", Packets => packets;
    /// `linger` (`SRTO_LINGER`), seconds: how long closing waits for unsent data.
    Linger linger: Duration = "linger", Seconds => seconds;
    /// `adapter` (alias `localip`): the local address to bind.
    Adapter adapter: Host = "adapter" ["localip"], Address => address;
    /// `port` (alias `localport`): the local port to bind (caller and rendezvous).
    Port port: u16 = "port" ["localport"], Port => port;
    /// `groupconnect` (`SRTO_GROUPCONNECT`): a listener accepts group (bonded) connections.
    GroupConnect groupconnect: bool = "groupconnect", Bool => boolean;
    /// `groupminstabletimeo` (`SRTO_GROUPMINSTABLETIMEO`), ms (60..): group link stability.
    GroupMinStableTimeo groupminstabletimeo: Duration = "groupminstabletimeo",
        GroupStableMilliseconds => group_stable_millis;
    /// `weight`: this link's weight (priority) in a bonded group, 0-65535.
    Weight weight: u16 = "weight", Weight => weight;
    /// `ipttl` (`SRTO_IPTTL`), hops 1-255.
    IpTtl ipttl: u8 = "ipttl", Ttl => ttl;
    /// `iptos` (`SRTO_IPTOS`), 0-255.
    IpTos iptos: u8 = "iptos", Tos => tos;
}

impl OptionKey {
    /// Whether the option's value is a secret, never printed: the passphrase.
    pub fn is_secret(self) -> bool {
        self == OptionKey::Passphrase
    }
}

impl SrtOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an option from its query key (or alias) and its decoded text value.
    ///
    /// An error if the key is unknown ([`Error::UnknownOption`]), already set
    /// ([`Error::DuplicateOption`]; [`SrtOptions::clear`] it first) or the value is invalid.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut options = tmio_url::SrtOptions::new();
    /// options.set("latency", "200")?;
    /// assert_eq!(options.latency, Some(Duration::from_millis(200)));
    /// # Ok::<(), tmio_url::Error>(())
    /// ```
    pub fn set(&mut self, name: &str, value: &str) -> Result<OptionKey, Error> {
        let key = OptionKey::from_name(name).ok_or_else(|| {
            Error::UnknownOption {
                key: name.to_owned(),
                value: value.to_owned(),
            }
            .hide_secrets()
        })?;
        self.set_key(key, value)?;
        Ok(key)
    }

    /// Sets an option by key from its decoded text value (see [`SrtOptions::set`]).
    pub fn set_key(&mut self, key: OptionKey, value: &str) -> Result<(), Error> {
        if self.is_set(key) {
            return Err(Error::DuplicateOption { key: key.name() });
        }
        self.parse_into(key, value).map_err(Error::hide_secrets)?;
        self.order.push(key);
        Ok(())
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        OptionKey::ALL.iter().all(|key| !self.is_set(*key))
    }

    /// The set options in printing order: the order given, then fields set directly.
    pub fn order(&self) -> Vec<OptionKey> {
        let mut order: Vec<OptionKey> = Vec::new();
        for key in self.order.iter().chain(OptionKey::ALL) {
            if self.is_set(*key) && !order.contains(key) {
                order.push(*key);
            }
        }
        order
    }

    /// The set options with their canonical text values (not percent-encoded), in order; the
    /// passphrase's is the secret itself (see [`SrtOptions::value_text`]).
    pub fn iter(&self) -> impl Iterator<Item = (OptionKey, String)> + '_ {
        self.order()
            .into_iter()
            .filter_map(|key| self.value_text(key).map(|text| (key, text)))
    }

    /// The text to print for the option's value: [`SrtOptions::value_text`], or [`HIDDEN`]
    /// for a secret ([`OptionKey::is_secret`]).
    pub fn value_text_redacted(&self, key: OptionKey) -> Option<String> {
        if key.is_secret() {
            return self.is_set(key).then(|| HIDDEN.to_owned());
        }
        self.value_text(key)
    }

    /// Prints the query string with the passphrase, for a program that passes it on (never for
    /// a log). See [`Unredacted`].
    pub fn unredacted(&self) -> Unredacted<'_, SrtOptions> {
        Unredacted(self)
    }

    /// Writes `key=value&…` (values percent-encoded), secrets as [`HIDDEN`] unless shown.
    pub(crate) fn write_query(&self, f: &mut fmt::Formatter<'_>, secrets: Secrets) -> fmt::Result {
        let mut first = true;
        for key in self.order() {
            let text = match secrets {
                Secrets::Shown => self.value_text(key),
                Secrets::Hidden => self.value_text_redacted(key),
            };
            let Some(text) = text else { continue };
            if !first {
                f.write_str("&")?;
            }
            first = false;
            if secrets == Secrets::Hidden && key.is_secret() {
                write!(f, "{}={text}", key.name())?;
            } else {
                write!(f, "{}={}", key.name(), encode_query_value(&text))?;
            }
        }
        Ok(())
    }

    /// Checks that every set value is one parsing could produce (e.g. whole milliseconds
    /// within libsrt's range, a passphrase of 10 to 79 bytes), so printing and parsing back
    /// gives the same value.
    pub fn validate(&self) -> Result<(), Error> {
        for (key, text) in self.iter() {
            let mut reparsed = SrtOptions::new();
            reparsed
                .parse_into(key, &text)
                .map_err(Error::hide_secrets)?;
            if !reparsed.key_equal(self, key) {
                return Err(Error::InvalidOptionValue {
                    key: key.name(),
                    value: self.value_debug(key).unwrap_or_default(),
                    expected: key.value_kind(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SrtOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for key in self.order() {
            if let Some(value) = self.value_debug(key) {
                map.entry(&key.name(), &format_args!("{value}"));
            }
        }
        map.finish()
    }
}

/// Two option sets are equal when every field and the printing order are equal.
impl PartialEq for SrtOptions {
    fn eq(&self, other: &Self) -> bool {
        self.fields_equal(other) && self.order() == other.order()
    }
}

impl Eq for SrtOptions {}

/// Prints the query string (without `?`): `key=value&…`, values percent-encoded, the
/// passphrase as [`HIDDEN`] (`passphrase=<hidden>`).
impl fmt::Display for SrtOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_query(f, Secrets::Hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn parse_one(name: &str, value: &str) -> Result<SrtOptions, Error> {
        let mut options = SrtOptions::new();
        options.set(name, value)?;
        Ok(options)
    }

    fn invalid(name: &str, value: &str) -> ValueKind {
        match parse_one(name, value) {
            Err(Error::InvalidOptionValue {
                key,
                value: v,
                expected,
            }) => {
                assert_eq!(key, OptionKey::from_name(name).unwrap().name());
                assert_eq!(v, value);
                expected
            }
            other => panic!("{name}={value} gave {other:?}"),
        }
    }

    #[test]
    fn mode_accepts_names_and_aliases() {
        for (text, mode) in [
            ("caller", Mode::Caller),
            ("client", Mode::Caller),
            ("listener", Mode::Listener),
            ("server", Mode::Listener),
            ("rendezvous", Mode::Rendezvous),
            ("Caller", Mode::Caller),
        ] {
            assert_eq!(parse_one("mode", text).unwrap().mode, Some(mode));
        }
        assert_eq!(invalid("mode", "push"), ValueKind::Mode);
    }

    #[test]
    fn streamid_is_typed_and_errors_are_specific() {
        let options = parse_one("streamid", "#!::r=live/a,m=publish").unwrap();
        assert!(options.streamid.unwrap().access_control().is_some());
        assert_eq!(
            parse_one("streamid", "#!::m=play"),
            Err(Error::StreamIdInvalidMode {
                value: "play".into()
            })
        );
    }

    #[test]
    fn millisecond_options_are_durations() {
        for name in [
            "latency",
            "rcvlatency",
            "peerlatency",
            "conntimeo",
            "peeridletimeo",
        ] {
            let options = parse_one(name, "250").unwrap();
            let key = OptionKey::from_name(name).unwrap();
            assert_eq!(options.value_debug(key).unwrap(), "250ms");
            assert_eq!(options.value_text(key).unwrap(), "250");
            assert_eq!(parse_one(name, "0").unwrap().value_text(key).unwrap(), "0");
            assert_eq!(invalid(name, "abc"), ValueKind::Milliseconds);
            assert_eq!(invalid(name, "-1"), ValueKind::Milliseconds);
            assert_eq!(invalid(name, "1.5"), ValueKind::Milliseconds);
            assert_eq!(invalid(name, ""), ValueKind::Milliseconds);
            assert_eq!(invalid(name, "2147483648"), ValueKind::Milliseconds);
            assert!(parse_one(name, "2147483647").is_ok());
        }
        assert_eq!(
            parse_one("latency", "120").unwrap().latency,
            Some(Duration::from_millis(120))
        );
    }

    #[test]
    fn passphrase_is_10_to_79_bytes_and_a_bad_one_is_not_carried() {
        assert!(parse_one("passphrase", "0123456789").is_ok());
        assert!(parse_one("passphrase", &"p".repeat(79)).is_ok());
        for (value, length) in [("short".to_owned(), 5), ("p".repeat(80), 80)] {
            assert_eq!(
                parse_one("passphrase", &value),
                Err(Error::InvalidPassphrase {
                    length,
                    reason: "expected 10 to 79 bytes"
                })
            );
        }
        assert_eq!(
            parse_one("passphrase", "short").unwrap_err().to_string(),
            "invalid value for \"passphrase\" (5 bytes, not shown): expected 10 to 79 bytes"
        );
    }

    #[test]
    fn the_passphrase_prints_hidden_unless_unredacted() {
        let options = parse_one("passphrase", "0123456789").unwrap();
        assert!(OptionKey::Passphrase.is_secret());
        assert_eq!(
            OptionKey::ALL.iter().filter(|key| key.is_secret()).count(),
            1
        );
        assert_eq!(
            options
                .value_text_redacted(OptionKey::Passphrase)
                .as_deref(),
            Some(HIDDEN)
        );
        assert_eq!(options.value_text_redacted(OptionKey::Latency), None);
        assert_eq!(options.to_string(), "passphrase=<hidden>");
        assert_eq!(options.unredacted().to_string(), "passphrase=0123456789");
        let a = parse_one("passphrase", "a&b c=d%12345").unwrap();
        assert_eq!(a.unredacted().to_string(), "passphrase=a%26b%20c=d%2512345");
    }

    #[test]
    fn an_unknown_name_that_looks_like_a_secret_hides_its_value() {
        assert_eq!(
            parse_one("passwd", "0123456789"),
            Err(Error::UnknownOption {
                key: "passwd".into(),
                value: HIDDEN.into()
            })
        );
    }

    #[test]
    fn pbkeylen_takes_the_aes_key_sizes() {
        for (text, len) in [
            ("0", KeyLength::Default),
            ("16", KeyLength::Aes128),
            ("24", KeyLength::Aes192),
            ("32", KeyLength::Aes256),
        ] {
            assert_eq!(parse_one("pbkeylen", text).unwrap().pbkeylen, Some(len));
        }
        assert_eq!(invalid("pbkeylen", "8"), ValueKind::KeyLength);
    }

    #[test]
    fn maxbw_has_unlimited_relative_and_absolute_forms() {
        assert_eq!(
            parse_one("maxbw", "-1").unwrap().maxbw,
            Some(MaxBandwidth::Unlimited)
        );
        assert_eq!(
            parse_one("maxbw", "0").unwrap().maxbw,
            Some(MaxBandwidth::RelativeToInput)
        );
        assert_eq!(
            parse_one("maxbw", "12500000").unwrap().maxbw,
            Some(MaxBandwidth::BytesPerSecond(12_500_000))
        );
        assert_eq!(invalid("maxbw", "-2"), ValueKind::MaxBandwidth);
        assert_eq!(
            invalid("maxbw", "9223372036854775808"),
            ValueKind::MaxBandwidth
        );
    }

    #[test]
    fn bandwidth_options_are_bytes_per_second() {
        assert_eq!(
            parse_one("inputbw", "1000000").unwrap().inputbw,
            Some(1_000_000)
        );
        assert_eq!(parse_one("mininputbw", "0").unwrap().mininputbw, Some(0));
        assert_eq!(invalid("inputbw", "1M"), ValueKind::BytesPerSecond);
        assert_eq!(invalid("mininputbw", "-5"), ValueKind::BytesPerSecond);
    }

    #[test]
    fn oheadbw_is_a_percentage_from_5_to_100() {
        assert_eq!(parse_one("oheadbw", "5").unwrap().oheadbw, Some(5));
        assert_eq!(parse_one("oheadbw", "100").unwrap().oheadbw, Some(100));
        assert_eq!(invalid("oheadbw", "4"), ValueKind::OverheadPercent);
        assert_eq!(invalid("oheadbw", "101"), ValueKind::OverheadPercent);
    }

    #[test]
    fn payloadsize_and_mss_have_libsrt_ranges() {
        assert_eq!(
            parse_one("payloadsize", "1316").unwrap().payloadsize,
            Some(1316)
        );
        assert_eq!(
            parse_one("payloadsize", "1456").unwrap().payloadsize,
            Some(1456)
        );
        assert_eq!(invalid("payloadsize", "1457"), ValueKind::PayloadSize);
        assert_eq!(parse_one("mss", "1500").unwrap().mss, Some(1500));
        assert_eq!(invalid("mss", "75"), ValueKind::SegmentSize);
        assert_eq!(invalid("mss", "65536"), ValueKind::SegmentSize);
    }

    #[test]
    fn transtype_is_live_or_file_and_congestion_also_live_bbr() {
        assert_eq!(
            parse_one("transtype", "file").unwrap().transtype,
            Some(TransType::File)
        );
        assert_eq!(
            parse_one("congestion", "live").unwrap().congestion,
            Some(CongestionControl::Live)
        );
        assert_eq!(
            parse_one("congestion", "LIVE_BBR").unwrap().congestion,
            Some(CongestionControl::LiveBbr)
        );
        assert_eq!(invalid("transtype", "rtmp"), ValueKind::TransType);
        assert_eq!(invalid("transtype", "live_bbr"), ValueKind::TransType);
        assert_eq!(invalid("congestion", "bbr"), ValueKind::CongestionControl);
    }

    #[test]
    fn booleans_take_every_libsrt_spelling() {
        for name in [
            "tlpktdrop",
            "nakreport",
            "messageapi",
            "tsbpdmode",
            "enforcedencryption",
            "drifttracer",
            "groupconnect",
        ] {
            let key = OptionKey::from_name(name).unwrap();
            for yes in ["1", "true", "yes", "on", "TRUE"] {
                let options = parse_one(name, yes).unwrap();
                assert_eq!(options.value_text(key).unwrap(), "1");
                assert_eq!(options.value_debug(key).unwrap(), "true");
            }
            for no in ["0", "false", "no", "off"] {
                assert_eq!(parse_one(name, no).unwrap().value_text(key).unwrap(), "0");
            }
            assert_eq!(invalid(name, "2"), ValueKind::Bool);
            assert_eq!(invalid(name, ""), ValueKind::Bool);
        }
    }

    #[test]
    fn buffers_are_bytes_from_1() {
        assert_eq!(
            parse_one("sndbuf", "12058624").unwrap().sndbuf,
            Some(12_058_624)
        );
        assert_eq!(parse_one("rcvbuf", "1").unwrap().rcvbuf, Some(1));
        assert_eq!(invalid("rcvbuf", "0"), ValueKind::BufferBytes);
        assert_eq!(invalid("sndbuf", "2147483648"), ValueKind::BufferBytes);
    }

    #[test]
    fn packet_counts_have_their_ranges() {
        assert_eq!(parse_one("fc", "25600").unwrap().fc, Some(25600));
        assert_eq!(invalid("fc", "31"), ValueKind::FlowWindow);
        assert_eq!(parse_one("lossmaxttl", "0").unwrap().lossmaxttl, Some(0));
        assert_eq!(
            parse_one("kmrefreshrate", "16777216")
                .unwrap()
                .kmrefreshrate,
            Some(1 << 24)
        );
        assert_eq!(
            parse_one("kmpreannounce", "4096").unwrap().kmpreannounce,
            Some(4096)
        );
        assert_eq!(invalid("kmpreannounce", "x"), ValueKind::Packets);
    }

    #[test]
    fn linger_is_in_seconds() {
        let options = parse_one("linger", "3").unwrap();
        assert_eq!(options.linger, Some(Duration::from_secs(3)));
        assert_eq!(options.value_text(OptionKey::Linger).unwrap(), "3");
        assert_eq!(invalid("linger", "-1"), ValueKind::Seconds);
    }

    #[test]
    fn adapter_and_port_have_aliases_printed_canonically() {
        let options = parse_one("localip", "192.168.1.5").unwrap();
        assert_eq!(
            options.adapter,
            Some(Host::Ipv4(Ipv4Addr::new(192, 168, 1, 5)))
        );
        assert_eq!(options.to_string(), "adapter=192.168.1.5");
        let options = parse_one("adapter", "::1").unwrap();
        assert_eq!(options.to_string(), "adapter=::1");
        let options = parse_one("localport", "4001").unwrap();
        assert_eq!(options.port, Some(4001));
        assert_eq!(options.to_string(), "port=4001");
        assert_eq!(invalid("adapter", "a b"), ValueKind::Address);
        assert_eq!(invalid("port", "65536"), ValueKind::Port);
    }

    #[test]
    fn group_options() {
        assert_eq!(parse_one("weight", "10").unwrap().weight, Some(10));
        assert_eq!(invalid("weight", "70000"), ValueKind::Weight);
        assert_eq!(
            parse_one("groupminstabletimeo", "60")
                .unwrap()
                .groupminstabletimeo,
            Some(Duration::from_millis(60))
        );
        assert_eq!(
            invalid("groupminstabletimeo", "59"),
            ValueKind::GroupStableMilliseconds
        );
    }

    #[test]
    fn ip_options() {
        assert_eq!(parse_one("ipttl", "64").unwrap().ipttl, Some(64));
        assert_eq!(invalid("ipttl", "0"), ValueKind::Ttl);
        assert_eq!(parse_one("iptos", "0").unwrap().iptos, Some(0));
        assert_eq!(invalid("iptos", "256"), ValueKind::Tos);
    }

    #[test]
    fn unknown_and_duplicate_keys_are_errors() {
        assert_eq!(
            parse_one("latencyy", "1"),
            Err(Error::UnknownOption {
                key: "latencyy".into(),
                value: "1".into()
            })
        );
        let mut options = SrtOptions::new();
        options.set("port", "1").unwrap();
        assert_eq!(
            options.set("localport", "2"),
            Err(Error::DuplicateOption { key: "port" })
        );
        options.clear(OptionKey::Port);
        assert!(options.set("localport", "2").is_ok());
    }

    #[test]
    fn printing_keeps_the_given_order_then_directly_set_fields() {
        let mut options = SrtOptions::new();
        options.set("tlpktdrop", "no").unwrap();
        options.set("latency", "0").unwrap();
        options.passphrase = Some("0123456789".into());
        options.mode = Some(Mode::Caller);
        assert_eq!(
            options.unredacted().to_string(),
            "tlpktdrop=0&latency=0&mode=caller&passphrase=0123456789"
        );
        assert_eq!(
            options.to_string(),
            "tlpktdrop=0&latency=0&mode=caller&passphrase=<hidden>"
        );
        assert_eq!(
            options.order(),
            vec![
                OptionKey::TlPktDrop,
                OptionKey::Latency,
                OptionKey::Mode,
                OptionKey::Passphrase
            ]
        );
    }

    #[test]
    fn debug_lists_set_options_and_hides_the_passphrase() {
        let mut options = SrtOptions::new();
        options.set("passphrase", "supersecret1").unwrap();
        options.set("latency", "20").unwrap();
        let debug = format!("{options:?}");
        assert_eq!(
            debug,
            "{\"passphrase\": <hidden, 12 bytes>, \"latency\": 20ms}"
        );
        assert!(!debug.contains("supersecret1"));
    }

    #[test]
    fn equality_includes_order() {
        let mut a = SrtOptions::new();
        a.set("latency", "1").unwrap();
        a.set("mss", "1400").unwrap();
        let mut b = SrtOptions::new();
        b.set("mss", "1400").unwrap();
        b.set("latency", "1").unwrap();
        assert_ne!(a, b);
        let mut c = SrtOptions::new();
        c.set("latency", "1").unwrap();
        c.set("mss", "1400").unwrap();
        assert_eq!(a, c);
    }

    #[test]
    fn validate_rejects_values_parsing_cannot_produce() {
        let mut options = SrtOptions::new();
        options.latency = Some(Duration::from_micros(1500));
        assert!(matches!(
            options.validate(),
            Err(Error::InvalidOptionValue { key: "latency", .. })
        ));
        options.latency = Some(Duration::from_millis(2));
        assert!(options.validate().is_ok());
        options.passphrase = Some("short".into());
        assert!(options.validate().is_err());
        options.passphrase = None;
        options.oheadbw = Some(200);
        assert!(options.validate().is_err());
    }

    #[test]
    fn every_key_has_a_unique_name_and_round_trips_by_name() {
        for key in OptionKey::ALL {
            assert_eq!(OptionKey::from_name(key.name()), Some(*key));
            for alias in key.aliases() {
                assert_eq!(OptionKey::from_name(alias), Some(*key));
            }
        }
        let mut names: Vec<&str> = OptionKey::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OptionKey::ALL.len());
    }
}
