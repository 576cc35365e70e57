//! One copy direction as a poll-driven state machine: read into a fixed buffer, write it all
//! out, flush when the reader has nothing more for now, and on end of input flush and shut the
//! writer down.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{Direction, Operation, PumpCounters, Side};

/// The most bytes one direction moves in a single poll before it yields to the scheduler (and
/// to the other direction), even when its reader and writer never return `Pending`.
pub(crate) const BYTES_PER_POLL: u64 = 1024 * 1024;
/// After a stop, a direction still copies what its reader has ready at once (what the sender
/// already sent, e.g. in the pusher's socket buffer), up to this many bytes, so that a stop
/// right after the pusher finished loses nothing; a reader that is never `Pending` cannot hold a
/// stop off for longer than this.
pub(crate) const STOP_DRAIN_LIMIT: u64 = 64 * 1024 * 1024;
/// After a stop, the drain ends once the reader has had nothing for this long: bytes the sender
/// already wrote may still be on their way through its socket buffer (a single `Pending` is no
/// proof that everything sent was read).
pub(crate) const STOP_DRAIN_IDLE: Duration = Duration::from_millis(50);
/// A stop's drain ends after this long whatever the reader does (a sender that keeps sending
/// cannot hold a stop off).
pub(crate) const STOP_DRAIN_TIME: Duration = Duration::from_secs(1);

/// What a stopping direction may still read.
#[derive(Debug)]
struct Drain {
    /// Bytes still allowed.
    left: u64,
    /// The drain ends at this time at the latest.
    deadline: tokio::time::Instant,
    /// Fires once the reader has had nothing for [`STOP_DRAIN_IDLE`].
    idle: Pin<Box<tokio::time::Sleep>>,
}

impl Drain {
    fn new() -> Self {
        let now = tokio::time::Instant::now();
        Drain {
            left: STOP_DRAIN_LIMIT,
            deadline: now + STOP_DRAIN_TIME,
            idle: Box::pin(tokio::time::sleep_until(
                (now + STOP_DRAIN_IDLE).min(now + STOP_DRAIN_TIME),
            )),
        }
    }

    /// Bytes arrived: the idle period starts again.
    fn on_read(&mut self, count: usize) {
        self.left = self.left.saturating_sub(count as u64);
        let at = (tokio::time::Instant::now() + STOP_DRAIN_IDLE).min(self.deadline);
        self.idle.as_mut().reset(at);
    }

    fn is_over(&self) -> bool {
        self.left == 0 || tokio::time::Instant::now() >= self.deadline
    }
}

/// Where one direction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Reading and writing.
    Copying,
    /// Input ended (or a stop was asked) and the buffer is written out: flushing the writer.
    Flushing,
    /// Flushed: carrying the half-close across with `poll_shutdown`.
    ShuttingDown,
    /// The writer is shut down; this direction has finished.
    Done,
}

/// An I/O failure inside one direction, before it is turned into a `PumpError`.
#[derive(Debug)]
pub(crate) struct HalfFailure {
    pub(crate) side: Side,
    pub(crate) operation: Operation,
    pub(crate) source: io::Error,
}

/// One copy direction with its own fixed-size buffer.
#[derive(Debug)]
pub(crate) struct Half {
    direction: Direction,
    buffer: Box<[u8]>,
    /// Start of the bytes read but not yet written.
    start: usize,
    /// End of the bytes read.
    end: usize,
    /// The reader returned end of input, or a stop was asked and what was ready is read: read
    /// no more.
    input_ended: bool,
    /// A stop was asked: what may still be read (see [`Drain`]).
    draining: Option<Drain>,
    /// Bytes were written since the last flush.
    needs_flush: bool,
    stage: Stage,
    written: u64,
}

impl Half {
    pub(crate) fn new(direction: Direction, buffer_size: usize) -> Self {
        Half {
            direction,
            buffer: vec![0; buffer_size].into_boxed_slice(),
            start: 0,
            end: 0,
            input_ended: false,
            draining: None,
            needs_flush: false,
            stage: Stage::Copying,
            written: 0,
        }
    }

    /// Bytes written to the writing side so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    pub(crate) fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Stop reading: copy what the reader has ready at once (at most [`STOP_DRAIN_LIMIT`]),
    /// write out what is buffered, flush, shut the writer down.
    pub(crate) fn stop_reading(&mut self) {
        if self.draining.is_none() && !self.input_ended {
            self.draining = Some(Drain::new());
        }
    }

    fn fail(&self, side: Side, operation: Operation, source: io::Error) -> HalfFailure {
        HalfFailure {
            side,
            operation,
            source,
        }
    }

    /// Drives this direction until it is done, fails, or has to wait.
    pub(crate) fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
        counters: Option<&PumpCounters>,
    ) -> Poll<Result<(), HalfFailure>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        let reader_side = self.direction.reader();
        let writer_side = self.direction.writer();
        let mut moved_this_poll: u64 = 0;
        loop {
            match self.stage {
                Stage::Copying => {
                    if self.start == self.end && !self.input_ended {
                        if moved_this_poll >= BYTES_PER_POLL {
                            // Streams that are always ready would otherwise keep this task
                            // (and the other direction) from ever yielding.
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        if self.draining.as_ref().is_some_and(Drain::is_over) {
                            self.input_ended = true;
                            continue;
                        }
                        let mut read_buf = ReadBuf::new(&mut self.buffer);
                        match reader.as_mut().poll_read(cx, &mut read_buf) {
                            Poll::Ready(Ok(())) => {
                                let count = read_buf.filled().len();
                                if let Some(drain) = self.draining.as_mut() {
                                    drain.on_read(count);
                                }
                                if count == 0 {
                                    self.input_ended = true;
                                } else {
                                    self.start = 0;
                                    self.end = count;
                                    if let Some(counters) = counters {
                                        counters.add_read(self.direction, count);
                                    }
                                }
                            }
                            Poll::Ready(Err(source)) => {
                                return Poll::Ready(Err(self.fail(
                                    reader_side,
                                    Operation::Read,
                                    source,
                                )));
                            }
                            Poll::Pending if self.draining.is_some() => {
                                // Stopping, and nothing ready now: what was sent is read once
                                // nothing more has come for a while (the reader's and the idle
                                // timer's wakers are both registered).
                                let idle_over = self
                                    .draining
                                    .as_mut()
                                    .is_some_and(|drain| drain.idle.as_mut().poll(cx).is_ready());
                                if !idle_over {
                                    return Poll::Pending;
                                }
                                self.input_ended = true;
                            }
                            Poll::Pending => {
                                // Nothing more to read for now: push what was written out at
                                // once, so a small message does not wait for more data.
                                if self.needs_flush {
                                    match writer.as_mut().poll_flush(cx) {
                                        Poll::Ready(Ok(())) => self.needs_flush = false,
                                        Poll::Ready(Err(source)) => {
                                            return Poll::Ready(Err(self.fail(
                                                writer_side,
                                                Operation::Flush,
                                                source,
                                            )));
                                        }
                                        Poll::Pending => {}
                                    }
                                }
                                return Poll::Pending;
                            }
                        }
                    }
                    while self.start < self.end {
                        let pending = &self.buffer[self.start..self.end];
                        match ready!(writer.as_mut().poll_write(cx, pending)) {
                            Ok(0) => {
                                return Poll::Ready(Err(self.fail(
                                    writer_side,
                                    Operation::Write,
                                    io::Error::new(
                                        io::ErrorKind::WriteZero,
                                        "write accepted zero bytes",
                                    ),
                                )));
                            }
                            Ok(count) => {
                                // A writer claiming more than it was offered is clamped.
                                let count = count.min(pending.len());
                                self.start += count;
                                self.written += count as u64;
                                moved_this_poll += count as u64;
                                self.needs_flush = true;
                                if let Some(counters) = counters {
                                    counters.add_written(self.direction, count);
                                }
                            }
                            Err(source) => {
                                return Poll::Ready(Err(self.fail(
                                    writer_side,
                                    Operation::Write,
                                    source,
                                )));
                            }
                        }
                    }
                    if self.input_ended {
                        self.stage = Stage::Flushing;
                    }
                }
                Stage::Flushing => {
                    if let Err(source) = ready!(writer.as_mut().poll_flush(cx)) {
                        return Poll::Ready(Err(self.fail(writer_side, Operation::Flush, source)));
                    }
                    self.needs_flush = false;
                    self.stage = Stage::ShuttingDown;
                }
                Stage::ShuttingDown => {
                    if let Err(source) = ready!(writer.as_mut().poll_shutdown(cx)) {
                        return Poll::Ready(Err(self.fail(
                            writer_side,
                            Operation::Shutdown,
                            source,
                        )));
                    }
                    self.stage = Stage::Done;
                }
                Stage::Done => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn copies_until_end_of_input_then_shuts_the_writer_down() {
        let (mut source_peer, mut source) = tokio::io::duplex(64);
        let (mut sink, mut sink_peer) = tokio::io::duplex(1024);
        let mut half = Half::new(Direction::LocalToRemote, 7);
        source_peer.write_all(b"hello, pump").await.unwrap();
        source_peer.shutdown().await.unwrap();
        let result =
            poll_fn(|cx| half.poll_copy(cx, Pin::new(&mut source), Pin::new(&mut sink), None))
                .await;
        assert!(result.is_ok());
        assert!(half.is_done());
        assert_eq!(half.written(), 11);
        let mut received = Vec::new();
        sink_peer.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"hello, pump");
    }

    #[tokio::test]
    async fn a_read_error_is_blamed_on_the_reading_side() {
        let mut failing = tokio_test_reader_error();
        let (mut sink, _sink_peer) = tokio::io::duplex(1024);
        let mut half = Half::new(Direction::RemoteToLocal, 16);
        let failure =
            poll_fn(|cx| half.poll_copy(cx, Pin::new(&mut failing), Pin::new(&mut sink), None))
                .await
                .unwrap_err();
        assert_eq!(failure.side, Side::Remote);
        assert_eq!(failure.operation, Operation::Read);
        assert_eq!(failure.source.kind(), io::ErrorKind::ConnectionReset);
    }

    #[tokio::test]
    async fn a_stop_still_copies_what_the_sender_already_sent() {
        let (mut source_peer, mut source) = tokio::io::duplex(64 * 1024);
        let (mut sink, mut sink_peer) = tokio::io::duplex(64 * 1024);
        // The sender wrote everything and closed before the pump read any of it.
        let sent: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        source_peer.write_all(&sent).await.unwrap();
        drop(source_peer);
        let mut half = Half::new(Direction::LocalToRemote, 4096);
        half.stop_reading();
        let copy = async {
            poll_fn(|cx| half.poll_copy(cx, Pin::new(&mut source), Pin::new(&mut sink), None))
                .await
                .unwrap();
            drop(sink);
        };
        let mut received = Vec::new();
        let (_, read) = tokio::join!(copy, sink_peer.read_to_end(&mut received));
        read.unwrap();
        assert_eq!(received, sent);
    }

    #[tokio::test]
    async fn a_stop_does_not_wait_for_a_sender_that_sends_nothing_more() {
        let (mut source_peer, mut source) = tokio::io::duplex(1024);
        let (mut sink, mut sink_peer) = tokio::io::duplex(1024);
        source_peer.write_all(b"ready").await.unwrap();
        // The sender stays open and silent: the stop ends once what was ready is copied.
        let mut half = Half::new(Direction::LocalToRemote, 16);
        half.stop_reading();
        poll_fn(|cx| half.poll_copy(cx, Pin::new(&mut source), Pin::new(&mut sink), None))
            .await
            .unwrap();
        drop(sink);
        let mut received = Vec::new();
        sink_peer.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"ready");
        drop(source_peer);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_still_copies_bytes_that_arrive_while_the_sender_is_still_sending_them() {
        let (mut source_peer, mut source) = tokio::io::duplex(1024);
        let (mut sink, mut sink_peer) = tokio::io::duplex(64 * 1024);
        let mut half = Half::new(Direction::LocalToRemote, 256);
        half.stop_reading();
        // The sender's last bytes come 20 ms after the stop (still in its socket buffer, on
        // their way): within the idle period, so they are copied.
        let sender = async {
            source_peer.write_all(b"first ").await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            source_peer.write_all(b"late").await.unwrap();
            // Then it stays open and silent: the drain ends by itself.
            tokio::time::sleep(Duration::from_secs(3)).await;
            source_peer
        };
        let copy = async {
            let started = tokio::time::Instant::now();
            poll_fn(|cx| half.poll_copy(cx, Pin::new(&mut source), Pin::new(&mut sink), None))
                .await
                .unwrap();
            drop(sink);
            started.elapsed()
        };
        let mut received = Vec::new();
        let (_, took, read) = tokio::join!(sender, copy, sink_peer.read_to_end(&mut received));
        read.unwrap();
        assert_eq!(received, b"first late");
        // 20 ms until the last bytes, then the idle period.
        assert!(
            took >= STOP_DRAIN_IDLE && took < STOP_DRAIN_TIME,
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sender_that_keeps_sending_cannot_hold_a_stop_off() {
        let (mut source_peer, mut source) = tokio::io::duplex(1024);
        let (mut sink, mut sink_peer) = tokio::io::duplex(1 << 20);
        let mut half = Half::new(Direction::LocalToRemote, 256);
        half.stop_reading();
        let sender = async {
            // 10 bytes every 10 ms for 10 s (bounded).
            for _ in 0..1000 {
                if source_peer.write_all(b"0123456789").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let copy = async {
            let started = tokio::time::Instant::now();
            poll_fn(|cx| half.poll_copy(cx, Pin::new(&mut source), Pin::new(&mut sink), None))
                .await
                .unwrap();
            drop(sink);
            drop(source);
            started.elapsed()
        };
        let mut received = Vec::new();
        let (_, took, read) = tokio::join!(sender, copy, sink_peer.read_to_end(&mut received));
        read.unwrap();
        assert!(
            took >= STOP_DRAIN_TIME && took < STOP_DRAIN_TIME + STOP_DRAIN_IDLE,
            "{took:?}"
        );
        assert!(!received.is_empty());
    }

    #[tokio::test]
    async fn a_stop_writes_out_the_buffer_then_shuts_down() {
        let (_source_peer, mut source) = tokio::io::duplex(64);
        let (mut sink, mut sink_peer) = tokio::io::duplex(1024);
        let mut half = Half::new(Direction::LocalToRemote, 16);
        half.stop_reading();
        poll_fn(|cx| half.poll_copy(cx, Pin::new(&mut source), Pin::new(&mut sink), None))
            .await
            .unwrap();
        let mut received = Vec::new();
        sink_peer.read_to_end(&mut received).await.unwrap();
        assert!(received.is_empty());
        assert!(half.is_done());
    }

    /// A reader whose every read fails with `ConnectionReset`.
    fn tokio_test_reader_error() -> impl AsyncRead + Unpin {
        struct Failing;
        impl AsyncRead for Failing {
            fn poll_read(
                self: Pin<&mut Self>,
                _cx: &mut Context<'_>,
                _buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
            }
        }
        Failing
    }
}
