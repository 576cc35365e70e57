//! `tmio-proxy`: push any TCP stream (an RTMP encoder's) over SRT, and the gateway that takes
//! it back to TCP on the far side.
//!
//! Two APIs over the same engine:
//! - the **async API**: [`Proxy::builder`] → [`RunningProxy`] (events, stats, `stop`, `wait`),
//!   and [`Gateway::builder`] → [`RunningGateway`];
//! - the **callback facade** shaped like Tencent's TMIO SDK: [`TmioProxy::create`],
//!   [`TmioProxy::set_listener`] with [`TmioProxyListener::on_tmio_config`] / `on_start` /
//!   `on_error`, [`TmioProxy::start`], [`TmioProxy::perf_stats`] (the SDK's `PerfStats`),
//!   [`TmioProxy::stats`] (tmio's richer [`ConnectionStats`]), [`TmioProxy::stop`].
//!
//! Every error has a stable numeric code ([`Error::code`], table in `docs/sdk-compat.md`) and
//! an [`ErrorType`] (unknown, local, remote) as the SDK's `onError` reports them.
//!
//! One proxy serves exactly one pusher connection (a second is refused), is never restarted
//! after `stop`, and does not reconnect: a remote failure is reported and the user creates a new
//! proxy. Many proxies can run in one process.
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
//! let remote = format!("srt://{}?streamid=%23!::r=live/test", gateway.local_addr());
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

mod error;
mod facade;
mod gateway;
mod perf_stats;
mod proxy;
mod settings;

pub use error::{code, Error, ErrorType};
pub use facade::{
    BondingConfig, BondingMode, LinkBrokenCallback, LinkConfig, LinkLocal, Protocol, Tmio,
    TmioProxy, TmioProxyListener,
};
pub use gateway::{Gateway, GatewayBuilder, GatewayEvent, RunningGateway};
pub use perf_stats::{PerfCounters, PerfStats, PerfStatsInterval, PerfStatsReader};
pub use proxy::{Proxy, ProxyBuilder, ProxyEvent, RunningProxy};
pub use tmio_preset::{Options, Preset};
pub use tmio_pump::Transferred;
pub use tmio_transport::srt::ListenerLimits;

/// tmio's statistics of an SRT link (richer than the SDK's [`PerfStats`], which is built from
/// them), serialisable to JSON.
pub use tmio_transport::Stats as ConnectionStats;

/// tmio's version (the SDK's `TmioFactory::getSdkVersion()`), e.g. `"0.1.0"`.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
