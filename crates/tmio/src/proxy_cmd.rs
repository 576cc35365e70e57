//! `tmio proxy LOCAL_URL REMOTE_URL`: take one pusher on a local TCP port and push its bytes
//! over SRT.

use std::{
    fs::{File, OpenOptions},
    io::{IsTerminal as _, Write as _},
    path::PathBuf,
    time::{Duration, SystemTime},
};

use clap::Args;
use tmio_proxy::{PerfStatsReader, Preset, Proxy, ProxyEvent};

use crate::{
    args::{parse_interval, parse_option, parse_preset},
    signals::StopSignals,
    stats_view::{display_line, json_record},
    CommandError,
};

/// Arguments of `tmio proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Where the pusher connects: tcp://IP:PORT (port 0 = any free port, printed on stdout).
    pub local_url: String,
    /// The SRT server or tmio gateway: srt://HOST:PORT?options (e.g. streamid=%23!::r=live/app).
    pub remote_url: String,
    /// Settings preset: rtmp (default; reliable, in order), ts-lossless, ts-latency[:MS].
    #[arg(long, value_parser = parse_preset)]
    pub preset: Option<Preset>,
    /// An SRT option by SDK name, libsrt URI key or SRTO_ name (repeatable), applied after the
    /// preset; the remote URL's query wins over both.
    #[arg(long = "opt", value_name = "NAME=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
    /// Seconds between two statistics updates (display and --stats-json).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_interval)]
    pub stats_interval: Duration,
    /// Append one JSON object per interval to FILE: the SDK's PerfStats (total, current =
    /// the interval, rates, RTT, ...) and timestamp_unix_ms.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
}

/// Where the statistics go every interval.
struct StatsSinks {
    /// One read per interval: its `current` block is the interval.
    reader: PerfStatsReader,
    live_line: bool,
    json: Option<(PathBuf, File)>,
}

impl StatsSinks {
    fn report(&mut self) -> Result<(), CommandError> {
        let stats = self.reader.read();
        if self.live_line {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r{}\x1b[K", display_line(&stats));
            let _ = stderr.flush();
        }
        if let Some((path, file)) = &mut self.json {
            let record = json_record(&stats, SystemTime::now());
            writeln!(file, "{record}").map_err(|source| CommandError::StatsFile {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn end_live_line(&self) {
        if self.live_line {
            eprintln!();
        }
    }
}

/// Runs the proxy until the pusher's session ends, a runtime error, or SIGINT/SIGTERM.
pub async fn run(args: ProxyArgs) -> Result<(), CommandError> {
    let mut signals = StopSignals::install()?;
    let mut builder = Proxy::builder(&args.local_url, &args.remote_url)?;
    if let Some(preset) = args.preset {
        builder = builder.preset(preset)?;
    }
    for (name, value) in &args.options {
        builder = builder.option(name, value)?;
    }
    let json = match &args.stats_json {
        None => None,
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|error| CommandError::BadArgument {
                    argument: "--stats-json",
                    reason: format!("cannot open {}: {error}", path.display()),
                })?;
            Some((path.clone(), file))
        }
    };
    // The parsed URL prints `passphrase=<hidden>`: the command line's text is never logged.
    tracing::info!(remote = %builder.remote_url(), "connecting");
    let mut proxy = tokio::select! {
        started = builder.start() => started?,
        signal = signals.next() => {
            tracing::info!("{signal} before the SRT connection was up: stopping");
            return Ok(());
        }
    };
    announce(&format!("listening tcp://{}", proxy.local_addr()))?;
    let mut sinks = StatsSinks {
        reader: proxy.perf_stats_reader(),
        live_line: std::io::stderr().is_terminal(),
        json,
    };
    let stop = proxy.stop_token();
    let mut ticker = tokio::time::interval(args.stats_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut stopping = false;
    loop {
        tokio::select! {
            event = proxy.next_event() => match event {
                Some(ProxyEvent::ClientConnected { peer }) => {
                    tracing::info!(%peer, "pusher connected");
                }
                Some(ProxyEvent::Started { .. }) => {}
                Some(ProxyEvent::Finished(_) | ProxyEvent::Failed(_)) | None => break,
                Some(other) => tracing::debug!(?other, "proxy event"),
            },
            signal = signals.next() => {
                if stopping {
                    sinks.end_live_line();
                    return Err(CommandError::Interrupted { signal });
                }
                tracing::info!("{signal}: stopping gracefully (flushing what was accepted)");
                stop.cancel();
                stopping = true;
            }
            _ = ticker.tick() => {
                if let Err(error) = sinks.report() {
                    sinks.end_live_line();
                    stop.cancel();
                    let _ = proxy.wait().await;
                    return Err(error);
                }
            }
        }
    }
    let result = proxy.wait().await;
    let final_report = sinks.report();
    sinks.end_live_line();
    let moved = match result {
        // An encoder that exits without reading the server's last messages (ffmpeg does, after
        // its unpublish) makes its kernel reset the connection instead of closing it. That is the
        // end of the pusher's stream, not a failure of tmio: everything it had sent was read and
        // has been delivered (the proxy flushes the SRT side before it reports a local failure).
        Err(tmio_proxy::Error::Pump(e))
            if e.side == tmio_pump::Side::Local
                && e.operation == tmio_pump::Operation::Read
                && e.kind() == std::io::ErrorKind::ConnectionReset =>
        {
            tracing::warn!("the pusher reset its connection at the end of its stream ({e})");
            e.transferred
        }
        other => other?,
    };
    final_report?;
    let stats = proxy.stats();
    tracing::info!(
        pushed_bytes = moved.local_to_remote,
        returned_bytes = moved.remote_to_local,
        retransmitted = stats.packets_retransmitted,
        rtt_ms = stats.rtt_ms,
        "{}",
        if stopping {
            "stopped gracefully: what was accepted was delivered"
        } else {
            "session ended: every byte delivered"
        }
    );
    Ok(())
}

/// Prints a readiness line on stdout and flushes it (scripts wait for it).
pub(crate) fn announce(line: &str) -> Result<(), CommandError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|source| CommandError::LocalIo {
            context: "writing to stdout",
            source,
        })
}
