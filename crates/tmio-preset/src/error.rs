//! The crate's one error type.

/// Everything that can be wrong with an option, a value, a combination of options or a preset.
///
/// Every variant names the option (by its SDK name) and the offending value, except a secret:
/// a bad passphrase is reported by its length ([`Error::InvalidPassphrase`]), and the value
/// given to an unknown name that looks like a secret's ([`tmio_url::is_secret_name`]) is
/// carried as [`tmio_url::HIDDEN`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No option has this name (SDK name, libsrt URI key or `SRTO_` constant).
    #[error("unknown option {name:?} (value {value:?}): see docs/options.md for the option names")]
    UnknownOption {
        /// The name as given.
        name: String,
        /// The value that was to be set, or [`tmio_url::HIDDEN`] when the name looks like a
        /// secret's.
        value: String,
    },
    /// An option tmio knows but refuses, whatever the value (the SDK's RIST options) or for this
    /// value (an option tmio always runs with one value, see `docs/options.md`).
    #[error("option \"{option}\" refuses {value:?}: {reason}")]
    Refused {
        /// The option's name.
        option: &'static str,
        /// The value given (text form).
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A passphrase of the wrong length. Its value is never carried nor printed.
    #[error(
        "invalid value for option \"Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto\" ({length} bytes, not shown): expected {expected}"
    )]
    InvalidPassphrase {
        /// Its length in bytes.
        length: usize,
        /// What the value must look like.
        expected: &'static str,
    },
    /// The value does not parse as the option's type or lies outside its range.
    #[error("invalid value {value:?} for option \"{option}\": expected {expected}")]
    InvalidValue {
        /// The option's SDK name.
        option: &'static str,
        /// The value as given (a typed value in its text form).
        value: String,
        /// What the value must look like, with unit and range.
        expected: &'static str,
    },
    /// A typed [`OptionValue`](crate::OptionValue) of the wrong kind for the option.
    #[error("option \"{option}\" takes {expected}, not the {given} value {value:?}")]
    WrongValueKind {
        /// The option's SDK name.
        option: &'static str,
        /// The value's text form.
        value: String,
        /// The kind of the value given.
        given: &'static str,
        /// What the option takes.
        expected: &'static str,
    },
    /// The payload does not fit a packet of the configured segment size.
    #[error("\"srt maximum payload size (bytes)\" {payload_size} does not fit \"Max segment size (bytes)\" {mss}: at most {max} (segment size - 44 bytes of IP/UDP/SRT headers)")]
    PayloadTooLarge {
        /// The payload size in bytes.
        payload_size: u32,
        /// The maximum segment size in bytes.
        mss: u32,
        /// The largest payload allowed with that segment size.
        max: u32,
    },
    /// A buffer smaller than libsrt's minimum of 32 packets.
    #[error("\"{option}\" {bytes} is too small: at least {min} bytes (32 packets of {packet_payload} bytes)")]
    BufferTooSmall {
        /// The option's SDK name.
        option: &'static str,
        /// The size given.
        bytes: u32,
        /// The smallest size allowed.
        min: u64,
        /// The payload bytes per packet (segment size - 44).
        packet_payload: u32,
    },
    /// A receive buffer larger than the flow-control window.
    #[error("\"receive buffer size (in bytes)\" {bytes} holds {packets} packets, more than \"Flight flag size (packets)\" {flight_flag_size}: raise the flight flag size or lower the buffer")]
    ReceiveBufferAboveFlightWindow {
        /// The receive buffer size in bytes.
        bytes: u32,
        /// The packets it holds.
        packets: u64,
        /// The flow-control window in packets.
        flight_flag_size: u32,
    },
    /// Two options whose values do not go together.
    #[error("\"{option}\" {value} conflicts with \"{other}\" {other_value}: {rule}")]
    Conflict {
        /// The option found in conflict (SDK name).
        option: &'static str,
        /// Its value.
        value: String,
        /// The option it conflicts with (SDK name).
        other: &'static str,
        /// That option's value.
        other_value: String,
        /// The rule broken.
        rule: &'static str,
    },
    /// A key length given without a passphrase: it would have no effect.
    #[error("\"Crypto key len in bytes\" {key_length} is set but no passphrase: set \"Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto\" (10 to 79 bytes) or remove the key length")]
    KeyLengthWithoutPassphrase {
        /// The key length in bytes.
        key_length: u8,
    },
    /// A preset name that does not parse.
    #[error(
        "unknown preset {name:?}: expected rtmp, mpegts-lossless or mpegts-fixed-latency[:MS]"
    )]
    UnknownPreset {
        /// The name as given.
        name: String,
    },
    /// An option of a `srt://` URL that cannot be applied.
    #[error("URL option {key}={value:?} cannot be applied: {reason}")]
    UrlOption {
        /// The libsrt URI key.
        key: String,
        /// The value text ([`tmio_url::HIDDEN`] for a secret).
        value: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// [`Error::UnknownOption`] for `name`, the value hidden when the name looks like a
    /// secret's ([`tmio_url::is_secret_name`]).
    pub(crate) fn unknown_option(name: &str, value: impl std::fmt::Display) -> Error {
        Error::UnknownOption {
            name: name.to_owned(),
            value: if tmio_url::is_secret_name(name) {
                tmio_url::HIDDEN.to_owned()
            } else {
                value.to_string()
            },
        }
    }
}
