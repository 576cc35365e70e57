//! `tmio proxy LOCAL_URL REMOTE_URL`: take one pusher on a local TCP port and push its bytes
//! over SRT; with `--persist`, pusher after pusher, reconnecting SRT with backoff.

use std::{
    fs::{File, OpenOptions},
    io::{IsTerminal as _, Write as _},
    path::PathBuf,
    time::{Duration, SystemTime},
};

use clap::Args;
use tmio_proxy::{
    Bond, BondLink, ConnectionStats, PerfStatsReader, PersistSettings, PersistentEvent, Preset,
    Proxy, ProxyEvent, RunningPersistentProxy,
};

use crate::{
    args::{parse_interval, parse_link, parse_option, parse_preset, BondMode},
    signals::StopSignals,
    stats_view::{
        display_line, record, terminal_columns, Figures, RateMeter, RecordWriter, StatsFormat,
    },
    CommandError,
};

/// Arguments of `tmio proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Where the pusher connects: tcp://IP:PORT (port 0 = any free port, printed on stdout).
    pub local_url: String,
    /// The SRT server or tmio gateway: srt://HOST:PORT?options, e.g.
    /// 'srt://HOST:9000?streamid=#!::r=live/app' (quote it in a shell; %23 is read as # too).
    pub remote_url: String,
    /// Settings preset: rtmp (default; reliable, in order), ts-lossless, ts-latency[:MS].
    /// Every preset caps the SRT send rate at 20 Mbit/s; --opt maxbw=-1 lifts the cap.
    #[arg(long, value_parser = parse_preset)]
    pub preset: Option<Preset>,
    /// An SRT option by SDK name, libsrt URI key or SRTO_ name (repeatable), applied after the
    /// preset; the remote URL's query wins over both.
    #[arg(long = "opt", value_name = "NAME=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
    /// Seconds between two statistics updates (the live line and the records).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_interval)]
    pub stats_interval: Duration,
    /// Append one statistics record per interval to PATH; "-" writes them to stdout. A record is
    /// the SDK's PerfStats (total, current = the interval, rates, RTT, ...) and
    /// timestamp_unix_ms. The live line (on stderr, when it is a terminal) shows the main figures
    /// either way.
    #[arg(long, value_name = "PATH", visible_alias = "stats-file")]
    pub stats_json: Option<PathBuf>,
    /// Format of the records: json (one object per line) or csv (a header line, then one row
    /// per interval). Given without --stats-json, the records go to stdout.
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub stats_format: Option<StatsFormat>,
    /// Keep running: take the next pusher after one ends, one at a time (a pusher arriving
    /// during a push is refused: its connection is closed). Each push gets its own SRT session,
    /// opened when the pusher arrives (an idle proxy holds none); a failed connection is retried
    /// with backoff (0.5 s doubling to 10 s) for up to --persist-hold, then that pusher's
    /// connection is closed. A push whose SRT session fails mid-way is cut: its pusher's
    /// connection is closed and the log says how many of its bytes the proxy took and the
    /// remote acknowledged. Runs until SIGINT/SIGTERM/SIGHUP.
    #[arg(long)]
    pub persist: bool,
    /// With --persist: how long a pusher waits for its SRT session (retries included) before
    /// its connection is closed.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_interval,
          requires = "persist")]
    pub persist_hold: Duration,
    /// Make the SRT side a bonded group (libsrt's socket groups): broadcast sends every packet
    /// on every --link, backup sends on the highest-weight link and moves to the next when it
    /// goes silent. REMOTE_URL's query (stream id, passphrase, latency…) is shared by every
    /// link; its host and port are not a link themselves.
    #[arg(long, value_enum, requires = "links", conflicts_with = "persist")]
    pub bond: Option<BondMode>,
    /// A member link of the --bond group (repeatable, 1 to 8): srt://HOST:PORT, optionally
    /// followed by ,bind=IP[:PORT] (the local address to send from), ,weight=N (0-100, backup:
    /// higher wins) and ,dev=IFNAME (the interface to send from: SO_BINDTODEVICE, Linux, root
    /// or CAP_NET_RAW).
    #[arg(long = "link", value_name = "URL[,bind=IP[:PORT]][,weight=N][,dev=IFNAME]",
          value_parser = parse_link, requires = "bond")]
    pub links: Vec<BondLink>,
}

impl ProxyArgs {
    /// Where the records go: a file, stdout (`-`), or nowhere.
    fn records_target(&self) -> Option<RecordsTarget> {
        match (&self.stats_json, self.stats_format) {
            (Some(path), _) if path.as_os_str() == "-" => Some(RecordsTarget::Stdout),
            (Some(path), _) => Some(RecordsTarget::File(path.clone())),
            (None, Some(_)) => Some(RecordsTarget::Stdout),
            (None, None) => None,
        }
    }
}

/// Where `--stats-json` records go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RecordsTarget {
    Stdout,
    File(PathBuf),
}

/// An open output for the records.
enum RecordsOut {
    Stdout(RecordWriter<std::io::Stdout>),
    File(PathBuf, RecordWriter<File>),
}

impl RecordsOut {
    fn open(target: RecordsTarget, format: StatsFormat) -> Result<RecordsOut, CommandError> {
        match target {
            RecordsTarget::Stdout => Ok(RecordsOut::Stdout(RecordWriter::new(
                std::io::stdout(),
                format,
                true,
            ))),
            RecordsTarget::File(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|error| CommandError::BadArgument {
                        argument: "--stats-json",
                        reason: format!("cannot open {}: {error}", path.display()),
                    })?;
                let empty = file.metadata().map(|m| m.len() == 0).unwrap_or(true);
                Ok(RecordsOut::File(
                    path,
                    RecordWriter::new(file, format, empty),
                ))
            }
        }
    }

    fn write(
        &mut self,
        record: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), CommandError> {
        match self {
            RecordsOut::Stdout(writer) => {
                writer
                    .write(record)
                    .map_err(|source| CommandError::LocalIo {
                        context: "writing statistics to stdout",
                        source,
                    })
            }
            RecordsOut::File(path, writer) => {
                writer
                    .write(record)
                    .map_err(|source| CommandError::StatsFile {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }
}

/// Where the statistics go every interval.
struct StatsSinks {
    meter: RateMeter,
    /// One read per interval: its `current` block is the interval.
    reader: PerfStatsReader,
    live_line: bool,
    records: Option<RecordsOut>,
}

impl StatsSinks {
    fn new(reader: PerfStatsReader, live_line: bool, records: Option<RecordsOut>) -> StatsSinks {
        StatsSinks {
            meter: RateMeter::new(),
            reader,
            live_line,
            records,
        }
    }

    /// One report: the live line (after `prefix`, e.g. `push 2 `) and a record (with `extra`
    /// fields, e.g. the push number).
    fn report(
        &mut self,
        stats: &ConnectionStats,
        prefix: &str,
        extra: &[(&str, serde_json::Value)],
    ) -> Result<(), CommandError> {
        let figures = Figures::from_stats(stats);
        let rate = self.meter.send_rate_mbps(&figures);
        if self.live_line {
            let mut stderr = std::io::stderr().lock();
            let columns = terminal_columns(&stderr);
            let room = columns.saturating_sub(u16::try_from(prefix.len()).unwrap_or(u16::MAX));
            // The line is narrower than the terminal: `\r` returns to its start, and
            // `ESC [K` erases what a longer previous line left.
            let _ = write!(
                stderr,
                "\r{prefix}{}\x1b[K",
                display_line(&figures, rate, room)
            );
            let _ = stderr.flush();
        }
        if let Some(records) = &mut self.records {
            let mut record = record(&self.reader.read(), SystemTime::now());
            for (name, value) in extra {
                record.insert((*name).to_owned(), value.clone());
            }
            records.write(&record)?;
        }
        Ok(())
    }

    fn end_live_line(&self) {
        if self.live_line {
            eprintln!();
        }
    }
}

/// For a bonded group: the live line's prefix (`links 2/2 `: links not broken / links) and the
/// record's `links` field (every link's addresses, state and counters). Nothing for one link.
fn link_figures(
    bonded: bool,
    monitor: &tmio_proxy::SrtMonitor,
) -> (String, Vec<(&'static str, serde_json::Value)>) {
    if !bonded {
        return (String::new(), Vec::new());
    }
    let reports = monitor.path_reports();
    let live = reports
        .iter()
        .filter(|r| r.stats.state != tmio_proxy::PathState::Broken)
        .count();
    let links = serde_json::to_value(&reports).unwrap_or(serde_json::Value::Null);
    (
        format!("links {live}/{} ", reports.len()),
        vec![("links", links)],
    )
}

/// Runs the proxy until the pusher's session ends, a runtime error, or SIGINT/SIGTERM/SIGHUP (a graceful stop).
pub async fn run(args: ProxyArgs) -> Result<(), CommandError> {
    if args.persist {
        return run_persistent(args).await;
    }
    let mut signals = StopSignals::install()?;
    let mut builder = Proxy::builder(&args.local_url, &args.remote_url)?;
    if let Some(preset) = args.preset {
        builder = builder.preset(preset)?;
    }
    for (name, value) in &args.options {
        builder = builder.option(name, value)?;
    }
    let bonded = args.bond.is_some();
    if let Some(mode) = args.bond {
        builder = builder.bond(Bond {
            mode: mode.into(),
            links: args.links.clone(),
        });
    }
    let records_target = args.records_target();
    // Records on a terminal's stdout replace the live line, which would garble them.
    let records_on_terminal =
        records_target == Some(RecordsTarget::Stdout) && std::io::stdout().is_terminal();
    let records = match records_target {
        None => None,
        Some(target) => Some(RecordsOut::open(
            target,
            args.stats_format.unwrap_or_default(),
        )?),
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
    let mut sinks = StatsSinks::new(
        proxy.perf_stats_reader(),
        std::io::stderr().is_terminal() && !records_on_terminal,
        records,
    );
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
                for event in proxy.monitor().link_events() {
                    tracing::info!(?event, "SRT link");
                }
                let (prefix, extra) = link_figures(bonded, &proxy.monitor());
                if let Err(error) = sinks.report(&proxy.stats(), &prefix, &extra) {
                    sinks.end_live_line();
                    stop.cancel();
                    let _ = proxy.wait().await;
                    return Err(error);
                }
            }
        }
    }
    let result = proxy.wait().await;
    let (prefix, extra) = link_figures(bonded, &proxy.monitor());
    let final_report = sinks.report(&proxy.stats(), &prefix, &extra);
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
    // Live presets may give up late packets (too-late drop, or a tail abandoned at close).
    let dropped = stats.packets_send_dropped;
    tracing::info!(
        pushed_bytes = moved.local_to_remote,
        returned_bytes = moved.remote_to_local,
        retransmitted = stats.packets_retransmitted,
        dropped_packets = dropped,
        rtt_ms = Figures::from_stats(&stats).rtt_ms,
        "{}",
        match (stopping, dropped) {
            (true, 0) => "stopped gracefully: what was accepted was delivered",
            (false, 0) => "session ended: every byte delivered",
            (true, _) => "stopped gracefully; live mode dropped packets that were too late",
            (false, _) => "session ended; live mode dropped packets that were too late",
        }
    );
    Ok(())
}

/// `tmio proxy --persist`: pusher after pusher until a signal (see [`tmio_proxy::persist`]).
async fn run_persistent(args: ProxyArgs) -> Result<(), CommandError> {
    let mut signals = StopSignals::install()?;
    let mut builder = Proxy::builder(&args.local_url, &args.remote_url)?;
    if let Some(preset) = args.preset {
        builder = builder.preset(preset)?;
    }
    for (name, value) in &args.options {
        builder = builder.option(name, value)?;
    }
    let records_target = args.records_target();
    let records_on_terminal =
        records_target == Some(RecordsTarget::Stdout) && std::io::stdout().is_terminal();
    let mut records = match records_target {
        None => None,
        Some(target) => Some(RecordsOut::open(
            target,
            args.stats_format.unwrap_or_default(),
        )?),
    };
    let live_line = std::io::stderr().is_terminal() && !records_on_terminal;
    let remote = builder.remote_url().to_string();
    let settings = PersistSettings {
        pusher_hold: args.persist_hold,
        ..PersistSettings::default()
    };
    let mut proxy = builder.start_persistent(settings).await?;
    tracing::info!(
        %remote,
        hold_s = settings.pusher_hold.as_secs_f64(),
        "persistent: one push at a time, each over its own SRT session opened when the pusher \
         arrives"
    );
    announce(&format!("listening tcp://{}", proxy.local_addr()))?;
    let stop = proxy.stop_token();
    let mut ticker = tokio::time::interval(args.stats_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    // The statistics of the push in progress, from its SRT session up to its end.
    let mut current: Option<(u64, tmio_proxy::SrtMonitor, StatsSinks)> = None;
    let mut stopping = false;
    loop {
        tokio::select! {
            event = proxy.next_event() => {
                let Some(event) = event else { break };
                let status = proxy.status();
                let extra = |push: u64| {
                    [
                        ("push", serde_json::Value::from(push)),
                        ("reconnects", serde_json::Value::from(status.reconnects)),
                    ]
                };
                let mut ended_session = None;
                match &event {
                    PersistentEvent::SrtConnected { push, session, .. } => {
                        let reader = PerfStatsReader::new(session.clone());
                        let sinks = StatsSinks::new(reader, live_line, records.take());
                        current = Some((*push, session.clone(), sinks));
                    }
                    PersistentEvent::PushEnded { push, .. } | PersistentEvent::PushFailed { push, .. } => {
                        if let Some((_, monitor, mut sinks)) = current.take() {
                            let prefix = format!("push {push} ");
                            if let Err(error) = sinks.report(&monitor.stats(), &prefix, &extra(*push)) {
                                sinks.end_live_line();
                                stop.cancel();
                                let _ = proxy.wait().await;
                                return Err(error);
                            }
                            sinks.end_live_line();
                            records = sinks.records.take();
                            ended_session = Some(monitor);
                        }
                    }
                    _ => {}
                }
                log_persistent_event(&event, &proxy, ended_session.as_ref());
            }
            signal = signals.next() => {
                if stopping {
                    if let Some((_, _, sinks)) = &current {
                        sinks.end_live_line();
                    }
                    return Err(CommandError::Interrupted { signal });
                }
                tracing::info!("{signal}: stopping gracefully (a push in progress is flushed)");
                stop.cancel();
                stopping = true;
            }
            _ = ticker.tick() => {
                let status = proxy.status();
                match &mut current {
                    Some((push, monitor, sinks)) => {
                        let prefix = format!("push {push} ");
                        let extra = [
                            ("push", serde_json::Value::from(*push)),
                            ("reconnects", serde_json::Value::from(status.reconnects)),
                        ];
                        if let Err(error) = sinks.report(&monitor.stats(), &prefix, &extra) {
                            sinks.end_live_line();
                            stop.cancel();
                            let _ = proxy.wait().await;
                            return Err(error);
                        }
                    }
                    _ if live_line => {
                        let busy = status.pushes > status.pushes_ended + status.pushes_failed;
                        let now = if busy {
                            format!("push {}: connecting SRT", status.pushes)
                        } else {
                            format!("waiting for push {}", status.pushes + 1)
                        };
                        idle_line(&format!(
                            "{now} | {} ended, {} failed, {} reconnects",
                            status.pushes_ended, status.pushes_failed, status.reconnects,
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some((_, _, sinks)) = &current {
        sinks.end_live_line();
    }
    let status = proxy.wait().await?;
    tracing::info!(
        pushes = status.pushes,
        ended = status.pushes_ended,
        failed = status.pushes_failed,
        refused = status.pushers_refused,
        connect_failures = status.connect_failures,
        reconnects = status.reconnects,
        "stopped"
    );
    Ok(())
}

/// The live line while no push is in progress (persistent proxy, stderr a terminal).
fn idle_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let room = usize::from(terminal_columns(&stderr).max(2)) - 1;
    let line: String = text.chars().take(room).collect();
    let _ = write!(stderr, "\r{line}\x1b[K");
    let _ = stderr.flush();
}

/// One log line per event of a persistent proxy; `ended_session` is the SRT session of the push
/// an event ends.
fn log_persistent_event(
    event: &PersistentEvent,
    proxy: &RunningPersistentProxy,
    ended_session: Option<&tmio_proxy::SrtMonitor>,
) {
    match event {
        PersistentEvent::PusherConnected { push, peer } => {
            tracing::info!(push, %peer, "pusher connected: connecting SRT");
        }
        PersistentEvent::AcceptFailed { error } => {
            tracing::warn!(%error, "accepting a pusher failed; accepting again in 0.1 s")
        }
        PersistentEvent::PusherRefused { peer, serving } => tracing::warn!(
            %peer,
            serving,
            "pusher refused: a push is in progress (one at a time); its connection was closed"
        ),
        PersistentEvent::SrtConnectFailed {
            push,
            attempt,
            error,
            retry_in: Some(delay),
        } => tracing::warn!(
            push,
            attempt,
            retry_in_s = delay.as_secs_f64(),
            side = %error.error_type(),
            %error,
            "SRT connection failed; retrying"
        ),
        PersistentEvent::SrtConnectFailed {
            push,
            attempt,
            error,
            retry_in: None,
        } => tracing::error!(
            push,
            attempt,
            side = %error.error_type(),
            %error,
            "SRT connection failed; gave up on this pusher and closed its connection (the next \
             pusher tries again)"
        ),
        PersistentEvent::SrtConnected {
            push,
            attempt,
            reconnect: true,
            ..
        } => tracing::info!(
            push,
            attempt,
            reconnects = proxy.status().reconnects,
            "SRT reconnected"
        ),
        PersistentEvent::SrtConnected { push, attempt, .. } => {
            tracing::info!(push, attempt, "SRT connected")
        }
        PersistentEvent::PushEnded { push, transferred } => {
            let dropped = ended_session
                .map(|monitor| monitor.stats().packets_send_dropped)
                .unwrap_or(0);
            tracing::info!(
                push,
                pushed_bytes = transferred.local_to_remote,
                returned_bytes = transferred.remote_to_local,
                dropped_packets = dropped,
                "{}",
                if dropped == 0 {
                    "push ended: every byte delivered; waiting for the next pusher"
                } else {
                    "push ended; live mode dropped packets that were too late; waiting for the \
                     next pusher"
                }
            );
        }
        PersistentEvent::PushFailed {
            push,
            error,
            received_bytes,
            acknowledged_bytes,
        } => tracing::warn!(
            push,
            side = %error.error_type(),
            %error,
            received_bytes,
            acknowledged_bytes,
            unacknowledged_bytes = received_bytes.saturating_sub(*acknowledged_bytes),
            "push cut: its pusher's connection was closed; waiting for the next pusher"
        ),
        other => tracing::debug!(?other, "proxy event"),
    }
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
