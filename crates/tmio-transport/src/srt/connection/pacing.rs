//! Pacing: a token bucket that spaces packets out, and the controller that picks its rate.
//!
//! With [`RateControl::Fixed`] the rate is fixed. With [`RateControl::Adaptive`], [`RateController`]
//! adapts it from the receiver's reports (see `docs/datapath.md`, "Pacing"), never above the cap: it
//! grows while the path shows no congestion, and backs off only on *congestion* signals — queueing
//! delay (the peer's smoothed RTT well above the minimum seen) or a loss rate clearly above the path's
//! long-run random loss — so that steady random loss does not collapse throughput the way libsrt's
//! FileCC does.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::RateControl;

/// How much sending may burst after an idle period: this much time's worth of the rate (and at least
/// a few packets). Enough for drivers woken by 1 ms timers, and for a live pusher's scheduling
/// jitter (records held back a few ms, then written at once) to leave at once: with 2 ms, a
/// 20 Mbit/s stream under the presets' cap waited up to 3 ms for its pacer at p99 (see
/// `docs/datapath.md`, "Pacing").
const BURST_TIME: Duration = Duration::from_millis(5);
/// Minimum burst in packets of the maximum size.
const MIN_BURST_PACKETS: f64 = 4.0;

/// Floating-point slack when comparing tokens with zero, bytes.
const TOKEN_ROUNDING: f64 = 0.5;

/// A token bucket in bytes. A packet may go when the bucket is not in debt; it then takes its size.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    tokens: f64,
    burst: f64,
    last_refill: Instant,
    packet_size: f64,
}

impl TokenBucket {
    /// A full bucket for `rate` bytes/s; `packet_size` is the largest packet sent, in bytes.
    pub(crate) fn new(now: Instant, rate: f64, packet_size: usize) -> Self {
        Self::with_burst(now, rate, packet_size, BURST_TIME)
    }

    fn burst_for(rate: f64, packet_size: f64) -> f64 {
        (rate * BURST_TIME.as_secs_f64()).max(packet_size * MIN_BURST_PACKETS)
    }

    /// A full bucket for `rate` bytes/s that holds up to `burst` seconds of the rate (at least
    /// a few packets of `packet_size` bytes): the rate is kept on average over any longer
    /// period, not packet by packet.
    pub(crate) fn with_burst(now: Instant, rate: f64, packet_size: usize, burst: Duration) -> Self {
        let rate = rate.max(1.0);
        let packet_size = packet_size as f64;
        let burst = (rate * burst.as_secs_f64()).max(packet_size * MIN_BURST_PACKETS);
        Self {
            rate,
            tokens: burst,
            burst,
            last_refill: now,
            packet_size,
        }
    }

    /// Changes the rate from now on.
    pub(crate) fn set_rate(&mut self, now: Instant, rate: f64) {
        self.refill(now);
        self.rate = rate.max(1.0);
        self.burst = Self::burst_for(self.rate, self.packet_size);
        self.tokens = self.tokens.min(self.burst);
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.last_refill)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last_refill = self.last_refill.max(now);
    }

    /// Whether a packet may be sent at `now`.
    pub(crate) fn ready(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= -TOKEN_ROUNDING
    }

    /// Takes `bytes` tokens (may leave the bucket in debt).
    pub(crate) fn consume(&mut self, bytes: usize) {
        self.tokens -= bytes as f64;
    }

    /// When the bucket is out of debt (now if it is already).
    pub(crate) fn ready_at(&self) -> Instant {
        if self.tokens >= -TOKEN_ROUNDING {
            self.last_refill
        } else {
            let wait_ns = (-self.tokens / self.rate * 1e9).min(10e9).ceil();
            self.last_refill + Duration::from_nanos(wait_ns as u64)
        }
    }
}

/// With a cap, the adaptive pacing rate may reach this many times the cap while the path's cap
/// bucket has tokens (see [`cap_bucket`]): a stream just below the cap catches up after a stall
/// instead of queueing behind its own pacer.
pub(crate) const CAP_CATCH_UP: f64 = 1.25;
/// How much of the cap the cap bucket holds: the cap is kept over any period, plus this. Two
/// seconds let a stream at the cap catch up, at [`CAP_CATCH_UP`], on about two seconds of
/// backlog (a stalled pusher writing what came due at once) within eight.
pub(crate) const CAP_BURST: Duration = Duration::from_secs(2);

/// The bucket that keeps an adaptive rate's cap on average (`None` without a cap, and for a
/// fixed rate, which the pacing bucket itself keeps packet by packet, as libsrt does): at the
/// cap, holding [`CAP_BURST`] of it. Over any period T, a path sends at most cap × (T + 2 s).
pub(crate) fn cap_bucket(
    control: RateControl,
    now: Instant,
    packet_size: usize,
) -> Option<TokenBucket> {
    match control {
        RateControl::Adaptive { cap: Some(cap) } => Some(TokenBucket::with_burst(
            now,
            cap.max(1) as f64,
            packet_size,
            CAP_BURST,
        )),
        RateControl::Adaptive { cap: None } | RateControl::Fixed { .. } => None,
    }
}

/// Lowest adaptive rate, bytes/s (1 Mbit/s).
pub(crate) const MIN_RATE: f64 = 125_000.0;
/// Adaptive starting rate, bytes/s (16 Mbit/s).
pub(crate) const INITIAL_RATE: f64 = 2_000_000.0;
/// Growth per report while no congestion has ever been seen (startup).
const STARTUP_GROWTH: f64 = 1.25;
/// Growth per report in a fast start (see [`FAST_START_MAX_RTT_US`]): the ceiling, twice what was
/// delivered a round trip ago, then bounds the growth to about ×2 per round trip, as BBR's
/// startup.
const FAST_START_GROWTH: f64 = 2.0;
/// A fast start: the first start (startup before any retransmission timeout) on a path whose
/// round trip is at most this. There the sender's own delivery samples are fresher than the
/// receiver's reports (a 20 ms window, up to 40 ms old at the ACK), so they raise the startup
/// ceiling and judge short deliveries, and the rate doubles per report. On longer round trips
/// the ACKs that make a sample are themselves a round trip old: startup stays as it was.
const FAST_START_MAX_RTT_US: u64 = 5_000;
/// A delivery sample spans at least this long (window updates bring reports a millisecond apart
/// on fast paths; an ACK that jumps over a stall would read as a burst of deliveries).
const DELIVERY_SAMPLE_SPAN: Duration = Duration::from_millis(10);
/// Growth per report afterwards: a fraction of the rate ...
const STEADY_GROWTH_FRACTION: f64 = 0.02;
/// ... but at least this many bytes/s (so slow paths are not probed by 10 % a report).
const STEADY_GROWTH_MIN: f64 = 16_000.0;
/// Multiplicative decrease on a congestion signal.
const BACKOFF_FACTOR: f64 = 0.85;
/// During startup the rate is never more than this many times the best receive rate the peer
/// reported recently (the reports lag, so startup may not run far ahead of them).
const STARTUP_RATE_OVER_RECEIVED: f64 = 2.0;
/// Afterwards the rate stays within this factor of the estimated bottleneck bandwidth (the best
/// receive rate corrected for the path's long-run random loss): enough to probe for more, and it
/// keeps an application-limited sender from drifting to absurd rates.
const STEADY_RATE_OVER_BANDWIDTH: f64 = 1.25;
/// Loss above this is not taken as random loss when estimating the bandwidth.
const MAX_RANDOM_LOSS: f64 = 0.5;
/// Window of the "best receive rate" and of the smoothed-loss baseline.
const BANDWIDTH_WINDOW: Duration = Duration::from_secs(1);
/// Startup ends once more than this share of what it sent was lost (and at least
/// [`STARTUP_MIN_LOSSES`] packets, so that a few random losses in a small sample do not count):
/// the rate is then far above the bottleneck, and random loss on real paths stays well below.
const STARTUP_LOSS_EXIT: f64 = 0.3;
/// See [`STARTUP_LOSS_EXIT`].
const STARTUP_MIN_LOSSES: u64 = 32;
/// Startup also ends after this many reports in a row in which the receiver got less than
/// [`STARTUP_DELIVERY_EXIT`] of what was sent at the pacing rate, spanning at least
/// [`STARTUP_SHORT_DELIVERY_SPAN`].
const STARTUP_SHORT_DELIVERY_REPORTS: u32 = 3;
/// See [`STARTUP_SHORT_DELIVERY_REPORTS`]: about two ACK periods. On a fast path window updates
/// bring reports a millisecond apart; right after a stall of the receiving application (the
/// window closed, the sender sent nothing) the receive rate still covers the stall, and three
/// such reports in 3 ms ended startup at a quarter of a loopback path's rate (seen: a 60 ms
/// stall at 245 MB/s, startup left at 92 MB/s, then 1.5 s of +2 % steps to get back).
const STARTUP_SHORT_DELIVERY_SPAN: Duration = Duration::from_millis(20);
/// See [`STARTUP_SHORT_DELIVERY_REPORTS`]: half (random loss of 20 or 30 % stays above it).
const STARTUP_DELIVERY_EXIT: f64 = 0.5;
/// A sender that sent at least this share of its pacing rate was limited by the rate, not by the
/// application.
const RATE_LIMITED_SHARE: f64 = 0.8;
/// Leaving startup on loss, the rate drops to this share of the delivered rate, so that the queue
/// startup filled drains.
const STARTUP_DRAIN: f64 = 0.75;
/// Added to the settle time after a back-off: the peer's RTT is a moving average (7/8 per
/// sample, one sample per 10 ms ACK), so it lags the queue by about this much.
const RTT_SMOOTHING_LAG: Duration = Duration::from_millis(50);
/// How long a congestion back-off keeps the rate within [`STEADY_RATE_OVER_BANDWIDTH`] of the
/// bandwidth estimate even below [`INITIAL_RATE`].
const CONGESTION_MEMORY: Duration = Duration::from_secs(10);
/// The RTT assumed until the peer has measured one, µs (libsrt's initial guess).
const ASSUMED_RTT_US: u64 = 100_000;
/// Window of the minimum RTT.
const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);
/// Reports averaged by the short-term loss rate.
const LOSS_SHORT_SAMPLES: f64 = 4.0;
/// Reports averaged by the long-run loss rate (the path's random loss).
const LOSS_LONG_SAMPLES: u32 = 128;
/// Short-term loss above `long × FACTOR + MARGIN` is a congestion signal.
const LOSS_SPIKE_FACTOR: f64 = 2.0;
/// See [`LOSS_SPIKE_FACTOR`].
const LOSS_SPIKE_MARGIN: f64 = 0.05;
/// Delay added to the minimum RTT for the congestion window: the full-ACK period and slack.
const CWND_DELAY_SLACK_US: u64 = 20_000;
/// A sender with less than this much of its rate written and not yet sent is application-limited.
const BACKLOG_TIME: Duration = Duration::from_millis(20);
/// Queueing delay counts as congestion only while the receiver gets less than this share of the
/// packets we send that random loss lets through (1 − the long-run loss rate): with 17 % random
/// loss the receiver always gets 83 %, which is no queue.
const DELIVERY_SHORTFALL: f64 = 0.9;
/// Queueing delay below this many times the RTT variation never counts as congestion.
const JITTER_FACTOR: u64 = 1;
/// Queueing delay below this never counts as congestion.
const MIN_QUEUE_DELAY_US: u64 = 5_000;

/// A delivery sample of the sender's own: what this path's ACKs covered per second.
#[derive(Debug, Clone, Copy)]
struct DeliverySample {
    bytes_per_s: f64,
    packets_per_s: f64,
}

/// The larger of two rates where both are known, else the known one.
fn larger_known(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    a.into_iter().chain(b).reduce(f64::max)
}

/// What the sender learned from one full ACK.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AckReport {
    /// The peer's smoothed RTT, µs; 0 until the peer has measured it.
    pub(crate) peer_rtt_us: u64,
    /// The peer's RTT variation, µs.
    pub(crate) peer_rtt_var_us: u64,
    /// The peer's receive rate, bytes/s, if reported.
    pub(crate) receive_rate: Option<f64>,
    /// The peer's receive rate, packets/s, if reported.
    pub(crate) receive_packet_rate: Option<f64>,
    /// Packets written and not yet sent on this path when the report came (the sender's own
    /// backlog).
    pub(crate) unsent_packets: u64,
    /// Packets we sent (incl. retransmissions) since the previous report.
    pub(crate) sent_packets: u64,
    /// Packets newly reported lost since the previous report.
    pub(crate) lost_packets: u64,
    /// Packets this path's ACKs newly covered since the previous report.
    pub(crate) acked_packets: u64,
}

/// Picks the pacing rate (bytes/s).
#[derive(Debug, Clone)]
pub(crate) struct RateController {
    fixed: bool,
    /// The adaptive rate's ceiling, bytes/s: [`CAP_CATCH_UP`] × the cap (the cap itself is kept
    /// on average by the path's cap bucket, see [`cap_bucket`]); `f64::INFINITY` without a cap.
    cap: f64,
    /// The adaptive rate's floor: [`MIN_RATE`], or the cap if that is lower.
    floor: f64,
    rate: f64,
    in_startup: bool,
    received_rates: VecDeque<(Instant, f64)>,
    min_rtt: Option<(Instant, u64)>,
    /// The peer's newest RTT report, µs ([`ASSUMED_RTT_US`] until it has measured).
    latest_rtt_us: u64,
    loss_short: f64,
    loss_long: f64,
    loss_samples: u32,
    hold_until: Option<Instant>,
    congestion_events: u64,
    /// When the rate last backed off on a congestion signal.
    last_congestion: Option<Instant>,
    /// Packets sent and lost during startup.
    startup_sent: u64,
    startup_lost: u64,
    /// Startup reports in a row in which the receiver got far less than was sent.
    startup_short_deliveries: u32,
    /// When the current run of short deliveries began.
    startup_short_since: Option<Instant>,
    /// When the previous report came.
    last_report: Option<Instant>,
    /// Whether the first start is still on: startup, and no retransmission timeout yet. Only
    /// then do the sender's own delivery samples raise the ceiling and the rate double per
    /// report (after an outage the receive reports alone steer a restart, as before).
    first_start: bool,
    /// The newest delivery sample, bytes/s and packets/s (first start only).
    delivered: Option<DeliverySample>,
    /// Packets acknowledged and sent since the current delivery sample began, and when it began.
    sample_acked: u64,
    sample_sent: u64,
    sample_since: Option<Instant>,
    payload_size: usize,
    /// Cached congestion window (packets), recomputed on every report and timeout.
    window: u64,
}

impl RateController {
    /// A controller for `control`, for packets of up to `payload_size` bytes. An adaptive one
    /// starts at [`INITIAL_RATE`] or the cap, whichever is lower.
    pub(crate) fn new(control: RateControl, payload_size: usize) -> Self {
        let (fixed, cap) = match control {
            RateControl::Fixed { bytes_per_second } => (true, bytes_per_second.max(1) as f64),
            RateControl::Adaptive { cap: Some(cap) } => (false, cap.max(1) as f64),
            RateControl::Adaptive { cap: None } => (false, f64::INFINITY),
        };
        let ceiling = if fixed { cap } else { cap * CAP_CATCH_UP };
        let mut controller = Self {
            fixed,
            cap: ceiling,
            floor: MIN_RATE.min(cap),
            rate: if fixed { cap } else { INITIAL_RATE.min(cap) },
            in_startup: true,
            received_rates: VecDeque::new(),
            min_rtt: None,
            latest_rtt_us: ASSUMED_RTT_US,
            loss_short: 0.0,
            loss_long: 0.0,
            loss_samples: 0,
            hold_until: None,
            congestion_events: 0,
            last_congestion: None,
            startup_sent: 0,
            startup_lost: 0,
            startup_short_deliveries: 0,
            startup_short_since: None,
            last_report: None,
            first_start: true,
            delivered: None,
            sample_acked: 0,
            sample_sent: 0,
            sample_since: None,
            payload_size: payload_size.max(1),
            window: 0,
        };
        controller.window = controller.compute_window();
        controller
    }

    /// The pacing rate, bytes/s.
    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// Whether the controller is still in startup (no congestion seen yet).
    pub(crate) fn in_startup(&self) -> bool {
        self.in_startup
    }

    /// How many congestion back-offs happened.
    pub(crate) fn congestion_events(&self) -> u64 {
        self.congestion_events
    }

    /// The best receive rate the peer reported within the window, bytes/s.
    pub(crate) fn best_received_rate(&self) -> Option<f64> {
        self.received_rates
            .iter()
            .map(|&(_, rate)| rate)
            .reduce(f64::max)
    }

    /// The newest delivery sample of the first start, bytes/s: what this path's ACKs covered over
    /// at least [`DELIVERY_SAMPLE_SPAN`], at most what was sent meanwhile (an ACK jumping over a
    /// stall is not a burst of deliveries).
    pub(crate) fn delivered_rate(&self) -> Option<f64> {
        self.delivered.map(|sample| sample.bytes_per_s)
    }

    /// The delivery sample when the path is in a fast start ([`FAST_START_MAX_RTT_US`]), bytes/s
    /// and packets/s.
    fn fast_start_sample(&self) -> Option<DeliverySample> {
        let short_rtt = self
            .min_rtt
            .is_some_and(|(_, rtt)| rtt <= FAST_START_MAX_RTT_US);
        self.delivered.filter(|_| self.first_start && short_rtt)
    }

    /// A retransmission timeout on this path: the first start's fast probing ends (an outage or
    /// a lost tail; after one the receive reports alone steer the rate, as they do after a
    /// congestion signal). The rate itself stays.
    pub(crate) fn on_timeout(&mut self) {
        self.first_start = false;
        self.delivered = None;
    }

    /// Takes a report's counts into the current delivery sample; closes the sample when it
    /// spans [`DELIVERY_SAMPLE_SPAN`].
    fn sample_delivery(&mut self, now: Instant, report: &AckReport) {
        let Some(since) = self.sample_since else {
            self.sample_since = Some(now);
            return;
        };
        self.sample_acked = self.sample_acked.saturating_add(report.acked_packets);
        self.sample_sent = self.sample_sent.saturating_add(report.sent_packets);
        let span = now.saturating_duration_since(since);
        if span < DELIVERY_SAMPLE_SPAN {
            return;
        }
        // Bytes per packet as the receiver counts them, else full packets.
        let packet_bytes = match (report.receive_rate, report.receive_packet_rate) {
            (Some(bytes), Some(packets)) if bytes > 0.0 && packets > 0.0 => bytes / packets,
            _ => (self.payload_size + super::PACKET_OVERHEAD) as f64,
        };
        let packets_per_s = self.sample_acked.min(self.sample_sent) as f64 / span.as_secs_f64();
        self.delivered = Some(DeliverySample {
            bytes_per_s: packets_per_s * packet_bytes,
            packets_per_s,
        });
        self.sample_acked = 0;
        self.sample_sent = 0;
        self.sample_since = Some(now);
    }

    /// Adapts to one full-ACK report.
    pub(crate) fn on_report(&mut self, now: Instant, report: AckReport) {
        if self.fixed {
            return;
        }
        self.adapt(now, report);
        self.window = self.compute_window();
    }

    fn adapt(&mut self, now: Instant, report: AckReport) {
        if let Some(rate) = report.receive_rate.filter(|rate| *rate > 0.0) {
            while self.received_rates.len() >= 256 {
                self.received_rates.pop_front();
            }
            self.received_rates.push_back((now, rate));
        }
        while let Some(&(at, _)) = self.received_rates.front() {
            if now.saturating_duration_since(at) > BANDWIDTH_WINDOW && self.received_rates.len() > 1
            {
                self.received_rates.pop_front();
            } else {
                break;
            }
        }
        if report.peer_rtt_us > 0 {
            self.latest_rtt_us = report.peer_rtt_us;
            match self.min_rtt {
                Some((at, rtt))
                    if rtt <= report.peer_rtt_us
                        && now.saturating_duration_since(at) < MIN_RTT_WINDOW => {}
                _ => self.min_rtt = Some((now, report.peer_rtt_us)),
            }
        }
        if report.sent_packets > 0 {
            let ratio = (report.lost_packets as f64 / report.sent_packets as f64).min(1.0);
            // The long-run average starts as a plain mean so it is right from the first reports.
            self.loss_samples = self.loss_samples.saturating_add(1);
            let long_weight = f64::from(self.loss_samples.min(LOSS_LONG_SAMPLES));
            self.loss_short += (ratio - self.loss_short) / LOSS_SHORT_SAMPLES;
            self.loss_long += (ratio - self.loss_long) / long_weight;
        }
        self.first_start &= self.in_startup;
        if self.first_start {
            self.sample_delivery(now, &report);
        } else {
            self.delivered = None;
        }
        if self.hold_until.is_some_and(|until| now < until) {
            return;
        }
        self.hold_until = None;
        let interval = self
            .last_report
            .map(|at| now.saturating_duration_since(at).as_secs_f64());
        self.last_report = Some(now);
        if self.in_startup {
            self.startup_sent = self.startup_sent.saturating_add(report.sent_packets);
            self.startup_lost = self.startup_lost.saturating_add(report.lost_packets);
            if self.delivering_far_less_than_sent(&report, interval) {
                self.startup_short_deliveries += 1;
                self.startup_short_since.get_or_insert(now);
            } else {
                self.startup_short_deliveries = 0;
                self.startup_short_since = None;
            }
        }
        let short_deliveries_confirmed = self.startup_short_deliveries
            >= STARTUP_SHORT_DELIVERY_REPORTS
            && self.startup_short_since.is_some_and(|since| {
                now.saturating_duration_since(since) >= STARTUP_SHORT_DELIVERY_SPAN
            });
        let startup_overshoot = self.in_startup
            && (short_deliveries_confirmed
                || (self.startup_lost >= STARTUP_MIN_LOSSES
                    && self.startup_lost as f64 > STARTUP_LOSS_EXIT * self.startup_sent as f64));
        if startup_overshoot {
            // Startup ran into a full queue before the RTT could show it (the first RTT sample
            // may already include the queue): what was lost then is not the path's random loss.
            self.loss_samples = 0;
            self.loss_long = 0.0;
        }
        let fast_start = self.fast_start_sample();
        let delivery_ratio = Self::delivery_ratio(&report, interval);
        let backlogged = report.unsent_packets as f64
            * (self.payload_size + super::PACKET_OVERHEAD) as f64
            >= self.rate * BACKLOG_TIME.as_secs_f64();
        if startup_overshoot
            || self.congested(
                report.peer_rtt_us,
                report.peer_rtt_var_us,
                delivery_ratio,
                backlogged,
            )
        {
            self.congestion_events += 1;
            self.last_congestion = Some(now);
            self.in_startup = false;
            // Back off by a fixed factor, and at once to what the receiver got if that is lower:
            // after a startup or a path change far above the bottleneck, stepping down by 15 %
            // per settle time would keep overflowing its queue for many round trips.
            // Out of a startup overshoot the bottleneck's queue is full: go below what was
            // delivered for a while so that it drains.
            let drain = if startup_overshoot {
                STARTUP_DRAIN
            } else {
                1.0
            };
            // In a fast start the receiver's report is two or three doublings old: the sender's
            // own sample is what the path delivers now.
            let received = larger_known(
                self.best_received_rate(),
                fast_start.map(|sample| sample.bytes_per_s),
            )
            .unwrap_or(f64::INFINITY);
            let delivered = received * drain;
            self.rate = (self.rate * BACKOFF_FACTOR).min(delivered).max(self.floor);
            // Let the signal settle before judging again: about two round trips, and the time the
            // peer's smoothed RTT takes to follow the drained queue.
            let settle = Duration::from_micros(self.latest_rtt_us.clamp(10_000, 500_000) * 2)
                + RTT_SMOOTHING_LAG;
            self.hold_until = Some(now + settle);
            self.loss_short = self.loss_long;
            return;
        }
        let grown = if fast_start.is_some() {
            self.rate * FAST_START_GROWTH
        } else if self.in_startup {
            self.rate * STARTUP_GROWTH
        } else {
            self.rate + (self.rate * STEADY_GROWTH_FRACTION).max(STEADY_GROWTH_MIN)
        };
        let factor = if self.in_startup {
            STARTUP_RATE_OVER_RECEIVED
        } else {
            STEADY_RATE_OVER_BANDWIDTH
        };
        // An application-limited sender's estimate is its own rate, so the ceiling does not go
        // below the initial rate (bursts above the average pass) — unless the path showed
        // congestion lately: then the estimate is the bottleneck's, and the initial rate may be
        // far above it.
        let ceiling_floor = match self.last_congestion {
            Some(at) if now.saturating_duration_since(at) < CONGESTION_MEMORY => 0.0,
            _ => INITIAL_RATE,
        };
        // In a fast start the sender's own delivery sample lets the ceiling follow the growth
        // within a round trip instead of two or three reports later.
        let bandwidth = larger_known(
            self.bandwidth_estimate(),
            fast_start.map(|sample| sample.bytes_per_s),
        );
        let ceiling = bandwidth
            .map_or(f64::MAX, |bandwidth| {
                (bandwidth * factor).max(ceiling_floor)
            })
            .min(self.cap);
        self.rate = grown
            .min(ceiling)
            .max(self.rate.min(ceiling))
            .max(self.floor);
    }

    /// Whether, over the report's `interval` (seconds), the sender sent at its pacing rate (it was
    /// not held back by the application) and the receiver got less than
    /// [`STARTUP_DELIVERY_EXIT`] of it: the path's bottleneck is well below the rate, even if its
    /// queue hides that from the RTT (startup may fill it before the first RTT sample).
    fn delivering_far_less_than_sent(&self, report: &AckReport, interval: Option<f64>) -> bool {
        // In a fast start the receiver's report lags the doubling rate by two or three reports
        // (it would read as a shortfall every time); the sender's own sample does not.
        let received = larger_known(
            report.receive_packet_rate,
            self.fast_start_sample().map(|sample| sample.packets_per_s),
        );
        let (Some(interval), Some(received)) = (interval, received) else {
            return false;
        };
        if interval <= 0.0 || received <= 0.0 {
            return false;
        }
        let sent = report.sent_packets as f64 / interval;
        let paced = self.rate / (self.payload_size + super::PACKET_OVERHEAD) as f64;
        sent >= RATE_LIMITED_SHARE * paced && received < STARTUP_DELIVERY_EXIT * sent
    }

    /// The bottleneck bandwidth estimate, bytes/s: the best recent receive rate, scaled up by the
    /// path's long-run (random) loss so that random loss does not read as a smaller pipe.
    pub(crate) fn bandwidth_estimate(&self) -> Option<f64> {
        let random_loss = self.loss_long.clamp(0.0, MAX_RANDOM_LOSS);
        self.best_received_rate()
            .map(|best| best / (1.0 - random_loss))
    }

    /// The receiver's packet rate over ours during the report's `interval` (seconds), if both
    /// are known; infinite if we sent nothing (no queue of ours can be building).
    fn delivery_ratio(report: &AckReport, interval: Option<f64>) -> Option<f64> {
        let interval = interval.filter(|interval| *interval > 0.0)?;
        if report.sent_packets == 0 {
            return Some(f64::INFINITY);
        }
        let received = report.receive_packet_rate.filter(|rate| *rate > 0.0)?;
        let sent = report.sent_packets as f64 / interval;
        Some(received / sent)
    }

    fn congested(
        &self,
        peer_rtt_us: u64,
        peer_rtt_var_us: u64,
        delivery_ratio: Option<f64>,
        backlogged: bool,
    ) -> bool {
        // An application-limited sender (no backlog of its own: everything written went out)
        // gains nothing from a lower rate on a delay signal: the queue would only move from the
        // network into its own buffer, as long for the stream, and with a cap just above the
        // stream's rate it drains at the headroom's pace (a 20 Mbit/s stream under the presets'
        // 20 Mibit/s cap: 1.4 %). Loss still counts.
        // A queue we build shows as the receiver getting less than we send; a delay that comes
        // with full delivery is someone else's queue or the hosts' scheduling (a loaded machine's
        // loopback), and cutting an application-limited stream for it only queues the stream
        // behind its own pacer.
        let random_delivery = 1.0 - self.loss_long.clamp(0.0, MAX_RANDOM_LOSS);
        let falling_behind =
            delivery_ratio.is_none_or(|ratio| ratio < DELIVERY_SHORTFALL * random_delivery);
        let queueing = falling_behind
            && backlogged
            && match self.min_rtt {
                Some((_, min_rtt)) => {
                    // Jitter is not a queue: on a jittery path the threshold grows with the RTT's
                    // variation.
                    let threshold = (min_rtt / 4)
                        .max(MIN_QUEUE_DELAY_US)
                        .max(JITTER_FACTOR * peer_rtt_var_us);
                    peer_rtt_us > min_rtt + threshold
                }
                None => false,
            };
        let loss_spike = self.loss_samples >= LOSS_SHORT_SAMPLES as u32
            && self.loss_short > self.loss_long * LOSS_SPIKE_FACTOR + LOSS_SPIKE_MARGIN;
        queueing || loss_spike
    }

    /// Packets allowed in flight: twice the bandwidth-delay product, counting the ACK period
    /// (and the reports' measurement window) as delay, and never under 64 packets.
    pub(crate) fn congestion_window(&self) -> u64 {
        self.window
    }

    fn compute_window(&self) -> u64 {
        let payload_size = self.payload_size;
        if self.fixed {
            return u64::MAX;
        }
        let bandwidth = self
            .bandwidth_estimate()
            .unwrap_or(self.rate)
            .max(self.rate.min(INITIAL_RATE))
            .min(self.cap);
        let rtt_us = self.min_rtt.map_or(100_000, |(_, rtt)| rtt) + CWND_DELAY_SLACK_US;
        let bytes = 2.0 * bandwidth * rtt_us as f64 / 1e6;
        ((bytes / payload_size.max(1) as f64) as u64).max(64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn report(rtt_us: u64, receive_rate: f64, sent: u64, lost: u64) -> AckReport {
        AckReport {
            peer_rtt_us: rtt_us,
            peer_rtt_var_us: 0,
            receive_rate: Some(receive_rate),
            receive_packet_rate: None,
            unsent_packets: u64::MAX,
            sent_packets: sent,
            lost_packets: lost,
            acked_packets: 0,
        }
    }

    #[test]
    fn bucket_spaces_packets_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(start, 1_000_000.0, 1000);
        let mut sent = 0;
        let mut now = start;
        for _ in 0..10_000 {
            if bucket.ready(now) {
                bucket.consume(1000);
                sent += 1;
            } else {
                now = bucket.ready_at();
            }
            if now >= start + Duration::from_secs(1) {
                break;
            }
        }
        // 1 MB/s of 1000-byte packets for one second, plus the initial burst of 5 ms (5 packets).
        assert!((1000..=1006).contains(&sent), "sent {sent}");
    }

    #[test]
    fn the_cap_bucket_keeps_the_cap_on_average_with_two_seconds_of_burst() {
        let start = Instant::now();
        let cap = 1_000_000u64;
        let control = RateControl::Adaptive { cap: Some(cap) };
        assert!(cap_bucket(RateControl::UNCAPPED, start, 1000).is_none());
        assert!(cap_bucket(
            RateControl::Fixed {
                bytes_per_second: cap
            },
            start,
            1000
        )
        .is_none());
        let mut bucket = cap_bucket(control, start, 1000).unwrap();
        // As fast as possible for two seconds: the cap's 2 MB plus the 2 s burst.
        let mut sent = 0u64;
        let mut now = start;
        while now < start + Duration::from_secs(2) {
            if bucket.ready(now) {
                bucket.consume(1000);
                sent += 1000;
            } else {
                now = bucket.ready_at();
            }
        }
        assert!((4_000_000..=4_002_000).contains(&sent), "sent {sent}");
    }

    #[test]
    fn fixed_rate_never_changes() {
        let mut controller = RateController::new(
            RateControl::Fixed {
                bytes_per_second: 5_000_000,
            },
            1456,
        );
        let now = Instant::now();
        controller.on_report(now, report(1000, 1.0, 100, 90));
        controller.on_report(
            now + Duration::from_millis(10),
            report(90_000, 1.0, 100, 90),
        );
        assert_eq!(controller.rate(), 5_000_000.0);
        assert_eq!(controller.congestion_window(), u64::MAX);
    }

    #[test]
    fn random_loss_does_not_collapse_the_rate() {
        let mut controller = RateController::new(RateControl::UNCAPPED, 1456);
        let mut now = Instant::now();
        for _ in 0..500 {
            now += Duration::from_millis(10);
            let rate = controller.rate();
            let sent = (rate / 1400.0 / 100.0).max(1.0) as u64;
            // 20 % random loss, no queueing: the receiver gets 80 % of what is sent.
            controller.on_report(now, report(2_000, rate * 0.8, sent, sent / 5));
        }
        assert!(
            controller.rate() > 100.0 * INITIAL_RATE,
            "rate {}",
            controller.rate()
        );
    }

    #[test]
    fn random_loss_with_jitter_is_not_a_queue() {
        // A backlogged sender on a jittery path with 15 % random loss: the RTT swings 20 ms
        // above its minimum and the receiver gets 85 % of the packets sent, every report. Under
        // 90 % once read as a queue building; the random loss explains the shortfall. (A cap,
        // since this path has no bottleneck.)
        let cap = 4 * INITIAL_RATE as u64;
        let mut controller = RateController::new(RateControl::Adaptive { cap: Some(cap) }, 1316);
        let packet = (1316 + super::super::PACKET_OVERHEAD) as f64;
        let mut now = Instant::now();
        for step in 0..300u64 {
            now += Duration::from_millis(10);
            let rate = controller.rate();
            let sent = (rate / packet / 100.0).round().max(1.0);
            controller.on_report(
                now,
                AckReport {
                    peer_rtt_us: 10_000 + (step % 3) * 10_000,
                    peer_rtt_var_us: 6_000,
                    receive_rate: Some(rate * 0.85),
                    receive_packet_rate: Some(sent * 100.0 * 0.85),
                    unsent_packets: u64::MAX,
                    sent_packets: sent as u64,
                    lost_packets: (sent * 0.15).round() as u64,
                    acked_packets: 0,
                },
            );
        }
        assert_eq!(controller.congestion_events(), 0);
        assert!(
            controller.rate() >= cap as f64,
            "rate {}",
            controller.rate()
        );
    }

    /// Feeds `controller` 30 s of reports from a path whose bottleneck of `capacity` bytes/s
    /// queues what is sent above it (10 ms base RTT, no loss) and returns its mean rate over the
    /// last 20 s.
    fn mean_rate_behind_a_bottleneck(controller: &mut RateController, capacity: f64) -> f64 {
        let mut now = Instant::now();
        let mut queue_us: f64 = 0.0;
        let mut samples = Vec::new();
        for step in 0..3000 {
            now += Duration::from_millis(10);
            let rate = controller.rate();
            queue_us = (queue_us + (rate - capacity) / capacity * 10_000.0).max(0.0);
            controller.on_report(
                now,
                report(10_000 + queue_us as u64, rate.min(capacity), 100, 0),
            );
            if step > 1000 {
                samples.push(controller.rate());
            }
        }
        samples.iter().sum::<f64>() / samples.len() as f64
    }

    #[test]
    fn queueing_delay_backs_off_to_the_bottleneck() {
        let capacity = 10_000_000.0;
        let mut controller = RateController::new(RateControl::UNCAPPED, 1456);
        let mean = mean_rate_behind_a_bottleneck(&mut controller, capacity);
        assert!(
            mean > 0.6 * capacity && mean < 1.4 * capacity,
            "mean {mean}"
        );
        assert!(controller.congestion_events() > 0);
    }

    #[test]
    fn startup_leaves_on_short_deliveries_only_when_they_span_two_ack_periods() {
        let packet = (1316 + super::super::PACKET_OVERHEAD) as f64;
        // A report of `interval` in which the sender sent at its pacing rate and the receiver
        // got `delivered` of it.
        let short = |controller: &RateController, interval: Duration, delivered: f64| {
            let paced = controller.rate() / packet;
            AckReport {
                peer_rtt_us: 2_000,
                peer_rtt_var_us: 0,
                receive_rate: Some(controller.rate() * delivered),
                receive_packet_rate: Some(paced * delivered),
                unsent_packets: u64::MAX,
                sent_packets: (paced * interval.as_secs_f64()).ceil() as u64,
                lost_packets: 0,
                // The sender's ACKs say the same as the receiver's rate.
                acked_packets: (paced * interval.as_secs_f64() * delivered).round() as u64,
            }
        };
        let mut controller = RateController::new(RateControl::UNCAPPED, 1316);
        let mut now = Instant::now();
        for _ in 0..5 {
            now += Duration::from_millis(10);
            let report = short(&controller, Duration::from_millis(10), 1.0);
            controller.on_report(now, report);
        }
        assert!(controller.in_startup());
        // Window updates a millisecond apart right after a stall: the receive rate still covers
        // the stall. Three such reports are not yet a bottleneck ...
        for _ in 0..3 {
            now += Duration::from_millis(1);
            let report = short(&controller, Duration::from_millis(1), 0.2);
            controller.on_report(now, report);
        }
        assert!(controller.in_startup());
        // ... but short deliveries that go on for two ACK periods are.
        for _ in 0..18 {
            now += Duration::from_millis(1);
            let report = short(&controller, Duration::from_millis(1), 0.2);
            controller.on_report(now, report);
        }
        assert!(!controller.in_startup());
        // On a slow path, reports 10 ms apart: three short ones end startup (after the first
        // report, which has no interval to judge by), as they did before the span was required.
        let mut slow = RateController::new(RateControl::UNCAPPED, 1316);
        for _ in 0..4 {
            now += Duration::from_millis(10);
            let report = short(&slow, Duration::from_millis(10), 0.3);
            slow.on_report(now, report);
        }
        assert!(!slow.in_startup());
    }

    #[test]
    fn an_adaptive_rate_never_exceeds_its_cap() {
        let cap = 2_621_440;
        let mut controller = RateController::new(RateControl::Adaptive { cap: Some(cap) }, 1316);
        assert_eq!(controller.rate(), INITIAL_RATE);
        let mut now = Instant::now();
        let mut highest: f64 = 0.0;
        for _ in 0..1000 {
            now += Duration::from_millis(10);
            // A fast, clean path: the receiver gets everything sent.
            let rate = controller.rate();
            controller.on_report(now, report(2_000, rate, 100, 0));
            highest = highest.max(controller.rate());
        }
        // The pacing rate may go a quarter above the cap (the cap bucket keeps the average).
        assert_eq!(highest, cap as f64 * CAP_CATCH_UP);
        assert_eq!(controller.rate(), cap as f64 * CAP_CATCH_UP);
        // The window is sized for the cap, not for an unbounded estimate.
        let uncapped_window = 2.0 * cap as f64 * CAP_CATCH_UP * 0.022 / 1316.0;
        assert!(
            controller.congestion_window() <= (uncapped_window as u64).max(64),
            "window {}",
            controller.congestion_window()
        );
    }

    #[test]
    fn an_adaptive_rate_starts_at_a_cap_below_the_initial_rate() {
        let mut controller =
            RateController::new(RateControl::Adaptive { cap: Some(100_000) }, 1316);
        assert_eq!(controller.rate(), 100_000.0);
        controller.on_report(Instant::now(), report(2_000, 1e9, 100, 0));
        assert_eq!(controller.rate(), 100_000.0 * CAP_CATCH_UP);
        // Below the lowest adaptive rate, the floor is the cap: congestion cannot take it lower.
        let mut tiny = RateController::new(RateControl::Adaptive { cap: Some(20_000) }, 1316);
        let mut now = Instant::now();
        for _ in 0..100 {
            now += Duration::from_millis(10);
            tiny.on_report(now, report(500_000, 1_000.0, 10, 9));
        }
        assert_eq!(tiny.rate(), 20_000.0);
    }

    #[test]
    fn an_adaptive_rate_under_a_cap_still_backs_off_to_the_bottleneck() {
        // A 5 Mbit/s path under the presets' 20 Mibit/s cap.
        let capacity = 625_000.0;
        let mut controller = RateController::new(
            RateControl::Adaptive {
                cap: Some(2_621_440),
            },
            1316,
        );
        let mean = mean_rate_behind_a_bottleneck(&mut controller, capacity);
        assert!(
            mean > 0.6 * capacity && mean < 1.4 * capacity,
            "mean {mean}"
        );
    }

    /// A bulk sender's first `reports` full ACKs, 10 ms apart, on a path of `capacity` bytes/s
    /// and round trip `rtt_us`: the sender sends at its rate, the path delivers at most its
    /// capacity and queues the rest (the queue adds to the round trip), the sender's ACKs cover
    /// what was delivered, and the receiver's rate report is that of two reports earlier (its
    /// 20 ms window closes late). A retransmission timeout comes before report `timeout_before`,
    /// if given. Returns the rate after each report and whether startup was still on.
    fn bulk_start(
        rtt_us: u64,
        capacity: f64,
        reports: usize,
        timeout_before: Option<usize>,
    ) -> Vec<(f64, bool)> {
        let packet = (1316 + super::super::PACKET_OVERHEAD) as f64;
        let mut controller = RateController::new(RateControl::UNCAPPED, 1316);
        let mut now = Instant::now();
        let mut delivered_rates = vec![0.0; 2];
        let mut queue_us: f64 = 0.0;
        let mut course = Vec::new();
        for index in 0..reports {
            if timeout_before == Some(index) {
                controller.on_timeout();
            }
            now += Duration::from_millis(10);
            let sent = controller.rate() * 0.01 / packet;
            let delivered = sent.min(capacity * 0.01 / packet);
            queue_us = (queue_us + (controller.rate() - capacity) / capacity * 10_000.0).max(0.0);
            delivered_rates.push(delivered * packet / 0.01);
            let reported = delivered_rates[delivered_rates.len() - 3];
            controller.on_report(
                now,
                AckReport {
                    peer_rtt_us: rtt_us + queue_us as u64,
                    peer_rtt_var_us: 0,
                    receive_rate: Some(reported).filter(|rate| *rate > 0.0),
                    receive_packet_rate: Some(reported / packet).filter(|rate| *rate > 0.0),
                    unsent_packets: u64::MAX,
                    sent_packets: sent.round() as u64,
                    lost_packets: 0,
                    acked_packets: delivered.round() as u64,
                },
            );
            course.push((controller.rate(), controller.in_startup()));
        }
        course
    }

    #[test]
    fn a_fast_start_doubles_per_report_on_a_short_round_trip_only() {
        // Loopback: 0.3 ms round trips, a path far faster than the start.
        let fast = bulk_start(300, 2e9, 12, None);
        // From the second report on (the first opens the first delivery sample) the rate
        // doubles per report: 2 MB/s to over 1 GB/s in twelve reports.
        assert!(fast.iter().all(|&(_, startup)| startup), "{fast:?}");
        assert!(fast[11].0 > 1e9, "{fast:?}");
        // 20 ms round trips: the sender's ACKs are a round trip old, startup stays as it was
        // (×1.25 per report, under twice the receiver's lagging report).
        let slow = bulk_start(20_000, 2e9, 12, None);
        for pair in slow.windows(2) {
            assert!(
                pair[1].0 <= pair[0].0 * STARTUP_GROWTH * 1.000_001,
                "{slow:?}"
            );
        }
        assert!(slow[11].0 < 1e8, "{slow:?}");
    }

    #[test]
    fn a_fast_start_leaves_startup_at_a_bottleneck_within_a_few_reports() {
        // 50 MB/s behind a 0.3 ms round trip: the doubling stops at twice what was delivered,
        // and the queue that builds ends startup.
        let capacity = 50e6;
        let course = bulk_start(300, capacity, 30, None);
        let left = course
            .iter()
            .position(|&(_, startup)| !startup)
            .unwrap_or_else(|| panic!("startup never ended: {course:?}"));
        assert!(left < 12, "left at report {left}: {course:?}");
        let peak = course.iter().map(|&(rate, _)| rate).fold(0.0, f64::max);
        assert!(
            peak <= 2.0 * capacity * 1.000_001,
            "peak {peak}: {course:?}"
        );
        // Out of startup the rate is what the path delivered: the sender's fresh sample, not
        // the receiver's report of two doublings earlier (which would leave it at 40 % of the
        // path, to climb back by 2 % a report).
        let after = course[left].0;
        assert!(
            after > 0.9 * capacity && after < 1.01 * capacity,
            "{course:?}"
        );
    }

    #[test]
    fn a_timeout_ends_the_fast_start() {
        // Same loopback path; a retransmission timeout (an outage) before the fifth report:
        // from then on startup grows by ×1.25 a report at most, as after any timeout.
        let course = bulk_start(300, 2e9, 12, Some(4));
        assert!(course[3].0 >= 2e6 * 4.0, "{course:?}");
        for pair in course[4..].windows(2) {
            assert!(
                pair[1].0 <= pair[0].0 * STARTUP_GROWTH * 1.000_001,
                "{course:?}"
            );
        }
    }
}
