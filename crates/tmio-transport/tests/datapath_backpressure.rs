//! Memory stays bounded by the configured buffers whatever the peer does: a peer that never ACKs
//! blocks the writer, a peer whose application does not read closes the flow window, and garbage
//! packets are ignored without panicking.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use srt_protocol::packet::{
    AckStatistics, Acknowledgement, CompressedLossList, ControlPacket, ControlTypes,
    DataEncryption, DataPacket, FullAckSeqNumber, MsgNumber, Packet, PacketLocation, SeqNumber,
    SocketId, TimeStamp,
};
use tmio_transport::sim::{
    connection_config, AppStep, NetworkConfig, RunEnd, Simulation, StreamSink, StreamSource,
};
use tmio_transport::srt::connection::{
    CloseReason, Connection, ConnectionState, DeliveryMode, PathId,
};

#[test]
fn a_peer_that_never_acks_blocks_the_writer_within_the_send_buffer() {
    let start = Instant::now();
    let mut config = connection_config(1, 2, DeliveryMode::Reliable, start);
    config.send_buffer_bytes = 256 * 1024;
    config.peer_idle_timeout = Duration::from_secs(30);
    let mut connection = Connection::new(config, start);
    let chunk = vec![0xAB; 10_000];
    let mut accepted = 0usize;
    let mut now = start;
    let mut sent_packets = 0u64;
    let mut blocked_at = None;
    while now < start + Duration::from_secs(20) {
        let taken = connection.write(now, &chunk).unwrap();
        accepted += taken;
        if taken == 0 && blocked_at.is_none() {
            blocked_at = Some(now);
        }
        // Everything sent vanishes: no ACK ever comes back.
        while connection
            .poll_transmit(now)
            .map(|transmit| transmit.packet)
            .is_some()
        {
            sent_packets += 1;
        }
        let stats = connection.stats(now);
        assert!(stats.send_buffer_bytes <= 256 * 1024, "{stats:?}");
        now = connection
            .poll_timeout()
            .unwrap()
            .max(now + Duration::from_micros(10));
        connection.handle_timeout(now);
    }
    assert!(blocked_at.is_some(), "the writer was never blocked");
    assert_eq!(accepted, 256 * 1024);
    assert_eq!(connection.send_buffer_free(), 0);
    // Timer-based retransmission kept trying (with backoff), the data was never given up.
    let stats = connection.stats(now);
    assert!(stats.retransmission_timeouts >= 10, "{stats:?}");
    assert!(sent_packets > stats.packets_retransmitted);
    assert_eq!(stats.packets_send_dropped, 0);
    assert_eq!(connection.state(), ConnectionState::Open);
}

#[test]
fn a_receiver_that_does_not_read_closes_the_window_and_reopens_it() {
    let start = Instant::now();
    let mut left = connection_config(1, 2, DeliveryMode::Reliable, start);
    let mut right = connection_config(2, 1, DeliveryMode::Reliable, start);
    left.send_buffer_bytes = 200_000;
    right.recv_buffer_bytes = 100_000;
    let network = NetworkConfig {
        loss: 0.05,
        ..NetworkConfig::default()
    };
    let mut simulation = Simulation::new(3, network, left, right, start);
    let total = 2_000_000;
    let mut source = StreamSource::new(9, total);
    let mut sink = StreamSink::new(9, total);
    let mut max_receive_buffer = 0;
    let mut max_send_buffer = 0;
    let end = simulation.run(Duration::from_secs(60), |now, left, right| {
        source.pump(now, left);
        // The application stalls for the first two seconds, then reads.
        if now >= start + Duration::from_secs(2) {
            sink.pump(now, right);
        }
        max_receive_buffer = max_receive_buffer.max(right.stats(now).receive_buffer_bytes);
        max_send_buffer = max_send_buffer.max(left.stats(now).send_buffer_bytes);
        AppStep {
            done: sink.received() == total,
            wake_at: Some(start + Duration::from_secs(2)).filter(|at| *at > now),
        }
    });
    assert_eq!(end, RunEnd::Done);
    assert!(sink.complete());
    assert!(
        max_receive_buffer <= 100_000,
        "receive buffer {max_receive_buffer}"
    );
    assert!(max_send_buffer <= 200_000, "send buffer {max_send_buffer}");
    assert_eq!(simulation.spins, 0);
}

fn random_packet(rng: &mut StdRng, dest: SocketId) -> Packet {
    let seq = SeqNumber::new_truncate(rng.gen());
    let timestamp = TimeStamp::from_micros(rng.gen());
    let control = move |control_type| {
        Packet::Control(ControlPacket {
            timestamp,
            dest_sockid: dest,
            control_type,
        })
    };
    match rng.gen_range(0..8) {
        0 | 1 => {
            let len = rng.gen_range(0..1500);
            Packet::Data(DataPacket {
                seq_number: seq,
                message_loc: PacketLocation::from_bits_truncate(rng.gen()),
                in_order_delivery: rng.gen(),
                encryption: DataEncryption::None,
                retransmitted: rng.gen(),
                message_number: MsgNumber::new_truncate(rng.gen()),
                timestamp: TimeStamp::from_micros(rng.gen()),
                dest_sockid: dest,
                payload: Bytes::from(vec![7u8; len]),
            })
        }
        2 => control(ControlTypes::Ack(Acknowledgement::Lite(seq))),
        3 => control(ControlTypes::Ack(Acknowledgement::Full(
            seq,
            AckStatistics {
                rtt: Default::default(),
                buffer_available: rng.gen(),
                packet_receive_rate: Some(rng.gen()),
                estimated_link_capacity: Some(rng.gen()),
                data_receive_rate: Some(rng.gen()),
            },
            FullAckSeqNumber::new(rng.gen_range(1..u32::MAX)).unwrap(),
        ))),
        4 => {
            let mut wire = Vec::new();
            // A NAK body of random words: ranges may be unterminated, reversed or huge.
            for _ in 0..rng.gen_range(1..8) {
                wire.push(rng.gen::<u32>());
            }
            let mut bytes = vec![0x80, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            bytes.extend(dest.0.to_be_bytes());
            for word in wire {
                bytes.extend(word.to_be_bytes());
            }
            match Packet::parse(&mut Bytes::from(bytes), false) {
                Ok(packet) => packet,
                Err(_) => control(ControlTypes::KeepAlive),
            }
        }
        5 => control(ControlTypes::Ack2(
            FullAckSeqNumber::new(rng.gen_range(1..u32::MAX)).unwrap(),
        )),
        6 => control(ControlTypes::DropRequest {
            msg_to_drop: MsgNumber::new_truncate(rng.gen()),
            range: SeqNumber::new_truncate(rng.gen())..=SeqNumber::new_truncate(rng.gen()),
        }),
        _ => control(ControlTypes::Nak(
            CompressedLossList::try_from_range(seq..seq + rng.gen_range(1..100_000)).unwrap(),
        )),
    }
}

#[test]
fn garbage_from_the_peer_is_ignored_and_memory_stays_bounded() {
    for delivery in [
        DeliveryMode::Reliable,
        DeliveryMode::Live {
            recv_latency: Duration::from_millis(120),
            send_latency: Duration::from_millis(120),
            too_late_drop: true,
        },
    ] {
        let start = Instant::now();
        let mut config = connection_config(1, 2, delivery, start);
        config.recv_buffer_bytes = 64 * 1024;
        config.send_buffer_bytes = 64 * 1024;
        let mut connection = Connection::new(config, start);
        let mut rng = StdRng::seed_from_u64(42);
        let mut now = start;
        let mut buf = vec![0u8; 4096];
        for round in 0..20_000u32 {
            now += Duration::from_micros(rng.gen_range(0..2000));
            if round % 3 == 0 {
                let _ = connection.write(now, &buf[..rng.gen_range(1..3000)]);
            }
            let packet = random_packet(&mut rng, SocketId(1));
            connection.handle_packet(now, PathId::FIRST, packet);
            if connection.poll_timeout().is_some_and(|at| at <= now) {
                connection.handle_timeout(now);
            }
            while connection
                .poll_transmit(now)
                .map(|transmit| transmit.packet)
                .is_some()
            {}
            while connection.read(now, &mut buf) > 0 {}
            let stats = connection.stats(now);
            // 64 KiB / 1456-byte payloads = 45 packets, each at most 1456 bytes.
            assert!(stats.receive_buffer_bytes <= 45 * 1456, "{stats:?}");
            assert!(stats.send_buffer_bytes <= 64 * 1024, "{stats:?}");
        }
        assert!(matches!(
            connection.state(),
            ConnectionState::Open
                | ConnectionState::Closing
                | ConnectionState::Closed(CloseReason::PeerShutdown)
        ));
    }
}
