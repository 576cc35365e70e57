//! Cases that once failed, kept by name with their exact settings.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};
use tmio_transport::srt::RateControl;

use srt_protocol::options::KeySize;
use srt_protocol::settings::{KeyMaterialRefreshSettings, KeySettings};
use tmio_transport::sim::{connection_config, transfer_with, NetworkConfig};
use tmio_transport::srt::cipher::StreamCipher;
use tmio_transport::srt::connection::DeliveryMode;

/// Endpoint settings: payload size, send buffer, receive buffer, peer flow window, fixed rate
/// (`None`: adaptive, uncapped).
type Endpoint = (usize, usize, usize, u32, Option<u64>);

fn run_case(
    seed: u64,
    left: Endpoint,
    right: Endpoint,
    encrypted: bool,
    network: NetworkConfig,
    bytes: (u64, u64),
) {
    let start = Instant::now();
    let mut left_config = connection_config(0xA, 0xB, DeliveryMode::Reliable, start);
    let mut right_config = connection_config(0xB, 0xA, DeliveryMode::Reliable, start);
    for (config, settings) in [(&mut left_config, left), (&mut right_config, right)] {
        config.payload_size = settings.0;
        config.send_buffer_bytes = settings.1;
        config.recv_buffer_bytes = settings.2;
        config.peer_flow_window = settings.3;
        config.rate_control = settings
            .4
            .map_or(RateControl::UNCAPPED, |bytes_per_second| {
                RateControl::Fixed { bytes_per_second }
            });
    }
    if encrypted {
        let cipher = StreamCipher::new_random(&KeySettings {
            key_size: KeySize::AES256,
            passphrase: "stress passphrase".into(),
        })
        .with_key_refresh(KeyMaterialRefreshSettings::new(1000, 200).unwrap());
        left_config.cipher = Some(cipher.clone());
        right_config.cipher = Some(cipher);
    }
    let report = transfer_with(
        seed,
        network,
        left_config,
        right_config,
        bytes.0,
        bytes.1,
        Duration::from_secs(600),
        start,
    );
    assert!(report.complete(), "{report:?}");
    assert_eq!(report.spins, 0);
}

/// Stress seed 54 (first version): with a key refresh every 1000 packets and more packets than that
/// buffered, a retransmission was encrypted with a key the peer had already replaced, and arrived
/// as garbage. Fixed by bounding the buffered packets by the refresh period.
#[test]
fn stress_54_retransmission_outlived_its_encryption_key() {
    run_case(
        54,
        (524, 443_699, 2_046_427, 18_939, None),
        (227, 2_326_786, 1_153_774, 29_585, Some(36_086_680)),
        true,
        NetworkConfig {
            loss: 0.003_275_460_319_486_900_5,
            delay: Duration::from_micros(126_589),
            jitter: Duration::from_micros(16_948),
            reorder: 0.033_230_731_995_665_82,
            duplicate: 0.053_303_929_045_564_316,
            rate: None,
            queue_bytes: 580_417,
            blackout: None,
        },
        (2_770_227, 682_522),
    );
}

/// Stress seed 99 (first version): the same key-replacement corruption under 15 % loss and 19 %
/// duplication.
#[test]
fn stress_99_key_replacement_under_loss_and_duplication() {
    run_case(
        99,
        (1046, 915_205, 3_387_006, 21_595, Some(44_924_076)),
        (1392, 3_457_718, 1_625_931, 1910, None),
        true,
        NetworkConfig {
            loss: 0.145_603_741_371_961_36,
            delay: Duration::from_micros(98_124),
            jitter: Duration::from_micros(6_404),
            reorder: 0.007_705_688_404_896_849,
            duplicate: 0.189_450_752_836_785_8,
            rate: None,
            queue_bytes: 162_309,
            blackout: None,
        },
        (2_748_623, 710_815),
    );
}

/// Stress seed 7 (first version): tiny packets (141 bytes) so that the send buffer held far more
/// packets than a key period; 17 % loss, heavy reordering.
#[test]
fn stress_7_small_packets_many_buffered_under_reordering() {
    run_case(
        7,
        (141, 1_239_431, 584_286, 19_561, None),
        (1100, 2_390_737, 2_978_399, 7714, Some(1_227_201)),
        true,
        NetworkConfig {
            loss: 0.168_251_738_532_634_78,
            delay: Duration::from_micros(94_333),
            jitter: Duration::from_micros(26_453),
            reorder: 0.177_832_725_429_410_45,
            duplicate: 0.113_563_561_281_195_6,
            rate: None,
            queue_bytes: 1_288_212,
            blackout: None,
        },
        (2_361_011, 234_289),
    );
}
