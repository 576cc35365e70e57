//! A fake transport for the pump's tests: a `tokio::io::duplex` pipe whose pump-facing end can
//! be told to stall its writes, fail a read, write, flush or shutdown, accept only short writes,
//! or report end of input.
#![allow(dead_code, clippy::unwrap_used)]

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// Upper bound on how long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct ControlState {
    stall_writes: bool,
    fail_read: Option<io::ErrorKind>,
    fail_write: Option<io::ErrorKind>,
    fail_flush: Option<io::ErrorKind>,
    fail_shutdown: Option<io::ErrorKind>,
    max_write: Option<usize>,
    reads_ended: bool,
    flushes: u64,
    shutdowns: u64,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

/// The test's handle on a [`FakeTransport`]; every change wakes the pump.
#[derive(Debug, Clone, Default)]
pub struct Control(Arc<Mutex<ControlState>>);

impl Control {
    fn change(&self, change: impl FnOnce(&mut ControlState)) {
        let mut state = self.0.lock().unwrap();
        change(&mut state);
        if let Some(waker) = state.read_waker.take() {
            waker.wake();
        }
        if let Some(waker) = state.write_waker.take() {
            waker.wake();
        }
    }

    /// While stalled, every write is pending (a remote that accepts nothing).
    pub fn stall_writes(&self, stalled: bool) {
        self.change(|state| state.stall_writes = stalled);
    }

    /// Every following read fails with `kind`.
    pub fn fail_reads(&self, kind: io::ErrorKind) {
        self.change(|state| state.fail_read = Some(kind));
    }

    /// Every following write fails with `kind`.
    pub fn fail_writes(&self, kind: io::ErrorKind) {
        self.change(|state| state.fail_write = Some(kind));
    }

    /// Every following flush fails with `kind`.
    pub fn fail_flushes(&self, kind: io::ErrorKind) {
        self.change(|state| state.fail_flush = Some(kind));
    }

    /// Every following shutdown fails with `kind`.
    pub fn fail_shutdowns(&self, kind: io::ErrorKind) {
        self.change(|state| state.fail_shutdown = Some(kind));
    }

    /// Each write accepts at most `bytes` (short writes); `Some(0)` makes writes return `Ok(0)`.
    pub fn max_write(&self, bytes: Option<usize>) {
        self.change(|state| state.max_write = bytes);
    }

    /// Reads return end of input from now on (the transport closed).
    pub fn end_reads(&self) {
        self.change(|state| state.reads_ended = true);
    }

    /// How many flushes the pump made that succeeded.
    pub fn flushes(&self) -> u64 {
        self.0.lock().unwrap().flushes
    }

    /// How many shutdowns the pump made that succeeded.
    pub fn shutdowns(&self) -> u64 {
        self.0.lock().unwrap().shutdowns
    }
}

/// The pump-facing end of a fake transport.
#[derive(Debug)]
pub struct FakeTransport {
    inner: DuplexStream,
    control: Control,
}

/// A fake transport, its far end (what the remote peer reads and writes), and its control.
pub fn fake_transport(pipe_capacity: usize) -> (FakeTransport, DuplexStream, Control) {
    let (near, far) = tokio::io::duplex(pipe_capacity);
    let control = Control::default();
    (
        FakeTransport {
            inner: near,
            control: control.clone(),
        },
        far,
        control,
    )
}

impl AsyncRead for FakeTransport {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        {
            let mut state = self.control.0.lock().unwrap();
            if let Some(kind) = state.fail_read {
                return Poll::Ready(Err(io::Error::new(kind, "fake transport read failure")));
            }
            if state.reads_ended {
                return Poll::Ready(Ok(()));
            }
            state.read_waker = Some(cx.waker().clone());
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FakeTransport {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let limit = {
            let mut state = self.control.0.lock().unwrap();
            if let Some(kind) = state.fail_write {
                return Poll::Ready(Err(io::Error::new(kind, "fake transport write failure")));
            }
            if state.stall_writes {
                state.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if state.max_write == Some(0) {
                return Poll::Ready(Ok(0));
            }
            state.write_waker = Some(cx.waker().clone());
            state.max_write.unwrap_or(usize::MAX)
        };
        let take = buf.len().min(limit);
        Pin::new(&mut self.inner).poll_write(cx, &buf[..take])
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        {
            let state = self.control.0.lock().unwrap();
            if let Some(kind) = state.fail_flush {
                return Poll::Ready(Err(io::Error::new(kind, "fake transport flush failure")));
            }
        }
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = result {
            self.control.0.lock().unwrap().flushes += 1;
        }
        result
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        {
            let state = self.control.0.lock().unwrap();
            if let Some(kind) = state.fail_shutdown {
                return Poll::Ready(Err(io::Error::new(kind, "fake transport shutdown failure")));
            }
        }
        let result = Pin::new(&mut self.inner).poll_shutdown(cx);
        if let Poll::Ready(Ok(())) = result {
            self.control.0.lock().unwrap().shutdowns += 1;
        }
        result
    }
}
