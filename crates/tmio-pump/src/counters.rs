//! Live byte counters, readable while a pump runs.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Direction;

/// Byte counters of a running pump, shared through an `Arc` and updated as bytes move.
///
/// For each direction, `read` counts bytes taken from the reading side and `written` bytes
/// accepted by the writing side; `read - written` is what the pump holds in its buffer, never
/// more than the buffer size.
#[derive(Debug, Default)]
pub struct PumpCounters {
    local_to_remote_read: AtomicU64,
    local_to_remote_written: AtomicU64,
    remote_to_local_read: AtomicU64,
    remote_to_local_written: AtomicU64,
}

/// A copy of [`PumpCounters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Bytes read from the local side.
    pub local_to_remote_read: u64,
    /// Bytes written to the remote side.
    pub local_to_remote_written: u64,
    /// Bytes read from the remote side.
    pub remote_to_local_read: u64,
    /// Bytes written to the local side.
    pub remote_to_local_written: u64,
}

impl PumpCounters {
    /// New counters, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    fn read_counter(&self, direction: Direction) -> &AtomicU64 {
        match direction {
            Direction::LocalToRemote => &self.local_to_remote_read,
            Direction::RemoteToLocal => &self.remote_to_local_read,
        }
    }

    fn written_counter(&self, direction: Direction) -> &AtomicU64 {
        match direction {
            Direction::LocalToRemote => &self.local_to_remote_written,
            Direction::RemoteToLocal => &self.remote_to_local_written,
        }
    }

    /// Bytes read so far in `direction`.
    pub fn read(&self, direction: Direction) -> u64 {
        self.read_counter(direction).load(Ordering::Relaxed)
    }

    /// Bytes written so far in `direction`.
    pub fn written(&self, direction: Direction) -> u64 {
        self.written_counter(direction).load(Ordering::Relaxed)
    }

    /// Bytes read but not yet written in `direction` (held in the pump's buffer).
    pub fn buffered(&self, direction: Direction) -> u64 {
        // Load `written` first: it never exceeds `read`, so a later `read` keeps the difference >= 0.
        let written = self.written(direction);
        self.read(direction).saturating_sub(written)
    }

    /// All four counters.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            local_to_remote_read: self.read(Direction::LocalToRemote),
            local_to_remote_written: self.written(Direction::LocalToRemote),
            remote_to_local_read: self.read(Direction::RemoteToLocal),
            remote_to_local_written: self.written(Direction::RemoteToLocal),
        }
    }

    pub(crate) fn add_read(&self, direction: Direction, bytes: usize) {
        self.read_counter(direction)
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_written(&self, direction: Direction, bytes: usize) {
        self.written_counter(direction)
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}
