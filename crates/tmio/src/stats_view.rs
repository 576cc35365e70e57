//! The proxy's live statistics: the one-line display and the JSON records of `--stats-json`.

use std::time::{SystemTime, UNIX_EPOCH};

use tmio_proxy::PerfStats;

/// The send rate between two snapshots of the statistics, from their own clock (`elapsed_ms`).
#[derive(Debug, Default, Clone)]
pub struct RateMeter {
    last: Option<(u64, u64)>,
}

impl RateMeter {
    /// A meter with no previous snapshot.
    pub fn new() -> RateMeter {
        RateMeter::default()
    }

    /// The payload send rate (incl. retransmissions) since the previous call, Mbit/s; the
    /// average since the start on the first call.
    ///
    /// ```
    /// use tmio::stats_view::RateMeter;
    /// use tmio_proxy::PerfStats;
    ///
    /// let mut meter = RateMeter::new();
    /// let first = PerfStats { elapsed_ms: 1000, bytes_sent: 1_000_000, ..PerfStats::default() };
    /// assert_eq!(meter.send_rate_mbps(&first), 8.0);
    /// let second = PerfStats { elapsed_ms: 1500, bytes_sent: 1_125_000, ..PerfStats::default() };
    /// assert_eq!(meter.send_rate_mbps(&second), 2.0);
    /// ```
    pub fn send_rate_mbps(&mut self, stats: &PerfStats) -> f64 {
        let (bytes_before, ms_before) = self.last.unwrap_or((0, 0));
        self.last = Some((stats.bytes_sent, stats.elapsed_ms));
        let ms = stats.elapsed_ms.saturating_sub(ms_before);
        if ms == 0 {
            return 0.0;
        }
        let bytes = stats.bytes_sent.saturating_sub(bytes_before);
        bytes as f64 * 8.0 / (ms as f64 * 1000.0)
    }
}

/// The one-line display: rate, RTT, loss, retransmissions and what is in flight.
///
/// ```
/// use tmio::stats_view::display_line;
/// use tmio_proxy::PerfStats;
///
/// let stats = PerfStats { rtt_ms: 12.5, packets_sent: 200, packets_reported_lost: 2,
///     packets_retransmitted: 3, packets_in_flight: 7, bytes_in_flight: 9212,
///     ..PerfStats::default() };
/// assert_eq!(
///     display_line(&stats, 7.9),
///     "rate 7.90 Mbit/s | rtt 12.5 ms | lost 2 (1.00%) | retransmitted 3 | in flight 7 pkts (9.0 KiB)"
/// );
/// ```
pub fn display_line(stats: &PerfStats, rate_mbps: f64) -> String {
    let loss_percent = if stats.packets_sent == 0 {
        0.0
    } else {
        stats.packets_reported_lost as f64 * 100.0 / stats.packets_sent as f64
    };
    format!(
        "rate {rate_mbps:.2} Mbit/s | rtt {:.1} ms | lost {} ({loss_percent:.2}%) | retransmitted {} | in flight {} pkts ({:.1} KiB)",
        stats.rtt_ms,
        stats.packets_reported_lost,
        stats.packets_retransmitted,
        stats.packets_in_flight,
        stats.bytes_in_flight as f64 / 1024.0,
    )
}

/// One `--stats-json` record: every statistic, plus `timestamp_unix_ms` (wall clock) and
/// `send_rate_interval_mbps` (the rate since the previous record).
pub fn json_record(stats: &PerfStats, rate_mbps: f64, now: SystemTime) -> serde_json::Value {
    let timestamp_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut record = serde_json::Map::new();
    record.insert("timestamp_unix_ms".into(), timestamp_ms.into());
    record.insert("send_rate_interval_mbps".into(), rate_mbps.into());
    match serde_json::to_value(stats) {
        Ok(serde_json::Value::Object(fields)) => record.extend(fields),
        Ok(other) => {
            record.insert("stats".into(), other);
        }
        Err(error) => {
            record.insert("stats_error".into(), error.to_string().into());
        }
    }
    serde_json::Value::Object(record)
}

/// A writer for log lines on a terminal that also shows the live statistics line: its first
/// write returns the cursor to the start of the line and clears it, so a log line replaces the
/// statistics instead of being appended to them (the next tick redraws them).
#[derive(Debug)]
pub struct LineClearingWriter<W> {
    inner: W,
    cleared: bool,
}

impl<W: std::io::Write> LineClearingWriter<W> {
    /// Wraps `inner` (one writer per log event).
    pub fn new(inner: W) -> Self {
        LineClearingWriter {
            inner,
            cleared: false,
        }
    }
}

impl<W: std::io::Write> std::io::Write for LineClearingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.cleared {
            self.inner.write_all(b"\r\x1b[K")?;
            self.cleared = true;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn record_carries_timestamp_rate_and_every_stat() {
        let stats = PerfStats {
            rtt_ms: 3.0,
            bytes_sent: 42,
            ..PerfStats::default()
        };
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let record = json_record(&stats, 1.5, at);
        assert_eq!(record["timestamp_unix_ms"], 1_700_000_000_123u64);
        assert_eq!(record["send_rate_interval_mbps"], 1.5);
        assert_eq!(record["rtt_ms"], 3.0);
        assert_eq!(record["bytes_sent"], 42);
        assert!(record.get("packets_in_flight").is_some());
        let line = record.to_string();
        assert!(!line.contains('\n'));
    }

    #[test]
    fn rate_meter_survives_a_clock_that_does_not_move() {
        let mut meter = RateMeter::new();
        let stats = PerfStats::default();
        assert_eq!(meter.send_rate_mbps(&stats), 0.0);
        assert_eq!(meter.send_rate_mbps(&stats), 0.0);
    }

    #[test]
    fn log_lines_clear_the_statistics_line_once() {
        use std::io::Write as _;
        let mut out = Vec::new();
        let mut writer = LineClearingWriter::new(&mut out);
        writer.write_all(b"first ").unwrap();
        writer.write_all(b"event\n").unwrap();
        assert_eq!(out, b"\r\x1b[Kfirst event\n");
    }

    #[test]
    fn no_packets_means_no_loss_percentage_division() {
        let line = display_line(&PerfStats::default(), 0.0);
        assert!(line.contains("lost 0 (0.00%)"), "{line}");
    }
}
