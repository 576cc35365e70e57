//! `tmio-preset`: SRT options, typed and by the reference SDK's names, with presets.
//!
//! [`Options`] holds every SRT option tmio knows. Each has a typed setter and getter
//! (`set_latency(Duration)`, `latency()`, ...) and can be set and read by the reference SDK's
//! name (`"srt latency (ms)"`, `"Too-late Packet Drop"`, ...), by libsrt's URI key
//! (`latency`, `tlpktdrop`) or by its `SRTO_` constant. [`OPTION_TABLE`] lists them with unit,
//! range and libsrt default; `docs/options.md` documents them.
//!
//! A [`Preset`] gives a starting set: [`Preset::Rtmp`] (reliable, no latency budget),
//! [`Preset::MpegTsLossless`], [`Preset::MpegTsFixedLatency`]. URL query options override it
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
//! options.set_by_name("Passphrase", "a long enough secret")?;
//! assert_eq!(options.get_by_name("Key length (bytes)")?, OptionValue::Integer(0));
//! assert!(options.set_by_name("Payload size (bytes)", "1500").is_err());
//! assert!(options.set_by_name("srt latancy (ms)", "10").is_err());
//!
//! // Typed.
//! options.set_connect_timeout(Duration::from_secs(2))?;
//! assert_eq!(options.get_by_name("Connect timeout (ms)")?.to_string(), "2000");
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
pub use preset::{Preset, LOSSLESS_LINGER, PRESET_BUFFER_SIZE, PRESET_MAX_BANDWIDTH};
pub use table::{OptionName, OptionSpec, ValueRange, OPTION_TABLE};
pub use uri::URL_CONNECTION_KEYS;
pub use value::{DeliveryPolicy, KeyLength, MaxBandwidth, OptionValue, TransmissionType};
