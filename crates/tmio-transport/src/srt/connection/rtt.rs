//! Round-trip time estimation (RFC 6298 style smoothing, as libsrt does).

use std::time::Duration;

/// Peer reports (full ACKs, ~100 a second) after which our own last sample counts as stale.
const STALE_AFTER_REPORTS: u32 = 100;
/// libsrt's (and tmio's) smoothed RTT before the first measurement, µs.
const INITIAL_SMOOTHED_US: i32 = 100_000;
/// libsrt's (and tmio's) RTT variation before the first measurement, µs.
const INITIAL_VARIATION_US: i32 = 50_000;

/// Whether a peer's RTT report is libsrt's initial guess (100 ms, 50 ms), which a peer reports
/// until it has measured: no figure of the path.
pub(crate) fn is_initial_guess(smoothed_us: i32, variation_us: i32) -> bool {
    smoothed_us == INITIAL_SMOOTHED_US && variation_us == INITIAL_VARIATION_US
}

/// Smoothed RTT and RTT variation, in microseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RttEstimator {
    smoothed_us: u64,
    variation_us: u64,
    has_own_sample: bool,
    /// Whether anything was measured yet (an own sample or a peer's report): before that the
    /// values are libsrt's initial guess.
    measured: bool,
    /// Peer reports received since our last own sample.
    reports_since_sample: u32,
    /// The lowest smoothed RTT since measured, µs.
    min_smoothed_us: u64,
}

impl Default for RttEstimator {
    /// libsrt's initial values: 100 ms ± 50 ms.
    fn default() -> Self {
        Self {
            smoothed_us: INITIAL_SMOOTHED_US as u64,
            variation_us: INITIAL_VARIATION_US as u64,
            has_own_sample: false,
            measured: false,
            reports_since_sample: 0,
            min_smoothed_us: u64::MAX,
        }
    }
}

impl RttEstimator {
    /// Whether anything was measured yet (else the values are libsrt's initial 100 ± 50 ms).
    pub(crate) fn is_measured(&self) -> bool {
        self.measured
    }

    /// Folds in one measured round trip (ACK sent -> ACK2 received).
    pub(crate) fn on_sample(&mut self, sample: Duration) {
        self.reports_since_sample = 0;
        self.measured = true;
        let sample_us = sample.as_micros().min(u128::from(u32::MAX)) as u64;
        if self.has_own_sample {
            let deviation = self.smoothed_us.abs_diff(sample_us);
            self.variation_us = (self.variation_us * 3 + deviation) / 4;
            self.smoothed_us = (self.smoothed_us * 7 + sample_us) / 8;
        } else {
            self.smoothed_us = sample_us;
            self.variation_us = sample_us / 2;
            self.has_own_sample = true;
        }
        self.note_min();
    }

    /// Folds in the peer's estimate carried by an ACK; ignored while we measure ourselves (a pure
    /// sender sends no ACKs of its own, so after [`STALE_AFTER_REPORTS`] reports without an own
    /// sample the peer's estimate is followed again).
    pub(crate) fn on_peer_report(&mut self, smoothed_us: i32, variation_us: i32) {
        self.reports_since_sample = self.reports_since_sample.saturating_add(1);
        let own_is_fresh = self.has_own_sample && self.reports_since_sample <= STALE_AFTER_REPORTS;
        // A peer that has not measured yet reports libsrt's initial guess (100 ms, 50 ms): that
        // is no figure of this path.
        if own_is_fresh || smoothed_us <= 0 || is_initial_guess(smoothed_us, variation_us) {
            return;
        }
        let smoothed_us = u64::from(smoothed_us.unsigned_abs());
        let variation_us = u64::from(variation_us.unsigned_abs());
        if !self.measured {
            // The first real figure replaces the initial guess instead of being averaged in.
            self.measured = true;
            self.smoothed_us = smoothed_us;
            self.variation_us = variation_us;
            self.note_min();
            return;
        }
        self.smoothed_us = (self.smoothed_us * 7 + smoothed_us) / 8;
        self.variation_us = (self.variation_us * 3 + variation_us) / 4;
        self.note_min();
    }

    /// How far the smoothed RTT stands above its lowest: the queue on the path.
    pub(crate) fn queueing(&self) -> Duration {
        Duration::from_micros(self.smoothed_us.saturating_sub(self.min_smoothed_us))
    }

    fn note_min(&mut self) {
        self.min_smoothed_us = self.min_smoothed_us.min(self.smoothed_us);
    }

    /// Smoothed RTT.
    pub(crate) fn smoothed(&self) -> Duration {
        Duration::from_micros(self.smoothed_us)
    }

    /// RTT variation.
    pub(crate) fn variation(&self) -> Duration {
        Duration::from_micros(self.variation_us)
    }

    /// Smoothed RTT in microseconds, as carried in ACKs.
    pub(crate) fn smoothed_us_i32(&self) -> i32 {
        self.smoothed_us.min(i32::MAX as u64) as i32
    }

    /// RTT variation in microseconds, as carried in ACKs.
    pub(crate) fn variation_us_i32(&self) -> i32 {
        self.variation_us.min(i32::MAX as u64) as i32
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    #[test]
    fn the_first_figure_replaces_the_initial_guess() {
        let mut from_peer = RttEstimator::default();
        assert!(!from_peer.is_measured());
        from_peer.on_peer_report(200, 100);
        assert!(from_peer.is_measured());
        assert_eq!(from_peer.smoothed(), Duration::from_micros(200));
        let mut own = RttEstimator::default();
        own.on_sample(Duration::from_millis(2));
        assert!(own.is_measured());
        assert_eq!(own.smoothed(), Duration::from_millis(2));
    }

    use super::*;

    #[test]
    fn the_peers_initial_guess_is_not_a_measurement() {
        let mut rtt = RttEstimator::default();
        rtt.on_peer_report(100_000, 50_000);
        assert!(!rtt.is_measured());
        rtt.on_peer_report(3_000, 1_000);
        assert!(rtt.is_measured());
        assert_eq!(rtt.smoothed(), Duration::from_millis(3));
    }

    #[test]
    fn first_sample_replaces_the_default_then_smooths() {
        let mut rtt = RttEstimator::default();
        rtt.on_sample(Duration::from_millis(20));
        assert_eq!(rtt.smoothed(), Duration::from_millis(20));
        assert_eq!(rtt.variation(), Duration::from_millis(10));
        rtt.on_sample(Duration::from_millis(28));
        assert_eq!(rtt.smoothed(), Duration::from_millis(21));
        assert_eq!(rtt.variation(), Duration::from_millis(9_500) / 1000);
    }

    #[test]
    fn peer_reports_only_count_until_we_measure() {
        let mut rtt = RttEstimator::default();
        rtt.on_peer_report(20_000, 1_000);
        assert!(rtt.smoothed() < Duration::from_millis(100));
        rtt.on_sample(Duration::from_millis(5));
        rtt.on_peer_report(500_000, 1_000);
        assert_eq!(rtt.smoothed(), Duration::from_millis(5));
        rtt.on_peer_report(-5, -5);
        // A pure sender: its one old sample goes stale, the peer's view takes over.
        for _ in 0..200 {
            rtt.on_peer_report(20_000, 1_000);
        }
        assert!(
            rtt.smoothed() > Duration::from_millis(19),
            "{:?}",
            rtt.smoothed()
        );
    }
}
