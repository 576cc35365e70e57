//! The SRT backend.
//!
//! Layers, bottom up:
//! - [`connection`] — tmio's own data path as a sans-IO state machine (send buffer, flow window,
//!   pacing, ACK/ACK2/NAK, retransmission, keepalive, shutdown, receive buffer, TSBPD).
//! - `handshake` — HSv5 caller / rendezvous on srt-protocol's state machines, with guards that
//!   keep hostile handshakes away from srt-protocol's panicking paths.
//! - `endpoint` — the thin tokio layer: one task per UDP socket, datagrams ⇄ connections, timers.
//! - [`SrtStream`] and [`SrtListener`] — what applications use.
pub mod config;
pub mod connection;
mod endpoint;
mod handshake;
mod listener;
mod stream;
mod udp;

pub use config::{ConnectMode, SrtConfig, MAX_PAYLOAD_SIZE};
pub use listener::{ConnectionRequest, SrtListener};
pub use srt_protocol::packet::{CoreRejectReason, RejectReason, ServerRejectReason};
pub use stream::{SrtMonitor, SrtStream};
