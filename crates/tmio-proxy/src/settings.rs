//! From a preset, the SDK's options and a URL to the transport's settings.

use std::net::{IpAddr, SocketAddr};

use tmio_preset::{
    CongestionControl, DeliveryPolicy, KeyLength, MaxBandwidth, OptionName, Options,
};
use tmio_transport::srt::{connection::DeliveryMode, ConnectMode, RateControl, SrtConfig};
use tmio_url::{Host, Mode, SrtUrl};

use crate::Error;

/// Options after the preset, the user's callback and the URL's query have been applied, in
/// that order (the URL wins: it is the most specific).
pub(crate) fn merged_options(mut options: Options, url: &SrtUrl) -> Result<Options, Error> {
    options.apply_url(url)?;
    options.validate()?;
    Ok(options)
}

/// The transport settings for `options` and `url`.
pub(crate) fn srt_config(options: &Options, url: &SrtUrl) -> Result<SrtConfig, Error> {
    let delivery = match options.delivery_policy() {
        DeliveryPolicy::Reliable => DeliveryMode::Reliable,
        DeliveryPolicy::Live {
            receive_latency,
            peer_latency,
            too_late_drop,
        } => {
            // tmio's live sender drops what is older than max(peer latency, 1 s) + 20 ms: libsrt's
            // rule with a send drop delay of 0. Another delay would be ignored: refuse it.
            if too_late_drop && options.send_drop_delay() != Some(std::time::Duration::ZERO) {
                return Err(Error::Unsupported(format!(
                    "\"{}\" {} with too-late drop: tmio's live sender drops packets older than \
                     max(peer latency, 1 s) + 20 ms, as libsrt does with a send drop delay of 0; \
                     set it to 0 (or turn too-late drop off)",
                    OptionName::SendDropDelay.sdk_name(),
                    options
                        .send_drop_delay()
                        .map_or(-1, |delay| i64::try_from(delay.as_millis())
                            .unwrap_or(i64::MAX)),
                )));
            }
            DeliveryMode::Live {
                recv_latency: receive_latency,
                send_latency: peer_latency,
                too_late_drop,
            }
        }
        DeliveryPolicy::SenderDrop { drop_after } => {
            return Err(Error::Unsupported(format!(
                "too-late drop without TSBPD (the sender would give up on data after {} ms): \
                 use the rtmp preset (no drop) or a live preset (tsbpdmode=1)",
                drop_after.as_millis()
            )))
        }
        #[allow(unreachable_patterns)]
        other => return Err(Error::Unsupported(format!("delivery policy {other:?}"))),
    };
    let key_length = match options.effective_key_length() {
        None | Some(KeyLength::Default) | Some(KeyLength::Aes128) => 16,
        Some(KeyLength::Aes192) => 24,
        Some(KeyLength::Aes256) => 32,
    };
    let rate_control = rate_control(options)?;
    let stream_id = match url.stream_id() {
        Some(id) => Some(id.to_string()),
        None => options.stream_id().map(str::to_owned),
    };
    let local_addr = local_bind(url)?;
    Ok(SrtConfig {
        delivery,
        passphrase: options.passphrase().map(|p| p.as_str().to_owned()),
        key_length: if options.passphrase().is_some() {
            key_length
        } else {
            0
        },
        stream_id,
        payload_size: options.packet_payload_size() as usize,
        mss: options.mss() as usize,
        send_buffer_bytes: options.send_buffer_size() as usize,
        recv_buffer_bytes: options.receive_buffer_size() as usize,
        flow_window_packets: options.flight_flag_size(),
        rate_control,
        // As libsrt (and the SDK's option name: "rendezvous (x 10)"), a rendezvous tries ten
        // times as long as a caller.
        connect_timeout: match connect_mode(url) {
            ConnectMode::Rendezvous => options.connect_timeout().saturating_mul(10),
            ConnectMode::Caller | ConnectMode::Listener => options.connect_timeout(),
        },
        peer_idle_timeout: options.peer_idle_timeout(),
        linger: options.linger(),
        local_addr,
        key_refresh_packets: options.key_refresh_rate(),
        key_pre_announce_packets: options.key_pre_announce(),
        ..SrtConfig::default()
    })
}

/// The sending rate from `congestion` and `maxbw` (and `inputbw`/`oheadbw` for `maxbw=0`):
///
/// | congestion | maxbw N | maxbw -1 |
/// |---|---|---|
/// | `live_bbr` (the presets) | adaptive, N the ceiling | adaptive |
/// | `live` | fixed at N (libsrt) | adaptive (libsrt would not pace at all) |
/// | `file` | adaptive, N the ceiling | adaptive |
///
/// `maxbw=0` is libsrt's "input rate plus overhead": `inputbw × (100 + oheadbw) / 100` when an
/// input rate is given, else tmio's adaptive rate (tmio does not estimate the input rate).
fn rate_control(options: &Options) -> Result<RateControl, Error> {
    let limit = match options.max_bandwidth() {
        MaxBandwidth::Unlimited => None,
        MaxBandwidth::BytesPerSecond(bytes) => Some(bytes),
        MaxBandwidth::RelativeToInput => match options.input_bandwidth() {
            0 if options.min_input_bandwidth() > 0 => {
                return Err(Error::Unsupported(format!(
                    "\"{}\" {} with \"{}\" 0 and \"{}\" 0: tmio does not estimate the input \
                     rate, so there is nothing for a minimum to floor; set \"{}\" to the \
                     stream's rate (the cap is then that plus the overhead), or a maximum \
                     bandwidth (-1: tmio's adaptive pacing)",
                    OptionName::MinInputBandwidth.sdk_name(),
                    options.min_input_bandwidth(),
                    OptionName::MaxBandwidth.sdk_name(),
                    OptionName::InputBandwidth.sdk_name(),
                    OptionName::InputBandwidth.sdk_name(),
                )))
            }
            // libsrt estimates the input rate here; tmio paces adaptively instead.
            0 => None,
            input => Some(input + input * u64::from(options.overhead_percent()) / 100),
        },
    };
    Ok(match (options.congestion(), limit) {
        (CongestionControl::Live, Some(bytes_per_second)) => {
            RateControl::Fixed { bytes_per_second }
        }
        (_, cap) => RateControl::Adaptive { cap },
    })
}

/// The local address asked for by `adapter=`/`port=`, if any.
fn local_bind(url: &SrtUrl) -> Result<Option<SocketAddr>, Error> {
    let opts = url.options();
    let ip = match &opts.adapter {
        None => None,
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(*ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(*ip)),
        Some(Host::Name(name)) => {
            return Err(Error::UrlUse {
                which: "remote",
                url: url.to_string(),
                reason: format!("adapter={name} must be an IP address"),
            })
        }
    };
    match (ip, opts.port) {
        (None, None) => Ok(None),
        (ip, port) => {
            let ip = ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            Ok(Some(SocketAddr::new(ip, port.unwrap_or(0))))
        }
    }
}

/// How a remote URL connects.
pub(crate) fn connect_mode(url: &SrtUrl) -> ConnectMode {
    match url.mode() {
        Mode::Caller => ConnectMode::Caller,
        Mode::Listener => ConnectMode::Listener,
        Mode::Rendezvous => ConnectMode::Rendezvous,
    }
}

/// Resolves the URL's host (a name is looked up; the first address is used).
pub(crate) async fn resolve(url: &SrtUrl) -> Result<SocketAddr, Error> {
    let port = url.port();
    match url.host() {
        Some(Host::Ipv4(ip)) => Ok(SocketAddr::new(IpAddr::V4(*ip), port)),
        Some(Host::Ipv6(ip)) => Ok(SocketAddr::new(IpAddr::V6(*ip), port)),
        Some(Host::Name(name)) => {
            let mut addrs = tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|e| tmio_transport::Error::Resolve {
                    host: name.clone(),
                    reason: e.to_string(),
                })?;
            addrs.next().ok_or_else(|| {
                Error::Transport(tmio_transport::Error::Resolve {
                    host: name.clone(),
                    reason: "no address".into(),
                })
            })
        }
        None => Err(Error::UrlUse {
            which: "remote",
            url: url.to_string(),
            reason: "a caller needs a host to call (srt://HOST:PORT)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tmio_preset::Preset;

    #[test]
    fn rtmp_preset_is_reliable_and_capped() {
        let url = SrtUrl::parse("srt://127.0.0.1:9000").unwrap();
        let options = merged_options(Options::from_preset(Preset::Rtmp).unwrap(), &url).unwrap();
        let config = srt_config(&options, &url).unwrap();
        assert!(matches!(config.delivery, DeliveryMode::Reliable));
        assert_eq!(config.payload_size, 1316);
        assert_eq!(
            config.rate_control,
            RateControl::Adaptive {
                cap: Some(2_621_440)
            }
        );
        assert_eq!(config.send_buffer_bytes, 2 * 1024 * 1024);
        config.validate().unwrap();
    }

    #[test]
    fn congestion_and_maxbw_choose_the_rate_control() {
        let rate = |preset: Preset, query: &str| {
            let url = SrtUrl::parse(&format!("srt://127.0.0.1:9000{query}")).unwrap();
            let options = merged_options(Options::from_preset(preset).unwrap(), &url).unwrap();
            srt_config(&options, &url).unwrap().rate_control
        };
        let fixed = Preset::mpegts_fixed_latency();
        for preset in [Preset::Rtmp, Preset::MpegTsLossless, fixed] {
            assert_eq!(
                rate(preset, "?maxbw=1000000"),
                RateControl::Adaptive {
                    cap: Some(1_000_000)
                }
            );
            assert_eq!(rate(preset, "?maxbw=-1"), RateControl::UNCAPPED);
            // libsrt's fixed rate, asked for by name.
            assert_eq!(
                rate(preset, "?congestion=live"),
                RateControl::Fixed {
                    bytes_per_second: 2_621_440
                }
            );
            assert_eq!(
                rate(preset, "?congestion=live&maxbw=-1"),
                RateControl::UNCAPPED
            );
            assert_eq!(
                rate(
                    preset,
                    "?congestion=live&maxbw=0&inputbw=1000000&oheadbw=25"
                ),
                RateControl::Fixed {
                    bytes_per_second: 1_250_000
                }
            );
            assert_eq!(
                rate(
                    preset,
                    "?congestion=live_bbr&maxbw=0&inputbw=1000000&oheadbw=25"
                ),
                RateControl::Adaptive {
                    cap: Some(1_250_000)
                }
            );
            // `transtype=live` keeps live_bbr: it is a live-mode controller.
            assert_eq!(
                rate(preset, "?transtype=live"),
                RateControl::Adaptive {
                    cap: Some(2_621_440)
                }
            );
        }
        // Without a preset: libsrt's defaults (live, maxbw -1) are adaptive and uncapped.
        let url = SrtUrl::parse("srt://127.0.0.1:9000?maxbw=5000000").unwrap();
        let options = merged_options(Options::default(), &url).unwrap();
        assert_eq!(
            srt_config(&options, &url).unwrap().rate_control,
            RateControl::Fixed {
                bytes_per_second: 5_000_000
            }
        );
    }

    #[test]
    fn url_query_overrides_the_preset() {
        let url = SrtUrl::parse(
            "srt://127.0.0.1:9000?latency=300&passphrase=0123456789abc&pbkeylen=32&streamid=%23!::r=live/a",
        )
        .unwrap();
        let options = merged_options(
            Options::from_preset(Preset::mpegts_fixed_latency()).unwrap(),
            &url,
        )
        .unwrap();
        let config = srt_config(&options, &url).unwrap();
        match config.delivery {
            DeliveryMode::Live { recv_latency, .. } => assert_eq!(recv_latency.as_millis(), 300),
            other => panic!("{other:?}"),
        }
        assert_eq!(config.key_length, 32);
        assert_eq!(config.stream_id.as_deref(), Some("#!::r=live/a"));
    }

    #[test]
    fn a_send_drop_delay_tmio_would_ignore_is_refused() {
        let url = SrtUrl::parse("srt://127.0.0.1:9000").unwrap();
        let mut options = Options::from_preset(Preset::mpegts_fixed_latency()).unwrap();
        options
            .set_send_drop_delay(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let error = srt_config(&options, &url).unwrap_err().to_string();
        assert!(
            error.contains("Send drop delay (ms)") && error.contains("500"),
            "{error}"
        );
        // Without too-late drop nothing is dropped: the delay is moot.
        options.set_too_late_packet_drop(false);
        srt_config(&options, &url).unwrap();
    }

    #[test]
    fn a_rendezvous_waits_ten_times_the_connect_timeout() {
        let options = Options::from_preset(Preset::Rtmp).unwrap();
        let caller = SrtUrl::parse("srt://127.0.0.1:9000").unwrap();
        let rendezvous = SrtUrl::parse("srt://127.0.0.1:9000?mode=rendezvous").unwrap();
        assert_eq!(
            srt_config(&options, &caller).unwrap().connect_timeout,
            std::time::Duration::from_secs(3)
        );
        assert_eq!(
            srt_config(&options, &rendezvous).unwrap().connect_timeout,
            std::time::Duration::from_secs(30)
        );
    }

    #[test]
    fn adapter_and_port_bind_locally() {
        let url = SrtUrl::parse("srt://127.0.0.1:9000?adapter=127.0.0.1&port=7000").unwrap();
        let options = merged_options(Options::from_preset(Preset::Rtmp).unwrap(), &url).unwrap();
        let config = srt_config(&options, &url).unwrap();
        assert_eq!(config.local_addr, Some("127.0.0.1:7000".parse().unwrap()));
    }
}
