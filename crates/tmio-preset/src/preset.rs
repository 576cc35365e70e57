//! Presets: starting option sets for the kinds of stream tmio carries.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::{CongestionControl, Error, MaxBandwidth, OptionName, OptionValue, Options};

/// The reference SDK's `SrtPreset` (`tmio-preset.h`): each preset is a list of setters applied
/// over the current options, nothing else changed. The SDK's setters exactly, plus one: the
/// congestion control `live_bbr` (the SDK's own option for an adaptive rate), so that the
/// presets' 20 Mibit/s bandwidth cap is a ceiling and not a fixed pacing rate (see
/// `docs/options.md`). tmio's [`Preset`]s apply these and add what tmio does differently on
/// purpose (the linger).
///
/// ```
/// use tmio_preset::{OptionValue, Options, SrtPreset};
///
/// let mut options = Options::new();
/// options.set_by_name("srt stream id", "#!::r=live/a")?;
/// SrtPreset::rtmp(&mut options, false)?;
/// assert_eq!(options.get_by_name("srt latency (ms)")?, OptionValue::Integer(0));
/// assert_eq!(options.get_by_name("Maximum bandwidth (bytes per second)")?, OptionValue::Integer(2_621_440));
/// // A setter list, not a replacement: what the preset does not set stays.
/// assert_eq!(options.stream_id(), Some("#!::r=live/a"));
/// # Ok::<(), tmio_preset::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SrtPreset;

impl SrtPreset {
    /// `SrtPreset::max_bandwidth = (20 << 20) / 8`: 2 621 440 bytes/s (the SDK's "20 Mbps",
    /// 20 Mibit/s).
    pub const MAX_BANDWIDTH: u64 = (20 << 20) / 8;

    /// `SrtPreset::buf_size = 2 << 20`: 2 MiB send and receive buffers.
    pub const BUF_SIZE: u32 = 2 << 20;

    /// `srt_options::PAYLOAD_SIZE_LIVE`: 1316 bytes (7 MPEG-TS packets).
    pub const PAYLOAD_SIZE_LIVE: u32 = 1316;

    /// `SrtPreset::rtmp(tmio, isGroup)`: too-late drop off, payload 1316, latency 0, TSBPD off,
    /// then the common setters (bandwidth cap, buffers). `is_group` changes nothing, as in the
    /// SDK's header, whose body does not read it.
    pub fn rtmp(options: &mut Options, is_group: bool) -> Result<(), Error> {
        let _ = is_group;
        Self::without_latency_budget(options)?;
        Self::common(options)
    }

    /// `SrtPreset::mpegTsLossless(tmio)`: the same setters as [`SrtPreset::rtmp`] (the SDK
    /// sets the bandwidth cap twice).
    pub fn mpeg_ts_lossless(options: &mut Options) -> Result<(), Error> {
        Self::without_latency_budget(options)?;
        set(options, OptionName::MaxBandwidth, max_bandwidth())?;
        Self::common(options)
    }

    /// `SrtPreset::mpegTsFixedLatency(tmio, latency_ms = 120)`: too-late drop on, payload 1316,
    /// latency `latency_ms`, TSBPD on, then the common setters. An error only for a latency
    /// above 2^31 - 1 ms.
    pub fn mpeg_ts_fixed_latency(options: &mut Options, latency_ms: u32) -> Result<(), Error> {
        set(
            options,
            OptionName::TooLatePacketDrop,
            OptionValue::Bool(true),
        )?;
        set(options, OptionName::PayloadSize, payload_size_live())?;
        set(
            options,
            OptionName::Latency,
            OptionValue::Integer(i64::from(latency_ms)),
        )?;
        set(options, OptionName::TsbpdMode, OptionValue::Bool(true))?;
        Self::common(options)
    }

    fn without_latency_budget(options: &mut Options) -> Result<(), Error> {
        set(
            options,
            OptionName::TooLatePacketDrop,
            OptionValue::Bool(false),
        )?;
        set(options, OptionName::PayloadSize, payload_size_live())?;
        set(options, OptionName::Latency, OptionValue::Integer(0))?;
        set(options, OptionName::TsbpdMode, OptionValue::Bool(false))
    }

    /// `SrtPreset::commonSet`: bandwidth cap, send and receive buffers; and, tmio's addition,
    /// the SDK's `live_bbr` congestion control, so that the cap is a ceiling for an adaptive
    /// rate rather than a fixed pacing rate (at a fixed 20 Mibit/s a slower uplink is flooded
    /// and a 20 Mbit/s stream queues). Set `congestion` to `live` after the preset for libsrt's
    /// fixed rate.
    fn common(options: &mut Options) -> Result<(), Error> {
        set(
            options,
            OptionName::Congestion,
            OptionValue::Text(CongestionControl::LiveBbr.as_str().to_owned()),
        )?;
        set(options, OptionName::MaxBandwidth, max_bandwidth())?;
        let buffer = OptionValue::Integer(i64::from(Self::BUF_SIZE));
        set(options, OptionName::SendBufferSize, buffer.clone())?;
        set(options, OptionName::ReceiveBufferSize, buffer)
    }
}

fn set(options: &mut Options, name: OptionName, value: OptionValue) -> Result<(), Error> {
    options.set(name, value)
}

fn max_bandwidth() -> OptionValue {
    OptionValue::Integer(MaxBandwidth::BytesPerSecond(SrtPreset::MAX_BANDWIDTH).as_i64())
}

fn payload_size_live() -> OptionValue {
    OptionValue::Integer(i64::from(SrtPreset::PAYLOAD_SIZE_LIVE))
}

/// The bandwidth cap of every preset: the SDK's (20 << 20) / 8 = 2 621 440 bytes/s.
pub const PRESET_MAX_BANDWIDTH: u64 = SrtPreset::MAX_BANDWIDTH;

/// The send and receive buffer of every preset: 2 MiB.
pub const PRESET_BUFFER_SIZE: u32 = SrtPreset::BUF_SIZE;

/// tmio's presets: the SDK's [`SrtPreset`] setters plus tmio's linger. Every preset caps
/// bandwidth at [`PRESET_MAX_BANDWIDTH`] bytes/s and uses 2 MiB send and receive buffers
/// ([`PRESET_BUFFER_SIZE`]). Applying one is a list of setters over the current options
/// ([`Preset::apply_to`]); [`Options::from_preset`] applies it to libsrt's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "preset", rename_all = "snake_case")]
pub enum Preset {
    /// RTMP (or any TCP byte stream): reliable, in order, no latency budget: no TSBPD, no
    /// too-late drop, latency 0, payload 1316 ([`SrtPreset::rtmp`]), linger 30 s. Turning
    /// too-late drop on afterwards is allowed but makes the sender drop bytes unacknowledged
    /// for about a second
    /// ([`DeliveryPolicy::SenderDrop`](crate::DeliveryPolicy::SenderDrop)), which breaks RTMP.
    Rtmp,
    /// MPEG-TS without loss: the SDK's `mpegTsLossless`, the same settings as `rtmp`.
    MpegTsLossless,
    /// MPEG-TS at a fixed latency: TSBPD, too-late drop on (late packets are dropped), linger 0.
    MpegTsFixedLatency {
        /// The latency in milliseconds ([`Preset::DEFAULT_FIXED_LATENCY_MS`] by default).
        latency_ms: u32,
    },
}

impl Preset {
    /// The default latency of [`Preset::MpegTsFixedLatency`].
    pub const DEFAULT_FIXED_LATENCY_MS: u32 = 120;

    /// [`Preset::MpegTsFixedLatency`] with the default latency.
    pub fn mpegts_fixed_latency() -> Self {
        Preset::MpegTsFixedLatency {
            latency_ms: Self::DEFAULT_FIXED_LATENCY_MS,
        }
    }

    /// The preset's options (same as [`Options::from_preset`]).
    pub fn options(self) -> Result<Options, Error> {
        Options::from_preset(self)
    }

    /// Applies the preset's setters over `options` ([`SrtPreset`]'s, then the linger); what the
    /// preset does not set is kept. An error only for a fixed latency above 2^31 - 1 ms.
    pub fn apply_to(self, options: &mut Options) -> Result<(), Error> {
        match self {
            Preset::Rtmp => {
                SrtPreset::rtmp(options, false)?;
                // A lossless stream's close must deliver what was accepted: wait for it, bounded.
                options.set_linger(LOSSLESS_LINGER)
            }
            Preset::MpegTsLossless => {
                SrtPreset::mpeg_ts_lossless(options)?;
                options.set_linger(LOSSLESS_LINGER)
            }
            Preset::MpegTsFixedLatency { latency_ms } => {
                SrtPreset::mpeg_ts_fixed_latency(options, latency_ms)?;
                options.set_linger(Duration::ZERO)
            }
        }
    }
}

/// Linger of the lossless presets: a graceful close waits up to this long for the peer to
/// acknowledge what was sent (libsrt's live-mode default of 0 would discard it).
pub const LOSSLESS_LINGER: Duration = Duration::from_secs(30);

impl fmt::Display for Preset {
    /// `rtmp`, `mpegts-lossless` or `mpegts-fixed-latency:MS`; [`FromStr`] parses it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Preset::Rtmp => f.write_str("rtmp"),
            Preset::MpegTsLossless => f.write_str("mpegts-lossless"),
            Preset::MpegTsFixedLatency { latency_ms } => {
                write!(f, "mpegts-fixed-latency:{latency_ms}")
            }
        }
    }
}

impl FromStr for Preset {
    type Err = Error;

    /// Parses `rtmp`, `mpegts-lossless`, `mpegts-fixed-latency` (120 ms) or
    /// `mpegts-fixed-latency:MS` (ASCII case-insensitive).
    fn from_str(text: &str) -> Result<Self, Error> {
        let unknown = || Error::UnknownPreset {
            name: text.to_owned(),
        };
        let lower = text.trim().to_ascii_lowercase();
        match lower.as_str() {
            "rtmp" => Ok(Preset::Rtmp),
            "mpegts-lossless" => Ok(Preset::MpegTsLossless),
            "mpegts-fixed-latency" => Ok(Preset::mpegts_fixed_latency()),
            other => {
                let latency = other
                    .strip_prefix("mpegts-fixed-latency:")
                    .ok_or_else(unknown)?;
                if !latency.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(unknown());
                }
                let latency_ms = latency.parse::<u32>().map_err(|_| unknown())?;
                Ok(Preset::MpegTsFixedLatency { latency_ms })
            }
        }
    }
}

impl Options {
    /// The options of a preset: libsrt's live defaults ([`Options::default`]), then the
    /// preset's setters ([`Preset::apply_to`]). An error only for a fixed latency above
    /// 2^31 - 1 ms.
    pub fn from_preset(preset: Preset) -> Result<Options, Error> {
        let mut options = Options::default();
        preset.apply_to(&mut options)?;
        Ok(options)
    }

    /// Applies a preset's setters over these options (see [`Preset::apply_to`]).
    pub fn apply_preset(&mut self, preset: Preset) -> Result<(), Error> {
        preset.apply_to(self)
    }
}
