//! Rate control under simulated time: the presets' adaptive rate under a cap against libsrt's
//! fixed rate on a slow link, pacing latency of a stream below the cap, and what the
//! retransmission timeout resends at heavy loss and on long round trips.
//!
//! Every figure here is simulated (packets, bytes, simulated milliseconds), so the assertions are
//! about behaviour, not about the speed of this machine.

use std::time::{Duration, Instant};

use tmio_transport::sim::{
    connection_config, transfer_with, AppStep, NetworkConfig, Simulation, TransferReport,
};
use tmio_transport::srt::connection::DeliveryMode;
use tmio_transport::srt::{RateControl, DEFAULT_RATE_CAP};

/// The rtmp preset's payload size.
const PAYLOAD: usize = 1316;

/// A 5 Mbit/s uplink behind a 10 ms path, with a tbf-like drop-tail queue of 32 KiB.
fn slow_uplink() -> NetworkConfig {
    NetworkConfig {
        delay: Duration::from_millis(10),
        rate: Some(625_000),
        queue_bytes: 32 * 1024,
        ..NetworkConfig::default()
    }
}

/// Pushes `bytes` left → right with `rate_control` on the sender, reliable mode.
fn push(
    network: NetworkConfig,
    rate_control: RateControl,
    bytes: u64,
    seed: u64,
) -> TransferReport {
    let start = Instant::now();
    let mut left = connection_config(0xA, 0xB, DeliveryMode::Reliable, start);
    let mut right = connection_config(0xB, 0xA, DeliveryMode::Reliable, start);
    left.payload_size = PAYLOAD;
    right.payload_size = PAYLOAD;
    left.rate_control = rate_control;
    transfer_with(
        seed,
        network,
        left,
        right,
        bytes,
        0,
        Duration::from_secs(120),
        start,
    )
}

/// Retransmitted bytes per payload byte delivered.
fn retransmission_overhead(report: &TransferReport) -> f64 {
    report.left_stats.bytes_retransmitted as f64 / report.left_to_right.0 as f64
}

#[test]
fn the_presets_adaptive_rate_does_not_flood_a_slow_uplink_and_a_fixed_rate_does() {
    let bytes = 3_000_000;
    let adaptive = push(
        slow_uplink(),
        RateControl::Adaptive {
            cap: Some(DEFAULT_RATE_CAP),
        },
        bytes,
        1,
    );
    let fixed = push(
        slow_uplink(),
        RateControl::Fixed {
            bytes_per_second: DEFAULT_RATE_CAP,
        },
        bytes,
        1,
    );
    for report in [&adaptive, &fixed] {
        assert!(report.complete(), "{report:?}");
    }
    let adaptive_overhead = retransmission_overhead(&adaptive);
    let fixed_overhead = retransmission_overhead(&fixed);
    println!(
        "5 Mbit/s uplink, 3 MB: adaptive under the cap {:.1} % retransmitted in {:?} ({} queue drops); \
         fixed at the cap {:.1} % in {:?} ({} queue drops)",
        adaptive_overhead * 100.0,
        adaptive.elapsed,
        adaptive.links.0.queue_drops,
        fixed_overhead * 100.0,
        fixed.elapsed,
        fixed.links.0.queue_drops,
    );
    // What the issue measured with the fixed rate: most packets sent twice or more.
    assert!(fixed_overhead > 0.5, "fixed {fixed_overhead}");
    assert!(adaptive_overhead < 0.05, "adaptive {adaptive_overhead}");
    // And the adaptive sender is not much slower for it: the link's rate is the limit.
    let floor = Duration::from_secs_f64(bytes as f64 / 625_000.0);
    assert!(
        adaptive.elapsed < floor * 13 / 10,
        "adaptive took {:?}, the link needs {floor:?}",
        adaptive.elapsed
    );
    assert!(
        adaptive.elapsed < fixed.elapsed * 6 / 5,
        "{adaptive:?}\n{fixed:?}"
    );
}

/// Added latency of a 20 Mbit/s stream of 1316-byte writes (one every 526.4 µs) over a clean
/// path with `rate_control`, in microseconds above the path's one-way delay, sorted.
fn stream_latencies(rate_control: RateControl, seconds: u64) -> Vec<u64> {
    stream_latencies_with_stall(rate_control, seconds, None)
}

/// [`stream_latencies`] with the pusher stalled for a while (`(from, length)` after the start):
/// it then writes everything that came due at once, as a real pusher catching up does.
fn stream_latencies_with_stall(
    rate_control: RateControl,
    seconds: u64,
    stall: Option<(Duration, Duration)>,
) -> Vec<u64> {
    let start = Instant::now();
    let mut left = connection_config(0xA, 0xB, DeliveryMode::Reliable, start);
    let mut right = connection_config(0xB, 0xA, DeliveryMode::Reliable, start);
    left.payload_size = PAYLOAD;
    right.payload_size = PAYLOAD;
    left.rate_control = rate_control;
    let network = NetworkConfig {
        delay: Duration::from_millis(5),
        ..NetworkConfig::default()
    };
    let one_way = network.delay;
    let mut simulation = Simulation::new(3, network, left, right, start);
    let interval = Duration::from_nanos(1_000_000_000 * PAYLOAD as u64 / 2_500_000);
    let writes = seconds * 1_000_000_000 / interval.as_nanos() as u64;
    let mut written = 0u64;
    let mut received = 0usize;
    let mut latencies = Vec::with_capacity(writes as usize);
    let mut buf = vec![0u8; 64 * 1024];
    let chunk = [0x5Au8; PAYLOAD];
    simulation.run(Duration::from_secs(seconds + 5), |now, left, right| {
        let stalled =
            stall.is_some_and(|(from, length)| now >= start + from && now < start + from + length);
        while written < writes && !stalled {
            let due = start + interval * written as u32;
            if due > now {
                break;
            }
            // The send buffer (2 MiB) never fills at this rate unless pacing holds the stream
            // back for seconds; a short write would count as latency anyway.
            let taken = left.write(now, &chunk).unwrap_or(0);
            assert_eq!(taken, PAYLOAD, "the send buffer filled up");
            written += 1;
        }
        loop {
            let read = right.read(now, &mut buf);
            if read == 0 {
                break;
            }
            let before = received / PAYLOAD;
            received += read;
            for index in before..received / PAYLOAD {
                let due = start + interval * index as u32;
                let added = now.saturating_duration_since(due).saturating_sub(one_way);
                latencies.push(added.as_micros() as u64);
            }
        }
        let next_write = match stall {
            Some((from, length)) if stalled => start + from + length,
            _ => start + interval * written as u32,
        };
        AppStep {
            done: latencies.len() as u64 >= writes,
            wake_at: (written < writes).then_some(next_write),
        }
    });
    assert_eq!(latencies.len() as u64, writes, "not everything arrived");
    latencies.sort_unstable();
    latencies
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn pacing_adds_no_latency_to_a_20_mbit_stream_below_the_presets_cap() {
    let capped = stream_latencies(
        RateControl::Adaptive {
            cap: Some(DEFAULT_RATE_CAP),
        },
        10,
    );
    let uncapped = stream_latencies(RateControl::UNCAPPED, 10);
    // libsrt's fixed pacing at the old default of 2 500 000 B/s: headers included, that is
    // below the stream's 2.58 MB/s on the wire, so the stream queues behind the pacer.
    let fixed_below = stream_latencies(
        RateControl::Fixed {
            bytes_per_second: 2_500_000,
        },
        10,
    );
    for (name, latencies) in [
        ("adaptive, 20 Mibit/s cap", &capped),
        ("adaptive, no cap", &uncapped),
        ("fixed 2 500 000 B/s", &fixed_below),
    ] {
        println!(
            "{name}: added latency p50 {} µs, p99 {} µs, max {} µs",
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            latencies[latencies.len() - 1]
        );
    }
    assert!(
        percentile(&capped, 0.99) < 1_000,
        "{}",
        percentile(&capped, 0.99)
    );
    assert!(
        percentile(&uncapped, 0.99) < 1_000,
        "{}",
        percentile(&uncapped, 0.99)
    );
    assert!(
        percentile(&fixed_below, 0.99) > 50_000,
        "{}",
        percentile(&fixed_below, 0.99)
    );
}

#[test]
fn a_stream_just_below_the_cap_catches_up_after_its_pusher_stalled() {
    // The pusher stops for 200 ms (a scheduling hiccup, a full encoder buffer), then writes the
    // 500 kB that came due at once. A fixed rate at the cap drains that at the cap's 1.4 %
    // headroom over the stream: every record after the stall carries most of the 200 ms for
    // the rest of the run. The presets' adaptive rate may go a quarter above the cap while the
    // cap bucket's two seconds last, so the backlog is gone within a fraction of a second.
    let stall = Some((Duration::from_secs(2), Duration::from_millis(200)));
    let capped = stream_latencies_with_stall(
        RateControl::Adaptive {
            cap: Some(DEFAULT_RATE_CAP),
        },
        10,
        stall,
    );
    let fixed = stream_latencies_with_stall(
        RateControl::Fixed {
            bytes_per_second: DEFAULT_RATE_CAP,
        },
        10,
        stall,
    );
    for (name, latencies) in [
        ("adaptive under the cap", &capped),
        ("fixed at the cap", &fixed),
    ] {
        println!(
            "200 ms stall, {name}: added latency p50 {} µs, p99 {} µs, max {} µs",
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            latencies[latencies.len() - 1]
        );
    }
    // The records written late by the stall itself carry up to 200 ms (2 % of the run, so the
    // p99 shows it); the catch-up adds nothing to that, and the median record is untouched.
    assert!(
        percentile(&capped, 0.5) < 1_000,
        "{}",
        percentile(&capped, 0.5)
    );
    assert!(
        percentile(&capped, 0.9) < 1_000,
        "{}",
        percentile(&capped, 0.9)
    );
    assert!(
        capped[capped.len() - 1] <= 201_000,
        "{}",
        capped[capped.len() - 1]
    );
    assert!(
        percentile(&fixed, 0.5) > 50_000,
        "{}",
        percentile(&fixed, 0.5)
    );
}

/// Pushes 1 MB through `loss` random loss each way with a `one_way` delay; returns the report.
fn lossy_push(loss: f64, one_way: Duration, seed: u64) -> TransferReport {
    let network = NetworkConfig {
        loss,
        delay: one_way,
        ..NetworkConfig::default()
    };
    push(network, RateControl::UNCAPPED, 1_000_000, seed)
}

#[test]
fn retransmissions_stay_close_to_what_was_lost_at_20_percent_loss() {
    for (one_way, seed) in [
        (Duration::from_millis(1), 11),
        (Duration::from_millis(10), 12),
        (Duration::from_millis(150), 13),
        (Duration::from_millis(300), 14),
    ] {
        let report = lossy_push(0.2, one_way, seed);
        assert!(report.complete(), "{report:?}");
        let lost = report.links.0.lost;
        let retransmitted = report.left_stats.packets_retransmitted;
        let first_sends = report.left_stats.packets_sent - retransmitted;
        println!(
            "20 % loss, {one_way:?} one way: {first_sends} packets, {lost} lost on the wire, \
             {retransmitted} retransmitted, {} timeouts, {:?}",
            report.left_stats.retransmission_timeouts, report.elapsed
        );
        // Every loss costs one retransmission; a few more for timeouts and lost NAKs. Resending
        // the flight on a timeout (what this replaced) once sent 1774 for about 800 packets.
        assert!(
            retransmitted as f64 <= lost as f64 * 1.3 + 20.0,
            "{retransmitted} retransmissions for {lost} losses"
        );
    }
}

#[test]
fn on_a_long_round_trip_the_receivers_repeated_naks_come_before_the_timer() {
    // 600 ms round trip, 10 % loss: the receiver repeats its NAKs every ~0.9 s; the timer must
    // not fire before them for packets whose retransmission was lost.
    let report = lossy_push(0.1, Duration::from_millis(300), 21);
    assert!(report.complete(), "{report:?}");
    let lost = report.links.0.lost;
    println!(
        "10 % loss, 600 ms RTT: {lost} lost, {} retransmitted, {} timeouts, {:?}",
        report.left_stats.packets_retransmitted,
        report.left_stats.retransmission_timeouts,
        report.elapsed
    );
    // Timeouts only where NAKs cannot help: the tail of the transfer (and a lost final ACK).
    assert!(
        report.left_stats.retransmission_timeouts <= 3,
        "{} timeouts",
        report.left_stats.retransmission_timeouts
    );
}

/// A live stream of `messages` messages of 1-4000 bytes (about 3.2 Mbit/s), one every 5 ms, over
/// `network` with a live latency of `latency`, too-late drop off: how long after the last write
/// the last message arrived, and how many congestion back-offs the sender made.
fn live_stream_lag(
    seed: u64,
    network: NetworkConfig,
    latency: Duration,
    messages: usize,
) -> (Duration, u64) {
    let start = Instant::now();
    let delivery = DeliveryMode::Live {
        recv_latency: latency,
        send_latency: latency,
        too_late_drop: false,
    };
    let mut left = connection_config(1, 2, delivery, start);
    let mut right = connection_config(2, 1, delivery, start);
    left.payload_size = PAYLOAD;
    right.payload_size = PAYLOAD;
    let mut simulation = Simulation::new(seed, network, left, right, start);
    // Sizes spread over 1..4000 bytes (a Weyl sequence: deterministic, no generator needed).
    let size = |index: usize| 1 + (index * 2_654_435_761 % 3_999);
    let message = vec![0x5Au8; 4000];
    let interval = Duration::from_millis(5);
    let mut written = 0usize;
    let mut delivered = 0usize;
    let mut last_delivery = start;
    let mut buf = vec![0u8; 8192];
    simulation.run(Duration::from_secs(60), |now, left, right| {
        while written < messages && start + interval * written as u32 <= now {
            let taken = left.write(now, &message[..size(written)]).unwrap_or(0);
            assert_eq!(taken, size(written), "the send buffer filled up");
            written += 1;
        }
        while right.read(now, &mut buf) > 0 {
            delivered += 1;
            last_delivery = now;
        }
        AppStep {
            done: delivered == messages,
            wake_at: Some((start + interval * written as u32).max(now + interval)),
        }
    });
    assert_eq!(delivered, messages, "not every message arrived");
    let last_write = start + interval * (messages as u32 - 1);
    let events = simulation.left.stats(simulation.now).congestion_events;
    (last_delivery.saturating_duration_since(last_write), events)
}

#[test]
fn a_live_stream_keeps_up_over_heavy_random_loss_with_jitter() {
    // Random loss and jitter are not congestion. On the short path the receiver got 83 % of
    // what was sent, which read as "falling behind" (under 90 %) while the jitter read as
    // queueing: the rate fell to its 1 Mbit/s floor in one seed, a second behind (18
    // back-offs). On the long one the peer's 100 ms initial RTT guess was taken for the path's
    // minimum RTT, so every later report (115 ms and more) looked queued: 1.26 s behind on
    // average over these seeds, 1.8 s at worst. With both fixed: 0.43 s at worst, 0.87 s on
    // average (1.2 s at worst); with NAKs repeated after SRTT + 4 RTTVar on an unqueued path
    // instead of 1.5 SRTT + 4 RTTVar: 0.30 s and 0.69 s (1.1 s: a hole that outlives several NAK
    // rounds still holds the congestion window, see docs/datapath.md).
    let short_jittery = NetworkConfig {
        loss: 0.167,
        delay: Duration::from_millis(4),
        jitter: Duration::from_millis(18),
        ..NetworkConfig::default()
    };
    let long_jittery = NetworkConfig {
        loss: 0.147,
        delay: Duration::from_millis(57),
        jitter: Duration::from_millis(17),
        reorder: 0.024,
        duplicate: 0.024,
        ..NetworkConfig::default()
    };
    let lags = |network: &NetworkConfig, latency: u64| -> Vec<(u128, u64)> {
        (0..8)
            .map(|seed| {
                let (lag, events) =
                    live_stream_lag(seed, network.clone(), Duration::from_millis(latency), 384);
                (lag.as_millis(), events)
            })
            .collect()
    };
    let short = lags(&short_jittery, 160);
    let long = lags(&long_jittery, 80);
    println!("(lag ms, back-offs): short path {short:?}, long path {long:?}");
    assert!(
        short.iter().all(|&(lag, _)| lag < 500),
        "4 ms ± 18 ms, 16.7 % loss: {short:?}"
    );
    let long_mean = long.iter().map(|&(lag, _)| lag).sum::<u128>() / long.len() as u128;
    assert!(long_mean < 1_000, "57 ms ± 17 ms, 14.7 % loss: {long:?}");
}
