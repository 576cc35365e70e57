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

use crate::{
    proxy::{Proxy, ProxyEvent},
    ConnectionStats, Error, ErrorType, PerfStats, PerfStatsReader,
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

/// Called with a link's remote URL when that link breaks.
pub type LinkBrokenCallback = Box<dyn Fn(&str) + Send + Sync>;

/// One link of a bonding config. Its `Debug` form hides the remote URL's passphrase.
pub struct LinkConfig {
    /// Where the link sends from.
    pub local: LinkLocal,
    /// The remote `srt://` URL of this link.
    pub remote_url: String,
    /// Weight 0–100 (priority in backup mode).
    pub weight: u8,
    /// Called when the link breaks.
    pub on_broken: Option<LinkBrokenCallback>,
}

impl std::fmt::Debug for LinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkConfig")
            .field("local", &self.local)
            .field("remote_url", &redact_url_text(&self.remote_url))
            .field("weight", &self.weight)
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
    },
    Stopped,
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
        let remote_url = single_link_remote(remote_url, config)?;
        let mut tmio = Tmio::new()?;
        listener.on_tmio_config(&mut tmio);
        let builder = Proxy::builder(local_url, &remote_url)?.options(tmio.options);
        let runtime = runtime()?;
        let mut running = run_blocking(runtime, builder.start())?;
        let local_addr = running.local_addr();
        let stop = running.stop_token();
        let perf = Box::new(running.perf_stats_reader());
        let (done_tx, done) = std::sync::mpsc::channel();
        let events_listener = listener.clone();
        runtime.spawn(async move {
            while let Some(event) = running.next_event().await {
                if let ProxyEvent::Failed(error) = event {
                    events_listener.on_error(error.error_type(), &error);
                }
            }
            let _ = running.wait().await;
            let _ = done_tx.send(());
        });
        *state = FacadeState::Running { stop, perf, done };
        drop(state);
        listener.on_start(&local_addr.ip().to_string(), local_addr.port());
        Ok(())
    }

    /// The SDK's `addRemoteLink`: adds a member link to a running bonded group. Bonded groups
    /// are not implemented yet (see `docs/bonding.md`): this always fails with
    /// [`Error::Unsupported`], naming the link (its passphrase hidden).
    pub fn add_remote_link(&self, link: LinkConfig) -> Result<(), Error> {
        Err(Error::Unsupported(format!(
            "bonded groups are not implemented yet (link to {} refused); \
             the proxy runs a single SRT link",
            redact_url_text(&link.remote_url)
        )))
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

/// The remote URL of a single-link config, or why the config cannot run.
fn single_link_remote(remote_url: &str, config: Option<BondingConfig>) -> Result<String, Error> {
    let Some(config) = config else {
        return Ok(remote_url.to_owned());
    };
    match config.links.len() {
        0 => Ok(remote_url.to_owned()),
        1 => {
            let link = &config.links[0];
            if link.weight > 100 {
                return Err(Error::UrlUse {
                    which: "remote",
                    url: redact_url_text(&link.remote_url),
                    reason: format!("link weight {} is above 100", link.weight),
                });
            }
            if !matches!(link.local, LinkLocal::Bind(_)) {
                return Err(Error::Unsupported(
                    "a link on an application-opened UDP socket (use SrtStream::connect_with_socket \
                     from tmio-transport for now)"
                        .into(),
                ));
            }
            Ok(link.remote_url.clone())
        }
        n => Err(Error::Unsupported(format!(
            "bonded groups ({n} links, {:?} mode) are not implemented yet; give one link",
            config.mode
        ))),
    }
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
        let error = single_link_remote("srt://h:1", Some(too_heavy)).unwrap_err();
        assert_hidden(&format!("{error}\n{error:?}"));

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
