//! The proxy's live statistics: the one-line display on a terminal, and the records of
//! `--stats-json` (JSON lines or CSV).
//!
//! The live line shows tmio's statistics ([`ConnectionStats`], through [`Figures::from_stats`]);
//! the records are the SDK-shaped [`PerfStats`] (read once per interval: its `current` block is
//! the interval), written from its own serialisation (CSV flattens its nested blocks into
//! `total.pkt_sent`-style columns).

use std::{
    io::Write,
    time::{SystemTime, UNIX_EPOCH},
};

use tmio_proxy::{ConnectionStats, PerfStats};

/// The figures the live line shows, taken from one snapshot of the statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Time since the link started, ms.
    pub elapsed_ms: u64,
    /// Payload bytes sent since the start (incl. retransmissions).
    pub bytes_sent: u64,
    /// Data packets sent since the start.
    pub packets_sent: u64,
    /// Packets the peer reported lost since the start.
    pub packets_lost: u64,
    /// Packets retransmitted since the start.
    pub packets_retransmitted: u64,
    /// The smoothed round-trip time, ms; `None` until one was measured.
    pub rtt_ms: Option<f64>,
    /// Data packets sent and not acknowledged, now.
    pub packets_in_flight: u64,
    /// Payload bytes sent and not acknowledged, now.
    pub bytes_in_flight: u64,
}

impl Figures {
    /// The figures of one statistics snapshot. The RTT counts as measured once an ACK came
    /// back: before that the statistics carry the initial estimate (libsrt's 100 ms), not a
    /// measurement.
    pub fn from_stats(stats: &ConnectionStats) -> Figures {
        Figures {
            elapsed_ms: stats.elapsed_ms,
            bytes_sent: stats.bytes_sent,
            packets_sent: stats.packets_sent,
            packets_lost: stats.packets_reported_lost,
            packets_retransmitted: stats.packets_retransmitted,
            rtt_ms: (stats.acks_received > 0).then_some(stats.rtt_ms),
            packets_in_flight: stats.packets_in_flight,
            bytes_in_flight: stats.bytes_in_flight,
        }
    }

    /// Lost packets as a percentage of those sent (0 before any was sent).
    pub fn loss_percent(&self) -> f64 {
        if self.packets_sent == 0 {
            0.0
        } else {
            self.packets_lost as f64 * 100.0 / self.packets_sent as f64
        }
    }
}

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
    /// use tmio::stats_view::{Figures, RateMeter};
    ///
    /// let mut meter = RateMeter::new();
    /// let first = Figures { elapsed_ms: 1000, bytes_sent: 1_000_000, ..Figures::default() };
    /// assert_eq!(meter.send_rate_mbps(&first), 8.0);
    /// let second = Figures { elapsed_ms: 1500, bytes_sent: 1_125_000, ..Figures::default() };
    /// assert_eq!(meter.send_rate_mbps(&second), 2.0);
    /// ```
    pub fn send_rate_mbps(&mut self, figures: &Figures) -> f64 {
        let (bytes_before, ms_before) = self.last.unwrap_or((0, 0));
        self.last = Some((figures.bytes_sent, figures.elapsed_ms));
        let ms = figures.elapsed_ms.saturating_sub(ms_before);
        if ms == 0 {
            return 0.0;
        }
        let bytes = figures.bytes_sent.saturating_sub(bytes_before);
        bytes as f64 * 8.0 / (ms as f64 * 1000.0)
    }
}

/// `H:MM:SS`.
fn clock(ms: u64) -> String {
    let seconds = ms / 1000;
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Bytes with a decimal unit (B, kB, MB, GB, TB), `space` between number and unit.
fn bytes(count: u64, space: &str) -> String {
    let mut value = count as f64;
    for unit in ["B", "kB", "MB", "GB"] {
        if value < 1000.0 {
            return if unit == "B" {
                format!("{count}{space}B")
            } else {
                format!("{value:.2}{space}{unit}")
            };
        }
        value /= 1000.0;
    }
    format!("{value:.2}{space}TB")
}

/// The live line in its three widths, widest first: every form says which figures are for
/// the last interval (`now`) and which are totals since the start (`total`).
fn forms(figures: &Figures, rate_mbps: f64) -> [String; 3] {
    let elapsed = clock(figures.elapsed_ms);
    let loss = figures.loss_percent();
    let lost = figures.packets_lost;
    let retransmitted = figures.packets_retransmitted;
    let (rtt_long, rtt_short) = match figures.rtt_ms {
        Some(rtt) => (format!("rtt {rtt:.1} ms"), format!("rtt {rtt:.1}ms")),
        None => ("rtt not measured yet".to_owned(), "rtt -".to_owned()),
    };
    let wide = format!(
        "elapsed {elapsed} | now: {rate_mbps:.2} Mbit/s, {rtt_long}, in flight {} pkts ({:.1} KiB) \
         | total: {} sent, {lost} lost ({loss:.2}%), {retransmitted} retransmitted",
        figures.packets_in_flight,
        figures.bytes_in_flight as f64 / 1024.0,
        bytes(figures.bytes_sent, " "),
    );
    let medium = format!(
        "{elapsed} | now: {rate_mbps:.2} Mbit/s, {rtt_long}, {} in flight \
         | total: {} sent, {lost} lost ({loss:.2}%), {retransmitted} retx",
        figures.packets_in_flight,
        bytes(figures.bytes_sent, " "),
    );
    let narrow = format!(
        "{elapsed} now {rate_mbps:.2}Mb/s {rtt_short} | total {} lost {lost} ({loss:.1}%) retx {retransmitted}",
        bytes(figures.bytes_sent, ""),
    );
    [wide, medium, narrow]
}

/// The live line for a terminal `columns` wide: the widest form that leaves the last column
/// free (so the cursor never wraps and `\r` redraws the same row), else the narrowest cut to
/// fit.
///
/// ```
/// use tmio::stats_view::{display_line, Figures};
///
/// let figures = Figures { elapsed_ms: 83_000, bytes_sent: 12_345_678, packets_sent: 200,
///     packets_lost: 2, packets_retransmitted: 3, rtt_ms: Some(12.5), packets_in_flight: 7,
///     bytes_in_flight: 9212 };
/// assert_eq!(
///     display_line(&figures, 7.9, 80),
///     "0:01:23 now 7.90Mb/s rtt 12.5ms | total 12.35MB lost 2 (1.0%) retx 3"
/// );
/// assert_eq!(
///     display_line(&figures, 7.9, 200),
///     "elapsed 0:01:23 | now: 7.90 Mbit/s, rtt 12.5 ms, in flight 7 pkts (9.0 KiB) \
///      | total: 12.35 MB sent, 2 lost (1.00%), 3 retransmitted"
/// );
/// assert!(display_line(&figures, 7.9, 40).chars().count() < 40);
/// ```
pub fn display_line(figures: &Figures, rate_mbps: f64, columns: u16) -> String {
    let room = usize::from(columns.max(2)) - 1;
    let [wide, medium, narrow] = forms(figures, rate_mbps);
    for form in [wide, medium] {
        if form.chars().count() <= room {
            return form;
        }
    }
    narrow.chars().take(room).collect()
}

/// The width of the terminal on `fd` (stderr for the live line), if it is one; `COLUMNS` or
/// 80 otherwise.
pub fn terminal_columns(fd: impl std::os::fd::AsFd) -> u16 {
    match rustix::termios::tcgetwinsize(fd) {
        Ok(size) if size.ws_col > 0 => size.ws_col,
        _ => std::env::var("COLUMNS")
            .ok()
            .and_then(|columns| columns.trim().parse().ok())
            .filter(|&columns| columns > 0)
            .unwrap_or(80),
    }
}

/// One statistics record: the SDK's `PerfStats` as it serialises (`total`, `current`,
/// `timestamp_ms`, `rtt_ms`, …) plus `timestamp_unix_ms` (the wall clock of the read).
pub fn record(stats: &PerfStats, now: SystemTime) -> serde_json::Map<String, serde_json::Value> {
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
    record
}

/// Flattens nested objects into `parent.child` keys (for CSV columns), in order.
fn flatten(
    prefix: &str,
    record: &serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<(String, serde_json::Value)>,
) {
    for (key, value) in record {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            serde_json::Value::Object(inner) => flatten(&name, inner, out),
            other => out.push((name, other.clone())),
        }
    }
}

/// The format of the statistics records (`--stats-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// Comma-separated values, one header line with the field names first.
    Csv,
}

/// Writes records in one [`StatsFormat`]; for CSV, the header before the first record unless
/// the output already has content (a file appended to).
#[derive(Debug)]
pub struct RecordWriter<W> {
    out: W,
    format: StatsFormat,
    header_due: bool,
}

impl<W: Write> RecordWriter<W> {
    /// A writer to `out`; `out_is_empty` says whether a CSV header is still to be written.
    pub fn new(out: W, format: StatsFormat, out_is_empty: bool) -> Self {
        RecordWriter {
            out,
            format,
            header_due: out_is_empty,
        }
    }

    /// Writes one record as one line, and flushes.
    ///
    /// ```
    /// use tmio::stats_view::{RecordWriter, StatsFormat};
    ///
    /// let mut record = serde_json::Map::new();
    /// record.insert("a".into(), 1.into());
    /// record.insert("b".into(), "x,y".into());
    /// let mut out = Vec::new();
    /// let mut writer = RecordWriter::new(&mut out, StatsFormat::Csv, true);
    /// writer.write(&record)?;
    /// writer.write(&record)?;
    /// assert_eq!(String::from_utf8_lossy(&out), "a,b\n1,\"x,y\"\n1,\"x,y\"\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(
        &mut self,
        record: &serde_json::Map<String, serde_json::Value>,
    ) -> std::io::Result<()> {
        match self.format {
            StatsFormat::Json => {
                writeln!(self.out, "{}", serde_json::Value::Object(record.clone()))?
            }
            StatsFormat::Csv => {
                let mut columns = Vec::new();
                flatten("", record, &mut columns);
                if self.header_due {
                    let names: Vec<String> =
                        columns.iter().map(|(name, _)| csv_field(name)).collect();
                    writeln!(self.out, "{}", names.join(","))?;
                    self.header_due = false;
                }
                let values: Vec<String> = columns
                    .iter()
                    .map(|(_, value)| match value {
                        serde_json::Value::String(text) => csv_field(text),
                        serde_json::Value::Null => String::new(),
                        other => csv_field(&other.to_string()),
                    })
                    .collect();
                writeln!(self.out, "{}", values.join(","))?;
            }
        }
        self.out.flush()
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
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

    fn large() -> Figures {
        Figures {
            elapsed_ms: 359_999_000,
            bytes_sent: 123_456_789_012_345,
            packets_sent: 9_876_543_210,
            packets_lost: 1_234_567_890,
            packets_retransmitted: 1_234_567_890,
            rtt_ms: Some(12_345.6),
            packets_in_flight: 123_456,
            bytes_in_flight: 123_456_789,
        }
    }

    #[test]
    fn record_carries_timestamp_and_the_sdks_perf_stats() {
        let mut stats = PerfStats {
            rtt_ms: 3.0,
            ..PerfStats::default()
        };
        stats.total.byte_sent = 42;
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let record = record(&stats, at);
        assert_eq!(record["timestamp_unix_ms"], 1_700_000_000_123u64);
        assert_eq!(record["rtt_ms"], 3.0);
        assert_eq!(record["total"]["byte_sent"], 42);
        assert!(record.get("current").is_some());
        assert!(record.get("bytes_in_flight").is_some());
    }

    #[test]
    fn json_and_csv_records_are_one_line_each_with_the_same_fields() {
        let mut stats = PerfStats::default();
        stats.total.pkt_sent = 5;
        let record = record(&stats, UNIX_EPOCH);
        let mut json = Vec::new();
        RecordWriter::new(&mut json, StatsFormat::Json, true)
            .write(&record)
            .unwrap();
        let json = String::from_utf8(json).unwrap();
        assert_eq!(json.matches('\n').count(), 1);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.as_object(), Some(&record));

        let mut csv = Vec::new();
        let mut writer = RecordWriter::new(&mut csv, StatsFormat::Csv, true);
        writer.write(&record).unwrap();
        writer.write(&record).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        let names: Vec<&str> = lines[0].split(',').collect();
        let mut flat = Vec::new();
        flatten("", &record, &mut flat);
        assert_eq!(
            names,
            flat.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
        );
        assert_eq!(lines[1].split(',').count(), names.len());
        // The nested blocks become dotted columns.
        let column = names.iter().position(|n| *n == "total.pkt_sent");
        assert_eq!(column.map(|c| lines[1].split(',').nth(c)), Some(Some("5")));
    }

    #[test]
    fn csv_appended_to_a_file_with_content_has_no_second_header() {
        let record = record(&PerfStats::default(), UNIX_EPOCH);
        let mut out = Vec::new();
        RecordWriter::new(&mut out, StatsFormat::Csv, false)
            .write(&record)
            .unwrap();
        assert!(!String::from_utf8(out)
            .unwrap()
            .contains("timestamp_unix_ms"));
    }

    #[test]
    fn rate_meter_survives_a_clock_that_does_not_move() {
        let mut meter = RateMeter::new();
        let figures = Figures::default();
        assert_eq!(meter.send_rate_mbps(&figures), 0.0);
        assert_eq!(meter.send_rate_mbps(&figures), 0.0);
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
        let line = display_line(&Figures::default(), 0.0, 200);
        assert!(line.contains("0 lost (0.00%)"), "{line}");
    }

    #[test]
    fn an_unmeasured_rtt_is_not_shown_as_a_figure() {
        let stats = ConnectionStats {
            rtt_ms: 100.0,
            acks_received: 0,
            ..ConnectionStats::default()
        };
        let figures = Figures::from_stats(&stats);
        assert_eq!(figures.rtt_ms, None);
        assert!(display_line(&figures, 0.0, 200).contains("rtt not measured yet"));
        assert!(display_line(&figures, 0.0, 80).contains("rtt -"));
        let measured = Figures::from_stats(&ConnectionStats {
            rtt_ms: 0.4,
            acks_received: 1,
            ..ConnectionStats::default()
        });
        assert_eq!(measured.rtt_ms, Some(0.4));
    }

    #[test]
    fn every_width_is_respected_and_labels_totals() {
        for figures in [Figures::default(), large()] {
            for columns in [1u16, 2, 20, 40, 79, 80, 81, 100, 120, 132, 200, 400] {
                let line = display_line(&figures, 12_345.67, columns);
                assert!(
                    line.chars().count() < usize::from(columns.max(2)),
                    "{columns}: {line}"
                );
                assert!(!line.contains(['\n', '\r']), "{line}");
                if columns >= 80 && figures == Figures::default() {
                    assert!(line.contains("total"), "{columns}: {line}");
                    assert!(line.contains("0:00:00"), "{columns}: {line}");
                }
            }
        }
    }

    #[test]
    fn elapsed_and_bytes_read_as_people_write_them() {
        assert_eq!(clock(0), "0:00:00");
        assert_eq!(clock(3_723_999), "1:02:03");
        assert_eq!(bytes(999, " "), "999 B");
        assert_eq!(bytes(1_500, " "), "1.50 kB");
        assert_eq!(bytes(12_345_678, ""), "12.35MB");
        assert_eq!(bytes(5_000_000_000_000_000, " "), "5000.00 TB");
    }
}
