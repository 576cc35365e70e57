//! [`PerfStats`]: the reference SDK's statistics record (`tmio-stats.h`), with its field and JSON
//! names, built from tmio's richer [`ConnectionStats`].

use serde::Serialize;
use tmio_transport::srt::SrtMonitor;

use crate::ConnectionStats;

/// The SDK's `PerfStats::BaseInfo`: packet and byte counters, over the whole connection
/// ([`PerfStats::total`]) or since the previous read ([`PerfStats::current`]).
///
/// The byte forms of losses and drops are estimates, as in libsrt (whose `byteRcvLoss` is
/// estimated the same way): the packets counted times the average payload of the packets sent
/// (`byte_sent_drop`) or received (`byte_recv_loss`, `byte_recv_drop`) in the same span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PerfCounters {
    /// Data packets sent, including retransmissions.
    pub pkt_sent: i64,
    /// Data packets received.
    pub pkt_recv: i64,
    /// Packets the peer reported lost (its NAKs): losses on the sending side.
    pub pkt_sent_loss: i64,
    /// Packets our receiver found missing.
    pub pkt_recv_loss: i64,
    /// Data packets retransmitted.
    pub pkt_retrans: i64,
    /// ACK packets sent.
    pub pkt_sent_ack: i64,
    /// ACK packets received.
    pub pkt_recv_ack: i64,
    /// NAK packets sent.
    pub pkt_sent_nak: i64,
    /// NAK packets received.
    pub pkt_recv_nak: i64,
    /// Packets our sender dropped as too late to send (live mode with too-late drop only).
    pub pkt_sent_drop: i64,
    /// Packets our receiver gave up on as too late to play (live mode with too-late drop only).
    pub pkt_recv_drop: i64,
    /// Payload bytes sent, including retransmissions.
    pub byte_sent: i64,
    /// Payload bytes received.
    pub byte_recv: i64,
    /// Payload bytes missing at our receiver (estimated, see above).
    pub byte_recv_loss: i64,
    /// Payload bytes retransmitted.
    pub byte_retrans: i64,
    /// Payload bytes our sender dropped as too late (estimated, see above).
    pub byte_sent_drop: i64,
    /// Payload bytes our receiver gave up on as too late (estimated, see above).
    pub byte_recv_drop: i64,
}

/// The SDK's `PerfStats`: counters since the start (`total`) and since the previous read
/// (`current`), and the connection's state at the read. Its JSON form (`serde_json`) uses the
/// SDK's field names.
///
/// Rates are over the span of `current` (since the previous read; since the start on the first
/// read), like the SDK's per-read interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PerfStats {
    /// Counters since the connection started.
    pub total: PerfCounters,
    /// Counters since the previous read of this reader.
    pub current: PerfCounters,
    /// Time since the connection started, ms.
    pub timestamp_ms: i64,
    /// Payload bytes sent and not yet acknowledged.
    pub bytes_in_flight: i64,
    /// Send rate over `current`'s span, payload incl. retransmissions, Mbit/s.
    pub sent_rate_mbps: f64,
    /// Receive rate over `current`'s span, payload, Mbit/s.
    pub recv_rate_mbps: f64,
    /// The peer's estimate of the link capacity towards it, Mbit/s (0: not known yet).
    pub bandwidth_mbps: f64,
    /// Smoothed round-trip time, ms.
    pub rtt_ms: f64,
    /// Rate of delivery to the application over `current`'s span, Mbit/s.
    pub delivery_rate_mbps: f64,
    /// Highest number of payload bytes the send buffer has held.
    pub sent_buffer_watermark: f64,
    /// Highest number of payload bytes the receive buffer has held.
    pub recv_buffer_watermark: f64,
}

impl PerfStats {
    /// The SDK's `toStr(compat)`: JSON on one line (`compact`) or indented.
    pub fn to_json(&self, compact: bool) -> String {
        let text = if compact {
            serde_json::to_string(self)
        } else {
            serde_json::to_string_pretty(self)
        };
        // Serialising plain numbers cannot fail; an empty object is the fallback if it ever did.
        text.unwrap_or_else(|_| "{}".to_owned())
    }
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `packets` times the average payload of `bytes` over `count` packets.
fn estimated_bytes(packets: u64, bytes: u64, count: u64) -> i64 {
    if count == 0 {
        return 0;
    }
    let estimate = u128::from(packets) * u128::from(bytes) / u128::from(count);
    i64::try_from(estimate).unwrap_or(i64::MAX)
}

/// The counters between two snapshots (`since` = all zero gives the totals).
fn counters(now: &ConnectionStats, since: &ConnectionStats) -> PerfCounters {
    let delta = |now: u64, since: u64| now.saturating_sub(since);
    let packets_sent = delta(now.packets_sent, since.packets_sent);
    let bytes_sent = delta(now.bytes_sent, since.bytes_sent);
    let packets_received = delta(now.packets_received, since.packets_received);
    let bytes_received = delta(now.bytes_received, since.bytes_received);
    let lost = delta(now.packets_lost, since.packets_lost);
    let send_dropped = delta(now.packets_send_dropped, since.packets_send_dropped);
    let receive_dropped = delta(now.packets_receive_dropped, since.packets_receive_dropped);
    PerfCounters {
        pkt_sent: signed(packets_sent),
        pkt_recv: signed(packets_received),
        pkt_sent_loss: signed(delta(
            now.packets_reported_lost,
            since.packets_reported_lost,
        )),
        pkt_recv_loss: signed(lost),
        pkt_retrans: signed(delta(
            now.packets_retransmitted,
            since.packets_retransmitted,
        )),
        pkt_sent_ack: signed(delta(now.acks_sent, since.acks_sent)),
        pkt_recv_ack: signed(delta(now.acks_received, since.acks_received)),
        pkt_sent_nak: signed(delta(now.naks_sent, since.naks_sent)),
        pkt_recv_nak: signed(delta(now.naks_received, since.naks_received)),
        pkt_sent_drop: signed(send_dropped),
        pkt_recv_drop: signed(receive_dropped),
        byte_sent: signed(bytes_sent),
        byte_recv: signed(bytes_received),
        byte_recv_loss: estimated_bytes(lost, bytes_received, packets_received),
        byte_retrans: signed(delta(now.bytes_retransmitted, since.bytes_retransmitted)),
        byte_sent_drop: estimated_bytes(send_dropped, bytes_sent, packets_sent),
        byte_recv_drop: estimated_bytes(receive_dropped, bytes_received, packets_received),
    }
}

/// Mbit/s of `bytes` over `ms` milliseconds (0 over no time).
fn mbps(bytes: u64, ms: u64) -> f64 {
    if ms == 0 {
        0.0
    } else {
        bytes as f64 * 8.0 / (ms as f64 * 1000.0)
    }
}

/// Turns successive [`ConnectionStats`] snapshots into [`PerfStats`]: each read's `current`
/// block counts from the previous read (so it restarts at every read, as in the SDK).
#[derive(Debug, Clone, Default)]
pub struct PerfStatsInterval {
    previous: ConnectionStats,
}

impl PerfStatsInterval {
    /// An interval starting at the connection's start.
    pub fn new() -> PerfStatsInterval {
        PerfStatsInterval::default()
    }

    /// The record for `now`; the next one's `current` block starts here.
    pub fn next(&mut self, now: &ConnectionStats) -> PerfStats {
        let since = std::mem::replace(&mut self.previous, now.clone());
        let span_ms = now.elapsed_ms.saturating_sub(since.elapsed_ms);
        let current = counters(now, &since);
        PerfStats {
            total: counters(now, &ConnectionStats::default()),
            current,
            timestamp_ms: signed(now.elapsed_ms),
            bytes_in_flight: signed(now.bytes_in_flight),
            sent_rate_mbps: mbps(current.byte_sent.unsigned_abs(), span_ms),
            recv_rate_mbps: mbps(current.byte_recv.unsigned_abs(), span_ms),
            bandwidth_mbps: now.estimated_link_bandwidth_mbps,
            rtt_ms: now.rtt_ms,
            delivery_rate_mbps: mbps(
                now.bytes_delivered.saturating_sub(since.bytes_delivered),
                span_ms,
            ),
            sent_buffer_watermark: now.send_buffer_high_water_bytes as f64,
            recv_buffer_watermark: now.receive_buffer_high_water_bytes as f64,
        }
    }
}

/// Reads [`PerfStats`] of a running connection: each [`PerfStatsReader::read`] restarts the
/// `current` block.
#[derive(Debug, Clone)]
pub struct PerfStatsReader {
    monitor: SrtMonitor,
    interval: PerfStatsInterval,
}

impl PerfStatsReader {
    /// A reader of `monitor`'s connection; its first `current` block counts from the start.
    pub fn new(monitor: SrtMonitor) -> PerfStatsReader {
        PerfStatsReader {
            monitor,
            interval: PerfStatsInterval::new(),
        }
    }

    /// The SDK's record now; `current` counts since the previous read.
    pub fn read(&mut self) -> PerfStats {
        let now = self.monitor.stats();
        self.interval.next(&now)
    }

    /// tmio's richer statistics now (the `current` block is not restarted).
    pub fn connection_stats(&self) -> ConnectionStats {
        self.monitor.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_estimates_use_the_average_payload() {
        assert_eq!(estimated_bytes(2, 3000, 3), 2000);
        assert_eq!(estimated_bytes(5, 0, 0), 0);
        assert_eq!(estimated_bytes(u64::MAX, u64::MAX, 1), i64::MAX);
    }

    #[test]
    fn rates_over_no_time_are_zero() {
        assert_eq!(mbps(1000, 0), 0.0);
        assert_eq!(mbps(125_000, 1000), 1.0);
    }
}
