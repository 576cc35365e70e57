//! The callback facade, shaped like Tencent's TMIO SDK: `TmioProxy::create()`, `set_listener`,
//! `start(local_url, remote_url, config)`, `stats()`, `stop()`.
//!
//! Calls are synchronous (like the SDK's); the work runs on a runtime the facade owns, so the
//! facade can be used from any thread, with or without tokio.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use tmio_preset::{OptionValue, Options, Preset};
use tmio_pump::CancellationToken;
use tmio_url::redact_url_text;

use tmio_transport::srt::{
    GroupMode, LinkEvent, MemberSpec, PathEvent, PathId, SrtMonitor, MAX_GROUP_MEMBERS,
};

use crate::{
    proxy::{Bond, BondLink, Proxy, ProxyEvent},
    settings, ConnectionStats, Error, ErrorType, PerfStats, PerfStatsReader,
};

/// The SDK's `tmio::Protocol` (`tmio.h`): the protocol of a [`Tmio`]. tmio provides SRT only
/// (the SDK's `TCP`, "only for test", and `RIST` are not provided); the discriminant is the
/// SDK's (`SRT` = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[repr(i32)]
pub enum Protocol {
    /// SRT.
    Srt = 1,
}

/// The options object handed to [`TmioProxyListener::on_tmio_config`]: choose a preset and set
/// options by typed setter (through [`Tmio::options_mut`]) or by the SDK's names.
#[derive(Debug, Clone)]
pub struct Tmio {
    options: Options,
}

impl Tmio {
    fn new() -> Result<Tmio, Error> {
        Ok(Tmio {
            options: Options::from_preset(Preset::Rtmp)?,
        })
    }

    /// Applies a preset's setters over the current options, as the SDK's `SrtPreset` calls do:
    /// what the preset does not set is kept. The options start as the `rtmp` preset's. For the
    /// SDK's exact setters use [`tmio_preset::SrtPreset`] on [`Tmio::options_mut`].
    pub fn set_preset(&mut self, preset: Preset) -> Result<(), Error> {
        Ok(self.options.apply_preset(preset)?)
    }

    /// The protocol (the SDK's `Tmio::getProtocol()`): always SRT.
    pub fn protocol(&self) -> Protocol {
        Protocol::Srt
    }

    /// Sets an option by the SDK's name (`"srt latency (ms)"`), libsrt's URI key (`latency`)
    /// or `SRTO_` name, from text. Unknown names and bad values are errors.
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), Error> {
        Ok(self.options.set_by_name(name, value)?)
    }

    /// Sets an integer option by name.
    pub fn set_int_option(&mut self, name: &str, value: i64) -> Result<(), Error> {
        Ok(self
            .options
            .set_value_by_name(name, OptionValue::Integer(value))?)
    }

    /// Sets a boolean option by name.
    pub fn set_bool_option(&mut self, name: &str, value: bool) -> Result<(), Error> {
        Ok(self
            .options
            .set_value_by_name(name, OptionValue::Bool(value))?)
    }

    /// Sets a text option by name (the SDK's `setStrOption`: passphrase, stream id, congestion
    /// control).
    pub fn set_str_option(&mut self, name: &str, value: &str) -> Result<(), Error> {
        Ok(self
            .options
            .set_value_by_name(name, OptionValue::Text(value.to_owned()))?)
    }

    /// Reads an option by name.
    pub fn option(&self, name: &str) -> Result<OptionValue, Error> {
        Ok(self.options.get_by_name(name)?)
    }

    /// The typed options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The typed options, to change with their setters.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }
}

/// What the facade reports, as the SDK's listener.
pub trait TmioProxyListener: Send + Sync {
    /// Called once by `start`, before connecting: set options here.
    fn on_tmio_config(&self, _tmio: &mut Tmio) {}
    /// The SRT side is connected and the local port takes the pusher.
    fn on_start(&self, _local_addr: &str, _local_port: u16) {}
    /// The proxy failed; `error_type` says whether the local or the remote side did. The proxy is
    /// finished after this: create a new one to try again.
    fn on_error(&self, _error_type: ErrorType, _error: &Error) {}
}

/// How a bonded group uses its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BondingMode {
    /// Every packet on every link; the receiver keeps the first copy.
    #[default]
    Broadcast,
    /// One active link; the others take over when it breaks.
    Backup,
}

/// Where a link sends from.
#[derive(Debug)]
pub enum LinkLocal {
    /// Bind this address (port 0 = any).
    Bind(SocketAddr),
    /// Use a UDP socket the application opened (e.g. bound to a cellular interface).
    Socket(std::net::UdpSocket),
}

/// Called when a link breaks (or a bonded group's link cannot connect), with that link's
/// config; the application may replace it with [`TmioProxy::add_remote_link`].
pub type LinkBrokenCallback = Box<dyn Fn(&BrokenLink) + Send + Sync>;

/// A link's config as handed back to its [`LinkBrokenCallback`] (the SDK's link-broken
/// notification). Its `Debug` form hides the remote URL's passphrase.
#[derive(Clone)]
pub struct BrokenLink {
    /// The link's remote `srt://` URL, as given.
    pub remote_url: String,
    /// Its weight.
    pub weight: u8,
    /// The local address it was bound to (`None`: an application's socket).
    pub bind: Option<SocketAddr>,
    /// Why it broke.
    pub reason: String,
}

impl std::fmt::Debug for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokenLink")
            .field("remote_url", &redact_url_text(&self.remote_url))
            .field("weight", &self.weight)
            .field("bind", &self.bind)
            .field("reason", &self.reason)
            .finish()
    }
}

/// One link of a bonding config. Its `Debug` form hides the remote URL's passphrase.
pub struct LinkConfig {
    /// Where the link sends from.
    pub local: LinkLocal,
    /// The remote `srt://` URL of this link.
    pub remote_url: String,
    /// Weight 0–100 (priority in backup mode).
    pub weight: u8,
    /// The network interface to send from (the SDK's interface name, e.g. `wlan0`, `rmnet0`):
    /// `SO_BINDTODEVICE`, Linux only, needs `CAP_NET_RAW` or root (else the link fails with an
    /// error naming it). For a bonded group's links; a single link binds an address or takes
    /// the application's socket instead.
    pub interface: Option<String>,
    /// Called when the link breaks.
    pub on_broken: Option<LinkBrokenCallback>,
}

impl std::fmt::Debug for LinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkConfig")
            .field("local", &self.local)
            .field("remote_url", &redact_url_text(&self.remote_url))
            .field("weight", &self.weight)
            .field("interface", &self.interface)
            .finish_non_exhaustive()
    }
}

/// The SDK's bonding config: a mode and one entry per link.
#[derive(Debug, Default)]
pub struct BondingConfig {
    /// Broadcast or backup.
    pub mode: BondingMode,
    /// The links; empty = a single link to `remote_url`.
    pub links: Vec<LinkConfig>,
}

enum FacadeState {
    Created,
    Running {
        stop: CancellationToken,
        /// Boxed: it holds a whole statistics snapshot.
        perf: Box<PerfStatsReader>,
        done: std::sync::mpsc::Receiver<()>,
        /// A bonded group's links (member index = position), to call their callbacks and take
        /// more with `add_remote_link`; `None` for a single link.
        group: Option<Arc<GroupLinks>>,
    },
    Stopped,
}

/// What the facade keeps of a running bonded group.
struct GroupLinks {
    monitor: SrtMonitor,
    /// The remote URL's query, which every link shares.
    shared_query: String,
    links: Mutex<Vec<LinkRecord>>,
}

/// One member link of a running group.
struct LinkRecord {
    remote_url: String,
    weight: u8,
    bind: Option<SocketAddr>,
    on_broken: Option<LinkBrokenCallback>,
    /// The path it became once connected.
    path: Option<PathId>,
    /// Its callback was called (once per link).
    reported: bool,
}

impl GroupLinks {
    /// Hands the stream's link events to the links' callbacks: a member that failed to
    /// connect, or whose path broke, is reported once.
    fn dispatch(&self) {
        for event in self.monitor.link_events() {
            let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
            let broken = match event {
                LinkEvent::MemberConnected { member, path, .. } => {
                    if let Some(link) = links.get_mut(member) {
                        link.path = Some(path);
                    }
                    None
                }
                LinkEvent::MemberFailed { member, reason, .. } => Some((member, reason)),
                LinkEvent::Path(PathEvent::Broken { path, idle }) => links
                    .iter()
                    .position(|link| link.path == Some(path))
                    .map(|member| {
                        (
                            member,
                            format!("nothing arrived on it for {} s", idle.as_secs_f64()),
                        )
                    }),
                _ => None,
            };
            let Some((member, reason)) = broken else {
                continue;
            };
            let Some(link) = links.get_mut(member) else {
                continue;
            };
            if link.reported {
                continue;
            }
            link.reported = true;
            tracing::warn!(
                member,
                remote = %redact_url_text(&link.remote_url),
                %reason,
                "bonded link broken"
            );
            if let Some(callback) = &link.on_broken {
                callback(&BrokenLink {
                    remote_url: link.remote_url.clone(),
                    weight: link.weight,
                    bind: link.bind,
                    reason,
                });
            }
        }
    }
}

/// The facade. One proxy serves one pusher connection; it cannot be restarted after `stop`.
pub struct TmioProxy {
    listener: Mutex<Option<Arc<dyn TmioProxyListener>>>,
    state: Mutex<FacadeState>,
}

impl std::fmt::Debug for TmioProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TmioProxy").finish_non_exhaustive()
    }
}

/// The process-wide runtime the facades run on (2 worker threads, started on first use).
fn runtime() -> Result<&'static tokio::runtime::Runtime, Error> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("tmio-proxy")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Internal(format!("cannot start the proxy runtime: {e}")))
}

impl TmioProxy {
    /// A new, unstarted proxy.
    pub fn create() -> TmioProxy {
        TmioProxy {
            listener: Mutex::new(None),
            state: Mutex::new(FacadeState::Created),
        }
    }

    /// Sets the listener (required before `start`).
    pub fn set_listener(&self, listener: Arc<dyn TmioProxyListener>) {
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(listener);
    }

    /// Connects to `remote_url` (`srt://HOST:PORT?streamid=…`), then listens on `local_url`
    /// (`tcp://IP:PORT`, port 0 = a free port), calls `on_start`, and returns. Errors that
    /// happen before that are returned (and not reported through `on_error`); later ones go to
    /// `on_error`. `config` may be `None` or a bonding config with at most one link.
    pub fn start(
        &self,
        local_url: &str,
        remote_url: &str,
        config: Option<BondingConfig>,
    ) -> Result<(), Error> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            FacadeState::Created => {}
            FacadeState::Running { .. } => return Err(Error::AlreadyStarted),
            FacadeState::Stopped => return Err(Error::Stopped),
        }
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(Error::NoListener)?;
        let plan = LinkPlan::from_config(remote_url, config)?;
        let mut tmio = Tmio::new()?;
        listener.on_tmio_config(&mut tmio);
        let runtime = runtime()?;
        let (builder, single_link, group_records) = match plan {
            LinkPlan::Single {
                remote_url,
                local,
                record,
            } => {
                let mut builder = Proxy::builder(local_url, &remote_url)?.options(tmio.options);
                match local {
                    Some(LinkLocal::Bind(addr)) => builder = builder.bind(addr),
                    Some(LinkLocal::Socket(socket)) => builder = builder.udp_socket(socket),
                    None => {}
                }
                (builder, record, None)
            }
            LinkPlan::Group {
                mode,
                links,
                records,
            } => {
                let builder = Proxy::builder(local_url, remote_url)?
                    .options(tmio.options)
                    .bond(Bond { mode, links });
                (builder, None, Some(records))
            }
        };
        let mut running = run_blocking(runtime, builder.start())?;
        let local_addr = running.local_addr();
        let stop = running.stop_token();
        let perf = Box::new(running.perf_stats_reader());
        let group = group_records.map(|records| {
            Arc::new(GroupLinks {
                monitor: running.monitor(),
                shared_query: query_of(remote_url),
                links: Mutex::new(records),
            })
        });
        let (done_tx, done) = std::sync::mpsc::channel();
        let events_listener = listener.clone();
        let events_group = group.clone();
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(LINK_EVENT_INTERVAL);
            loop {
                let event = tokio::select! {
                    event = running.next_event() => event,
                    _ = tick.tick() => {
                        if let Some(group) = &events_group {
                            group.dispatch();
                        }
                        continue;
                    }
                };
                let Some(event) = event else { break };
                if let ProxyEvent::Failed(error) = event {
                    if let Some(group) = &events_group {
                        group.dispatch();
                    }
                    if let (Some(link), ErrorType::Remote) = (&single_link, error.error_type()) {
                        if let Some(callback) = &link.on_broken {
                            callback(&BrokenLink {
                                remote_url: link.remote_url.clone(),
                                weight: link.weight,
                                bind: link.bind,
                                reason: error.to_string(),
                            });
                        }
                    }
                    events_listener.on_error(error.error_type(), &error);
                }
            }
            let _ = running.wait().await;
            let _ = done_tx.send(());
        });
        *state = FacadeState::Running {
            stop,
            perf,
            done,
            group,
        };
        drop(state);
        listener.on_start(&local_addr.ip().to_string(), local_addr.port());
        Ok(())
    }

    /// The SDK's `addRemoteLink`: adds a member link to a running bonded group (how an
    /// application replaces a broken link): its handshake runs in the background and it joins
    /// the group once connected; if it cannot connect, its `on_broken` callback says so. Its URL
    /// gives host and port (a query, if any, must be the remote URL's: every link shares it);
    /// its local side is an address to bind (an application's socket is for a single link
    /// only). Fails when the proxy is not running a bonded group (a single link takes no
    /// member: start it with a [`BondingConfig`] of two or more links).
    pub fn add_remote_link(&self, link: LinkConfig) -> Result<(), Error> {
        let group = match &*self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            FacadeState::Running {
                group: Some(group), ..
            } => group.clone(),
            FacadeState::Running { group: None, .. } => {
                return Err(Error::Unsupported(format!(
                    "add_remote_link needs a proxy started with a bonding config of two or more                      links (link to {} refused: the SRT side is a single link)",
                    redact_url_text(&link.remote_url)
                )))
            }
            FacadeState::Created => {
                return Err(Error::Unsupported(format!(
                    "add_remote_link before start (link to {}): start the proxy with a bonding \
                     config first",
                    redact_url_text(&link.remote_url)
                )))
            }
            FacadeState::Stopped => return Err(Error::Stopped),
        };
        let (bond_link, record) = group_link(&link, &group.shared_query)?;
        let runtime = runtime()?;
        let url = bond_link.url.clone();
        let remote = run_blocking(runtime, async move { settings::resolve(&url).await })?;
        let mut links = group.links.lock().unwrap_or_else(|p| p.into_inner());
        // The member's socket and handshake task belong to the facade's runtime.
        let _runtime = runtime.enter();
        let member = group.monitor.add_member(MemberSpec {
            remote,
            bind: bond_link.bind,
            weight: bond_link.weight,
            device: bond_link.device.clone(),
        })?;
        // Member indexes are positions: fill any gap (a member added outside the facade).
        while links.len() < member {
            links.push(LinkRecord {
                remote_url: String::new(),
                weight: 0,
                bind: None,
                on_broken: None,
                path: None,
                reported: true,
            });
        }
        links.insert(member, record);
        Ok(())
    }

    /// tmio's statistics of the SRT link, while running (reading them does not restart the
    /// `current` block of [`TmioProxy::perf_stats`]).
    pub fn stats(&self) -> Option<ConnectionStats> {
        match &*self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            FacadeState::Running { perf, .. } => Some(perf.connection_stats()),
            _ => None,
        }
    }

    /// The SDK's `getStats(PerfStats *)`, while running: totals since the start and a `current`
    /// block since the previous call (it restarts at every call).
    pub fn perf_stats(&self) -> Option<PerfStats> {
        match &mut *self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            FacadeState::Running { perf, .. } => Some(perf.read()),
            _ => None,
        }
    }

    /// Stops: what the pusher sent is flushed to the remote, the SRT connection is closed and
    /// the port freed. Waits at most `linger` + a few seconds. Idempotent; the proxy cannot be
    /// started again.
    pub fn stop(&self) {
        let previous = std::mem::replace(
            &mut *self.state.lock().unwrap_or_else(|p| p.into_inner()),
            FacadeState::Stopped,
        );
        if let FacadeState::Running { stop, done, .. } = previous {
            stop.cancel();
            let _ = done.recv_timeout(Duration::from_secs(40));
        }
    }
}

impl Drop for TmioProxy {
    fn drop(&mut self) {
        if let FacadeState::Running { stop, .. } =
            &*self.state.lock().unwrap_or_else(|p| p.into_inner())
        {
            stop.cancel();
        }
    }
}

/// How often the facade hands a group's link events to the links' callbacks.
const LINK_EVENT_INTERVAL: Duration = Duration::from_millis(100);

/// What a bonding config asks for.
enum LinkPlan {
    /// One SRT link: to `remote_url`, from `local` if given.
    Single {
        remote_url: String,
        local: Option<LinkLocal>,
        record: Option<LinkRecord>,
    },
    /// A bonded group of two or more links sharing `remote_url`'s options.
    Group {
        mode: GroupMode,
        links: Vec<BondLink>,
        records: Vec<LinkRecord>,
    },
}

impl LinkPlan {
    fn from_config(remote_url: &str, config: Option<BondingConfig>) -> Result<Self, Error> {
        let Some(config) = config else {
            return Ok(LinkPlan::Single {
                remote_url: remote_url.to_owned(),
                local: None,
                record: None,
            });
        };
        let mut links = config.links;
        match links.len() {
            0 => Ok(LinkPlan::Single {
                remote_url: remote_url.to_owned(),
                local: None,
                record: None,
            }),
            1 => {
                let link = links.remove(0);
                check_weight(&link)?;
                if let Some(device) = &link.interface {
                    return Err(Error::Unsupported(format!(
                        "an interface name ({device:?}) on a single link (to {}): bind the \
                         interface's address (LinkLocal::Bind) or pass a socket opened on it \
                         (LinkLocal::Socket); interface names are taken for a bonded group's \
                         links",
                        redact_url_text(&link.remote_url)
                    )));
                }
                let bind = match &link.local {
                    LinkLocal::Bind(addr) => Some(*addr),
                    LinkLocal::Socket(_) => None,
                };
                // 0.0.0.0:0 / [::]:0 is "any": nothing to bind.
                let local = match link.local {
                    LinkLocal::Bind(addr) if addr.ip().is_unspecified() && addr.port() == 0 => None,
                    local => Some(local),
                };
                Ok(LinkPlan::Single {
                    remote_url: link.remote_url.clone(),
                    local,
                    record: Some(LinkRecord {
                        remote_url: link.remote_url,
                        weight: link.weight,
                        bind,
                        on_broken: link.on_broken,
                        path: None,
                        reported: false,
                    }),
                })
            }
            n if n > MAX_GROUP_MEMBERS => Err(Error::UrlUse {
                which: "remote",
                url: redact_url_text(remote_url),
                reason: format!("a bonded group has 2 to {MAX_GROUP_MEMBERS} links, not {n}"),
            }),
            _ => {
                let shared_query = query_of(remote_url);
                let mut bond_links = Vec::with_capacity(links.len());
                let mut records = Vec::with_capacity(links.len());
                for link in links {
                    let (bond_link, record) = group_link(&link, &shared_query)?;
                    bond_links.push(bond_link);
                    records.push(LinkRecord {
                        on_broken: link.on_broken,
                        ..record
                    });
                }
                Ok(LinkPlan::Group {
                    mode: match config.mode {
                        BondingMode::Broadcast => GroupMode::Broadcast,
                        BondingMode::Backup => GroupMode::Backup,
                    },
                    links: bond_links,
                    records,
                })
            }
        }
    }
}

fn check_weight(link: &LinkConfig) -> Result<(), Error> {
    if link.weight > 100 {
        return Err(Error::UrlUse {
            which: "remote",
            url: redact_url_text(&link.remote_url),
            reason: format!("link weight {} is above 100", link.weight),
        });
    }
    Ok(())
}

/// The query of a URL (after `?`), empty when there is none.
fn query_of(url: &str) -> String {
    url.split_once('?')
        .map(|(_, query)| query.to_owned())
        .unwrap_or_default()
}

/// A group member from a link config: its URL's host and port (its query, if any, must be the
/// shared one), its bind address and weight. The record's callback is left empty (callbacks are
/// not cloneable: the caller moves it in).
fn group_link(link: &LinkConfig, shared_query: &str) -> Result<(BondLink, LinkRecord), Error> {
    check_weight(link)?;
    let bind = match &link.local {
        LinkLocal::Bind(addr) if addr.ip().is_unspecified() && addr.port() == 0 => None,
        LinkLocal::Bind(addr) => Some(*addr),
        LinkLocal::Socket(_) => {
            return Err(Error::Unsupported(format!(
                "a bonded group's link on an application-opened UDP socket (link to {}): give \
                 the address to bind (LinkLocal::Bind); a socket is taken for a single link",
                redact_url_text(&link.remote_url)
            )))
        }
    };
    let (base, query) = link
        .remote_url
        .split_once('?')
        .unwrap_or((link.remote_url.as_str(), ""));
    if !query.is_empty() && query != shared_query {
        return Err(Error::UrlUse {
            which: "link",
            url: redact_url_text(&link.remote_url),
            reason: "every link of a group shares the remote URL's options: give the link \
                     srt://HOST:PORT, or the remote URL's query unchanged"
                .into(),
        });
    }
    let mut spec = base.to_owned();
    if let Some(addr) = bind {
        spec.push_str(&format!(",bind={addr}"));
    }
    spec.push_str(&format!(",weight={}", link.weight));
    if let Some(device) = &link.interface {
        if device.contains(',') {
            return Err(Error::UrlUse {
                which: "link",
                url: redact_url_text(&link.remote_url),
                reason: format!("interface name {device:?} has a comma"),
            });
        }
        spec.push_str(&format!(",dev={device}"));
    }
    let bond_link = BondLink::parse(&spec)?;
    Ok((
        bond_link,
        LinkRecord {
            remote_url: link.remote_url.clone(),
            weight: link.weight,
            bind,
            on_broken: None,
            path: None,
            reported: false,
        },
    ))
}

/// Runs `future` on the facade's runtime and waits for it from this (non-async) thread, which
/// may itself belong to another runtime.
fn run_blocking<T, F>(runtime: &tokio::runtime::Runtime, future: F) -> Result<T, Error>
where
    F: std::future::Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .map_err(|_| Error::Internal("the proxy runtime dropped the start task".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Zq7Wx9Kp3Vm5Tj";

    fn link(weight: u8) -> LinkConfig {
        LinkConfig {
            local: LinkLocal::Bind(SocketAddr::from(([127, 0, 0, 1], 0))),
            remote_url: format!("srt://127.0.0.1:9000?passphrase={SECRET}"),
            weight,
            interface: None,
            on_broken: None,
        }
    }

    fn assert_hidden(text: &str) {
        assert!(
            !text.contains(&SECRET[..5]),
            "the secret is printed in:\n{text}"
        );
    }

    #[test]
    fn link_configs_and_their_errors_do_not_print_the_passphrase() {
        let config = BondingConfig {
            mode: BondingMode::Backup,
            links: vec![link(10)],
        };
        let debug = format!("{config:?}\n{config:#?}");
        assert_hidden(&debug);
        assert!(debug.contains("passphrase=<hidden>"), "{debug}");

        let too_heavy = BondingConfig {
            mode: BondingMode::Backup,
            links: vec![link(101)],
        };
        let Err(error) = LinkPlan::from_config("srt://h:1", Some(too_heavy)) else {
            panic!("a weight of 101 is refused");
        };
        assert_hidden(&format!("{error}\n{error:?}"));
        // A group link with its own options, and one on an application socket: refused, hidden.
        let mut own_query = link(10);
        own_query.remote_url = format!("srt://127.0.0.1:9001?passphrase={SECRET}x");
        let Err(error) = group_link(&own_query, &format!("passphrase={SECRET}")) else {
            panic!("a link with other options is refused");
        };
        assert_hidden(&format!("{error}\n{error:?}"));
        assert!(
            error
                .to_string()
                .contains("shares the remote URL's options"),
            "{error}"
        );
        let socket = LinkConfig {
            local: LinkLocal::Socket(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()),
            ..link(10)
        };
        let Err(error) = group_link(&socket, "") else {
            panic!("a group link on an app socket is refused");
        };
        assert_hidden(&format!("{error}\n{error:?}"));
        let broken = BrokenLink {
            remote_url: format!("srt://h:1?passphrase={SECRET}"),
            weight: 1,
            bind: None,
            reason: "gone".into(),
        };
        assert_hidden(&format!("{broken:?}"));

        let proxy = TmioProxy::create();
        let error = proxy.add_remote_link(link(1)).unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"));
    }

    #[test]
    fn start_errors_do_not_print_the_passphrase() {
        struct Quiet;
        impl TmioProxyListener for Quiet {}
        let proxy = TmioProxy::create();
        proxy.set_listener(Arc::new(Quiet));
        let error = proxy
            .start(
                "tcp://127.0.0.1:0",
                &format!("srt://:9000?passphrase={SECRET}"),
                None,
            )
            .unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"));
    }
}
