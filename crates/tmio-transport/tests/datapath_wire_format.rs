//! What the data path puts on the wire has libsrt's layout (draft-sharabayko-srt-01 §3.2): full ACK
//! with 7 CIF words and the ACK number in the type-specific field, light ACK of one word, ACK2 echoing
//! the ACK number, NAK loss lists with range markers, and DropRequest.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};
use tmio_transport::srt::RateControl;

use bytes::BytesMut;
use srt_protocol::packet::{ControlTypes, Packet};
use tmio_transport::sim::connection_config;
use tmio_transport::srt::connection::{Connection, DeliveryMode, PathId};

fn wire(packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    packet.serialize(&mut out);
    out.to_vec()
}

fn word(bytes: &[u8], index: usize) -> u32 {
    u32::from_be_bytes(bytes[index * 4..index * 4 + 4].try_into().unwrap())
}

fn pair(delivery: DeliveryMode) -> (Connection, Connection, Instant) {
    let start = Instant::now();
    // A generous fixed rate so that pacing lets the whole test burst out at one instant.
    let config = |local, remote| {
        let mut config = connection_config(local, remote, delivery, start);
        config.rate_control = RateControl::Fixed {
            bytes_per_second: 1_000_000_000,
        };
        config
    };
    (
        Connection::new(config(1, 2), start),
        Connection::new(config(2, 1), start),
        start,
    )
}

#[test]
fn acks_ack2_and_naks_have_libsrt_layout() {
    let (mut sender, mut receiver, start) = pair(DeliveryMode::Reliable);
    sender.write(start, &vec![7u8; 1456 * 70]).unwrap();
    let mut data = Vec::new();
    while let Some(packet) = sender.poll_transmit(start).map(|transmit| transmit.packet) {
        data.push(packet);
    }
    assert_eq!(data.len(), 70);
    // Data: header bit 0 clear, destination socket id in word 3.
    let first = wire(&data[0]);
    assert_eq!(first.len(), 16 + 1456);
    assert_eq!(word(&first, 0) >> 31, 0);
    assert_eq!(word(&first, 3), 2);
    // Lose packet 1: the receiver NAKs it at once.
    let mut control = Vec::new();
    for (index, packet) in data.into_iter().enumerate() {
        if index != 1 {
            receiver.handle_packet(start, PathId::FIRST, packet);
        }
        while let Some(packet) = receiver
            .poll_transmit(start)
            .map(|transmit| transmit.packet)
        {
            control.push((wire(&packet), packet));
        }
    }
    let (nak, nak_packet) = control
        .iter()
        .find(|(bytes, _)| word(bytes, 0) >> 16 == 0x8003)
        .expect("a NAK");
    assert_eq!(nak.len(), 16 + 4, "a single lost packet is one word");
    assert_eq!(word(nak, 4) >> 31, 0);
    // 64 packets later: a light ACK, one CIF word.
    let (light, _) = control
        .iter()
        .find(|(bytes, _)| word(bytes, 0) >> 16 == 0x8002)
        .expect("a light ACK");
    assert_eq!(light.len(), 16 + 4);
    assert_eq!(word(light, 1), 0, "light ACKs carry no ACK number");
    // The 10 ms timer: a full ACK with 7 CIF words and its ACK number in the type-specific field.
    let later = start + Duration::from_millis(10);
    receiver.handle_timeout(later);
    let full = loop {
        let packet = receiver
            .poll_transmit(later)
            .map(|transmit| transmit.packet)
            .expect("a full ACK");
        if let Packet::Control(control) = &packet {
            if matches!(control.control_type, ControlTypes::Ack(_)) {
                break packet;
            }
        }
    };
    let full_wire = wire(&full);
    assert_eq!(full_wire.len(), 16 + 7 * 4);
    let ack_number = word(&full_wire, 1);
    assert!(ack_number >= 1);
    // Last acknowledged: packet 1 is missing, so the ACK points at it.
    assert_eq!(
        word(&full_wire, 4),
        connection_config(1, 2, DeliveryMode::Reliable, start)
            .initial_sequence_number
            .as_raw()
            + 1
    );
    // The sender answers with an ACK2 echoing the ACK number.
    sender.handle_packet(later, PathId::FIRST, full);
    let ack2 = wire(
        &sender
            .poll_transmit(later)
            .map(|transmit| transmit.packet)
            .unwrap(),
    );
    assert_eq!(word(&ack2, 0) >> 16, 0x8006);
    assert_eq!(word(&ack2, 1), ack_number);
    // Given the NAK, it retransmits packet 1 with the R flag set.
    sender.handle_packet(later, PathId::FIRST, nak_packet.clone());
    let retransmission = wire(
        &sender
            .poll_transmit(later)
            .map(|transmit| transmit.packet)
            .unwrap(),
    );
    assert_eq!(
        word(&retransmission, 0),
        connection_config(1, 2, DeliveryMode::Reliable, start)
            .initial_sequence_number
            .as_raw()
            + 1
    );
    assert_eq!(
        (word(&retransmission, 1) >> 26) & 1,
        1,
        "retransmitted flag"
    );
}

#[test]
fn live_messages_and_drop_requests_have_libsrt_layout() {
    let delivery = DeliveryMode::Live {
        recv_latency: Duration::from_millis(120),
        send_latency: Duration::from_millis(120),
        too_late_drop: true,
    };
    let (mut sender, _, start) = pair(delivery);
    sender.write(start, &vec![1u8; 1316]).unwrap();
    sender.write(start, &vec![2u8; 3000]).unwrap();
    let mut locations = Vec::new();
    let mut messages = Vec::new();
    while let Some(packet) = sender.poll_transmit(start).map(|transmit| transmit.packet) {
        let bytes = wire(&packet);
        locations.push(word(&bytes, 1) >> 30);
        messages.push(word(&bytes, 1) & 0x03FF_FFFF);
    }
    // PP bits: 11 solo, 10 first, 00 middle, 01 last; message numbers from 1.
    assert_eq!(locations, vec![0b11, 0b10, 0b00, 0b01]);
    assert_eq!(messages, vec![1, 2, 2, 2]);
    // Nothing acknowledged for longer than max(latency, 1 s) + 20 ms: dropped, with a DropRequest.
    let late = start + Duration::from_millis(1100);
    sender.handle_timeout(late);
    let drop = loop {
        let bytes = wire(
            &sender
                .poll_transmit(late)
                .map(|transmit| transmit.packet)
                .expect("a drop request"),
        );
        if word(&bytes, 0) >> 16 == 0x8007 {
            break bytes;
        }
    };
    assert_eq!(drop.len(), 16 + 8);
    assert_eq!(
        word(&drop, 1),
        1,
        "message number of the first dropped message"
    );
    let isn = connection_config(1, 2, delivery, start)
        .initial_sequence_number
        .as_raw();
    assert_eq!(word(&drop, 4), isn);
    assert_eq!(word(&drop, 5), (isn + 3) % (1 << 31));
}
