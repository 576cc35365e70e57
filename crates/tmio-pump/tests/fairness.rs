//! A direction whose streams never return `Pending` still lets the other direction (and other
//! tasks) run: the pump yields after a bounded number of bytes per poll.
#![allow(clippy::unwrap_used)]

mod support;

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tmio_pump::Pump;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::time::timeout;

use support::PATIENCE;

/// How much the always-ready local reader offers before its end of input.
const OFFERED: u64 = 64 * 1024 * 1024;

/// Each write the local side received, with how many bytes it had served by then.
type Writes = Arc<Mutex<Vec<(u64, Vec<u8>)>>>;

/// The local side: reads are always ready (up to `OFFERED` bytes), writes are recorded along
/// with how much had been read by then.
struct BusyLocal {
    served: Arc<AtomicU64>,
    received: Writes,
}

impl AsyncRead for BusyLocal {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let served = self.served.load(Ordering::Relaxed);
        let count = (buf.remaining() as u64).min(OFFERED - served) as usize;
        buf.put_slice(&vec![0xab; count]);
        self.served.fetch_add(count as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for BusyLocal {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let served = self.served.load(Ordering::Relaxed);
        self.received.lock().unwrap().push((served, buf.to_vec()));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The remote side: writes are always accepted and discarded, reads come from a pipe.
struct SinkRemote {
    incoming: DuplexStream,
}

impl AsyncRead for SinkRemote {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.incoming).poll_read(cx, buf)
    }
}

impl AsyncWrite for SinkRemote {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_busy_upload_does_not_starve_the_reply() {
    let served = Arc::new(AtomicU64::new(0));
    let received: Writes = Arc::new(Mutex::new(Vec::new()));
    let local = BusyLocal {
        served: served.clone(),
        received: received.clone(),
    };
    let (incoming, mut far) = tokio::io::duplex(1024);
    far.write_all(b"reply").await.unwrap();
    far.shutdown().await.unwrap();

    let transferred = timeout(PATIENCE, Pump::new(local, SinkRemote { incoming }).run())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(transferred.local_to_remote, OFFERED);
    assert_eq!(transferred.remote_to_local, 5);

    let received = received.lock().unwrap();
    assert_eq!(received.len(), 1);
    let (served_before_reply, bytes) = &received[0];
    assert_eq!(bytes, b"reply");
    assert!(
        *served_before_reply < OFFERED / 4,
        "the reply waited for {served_before_reply} bytes of upload"
    );
}
