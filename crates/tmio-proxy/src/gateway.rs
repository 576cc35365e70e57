//! The gateway: the far side tmio users run themselves. An SRT listener serves many sessions on
//! one port; each is routed by its stream id's resource (`#!::r=live/app`) to a TCP upstream
//! (an RTMP server) and pumped both ways. Requests with no route are rejected with SRT's
//! "not found" (2404).
//!
//! Nothing is opened upstream before the caller passed the access rules and authenticated.
//! When the upstream connection opens is [`UpstreamConnect`]: during the handshake (the
//! library's default; an unreachable upstream rejects the caller with "service unavailable",
//! 2503), or once the accepted session's first payload bytes arrive (what `tmio gateway` does by
//! default), so a caller that stays idle — a persistent proxy waiting for its pusher — never
//! makes the upstream server time out, and a session that ends without bytes never touches it.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use tmio_preset::{Options, Preset};
use tmio_pump::CancellationToken;
use tmio_transport::srt::{
    ConnectionRequest, ListenerLimits, RejectReason, ServerRejectReason, SrtListener, SrtStream,
    UdpBuffers,
};
use tmio_url::{SrtUrl, StreamId, TcpUrl};
use tokio::{net::TcpStream, sync::mpsc, task::JoinSet};

use crate::{
    access::{AccessRule, Claims},
    proxy::pump_gateway_session,
    settings, Error,
};

/// How long the gateway tries to reach an upstream before rejecting the caller.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a graceful stop waits for sessions to flush.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The most a session's first read takes (one read; the rest goes through the pump).
const FIRST_READ_BYTES: usize = 64 * 1024;

/// When the gateway opens a session's upstream TCP connection. Either way, never before the
/// caller passed the access rules and authenticated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UpstreamConnect {
    /// During the handshake, before the caller is told it is accepted: an upstream that cannot
    /// be reached (3 s) rejects the caller with SRT's "service unavailable" (2503). The
    /// upstream sees a connection as soon as a caller connects, even one that sends nothing
    /// for a long time. The library's default.
    #[default]
    Accept,
    /// After the caller is accepted, when the session's first payload bytes arrive (for pushes,
    /// where the pusher speaks first, as RTMP's client does). An idle caller holds no upstream
    /// connection, and a session that ends without a byte never opens one. An unreachable
    /// upstream then ends the accepted session (the caller sees its connection closed) with
    /// [`Error::Upstream`]. Not for upstreams that speak first.
    FirstBytes,
}

impl UpstreamConnect {
    /// The name `tmio gateway --upstream-connect` takes: `accept` or `first-bytes`.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamConnect::Accept => "accept",
            UpstreamConnect::FirstBytes => "first-bytes",
        }
    }
}

impl std::fmt::Display for UpstreamConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for UpstreamConnect {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "accept" => Ok(UpstreamConnect::Accept),
            "first-bytes" | "first_bytes" => Ok(UpstreamConnect::FirstBytes),
            _ => Err(format!(
                "unknown upstream connect mode {text:?}: use accept or first-bytes"
            )),
        }
    }
}

/// What the gateway reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum GatewayEvent {
    /// A caller was accepted (with [`UpstreamConnect::Accept`], its upstream connection is
    /// open; with [`UpstreamConnect::FirstBytes`], it opens at the session's first bytes:
    /// [`GatewayEvent::UpstreamConnected`]).
    SessionStarted {
        /// Session number (1, 2, …).
        id: u64,
        /// The caller's address.
        peer: SocketAddr,
        /// The caller's stream id, if any.
        stream_id: Option<String>,
        /// The upstream it is pumped to.
        upstream: SocketAddr,
    },
    /// With [`UpstreamConnect::FirstBytes`]: the session's first bytes arrived and its upstream
    /// connection is open (they are its first bytes).
    UpstreamConnected {
        /// Session number.
        id: u64,
        /// The upstream.
        upstream: SocketAddr,
        /// How long the session waited for its first bytes.
        waited: Duration,
    },
    /// A caller was rejected.
    Rejected {
        /// The caller's address.
        peer: Option<SocketAddr>,
        /// The caller's stream id, if any.
        stream_id: Option<String>,
        /// Why, in words.
        reason: String,
    },
    /// A session ended.
    SessionEnded {
        /// Session number.
        id: u64,
        /// Bytes moved, or the error that ended it.
        result: Result<tmio_pump::Transferred, Error>,
    },
    /// The SRT listener stopped by itself (a bug in tmio, not a caller's doing): the gateway
    /// takes no more callers. A supervisor should treat this as a failure.
    ListenerFailed {
        /// Why.
        error: Error,
    },
}

/// Builds a gateway.
#[derive(Debug)]
pub struct GatewayBuilder {
    listen: SrtUrl,
    default_upstream: Option<SocketAddr>,
    routes: BTreeMap<String, SocketAddr>,
    options: Options,
    limits: ListenerLimits,
    access: Vec<AccessRule>,
    route_passphrases: BTreeMap<String, String>,
    upstream_connect: UpstreamConnect,
}

/// Entry point of the gateway API.
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// Starts building a gateway listening on `srt://[IP]:PORT?options` (`srt://:9000` listens
    /// on every address).
    pub fn builder(listen_url: &str) -> Result<GatewayBuilder, Error> {
        // A gateway always listens: `srt://127.0.0.1:9000` means listening on that address.
        let with_mode = if listen_url.contains("mode=") {
            listen_url.to_owned()
        } else if listen_url.contains('?') {
            format!("{listen_url}&mode=listener")
        } else {
            format!("{listen_url}?mode=listener")
        };
        let listen = SrtUrl::parse(&with_mode).map_err(|source| Error::Url {
            which: "listen",
            url: tmio_url::redact_url_text(listen_url),
            source,
        })?;
        if listen.mode() != tmio_url::Mode::Listener {
            return Err(Error::UrlUse {
                which: "listen",
                url: tmio_url::redact_url_text(listen_url),
                reason: "the gateway listens: give mode=listener or no mode".into(),
            });
        }
        Ok(GatewayBuilder {
            listen,
            default_upstream: None,
            routes: BTreeMap::new(),
            options: Options::from_preset(Preset::Rtmp)?,
            limits: ListenerLimits::default(),
            access: Vec::new(),
            route_passphrases: BTreeMap::new(),
            upstream_connect: UpstreamConnect::default(),
        })
    }
}

fn parse_upstream(url: &str) -> Result<SocketAddr, Error> {
    TcpUrl::parse(url)
        .map(|u| u.addr)
        .map_err(|source| Error::Url {
            which: "upstream",
            url: url.to_owned(),
            source,
        })
}

impl GatewayBuilder {
    /// Where sessions without a matching route go (`tcp://IP:PORT`).
    pub fn upstream(mut self, url: &str) -> Result<Self, Error> {
        self.default_upstream = Some(parse_upstream(url)?);
        Ok(self)
    }

    /// Sends sessions whose stream-id resource is `resource` (or starts with `resource/`) to
    /// `url`. The longest matching route wins.
    pub fn route(mut self, resource: &str, url: &str) -> Result<Self, Error> {
        let resource = resource.trim_matches('/');
        if resource.is_empty() {
            return Err(Error::UrlUse {
                which: "upstream",
                url: url.to_owned(),
                reason: "a route needs a non-empty resource (e.g. live/app)".into(),
            });
        }
        self.routes
            .insert(resource.to_owned(), parse_upstream(url)?);
        Ok(self)
    }

    /// Replaces the options with a preset's.
    pub fn preset(mut self, preset: Preset) -> Result<Self, Error> {
        self.options = Options::from_preset(preset)?;
        Ok(self)
    }

    /// Sets one option by the SDK's name, libsrt's URI key or `SRTO_` name.
    pub fn option(mut self, name: &str, value: &str) -> Result<Self, Error> {
        self.options.set_by_name(name, value)?;
        Ok(self)
    }

    /// Adds a rule to the stream-id allow-list (`r=RESOURCE,u=USER,m=MODE`, see
    /// [`AccessRule`]). With rules, a caller must satisfy one of them or is refused with SRT's
    /// 2403 "forbidden" before anything else is done for it.
    pub fn allow(mut self, rule: &str) -> Result<Self, Error> {
        self.access.push(AccessRule::parse(rule)?);
        Ok(self)
    }

    /// Callers whose stream-id resource is `resource` or below it must encrypt with
    /// `passphrase` (the longest matching resource wins); others stay plain unless the listen URL
    /// has a passphrase for all. A caller with another passphrase is refused with 1010, one
    /// without with 1011, before any upstream connection is opened. Needs a listen URL without
    /// `passphrase=`.
    pub fn route_passphrase(mut self, resource: &str, passphrase: &str) -> Result<Self, Error> {
        let resource = resource.trim_matches('/');
        if resource.is_empty() {
            return Err(Error::AccessRule {
                rule: format!("{resource}=<passphrase>"),
                reason: "a route passphrase needs a non-empty resource (e.g. live/app)".into(),
            });
        }
        if !(10..=79).contains(&passphrase.len()) {
            return Err(Error::AccessRule {
                rule: format!("{resource}=<passphrase>"),
                reason: format!(
                    "the passphrase has {} characters; SRT takes 10 to 79",
                    passphrase.len()
                ),
            });
        }
        self.route_passphrases
            .insert(resource.to_owned(), passphrase.to_owned());
        Ok(self)
    }

    /// Limits on callers: sessions in all and per source IP, callers waiting, new callers per
    /// second (defaults: [`ListenerLimits::default`]). A caller over a limit is refused with an
    /// SRT reject reason and a log line.
    pub fn limits(mut self, limits: ListenerLimits) -> Self {
        self.limits = limits;
        self
    }

    /// When each session's upstream connection opens (default [`UpstreamConnect::Accept`]).
    pub fn upstream_connect(mut self, when: UpstreamConnect) -> Self {
        self.upstream_connect = when;
        self
    }

    /// Binds the SRT port and starts serving.
    pub async fn start(self) -> Result<RunningGateway, Error> {
        if self.default_upstream.is_none() && self.routes.is_empty() {
            return Err(Error::UrlUse {
                which: "upstream",
                url: String::new(),
                reason: "the gateway needs an upstream or at least one route".into(),
            });
        }
        let options = settings::merged_options(self.options, &self.listen)?;
        let config = settings::srt_config(&options, &self.listen)?;
        let ip = match self.listen.host() {
            None => std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            Some(_) => settings::resolve(&self.listen).await?.ip(),
        };
        let addr = SocketAddr::new(ip, self.listen.port());
        if config.passphrase.is_some() && !self.route_passphrases.is_empty() {
            return Err(Error::UrlUse {
                which: "listen",
                url: self.listen.to_string(),
                reason: "route passphrases need a listen URL without passphrase= (it would \
                         apply to every caller)"
                    .into(),
            });
        }
        // `groupconnect=1` (libsrt's name): bonded groups are accepted, each as one session.
        let groups = self.listen.options().groupconnect == Some(true);
        let listener = SrtListener::bind_with(addr, config, self.limits, groups).await?;
        let local_addr = listener.local_addr();
        let udp_buffers = listener.udp_buffers();
        let stop = CancellationToken::new();
        let (events_tx, events) = mpsc::unbounded_channel();
        let sessions = Arc::new(AtomicUsize::new(0));
        let router = Router {
            default_upstream: self.default_upstream,
            routes: self.routes,
            access: self.access,
            passphrases: self.route_passphrases,
            upstream_connect: self.upstream_connect,
        };
        let task = tokio::spawn(serve(
            listener,
            router,
            stop.clone(),
            events_tx,
            sessions.clone(),
        ));
        Ok(RunningGateway {
            local_addr,
            udp_buffers,
            stop,
            events,
            sessions,
            task: Some(task),
        })
    }
}

/// A running gateway.
#[derive(Debug)]
pub struct RunningGateway {
    local_addr: SocketAddr,
    udp_buffers: Option<UdpBuffers>,
    stop: CancellationToken,
    events: mpsc::UnboundedReceiver<GatewayEvent>,
    sessions: Arc<AtomicUsize>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningGateway {
    /// The bound SRT address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The listening UDP socket's buffers, asked and granted (`None` when the kernel did not
    /// say); see [`UdpBuffers`].
    pub fn udp_buffers(&self) -> Option<UdpBuffers> {
        self.udp_buffers
    }

    /// Sessions running now.
    pub fn active_sessions(&self) -> usize {
        self.sessions.load(Ordering::Relaxed)
    }

    /// The next event (`None` after the gateway stopped and every event was read).
    pub async fn next_event(&mut self) -> Option<GatewayEvent> {
        self.events.recv().await
    }

    /// Stops taking callers, lets running sessions flush (at most 10 s) and closes them.
    /// Idempotent.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

struct Router {
    default_upstream: Option<SocketAddr>,
    routes: BTreeMap<String, SocketAddr>,
    /// The stream-id allow-list (empty: everyone).
    access: Vec<AccessRule>,
    /// Per-resource passphrases (see `GatewayBuilder::route_passphrase`).
    passphrases: BTreeMap<String, String>,
    /// When sessions open their upstream connection.
    upstream_connect: UpstreamConnect,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("default_upstream", &self.default_upstream)
            .field("routes", &self.routes)
            .field("access", &self.access)
            .field("passphrases", &self.passphrases.keys().collect::<Vec<_>>())
            .field("upstream_connect", &self.upstream_connect)
            .finish()
    }
}

/// The entry of `table` whose key is `resource` or the longest prefix of it at a `/`.
fn longest_match<'a, T>(table: &'a BTreeMap<String, T>, resource: &str) -> Option<&'a T> {
    let resource = resource.trim_matches('/');
    table
        .iter()
        .filter(|(route, _)| {
            resource == route.as_str()
                || resource
                    .strip_prefix(route.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(route, _)| route.len())
        .map(|(_, value)| value)
}

impl Router {
    /// The upstream for a stream id: its resource (`r=` of `#!::`, or the whole verbatim id)
    /// matched against the routes, longest first, else the default.
    fn upstream_for(&self, stream_id: Option<&str>) -> Option<SocketAddr> {
        stream_id
            .and_then(resource_of)
            .and_then(|resource| longest_match(&self.routes, &resource).copied())
            .or(self.default_upstream)
    }

    /// The passphrase callers for this stream id must use, if their resource has one.
    fn passphrase_for(&self, stream_id: Option<&str>) -> Option<String> {
        stream_id
            .and_then(resource_of)
            .and_then(|resource| longest_match(&self.passphrases, &resource).cloned())
    }

    /// Whether the allow-list lets this stream id in.
    fn allows(&self, stream_id: Option<&str>) -> bool {
        let claims = Claims::of(stream_id);
        self.access.is_empty() || self.access.iter().any(|rule| rule.allows(&claims))
    }
}

/// The resource a stream id names. A stream id that arrives as `%23!::…` is read as `#!::…`:
/// ffmpeg 5.1 and libsrt's apps send a URL's `streamid=%23!::…` without decoding it, and both
/// spellings must route alike (docs/url.md, "Writing `#`").
fn resource_of(stream_id: &str) -> Option<String> {
    let decoded;
    let stream_id = match stream_id.get(..3).zip(stream_id.get(3..)) {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("%23") && rest.starts_with("!::") => {
            decoded = format!("#{rest}");
            decoded.as_str()
        }
        _ => stream_id,
    };
    match StreamId::parse(stream_id) {
        Ok(StreamId::AccessControl(acl)) => acl.resource().map(str::to_owned),
        Ok(StreamId::Verbatim(text)) => Some(text),
        #[allow(unreachable_patterns)]
        Ok(_) => None,
        Err(_) => None,
    }
}

async fn serve(
    mut listener: SrtListener,
    router: Router,
    stop: CancellationToken,
    events: mpsc::UnboundedSender<GatewayEvent>,
    sessions: Arc<AtomicUsize>,
) {
    let router = Arc::new(router);
    let next_id = AtomicU64::new(1);
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            request = listener.next_request() => {
                let request = match request {
                    Ok(request) => request,
                    Err(tmio_transport::Error::Closed) => break,
                    Err(error) => {
                        let _ = events.send(GatewayEvent::ListenerFailed { error: error.into() });
                        break;
                    }
                };
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                running.spawn(session(
                    id,
                    request,
                    router.clone(),
                    stop.child_token(),
                    events.clone(),
                    sessions.clone(),
                ));
            }
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = stop.cancelled() => break,
        }
    }
    drop(listener);
    let drain = async { while running.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_GRACE, drain).await.is_err() {
        running.abort_all();
    }
}

async fn session(
    id: u64,
    request: ConnectionRequest,
    router: Arc<Router>,
    stop: CancellationToken,
    events: mpsc::UnboundedSender<GatewayEvent>,
    sessions: Arc<AtomicUsize>,
) {
    let peer = request.peer_addr();
    let stream_id = request.stream_id().map(str::to_owned);
    if let Some(mode) = request.group_mode() {
        tracing::info!(
            id,
            ?peer,
            ?mode,
            "bonded group: one session for every member link"
        );
    }
    let reject = |request: ConnectionRequest, reason: ServerRejectReason, words: String| {
        request.reject(RejectReason::Server(reason));
        let _ = events.send(GatewayEvent::Rejected {
            peer,
            stream_id: stream_id.clone(),
            reason: words,
        });
    };
    if !router.allows(stream_id.as_deref()) {
        let words = format!("stream id {stream_id:?} is not allowed by the access rules");
        reject(request, ServerRejectReason::Forbidden, words);
        return;
    }
    let Some(upstream_addr) = router.upstream_for(stream_id.as_deref()) else {
        let words = format!("no route for stream id {stream_id:?}");
        reject(request, ServerRejectReason::Notfound, words);
        return;
    };
    // Nothing reaches the upstream before the caller is authenticated: the listener already
    // refused wrong passphrases, malformed key material and plain callers when the gateway has a
    // passphrase for all; here the caller's key is checked against its route's passphrase (or
    // refused for encrypting where its route has none).
    let mut request = request;
    if let Err(error) = request
        .authenticate(router.passphrase_for(stream_id.as_deref()))
        .await
    {
        let _ = events.send(GatewayEvent::Rejected {
            peer,
            stream_id,
            reason: error.to_string(),
        });
        return;
    }
    if router.upstream_connect == UpstreamConnect::FirstBytes {
        let stream = match request.accept(None).await {
            Ok(stream) => stream,
            Err(error) => {
                let _ = events.send(GatewayEvent::Rejected {
                    peer,
                    stream_id,
                    reason: error.to_string(),
                });
                return;
            }
        };
        sessions.fetch_add(1, Ordering::Relaxed);
        let _ = events.send(GatewayEvent::SessionStarted {
            id,
            peer: stream.peer_addr(),
            stream_id,
            upstream: upstream_addr,
        });
        let result = first_bytes_session(id, upstream_addr, stream, stop, &events).await;
        sessions.fetch_sub(1, Ordering::Relaxed);
        let _ = events.send(GatewayEvent::SessionEnded { id, result });
        return;
    }
    let upstream = match connect_upstream(upstream_addr).await {
        Ok(stream) => stream,
        Err(error) => {
            reject(request, ServerRejectReason::Down, error.to_string());
            return;
        }
    };
    let stream = match request.accept(None).await {
        Ok(stream) => stream,
        Err(error) => {
            let _ = events.send(GatewayEvent::Rejected {
                peer,
                stream_id,
                reason: error.to_string(),
            });
            return;
        }
    };
    sessions.fetch_add(1, Ordering::Relaxed);
    let _ = events.send(GatewayEvent::SessionStarted {
        id,
        peer: stream.peer_addr(),
        stream_id,
        upstream: upstream_addr,
    });
    let result = pump_gateway_session(upstream, stream, Vec::new(), stop).await;
    sessions.fetch_sub(1, Ordering::Relaxed);
    let _ = events.send(GatewayEvent::SessionEnded { id, result });
}

/// Opens the upstream TCP connection, bounded by [`UPSTREAM_CONNECT_TIMEOUT`].
async fn connect_upstream(addr: SocketAddr) -> Result<TcpStream, Error> {
    match tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(Error::Upstream { addr, source }),
        Err(_) => Err(Error::Upstream {
            addr,
            source: std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} s", UPSTREAM_CONNECT_TIMEOUT.as_secs()),
            ),
        }),
    }
}

/// An accepted session that opens its upstream when its first payload bytes arrive
/// ([`UpstreamConnect::FirstBytes`]). A session that ends (or is stopped) before any byte never
/// touches the upstream.
async fn first_bytes_session(
    id: u64,
    upstream_addr: SocketAddr,
    mut stream: SrtStream,
    stop: CancellationToken,
    events: &mpsc::UnboundedSender<GatewayEvent>,
) -> Result<tmio_pump::Transferred, Error> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let waiting_since = tokio::time::Instant::now();
    let mut first = vec![0u8; FIRST_READ_BYTES];
    let read = tokio::select! {
        read = stream.read(&mut first) => read,
        () = stop.cancelled() => {
            let _ = tokio::time::timeout(STOP_GRACE, stream.shutdown()).await;
            return Ok(tmio_pump::Transferred::default());
        }
    };
    let count = match read {
        // The caller closed before sending anything: nothing to carry, nothing opened.
        Ok(0) => return Ok(tmio_pump::Transferred::default()),
        Ok(count) => count,
        Err(source) => {
            return Err(match tmio_transport::Error::from_io(&source) {
                Some(transport) => Error::Transport(transport.duplicate()),
                None => Error::Pump(tmio_pump::PumpError {
                    side: tmio_pump::Side::Remote,
                    direction: tmio_pump::Direction::RemoteToLocal,
                    operation: tmio_pump::Operation::Read,
                    side_label: "SRT caller",
                    transferred: tmio_pump::Transferred::default(),
                    source,
                }),
            })
        }
    };
    first.truncate(count);
    let upstream = match connect_upstream(upstream_addr).await {
        Ok(upstream) => upstream,
        Err(error) => {
            // The caller was accepted already: closing its session is how it learns.
            let _ = tokio::time::timeout(STOP_GRACE, stream.shutdown()).await;
            return Err(error);
        }
    };
    let _ = events.send(GatewayEvent::UpstreamConnected {
        id,
        upstream: upstream_addr,
        waited: waiting_since.elapsed(),
    });
    pump_gateway_session(upstream, stream, first, stop).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        let mut routes = BTreeMap::new();
        routes.insert("live".to_owned(), "127.0.0.1:1".parse().unwrap());
        routes.insert("live/special".to_owned(), "127.0.0.1:2".parse().unwrap());
        Router {
            default_upstream: Some("127.0.0.1:3".parse().unwrap()),
            routes,
            access: Vec::new(),
            passphrases: BTreeMap::new(),
            upstream_connect: UpstreamConnect::default(),
        }
    }

    #[test]
    fn longest_route_wins_and_default_catches_the_rest() {
        let r = router();
        let port = |id: Option<&str>| r.upstream_for(id).map(|a| a.port());
        assert_eq!(port(Some("#!::r=live/special,m=publish")), Some(2));
        assert_eq!(port(Some("#!::r=live/special/x")), Some(2));
        assert_eq!(port(Some("#!::r=live/other")), Some(1));
        assert_eq!(port(Some("#!::r=livestream")), Some(3));
        assert_eq!(port(Some("live/verbatim")), Some(1));
        assert_eq!(port(None), Some(3));
        assert_eq!(
            port(Some(
                "#!::h=push.example.com,r=live/test,txSecret=abc,txTime=5F000000"
            )),
            Some(1)
        );
    }

    #[test]
    fn upstream_connect_modes_parse_and_print_alike() {
        for mode in [UpstreamConnect::Accept, UpstreamConnect::FirstBytes] {
            assert_eq!(mode.as_str().parse::<UpstreamConnect>(), Ok(mode));
        }
        assert_eq!(
            "First-Bytes".parse::<UpstreamConnect>(),
            Ok(UpstreamConnect::FirstBytes)
        );
        let error = "later".parse::<UpstreamConnect>().unwrap_err();
        assert!(error.contains("\"later\""), "{error}");
    }

    #[test]
    fn without_default_unknown_resources_have_no_upstream() {
        let mut r = router();
        r.default_upstream = None;
        assert_eq!(r.upstream_for(Some("#!::r=vod/x")), None);
        assert_eq!(r.upstream_for(None), None);
    }
}
