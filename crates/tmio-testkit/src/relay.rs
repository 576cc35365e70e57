//! [`LossyUdpRelay`]: a tokio UDP relay on loopback that impairs traffic both ways.
//!
//! The relay binds a client-facing socket (`RelayConfig::listen`) and a second, ephemeral
//! socket facing the fixed upstream. The first datagram on the client-facing socket fixes the
//! client's address; datagrams from anyone else are counted in `ignored_datagrams` and
//! discarded, unless `RelayConfig::follow_new_client` is set, in which case a datagram from a
//! new address makes that address the client (a caller that reconnects from a new port). Each direction runs through its own seeded [`Impairment`]; the copies it keeps are
//! put in one timer heap and sent when due (`tokio::time::sleep_until` on the earliest entry).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::impairment::{DirectionStats, Impairment, ImpairmentConfig};
use crate::Error;

/// Which way a datagram travels through the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (whoever sent the first datagram) to the upstream.
    ToUpstream,
    /// From the upstream back to the client.
    ToClient,
}

/// How to start a relay.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayConfig {
    /// Client-facing address to bind; must be loopback (port 0 picks a free one), unless the
    /// relay starts on a thread inside a `tmio-test-*` namespace (see `NetnsLinks`), where
    /// every address is the test's own.
    pub listen: SocketAddr,
    /// Where client datagrams go; must be loopback (same exception as `listen`).
    pub upstream: SocketAddr,
    /// Seed of both directions' random generators.
    pub seed: u64,
    /// Impairment of client → upstream datagrams.
    pub to_upstream: ImpairmentConfig,
    /// Impairment of upstream → client datagrams.
    pub to_client: ImpairmentConfig,
    /// Most copies waiting for delivery at once (both directions); beyond it datagrams are
    /// dropped and counted in `dropped_overflow`. Bounds the relay's memory.
    pub max_in_flight: usize,
    /// `SO_RCVBUF` / `SO_SNDBUF` asked for on both sockets.
    pub socket_buffer_bytes: usize,
    /// When false (the default) the first client address is kept for good and other senders
    /// are ignored; when true the latest sender becomes the client (for reconnect tests).
    pub follow_new_client: bool,
}

impl RelayConfig {
    /// A pass-through relay on `127.0.0.1:0` (IPv4 upstream) or `[::1]:0` (IPv6 upstream).
    pub fn new(upstream: SocketAddr) -> Self {
        let listen_ip = match upstream.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        };
        Self {
            listen: SocketAddr::new(listen_ip, 0),
            upstream,
            seed: 0,
            to_upstream: ImpairmentConfig::default(),
            to_client: ImpairmentConfig::default(),
            max_in_flight: 100_000,
            socket_buffer_bytes: 4 << 20,
            follow_new_client: false,
        }
    }

    /// The same impairment both ways.
    pub fn symmetric(upstream: SocketAddr, impairment: ImpairmentConfig, seed: u64) -> Self {
        Self {
            seed,
            to_upstream: impairment.clone(),
            to_client: impairment,
            ..Self::new(upstream)
        }
    }
}

/// Counters of a running relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayStats {
    /// Client → upstream.
    pub to_upstream: DirectionStats,
    /// Upstream → client.
    pub to_client: DirectionStats,
    /// Datagrams from an address that is neither the learned client nor the upstream, or from
    /// the upstream before any client spoke.
    pub ignored_datagrams: u64,
    /// Receive errors reported by the sockets.
    pub receive_errors: u64,
    /// Times the client address changed (only with `follow_new_client`).
    pub client_changes: u64,
}

struct Shared {
    to_upstream: Impairment,
    to_client: Impairment,
    client: Option<SocketAddr>,
    client_changes: u64,
    ignored_datagrams: u64,
    receive_errors: u64,
}

impl Shared {
    fn impairment(&mut self, direction: Direction) -> &mut Impairment {
        match direction {
            Direction::ToUpstream => &mut self.to_upstream,
            Direction::ToClient => &mut self.to_client,
        }
    }

    fn stats(&self) -> RelayStats {
        RelayStats {
            to_upstream: self.to_upstream.stats(),
            to_client: self.to_client.stats(),
            ignored_datagrams: self.ignored_datagrams,
            receive_errors: self.receive_errors,
            client_changes: self.client_changes,
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The relay. Start it with [`LossyUdpRelay::start`].
#[derive(Debug)]
pub struct LossyUdpRelay;

impl LossyUdpRelay {
    /// Binds the sockets and spawns the relay task on the current tokio runtime.
    pub async fn start(config: RelayConfig) -> Result<RelayHandle, Error> {
        // Inside a namespace of `NetnsLinks` every address is the test's own.
        #[cfg(target_os = "linux")]
        let in_test_namespace = crate::netns::current_thread_in_test_namespace();
        #[cfg(not(target_os = "linux"))]
        let in_test_namespace = false;
        for addr in [config.listen, config.upstream] {
            if !addr.ip().is_loopback() && !in_test_namespace {
                return Err(Error::NotLoopback(addr));
            }
        }
        let to_upstream = Impairment::new(config.to_upstream.clone(), config.seed, 0)?;
        let to_client = Impairment::new(config.to_client.clone(), config.seed, 1)?;
        let client_socket = bind_udp(config.listen, config.socket_buffer_bytes)?;
        // Toward a non-loopback upstream (inside a test namespace) the kernel picks the source
        // address of the route: a socket on loopback could not reach it.
        let upstream_bind_ip = match config.upstream.ip() {
            ip if ip.is_loopback() => config.listen.ip(),
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        let upstream_bind = SocketAddr::new(upstream_bind_ip, 0);
        let upstream_socket = bind_udp(upstream_bind, config.socket_buffer_bytes)?;
        let local_addr = client_socket.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let upstream_side_addr = upstream_socket.local_addr().map_err(|source| Error::Bind {
            addr: upstream_bind,
            source,
        })?;
        let shared = Arc::new(Mutex::new(Shared {
            to_upstream,
            to_client,
            client: None,
            client_changes: 0,
            ignored_datagrams: 0,
            receive_errors: 0,
        }));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let start = Instant::now();
        let task = RelayTask {
            client_socket,
            upstream_socket,
            upstream: config.upstream,
            shared: Arc::clone(&shared),
            start,
            max_in_flight: config.max_in_flight,
            follow_new_client: config.follow_new_client,
            heap: BinaryHeap::new(),
            next_seq: 0,
        };
        let join = tokio::spawn(task.run(shutdown_rx));
        tracing::debug!(%local_addr, upstream = %config.upstream, "lossy relay started");
        Ok(RelayHandle {
            local_addr,
            upstream_side_addr,
            shared,
            start,
            shutdown_tx,
            join,
        })
    }
}

fn bind_udp(addr: SocketAddr, buffer_bytes: usize) -> Result<UdpSocket, Error> {
    let bind_err = |source| Error::Bind { addr, source };
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(bind_err)?;
    // Buffer sizes are a wish: the kernel caps them at net.core.*mem_max, which is fine.
    let _ = socket.set_recv_buffer_size(buffer_bytes);
    let _ = socket.set_send_buffer_size(buffer_bytes);
    socket.set_nonblocking(true).map_err(bind_err)?;
    socket.bind(&addr.into()).map_err(bind_err)?;
    UdpSocket::from_std(socket.into()).map_err(bind_err)
}

/// Controls a running relay. Dropping it stops the relay.
#[derive(Debug)]
pub struct RelayHandle {
    local_addr: SocketAddr,
    upstream_side_addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    start: Instant,
    shutdown_tx: watch::Sender<bool>,
    join: JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("client", &self.client)
            .field("stats", &self.stats())
            .finish()
    }
}

impl RelayHandle {
    /// The client-facing address: point the client here instead of at the upstream.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The relay's own address as the upstream sees it.
    pub fn upstream_side_addr(&self) -> SocketAddr {
        self.upstream_side_addr
    }

    /// The client address learned from the first datagram, if any arrived yet.
    pub fn client_addr(&self) -> Option<SocketAddr> {
        lock(&self.shared).client
    }

    /// Time since the relay started (the clock blackouts are expressed in).
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Counters so far.
    pub fn stats(&self) -> RelayStats {
        lock(&self.shared).stats()
    }

    /// Replaces one direction's impairment at run time (random state and counters carry on).
    pub fn set_config(&self, direction: Direction, config: ImpairmentConfig) -> Result<(), Error> {
        lock(&self.shared).impairment(direction).set_config(config)
    }

    /// Replaces both directions' impairment at run time.
    pub fn set_config_both(&self, config: ImpairmentConfig) -> Result<(), Error> {
        config.validate()?;
        let mut shared = lock(&self.shared);
        shared.to_upstream.set_config(config.clone())?;
        shared.to_client.set_config(config)
    }

    /// Drops everything, both ways, from now for `duration`.
    pub fn blackout_now(&self, duration: Duration) {
        let now = self.elapsed();
        let mut shared = lock(&self.shared);
        shared.to_upstream.blackout_now(now, duration);
        shared.to_client.blackout_now(now, duration);
    }

    /// Drops everything in one direction from now for `duration`.
    pub fn blackout_now_in(&self, direction: Direction, duration: Duration) {
        let now = self.elapsed();
        lock(&self.shared)
            .impairment(direction)
            .blackout_now(now, duration);
    }

    /// Stops the relay (copies still waiting are discarded) and returns the final counters.
    pub async fn shutdown(self) -> RelayStats {
        let _ = self.shutdown_tx.send(true);
        let _ = self.join.await;
        lock(&self.shared).stats()
    }
}

struct Scheduled {
    at: Instant,
    seq: u64,
    direction: Direction,
    data: Arc<[u8]>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct RelayTask {
    client_socket: UdpSocket,
    upstream_socket: UdpSocket,
    upstream: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    start: Instant,
    max_in_flight: usize,
    follow_new_client: bool,
    heap: BinaryHeap<Reverse<Scheduled>>,
    next_seq: u64,
}

const MAX_DATAGRAM: usize = 65_536;

impl RelayTask {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut client_buf = vec![0u8; MAX_DATAGRAM];
        let mut upstream_buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let next_due = self.heap.peek().map(|Reverse(s)| s.at);
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)),
                    if next_due.is_some() => self.send_due().await,
                received = self.client_socket.recv_from(&mut client_buf) => match received {
                    Ok((len, from)) => self.on_client_datagram(from, &client_buf[..len]),
                    Err(error) => self.receive_error(error),
                },
                received = self.upstream_socket.recv_from(&mut upstream_buf) => match received {
                    Ok((len, from)) => self.on_upstream_datagram(from, &upstream_buf[..len]),
                    Err(error) => self.receive_error(error),
                },
            }
        }
        tracing::debug!(discarded = self.heap.len(), "lossy relay stopped");
    }

    fn receive_error(&self, error: std::io::Error) {
        tracing::debug!(%error, "relay receive error");
        lock(&self.shared).receive_errors += 1;
    }

    fn on_client_datagram(&mut self, from: SocketAddr, data: &[u8]) {
        let mut shared = lock(&self.shared);
        match shared.client {
            None => shared.client = Some(from),
            Some(client) if client != from && self.follow_new_client => {
                tracing::debug!(old = %client, new = %from, "relay follows a new client");
                shared.client = Some(from);
                shared.client_changes += 1;
            }
            Some(client) if client != from => {
                shared.ignored_datagrams += 1;
                return;
            }
            Some(_) => {}
        }
        drop(shared);
        self.schedule(Direction::ToUpstream, data);
    }

    fn on_upstream_datagram(&mut self, from: SocketAddr, data: &[u8]) {
        let mut shared = lock(&self.shared);
        if from != self.upstream || shared.client.is_none() {
            shared.ignored_datagrams += 1;
            return;
        }
        drop(shared);
        self.schedule(Direction::ToClient, data);
    }

    fn schedule(&mut self, direction: Direction, data: &[u8]) {
        let now = Instant::now();
        let mut shared = lock(&self.shared);
        let impairment = shared.impairment(direction);
        let deliveries = impairment.decide(now - self.start, data.len());
        if deliveries.is_empty() {
            return;
        }
        let data: Arc<[u8]> = Arc::from(data);
        for at in deliveries {
            if self.heap.len() >= self.max_in_flight {
                impairment.stats_mut().dropped_overflow += 1;
                continue;
            }
            self.heap.push(Reverse(Scheduled {
                at: self.start + at,
                seq: self.next_seq,
                direction,
                data: Arc::clone(&data),
            }));
            self.next_seq += 1;
        }
    }

    async fn send_due(&mut self) {
        let now = Instant::now();
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.at > now {
                break;
            }
            let Some(Reverse(item)) = self.heap.pop() else {
                break;
            };
            let target = match item.direction {
                Direction::ToUpstream => Some(self.upstream),
                Direction::ToClient => lock(&self.shared).client,
            };
            let socket = match item.direction {
                Direction::ToUpstream => &self.upstream_socket,
                Direction::ToClient => &self.client_socket,
            };
            let result = match target {
                Some(target) => socket.send_to(&item.data, target).await,
                None => Err(std::io::ErrorKind::NotConnected.into()),
            };
            let mut shared = lock(&self.shared);
            let stats = shared.impairment(item.direction).stats_mut();
            match result {
                Ok(sent) => {
                    stats.forwarded_packets += 1;
                    stats.forwarded_bytes += sent as u64;
                }
                Err(error) => {
                    tracing::debug!(%error, direction = ?item.direction, "relay send error");
                    stats.send_errors += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_non_loopback_addresses() {
        let config = RelayConfig::new("192.0.2.1:9".parse().unwrap());
        match LossyUdpRelay::start(config).await {
            Err(Error::NotLoopback(addr)) => assert_eq!(addr.port(), 9),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn scheduled_items_order_by_time_then_sequence() {
        let t = Instant::now();
        let item = |at, seq| Scheduled {
            at,
            seq,
            direction: Direction::ToClient,
            data: Arc::from(&b""[..]),
        };
        let mut heap = BinaryHeap::new();
        heap.push(Reverse(item(t + Duration::from_millis(5), 0)));
        heap.push(Reverse(item(t, 2)));
        heap.push(Reverse(item(t, 1)));
        let order: Vec<u64> = std::iter::from_fn(|| heap.pop().map(|Reverse(s)| s.seq)).collect();
        assert_eq!(order, vec![1, 2, 0]);
    }
}
