//! Encryption: payloads are encrypted once and travel encrypted (retransmissions included), decrypt
//! at the peer, survive key refreshes, and a plaintext/encrypted mismatch closes with a clear reason.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use srt_protocol::options::KeySize;
use srt_protocol::packet::{DataEncryption, Packet};
use srt_protocol::settings::{CipherSettings, KeyMaterialRefreshSettings, KeySettings};
use tmio_transport::sim::{connection_config, transfer_with, NetworkConfig};
use tmio_transport::srt::connection::{
    CloseReason, Connection, ConnectionState, DeliveryMode, PathId,
};

fn cipher(refresh: KeyMaterialRefreshSettings) -> CipherSettings {
    let key_settings = KeySettings {
        key_size: KeySize::AES128,
        passphrase: "tmio passphrase 1234".into(),
    };
    CipherSettings::new_random(&key_settings, &refresh)
}

#[test]
fn an_encrypted_transfer_round_trips_over_a_lossy_path() {
    let start = Instant::now();
    let cipher = cipher(KeyMaterialRefreshSettings::default());
    let mut left = connection_config(1, 2, DeliveryMode::Reliable, start);
    let mut right = connection_config(2, 1, DeliveryMode::Reliable, start);
    left.cipher = Some(cipher.clone());
    right.cipher = Some(cipher);
    let network = NetworkConfig {
        loss: 0.1,
        ..NetworkConfig::default()
    };
    let report = transfer_with(
        4,
        network,
        left,
        right,
        1_000_000,
        300_000,
        Duration::from_secs(60),
        start,
    );
    assert!(report.complete(), "{report:?}");
    assert!(report.left_stats.packets_retransmitted > 0);
}

#[test]
fn key_refresh_is_announced_and_answered_mid_stream() {
    let start = Instant::now();
    // A new key every 200 packets, announced 50 packets ahead.
    let cipher = cipher(KeyMaterialRefreshSettings::new(200, 50).unwrap());
    let mut left = connection_config(1, 2, DeliveryMode::Reliable, start);
    let mut right = connection_config(2, 1, DeliveryMode::Reliable, start);
    left.cipher = Some(cipher.clone());
    right.cipher = Some(cipher);
    let report = transfer_with(
        5,
        NetworkConfig::default(),
        left,
        right,
        2_000_000,
        0,
        Duration::from_secs(60),
        start,
    );
    assert!(report.complete(), "{report:?}");
}

#[test]
fn payloads_on_the_wire_are_not_plaintext() {
    let start = Instant::now();
    let mut config = connection_config(1, 2, DeliveryMode::Reliable, start);
    config.cipher = Some(cipher(KeyMaterialRefreshSettings::default()));
    let mut connection = Connection::new(config, start);
    let plaintext = vec![b'A'; 1000];
    connection.write(start, &plaintext).unwrap();
    let mut data_packets = 0;
    while let Some(packet) = connection
        .poll_transmit(start)
        .map(|transmit| transmit.packet)
    {
        if let Packet::Data(data) = packet {
            assert_ne!(data.encryption, DataEncryption::None);
            assert_ne!(&data.payload[..], &plaintext[..]);
            data_packets += 1;
        }
    }
    assert_eq!(data_packets, 1);
}

#[test]
fn encrypted_data_without_a_passphrase_is_a_protocol_error() {
    let start = Instant::now();
    let mut sender_config = connection_config(1, 2, DeliveryMode::Reliable, start);
    sender_config.cipher = Some(cipher(KeyMaterialRefreshSettings::default()));
    let mut sender = Connection::new(sender_config, start);
    let mut receiver = Connection::new(
        connection_config(2, 1, DeliveryMode::Reliable, start),
        start,
    );
    sender.write(start, b"secret").unwrap();
    while let Some(packet) = sender.poll_transmit(start).map(|transmit| transmit.packet) {
        receiver.handle_packet(start, PathId::FIRST, packet);
    }
    let ConnectionState::Closed(CloseReason::Protocol(reason)) = receiver.state() else {
        panic!("{:?}", receiver.state());
    };
    assert!(reason.contains("no passphrase"), "{reason}");
    assert_eq!(receiver.read(start, &mut [0u8; 16]), 0);
}
