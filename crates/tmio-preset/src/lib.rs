//! `tmio-preset`: SRT options, typed and by the reference SDK's names, with presets.
//!
//! [`Options`] holds every SRT option tmio knows. Each has a typed setter and getter
//! (`set_latency(Duration)`, `latency()`, ...) and can be set and read by the reference SDK's
//! name (`"srt latency (ms)"`, `"Too-late Packet Drop"`, ...), by libsrt's URI key
//! (`latency`, `tlpktdrop`) or by its `SRTO_` constant. [`OPTION_TABLE`] lists them with unit,
//! range and libsrt default; `docs/options.md` documents them.
//!
//! A [`Preset`] is a list of setters: [`Preset::Rtmp`] (reliable, no latency budget),
//! [`Preset::MpegTsLossless`] (the same, as in the SDK), [`Preset::MpegTsFixedLatency`]; the
//! SDK's exact `SrtPreset` is [`SrtPreset`]. Names tmio knows and refuses (RIST, options its
//! transport has no equivalent for, values it never runs with) are [`Error::Refused`] with the
//! reason. URL query options override it
//! ([`Options::apply_uri_options`]), and [`Options::delivery_policy`] tells the transport how to
//! deliver.
//!
//! ```
//! use std::time::Duration;
//! use tmio_preset::{DeliveryPolicy, OptionValue, Options, Preset};
//!
//! let mut options = Options::from_preset(Preset::Rtmp)?;
//! assert_eq!(options.delivery_policy(), DeliveryPolicy::Reliable);
//! assert_eq!(options.payload_size(), 1316);
//!
//! // By the SDK's names: an unknown name or a bad value is an error, never ignored.
//! options.set_by_name("Crypto PBKDF2 Passphrase. length [0,10..79] 0:disable crypto", "a long enough secret")?;
//! assert_eq!(options.get_by_name("Crypto key len in bytes")?, OptionValue::Integer(0));
//! assert!(options.set_by_name("srt maximum payload size (bytes)", "1500").is_err());
//! assert!(options.set_by_name("srt latancy (ms)", "10").is_err());
//! assert!(matches!(options.set_by_name("profile", "1"), Err(tmio_preset::Error::Refused { .. })));
//!
//! // Typed.
//! options.set_connect_timeout(Duration::from_secs(2))?;
//! assert_eq!(options.get_by_name("conntimeo")?.to_string(), "2000");
//!
//! // URL query options override the preset, then the combination is checked.
//! let mut live = Options::from_preset(Preset::mpegts_fixed_latency())?;
//! live.apply_uri_options([("latency", "300"), ("tlpktdrop", "0")])?;
//! assert_eq!(
//!     live.delivery_policy(),
//!     DeliveryPolicy::Live {
//!         receive_latency: Duration::from_millis(300),
//!         peer_latency: Duration::from_millis(300),
//!         too_late_drop: false,
//!     }
//! );
//! # Ok::<(), tmio_preset::Error>(())
//! ```
#![warn(missing_docs)]

mod error;
mod options;
mod preset;
mod table;
mod uri;
mod value;

pub use error::Error;
pub use options::{Options, Passphrase, MIN_BUFFER_PACKETS, PACKET_HEADERS};
pub use preset::{Preset, SrtPreset, LOSSLESS_LINGER, PRESET_BUFFER_SIZE, PRESET_MAX_BANDWIDTH};
pub use table::{
    OptionName, OptionSpec, RefusedOption, ValueRange, OPTION_COUNT, OPTION_TABLE, REFUSED_OPTIONS,
};
pub use tmio_url::CongestionControl;
pub use uri::URL_CONNECTION_KEYS;
pub use value::{DeliveryPolicy, KeyLength, MaxBandwidth, OptionValue, TransmissionType};
