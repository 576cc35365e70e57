//! The receive buffer is bounded in payload bytes whatever the payload size: a peer that negotiated
//! a tiny MSS and then floods full-size packets behind a gap (so nothing becomes readable) cannot
//! make a session hold more than `recv_buffer_bytes`; packets larger than the peer may send are
//! refused; normal transfers still deliver every byte.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use srt_protocol::packet::{
    Acknowledgement, ControlTypes, DataEncryption, DataPacket, MsgNumber, Packet, PacketLocation,
    SocketId, TimeStamp,
};
use tmio_transport::sim::{connection_config, transfer_with, NetworkConfig};
use tmio_transport::srt::config::MIN_MSS;
use tmio_transport::srt::connection::{Connection, ConnectionConfig, DeliveryMode, PathId};

/// The largest payload of one SRT data packet (MSS 1500).
const FULL_PAYLOAD: usize = 1456;
/// Packets the attacking peer sends behind the gap.
const FLOOD_PACKETS: u64 = 200_000;

const LOCAL_ID: u32 = 2;
const PEER_ID: u32 = 1;

/// A data packet from the peer: packet `index` after the initial sequence number, its payload
/// `len` bytes that start with `index` (so delivery order can be checked).
fn data_packet(config: &ConnectionConfig, index: u64, len: usize) -> Packet {
    let mut payload = vec![(index % 251) as u8; len];
    let tag = index.to_be_bytes();
    let tagged = tag.len().min(len);
    payload[..tagged].copy_from_slice(&tag[..tagged]);
    Packet::Data(DataPacket {
        seq_number: config.initial_sequence_number + index as u32,
        message_loc: PacketLocation::ONLY,
        in_order_delivery: true,
        encryption: DataEncryption::None,
        retransmitted: false,
        message_number: MsgNumber::new_truncate(index as u32),
        timestamp: TimeStamp::from_micros(index as u32 * 10),
        dest_sockid: SocketId(LOCAL_ID),
        payload: Bytes::from(payload),
    })
}

/// What the receiving connection said back: the window of each full ACK with the free bytes
/// it was computed from.
#[derive(Default)]
struct AckLog {
    full_acks: u64,
    /// (advertised packets, free bytes of the configured buffer) for every full ACK.
    windows: Vec<(u32, u64)>,
}

fn drain(connection: &mut Connection, now: Instant, recv_buffer_bytes: u64, log: &mut AckLog) {
    while let Some(packet) = connection
        .poll_transmit(now)
        .map(|transmit| transmit.packet)
    {
        if let Packet::Control(control) = packet {
            if let ControlTypes::Ack(Acknowledgement::Full(_, statistics, _)) = control.control_type
            {
                let held = connection.stats(now).receive_buffer_bytes;
                log.full_acks += 1;
                log.windows.push((
                    statistics.buffer_available,
                    recv_buffer_bytes.saturating_sub(held),
                ));
            }
        }
    }
}

/// Floods a receiver whose own payload size is `payload_size` with full-size packets after a
/// missing first packet, then fills the gap and checks what is delivered.
fn flood_behind_a_gap(payload_size: usize) {
    let start = Instant::now();
    let mut config = connection_config(LOCAL_ID, PEER_ID, DeliveryMode::Reliable, start);
    config.payload_size = payload_size;
    config.peer_idle_timeout = Duration::from_secs(60);
    let recv_buffer_bytes = config.recv_buffer_bytes as u64;
    let mut connection = Connection::new(config.clone(), start);
    let mut log = AckLog::default();
    let mut now = start;
    let mut buf = vec![0u8; 4096];
    for index in 1..=FLOOD_PACKETS {
        now += Duration::from_micros(10);
        connection.handle_packet(
            now,
            PathId::FIRST,
            data_packet(&config, index, FULL_PAYLOAD),
        );
        if connection.poll_timeout().is_some_and(|at| at <= now) {
            connection.handle_timeout(now);
        }
        drain(&mut connection, now, recv_buffer_bytes, &mut log);
        // Packet 0 is missing: nothing can be read.
        assert_eq!(connection.read(now, &mut buf), 0);
        if index % 1000 == 0 {
            let stats = connection.stats(now);
            assert!(stats.receive_buffer_bytes <= recv_buffer_bytes, "{stats:?}");
        }
    }
    let stats = connection.stats(now);
    // Never more than the configured bytes at any moment, though the old packet count
    // (recv_buffer_bytes / payload_size) would have allowed 2 MiB / payload_size full packets.
    assert!(
        stats.receive_buffer_high_water_bytes <= recv_buffer_bytes,
        "{stats:?}"
    );
    let kept = stats.packets_received;
    assert_eq!(stats.receive_buffer_bytes, kept * FULL_PAYLOAD as u64);
    // The buffer was used (all but the room kept for the missing packet), not refused wholesale.
    assert!(
        stats.receive_buffer_bytes + 2 * FULL_PAYLOAD as u64 > recv_buffer_bytes,
        "{stats:?}"
    );
    // Every packet not kept is counted as dropped, mostly for the byte bound.
    assert!(stats.packets_receive_buffer_full > 0, "{stats:?}");
    assert_eq!(
        kept + stats.packets_receive_buffer_full + stats.packets_out_of_window,
        FLOOD_PACKETS,
        "{stats:?}"
    );
    assert_eq!(stats.packets_duplicate, 0);
    assert_eq!(stats.packets_oversized, 0);
    // The window advertised never promised more full-size packets than the free bytes hold.
    assert!(log.full_acks > 0);
    for &(available, free) in &log.windows {
        assert!(
            u64::from(available) * FULL_PAYLOAD as u64 <= free,
            "advertised {available} packets with {free} bytes free"
        );
    }
    assert_eq!(stats.receive_buffer_available_packets, 0, "{stats:?}");

    // The missing packet arrives: everything kept is delivered in order, the buffer empties.
    now += Duration::from_micros(10);
    connection.handle_packet(now, PathId::FIRST, data_packet(&config, 0, FULL_PAYLOAD));
    let mut delivered = Vec::new();
    loop {
        let n = connection.read(now, &mut buf);
        if n == 0 {
            break;
        }
        delivered.extend_from_slice(&buf[..n]);
    }
    assert_eq!(delivered.len() as u64, (kept + 1) * FULL_PAYLOAD as u64);
    for (index, packet) in delivered.chunks(FULL_PAYLOAD).enumerate() {
        assert_eq!(
            packet[..8],
            (index as u64).to_be_bytes(),
            "packet {index} out of order"
        );
    }
    let stats = connection.stats(now);
    assert_eq!(stats.receive_buffer_bytes, 0);
    assert!(stats.receive_buffer_available_packets > 0, "{stats:?}");
    // What was refused is taken once sent again.
    now += Duration::from_micros(10);
    connection.handle_packet(
        now,
        PathId::FIRST,
        data_packet(&config, kept + 1, FULL_PAYLOAD),
    );
    assert_eq!(connection.read(now, &mut buf), FULL_PAYLOAD);
    assert_eq!(buf[..8], (kept + 1).to_be_bytes());
}

#[test]
fn a_full_size_flood_behind_a_gap_stays_within_the_byte_bound_at_the_smallest_mss() {
    // MSS 76 leaves 32 bytes of payload per packet.
    flood_behind_a_gap(MIN_MSS - 44);
}

#[test]
fn a_full_size_flood_behind_a_gap_stays_within_the_byte_bound_at_payload_1() {
    flood_behind_a_gap(1);
}

#[test]
fn payloads_larger_than_the_negotiated_mss_allows_are_dropped_and_counted() {
    let start = Instant::now();
    let mut config = connection_config(LOCAL_ID, PEER_ID, DeliveryMode::Reliable, start);
    config.payload_size = MIN_MSS - 44;
    let mut connection = Connection::new(config.clone(), start);
    connection.set_max_peer_payload(MIN_MSS - 44);
    let mut now = start;
    for index in 0..100 {
        now += Duration::from_micros(10);
        connection.handle_packet(
            now,
            PathId::FIRST,
            data_packet(&config, index, FULL_PAYLOAD),
        );
    }
    let mut buf = [0u8; 64];
    assert_eq!(connection.read(now, &mut buf), 0);
    let stats = connection.stats(now);
    assert_eq!(stats.packets_oversized, 100, "{stats:?}");
    assert_eq!(stats.packets_received, 0);
    assert_eq!(stats.receive_buffer_high_water_bytes, 0);
    // One byte over is refused too; packets of the agreed size are taken.
    connection.handle_packet(
        now,
        PathId::FIRST,
        data_packet(&config, 0, MIN_MSS - 44 + 1),
    );
    assert_eq!(connection.stats(now).packets_oversized, 101);
    connection.handle_packet(now, PathId::FIRST, data_packet(&config, 0, MIN_MSS - 44));
    assert_eq!(connection.read(now, &mut buf), MIN_MSS - 44);
    assert_eq!(buf[..8], 0u64.to_be_bytes());
}

#[test]
fn normal_transfers_still_deliver_every_byte() {
    let network = NetworkConfig {
        loss: 0.05,
        jitter: Duration::from_millis(2),
        reorder: 0.02,
        ..NetworkConfig::default()
    };
    // Full-size packets both ways, 2 MiB buffers.
    let start = Instant::now();
    let left = connection_config(0xA, 0xB, DeliveryMode::Reliable, start);
    let right = connection_config(0xB, 0xA, DeliveryMode::Reliable, start);
    let report = transfer_with(
        11,
        network.clone(),
        left,
        right,
        4_000_000,
        1_000_000,
        Duration::from_secs(120),
        start,
    );
    assert!(report.complete(), "{report:?}");
    assert!(report.right_stats.receive_buffer_high_water_bytes <= 2 << 20);

    // Small buffers, and packets larger than the receiver's own payload size (SRT does not
    // negotiate the payload size: the rtmp preset's 1316 meets a peer sending 1456).
    let start = Instant::now();
    let mut left = connection_config(0xA, 0xB, DeliveryMode::Reliable, start);
    let mut right = connection_config(0xB, 0xA, DeliveryMode::Reliable, start);
    left.payload_size = 1456;
    right.payload_size = 1316;
    right.recv_buffer_bytes = 64 * 1024;
    left.recv_buffer_bytes = 64 * 1024;
    let report = transfer_with(
        12,
        network,
        left,
        right,
        2_000_000,
        500_000,
        Duration::from_secs(300),
        start,
    );
    assert!(report.complete(), "{report:?}");
    assert!(
        report.right_stats.receive_buffer_high_water_bytes <= 64 * 1024,
        "{report:?}"
    );
    assert!(
        report.left_stats.receive_buffer_high_water_bytes <= 64 * 1024,
        "{report:?}"
    );
}
