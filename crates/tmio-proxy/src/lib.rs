//! `tmio-proxy`: push any TCP stream (an RTMP encoder's) over SRT, and the gateway that takes
//! it back to TCP on the far side.
//!
//! Two APIs over the same engine:
//! - the **callback facade** shaped like Tencent's TMIO SDK, for programs without an async
//!   runtime: [`TmioProxy::create`], [`TmioProxy::set_listener`] with
//!   [`TmioProxyListener::on_tmio_config`] / `on_start` / `on_error`, [`TmioProxy::start`],
//!   [`TmioProxy::stats`], [`TmioProxy::stop`]. It runs on a tokio runtime of its own (two
//!   worker threads, started on first use), so it works from any thread, including a thread of
//!   another runtime;
//! - the **async API**: [`Proxy::builder`] → [`RunningProxy`] (events, stats, `stop`, `wait`),
//!   and [`Gateway::builder`] → [`RunningGateway`]. It needs a tokio runtime with I/O and time
//!   enabled (`#[tokio::main]`, or a `Builder` with `enable_all()`), multi-thread or
//!   current-thread.
//!
//! **Starting blocks until the SRT connection is up**: [`TmioProxy::start`] (blocking) and
//! [`ProxyBuilder::start`] (async) connect to the remote first and return once the handshake is
//! done, or with an error after the connect timeout (`conntimeo`, 3 s unless set); only then is
//! the local port open for the pusher. Call the facade's `start` from a thread that may wait
//! that long (not a UI thread).
//!
//! The facade also gives the SDK's `PerfStats` ([`TmioProxy::perf_stats`]) beside tmio's richer
//! [`ConnectionStats`] ([`TmioProxy::stats`]). Every error has a stable numeric code
//! ([`Error::code`], table in `docs/sdk-compat.md`) and an [`ErrorType`] (unknown, local, remote)
//! as the SDK's `onError` reports them.
//!
//! One proxy serves exactly one pusher connection (a second is refused), is never restarted
//! after `stop`, and does not reconnect: a remote failure is reported and the user creates a new
//! proxy. Many proxies can run in one process. For a command-line proxy that outlives its
//! pushers, [`ProxyBuilder::start_persistent`] gives a [`RunningPersistentProxy`] (the
//! [`persist`] module; `tmio proxy --persist`): pusher after pusher on one port, an SRT session
//! per push opened when its pusher arrives (its `start_persistent` returns once the port is
//! bound, without connecting), reconnection with backoff.
//!
//! Every preset caps the SRT send rate at [`PRESET_MAX_BANDWIDTH`] bytes/s (20 Mbit/s); set
//! `maxbw` (e.g. `-1`, unlimited) to go faster.
//!
//! Runnable examples: `examples/facade.rs` (blocking facade) and `examples/async_proxy.rs`
//! (async API), each pushing through a local gateway on loopback
//! (`cargo run -p tmio-proxy --example facade`).
//!
//! The facade:
//!
//! ```
//! use std::sync::{mpsc, Arc, Mutex};
//! use tmio_proxy::{Error, ErrorType, Gateway, Tmio, TmioProxy, TmioProxyListener};
//!
//! struct Listener(Mutex<mpsc::Sender<u16>>);
//! impl TmioProxyListener for Listener {
//!     fn on_tmio_config(&self, tmio: &mut Tmio) {
//!         let _ = tmio.set_option("SRTO_CONNTIMEO", "5000");
//!     }
//!     fn on_start(&self, _ip: &str, port: u16) {
//!         let _ = self.0.lock().map(|tx| tx.send(port));
//!     }
//!     fn on_error(&self, side: ErrorType, error: &Error) {
//!         eprintln!("{side:?} error: {error}");
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let runtime = tokio::runtime::Runtime::new()?;
//! # let server = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let upstream = format!("tcp://{}", server.local_addr()?);
//! # let gateway = runtime.block_on(async { Gateway::builder("srt://127.0.0.1:0")?.upstream(&upstream)?.start().await })?;
//! # let remote = format!("srt://{}?streamid=#!::r=live/test", gateway.local_addr());
//! let (started, port) = mpsc::channel();
//! let proxy = TmioProxy::create();
//! proxy.set_listener(Arc::new(Listener(Mutex::new(started))));
//! proxy.start("tcp://127.0.0.1:0", &remote, None)?; // blocks until SRT is connected
//! let port = port.recv()?; // on_start ran: the pusher may connect to 127.0.0.1:port
//! # let _ = port;
//! let stats = proxy.stats(); // Some(..) while running
//! assert!(stats.is_some());
//! proxy.stop();
//! # Ok(())
//! # }
//! ```
//!
//! The async API:
//!
//! ```
//! use tmio_proxy::{Gateway, Proxy};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The far side: an "RTMP server" (here a TCP echo-to-buffer) behind tmio's gateway.
//! let server = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let upstream = format!("tcp://{}", server.local_addr()?);
//! let mut gateway = Gateway::builder("srt://127.0.0.1:0")?.upstream(&upstream)?.start().await?;
//! let remote = format!("srt://{}?streamid=#!::r=live/test", gateway.local_addr());
//!
//! // The near side: the pusher connects to the proxy's local port.
//! let mut proxy = Proxy::builder("tcp://127.0.0.1:0", &remote)?.start().await?;
//! let mut pusher = tokio::net::TcpStream::connect(proxy.local_addr()).await?;
//! let (mut at_server, _) = server.accept().await?;
//!
//! pusher.write_all(b"RTMP bytes, unparsed").await?;
//! let mut got = [0u8; 20];
//! at_server.read_exact(&mut got).await?;
//! assert_eq!(&got, b"RTMP bytes, unparsed");
//!
//! drop(pusher); // the pusher leaves: the session ends cleanly
//! let moved = proxy.wait().await?;
//! assert_eq!(moved.local_to_remote, 20);
//! gateway.stop().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod access;
mod error;
mod facade;
mod gateway;
mod log;
mod perf_stats;
pub mod persist;
mod proxy;
mod settings;

pub use access::AccessRule;
pub use error::{code, Error, ErrorType};
pub use facade::{
    BondingConfig, BondingMode, BrokenLink, LinkBrokenCallback, LinkConfig, LinkLocal, Protocol,
    Tmio, TmioProxy, TmioProxyListener,
};
pub use gateway::{Gateway, GatewayBuilder, GatewayEvent, RunningGateway, UpstreamConnect};
pub use log::{LogPriority, Logger, LoggerLayer};
pub use perf_stats::{PerfCounters, PerfStats, PerfStatsInterval, PerfStatsReader};
pub use persist::{
    Backoff, PersistSettings, PersistentEvent, PersistentStatus, RunningPersistentProxy,
};
pub use proxy::{Bond, BondLink, Proxy, ProxyBuilder, ProxyEvent, RunningProxy};
pub use tmio_preset::{Options, Preset, PRESET_BUFFER_SIZE, PRESET_MAX_BANDWIDTH};
pub use tmio_pump::{CancellationToken, Transferred};
pub use tmio_transport::srt::{wait_for_closes, ListenerLimits, SrtMonitor, UdpBuffers};
pub use tmio_transport::srt::{GroupMode, LinkEvent, PathReport, PathState};

/// tmio's statistics of an SRT link (richer than the SDK's [`PerfStats`], which is built from
/// them), serialisable to JSON.
pub use tmio_transport::Stats as ConnectionStats;

/// tmio's version (the SDK's `TmioFactory::getSdkVersion()`), e.g. `"0.1.0"`.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
