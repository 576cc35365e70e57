//! Sans-IO impairment decisions: what happens to one datagram travelling in one direction.
//!
//! [`Impairment::decide`] takes the time since the relay started and the datagram's length and
//! returns the times at which copies of it must be delivered (none: dropped; two: duplicated).
//! It never reads a clock and never touches a socket, so tests drive it with simulated time.
//! All randomness comes from a seeded ChaCha8 generator: the same seed, configuration and
//! sequence of `(now, len)` calls give the same decisions on every machine.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use crate::Error;

/// Gilbert-Elliott burst-loss model: a two-state Markov chain evaluated once per datagram.
///
/// The chain first moves (good → bad with `p_good_to_bad`, bad → good with `p_bad_to_good`),
/// then the datagram is lost with the loss probability of the state it is in. The mean burst
/// length in the bad state is `1 / p_bad_to_good` datagrams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from the good to the bad state, per datagram.
    pub p_good_to_bad: f64,
    /// Probability of moving from the bad to the good state, per datagram.
    pub p_bad_to_good: f64,
    /// Loss probability while in the good state (often 0).
    pub loss_in_good: f64,
    /// Loss probability while in the bad state (often 1).
    pub loss_in_bad: f64,
}

impl GilbertElliott {
    /// The classic "Gilbert" model: no loss in the good state, total loss in the bad one.
    pub fn gilbert(p_good_to_bad: f64, p_bad_to_good: f64) -> Self {
        Self {
            p_good_to_bad,
            p_bad_to_good,
            loss_in_good: 0.0,
            loss_in_bad: 1.0,
        }
    }

    /// Long-run fraction of datagrams lost by this model.
    pub fn stationary_loss(&self) -> f64 {
        let total = self.p_good_to_bad + self.p_bad_to_good;
        if total <= 0.0 {
            return self.loss_in_good;
        }
        let bad = self.p_good_to_bad / total;
        bad * self.loss_in_bad + (1.0 - bad) * self.loss_in_good
    }
}

/// Random variation added to the fixed delay of every datagram copy. Jitter reorders datagrams
/// whenever it exceeds their spacing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Jitter {
    /// No jitter.
    #[default]
    None,
    /// Adds a delay drawn uniformly from `[0, max]`.
    Uniform {
        /// Largest extra delay.
        max: Duration,
    },
    /// Adds a delay drawn from a normal distribution with mean 0 and this standard deviation;
    /// the total delay is clamped at 0 (a datagram never leaves before it arrived).
    Normal {
        /// Standard deviation of the extra delay.
        std_dev: Duration,
    },
}

/// A bottleneck link: datagrams are serialised at `bytes_per_sec` behind a FIFO queue holding at
/// most `queue_limit_bytes`; a datagram that does not fit is dropped (tail drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Link rate in bytes per second (must be > 0).
    pub bytes_per_sec: u64,
    /// Most bytes waiting or in transmission; a datagram that would exceed it is dropped.
    pub queue_limit_bytes: u64,
}

/// A time window, relative to the relay's start, during which every datagram is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blackout {
    /// First instant of the blackout (inclusive).
    pub from: Duration,
    /// End of the blackout (exclusive).
    pub until: Duration,
}

impl Blackout {
    /// Whether `now` falls inside this window.
    pub fn contains(&self, now: Duration) -> bool {
        self.from <= now && now < self.until
    }
}

/// Everything that can be done to the datagrams of one direction. `Default` forwards everything
/// at once, untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpairmentConfig {
    /// Independent loss probability per datagram, in `[0, 1]`.
    pub loss: f64,
    /// Optional burst loss, applied before `loss`.
    pub burst_loss: Option<GilbertElliott>,
    /// Fixed one-way delay added to every copy.
    pub delay: Duration,
    /// Random extra delay per copy.
    pub jitter: Jitter,
    /// Probability that a datagram is held back by `reorder_delay`, so later ones overtake it.
    pub reorder_probability: f64,
    /// Extra hold for datagrams picked by `reorder_probability`.
    pub reorder_delay: Duration,
    /// Probability that a datagram is delivered twice (the copy gets its own jitter).
    pub duplicate_probability: f64,
    /// Optional bottleneck with tail drop.
    pub rate_limit: Option<RateLimit>,
    /// Scheduled blackouts, relative to the relay's start.
    pub blackouts: Vec<Blackout>,
}

impl Default for ImpairmentConfig {
    fn default() -> Self {
        Self {
            loss: 0.0,
            burst_loss: None,
            delay: Duration::ZERO,
            jitter: Jitter::None,
            reorder_probability: 0.0,
            reorder_delay: Duration::from_millis(10),
            duplicate_probability: 0.0,
            rate_limit: None,
            blackouts: Vec::new(),
        }
    }
}

fn check_probability(name: &'static str, value: f64) -> Result<(), Error> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::InvalidProbability { name, value })
    }
}

impl ImpairmentConfig {
    /// Checks that probabilities are in `[0, 1]`, rates are positive and blackouts are ordered.
    pub fn validate(&self) -> Result<(), Error> {
        check_probability("loss", self.loss)?;
        check_probability("reorder_probability", self.reorder_probability)?;
        check_probability("duplicate_probability", self.duplicate_probability)?;
        if let Some(ge) = &self.burst_loss {
            check_probability("p_good_to_bad", ge.p_good_to_bad)?;
            check_probability("p_bad_to_good", ge.p_bad_to_good)?;
            check_probability("loss_in_good", ge.loss_in_good)?;
            check_probability("loss_in_bad", ge.loss_in_bad)?;
        }
        if let Some(rate) = &self.rate_limit {
            if rate.bytes_per_sec == 0 {
                return Err(Error::InvalidRate(rate.bytes_per_sec));
            }
        }
        for blackout in &self.blackouts {
            if blackout.until < blackout.from {
                return Err(Error::InvalidBlackout {
                    from: blackout.from,
                    until: blackout.until,
                });
            }
        }
        Ok(())
    }
}

/// Counters for one direction. `dropped()` sums the drop reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectionStats {
    /// Datagrams offered to the impairment.
    pub received_packets: u64,
    /// Bytes offered to the impairment.
    pub received_bytes: u64,
    /// Dropped by the independent `loss` probability.
    pub dropped_random: u64,
    /// Dropped by the Gilbert-Elliott burst model.
    pub dropped_burst: u64,
    /// Dropped during a scheduled or runtime blackout.
    pub dropped_blackout: u64,
    /// Dropped by the rate limiter's full queue (tail drop).
    pub dropped_queue: u64,
    /// Dropped by the relay because too many copies were waiting for delivery.
    pub dropped_overflow: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
    /// Copies scheduled to arrive before a copy that was scheduled earlier (overtakers).
    pub reordered: u64,
    /// Copies scheduled for delivery (originals plus duplicates).
    pub scheduled_packets: u64,
    /// Copies actually sent by the relay.
    pub forwarded_packets: u64,
    /// Bytes actually sent by the relay.
    pub forwarded_bytes: u64,
    /// Copies the relay failed to send (socket errors).
    pub send_errors: u64,
}

impl DirectionStats {
    /// All datagrams dropped, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_random
            + self.dropped_burst
            + self.dropped_blackout
            + self.dropped_queue
            + self.dropped_overflow
    }
}

/// The seeded decision maker for one direction.
#[derive(Debug, Clone)]
pub struct Impairment {
    config: ImpairmentConfig,
    rng: ChaCha8Rng,
    burst_bad: bool,
    link_free_at: Duration,
    latest_delivery: Duration,
    runtime_blackouts: Vec<Blackout>,
    stats: DirectionStats,
}

impl Impairment {
    /// A decision maker seeded with `seed` on ChaCha stream `stream` (use a different stream per
    /// direction so both directions stay independent under one seed).
    pub fn new(config: ImpairmentConfig, seed: u64, stream: u64) -> Result<Self, Error> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Ok(Self {
            config,
            rng,
            burst_bad: false,
            link_free_at: Duration::ZERO,
            latest_delivery: Duration::ZERO,
            runtime_blackouts: Vec::new(),
            stats: DirectionStats::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ImpairmentConfig {
        &self.config
    }

    /// Replaces the configuration; the random generator, burst state, queue and counters carry on.
    pub fn set_config(&mut self, config: ImpairmentConfig) -> Result<(), Error> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Drops everything from `now` for `duration`.
    pub fn blackout_now(&mut self, now: Duration, duration: Duration) {
        self.runtime_blackouts.push(Blackout {
            from: now,
            until: now.saturating_add(duration),
        });
    }

    /// Counters so far.
    pub fn stats(&self) -> DirectionStats {
        self.stats
    }

    /// Mutable counters, for the IO layer that sends the copies.
    pub fn stats_mut(&mut self) -> &mut DirectionStats {
        &mut self.stats
    }

    fn chance(&mut self, probability: f64) -> bool {
        probability > 0.0 && self.rng.gen::<f64>() < probability
    }

    fn in_blackout(&mut self, now: Duration) -> bool {
        self.runtime_blackouts.retain(|b| b.until > now);
        self.runtime_blackouts.iter().any(|b| b.contains(now))
            || self.config.blackouts.iter().any(|b| b.contains(now))
    }

    fn jitter_sample(&mut self) -> f64 {
        match self.config.jitter {
            Jitter::None => 0.0,
            Jitter::Uniform { max } => self.rng.gen::<f64>() * max.as_secs_f64(),
            Jitter::Normal { std_dev } => match Normal::new(0.0, std_dev.as_secs_f64()) {
                Ok(normal) => normal.sample(&mut self.rng),
                Err(_) => 0.0,
            },
        }
    }

    /// Decides the fate of one datagram of `len` bytes arriving at `now` (time since the relay
    /// started). Returns the delivery times of its copies, in the order they were decided:
    /// empty when it is dropped, two entries when it is duplicated.
    pub fn decide(&mut self, now: Duration, len: usize) -> Vec<Duration> {
        self.stats.received_packets += 1;
        self.stats.received_bytes += len as u64;

        if self.in_blackout(now) {
            self.stats.dropped_blackout += 1;
            return Vec::new();
        }
        if let Some(ge) = self.config.burst_loss {
            let flip = if self.burst_bad {
                ge.p_bad_to_good
            } else {
                ge.p_good_to_bad
            };
            if self.chance(flip) {
                self.burst_bad = !self.burst_bad;
            }
            let loss = if self.burst_bad {
                ge.loss_in_bad
            } else {
                ge.loss_in_good
            };
            if self.chance(loss) {
                self.stats.dropped_burst += 1;
                return Vec::new();
            }
        }
        if self.chance(self.config.loss) {
            self.stats.dropped_random += 1;
            return Vec::new();
        }

        let departure = match self.config.rate_limit {
            None => now,
            Some(rate) => {
                let start = self.link_free_at.max(now);
                let per_byte = 1.0 / rate.bytes_per_sec as f64;
                let backlog_bytes = (start - now).as_secs_f64() / per_byte;
                if backlog_bytes + len as f64 > rate.queue_limit_bytes as f64 {
                    self.stats.dropped_queue += 1;
                    return Vec::new();
                }
                let transmit =
                    Duration::try_from_secs_f64(len as f64 * per_byte).unwrap_or(Duration::MAX);
                self.link_free_at = start.saturating_add(transmit);
                self.link_free_at
            }
        };

        let held = if self.chance(self.config.reorder_probability) {
            self.config.reorder_delay
        } else {
            Duration::ZERO
        };
        let copies = if self.chance(self.config.duplicate_probability) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let mut deliveries = Vec::with_capacity(copies);
        for copy in 0..copies {
            let base = self.config.delay.as_secs_f64() + self.jitter_sample();
            let delay = Duration::try_from_secs_f64(base.max(0.0)).unwrap_or(Duration::MAX);
            let mut at = departure.saturating_add(delay);
            if copy == 0 {
                at = at.saturating_add(held);
            }
            if at < self.latest_delivery {
                self.stats.reordered += 1;
            } else {
                self.latest_delivery = at;
            }
            deliveries.push(at);
        }
        self.stats.scheduled_packets += deliveries.len() as u64;
        deliveries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn run(config: &ImpairmentConfig, seed: u64, packets: u64) -> (DirectionStats, Vec<Duration>) {
        let mut imp = Impairment::new(config.clone(), seed, 0).unwrap();
        let mut all = Vec::new();
        for i in 0..packets {
            all.extend(imp.decide(MS * i as u32, 1000));
        }
        (imp.stats(), all)
    }

    #[test]
    fn default_config_forwards_everything_immediately() {
        let (stats, deliveries) = run(&ImpairmentConfig::default(), 1, 100);
        assert_eq!(stats.scheduled_packets, 100);
        assert_eq!(stats.dropped(), 0);
        let expected: Vec<Duration> = (0..100).map(|i| MS * i).collect();
        assert_eq!(deliveries, expected);
    }

    #[test]
    fn same_seed_same_decisions_other_seed_differs() {
        let config = ImpairmentConfig {
            loss: 0.1,
            duplicate_probability: 0.05,
            jitter: Jitter::Uniform { max: 5 * MS },
            ..Default::default()
        };
        let a = run(&config, 7, 10_000);
        let b = run(&config, 7, 10_000);
        let c = run(&config, 8, 10_000);
        assert_eq!(a, b);
        assert_ne!(a.1, c.1);
    }

    #[test]
    fn streams_of_one_seed_are_independent() {
        let config = ImpairmentConfig {
            loss: 0.5,
            ..Default::default()
        };
        let mut up = Impairment::new(config.clone(), 3, 0).unwrap();
        let mut down = Impairment::new(config, 3, 1).unwrap();
        let up_fates: Vec<bool> = (0..64).map(|_| up.decide(MS, 1).is_empty()).collect();
        let down_fates: Vec<bool> = (0..64).map(|_| down.decide(MS, 1).is_empty()).collect();
        assert_ne!(up_fates, down_fates);
    }

    #[test]
    fn random_loss_rate_is_close_to_configured() {
        let config = ImpairmentConfig {
            loss: 0.2,
            ..Default::default()
        };
        let (stats, _) = run(&config, 11, 100_000);
        let rate = stats.dropped_random as f64 / 100_000.0;
        assert!((rate - 0.2).abs() < 0.01, "loss rate {rate}");
        assert_eq!(stats.dropped_random + stats.scheduled_packets, 100_000);
    }

    #[test]
    fn gilbert_elliott_loses_in_bursts_at_the_stationary_rate() {
        let ge = GilbertElliott::gilbert(0.01, 0.2);
        let config = ImpairmentConfig {
            burst_loss: Some(ge),
            ..Default::default()
        };
        let mut imp = Impairment::new(config, 5, 0).unwrap();
        let lost: Vec<bool> = (0..200_000).map(|_| imp.decide(MS, 1).is_empty()).collect();
        let losses = lost.iter().filter(|l| **l).count();
        let rate = losses as f64 / lost.len() as f64;
        assert!((rate - ge.stationary_loss()).abs() < 0.01, "rate {rate}");
        // Mean burst length is 1 / p_bad_to_good = 5 datagrams, far above independent loss's ~1.05.
        let bursts = lost.windows(2).filter(|w| w[1] && !w[0]).count();
        let mean_burst = losses as f64 / bursts as f64;
        assert!((4.0..6.0).contains(&mean_burst), "mean burst {mean_burst}");
        assert_eq!(imp.stats().dropped_burst, losses as u64);
    }

    #[test]
    fn fixed_delay_shifts_every_delivery() {
        let config = ImpairmentConfig {
            delay: 20 * MS,
            ..Default::default()
        };
        let (_, deliveries) = run(&config, 1, 10);
        for (i, at) in deliveries.iter().enumerate() {
            assert_eq!(*at, MS * i as u32 + 20 * MS);
        }
    }

    #[test]
    fn uniform_jitter_stays_in_bounds_and_reorders() {
        let config = ImpairmentConfig {
            delay: 10 * MS,
            jitter: Jitter::Uniform { max: 5 * MS },
            ..Default::default()
        };
        let (stats, deliveries) = run(&config, 9, 1000);
        for (i, at) in deliveries.iter().enumerate() {
            let sent = MS * i as u32;
            assert!(*at >= sent + 10 * MS && *at <= sent + 15 * MS);
        }
        assert!(stats.reordered > 100, "reordered {}", stats.reordered);
    }

    #[test]
    fn normal_jitter_never_delivers_before_arrival() {
        let config = ImpairmentConfig {
            delay: MS,
            jitter: Jitter::Normal { std_dev: 10 * MS },
            ..Default::default()
        };
        let (_, deliveries) = run(&config, 2, 1000);
        let mut below_mean = 0;
        for (i, at) in deliveries.iter().enumerate() {
            let sent = MS * i as u32;
            assert!(*at >= sent);
            if *at < sent + MS {
                below_mean += 1;
            }
        }
        // Half the samples fall below the mean, so the clamp is exercised.
        assert!(below_mean > 300, "{below_mean}");
    }

    #[test]
    fn explicit_reorder_holds_packets_back() {
        let config = ImpairmentConfig {
            reorder_probability: 0.1,
            reorder_delay: 5 * MS,
            ..Default::default()
        };
        let (stats, deliveries) = run(&config, 4, 10_000);
        let held = deliveries
            .iter()
            .enumerate()
            .filter(|(i, at)| **at == MS * *i as u32 + 5 * MS)
            .count();
        assert!((800..1200).contains(&held), "held {held}");
        assert!(stats.reordered >= held as u64);
    }

    #[test]
    fn duplication_adds_copies() {
        let config = ImpairmentConfig {
            duplicate_probability: 0.25,
            ..Default::default()
        };
        let (stats, deliveries) = run(&config, 6, 10_000);
        assert_eq!(deliveries.len() as u64, 10_000 + stats.duplicated);
        assert!(
            (2300..2700).contains(&stats.duplicated),
            "{}",
            stats.duplicated
        );
    }

    #[test]
    fn rate_limit_serialises_and_tail_drops() {
        // 1 000 bytes/s, queue of 3 000 bytes: 1 000-byte datagrams all at t=0.
        let config = ImpairmentConfig {
            rate_limit: Some(RateLimit {
                bytes_per_sec: 1000,
                queue_limit_bytes: 3000,
            }),
            ..Default::default()
        };
        let mut imp = Impairment::new(config, 1, 0).unwrap();
        let fates: Vec<Vec<Duration>> = (0..5).map(|_| imp.decide(Duration::ZERO, 1000)).collect();
        assert_eq!(fates[0], vec![Duration::from_secs(1)]);
        assert_eq!(fates[1], vec![Duration::from_secs(2)]);
        assert_eq!(fates[2], vec![Duration::from_secs(3)]);
        assert!(fates[3].is_empty() && fates[4].is_empty());
        assert_eq!(imp.stats().dropped_queue, 2);
        // After the queue drained, a datagram goes straight through the link.
        assert_eq!(
            imp.decide(Duration::from_secs(10), 500),
            vec![Duration::from_millis(10_500)]
        );
    }

    #[test]
    fn scheduled_and_runtime_blackouts_drop_everything_inside() {
        let config = ImpairmentConfig {
            blackouts: vec![Blackout {
                from: 10 * MS,
                until: 20 * MS,
            }],
            ..Default::default()
        };
        let mut imp = Impairment::new(config, 1, 0).unwrap();
        imp.blackout_now(50 * MS, 5 * MS);
        let passed: Vec<u32> = (0..100)
            .filter(|i| !imp.decide(MS * *i, 10).is_empty())
            .collect();
        let expected: Vec<u32> = (0..100)
            .filter(|i| !(10..20).contains(i) && !(50..55).contains(i))
            .collect();
        assert_eq!(passed, expected);
        assert_eq!(imp.stats().dropped_blackout, 15);
    }

    #[test]
    fn invalid_configs_are_rejected_with_the_value() {
        let bad = ImpairmentConfig {
            loss: 1.5,
            ..Default::default()
        };
        match Impairment::new(bad, 0, 0) {
            Err(Error::InvalidProbability { name, value }) => {
                assert_eq!(name, "loss");
                assert_eq!(value, 1.5);
            }
            other => panic!("unexpected {other:?}"),
        }
        let zero_rate = ImpairmentConfig {
            rate_limit: Some(RateLimit {
                bytes_per_sec: 0,
                queue_limit_bytes: 1,
            }),
            ..Default::default()
        };
        assert!(matches!(zero_rate.validate(), Err(Error::InvalidRate(0))));
        let mut imp = Impairment::new(ImpairmentConfig::default(), 0, 0).unwrap();
        let nan = ImpairmentConfig {
            duplicate_probability: f64::NAN,
            ..Default::default()
        };
        assert!(imp.set_config(nan).is_err());
    }

    #[test]
    fn set_config_keeps_counters_and_changes_behaviour() {
        let mut imp = Impairment::new(ImpairmentConfig::default(), 1, 0).unwrap();
        assert_eq!(imp.decide(Duration::ZERO, 1).len(), 1);
        imp.set_config(ImpairmentConfig {
            loss: 1.0,
            ..Default::default()
        })
        .unwrap();
        assert!(imp.decide(MS, 1).is_empty());
        assert_eq!(imp.stats().received_packets, 2);
        assert_eq!(imp.stats().dropped_random, 1);
    }
}
