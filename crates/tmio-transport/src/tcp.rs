//! Plain TCP as a transport (for tests and for setups without SRT), with byte counters.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};

/// A TCP stream that counts the bytes it moves.
#[derive(Debug)]
pub struct TcpTransport {
    stream: TcpStream,
    peer: Option<SocketAddr>,
    counters: Arc<TcpCounters>,
}

/// Bytes moved by a [`TcpTransport`].
#[derive(Debug, Default)]
pub struct TcpCounters {
    /// Bytes written to the peer.
    pub bytes_sent: AtomicU64,
    /// Bytes read from the peer.
    pub bytes_received: AtomicU64,
}

impl TcpTransport {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream) -> Self {
        let peer = stream.peer_addr().ok();
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            peer,
            counters: Arc::default(),
        }
    }

    /// The peer's address, when the OS still knows it.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Live byte counters.
    pub fn counters(&self) -> Arc<TcpCounters> {
        self.counters.clone()
    }
}

impl AsyncRead for TcpTransport {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        self.counters
            .bytes_received
            .fetch_add(read, Ordering::Relaxed);
        result
    }
}

impl AsyncWrite for TcpTransport {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            self.counters
                .bytes_sent
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn counts_bytes_both_ways() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(b"hi").await.unwrap();
        });
        let mut t = TcpTransport::new(TcpStream::connect(addr).await.unwrap());
        t.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 2];
        t.read_exact(&mut buf).await.unwrap();
        server.await.unwrap();
        let c = t.counters();
        assert_eq!(c.bytes_sent.load(Ordering::Relaxed), 5);
        assert_eq!(c.bytes_received.load(Ordering::Relaxed), 2);
        assert_eq!(t.peer_addr(), Some(addr));
    }
}
