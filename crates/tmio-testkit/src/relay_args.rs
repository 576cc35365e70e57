//! Command-line arguments of the `tmio-relay` binary (std parsing, unit-tested here).

use std::net::SocketAddr;
use std::time::Duration;

use crate::impairment::{Blackout, GilbertElliott, ImpairmentConfig, Jitter, RateLimit};
use crate::relay::RelayConfig;
use crate::Error;

/// Usage text of `tmio-relay`.
pub const USAGE: &str = "\
usage: tmio-relay --upstream 127.0.0.1:Q [--listen 127.0.0.1:P] [options]
  --loss P                 independent loss probability, 0..1
  --burst PGB,PBG[,LG,LB]  Gilbert-Elliott burst loss (transition and per-state loss probabilities)
  --delay-ms N             fixed one-way delay
  --jitter-ms N            uniform extra delay in [0, N] ms (reorders)
  --jitter-normal-ms N     normal extra delay, standard deviation N ms (reorders)
  --reorder P              probability of holding a datagram back by --reorder-ms (default 10)
  --reorder-ms N
  --dup P                  duplication probability
  --rate BYTES_PER_SEC     bottleneck rate, with --queue-bytes of queue (default 64000), tail drop
  --queue-bytes N
  --blackout FROM-TO       drop everything between FROM and TO ms after start (repeatable)
  --direction both|up|down which way the impairment applies (default both)
  --seed N                 random seed (default 0)
  --seconds N              stop after N seconds (default: run until Ctrl-C)
  --follow-client          a datagram from a new client address makes it the client
Only loopback addresses are accepted. Final counters are printed on stdout.";

/// Which directions the impairment applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImpairedDirections {
    /// Both ways.
    Both,
    /// Client → upstream only.
    Up,
    /// Upstream → client only.
    Down,
}

/// Parsed arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayArgs {
    /// The relay configuration to start.
    pub config: RelayConfig,
    /// Run time limit, if any.
    pub seconds: Option<Duration>,
}

fn bad(arg: &str, reason: impl Into<String>) -> Error {
    Error::Argument {
        arg: arg.to_owned(),
        reason: reason.into(),
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, Error>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e: T::Err| bad(&format!("{flag} {value}"), e.to_string()))
}

fn millis(flag: &str, value: &str) -> Result<Duration, Error> {
    let ms: f64 = number(flag, value)?;
    Duration::try_from_secs_f64(ms / 1000.0)
        .map_err(|e| bad(&format!("{flag} {value}"), e.to_string()))
}

/// Parses the arguments after the program name. `Ok(None)` means `--help` was asked for.
pub fn parse_relay_args<I, S>(args: I) -> Result<Option<RelayArgs>, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut listen: Option<SocketAddr> = None;
    let mut upstream: Option<SocketAddr> = None;
    let mut impairment = ImpairmentConfig::default();
    let mut directions = ImpairedDirections::Both;
    let mut seed = 0u64;
    let mut seconds = None;
    let mut rate: Option<u64> = None;
    let mut queue_bytes = 64_000u64;
    let mut follow_new_client = false;
    let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if flag == "--follow-client" {
            follow_new_client = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| bad(flag, "expects a value"))?
            .as_str();
        match flag.as_str() {
            "--listen" => listen = Some(number(flag, value)?),
            "--upstream" => upstream = Some(number(flag, value)?),
            "--loss" => impairment.loss = number(flag, value)?,
            "--burst" => {
                let parts: Vec<f64> = value
                    .split(',')
                    .map(|p| number(flag, p))
                    .collect::<Result<_, _>>()?;
                impairment.burst_loss = Some(match parts.as_slice() {
                    [g2b, b2g] => GilbertElliott::gilbert(*g2b, *b2g),
                    [g2b, b2g, lg, lb] => GilbertElliott {
                        p_good_to_bad: *g2b,
                        p_bad_to_good: *b2g,
                        loss_in_good: *lg,
                        loss_in_bad: *lb,
                    },
                    _ => return Err(bad(flag, "expects PGB,PBG or PGB,PBG,LG,LB")),
                });
            }
            "--delay-ms" => impairment.delay = millis(flag, value)?,
            "--jitter-ms" => {
                impairment.jitter = Jitter::Uniform {
                    max: millis(flag, value)?,
                }
            }
            "--jitter-normal-ms" => {
                impairment.jitter = Jitter::Normal {
                    std_dev: millis(flag, value)?,
                }
            }
            "--reorder" => impairment.reorder_probability = number(flag, value)?,
            "--reorder-ms" => impairment.reorder_delay = millis(flag, value)?,
            "--dup" => impairment.duplicate_probability = number(flag, value)?,
            "--rate" => rate = Some(number(flag, value)?),
            "--queue-bytes" => queue_bytes = number(flag, value)?,
            "--blackout" => {
                let (from, to) = value
                    .split_once('-')
                    .ok_or_else(|| bad(flag, "expects FROM_MS-TO_MS"))?;
                impairment.blackouts.push(Blackout {
                    from: millis(flag, from)?,
                    until: millis(flag, to)?,
                });
            }
            "--direction" => {
                directions = match value {
                    "both" => ImpairedDirections::Both,
                    "up" => ImpairedDirections::Up,
                    "down" => ImpairedDirections::Down,
                    other => return Err(bad(other, "direction is both, up or down")),
                }
            }
            "--seed" => seed = number(flag, value)?,
            "--seconds" => {
                seconds = Some(Duration::from_secs_f64(number::<u32>(flag, value)?.into()))
            }
            other => return Err(bad(other, "unknown option (see --help)")),
        }
    }
    if let Some(bytes_per_sec) = rate {
        impairment.rate_limit = Some(RateLimit {
            bytes_per_sec,
            queue_limit_bytes: queue_bytes,
        });
    }
    impairment.validate()?;
    let upstream = upstream.ok_or_else(|| bad("--upstream", "is required"))?;
    let mut config = RelayConfig::new(upstream);
    if let Some(listen) = listen {
        config.listen = listen;
    }
    config.seed = seed;
    config.follow_new_client = follow_new_client;
    match directions {
        ImpairedDirections::Both => {
            config.to_upstream = impairment.clone();
            config.to_client = impairment;
        }
        ImpairedDirections::Up => config.to_upstream = impairment,
        ImpairedDirections::Down => config.to_client = impairment,
    }
    Ok(Some(RelayArgs { config, seconds }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let args = parse_relay_args([
            "--listen",
            "127.0.0.1:9000",
            "--upstream",
            "127.0.0.1:9001",
            "--loss",
            "0.1",
            "--delay-ms",
            "20",
            "--jitter-ms",
            "5",
            "--seed",
            "7",
            "--seconds",
            "3",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.seconds, Some(Duration::from_secs(3)));
        assert_eq!(args.config.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(args.config.upstream, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(args.config.seed, 7);
        for imp in [&args.config.to_upstream, &args.config.to_client] {
            assert_eq!(imp.loss, 0.1);
            assert_eq!(imp.delay, Duration::from_millis(20));
            assert_eq!(
                imp.jitter,
                Jitter::Uniform {
                    max: Duration::from_millis(5)
                }
            );
        }
    }

    #[test]
    fn parses_burst_rate_blackout_and_direction() {
        let args = parse_relay_args([
            "--upstream",
            "[::1]:5",
            "--burst",
            "0.01,0.3",
            "--rate",
            "125000",
            "--queue-bytes",
            "20000",
            "--blackout",
            "1000-1500",
            "--direction",
            "up",
            "--dup",
            "0.01",
            "--follow-client",
        ])
        .unwrap()
        .unwrap();
        let up = &args.config.to_upstream;
        assert_eq!(up.burst_loss, Some(GilbertElliott::gilbert(0.01, 0.3)));
        assert_eq!(
            up.rate_limit,
            Some(RateLimit {
                bytes_per_sec: 125_000,
                queue_limit_bytes: 20_000
            })
        );
        assert_eq!(
            up.blackouts,
            vec![Blackout {
                from: Duration::from_secs(1),
                until: Duration::from_millis(1500)
            }]
        );
        assert_eq!(args.config.to_client, ImpairmentConfig::default());
        assert!(args.config.follow_new_client);
        assert!(args.config.listen.ip().is_loopback() && args.config.listen.is_ipv6());
    }

    #[test]
    fn rejects_bad_input_naming_it() {
        let err = parse_relay_args(["--upstream", "127.0.0.1:1", "--loss", "2"]).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidProbability { name: "loss", .. }
        ));
        let err = parse_relay_args(["--loss", "0.1"]).unwrap_err();
        assert!(err.to_string().contains("--upstream"), "{err}");
        let err = parse_relay_args(["--upstream", "127.0.0.1:1", "--frobnicate", "1"]).unwrap_err();
        assert!(err.to_string().contains("--frobnicate"), "{err}");
        let err = parse_relay_args(["--upstream"]).unwrap_err();
        assert!(err.to_string().contains("expects a value"), "{err}");
        let err = parse_relay_args(["--upstream", "127.0.0.1:1", "--delay-ms", "x"]).unwrap_err();
        assert!(err.to_string().contains("--delay-ms x"), "{err}");
        assert_eq!(parse_relay_args(["--help"]).unwrap(), None);
    }
}
