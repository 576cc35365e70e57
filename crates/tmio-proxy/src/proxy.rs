//! The async proxy: one pusher's TCP connection pumped over one SRT connection.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tmio_preset::{Options, Preset};
use tmio_pump::{CancellationToken, Pump, SideLabels, Transferred};
use tmio_transport::srt::{
    ConnectMode, GroupConnect, GroupMode, MemberSpec, SrtConfig, SrtMonitor, SrtStream,
};
use tmio_url::{redact_url_text, SrtUrl, TcpUrl};
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};

use crate::{settings, ConnectionStats, Error, PerfStatsReader};

/// Remote URL keys of a bonding group's members, which a proxy's single link cannot honour, and
/// why.
const GROUP_URL_KEYS: [(&str, &str); 3] = [
    (
        "weight",
        "weight= is the weight of a bonding group's link; the proxy runs one SRT link \
         (give links in a BondingConfig)",
    ),
    (
        "groupconnect",
        "groupconnect= lets a listener accept bonding groups; the proxy calls its remote",
    ),
    (
        "groupminstabletimeo",
        "groupminstabletimeo= tunes a bonding group's link stability; the proxy runs one SRT link",
    ),
];

/// Parses the local `tcp://IP[:PORT]` URL; without a port it means port 0 (any free port),
/// as in the SDK (`TmioProxy::start`: "Bind to random port if the port is not specified").
fn parse_local_url(local_url: &str) -> Result<TcpUrl, tmio_url::Error> {
    match TcpUrl::parse(local_url) {
        Err(tmio_url::Error::MissingPort { .. }) => {
            let authority_start = local_url.find("://").map_or(0, |at| at + 3);
            let authority_end = local_url[authority_start..]
                .find(['/', '?', '#'])
                .map_or(local_url.len(), |at| authority_start + at);
            let with_port = format!(
                "{}:0{}",
                &local_url[..authority_end],
                &local_url[authority_end..]
            );
            TcpUrl::parse(&with_port)
        }
        other => other,
    }
}

/// How often a proxy waiting for its pusher checks that the SRT connection is still alive.
const REMOTE_WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// What happens to a running proxy, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyEvent {
    /// The SRT connection is up and the local port takes the pusher.
    Started {
        /// The bound local address (the real port when 0 was asked for).
        local_addr: SocketAddr,
    },
    /// The pusher connected; further connections are refused.
    ClientConnected {
        /// The pusher's address.
        peer: SocketAddr,
    },
    /// Both directions ended cleanly.
    Finished(Transferred),
    /// The proxy failed; [`Error::error_type`] tells which side.
    Failed(Error),
}

/// Builds a proxy: `Proxy::builder(local, remote)?.preset(..).option(..)?.start().await?`.
#[derive(Debug)]
pub struct ProxyBuilder {
    local: TcpUrl,
    remote: SrtUrl,
    options: Options,
    bond: Option<Bond>,
    /// A single link's local address (overrides the URL's `adapter`/`port`).
    bind: Option<SocketAddr>,
    /// A single link's UDP socket, opened by the application.
    socket: Option<std::net::UdpSocket>,
}

/// A bonded group for a proxy's SRT side: every link calls with the remote URL's options (stream
/// id, passphrase, latency…); see [`ProxyBuilder::bond`].
#[derive(Debug, Clone)]
pub struct Bond {
    /// Broadcast or main/backup.
    pub mode: GroupMode,
    /// The member links (1 to 8).
    pub links: Vec<BondLink>,
}

/// One member link of a [`Bond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondLink {
    /// `srt://HOST:PORT` the link calls (no query: the remote URL's is shared).
    pub url: SrtUrl,
    /// Local address to bind the link's UDP socket to (port 0: any); `None`: any.
    pub bind: Option<SocketAddr>,
    /// Backup preference 0-100 (higher wins).
    pub weight: u8,
    /// Network interface to send from (`SO_BINDTODEVICE`: Linux, `CAP_NET_RAW` or root).
    pub device: Option<String>,
}

impl BondLink {
    /// Parses `srt://HOST:PORT[,bind=IP[:PORT]][,weight=N][,dev=IFNAME]` (the `--link` syntax).
    pub fn parse(spec: &str) -> Result<BondLink, Error> {
        let invalid = |reason: String| Error::UrlUse {
            which: "link",
            url: redact_url_text(spec),
            reason,
        };
        let mut parts = spec.split(',');
        let url_text = parts.next().unwrap_or_default();
        let url = SrtUrl::parse(url_text).map_err(|source| Error::Url {
            which: "link",
            url: redact_url_text(url_text),
            source,
        })?;
        if url.host().is_none() {
            return Err(invalid("a link needs a host (srt://HOST:PORT)".into()));
        }
        if url.options().iter().next().is_some() {
            return Err(invalid(
                "a link takes no query: options shared by every link go in the remote URL".into(),
            ));
        }
        let mut link = BondLink {
            url,
            bind: None,
            weight: 0,
            device: None,
        };
        for part in parts {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            match key {
                "bind" => {
                    let bind = value
                        .parse::<SocketAddr>()
                        .or_else(|_| {
                            value
                                .parse::<std::net::IpAddr>()
                                .map(|ip| SocketAddr::new(ip, 0))
                        })
                        .map_err(|_| invalid(format!("bind={value:?} is not IP or IP:PORT")))?;
                    link.bind = Some(bind);
                }
                "weight" => {
                    link.weight = value
                        .parse::<u8>()
                        .ok()
                        .filter(|w| *w <= 100)
                        .ok_or_else(|| invalid(format!("weight={value:?} is not 0 to 100")))?;
                }
                "dev" => {
                    if value.is_empty() || value.len() > 15 {
                        return Err(invalid(format!(
                            "dev={value:?} is not an interface name (1 to 15 bytes)"
                        )));
                    }
                    link.device = Some(value.to_owned());
                }
                other => {
                    return Err(invalid(format!(
                        "unknown link setting {other:?} (bind=IP[:PORT], weight=N, dev=IFNAME)"
                    )))
                }
            }
        }
        Ok(link)
    }
}

/// Entry point of the async API.
#[derive(Debug)]
pub struct Proxy;

impl Proxy {
    /// Starts building a proxy from `tcp://IP:PORT` (port 0 or no port = any free port) to
    /// `srt://HOST:PORT?options` (a path is ignored). The `rtmp` preset is the default. The
    /// bonding keys `weight`, `groupconnect` and `groupminstabletimeo` are refused in the remote
    /// URL: the proxy runs one link.
    ///
    /// An error carries the URL with its secrets hidden
    /// ([`redact_url_text`]); warnings are logged with the parsed
    /// URL, which prints `passphrase=<hidden>`.
    pub fn builder(local_url: &str, remote_url: &str) -> Result<ProxyBuilder, Error> {
        let local = parse_local_url(local_url).map_err(|source| Error::Url {
            which: "local",
            url: redact_url_text(local_url),
            source,
        })?;
        let remote = SrtUrl::parse(remote_url).map_err(|source| Error::Url {
            which: "remote",
            url: redact_url_text(remote_url),
            source,
        })?;
        for (key, _) in remote.options().iter() {
            if let Some((_, reason)) = GROUP_URL_KEYS.iter().find(|(name, _)| *name == key.name()) {
                return Err(Error::UrlUse {
                    which: "remote",
                    url: remote.to_string(),
                    reason: (*reason).to_owned(),
                });
            }
        }
        if remote.host().is_none() {
            return Err(Error::UrlUse {
                which: "remote",
                url: remote.to_string(),
                reason: "the remote URL needs a host (srt://HOST:PORT)".into(),
            });
        }
        for warning in remote.warnings() {
            tracing::warn!(url = %remote, %warning, "remote URL");
        }
        Ok(ProxyBuilder {
            local,
            remote,
            options: Options::from_preset(Preset::Rtmp)?,
            bond: None,
            bind: None,
            socket: None,
        })
    }
}

impl ProxyBuilder {
    /// Applies a preset's setters over the options so far ([`Preset::apply_to`]: what the
    /// preset does not set is kept, as the SDK's presets do).
    pub fn preset(mut self, preset: Preset) -> Result<Self, Error> {
        self.options.apply_preset(preset)?;
        Ok(self)
    }

    /// Sets one option by the SDK's name, libsrt's URI key or `SRTO_` name.
    pub fn option(mut self, name: &str, value: &str) -> Result<Self, Error> {
        self.options.set_by_name(name, value)?;
        Ok(self)
    }

    /// Makes the SRT side a bonded group of `bond.links` (each calling its own address with the
    /// remote URL's options); the remote URL's own host and port are then not a link. The
    /// stream starts once the first link connects; later links join as they connect.
    pub fn bond(mut self, bond: Bond) -> Self {
        self.bond = Some(bond);
        self
    }

    /// Binds the single SRT link's UDP socket to `addr` (port 0: any port) instead of what the
    /// remote URL's `adapter`/`port` say (or any address). Not for a bonded group: each
    /// [`BondLink`] has its own.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = Some(addr);
        self
    }

    /// Sends and receives the single SRT link on `socket`, a UDP socket the application opened
    /// (how Android apps use the cellular network). Not for a bonded group.
    pub fn udp_socket(mut self, socket: std::net::UdpSocket) -> Self {
        self.socket = Some(socket);
        self
    }

    /// Replaces all options.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The options so far (the URL's query is applied on top at start).
    pub fn current_options(&self) -> &Options {
        &self.options
    }

    /// The transport settings `start` will connect with: the options so far, the remote URL's
    /// query over them, checked, then turned into an [`SrtConfig`] (how each option is applied
    /// is in `docs/options.md`). The errors are `start`'s.
    pub fn transport_config(&self) -> Result<SrtConfig, Error> {
        let options = settings::merged_options(self.options.clone(), &self.remote)?;
        settings::srt_config(&options, &self.remote)
    }

    /// The remote URL as parsed. Its `Display` (what to log) prints the passphrase as
    /// `<hidden>`.
    pub fn remote_url(&self) -> &SrtUrl {
        &self.remote
    }

    /// Starts a persistent proxy instead ([`crate::persist`]): binds the local port at once and
    /// takes pusher after pusher, one at a time, each over an SRT session of its own opened
    /// when it arrives (retried with backoff while it waits). The options are checked now.
    pub async fn start_persistent(
        self,
        settings: crate::PersistSettings,
    ) -> Result<crate::RunningPersistentProxy, Error> {
        if self.bond.is_some() {
            return Err(Error::UrlUse {
                which: "remote",
                url: self.remote.to_string(),
                reason: "a persistent proxy runs one link; bonded groups are not supported there \
                         yet"
                .into(),
            });
        }
        if self.socket.is_some() {
            return Err(Error::UrlUse {
                which: "remote",
                url: self.remote.to_string(),
                reason: "a persistent proxy opens one SRT session per push; an application's                          UDP socket serves one session only"
                    .into(),
            });
        }
        let options = settings::merged_options(self.options, &self.remote)?;
        let mut config = settings::srt_config(&options, &self.remote)?;
        if let Some(bind) = self.bind {
            config.local_addr = Some(bind);
        }
        let mode = settings::connect_mode(&self.remote);
        if mode == ConnectMode::Listener {
            return Err(Error::UrlUse {
                which: "remote",
                url: self.remote.to_string(),
                reason: "the proxy calls its remote (mode=caller or rendezvous); \
                         `tmio gateway` is the listening side"
                    .into(),
            });
        }
        let remote = crate::persist::RemoteTarget {
            url: self.remote,
            config,
            mode,
        };
        crate::RunningPersistentProxy::start(self.local.addr, remote, settings).await
    }

    /// Connects the SRT side, then binds the local port. Returns once the pusher can connect.
    pub async fn start(self) -> Result<RunningProxy, Error> {
        let options = settings::merged_options(self.options, &self.remote)?;
        let mut config = settings::srt_config(&options, &self.remote)?;
        let mode = settings::connect_mode(&self.remote);
        if self.bond.is_some() && (self.bind.is_some() || self.socket.is_some()) {
            return Err(Error::UrlUse {
                which: "remote",
                url: self.remote.to_string(),
                reason: "a bonded group binds each link itself (BondLink::bind);                          a local address or socket is for a single link"
                    .into(),
            });
        }
        if let Some(bind) = self.bind {
            config.local_addr = Some(bind);
        }
        let stream = match (mode, &self.bond) {
            (ConnectMode::Caller, Some(bond)) => connect_bond(bond, config).await?,
            (ConnectMode::Rendezvous, Some(_)) => {
                return Err(Error::UrlUse {
                    which: "remote",
                    url: self.remote.to_string(),
                    reason: "a bonded group calls its links (mode=caller), not rendezvous".into(),
                })
            }
            (ConnectMode::Caller | ConnectMode::Rendezvous, None) => {
                let remote_addr = settings::resolve(&self.remote).await?;
                match self.socket {
                    Some(socket) => {
                        SrtStream::connect_with_socket(socket, remote_addr, mode, &config).await?
                    }
                    None => SrtStream::connect(remote_addr, mode, &config).await?,
                }
            }
            (ConnectMode::Listener, _) => {
                return Err(Error::UrlUse {
                    which: "remote",
                    url: self.remote.to_string(),
                    reason: "the proxy calls its remote (mode=caller or rendezvous); \
                             `tmio gateway` is the listening side"
                        .into(),
                })
            }
        };
        let local = self.local.addr;
        let listener = TcpListener::bind(local)
            .await
            .map_err(|source| Error::Bind {
                addr: local,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| Error::LocalIo {
            context: "reading the bound address",
            source,
        })?;
        let monitor = stream.monitor();
        let stop = CancellationToken::new();
        let (events_tx, events) = mpsc::unbounded_channel();
        let _ = events_tx.send(ProxyEvent::Started { local_addr });
        let session = Session {
            listener,
            stream,
            monitor: monitor.clone(),
            stop: stop.clone(),
            events: events_tx,
        };
        let task = tokio::spawn(session.run());
        Ok(RunningProxy {
            local_addr,
            monitor,
            stop,
            events,
            task: Some(task),
            transferred: Arc::new(Mutex::new(None)),
        })
    }
}

/// Connects a bonded group: each link's address resolved, every link with `config`.
async fn connect_bond(bond: &Bond, config: SrtConfig) -> Result<SrtStream, Error> {
    let mut members = Vec::with_capacity(bond.links.len());
    for link in &bond.links {
        members.push(MemberSpec {
            remote: settings::resolve(&link.url).await?,
            bind: link.bind,
            weight: link.weight,
            device: link.device.clone(),
        });
    }
    let group = GroupConnect {
        mode: bond.mode,
        members,
        config,
    };
    Ok(SrtStream::connect_group(group).await?)
}

/// A started proxy.
#[derive(Debug)]
pub struct RunningProxy {
    local_addr: SocketAddr,
    monitor: SrtMonitor,
    stop: CancellationToken,
    events: mpsc::UnboundedReceiver<ProxyEvent>,
    task: Option<JoinHandle<Result<Transferred, Error>>>,
    transferred: Arc<Mutex<Option<Transferred>>>,
}

impl RunningProxy {
    /// The local address the pusher connects to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// tmio's statistics of the SRT connection so far.
    pub fn stats(&self) -> ConnectionStats {
        self.monitor.stats()
    }

    /// A reader of the SDK's [`PerfStats`](crate::PerfStats) for this connection: each read
    /// restarts its `current` block (give each consumer its own reader).
    pub fn perf_stats_reader(&self) -> PerfStatsReader {
        PerfStatsReader::new(self.monitor.clone())
    }

    /// A handle that reads statistics from elsewhere.
    pub fn monitor(&self) -> SrtMonitor {
        self.monitor.clone()
    }

    /// The next event, `None` once the proxy has ended and every event was read.
    pub async fn next_event(&mut self) -> Option<ProxyEvent> {
        self.events.recv().await
    }

    /// A token that stops the proxy when cancelled (what [`RunningProxy::stop`] uses).
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Waits until the pusher's session ends (or the proxy fails) and returns what moved.
    pub async fn wait(&mut self) -> Result<Transferred, Error> {
        if let Some(done) = *self.transferred.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(done);
        }
        let Some(task) = self.task.take() else {
            return Err(Error::Stopped);
        };
        let result = match task.await {
            Ok(result) => result,
            Err(join) => Err(Error::Internal(format!("proxy task ended: {join}"))),
        };
        if let Ok(done) = &result {
            *self.transferred.lock().unwrap_or_else(|p| p.into_inner()) = Some(*done);
        }
        result
    }

    /// Stops gracefully: no new pusher is taken, what was accepted is flushed to the remote,
    /// the SRT connection is closed and the port is freed. Idempotent.
    pub async fn stop(&mut self) -> Result<Transferred, Error> {
        self.stop.cancel();
        match self.wait().await {
            Err(Error::Stopped) => Ok(Transferred::default()),
            other => other,
        }
    }
}

/// One proxy's work after start.
struct Session {
    listener: TcpListener,
    stream: SrtStream,
    monitor: SrtMonitor,
    stop: CancellationToken,
    events: mpsc::UnboundedSender<ProxyEvent>,
}

impl Session {
    async fn run(self) -> Result<Transferred, Error> {
        let events = self.events.clone();
        let result = self.serve().await;
        let _ = events.send(match &result {
            Ok(done) => ProxyEvent::Finished(*done),
            Err(error) => ProxyEvent::Failed(duplicate(error)),
        });
        result
    }

    async fn serve(self) -> Result<Transferred, Error> {
        let Session {
            listener,
            mut stream,
            monitor,
            stop,
            events,
        } = self;
        // Wait for the one pusher, watching the SRT side and the stop token meanwhile.
        let mut watch = tokio::time::interval(REMOTE_WATCH_INTERVAL);
        let (client, peer) = loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => break accepted,
                    Err(source) => return Err(Error::LocalIo { context: "accepting the pusher", source }),
                },
                _ = watch.tick() => {
                    if monitor.is_closed() {
                        return Err(match monitor.status() {
                            Err(error) => Error::Transport(error),
                            Ok(()) => Error::Transport(tmio_transport::Error::PeerClosed {
                                remote: monitor.peer_addr(),
                            }),
                        });
                    }
                }
                _ = stop.cancelled() => {
                    drop(listener);
                    close_quietly(&mut stream).await;
                    return Ok(Transferred::default());
                }
            }
        };
        // One client per proxy: closing the listener makes the OS refuse the next ones.
        drop(listener);
        let _ = client.set_nodelay(true);
        let _ = events.send(ProxyEvent::ClientConnected { peer });
        let pump = Pump::new(client, &mut stream)
            .buffer_size(SESSION_PUMP_BUFFER)
            .stop_on(stop)
            .labels(SideLabels {
                local: "pusher TCP",
                remote: "SRT",
            });
        match pump.run().await {
            Ok(moved) => Ok(moved),
            Err(error) => {
                // The pusher failed (e.g. reset its connection): what it sent before is still
                // delivered to the remote before the failure is reported.
                if error.side == tmio_pump::Side::Local {
                    close_quietly(&mut stream).await;
                }
                Err(error.into())
            }
        }
    }
}

/// The pump's buffer per direction for a proxy's or gateway's session: 256 KiB, four times the
/// pump's default, so a bulk push moves in fewer reads, writes and task wake-ups (see
/// docs/benchmarks.md, "The full chain"). The buffer is zeroed on allocation and only the pages a
/// read touches become resident: a direction that carries only small messages (the RTMP
/// server's answers) costs a few KiB.
pub(crate) const SESSION_PUMP_BUFFER: std::num::NonZeroUsize =
    match std::num::NonZeroUsize::new(256 * 1024) {
        Some(size) => size,
        None => tmio_pump::DEFAULT_BUFFER_SIZE,
    };

/// Graceful close of the SRT side, bounded by its linger (and a hard cap in case of a bug).
async fn close_quietly(stream: &mut SrtStream) {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(Duration::from_secs(60), stream.shutdown()).await;
}

/// A copy of an error for the event stream (the caller of `wait` gets the original).
pub(crate) fn duplicate(error: &Error) -> Error {
    match error {
        Error::Transport(e) => Error::Transport(e.duplicate()),
        Error::Pump(e) => Error::Pump(tmio_pump::PumpError {
            source: std::io::Error::new(e.source.kind(), e.source.to_string()),
            ..*e
        }),
        other => Error::Internal(other.to_string()),
    }
}

/// Runs a gateway-side session: an accepted SRT stream pumped to an upstream TCP server.
/// `already_read` is what the gateway read from the caller before the upstream was opened
/// (its first bytes, with [`UpstreamConnect::FirstBytes`](crate::UpstreamConnect)): written
/// upstream first and counted in `remote_to_local`.
pub(crate) async fn pump_gateway_session(
    mut upstream: tokio::net::TcpStream,
    stream: SrtStream,
    already_read: Vec<u8>,
    stop: CancellationToken,
) -> Result<Transferred, Error> {
    use tokio::io::AsyncWriteExt as _;
    let _ = upstream.set_nodelay(true);
    let first = already_read.len() as u64;
    if !already_read.is_empty() {
        if let Err(source) = upstream.write_all(&already_read).await {
            return Err(Error::Pump(tmio_pump::PumpError {
                side: tmio_pump::Side::Local,
                direction: tmio_pump::Direction::RemoteToLocal,
                operation: tmio_pump::Operation::Write,
                side_label: "upstream TCP server",
                transferred: Transferred::default(),
                source,
            }));
        }
    }
    let with_first = |moved: Transferred| Transferred {
        remote_to_local: moved.remote_to_local + first,
        ..moved
    };
    let pump = Pump::new(upstream, stream)
        .buffer_size(SESSION_PUMP_BUFFER)
        .stop_on(stop)
        .labels(SideLabels {
            local: "upstream TCP server",
            remote: "SRT caller",
        });
    match pump.run().await {
        Ok(moved) => Ok(with_first(moved)),
        // The caller closed the SRT connection (its pusher ended): SRT has no half-close, so
        // what the upstream still says afterwards (nginx answers the unpublish) cannot reach it.
        // That is the session's normal end, not a failure.
        Err(error)
            if error.side == tmio_pump::Side::Remote
                && error.operation == tmio_pump::Operation::Write
                && matches!(
                    tmio_transport::Error::from_io(&error.source),
                    Some(tmio_transport::Error::PeerClosed { .. })
                ) =>
        {
            Ok(with_first(error.transferred))
        }
        Err(mut error) => {
            error.transferred = with_first(error.transferred);
            Err(error.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Zq7Wx9Kp3Vm5Tj";

    fn assert_hidden(text: &str) {
        assert!(
            !text.contains(&SECRET[..5]),
            "the secret is printed in:\n{text}"
        );
    }

    fn error_text(result: Result<ProxyBuilder, Error>) -> String {
        match result {
            Ok(builder) => panic!("accepted: {builder:?}"),
            Err(error) => format!("{error}\n{error:?}"),
        }
    }

    #[test]
    fn builder_errors_do_not_carry_the_passphrase() {
        for remote in [
            format!("srt://:9000?passphrase={SECRET}"),
            format!("srt://h:9000?passphrase={}", &SECRET[..9]),
            format!("srt://h:9000?passwd={SECRET}"),
            format!("srt:/h:9000?passphrase={SECRET}"),
            format!("srt://h:99999?latency=20&passphrase={SECRET}"),
        ] {
            assert_hidden(&error_text(Proxy::builder("tcp://127.0.0.1:0", &remote)));
        }
        let text = error_text(Proxy::builder(
            "tcp://127.0.0.1:0",
            &format!("srt://:9000?latency=20&passphrase={SECRET}"),
        ));
        assert!(
            text.contains("srt://:9000?latency=20&passphrase=<hidden>"),
            "{text}"
        );
        let text = error_text(Proxy::builder(
            &format!("tcp://localhost:1?passphrase={SECRET}"),
            "srt://h:9000",
        ));
        assert_hidden(&text);
    }

    #[test]
    fn the_builder_prints_its_remote_url_without_the_passphrase() {
        let builder = Proxy::builder(
            "tcp://127.0.0.1:0",
            &format!("srt://127.0.0.1:9000?passphrase={SECRET}&streamid=%23!::r=a"),
        )
        .unwrap();
        assert_eq!(
            builder.remote_url().to_string(),
            "srt://127.0.0.1:9000?passphrase=<hidden>&streamid=#!::r=a"
        );
        assert_hidden(&format!("{builder:?}\n{builder:#?}"));
        assert_eq!(
            builder.remote_url().options().passphrase.as_deref(),
            Some(SECRET)
        );
    }

    #[test]
    fn a_local_url_without_a_port_means_port_0() {
        for (given, addr) in [
            ("tcp://127.0.0.1", "127.0.0.1:0"),
            ("tcp://127.0.0.1/", "127.0.0.1:0"),
            ("tcp://[::1]", "[::1]:0"),
            ("tcp://0.0.0.0:1935", "0.0.0.0:1935"),
        ] {
            assert_eq!(
                parse_local_url(given).unwrap().addr,
                addr.parse().unwrap(),
                "{given}"
            );
        }
        assert!(parse_local_url("tcp://localhost").is_err());
        assert!(parse_local_url("tcp://127.0.0.1:").is_err());
    }

    #[test]
    fn bonding_keys_in_the_remote_url_are_refused_with_the_reason() {
        for (query, reason) in [
            ("weight=10", "weight of a bonding group's link"),
            ("groupconnect=1", "accept bonding groups"),
        ] {
            let text = error_text(Proxy::builder(
                "tcp://127.0.0.1:0",
                &format!("srt://127.0.0.1:9000?{query}"),
            ));
            assert!(text.contains(reason), "{query}: {text}");
        }
    }

    #[tokio::test]
    async fn a_listener_remote_error_does_not_carry_the_passphrase() {
        let builder = Proxy::builder(
            "tcp://127.0.0.1:0",
            &format!("srt://127.0.0.1:9000?mode=listener&passphrase={SECRET}"),
        )
        .unwrap();
        let error = builder.start().await.unwrap_err();
        let text = format!("{error}\n{error:?}");
        assert!(matches!(error, Error::UrlUse { .. }), "{text}");
        assert_hidden(&text);
    }
}
