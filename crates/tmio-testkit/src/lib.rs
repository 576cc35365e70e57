//! `tmio-testkit`: test support for tmio's SRT transport.
//!
//! - [`LossyUdpRelay`]: a seeded UDP relay on loopback that loses, delays, jitters, reorders,
//!   duplicates, rate-limits and blacks out datagrams, per direction; its decisions come from
//!   the sans-IO [`Impairment`], testable with simulated time. Also shipped as the `tmio-relay`
//!   binary.
//! - [`NetnsLinks`] (Linux, root): two network namespaces joined by one to four veth pairs,
//!   each with kernel loss (nftables), rate limits (tc tbf), cuts (link down or 100 % drop) and
//!   drop counters, and ways to run code inside them; [`NetnsLink`] is its one-link case.
//! - [`LibsrtPeer`] (Linux): Debian's `srt-live-transmit` as a paced sender or a receiver
//!   writing to a file, caller or listener, with a bounded lifetime and captured stderr.
//! - [`LibsrtGroupPeer`] (Linux): libsrt socket groups (broadcast, backup) as a group caller
//!   or group listener, through `srt-test-live` from scripts/build-libsrt-bonding.sh.
//! - [`reliability`] (Linux): the fault matrix, a stream through the real `tmio proxy` and
//!   `tmio gateway` under one fault per cell (the `tmio-reliability` binary, `cargo xtask
//!   reliability`); its [`reliability::soak`] module, the long soak (one gateway, N proxies,
//!   RSS and fds sampled; `tmio-reliability --soak`, `cargo xtask soak --long`).
//!
//! Nothing here touches an address other than loopback or addresses inside namespaces the kit
//! creates and removes itself. `docs/testkit.md` has the details and the caveats.
//!
//! ```
//! use std::time::Duration;
//! use tmio_testkit::{ImpairmentConfig, LossyUdpRelay, RelayConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let upstream = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
//! let impairment = ImpairmentConfig { delay: Duration::from_millis(5), ..Default::default() };
//! let relay = LossyUdpRelay::start(RelayConfig::symmetric(upstream.local_addr()?, impairment, 7)).await?;
//!
//! let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
//! client.send_to(b"hello", relay.local_addr()).await?;
//! let mut buf = [0u8; 16];
//! let (len, _) = upstream.recv_from(&mut buf).await?;
//! assert_eq!(&buf[..len], b"hello");
//! assert_eq!(relay.shutdown().await.to_upstream.forwarded_packets, 1);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]

mod error;
pub mod impairment;
#[cfg(target_os = "linux")]
pub mod libsrt;
#[cfg(target_os = "linux")]
pub mod libsrt_group;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(target_os = "linux")]
mod peer_process;
pub mod relay;
pub mod relay_args;
#[cfg(target_os = "linux")]
pub mod reliability;

pub use error::Error;
pub use impairment::{
    Blackout, DirectionStats, GilbertElliott, Impairment, ImpairmentConfig, Jitter, RateLimit,
};
#[cfg(target_os = "linux")]
pub use libsrt::{free_loopback_udp_port, Feed, LibsrtPeer, LibsrtPeerBuilder, Sink, SrtUri};
#[cfg(target_os = "linux")]
pub use libsrt_group::{
    loopback_members, GroupNode, GroupType, GroupUri, LibsrtGroupPeer, LibsrtGroupPeerBuilder,
};
#[cfg(target_os = "linux")]
pub use netns::{Cut, NetnsLink, NetnsLinks, Side, VethLink};
pub use relay::{Direction, LossyUdpRelay, RelayConfig, RelayHandle, RelayStats};
