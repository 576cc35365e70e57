//! The sans-IO data path alone: two `Connection`s joined by `tmio_transport::sim` links (no loss,
//! 50 µs one way), reliable mode, every byte checked. Measures CPU per byte of both ends plus the
//! simulator (packets are serialised and parsed on the way, as on a real wire), so regressions of
//! the hot path show here without a network. `aes256_clean_8MB` is the clean transfer with AES-256
//! on both ends. The `packet_cipher` group encrypts one 1456-byte payload the way tmio does (key
//! schedule kept per key, in place) and the way srt-protocol's `Encryption` does (schedule
//! expanded and payload copied per packet).
#![allow(clippy::panic)] // a benchmark stops loudly on a wrong result

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use srt_protocol::options::KeySize;
use srt_protocol::packet::{
    DataEncryption, DataPacket, MsgNumber, PacketLocation, SeqNumber, SocketId, TimeStamp,
};
use srt_protocol::protocol::encryption::Encryption;
use srt_protocol::settings::{CipherSettings, KeyMaterialRefreshSettings, KeySettings};
use tmio_transport::sim::{connection_config, transfer, transfer_with, NetworkConfig};
use tmio_transport::srt::cipher::StreamCipher;
use tmio_transport::srt::connection::DeliveryMode;

fn aes256() -> KeySettings {
    KeySettings {
        key_size: KeySize::AES256,
        passphrase: "benchmark passphrase".into(),
    }
}

fn bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("datapath");
    group.sample_size(10);
    let network = NetworkConfig {
        delay: Duration::from_micros(50),
        ..NetworkConfig::default()
    };
    for (name, bytes, loss) in [
        ("clean_8MB", 8_000_000u64, 0.0),
        ("loss_2pct_4MB", 4_000_000, 0.02),
    ] {
        let network = NetworkConfig {
            loss,
            ..network.clone()
        };
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(name, |b| {
            b.iter(|| {
                let report = transfer(1, network.clone(), bytes, 0, Duration::from_secs(600));
                assert!(report.complete(), "{report:?}");
                report
            })
        });
    }
    let bytes = 8_000_000u64;
    let cipher = StreamCipher::new_random(&aes256());
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("aes256_clean_8MB", |b| {
        b.iter(|| {
            let start = Instant::now();
            let mut left = connection_config(0x1111, 0x2222, DeliveryMode::Reliable, start);
            let mut right = connection_config(0x2222, 0x1111, DeliveryMode::Reliable, start);
            left.cipher = Some(cipher.clone());
            right.cipher = Some(cipher.clone());
            let report = transfer_with(
                1,
                network.clone(),
                left,
                right,
                bytes,
                0,
                Duration::from_secs(600),
                start,
            );
            assert!(report.complete(), "{report:?}");
            report
        })
    });
    group.finish();
}

fn packet_cipher(c: &mut Criterion) {
    let mut group = c.benchmark_group("packet_cipher");
    let payload = vec![0x5au8; 1456];
    group.throughput(Throughput::Bytes(payload.len() as u64));
    let cipher = StreamCipher::new_random(&aes256());
    let mut data = payload.clone();
    let mut seq = 0u32;
    group.bench_function("tmio_aes256_1456B", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1) & 0x7fff_ffff;
            if !cipher.apply(
                DataEncryption::Even,
                SeqNumber::new_truncate(seq),
                &mut data,
            ) {
                panic!("no even key");
            }
            data[0]
        })
    });
    let settings = CipherSettings::new_random(&aes256(), &KeyMaterialRefreshSettings::default());
    let mut encryption = Encryption::new(Some(settings));
    let payload = Bytes::from(payload);
    group.bench_function("srt_protocol_aes256_1456B", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1) & 0x7fff_ffff;
            let packet = DataPacket {
                seq_number: SeqNumber::new_truncate(seq),
                message_loc: PacketLocation::ONLY,
                in_order_delivery: true,
                encryption: DataEncryption::None,
                retransmitted: false,
                message_number: MsgNumber::new_truncate(1),
                timestamp: TimeStamp::from_micros(0),
                dest_sockid: SocketId(1),
                payload: payload.clone(),
            };
            let Some((_, encrypted, _)) = encryption.encrypt(packet) else {
                panic!("srt-protocol did not encrypt");
            };
            encrypted
        })
    });
    group.finish();
}

criterion_group!(benches, bulk, packet_cipher);
criterion_main!(benches);
