//! Sequence-number and timestamp arithmetic.
//!
//! On the wire SRT sequence numbers are 31-bit and wrap; inside the data path every packet is named by
//! an *absolute* index (`u64`, 0 = the initial sequence number) so that ordering, ranges and ring-buffer
//! offsets are plain integer arithmetic. Wire numbers coming from the peer are mapped back to absolute
//! indices relative to a nearby reference (the nearest interpretation within ±2^30 wins).

use std::time::{Duration, Instant};

use srt_protocol::packet::{SeqNumber, TimeStamp};

/// Number of distinct wire sequence numbers (2^31).
const SEQ_MODULUS: u64 = 1 << 31;
/// Half the sequence space: the largest distance that still has an unambiguous direction.
const SEQ_HALF: u64 = 1 << 30;

/// Maps absolute packet indices to wire sequence numbers and back for one direction of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeqSpace {
    initial: u32,
}

impl SeqSpace {
    /// A space whose absolute index 0 is `initial` on the wire.
    pub(crate) fn new(initial: SeqNumber) -> Self {
        Self {
            initial: initial.as_raw(),
        }
    }

    /// The wire sequence number of absolute index `abs`.
    pub(crate) fn to_wire(self, abs: u64) -> SeqNumber {
        SeqNumber::new_truncate(((u64::from(self.initial) + abs) % SEQ_MODULUS) as u32)
    }

    /// The absolute index of `wire`, taking the interpretation closest to `reference`.
    /// `None` when that interpretation would lie before index 0 (a sequence number from before the
    /// connection started, i.e. garbage).
    pub(crate) fn to_abs(self, reference: u64, wire: SeqNumber) -> Option<u64> {
        let reference_wire = u64::from(self.to_wire(reference).as_raw());
        let forward = (u64::from(wire.as_raw()) + SEQ_MODULUS - reference_wire) % SEQ_MODULUS;
        if forward < SEQ_HALF {
            Some(reference + forward)
        } else {
            reference.checked_sub(SEQ_MODULUS - forward)
        }
    }
}

/// The packet timestamp for `now`: microseconds since `start`, wrapping every 2^32 µs (~71 min).
pub(crate) fn timestamp_at(start: Instant, now: Instant) -> TimeStamp {
    let micros = now.saturating_duration_since(start).as_micros();
    TimeStamp::from_micros((micros % (1u128 << 32)) as u32)
}

/// Unwraps 32-bit packet timestamps into a monotonic-ish 64-bit microsecond count.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimestampUnwrapper {
    last: Option<(u32, i64)>,
}

impl TimestampUnwrapper {
    /// The 64-bit value of `ts`, taken as the interpretation closest to the previous timestamp seen.
    pub(crate) fn unwrap(&mut self, ts: TimeStamp) -> i64 {
        let raw = ts.as_micros();
        let value = match self.last {
            None => i64::from(raw),
            Some((last_raw, last_value)) => {
                let delta = raw.wrapping_sub(last_raw) as i32;
                last_value + i64::from(delta)
            }
        };
        // Only move the reference forward so that a late retransmission does not drag it back.
        match self.last {
            Some((_, last_value)) if value < last_value => {}
            _ => self.last = Some((raw, value)),
        }
        value
    }
}

/// `base + micros` for a signed microsecond offset. Offsets that cannot be represented (timestamps
/// from a misbehaving peer) saturate at `base` instead of panicking.
pub(crate) fn instant_plus_micros(base: Instant, micros: i64) -> Instant {
    let offset = Duration::from_micros(micros.unsigned_abs());
    let moved = if micros >= 0 {
        base.checked_add(offset)
    } else {
        base.checked_sub(offset)
    };
    moved.unwrap_or(base)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn wire_round_trip_across_the_wrap() {
        let space = SeqSpace::new(SeqNumber::new_truncate((1 << 31) - 3));
        for abs in 0..10u64 {
            let wire = space.to_wire(abs);
            assert_eq!(space.to_abs(abs, wire), Some(abs));
            assert_eq!(space.to_abs(abs + 1000, wire), Some(abs));
            assert_eq!(space.to_abs(abs.saturating_sub(5), wire), Some(abs));
        }
        assert_eq!(space.to_wire(3).as_raw(), 0);
    }

    #[test]
    fn numbers_before_the_start_are_rejected() {
        let space = SeqSpace::new(SeqNumber::new_truncate(100));
        assert_eq!(space.to_abs(0, SeqNumber::new_truncate(99)), None);
        assert_eq!(space.to_abs(5, SeqNumber::new_truncate(102)), Some(2));
    }

    #[test]
    fn far_numbers_map_to_nearest_interpretation() {
        let space = SeqSpace::new(SeqNumber::new_truncate(0));
        let reference = 3 * (1u64 << 31) + 10;
        assert_eq!(
            space.to_abs(reference, SeqNumber::new_truncate(5)),
            Some(reference - 5)
        );
        assert_eq!(
            space.to_abs(reference, SeqNumber::new_truncate(20)),
            Some(reference + 10)
        );
    }

    #[test]
    fn timestamps_unwrap_past_32_bits() {
        let mut unwrapper = TimestampUnwrapper::default();
        assert_eq!(
            unwrapper.unwrap(TimeStamp::from_micros(u32::MAX - 10)),
            i64::from(u32::MAX - 10)
        );
        assert_eq!(
            unwrapper.unwrap(TimeStamp::from_micros(5)),
            i64::from(u32::MAX) + 6
        );
        // A late packet from just before the wrap still maps below the reference.
        assert_eq!(
            unwrapper.unwrap(TimeStamp::from_micros(u32::MAX - 1)),
            i64::from(u32::MAX) - 1
        );
    }

    #[test]
    fn extreme_offsets_do_not_panic() {
        let base = Instant::now();
        assert!(instant_plus_micros(base, i64::MAX) >= base);
        assert!(instant_plus_micros(base, i64::MIN) <= base);
        assert_eq!(
            instant_plus_micros(base, 1500),
            base + Duration::from_micros(1500)
        );
    }

    #[test]
    fn timestamp_at_counts_micros() {
        let start = Instant::now();
        assert_eq!(
            timestamp_at(start, start + Duration::from_millis(3)).as_micros(),
            3000
        );
        assert_eq!(
            timestamp_at(start + Duration::from_secs(1), start).as_micros(),
            0
        );
    }
}
