//! The persistent proxy (`tmio proxy --persist`): one local port that takes pusher after
//! pusher, one at a time, each carried by an SRT session of its own.
//!
//! - The SRT session is opened when a pusher arrives, not before: an idle persistent proxy holds
//!   no SRT session, so nothing at the far end (the gateway, the RTMP server behind it) waits on
//!   it or times out.
//! - Each push is one SRT session and, at a tmio gateway, one upstream TCP connection: the RTMP
//!   server sees a fresh connection per push, as it would from the encoder itself.
//! - While a push is served (connecting or pumping), another pusher is **refused**: its
//!   connection is accepted and closed at once, and [`PersistentEvent::PusherRefused`] says so.
//!   Its bytes could not go anywhere: the SRT session carries one pusher's stream.
//! - An SRT connection that fails (refused, rejected, timed out, unresolvable) is retried with
//!   exponential backoff ([`Backoff`]: 0.5 s doubling to 10 s, reset by a successful
//!   connection) while the pusher waits, for at most [`PersistSettings::pusher_hold`]; then the
//!   pusher's connection is closed. Each attempt is an event with its reason.
//! - A push whose SRT session fails mid-way cannot be recovered (SRT has no resumption, and the
//!   pusher's protocol state went with it): the pusher's connection is closed so it knows (an
//!   encoder then reconnects, which is the next push), and [`PersistentEvent::PushFailed`]
//!   tells how many bytes of it were taken from the pusher and how many of those the remote
//!   acknowledged.
//!
//! The SDK facade ([`TmioProxy`](crate::TmioProxy)) and [`RunningProxy`](crate::RunningProxy)
//! keep their rules (one pusher, no restart, no reconnect); this is a separate object.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tmio_pump::{CancellationToken, Pump, SideLabels, Transferred};
use tmio_transport::srt::{ConnectMode, SrtConfig, SrtMonitor, SrtStream};
use tmio_url::SrtUrl;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinHandle,
    time::Instant,
};

use crate::{settings, Error, PerfStatsReader};

/// How long the proxy waits before accepting again after a failed accept.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Exponential backoff between SRT connection attempts: `first`, doubling, at most `max`;
/// [`Backoff::reset`] after a success.
///
/// ```
/// use std::time::Duration;
/// use tmio_proxy::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
/// let delays: Vec<u64> = (0..7).map(|_| backoff.next_delay().as_millis() as u64).collect();
/// assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
/// backoff.reset();
/// assert_eq!(backoff.next_delay(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A backoff starting at `first` and doubling up to `max` (`max` below `first` is `first`).
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max: max.max(first),
            next: first,
        }
    }

    /// The delay before the next attempt; the one after is twice as long (capped).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// Back to the first delay (after a successful connection).
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// Settings of a persistent proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersistSettings {
    /// How long a pusher waits for its SRT session (all attempts and the delays between them)
    /// before its connection is closed. Default 30 s.
    pub pusher_hold: Duration,
    /// The first delay between two failed attempts. Default 0.5 s.
    pub first_retry: Duration,
    /// The longest delay between two attempts. Default 10 s.
    pub max_retry: Duration,
}

impl Default for PersistSettings {
    fn default() -> Self {
        PersistSettings {
            pusher_hold: Duration::from_secs(30),
            first_retry: Duration::from_millis(500),
            max_retry: Duration::from_secs(10),
        }
    }
}

/// What happens to a persistent proxy, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum PersistentEvent {
    /// A pusher connected; it is push number `push` (1, 2, …).
    PusherConnected {
        /// The push number.
        push: u64,
        /// The pusher's address.
        peer: SocketAddr,
    },
    /// Accepting a pusher failed (a client that reset before it was accepted, no file
    /// descriptor left, …); the port stays open and accepting resumes 0.1 s later.
    AcceptFailed {
        /// What the OS said ([`Error::LocalIo`]).
        error: Error,
    },
    /// A pusher arrived while push `serving` was in progress: its connection was closed.
    PusherRefused {
        /// Its address.
        peer: SocketAddr,
        /// The push in progress.
        serving: u64,
    },
    /// An SRT connection attempt for push `push` failed.
    SrtConnectFailed {
        /// The push number.
        push: u64,
        /// The attempt (1, 2, …) for this push.
        attempt: u32,
        /// Why.
        error: Error,
        /// The delay before the next attempt; `None`: the pusher waited long enough
        /// ([`PersistSettings::pusher_hold`]), its connection was closed.
        retry_in: Option<Duration>,
    },
    /// The SRT session of push `push` is up; its bytes flow.
    SrtConnected {
        /// The push number.
        push: u64,
        /// The attempt that succeeded.
        attempt: u32,
        /// Whether the previous SRT connection attempt or session had failed (a reconnection).
        reconnect: bool,
        /// The new session's statistics.
        session: SrtMonitor,
    },
    /// Push `push` ended cleanly (the pusher closed, or the proxy was stopped; also a pusher
    /// that reset its connection, as ffmpeg does at its end, once everything it sent was
    /// acknowledged): what it sent was delivered and its SRT session closed.
    PushEnded {
        /// The push number.
        push: u64,
        /// Bytes moved each way.
        transferred: Transferred,
    },
    /// Push `push` failed after its SRT session was up; the pusher's connection was closed.
    PushFailed {
        /// The push number.
        push: u64,
        /// Why ([`Error::error_type`] tells which side).
        error: Error,
        /// Bytes taken from the pusher and handed to SRT (what the pusher wrote after them was
        /// discarded with its connection).
        received_bytes: u64,
        /// Of those, bytes the remote acknowledged. The rest, `received_bytes -
        /// acknowledged_bytes`, is unconfirmed: sent or not, it may or may not have reached the
        /// remote (acknowledgements lag the data by up to an ACK interval).
        acknowledged_bytes: u64,
    },
}

/// Counts of a persistent proxy so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PersistentStatus {
    /// Pushers taken (the number of the current or last push).
    pub pushes: u64,
    /// Pushes that ended cleanly.
    pub pushes_ended: u64,
    /// Pushes that failed or were given up (no SRT session within the hold).
    pub pushes_failed: u64,
    /// Pushers refused because a push was in progress.
    pub pushers_refused: u64,
    /// SRT connection attempts that failed.
    pub connect_failures: u64,
    /// SRT sessions opened after a failed attempt or a failed session.
    pub reconnects: u64,
}

#[derive(Debug, Default)]
struct Shared {
    pushes: AtomicU64,
    pushes_ended: AtomicU64,
    pushes_failed: AtomicU64,
    pushers_refused: AtomicU64,
    connect_failures: AtomicU64,
    reconnects: AtomicU64,
    /// The SRT session of the current push (or the last one, until the next connects).
    session: Mutex<Option<SrtMonitor>>,
}

impl Shared {
    fn status(&self) -> PersistentStatus {
        PersistentStatus {
            pushes: self.pushes.load(Ordering::Relaxed),
            pushes_ended: self.pushes_ended.load(Ordering::Relaxed),
            pushes_failed: self.pushes_failed.load(Ordering::Relaxed),
            pushers_refused: self.pushers_refused.load(Ordering::Relaxed),
            connect_failures: self.connect_failures.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }

    fn set_session(&self, monitor: SrtMonitor) {
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(monitor);
    }

    fn session(&self) -> Option<SrtMonitor> {
        self.session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What a persistent proxy connects to, fixed at start.
#[derive(Debug)]
pub(crate) struct RemoteTarget {
    pub(crate) url: SrtUrl,
    pub(crate) config: SrtConfig,
    pub(crate) mode: ConnectMode,
}

impl RemoteTarget {
    /// One connection attempt (the name is resolved each time: an address may change).
    async fn connect(&self) -> Result<SrtStream, Error> {
        let addr = settings::resolve(&self.url).await?;
        Ok(SrtStream::connect(addr, self.mode, &self.config).await?)
    }
}

/// A started persistent proxy (see the [module](self) documentation).
#[derive(Debug)]
pub struct RunningPersistentProxy {
    local_addr: SocketAddr,
    stop: CancellationToken,
    events: mpsc::UnboundedReceiver<PersistentEvent>,
    shared: Arc<Shared>,
    task: Option<JoinHandle<Result<PersistentStatus, Error>>>,
}

impl RunningPersistentProxy {
    pub(crate) async fn start(
        local: SocketAddr,
        remote: RemoteTarget,
        settings: PersistSettings,
    ) -> Result<RunningPersistentProxy, Error> {
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
        let stop = CancellationToken::new();
        let (events_tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let server = Server {
            listener,
            remote,
            settings,
            stop: stop.clone(),
            events: events_tx,
            shared: shared.clone(),
            backoff: Backoff::new(settings.first_retry, settings.max_retry),
            after_failure: false,
        };
        let task = tokio::spawn(server.run());
        Ok(RunningPersistentProxy {
            local_addr,
            stop,
            events,
            shared,
            task: Some(task),
        })
    }

    /// The local address pushers connect to (bound at start, kept for every push).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next event; `None` once the proxy has stopped and every event was read.
    pub async fn next_event(&mut self) -> Option<PersistentEvent> {
        self.events.recv().await
    }

    /// The counts so far.
    pub fn status(&self) -> PersistentStatus {
        self.shared.status()
    }

    /// The SRT session of the current push, or of the last one until the next is connected;
    /// `None` before the first.
    pub fn session(&self) -> Option<SrtMonitor> {
        self.shared.session()
    }

    /// A reader of the SDK's [`PerfStats`](crate::PerfStats) for [`Self::session`].
    pub fn perf_stats_reader(&self) -> Option<PerfStatsReader> {
        self.session().map(PerfStatsReader::new)
    }

    /// A token that stops the proxy when cancelled (what [`Self::stop`] uses).
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops gracefully: no new pusher is taken, a push in progress is flushed and its SRT
    /// session closed, the port is freed. Returns the counts. Idempotent.
    pub async fn stop(&mut self) -> Result<PersistentStatus, Error> {
        self.stop.cancel();
        self.wait().await
    }

    /// Waits until the proxy stops (after [`Self::stop`] or its token).
    pub async fn wait(&mut self) -> Result<PersistentStatus, Error> {
        let Some(task) = self.task.take() else {
            return Ok(self.shared.status());
        };
        match task.await {
            Ok(result) => result,
            Err(join) => Err(Error::Internal(format!(
                "persistent proxy task ended: {join}"
            ))),
        }
    }
}

/// The persistent proxy's task.
struct Server {
    listener: TcpListener,
    remote: RemoteTarget,
    settings: PersistSettings,
    stop: CancellationToken,
    events: mpsc::UnboundedSender<PersistentEvent>,
    shared: Arc<Shared>,
    backoff: Backoff,
    /// Whether the last SRT attempt or session failed (the next success is a reconnection).
    after_failure: bool,
}

impl Server {
    async fn run(mut self) -> Result<PersistentStatus, Error> {
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = self.stop.cancelled() => break,
            };
            let (client, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(source) => {
                    // A client that reset before it was accepted, or no file descriptor left:
                    // the port stays open, the next accept is tried a moment later.
                    let _ = self.events.send(PersistentEvent::AcceptFailed {
                        error: Error::LocalIo {
                            context: "accepting a pusher",
                            source,
                        },
                    });
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_RETRY) => continue,
                        () = self.stop.cancelled() => break,
                    }
                }
            };
            let push = self.shared.pushes.fetch_add(1, Ordering::Relaxed) + 1;
            let _ = self
                .events
                .send(PersistentEvent::PusherConnected { push, peer });
            {
                let Server {
                    listener,
                    remote,
                    settings,
                    stop,
                    events,
                    shared,
                    backoff,
                    after_failure,
                } = &mut self;
                let work = serve_push(
                    push,
                    client,
                    remote,
                    settings,
                    stop,
                    events,
                    shared,
                    backoff,
                    after_failure,
                );
                tokio::pin!(work);
                // After a failed accept, the next waits a moment (no busy loop on EMFILE).
                let mut accept_paused_until: Option<Instant> = None;
                loop {
                    tokio::select! {
                        () = &mut work => break,
                        () = tokio::time::sleep_until(accept_paused_until.unwrap_or_else(Instant::now)),
                            if accept_paused_until.is_some() => accept_paused_until = None,
                        accepted = listener.accept(), if accept_paused_until.is_none() => match accepted {
                            // One push at a time: the SRT session carries one pusher's bytes.
                            Ok((refused, peer)) => {
                                drop(refused);
                                shared.pushers_refused.fetch_add(1, Ordering::Relaxed);
                                let _ = events.send(PersistentEvent::PusherRefused { peer, serving: push });
                            }
                            Err(_) => accept_paused_until = Some(Instant::now() + ACCEPT_RETRY),
                        },
                    }
                }
            }
            if self.stop.is_cancelled() {
                break;
            }
        }
        Ok(self.shared.status())
    }
}

/// Serves one pusher: connects SRT (retrying while it may wait), pumps, reports the outcome.
/// The pusher's connection is closed when this returns.
#[allow(clippy::too_many_arguments)]
async fn serve_push(
    push: u64,
    client: TcpStream,
    remote: &RemoteTarget,
    settings: &PersistSettings,
    stop: &CancellationToken,
    events: &mpsc::UnboundedSender<PersistentEvent>,
    shared: &Shared,
    backoff: &mut Backoff,
    after_failure: &mut bool,
) {
    let deadline = Instant::now() + settings.pusher_hold;
    let mut attempt = 0u32;
    let mut stream = loop {
        attempt = attempt.saturating_add(1);
        let connected = tokio::select! {
            connected = remote.connect() => connected,
            () = stop.cancelled() => return,
        };
        match connected {
            Ok(stream) => {
                backoff.reset();
                if *after_failure {
                    shared.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                shared.set_session(stream.monitor());
                let _ = events.send(PersistentEvent::SrtConnected {
                    push,
                    attempt,
                    reconnect: *after_failure,
                    session: stream.monitor(),
                });
                *after_failure = false;
                break stream;
            }
            Err(error) => {
                shared.connect_failures.fetch_add(1, Ordering::Relaxed);
                *after_failure = true;
                let delay = backoff.next_delay();
                let retry = Instant::now() + delay < deadline;
                let _ = events.send(PersistentEvent::SrtConnectFailed {
                    push,
                    attempt,
                    error,
                    retry_in: retry.then_some(delay),
                });
                if !retry {
                    shared.pushes_failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.cancelled() => return,
                }
            }
        }
    };
    let monitor = stream.monitor();
    let _ = client.set_nodelay(true);
    let pumped = Pump::new(client, &mut stream)
        .buffer_size(crate::proxy::SESSION_PUMP_BUFFER)
        .stop_on(stop.clone())
        .labels(SideLabels {
            local: "pusher TCP",
            remote: "SRT",
        })
        .run()
        .await;
    match pumped {
        Ok(transferred) => {
            shared.pushes_ended.fetch_add(1, Ordering::Relaxed);
            let _ = events.send(PersistentEvent::PushEnded { push, transferred });
        }
        Err(error) => {
            let pusher_failed = error.side == tmio_pump::Side::Local;
            if pusher_failed {
                // The pusher failed: what it sent before is still delivered, then the session
                // is closed (bounded by the linger, and a cap in case of a bug).
                use tokio::io::AsyncWriteExt as _;
                let _ = tokio::time::timeout(Duration::from_secs(60), stream.shutdown()).await;
            } else {
                *after_failure = true;
            }
            let received_bytes = error.transferred.local_to_remote;
            // An encoder that exits without reading the server's last messages (ffmpeg does)
            // makes its kernel reset the connection: the end of its stream, not a failure, once
            // what it sent was delivered.
            if pusher_failed
                && error.operation == tmio_pump::Operation::Read
                && error.kind() == std::io::ErrorKind::ConnectionReset
                && monitor.status().is_ok()
                && monitor.stats().send_buffer_bytes == 0
            {
                shared.pushes_ended.fetch_add(1, Ordering::Relaxed);
                let _ = events.send(PersistentEvent::PushEnded {
                    push,
                    transferred: error.transferred,
                });
                return;
            }
            let unacknowledged = monitor.stats().send_buffer_bytes;
            shared.pushes_failed.fetch_add(1, Ordering::Relaxed);
            let _ = events.send(PersistentEvent::PushFailed {
                push,
                error: error.into(),
                received_bytes,
                acknowledged_bytes: received_bytes.saturating_sub(unacknowledged),
            });
        }
    }
}
