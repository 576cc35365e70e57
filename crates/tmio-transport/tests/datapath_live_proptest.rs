//! Property: in live mode over any network in the envelope, messages (including multi-packet ones)
//! arrive whole, unaltered, in order and never twice; with too-late drop off none is lost.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use proptest::prelude::*;
use tmio_transport::sim::{connection_config, fill_content, AppStep, NetworkConfig, Simulation};
use tmio_transport::srt::connection::DeliveryMode;

fn message(index: u64, len: usize) -> Vec<u8> {
    let mut message = vec![0u8; len.max(12)];
    message[..8].copy_from_slice(&index.to_le_bytes());
    message[8..12].copy_from_slice(&(len.max(12) as u32).to_le_bytes());
    fill_content(index, 12, &mut message[12..]);
    message
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn live_messages_arrive_whole_in_order_and_once(
        seed in any::<u64>(),
        loss in 0.0f64..0.2,
        delay_ms in 0u64..60,
        jitter_ms in 0u64..20,
        reorder in 0.0f64..0.1,
        duplicate in 0.0f64..0.1,
        latency_ms in 20u64..400,
        too_late_drop in any::<bool>(),
        sizes in proptest::collection::vec(1usize..4000, 50..400),
    ) {
        let start = Instant::now();
        let delivery = DeliveryMode::Live {
            recv_latency: Duration::from_millis(latency_ms),
            send_latency: Duration::from_millis(latency_ms),
            too_late_drop,
        };
        let network = NetworkConfig {
            loss,
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::from_millis(jitter_ms),
            reorder,
            duplicate,
            ..NetworkConfig::default()
        };
        let mut left = connection_config(1, 2, delivery, start);
        left.payload_size = 1316;
        let mut right = connection_config(2, 1, delivery, start);
        right.payload_size = 1316;
        let mut simulation = Simulation::new(seed, network, left, right, start);
        let mut written = 0usize;
        let mut delivered: Vec<u64> = Vec::new();
        let mut buf = vec![0u8; 8192];
        let mut next_write = start;
        let mut corrupt = None;
        simulation.run(Duration::from_secs(60), |now, left, right| {
            while written < sizes.len() && next_write <= now {
                let taken = left.write(now, &message(written as u64, sizes[written])).unwrap();
                if taken == 0 {
                    break;
                }
                written += 1;
                next_write += Duration::from_millis(5);
            }
            loop {
                let read = right.read(now, &mut buf);
                if read == 0 {
                    break;
                }
                let index = u64::from_le_bytes(buf[..8].try_into().unwrap());
                let len = u32::from_le_bytes(buf[8..12].try_into().unwrap()) as usize;
                let expected = message(index, len);
                if read != expected.len() || buf[..read] != expected[..] {
                    corrupt = Some(index);
                }
                delivered.push(index);
            }
            let all_written = written == sizes.len();
            AppStep {
                done: all_written && now > next_write + Duration::from_millis(latency_ms) * 4 + Duration::from_secs(2),
                wake_at: Some(next_write.max(now + Duration::from_millis(5))),
            }
        });
        prop_assert_eq!(corrupt, None);
        prop_assert_eq!(written, sizes.len());
        for pair in delivered.windows(2) {
            prop_assert!(pair[0] < pair[1], "out of order or twice: {:?}", pair);
        }
        if !too_late_drop {
            prop_assert_eq!(delivered.len(), sizes.len());
        }
    }
}
