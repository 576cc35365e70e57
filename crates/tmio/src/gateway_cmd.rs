//! `tmio gateway LISTEN_URL UPSTREAM_URL`: the far side. An SRT listener whose sessions are
//! pumped to TCP upstreams (RTMP servers), routed by the stream id's resource.

use clap::{builder::TypedValueParser as _, Args};
use tmio_proxy::{Gateway, GatewayEvent, ListenerLimits, RunningGateway, UpstreamConnect};

use crate::{
    args::{parse_option, parse_route, parse_route_passphrase},
    proxy_cmd::announce,
    signals::StopSignals,
    CommandError,
};

/// Arguments of `tmio gateway`.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Where to listen: srt://IP:PORT?options (srt://:9000 = every address; port 0 = any).
    pub listen_url: String,
    /// Where sessions without a matching route go: tcp://IP:PORT (the RTMP server).
    pub upstream_url: String,
    /// Sends sessions whose stream id resource (#!::r=RESOURCE) is RESOURCE or below it to
    /// another upstream; the longest route wins (repeatable).
    #[arg(long = "route", value_name = "RESOURCE=tcp://IP:PORT", value_parser = parse_route)]
    pub routes: Vec<(String, String)>,
    /// An SRT option by SDK name, libsrt URI key or SRTO_ name (repeatable).
    #[arg(long = "opt", value_name = "NAME=VALUE", value_parser = parse_option)]
    pub options: Vec<(String, String)>,
    /// Access rule: only callers whose stream id matches one of the rules get in (SRT reject
    /// 2403 otherwise). RULE is r=RESOURCE (it or below it), u=USER, m=request|publish|
    /// bidirectional (a stream id without m= is a request), any of them, comma-separated
    /// (repeatable; no rule = everyone).
    #[arg(long = "allow", value_name = "RULE")]
    pub allow: Vec<String>,
    /// Callers for RESOURCE (or below it) must encrypt with PASSPHRASE; the longest resource wins
    /// (repeatable; the listen URL must then have no passphrase). Wrong: reject 1010; plain: 1011.
    #[arg(long = "route-passphrase", value_name = "RESOURCE=PASSPHRASE", value_parser = parse_route_passphrase)]
    pub route_passphrases: Vec<(String, String)>,
    /// Sessions at once; more callers are refused (SRT reject 2402, "overloaded").
    #[arg(long, value_name = "N", default_value_t = ListenerLimits::default().max_sessions,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: u32,
    /// Sessions at once from one source IP address (reject 2402).
    #[arg(long, value_name = "N", default_value_t = ListenerLimits::default().max_sessions_per_ip,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions_per_ip: u32,
    /// New callers taken per second, in bursts of up to one second's worth (reject 1005,
    /// "backlog").
    #[arg(long, value_name = "N", default_value_t = ListenerLimits::default().max_handshakes_per_second,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_handshakes_per_second: u32,
    /// When a session's upstream TCP connection opens. first-bytes (default): once the caller
    /// is accepted and its first bytes arrive (pushers speak first, as RTMP's do): an idle
    /// caller (a proxy waiting for its pusher) holds no upstream connection, so the RTMP
    /// server's timeout does not trip, and a session without bytes never reaches it; an
    /// unreachable upstream then closes the session. accept: during the handshake, after the
    /// caller is authenticated; an unreachable upstream rejects it (2503). Use accept for an
    /// upstream that speaks first.
    #[arg(long, value_name = "WHEN", default_value = "first-bytes",
          value_parser = clap::builder::PossibleValuesParser::new(["first-bytes", "accept"])
              .map(|text| text.parse::<UpstreamConnect>().unwrap_or_default()))]
    pub upstream_connect: UpstreamConnect,
}

impl GatewayArgs {
    fn limits(&self) -> ListenerLimits {
        ListenerLimits {
            max_sessions: self.max_sessions,
            max_sessions_per_ip: self.max_sessions_per_ip,
            max_handshakes_per_second: self.max_handshakes_per_second,
            ..ListenerLimits::default()
        }
    }
}

/// Runs the gateway until SIGINT/SIGTERM/SIGHUP, then stops gracefully (sessions flush and close).
pub async fn run(args: GatewayArgs) -> Result<(), CommandError> {
    let mut signals = StopSignals::install()?;
    let mut builder = Gateway::builder(&args.listen_url)?.upstream(&args.upstream_url)?;
    for (resource, url) in &args.routes {
        builder = builder.route(resource, url)?;
    }
    for (name, value) in &args.options {
        builder = builder.option(name, value)?;
    }
    for rule in &args.allow {
        builder = builder.allow(rule)?;
    }
    for (resource, passphrase) in &args.route_passphrases {
        builder = builder.route_passphrase(resource, passphrase)?;
    }
    let mut gateway = builder
        .limits(args.limits())
        .upstream_connect(args.upstream_connect)
        .start()
        .await?;
    announce(&format!("listening srt://{}", gateway.local_addr()))?;
    if let Some(buffers) = gateway.udp_buffers().filter(|buffers| buffers.capped()) {
        // All sessions share this one socket: docs/command.md, "tmio gateway".
        tracing::info!(
            asked = buffers.asked,
            receive = buffers.receive,
            send = buffers.send,
            "UDP socket buffers smaller than asked, capped by net.core.rmem_max and wmem_max: \
             the gateway loses what arrives while it is behind by more than its receive buffer \
             (raise the caps with sysctl for many sessions)"
        );
    }
    for (resource, url) in &args.routes {
        tracing::info!(resource, upstream = url, "route");
    }
    tracing::info!(upstream = args.upstream_url, "default upstream");
    tracing::info!(
        when = %args.upstream_connect,
        "{}",
        match args.upstream_connect {
            UpstreamConnect::FirstBytes => "upstream connections open at each session's first bytes",
            UpstreamConnect::Accept => "upstream connections open during each caller's handshake",
        }
    );
    for rule in &args.allow {
        tracing::info!(rule, "allow");
    }
    for (resource, _) in &args.route_passphrases {
        tracing::info!(resource, "passphrase required");
    }
    let signal = loop {
        tokio::select! {
            event = gateway.next_event() => match event {
                Some(GatewayEvent::ListenerFailed { error }) => {
                    tracing::error!(%error, "the gateway's listener failed: stopping");
                    stop_and_log(&mut gateway, &mut signals).await?;
                    return Err(CommandError::Runtime { side: "local", source: error });
                }
                Some(event) => log_event(&event),
                None => {
                    tracing::warn!("the gateway's listener ended");
                    break None;
                }
            },
            signal = signals.next() => break Some(signal),
        }
    };
    if let Some(signal) = signal {
        tracing::info!(
            sessions = gateway.active_sessions(),
            "{signal}: stopping gracefully (running sessions flush, at most 10 s)"
        );
    }
    stop_and_log(&mut gateway, &mut signals).await
}

async fn stop_and_log(
    gateway: &mut RunningGateway,
    signals: &mut StopSignals,
) -> Result<(), CommandError> {
    tokio::select! {
        () = gateway.stop() => {}
        signal = signals.next() => return Err(CommandError::Interrupted { signal }),
    }
    while let Some(event) = gateway.next_event().await {
        log_event(&event);
    }
    tracing::info!("gateway stopped");
    Ok(())
}

/// One log line per session event.
pub fn log_event(event: &GatewayEvent) {
    match event {
        GatewayEvent::SessionStarted {
            id,
            peer,
            stream_id,
            upstream,
        } => tracing::info!(
            session = id,
            %peer,
            stream_id = stream_id.as_deref().unwrap_or("(none)"),
            %upstream,
            "session started"
        ),
        GatewayEvent::UpstreamConnected {
            id,
            upstream,
            waited,
        } => tracing::info!(
            session = id,
            %upstream,
            waited_s = waited.as_secs_f64(),
            "upstream connected: the session's first bytes arrived"
        ),
        GatewayEvent::Rejected {
            peer,
            stream_id,
            reason,
        } => tracing::warn!(
            peer = peer
                .map(|p| p.to_string())
                .unwrap_or_else(|| "(unknown)".into()),
            stream_id = stream_id.as_deref().unwrap_or("(none)"),
            reason,
            "caller rejected"
        ),
        GatewayEvent::SessionEnded { id, result } => match result {
            Ok(moved) => tracing::info!(
                session = id,
                bytes_to_upstream = moved.remote_to_local,
                bytes_to_caller = moved.local_to_remote,
                "session ended"
            ),
            Err(error) => tracing::warn!(
                session = id,
                side = ?error.error_type(),
                %error,
                "session failed"
            ),
        },
        other => tracing::debug!(?other, "gateway event"),
    }
}
