//! Presets: starting option sets for the kinds of stream tmio carries.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use crate::{Error, MaxBandwidth, Options, TransmissionType};

/// The bandwidth cap of every preset: 20 Mbit/s.
pub const PRESET_MAX_BANDWIDTH: u64 = 2_500_000;

/// The send and receive buffer of every preset: 2 MiB.
pub const PRESET_BUFFER_SIZE: u32 = 2 * 1024 * 1024;

/// A starting set of options. Every preset caps bandwidth at 20 Mbit/s
/// ([`PRESET_MAX_BANDWIDTH`] bytes/s) and uses 2 MiB send and receive buffers
/// ([`PRESET_BUFFER_SIZE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "preset", rename_all = "snake_case")]
pub enum Preset {
    /// RTMP (or any TCP byte stream): reliable, in order, no latency budget: no TSBPD, no
    /// too-late drop, latency 0, payload 1316. Turning too-late drop on afterwards is allowed
    /// but makes the sender drop bytes unacknowledged for about a second
    /// ([`DeliveryPolicy::SenderDrop`](crate::DeliveryPolicy::SenderDrop)), which breaks RTMP.
    Rtmp,
    /// MPEG-TS without loss: TSBPD with libsrt's default latency (120 ms), no too-late drop.
    MpegTsLossless,
    /// MPEG-TS at a fixed latency: TSBPD, too-late drop on (late packets are dropped).
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
    /// The options of a preset: libsrt's live defaults, the common bandwidth cap and buffers,
    /// then the preset's delivery settings. An error only for a fixed latency above
    /// 2^31 - 1 ms.
    pub fn from_preset(preset: Preset) -> Result<Options, Error> {
        let mut options = Options::default();
        options.set_transmission_type(TransmissionType::Live);
        options.set_max_bandwidth(MaxBandwidth::BytesPerSecond(PRESET_MAX_BANDWIDTH))?;
        options.set_send_buffer_size(PRESET_BUFFER_SIZE)?;
        options.set_receive_buffer_size(PRESET_BUFFER_SIZE)?;
        options.set_payload_size(1316)?;
        match preset {
            Preset::Rtmp => {
                options.set_tsbpd_mode(false);
                options.set_too_late_packet_drop(false);
                options.set_latency(Duration::ZERO)?;
                // A lossless stream's close must deliver what was accepted: wait for it, bounded.
                options.set_linger(LOSSLESS_LINGER)?;
            }
            Preset::MpegTsLossless => {
                options.set_tsbpd_mode(true);
                options.set_too_late_packet_drop(false);
                options.set_latency(Duration::from_millis(120))?;
                options.set_linger(LOSSLESS_LINGER)?;
            }
            Preset::MpegTsFixedLatency { latency_ms } => {
                options.set_tsbpd_mode(true);
                options.set_too_late_packet_drop(true);
                options.set_latency(Duration::from_millis(u64::from(latency_ms)))?;
            }
        }
        Ok(options)
    }
}
