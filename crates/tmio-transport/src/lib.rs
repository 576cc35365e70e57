//! `tmio-transport`: the transports tmio pumps bytes over.
//!
//! What the pump sees is a duplex of ordered bytes with backpressure ([`Transport`]): a write
//! waits while the send buffer is full, memory stays bounded by the configured buffers, a
//! graceful shutdown flushes what was accepted, statistics can be read while it runs, and every
//! error says whether the local side or the peer failed ([`Error::side`]).
//!
//! Backends:
//! - [`srt`]: SRT with tmio's own data path (flow control, ARQ, pacing) on srt-protocol's packet
//!   codec, HSv5 handshake and encryption. Caller, listener (many sessions on one port, accept or
//!   reject by stream id) and rendezvous; reliable mode (never drops a byte) and libsrt live mode.
//! - [`tcp`]: plain TCP, for tests and as a fallback.
//!
//! ```
//! use tmio_transport::srt::{ConnectMode, SrtConfig, SrtListener, SrtStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SrtConfig::default(); // reliable mode, 20 Mbit/s cap, 2 MiB buffers
//! let mut listener = SrtListener::bind("127.0.0.1:0".parse()?, config.clone()).await?;
//! let addr = listener.local_addr();
//!
//! let server = tokio::spawn(async move {
//!     let mut stream = listener.accept().await?;
//!     let mut received = Vec::new();
//!     stream.read_to_end(&mut received).await?;
//!     Ok::<_, std::io::Error>(received)
//! });
//!
//! let mut caller = SrtStream::connect(addr, ConnectMode::Caller, &config).await?;
//! caller.write_all(b"every byte, in order").await?;
//! caller.shutdown().await?; // waits until the listener acknowledged everything
//! assert_eq!(server.await??, b"every byte, in order");
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod sim;
pub mod srt;
pub mod tcp;

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

pub use error::{Error, Side};
pub use srt::connection::ConnectionStats as Stats;

/// A duplex of ordered bytes with backpressure, statistics and typed errors.
///
/// I/O errors returned by the `AsyncRead`/`AsyncWrite` methods carry an [`Error`] inside
/// (recover it with [`Error::from_io`]) so callers can tell a local from a remote failure.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// Statistics so far.
    fn stats(&self) -> Stats;
    /// The peer's address, when known.
    fn peer_addr(&self) -> Option<SocketAddr>;
}

impl Transport for srt::SrtStream {
    fn stats(&self) -> Stats {
        srt::SrtStream::stats(self)
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        Some(srt::SrtStream::peer_addr(self))
    }
}

impl Transport for tcp::TcpTransport {
    fn stats(&self) -> Stats {
        use std::sync::atomic::Ordering;
        let counters = self.counters();
        Stats {
            bytes_sent: counters.bytes_sent.load(Ordering::Relaxed),
            bytes_received: counters.bytes_received.load(Ordering::Relaxed),
            ..Stats::default()
        }
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        tcp::TcpTransport::peer_addr(self)
    }
}
