//! End of input on one side is carried across as a shutdown of the other side's writer, and the
//! other direction keeps draining until its own end.
#![allow(clippy::unwrap_used)]

mod support;

use tmio_pump::{Pump, Transferred};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use support::PATIENCE;

#[tokio::test(start_paused = true)]
async fn local_end_of_input_shuts_the_remote_down_and_the_reply_still_drains() {
    let (mut pusher, local) = tokio::io::duplex(1024);
    let (transport, mut far, control) = support::fake_transport(1024);
    let pump = tokio::spawn(Pump::new(local, transport).run());

    pusher.write_all(b"publish").await.unwrap();
    pusher.shutdown().await.unwrap();

    // The far end sees the bytes, then end of input: the remote writer was shut down.
    let mut at_far = Vec::new();
    timeout(PATIENCE, far.read_to_end(&mut at_far))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at_far, b"publish");
    assert_eq!(control.shutdowns(), 1);

    // The other direction is still open: the far end's reply reaches the pusher.
    far.write_all(b"reply after half-close").await.unwrap();
    let mut reply = vec![0; 22];
    timeout(PATIENCE, pusher.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, b"reply after half-close");
    assert!(!pump.is_finished());

    // The far end closes too: the pusher reads end of input and the pump ends.
    far.shutdown().await.unwrap();
    let mut rest = Vec::new();
    timeout(PATIENCE, pusher.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    let transferred = timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(
        transferred,
        Transferred {
            local_to_remote: 7,
            remote_to_local: 22
        }
    );
}

#[tokio::test(start_paused = true)]
async fn remote_end_of_input_shuts_the_local_writer_down_and_the_upload_still_drains() {
    let (mut pusher, local) = tokio::io::duplex(1024);
    let (transport, mut far, control) = support::fake_transport(1024);
    let pump = tokio::spawn(Pump::new(local, transport).run());

    far.write_all(b"server hello").await.unwrap();
    // Let the pump copy the hello before the transport reports its end of input.
    let mut hello = vec![0; 12];
    timeout(PATIENCE, pusher.read_exact(&mut hello))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hello, b"server hello");
    control.end_reads();

    // The pusher sees end of input: the local writer was shut down.
    let mut rest = Vec::new();
    timeout(PATIENCE, pusher.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());

    // The upload direction keeps going until the pusher ends it.
    pusher.write_all(b"still uploading").await.unwrap();
    let mut at_far = vec![0; 15];
    timeout(PATIENCE, far.read_exact(&mut at_far))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at_far, b"still uploading");
    assert!(!pump.is_finished());

    pusher.shutdown().await.unwrap();
    let transferred = timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(transferred.local_to_remote, 15);
    assert_eq!(transferred.remote_to_local, 12);
    assert_eq!(control.shutdowns(), 1);
}

#[tokio::test(start_paused = true)]
async fn each_writer_is_shut_down_exactly_once() {
    let (pusher, local) = tokio::io::duplex(64);
    let (transport, far, control) = support::fake_transport(64);
    let (local_fake, mut local_far, local_control) = support::fake_transport(64);
    drop(pusher);
    let pump = tokio::spawn(Pump::new(local_fake, transport).run());
    drop(local);
    drop(far);
    // Both inputs end: the local fake's far end closes, and the remote fake reports end.
    local_far.shutdown().await.unwrap();
    control.end_reads();
    timeout(PATIENCE, pump).await.unwrap().unwrap().unwrap();
    assert_eq!(control.shutdowns(), 1);
    assert_eq!(local_control.shutdowns(), 1);
}
