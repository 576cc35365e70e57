//! `tmio demo`: the whole path in one process on loopback, no server needed. A generated
//! stream goes pusher → proxy (TCP) → SRT → gateway → TCP sink (standing in for the RTMP
//! server); the sink's bytes are checked against the pusher's (length and SHA-256).

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use clap::Args;
use rand::{RngCore as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest as _, Sha256};
use tmio_proxy::{ConnectionStats, Gateway, Proxy, Transferred};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

use crate::CommandError;

/// How often the pusher writes a chunk.
const PUSH_TICK: Duration = Duration::from_millis(10);
/// Time allowed, beyond the stream's own duration, for connecting and draining.
const SLACK: Duration = Duration::from_secs(30);
/// The rtmp preset's bandwidth cap (2.5 MB/s), Mbit/s.
const RTMP_PRESET_CAP_MBPS: u64 = 20;
/// The stream id the demo's proxy sends (routed by the gateway's default upstream).
const DEMO_STREAM_ID: &str = "#!::r=live/demo";

/// Arguments of `tmio demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long the pusher sends, in seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=600))]
    pub seconds: u32,
    /// The pusher's rate in Mbit/s. Every preset caps SRT at 20 Mbit/s (2.6 MB/s with headers, option
    /// maxbw): above that, backpressure slows the pusher down to the cap.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub mbps: u32,
}

/// What a demo run measured.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Bytes the pusher wrote and their SHA-256.
    pub sent: (u64, [u8; 32]),
    /// Bytes the sink read and their SHA-256.
    pub received: (u64, [u8; 32]),
    /// From the pusher's first byte to the sink's end of stream.
    pub duration: Duration,
    /// What the proxy's pump moved.
    pub proxy_moved: Transferred,
    /// The proxy's SRT statistics at the end.
    pub stats: ConnectionStats,
    /// The addresses along the path: proxy (TCP), gateway (SRT), sink (TCP).
    pub path: (SocketAddr, SocketAddr, SocketAddr),
}

impl DemoReport {
    /// True when the sink got exactly the pusher's bytes.
    pub fn identical(&self) -> bool {
        self.sent == self.received
    }

    /// The report printed on stdout.
    pub fn render(&self) -> String {
        let seconds = self.duration.as_secs_f64();
        let throughput = if seconds > 0.0 {
            self.received.0 as f64 * 8.0 / seconds / 1e6
        } else {
            0.0
        };
        let verdict = if self.identical() {
            "OK: the sink received exactly the bytes sent, in order"
        } else {
            "FAILED: the sink's bytes differ from the bytes sent"
        };
        let (proxy, gateway, sink) = self.path;
        let s = &self.stats;
        format!(
            "path:        pusher -> proxy tcp://{proxy} -> SRT -> gateway srt://{gateway} -> sink tcp://{sink}\n\
             sent:        {} bytes  sha256 {}\n\
             received:    {} bytes  sha256 {}\n\
             duration:    {seconds:.2} s\n\
             throughput:  {throughput:.2} Mbit/s\n\
             srt:         rtt {:.2} ms, packets sent {}, retransmitted {}, reported lost {}, \
             acks received {}, naks received {}\n\
             result:      {verdict}\n",
            self.sent.0,
            hex(&self.sent.1),
            self.received.0,
            hex(&self.received.1),
            s.rtt_ms,
            s.packets_sent,
            s.packets_retransmitted,
            s.packets_reported_lost,
            s.acks_received,
            s.naks_received,
        )
    }
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the demo and prints its report; an error when the bytes differ or it ran out of time.
pub async fn run(args: DemoArgs) -> Result<(), CommandError> {
    // Above the rtmp preset's cap the pusher is slowed down by backpressure: allow for it.
    let cap_factor = u64::from(args.mbps).div_ceil(RTMP_PRESET_CAP_MBPS).max(1);
    let limit = Duration::from_secs(u64::from(args.seconds) * cap_factor) * 2 + SLACK;
    let report = tokio::time::timeout(limit, demo(args.seconds, args.mbps))
        .await
        .map_err(|_| {
            CommandError::Demo(format!("did not finish within {} s", limit.as_secs()))
        })??;
    print!("{}", report.render());
    if report.identical() {
        Ok(())
    } else {
        Err(CommandError::Demo(format!(
            "sent {} bytes, the sink received {} bytes (or different ones)",
            report.sent.0, report.received.0
        )))
    }
}

/// Sets up sink, gateway and proxy on loopback, pushes `seconds` of `mbps`, and measures.
pub async fn demo(seconds: u32, mbps: u32) -> Result<DemoReport, CommandError> {
    let local_io = |context| move |source| CommandError::LocalIo { context, source };
    let sink = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(local_io("binding the demo's TCP sink"))?;
    let sink_addr = sink
        .local_addr()
        .map_err(local_io("reading the sink's address"))?;
    let sink_task = tokio::spawn(drain_one(sink));

    let mut gateway = Gateway::builder("srt://127.0.0.1:0")?
        .upstream(&format!("tcp://{sink_addr}"))?
        .start()
        .await?;
    let gateway_addr = gateway.local_addr();
    tracing::info!(%gateway_addr, %sink_addr, "gateway up");
    let remote = format!("srt://{gateway_addr}?streamid={DEMO_STREAM_ID}");
    let mut proxy = Proxy::builder("tcp://127.0.0.1:0", &remote)?
        .start()
        .await?;
    let proxy_addr = proxy.local_addr();
    tracing::info!(%proxy_addr, "proxy up; pushing {seconds} s at {mbps} Mbit/s");

    let started = Instant::now();
    let pusher = tokio::spawn(push(proxy_addr, seconds, mbps));
    let transfer = async {
        let sent = match pusher.await {
            Ok(sent) => sent?,
            Err(join) => {
                return Err(CommandError::Demo(format!(
                    "the pusher task failed: {join}"
                )))
            }
        };
        let proxy_moved = proxy.wait().await?;
        let received = match sink_task.await {
            Ok(received) => received?,
            Err(join) => return Err(CommandError::Demo(format!("the sink task failed: {join}"))),
        };
        Ok((sent, proxy_moved, received))
    };
    // The gateway's events are logged as they happen (a session's start when it starts).
    let (sent, proxy_moved, received) = {
        tokio::pin!(transfer);
        loop {
            tokio::select! {
                result = &mut transfer => break result?,
                Some(event) = gateway.next_event() => crate::gateway_cmd::log_event(&event),
            }
        }
    };
    let duration = started.elapsed();
    let stats = proxy.stats();
    gateway.stop().await;
    while let Some(event) = gateway.next_event().await {
        crate::gateway_cmd::log_event(&event);
    }
    Ok(DemoReport {
        sent,
        received,
        duration,
        proxy_moved,
        stats,
        path: (proxy_addr, gateway_addr, sink_addr),
    })
}

/// The "pusher": paced pseudo-random bytes, then a clean close.
async fn push(proxy: SocketAddr, seconds: u32, mbps: u32) -> Result<(u64, [u8; 32]), CommandError> {
    let mut stream = TcpStream::connect(proxy)
        .await
        .map_err(|source| CommandError::LocalIo {
            context: "connecting the demo pusher to the proxy",
            source,
        })?;
    let bytes_per_tick = (u64::from(mbps) * 1_000_000 / 8 / 100).max(1) as usize;
    let ticks = u64::from(seconds) * 100;
    let mut rng = ChaCha8Rng::seed_from_u64(u64::from(seconds) << 32 | u64::from(mbps));
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; bytes_per_tick];
    let mut sent = 0u64;
    let mut ticker = tokio::time::interval(PUSH_TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for _ in 0..ticks {
        ticker.tick().await;
        rng.fill_bytes(&mut chunk);
        stream
            .write_all(&chunk)
            .await
            .map_err(|source| CommandError::LocalIo {
                context: "the demo pusher writing to the proxy",
                source,
            })?;
        hasher.update(&chunk);
        sent += chunk.len() as u64;
    }
    // Logged before the close that lets the session end, so the log's order is the events'.
    tracing::info!(bytes = sent, "pusher finished");
    stream
        .shutdown()
        .await
        .map_err(|source| CommandError::LocalIo {
            context: "the demo pusher closing",
            source,
        })?;
    Ok((sent, hasher.finalize().into()))
}

/// The "RTMP server": takes one connection and reads it to the end.
async fn drain_one(listener: TcpListener) -> Result<(u64, [u8; 32]), CommandError> {
    let (mut stream, _) = listener
        .accept()
        .await
        .map_err(|source| CommandError::LocalIo {
            context: "the demo sink accepting",
            source,
        })?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut received = 0u64;
    loop {
        let n = stream
            .read(&mut buffer)
            .await
            .map_err(|source| CommandError::LocalIo {
                context: "the demo sink reading",
                source,
            })?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        received += n as u64;
    }
    Ok((received, hasher.finalize().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_second_arrives_identical() {
        let report = demo(1, 4).await.unwrap();
        assert!(report.identical(), "{}", report.render());
        assert_eq!(report.sent.0, 500_000);
        assert_eq!(report.proxy_moved.local_to_remote, 500_000);
        assert!(report.stats.packets_sent >= 500_000 / 1316);
        let text = report.render();
        assert!(text.contains("result:      OK"), "{text}");
    }

    #[test]
    fn a_difference_is_reported_as_failure() {
        let report = DemoReport {
            sent: (10, [1; 32]),
            received: (10, [2; 32]),
            duration: Duration::from_secs(1),
            proxy_moved: Transferred::default(),
            stats: ConnectionStats::default(),
            path: (
                SocketAddr::from(([127, 0, 0, 1], 1)),
                SocketAddr::from(([127, 0, 0, 1], 2)),
                SocketAddr::from(([127, 0, 0, 1], 3)),
            ),
        };
        assert!(!report.identical());
        assert!(report.render().contains("FAILED"));
    }
}
