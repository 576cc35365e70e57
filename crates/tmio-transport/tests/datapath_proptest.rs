//! Property: over any network in the tested envelope, reliable mode delivers every byte in order
//! both ways (or is still working when the time limit ends — never corrupts, never loses).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use proptest::prelude::*;
use tmio_transport::sim::{transfer, NetworkConfig};

fn network() -> impl Strategy<Value = NetworkConfig> {
    (
        0.0f64..0.35,
        0u64..80,
        0u64..30,
        0.0f64..0.2,
        0.0f64..0.2,
        proptest::option::of(300_000u64..20_000_000),
        16_000usize..1_000_000,
        proptest::option::of((0u64..2000, 0u64..4000)),
    )
        .prop_map(
            |(loss, delay_ms, jitter_ms, reorder, duplicate, rate, queue_bytes, blackout)| {
                NetworkConfig {
                    loss,
                    delay: Duration::from_millis(delay_ms),
                    jitter: Duration::from_millis(jitter_ms),
                    reorder,
                    duplicate,
                    rate,
                    queue_bytes,
                    blackout: blackout.map(|(at, length)| {
                        (Duration::from_millis(at), Duration::from_millis(length))
                    }),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn reliable_mode_delivers_exactly_what_was_written(
        seed in any::<u64>(),
        network in network(),
        left_bytes in 0u64..400_000,
        right_bytes in 0u64..400_000,
    ) {
        let report = transfer(seed, network, left_bytes, right_bytes, Duration::from_secs(300));
        prop_assert!(report.complete(), "{:?}", report);
        prop_assert_eq!(report.spins, 0);
    }
}
