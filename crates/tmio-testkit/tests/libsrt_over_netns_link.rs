//! libsrt peers run inside a namespace link (`in_namespace`) and cross kernel-made loss: 2 MB at
//! 10 % loss each way, with too-late drop off, arrive exactly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tmio_testkit::libsrt::DEFAULT_CHUNK;
use tmio_testkit::{Feed, LibsrtPeer, NetnsLink, Side, Sink, SrtUri};

#[test]
fn srt_live_transmit_crosses_a_lossy_namespace_link() {
    let name = "srt_live_transmit_crosses_a_lossy_namespace_link";
    if !NetnsLink::should_run(name).unwrap() || !LibsrtPeer::should_run(name).unwrap() {
        return;
    }
    let link = NetnsLink::new().unwrap();
    link.set_loss(10.0).unwrap();
    let dir = std::env::temp_dir().join(format!("tmio-testkit-netns-srt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = dir.join("received.bin");

    let mut data = vec![0u8; 1374 * DEFAULT_CHUNK];
    rand::rngs::StdRng::seed_from_u64(11).fill_bytes(&mut data);
    let data = Arc::new(data);

    let listen = SocketAddr::from((link.addr(Side::B), 9000));
    let options = [("latency", "200"), ("tlpktdrop", "0")];
    let mut listener_uri = SrtUri::listener_on(listen);
    let mut caller_uri = SrtUri::caller(listen);
    for (key, value) in options {
        listener_uri = listener_uri.option(key, value);
        caller_uri = caller_uri.option(key, value);
    }
    let mut receiver = LibsrtPeer::receiver(listener_uri, Sink::File(output.clone()))
        .in_namespace(link.namespace(Side::B))
        .lifetime(Duration::from_secs(20))
        .spawn()
        .unwrap();
    receiver.wait_for_listen(Duration::from_secs(5)).unwrap();
    let feed = Feed::Paced {
        data: Arc::clone(&data),
        bytes_per_sec: 1_000_000,
    };
    let mut sender = LibsrtPeer::sender(caller_uri, feed)
        .in_namespace(link.namespace(Side::A))
        .lifetime(Duration::from_secs(20))
        .spawn()
        .unwrap();

    let got = receiver.wait_for_output_len(data.len() as u64, Duration::from_secs(15));
    assert_eq!(
        sender.wait_fed(),
        data.len() as u64,
        "{}",
        sender.stderr_text()
    );
    receiver.stop().unwrap();
    let got = got.unwrap_or_else(|e| panic!("{e}\nsender: {}", sender.stderr_text()));
    assert_eq!(got, data.len() as u64);
    let received = std::fs::read(&output).unwrap();
    assert_eq!(Sha256::digest(&received), Sha256::digest(data.as_slice()));
    std::fs::remove_dir_all(&dir).unwrap();
}
