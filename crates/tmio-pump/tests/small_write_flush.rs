//! A small write reaches the far side at once, even through a writer that buffers until it is
//! flushed: the pump flushes whenever its reader has nothing more for now.
#![allow(clippy::unwrap_used)]

mod support;

use tmio_pump::Pump;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::time::timeout;

use support::PATIENCE;

/// A write buffer far larger than the message: without a flush nothing would leave it.
const WRITE_BUFFER: usize = 64 * 1024;

#[tokio::test(start_paused = true)]
async fn ten_bytes_from_the_pusher_reach_the_remote_peer_without_more_writes() {
    let (mut pusher, local) = tokio::io::duplex(WRITE_BUFFER);
    let (transport, mut far, control) = support::fake_transport(WRITE_BUFFER);
    let buffered_transport = BufWriter::with_capacity(WRITE_BUFFER, transport);
    let _pump = tokio::spawn(Pump::new(local, buffered_transport).run());

    pusher.write_all(b"0123456789").await.unwrap();
    let mut received = [0u8; 10];
    timeout(PATIENCE, far.read_exact(&mut received))
        .await
        .expect("the 10-byte write was not flushed")
        .unwrap();
    assert_eq!(&received, b"0123456789");
    assert!(control.flushes() >= 1);
}

#[tokio::test(start_paused = true)]
async fn ten_bytes_from_the_remote_reach_the_pusher_without_more_writes() {
    let (mut pusher, local) = tokio::io::duplex(WRITE_BUFFER);
    let buffered_local = BufWriter::with_capacity(WRITE_BUFFER, local);
    let (transport, mut far, _control) = support::fake_transport(WRITE_BUFFER);
    let _pump = tokio::spawn(Pump::new(buffered_local, transport).run());

    far.write_all(b"9876543210").await.unwrap();
    let mut received = [0u8; 10];
    timeout(PATIENCE, pusher.read_exact(&mut received))
        .await
        .expect("the 10-byte write was not flushed")
        .unwrap();
    assert_eq!(&received, b"9876543210");
}

#[tokio::test(start_paused = true)]
async fn each_of_several_small_messages_arrives_before_the_next_is_sent() {
    let (mut pusher, local) = tokio::io::duplex(WRITE_BUFFER);
    let (transport, mut far, _control) = support::fake_transport(WRITE_BUFFER);
    let buffered_transport = BufWriter::with_capacity(WRITE_BUFFER, transport);
    let _pump = tokio::spawn(Pump::new(local, buffered_transport).run());

    for message in [&b"set chunk size"[..], b"window ack", b"ping"] {
        pusher.write_all(message).await.unwrap();
        let mut received = vec![0u8; message.len()];
        timeout(PATIENCE, far.read_exact(&mut received))
            .await
            .expect("a small message was not flushed")
            .unwrap();
        assert_eq!(received, message);
    }
}
