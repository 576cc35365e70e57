//! The proxy's live statistics: the one-line display and the JSON records of `--stats-json`,
//! both from the SDK-shaped [`PerfStats`] (one read per interval: its `current` block is the
//! interval).

use std::time::{SystemTime, UNIX_EPOCH};

use tmio_proxy::PerfStats;

/// The one-line display: the send rate over the interval, RTT, packets reported lost (and their
/// share of those sent), retransmissions and the bytes in flight.
///
/// ```
/// use tmio::stats_view::display_line;
/// use tmio_proxy::{PerfCounters, PerfStats};
///
/// let stats = PerfStats {
///     total: PerfCounters { pkt_sent: 200, pkt_sent_loss: 2, pkt_retrans: 3, ..PerfCounters::default() },
///     sent_rate_mbps: 7.9, rtt_ms: 12.5, bytes_in_flight: 9212,
///     ..PerfStats::default()
/// };
/// assert_eq!(
///     display_line(&stats),
///     "rate 7.90 Mbit/s | rtt 12.5 ms | lost 2 (1.00%) | retransmitted 3 | in flight 9.0 KiB"
/// );
/// ```
pub fn display_line(stats: &PerfStats) -> String {
    let total = &stats.total;
    let loss_percent = if total.pkt_sent == 0 {
        0.0
    } else {
        total.pkt_sent_loss as f64 * 100.0 / total.pkt_sent as f64
    };
    format!(
        "rate {:.2} Mbit/s | rtt {:.1} ms | lost {} ({loss_percent:.2}%) | retransmitted {} | in flight {:.1} KiB",
        stats.sent_rate_mbps,
        stats.rtt_ms,
        total.pkt_sent_loss,
        total.pkt_retrans,
        stats.bytes_in_flight as f64 / 1024.0,
    )
}

/// One `--stats-json` record: the SDK's `PerfStats` JSON (`total`, `current`, `timestamp_ms`,
/// `rtt_ms`, ...) plus `timestamp_unix_ms` (the wall clock of the read).
pub fn json_record(stats: &PerfStats, now: SystemTime) -> serde_json::Value {
    let timestamp_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut record = serde_json::Map::new();
    record.insert("timestamp_unix_ms".into(), timestamp_ms.into());
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
    fn record_carries_the_wall_clock_and_the_sdk_fields() {
        let mut stats = PerfStats {
            rtt_ms: 3.0,
            ..PerfStats::default()
        };
        stats.total.byte_sent = 42;
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let record = json_record(&stats, at);
        assert_eq!(record["timestamp_unix_ms"], 1_700_000_000_123u64);
        assert_eq!(record["rtt_ms"], 3.0);
        assert_eq!(record["total"]["byte_sent"], 42);
        assert!(record["current"].get("pkt_recv_drop").is_some());
        let line = record.to_string();
        assert!(!line.contains('\n'));
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
        let line = display_line(&PerfStats::default());
        assert!(line.contains("lost 0 (0.00%)"), "{line}");
    }
}
