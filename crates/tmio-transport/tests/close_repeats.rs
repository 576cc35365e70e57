//! A local close keeps repeating its Shutdown after `shutdown` returns (SRT never acknowledges
//! it); `wait_for_closes` lets a process about to exit wait for those repeats, bounded. Its own
//! test binary: the count it waits on is process-wide.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use tmio_transport::srt::{wait_for_closes, ConnectMode, SrtConfig, SrtListener, SrtStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn closes_are_waited_for_until_their_shutdown_repeats_are_sent() {
    assert!(wait_for_closes(Duration::ZERO).await, "nothing open yet");
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), SrtConfig::default())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let server = tokio::spawn(async move {
        let mut stream = listener.accept().await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        got.len()
    });
    let mut stream = SrtStream::connect(addr, ConnectMode::Caller, &SrtConfig::default())
        .await
        .unwrap();
    stream.write_all(&[7u8; 100_000]).await.unwrap();
    stream.shutdown().await.unwrap();
    drop(stream);
    assert_eq!(server.await.unwrap(), 100_000);
    // The caller's close is done, but its Shutdown repeats (50 ms … 1.5 s) are still to go out.
    assert!(
        !wait_for_closes(Duration::ZERO).await,
        "the endpoint should still be repeating its Shutdown"
    );
    // They end by themselves (the listener's session, closed by the peer, is gone too).
    assert!(wait_for_closes(Duration::from_secs(10)).await);
}
