//! Parsers for the command's own argument syntax: preset spellings, `NAME=VALUE` options and
//! `RESOURCE=tcp://IP:PORT` routes. Each returns a message clap shows as a usage error.

use tmio_proxy::Preset;

/// Parses a preset as the issue spells it (`rtmp`, `ts-lossless`, `ts-latency`,
/// `ts-latency:MS`) or as the preset crate does (`mpegts-lossless`,
/// `mpegts-fixed-latency[:MS]`), ASCII case-insensitive.
///
/// ```
/// use tmio::args::parse_preset;
/// use tmio_proxy::Preset;
///
/// assert_eq!(parse_preset("ts-latency:300"), Ok(Preset::MpegTsFixedLatency { latency_ms: 300 }));
/// assert_eq!(parse_preset("ts-lossless"), Ok(Preset::MpegTsLossless));
/// assert!(parse_preset("ts-fast").is_err());
/// ```
pub fn parse_preset(text: &str) -> Result<Preset, String> {
    let lower = text.trim().to_ascii_lowercase();
    let canonical = if lower == "ts-lossless" {
        "mpegts-lossless".to_owned()
    } else if let Some(rest) = lower.strip_prefix("ts-latency") {
        if rest.is_empty() || rest.starts_with(':') {
            format!("mpegts-fixed-latency{rest}")
        } else {
            lower.clone()
        }
    } else {
        lower.clone()
    };
    canonical.parse::<Preset>().map_err(|_| {
        format!(
            "unknown preset {text:?}: use rtmp, ts-lossless, ts-latency or ts-latency:MS \
             (also mpegts-lossless, mpegts-fixed-latency[:MS])"
        )
    })
}

/// Splits `NAME=VALUE` at the first `=` (a value may contain `=`); the name is trimmed and
/// must not be empty. The name is checked later, by the option table.
///
/// ```
/// use tmio::args::parse_option;
///
/// assert_eq!(parse_option("latency=200"), Ok(("latency".to_owned(), "200".to_owned())));
/// assert_eq!(parse_option("srt latency (ms)=200").map(|o| o.0), Ok("srt latency (ms)".to_owned()));
/// assert!(parse_option("latency").is_err());
/// ```
pub fn parse_option(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("option {text:?} is not NAME=VALUE"));
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("option {text:?} has no name before '='"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Splits a route `RESOURCE=tcp://IP:PORT` (the resource is a stream id's `r=` value, such as
/// `live/app`). Both halves must be non-empty; the URL is checked by the gateway builder.
///
/// ```
/// use tmio::args::parse_route;
///
/// assert_eq!(
///     parse_route("live/app=tcp://127.0.0.1:1935"),
///     Ok(("live/app".to_owned(), "tcp://127.0.0.1:1935".to_owned()))
/// );
/// assert!(parse_route("tcp://127.0.0.1:1935").is_err());
/// ```
pub fn parse_route(text: &str) -> Result<(String, String), String> {
    let Some((resource, url)) = text.split_once('=') else {
        return Err(format!("route {text:?} is not RESOURCE=tcp://IP:PORT"));
    };
    let resource = resource.trim();
    let url = url.trim();
    if resource.is_empty() || url.is_empty() || resource.contains("://") {
        return Err(format!("route {text:?} is not RESOURCE=tcp://IP:PORT"));
    }
    Ok((resource.to_owned(), url.to_owned()))
}

/// Parses `--route-passphrase RESOURCE=PASSPHRASE`; the error never shows the passphrase.
///
/// ```
/// use tmio::args::parse_route_passphrase;
///
/// assert_eq!(
///     parse_route_passphrase("live/secret=a-long-secret"),
///     Ok(("live/secret".to_owned(), "a-long-secret".to_owned()))
/// );
/// assert!(parse_route_passphrase("no-equals-sign").is_err());
/// ```
pub fn parse_route_passphrase(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((resource, passphrase)) if !resource.trim().is_empty() && !passphrase.is_empty() => {
            Ok((resource.trim().to_owned(), passphrase.to_owned()))
        }
        _ => Err("expected RESOURCE=PASSPHRASE (the value is not shown)".to_owned()),
    }
}

/// Parses `--link srt://HOST:PORT[,bind=IP[:PORT]][,weight=N][,dev=IFNAME]` (a bonded group's
/// member link).
///
/// ```
/// use tmio::args::parse_link;
///
/// let link = parse_link("srt://127.0.0.1:9000,bind=127.0.0.2,weight=10").unwrap();
/// assert_eq!(link.weight, 10);
/// assert_eq!(link.bind, Some("127.0.0.2:0".parse().unwrap()));
/// assert!(parse_link("srt://127.0.0.1:9000,weight=101").is_err());
/// ```
pub fn parse_link(text: &str) -> Result<tmio_proxy::BondLink, String> {
    tmio_proxy::BondLink::parse(text).map_err(|error| error.to_string())
}

/// How the links of `--bond` share the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BondMode {
    /// Every packet on every link; the receiver keeps the first copy.
    Broadcast,
    /// One active link, chosen by weight; the others stand by and take over when it fails.
    Backup,
}

impl From<BondMode> for tmio_proxy::GroupMode {
    fn from(mode: BondMode) -> Self {
        match mode {
            BondMode::Broadcast => tmio_proxy::GroupMode::Broadcast,
            BondMode::Backup => tmio_proxy::GroupMode::Backup,
        }
    }
}

/// Parses a positive number of seconds (fractions allowed, at most one day).
///
/// ```
/// use std::time::Duration;
/// use tmio::args::parse_interval;
///
/// assert_eq!(parse_interval("0.5"), Ok(Duration::from_millis(500)));
/// assert!(parse_interval("0").is_err());
/// ```
pub fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.01..=86_400.0).contains(&seconds) {
        return Err(format!("{text:?} is out of range (0.01 to 86400 seconds)"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_aliases_and_canonical_names_agree() {
        for (alias, canonical) in [
            ("ts-lossless", "mpegts-lossless"),
            ("TS-Latency", "mpegts-fixed-latency"),
            ("ts-latency:0", "mpegts-fixed-latency:0"),
            ("ts-latency:2500", "mpegts-fixed-latency:2500"),
            ("rtmp", "rtmp"),
        ] {
            assert_eq!(parse_preset(alias), parse_preset(canonical), "{alias}");
            assert!(parse_preset(alias).is_ok(), "{alias}");
        }
    }

    #[test]
    fn bad_presets_are_named_in_the_message() {
        for bad in [
            "",
            "ts-latencyx",
            "ts-latency:",
            "ts-latency:-5",
            "udp",
            "ts-latency:9x",
        ] {
            let message = parse_preset(bad).err().unwrap_or_default();
            assert!(message.contains(&format!("{bad:?}")), "{bad}: {message}");
        }
    }

    #[test]
    fn option_values_may_contain_equals_signs() {
        assert_eq!(
            parse_option("streamid=#!::r=live/a"),
            Ok(("streamid".to_owned(), "#!::r=live/a".to_owned()))
        );
        assert_eq!(
            parse_option("passphrase="),
            Ok(("passphrase".to_owned(), String::new()))
        );
        assert!(parse_option("=5").is_err());
    }

    #[test]
    fn routes_need_both_halves() {
        assert!(parse_route("=tcp://127.0.0.1:1").is_err());
        assert!(parse_route("live=").is_err());
        assert!(parse_route("live").is_err());
    }

    #[test]
    fn intervals_are_bounded() {
        assert!(parse_interval("nan").is_err());
        assert!(parse_interval("-1").is_err());
        assert!(parse_interval("1e9").is_err());
        assert_eq!(parse_interval("2"), Ok(std::time::Duration::from_secs(2)));
    }
}
