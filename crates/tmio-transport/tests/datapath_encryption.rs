//! Encryption: payloads are encrypted once and travel encrypted (retransmissions included), decrypt
//! at the peer, survive key refreshes, and a plaintext/encrypted mismatch closes with a clear reason.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use srt_protocol::options::KeySize;
use srt_protocol::packet::{ControlPacket, ControlTypes, DataEncryption, Packet, SrtControlPacket};
use srt_protocol::settings::{KeyMaterialRefreshSettings, KeySettings};
use tmio_transport::sim::{connection_config, transfer_with, NetworkConfig};
use tmio_transport::srt::cipher::StreamCipher;
use tmio_transport::srt::connection::{
    CloseReason, Connection, ConnectionState, DeliveryMode, PathId,
};

fn cipher(refresh: KeyMaterialRefreshSettings) -> StreamCipher {
    let key_settings = KeySettings {
        key_size: KeySize::AES128,
        passphrase: "tmio passphrase 1234".into(),
    };
    StreamCipher::new_random(&key_settings).with_key_refresh(refresh)
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

#[test]
fn the_sender_switches_keys_on_the_wire_and_the_peer_follows() {
    let start = Instant::now();
    // A new key every 100 packets, announced 20 packets ahead.
    let cipher = cipher(KeyMaterialRefreshSettings::new(100, 20).unwrap());
    let mut left_config = connection_config(1, 2, DeliveryMode::Reliable, start);
    let mut right_config = connection_config(2, 1, DeliveryMode::Reliable, start);
    left_config.cipher = Some(cipher.clone());
    right_config.cipher = Some(cipher);
    let mut left = Connection::new(left_config, start);
    let mut right = Connection::new(right_config, start);
    let sent: Vec<u8> = (0..450 * 1456u32).map(|i| (i % 251) as u8).collect();
    let mut written = 0;
    let mut received = Vec::new();
    let mut parities = Vec::new();
    let mut announcements = 0;
    let mut now = start;
    for _ in 0..10_000 {
        if received.len() == sent.len() {
            break;
        }
        now += Duration::from_millis(1);
        // Ten packets a round: a packet is encrypted when written, so the peer's answer to an
        // announcement must come back before the packets after the switch are written.
        let chunk = (sent.len() - written).min(10 * 1456);
        written += left.write(now, &sent[written..written + chunk]).unwrap();
        while let Some(transmit) = left.poll_transmit(now) {
            match &transmit.packet {
                Packet::Data(data) if !data.retransmitted => parities.push(data.encryption),
                Packet::Control(ControlPacket {
                    control_type: ControlTypes::Srt(SrtControlPacket::KeyRefreshRequest(_)),
                    ..
                }) => announcements += 1,
                _ => {}
            }
            right.handle_packet(now, PathId::FIRST, transmit.packet);
        }
        while let Some(transmit) = right.poll_transmit(now) {
            left.handle_packet(now, PathId::FIRST, transmit.packet);
        }
        let mut buf = [0u8; 65536];
        loop {
            let read = right.read(now, &mut buf);
            if read == 0 {
                break;
            }
            received.extend_from_slice(&buf[..read]);
        }
    }
    assert!(
        received == sent,
        "{} of {} bytes, in order",
        received.len(),
        sent.len()
    );
    assert_eq!(parities.len(), 450);
    // Switched after every 100th packet, once the peer had answered each announcement.
    let switches = parities.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(switches, 4, "{parities:?}");
    assert_eq!(parities[0], DataEncryption::Even);
    assert_eq!(parities[101], DataEncryption::Odd);
    assert!(announcements >= 4, "{announcements} announcements");
    assert_eq!(right.state(), ConnectionState::Open);
}
