//! Settings of one SRT socket (caller, listener or rendezvous), in transport terms.
//!
//! The proxy layer builds an [`SrtConfig`] from a preset, the SDK's options and the URL query;
//! this module only checks what the transport itself cannot work with.

use std::{net::SocketAddr, time::Duration};

use srt_protocol::{
    options::{KeySize, LiveBandwidthMode, PacketCount, PacketSize, Passphrase},
    settings::{ConnInitSettings, KeyMaterialRefreshSettings, KeySettings},
};

use crate::srt::connection::{DeliveryMode, RateControl};
use crate::Error;

/// Largest SRT payload that fits one 1500-byte MSS (1500 − 28 UDP/IP − 16 SRT header).
pub const MAX_PAYLOAD_SIZE: usize = 1456;

/// The rate cap of [`SrtConfig::default`], bytes/s: the SDK presets' (20 << 20) / 8 = 2 621 440
/// (20 Mibit/s), a ceiling for the adaptive controller, not a pacing rate.
pub const DEFAULT_RATE_CAP: u64 = (20 << 20) / 8;

/// Smallest MSS (IP packet size) tmio works with: libsrt's own minimum for `SRTO_MSS`.
/// [`SrtConfig::validate`] refuses a smaller `mss`; a peer's handshake announcing less should be
/// refused too. It leaves 32 bytes of payload per packet (76 − 28 UDP/IP − 16 SRT).
pub const MIN_MSS: usize = 76;

/// Who starts the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectMode {
    /// Sends the induction handshake to a listener.
    #[default]
    Caller,
    /// Waits for callers (see [`crate::srt::SrtListener`]).
    Listener,
    /// Both sides call each other at once.
    Rendezvous,
}

/// Every setting an SRT socket needs. Its `Debug` never shows the passphrase.
#[derive(Clone)]
pub struct SrtConfig {
    /// Reliable byte stream (tmio's `rtmp` preset) or libsrt live mode.
    pub delivery: DeliveryMode,
    /// Passphrase for AES encryption (10–79 characters); `None` = plaintext.
    pub passphrase: Option<String>,
    /// AES key length in bytes: 16, 24 or 32 (0 = 16 when a passphrase is set).
    pub key_length: u8,
    /// The stream id a caller sends (`#!::r=…`), at most 512 bytes.
    pub stream_id: Option<String>,
    /// Largest payload of one data packet, bytes (the `rtmp` preset uses 1316).
    pub payload_size: usize,
    /// Maximum segment size announced in the handshake (IP packet size), bytes.
    pub mss: usize,
    /// Memory bound of the send buffer, bytes.
    pub send_buffer_bytes: usize,
    /// Memory bound of the receive buffer, bytes.
    pub recv_buffer_bytes: usize,
    /// Flow window announced to the peer, packets.
    pub flow_window_packets: u32,
    /// How the sending rate is chosen: adaptive under a cap (the presets: `congestion=live_bbr`)
    /// or fixed (`congestion=live` with `maxbw`). Retransmissions and headers count.
    pub rate_control: RateControl,
    /// How long a caller or rendezvous tries to connect.
    pub connect_timeout: Duration,
    /// Nothing received from the peer for this long ends the connection.
    pub peer_idle_timeout: Duration,
    /// How long a graceful close may wait for the peer to acknowledge what was sent.
    pub linger: Duration,
    /// Local address to bind the UDP socket to (`None` = any address, any port).
    pub local_addr: Option<SocketAddr>,
    /// Kernel UDP send and receive buffer sizes to ask for, bytes.
    pub udp_buffer_bytes: usize,
    /// With a passphrase: packets the sender encrypts with one key before switching to the next
    /// (`kmrefreshrate`; default 2^25).
    pub key_refresh_packets: u32,
    /// With a passphrase: packets before a switch at which the next key is announced
    /// (`kmpreannounce`; default 4000; at most (key_refresh_packets - 1) / 2).
    pub key_pre_announce_packets: u32,
}

impl Default for SrtConfig {
    fn default() -> Self {
        Self {
            delivery: DeliveryMode::Reliable,
            passphrase: None,
            key_length: 0,
            stream_id: None,
            payload_size: 1316,
            mss: 1500,
            send_buffer_bytes: 2 * 1024 * 1024,
            recv_buffer_bytes: 2 * 1024 * 1024,
            flow_window_packets: 25_600,
            rate_control: RateControl::Adaptive {
                cap: Some(DEFAULT_RATE_CAP),
            },
            connect_timeout: Duration::from_secs(3),
            peer_idle_timeout: Duration::from_secs(5),
            linger: Duration::from_secs(30),
            local_addr: None,
            udp_buffer_bytes: 8 * 1024 * 1024,
            key_refresh_packets: 1 << 25,
            key_pre_announce_packets: 4000,
        }
    }
}

impl std::fmt::Debug for SrtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtConfig")
            .field("delivery", &self.delivery)
            .field(
                "passphrase",
                &self
                    .passphrase
                    .as_ref()
                    .map(|p| format!("<hidden, {} bytes>", p.len())),
            )
            .field("key_length", &self.key_length)
            .field("stream_id", &self.stream_id)
            .field("payload_size", &self.payload_size)
            .field("mss", &self.mss)
            .field("send_buffer_bytes", &self.send_buffer_bytes)
            .field("recv_buffer_bytes", &self.recv_buffer_bytes)
            .field("flow_window_packets", &self.flow_window_packets)
            .field("rate_control", &self.rate_control)
            .field("connect_timeout", &self.connect_timeout)
            .field("peer_idle_timeout", &self.peer_idle_timeout)
            .field("linger", &self.linger)
            .field("local_addr", &self.local_addr)
            .field("udp_buffer_bytes", &self.udp_buffer_bytes)
            .field("key_refresh_packets", &self.key_refresh_packets)
            .field("key_pre_announce_packets", &self.key_pre_announce_packets)
            .finish()
    }
}

impl SrtConfig {
    /// Checks the settings the transport cannot work with and names the first bad one.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |option: &'static str, value: String, reason: &'static str| {
            Err(Error::InvalidConfig {
                option,
                value,
                reason,
            })
        };
        if let Some(passphrase) = &self.passphrase {
            if !(10..=79).contains(&passphrase.len()) {
                return bad(
                    "passphrase",
                    format!("{} characters", passphrase.len()),
                    "must be 10 to 79 characters",
                );
            }
        }
        if self.key_pre_announce_packets == 0
            || self.key_pre_announce_packets > self.key_refresh_packets.saturating_sub(1) / 2
        {
            return bad(
                "kmpreannounce",
                format!(
                    "{} (kmrefreshrate {})",
                    self.key_pre_announce_packets, self.key_refresh_packets
                ),
                "must be 1 to (kmrefreshrate - 1) / 2 packets",
            );
        }
        if ![0, 16, 24, 32].contains(&self.key_length) {
            return bad(
                "pbkeylen",
                self.key_length.to_string(),
                "must be 0, 16, 24 or 32",
            );
        }
        if let Some(stream_id) = &self.stream_id {
            if stream_id.len() > 512 {
                return bad(
                    "streamid",
                    format!("{} bytes", stream_id.len()),
                    "must be at most 512 bytes",
                );
            }
        }
        if !(MIN_MSS..=1500).contains(&self.mss) {
            return bad("mss", self.mss.to_string(), "must be 76 to 1500 bytes");
        }
        if self.payload_size == 0 || self.payload_size > self.mss - 44 {
            return bad(
                "payloadsize",
                self.payload_size.to_string(),
                "must be 1 to mss - 44 bytes (1456 for mss 1500)",
            );
        }
        if self.send_buffer_bytes < 32 * self.payload_size {
            return bad(
                "sndbuf",
                self.send_buffer_bytes.to_string(),
                "must hold at least 32 packets",
            );
        }
        if self.recv_buffer_bytes < 32 * self.payload_size {
            return bad(
                "rcvbuf",
                self.recv_buffer_bytes.to_string(),
                "must hold at least 32 packets",
            );
        }
        if self.flow_window_packets < 32 {
            return bad(
                "fc",
                self.flow_window_packets.to_string(),
                "must be at least 32 packets",
            );
        }
        if let RateControl::Adaptive { cap: Some(0) }
        | RateControl::Fixed {
            bytes_per_second: 0,
        } = self.rate_control
        {
            return bad(
                "maxbw",
                "0".into(),
                "must be positive (an adaptive rate without a cap is `cap: None`)",
            );
        }
        if self.connect_timeout.is_zero() {
            return bad("conntimeo", "0".into(), "must be positive");
        }
        if self.peer_idle_timeout.is_zero() {
            return bad("peeridletimeo", "0".into(), "must be positive");
        }
        Ok(())
    }

    /// The key size srt-protocol should use, from `key_length` and `passphrase`.
    pub(crate) fn key_size(&self) -> KeySize {
        match (self.passphrase.is_some(), self.key_length) {
            (false, _) => KeySize::Unspecified,
            (true, 24) => KeySize::AES192,
            (true, 32) => KeySize::AES256,
            (true, _) => KeySize::AES128,
        }
    }

    /// Receive latency announced in the handshake.
    pub(crate) fn recv_latency(&self) -> Duration {
        match self.delivery {
            DeliveryMode::Reliable => Duration::ZERO,
            DeliveryMode::Live { recv_latency, .. } => recv_latency,
        }
    }

    /// Send (peer) latency announced in the handshake.
    pub(crate) fn send_latency(&self) -> Duration {
        match self.delivery {
            DeliveryMode::Reliable => Duration::ZERO,
            DeliveryMode::Live { send_latency, .. } => send_latency,
        }
    }

    /// The sender's key refresh schedule (`validate` checked it; srt-protocol's default if not).
    pub(crate) fn key_refresh(&self) -> KeyMaterialRefreshSettings {
        KeyMaterialRefreshSettings::new(
            self.key_refresh_packets as usize,
            self.key_pre_announce_packets as usize,
        )
        .unwrap_or_default()
    }

    /// The handshake settings srt-protocol's state machines take.
    pub(crate) fn init_settings(&self) -> Result<ConnInitSettings, Error> {
        self.validate()?;
        let key_settings = match &self.passphrase {
            None => None,
            Some(passphrase) => Some(KeySettings {
                key_size: self.key_size(),
                passphrase: Passphrase::try_from(passphrase.clone()).map_err(|_| {
                    Error::InvalidConfig {
                        option: "passphrase",
                        value: format!("{} characters", passphrase.len()),
                        reason: "must be 10 to 79 characters",
                    }
                })?,
            }),
        };
        let payload = self.payload_size.max(1) as u64;
        Ok(ConnInitSettings {
            local_sockid: rand::random(),
            key_settings,
            key_refresh: self.key_refresh(),
            send_latency: self.send_latency(),
            recv_latency: self.recv_latency(),
            peer_idle_timeout: self.peer_idle_timeout,
            bandwidth: LiveBandwidthMode::Unlimited,
            statistics_interval: Duration::from_secs(1),
            too_late_packet_drop: matches!(
                self.delivery,
                DeliveryMode::Live {
                    too_late_drop: true,
                    ..
                }
            ),
            recv_buffer_size: PacketCount(self.recv_buffer_bytes as u64 / payload),
            send_buffer_size: PacketCount(self.send_buffer_bytes as u64 / payload),
            // On the wire this is the handshake's MSS field.
            max_packet_size: PacketSize(self.mss as u64),
            max_flow_size: PacketCount(u64::from(self.flow_window_packets)),
        })
    }

    /// Payload size actually used once the MSS of both sides is known.
    pub(crate) fn effective_payload_size(&self, negotiated_mss: usize) -> usize {
        // 28 bytes of IPv4 + UDP header and 16 of SRT header.
        let fits = negotiated_mss.saturating_sub(44).max(1);
        self.payload_size.min(fits).min(MAX_PAYLOAD_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_passphrase() {
        let config = SrtConfig {
            passphrase: Some("a-secret-passphrase".into()),
            ..SrtConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("a-secret-passphrase"), "{shown}");
        assert!(shown.contains("<hidden, 19 bytes>"), "{shown}");
    }

    #[test]
    fn default_is_valid() {
        SrtConfig::default().validate().unwrap();
    }

    #[test]
    fn short_passphrase_is_named() {
        let config = SrtConfig {
            passphrase: Some("short".into()),
            ..SrtConfig::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("passphrase"), "{err}");
        assert!(err.contains("10 to 79"), "{err}");
    }

    #[test]
    fn bad_key_length_and_payload_are_named() {
        let config = SrtConfig {
            key_length: 20,
            ..SrtConfig::default()
        };
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("pbkeylen"));
        let config = SrtConfig {
            payload_size: 1457,
            ..SrtConfig::default()
        };
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("payloadsize"));
    }

    #[test]
    fn key_size_follows_passphrase() {
        let mut config = SrtConfig::default();
        assert_eq!(config.key_size(), KeySize::Unspecified);
        config.passphrase = Some("0123456789".into());
        assert_eq!(config.key_size(), KeySize::AES128);
        config.key_length = 32;
        assert_eq!(config.key_size(), KeySize::AES256);
    }

    #[test]
    fn payload_is_capped_by_negotiated_mss() {
        let config = SrtConfig {
            payload_size: 1456,
            ..SrtConfig::default()
        };
        assert_eq!(config.effective_payload_size(1500), 1456);
        assert_eq!(config.effective_payload_size(1316), 1272);
    }
}
