//! The SRT backend.
//!
//! Layers, bottom up:
//! - [`connection`] — tmio's own data path as a sans-IO state machine (send buffer, flow window,
//!   pacing, ACK/ACK2/NAK, retransmission, keepalive, shutdown, receive buffer, TSBPD).
//! - `wire` — every datagram from the network is parsed here first: handshakes by tmio's own
//!   codec, other packets by srt-protocol only after checks that keep it off its panicking paths.
//! - `handshake` — tmio's sans-IO handshake: the listener's side (stateless SYN cookies, checks,
//!   access control, limits) and the caller's; rendezvous on srt-protocol's state machine.
//! - `endpoint` — the thin tokio layer: one task per UDP socket, datagrams ⇄ connections, timers.
//! - [`SrtStream`] and [`SrtListener`] — what applications use.
pub mod cipher;
pub mod config;
pub mod connection;
mod endpoint;
mod group;
pub(crate) mod handshake;
mod listener;
mod stream;
mod udp;
pub(crate) mod wire;

pub use config::{ConnectMode, SrtConfig, DEFAULT_RATE_CAP, MAX_PAYLOAD_SIZE};
pub use connection::{GroupMode, PathEvent, PathId, PathState, PathStats, RateControl};
pub use endpoint::wait_for_closes;
pub use group::{GroupConnect, LinkEvent, MemberSpec, PathReport, MAX_GROUP_MEMBERS};
pub use listener::{ConnectionRequest, ListenerLimits, SrtListener, UdpBuffers};
pub use srt_protocol::packet::{CoreRejectReason, RejectReason, ServerRejectReason};
pub use stream::{SrtMonitor, SrtStream};
