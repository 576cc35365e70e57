//! `tmio-pump`: the byte pump between the local TCP stream and a transport.
//!
//! A [`Pump`] copies bytes both ways between a local stream (the pusher's TCP connection on the
//! proxy, the upstream server's on the gateway) and a remote transport (anything
//! `AsyncRead + AsyncWrite + Unpin`: an SRT link, a bonded group, a TCP stream), unparsed and in
//! order:
//!
//! - **one state machine per direction**, each with its own fixed-size buffer: a slow writer
//!   stops its direction's reads, so backpressure reaches the other end and memory stays bounded;
//! - **flush when the reader is pending**: a small write (an RTMP control message) is flushed as
//!   soon as nothing more is ready to read, and never waits for a buffer to fill;
//! - **half-close carried across**: end of input on one side flushes and shuts down the other
//!   side's writer, and the other direction keeps draining until its own end of input or error;
//! - **every failure classified** by [`Side`] (local TCP or remote transport), [`Direction`] and
//!   [`Operation`] in a [`PumpError`];
//! - **stop from outside** with a [`CancellationToken`]: each direction copies what its reader has
//!   ready at once (what was already sent), then stops reading, writes out what it read,
//!   flushes, and shuts its writer down;
//! - optional live [`PumpCounters`], readable while the pump runs.
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tmio_pump::Pump;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // `pusher` plays the RTMP encoder, `server` the far end of the transport.
//! let (mut pusher, local) = tokio::io::duplex(4096);
//! let (remote, mut server) = tokio::io::duplex(4096);
//! let pump = tokio::spawn(Pump::new(local, remote).run());
//!
//! pusher.write_all(b"\x03 RTMP handshake").await?;
//! let mut got = [0u8; 16];
//! server.read_exact(&mut got).await?;
//! assert_eq!(&got, b"\x03 RTMP handshake");
//!
//! server.write_all(b"reply").await?;
//! let mut reply = [0u8; 5];
//! pusher.read_exact(&mut reply).await?;
//! assert_eq!(&reply, b"reply");
//!
//! // Both ends close: the pump ends and reports what each direction delivered.
//! pusher.shutdown().await?;
//! server.shutdown().await?;
//! let transferred = pump.await??;
//! assert_eq!(transferred.local_to_remote, 16);
//! assert_eq!(transferred.remote_to_local, 5);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod counters;
mod error;
mod half;

use std::future::{poll_fn, Future};
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};
pub use tokio_util::sync::CancellationToken;

pub use counters::{CountersSnapshot, PumpCounters};
pub use error::{Direction, Operation, PumpError, Side, SideLabels};
use half::{Half, HalfFailure};

/// Default buffer size of each direction: 64 KiB.
pub const DEFAULT_BUFFER_SIZE: NonZeroUsize = match NonZeroUsize::new(64 * 1024) {
    Some(size) => size,
    None => NonZeroUsize::MIN,
};

/// Bytes delivered in each direction (accepted by the writing side).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transferred {
    /// Bytes read from the local side and written to the remote side.
    pub local_to_remote: u64,
    /// Bytes read from the remote side and written to the local side.
    pub remote_to_local: u64,
}

/// A bidirectional copy between a local stream and a remote transport; configure it, then
/// [`run`](Pump::run) it.
///
/// `run` ends with `Ok(Transferred)` once both directions have reached end of input (or a stop)
/// and shut their writers down, or with the first [`PumpError`]. Dropping the future aborts the
/// pump at once, without flushing.
#[derive(Debug)]
pub struct Pump<L, R> {
    local: L,
    remote: R,
    buffer_size: NonZeroUsize,
    stop: Option<CancellationToken>,
    counters: Option<Arc<PumpCounters>>,
    labels: SideLabels,
}

impl<L, R> Pump<L, R>
where
    L: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    /// A pump between `local` (the TCP side) and `remote` (the transport side), with
    /// [`DEFAULT_BUFFER_SIZE`] per direction. Pass `&mut stream` to keep the streams.
    pub fn new(local: L, remote: R) -> Self {
        Pump {
            local,
            remote,
            buffer_size: DEFAULT_BUFFER_SIZE,
            stop: None,
            counters: None,
            labels: SideLabels::default(),
        }
    }

    /// Sets the buffer size of each direction: the most bytes the pump holds per direction.
    pub fn buffer_size(mut self, bytes: NonZeroUsize) -> Self {
        self.buffer_size = bytes;
        self
    }

    /// Stops the pump gracefully when `token` is cancelled: each direction copies what its reader
    /// has ready at once (what the sender already sent, up to 64 MiB), then stops reading,
    /// writes out the bytes it read, flushes, and shuts its writer down (an SRT transport's
    /// shutdown sends what it accepted, then closes). `run` then returns `Ok`.
    pub fn stop_on(mut self, token: CancellationToken) -> Self {
        self.stop = Some(token);
        self
    }

    /// Updates `counters` as bytes move, for reading while the pump runs.
    pub fn counters(mut self, counters: Arc<PumpCounters>) -> Self {
        self.counters = Some(counters);
        self
    }

    /// Names used for the two sides in error messages.
    pub fn labels(mut self, labels: SideLabels) -> Self {
        self.labels = labels;
        self
    }

    /// Runs the pump to its end; see [`Pump`]. The future is `Send` when both streams are.
    pub async fn run(self) -> Result<Transferred, PumpError> {
        let Pump {
            mut local,
            mut remote,
            buffer_size,
            stop,
            counters,
            labels,
        } = self;
        let mut outbound = Half::new(Direction::LocalToRemote, buffer_size.get());
        let mut inbound = Half::new(Direction::RemoteToLocal, buffer_size.get());
        let mut stopped = false;
        let mut stop_signal = stop.map(|token| Box::pin(token.cancelled_owned()));
        let counters = counters.as_deref();

        poll_fn(|cx| {
            if !stopped {
                if let Some(signal) = stop_signal.as_mut() {
                    if signal.as_mut().poll(cx).is_ready() {
                        stopped = true;
                        stop_signal = None;
                        outbound.stop_reading();
                        inbound.stop_reading();
                    }
                }
            }
            let outbound_poll = if outbound.is_done() {
                Poll::Ready(Ok(()))
            } else {
                outbound.poll_copy(cx, Pin::new(&mut local), Pin::new(&mut remote), counters)
            };
            if let Poll::Ready(Err(failure)) = outbound_poll {
                return Poll::Ready(Err(failure));
            }
            let inbound_poll = if inbound.is_done() {
                Poll::Ready(Ok(()))
            } else {
                inbound.poll_copy(cx, Pin::new(&mut remote), Pin::new(&mut local), counters)
            };
            if let Poll::Ready(Err(failure)) = inbound_poll {
                return Poll::Ready(Err(failure));
            }
            if outbound.is_done() && inbound.is_done() {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await
        .map_err(|failure: HalfFailure| {
            let direction = match failure.side {
                // A local read feeds the outbound direction, a local write/flush/shutdown is
                // the inbound direction's; and the other way round for the remote side.
                Side::Local if failure.operation == Operation::Read => Direction::LocalToRemote,
                Side::Local => Direction::RemoteToLocal,
                Side::Remote if failure.operation == Operation::Read => Direction::RemoteToLocal,
                Side::Remote => Direction::LocalToRemote,
            };
            PumpError {
                side: failure.side,
                direction,
                operation: failure.operation,
                side_label: labels.label(failure.side),
                transferred: Transferred {
                    local_to_remote: outbound.written(),
                    remote_to_local: inbound.written(),
                },
                source: failure.source,
            }
        })?;
        Ok(Transferred {
            local_to_remote: outbound.written(),
            remote_to_local: inbound.written(),
        })
    }
}

/// Copies both ways between `local` and `remote` with the default settings until both
/// directions end; shorthand for `Pump::new(local, remote).run()`.
pub async fn pump<L, R>(local: L, remote: R) -> Result<Transferred, PumpError>
where
    L: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    Pump::new(local, remote).run().await
}
