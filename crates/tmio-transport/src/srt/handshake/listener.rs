//! The listener's side of the handshake, sans-IO: induction, conclusion, access control, limits.
//!
//! [`ListenerCore`] owns every decision a listener makes about callers and nothing else: it is fed
//! parsed handshakes with the time and the sender's address, and hands out datagrams to send and
//! requests for the application; the tokio layer (`endpoint.rs`) only moves them.
//!
//! - **Stateless induction**: the answer to an induction carries a SYN cookie computed from the
//!   caller's address, a per-listener random key and the time (64-second buckets, the current and
//!   the previous accepted); no state is kept until a conclusion brings a valid cookie, so a flood
//!   of inductions from many addresses costs a hash each and no memory.
//! - **Everything checked before the application sees a caller**: HSv5 with an SRT handshake
//!   extension, an MSS of at least [`MIN_PEER_MSS`], a UTF-8 stream id of at most 512 bytes, no
//!   packet filter, no group unless asked for, no unknown extension, a congestion controller tmio
//!   can serve, key material that is well formed and — when the listener has a passphrase —
//!   unwraps with it. Each failure is answered with an SRT reject reason.
//! - **Limits**: sessions in all, sessions per source IP, pending requests, new conclusions per
//!   second; each reached limit is a reject reason and a log line.

use std::{
    collections::{hash_map::Entry, HashMap, VecDeque},
    hash::{BuildHasher, RandomState},
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use srt_protocol::{
    options::{KeySize, Passphrase, SrtVersion},
    packet::{
        CoreRejectReason, KeyingMaterialMessage, RejectReason, ServerRejectReason, SrtHandshake,
        SrtShakeFlags,
    },
    settings::{CipherSettings, KeyMaterialRefreshSettings, KeySettings},
};

use super::packet::{
    ext_flags, Extension, GroupType, Handshake, KeyMaterialAnswer, ShakeKind, MAX_STREAM_ID_BYTES,
    SRT_MAGIC,
};
use super::Established;
use crate::srt::config::SrtConfig;
use crate::srt::connection::DeliveryMode;

/// libsrt refuses an MSS below 76 bytes; so does tmio (a smaller one would make every packet a
/// few bytes of payload).
pub(crate) const MIN_PEER_MSS: u32 = crate::srt::config::MIN_MSS as u32;
/// Width of one SYN-cookie time bucket.
const COOKIE_BUCKET: Duration = Duration::from_secs(64);
/// How long a request may wait for the application before the caller is refused.
const PENDING_TTL: Duration = Duration::from_secs(10);
/// How long a rejection is repeated to a caller that keeps asking.
const REJECTION_TTL: Duration = Duration::from_secs(3);
/// Rejections remembered at most (older ones are forgotten first).
const MAX_REMEMBERED_REJECTIONS: usize = 4096;

/// Limits a listener enforces on its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Sessions at once, the ones being accepted included.
    pub max_sessions: u32,
    /// Sessions at once from one source IP address.
    pub max_sessions_per_ip: u32,
    /// Callers waiting for the application's answer at once.
    pub max_pending: u32,
    /// New callers (valid conclusions) taken per second; bursts up to one second's worth.
    pub max_handshakes_per_second: u32,
}

impl Default for ListenerLimits {
    /// Fits a small (2-core) machine: 256 sessions, 64 per source IP, 128 pending, 200 new
    /// callers per second.
    fn default() -> Self {
        ListenerLimits {
            max_sessions: 256,
            max_sessions_per_ip: 64,
            max_pending: 128,
            max_handshakes_per_second: 200,
        }
    }
}

/// A caller that passed every check, waiting for the application to accept or reject it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallerRequest {
    pub peer: SocketAddr,
    pub stream_id: Option<String>,
    /// AES key length of the caller's key material, bytes (0 = the caller does not encrypt).
    pub key_bytes: u8,
    /// The caller's key material was already checked against the listener's passphrase.
    pub authenticated: bool,
}

/// Why an accepted caller could not be connected after all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AcceptError {
    /// No request from that address is waiting (it expired or was answered).
    NotPending,
    /// Refused while accepting (passphrase), with the reason sent to the caller.
    Rejected(RejectReason),
}

struct Pending {
    conclusion: Handshake,
    /// Key material of the caller, when it encrypts.
    key_material: Option<KeyingMaterialMessage>,
    /// The cipher, when the listener's passphrase already unwrapped the caller's keys.
    cipher: Option<CipherSettings>,
    since: Instant,
}

struct Accepted {
    local_socket_id: u32,
    reply: Vec<u8>,
}

struct Rejected {
    reply: Vec<u8>,
    until: Instant,
}

/// A token bucket for new conclusions.
struct RateLimit {
    per_second: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimit {
    fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        RateLimit {
            per_second,
            tokens: per_second,
            last: None,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let earned = now.saturating_duration_since(last).as_secs_f64() * self.per_second;
            self.tokens = (self.tokens + earned).min(self.per_second);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the listener announces and how it serves callers, from an [`SrtConfig`].
struct Serving {
    mss: u32,
    flow_window: u32,
    send_latency: Duration,
    recv_latency: Duration,
    passphrase: Option<Passphrase>,
    key_size: KeySize,
    delivery: DeliveryMode,
    groups: bool,
}

/// The listener's handshake state machine. See the module documentation.
pub(crate) struct ListenerCore {
    serving: Serving,
    limits: ListenerLimits,
    cookie_key: RandomState,
    /// The time cookie buckets count from.
    epoch: Instant,
    pending: HashMap<SocketAddr, Pending>,
    /// Pending callers in arrival order, to expire them without a scan.
    pending_order: VecDeque<(Instant, SocketAddr)>,
    accepted: HashMap<(SocketAddr, u32), Accepted>,
    sessions_per_ip: HashMap<IpAddr, usize>,
    rejected: HashMap<SocketAddr, Rejected>,
    rejected_order: VecDeque<(Instant, SocketAddr)>,
    rate: RateLimit,
    transmits: VecDeque<(Vec<u8>, SocketAddr)>,
    requests: VecDeque<CallerRequest>,
}

impl ListenerCore {
    /// A listener serving with `config`'s settings under `limits`; `groups` is libsrt's
    /// `groupconnect`.
    pub(crate) fn new(
        config: &SrtConfig,
        limits: ListenerLimits,
        groups: bool,
        now: Instant,
    ) -> ListenerCore {
        let passphrase = config
            .passphrase
            .clone()
            .and_then(|p| Passphrase::try_from(p).ok());
        ListenerCore {
            serving: Serving {
                mss: u32::try_from(config.mss).unwrap_or(1500),
                flow_window: config.flow_window_packets,
                send_latency: config.send_latency(),
                recv_latency: config.recv_latency(),
                passphrase,
                key_size: config.key_size(),
                delivery: config.delivery,
                groups,
            },
            limits,
            cookie_key: RandomState::new(),
            epoch: now,
            pending: HashMap::new(),
            pending_order: VecDeque::new(),
            accepted: HashMap::new(),
            sessions_per_ip: HashMap::new(),
            rejected: HashMap::new(),
            rejected_order: VecDeque::new(),
            rate: RateLimit::new(limits.max_handshakes_per_second),
            transmits: VecDeque::new(),
            requests: VecDeque::new(),
        }
    }

    /// Sessions accepted and not yet ended.
    #[cfg(test)]
    pub(crate) fn sessions(&self) -> usize {
        self.accepted.len()
    }

    /// Callers waiting for the application.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The next datagram to send. Changes after [`Self::handle`], [`Self::accept`],
    /// [`Self::reject`] and [`Self::handle_timeout`].
    pub(crate) fn poll_transmit(&mut self) -> Option<(Vec<u8>, SocketAddr)> {
        self.transmits.pop_front()
    }

    /// The next caller for the application. Changes after [`Self::handle`].
    pub(crate) fn poll_request(&mut self) -> Option<CallerRequest> {
        self.requests.pop_front()
    }

    /// When [`Self::handle_timeout`] has something to expire. Changes when a caller becomes
    /// pending or is rejected.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let pending = self.pending_order.front().map(|(at, _)| *at + PENDING_TTL);
        let rejected = self.rejected_order.front().map(|(until, _)| *until);
        match (pending, rejected) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Expires requests the application did not answer in time (the caller is refused with
    /// "timeout") and forgets old rejections.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(since, peer)) = self.pending_order.front() {
            if since + PENDING_TTL > now {
                break;
            }
            self.pending_order.pop_front();
            if self.pending.get(&peer).is_some_and(|p| p.since == since) {
                tracing::info!(%peer, "caller not answered by the application in time: rejected");
                self.reject(now, peer, RejectReason::Core(CoreRejectReason::Timeout));
            }
        }
        while let Some(&(until, peer)) = self.rejected_order.front() {
            if until > now {
                break;
            }
            self.rejected_order.pop_front();
            if self.rejected.get(&peer).is_some_and(|r| r.until == until) {
                self.rejected.remove(&peer);
            }
        }
    }

    /// Takes a handshake from `from`.
    pub(crate) fn handle(&mut self, now: Instant, from: SocketAddr, hs: Handshake) {
        match hs.kind {
            ShakeKind::Induction => self.answer_induction(now, from, &hs),
            ShakeKind::Conclusion => self.handle_conclusion(now, from, hs),
            other => tracing::trace!(%from, ?other, "handshake type a listener ignores"),
        }
    }

    fn cookie(&self, from: SocketAddr, bucket: u64) -> i32 {
        let hash = self.cookie_key.hash_one((from.ip(), from.port(), bucket));
        // The low 32 bits, as libsrt's cookie is a 32-bit word.
        (hash & 0xffff_ffff) as u32 as i32
    }

    fn bucket(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs() / COOKIE_BUCKET.as_secs()
    }

    /// The cookie a caller at `from` must send now (for the fuzz harness, which cannot read the
    /// induction answer it would need).
    pub(crate) fn valid_cookie(&self, now: Instant, from: SocketAddr) -> i32 {
        self.cookie(from, self.bucket(now))
    }

    fn cookie_is_valid(&self, now: Instant, from: SocketAddr, cookie: i32) -> bool {
        let bucket = self.bucket(now);
        cookie == self.cookie(from, bucket)
            || (bucket > 0 && cookie == self.cookie(from, bucket - 1))
    }

    fn answer_induction(&mut self, now: Instant, from: SocketAddr, hs: &Handshake) {
        let reply = Handshake {
            timestamp: 0,
            dest_socket_id: hs.socket_id,
            version: 5,
            // libsrt announces its key length here; callers without one adopt it.
            encryption_field: u16::from(self.serving.key_size.as_raw()) / 8,
            extension_field: SRT_MAGIC,
            initial_sequence: hs.initial_sequence,
            mss: self.serving.mss,
            flow_window: self.serving.flow_window,
            kind: ShakeKind::Induction,
            // libsrt echoes the caller's socket id here.
            socket_id: hs.socket_id,
            cookie: self.cookie(from, self.bucket(now)),
            peer_ip: ip_words(from.ip()),
            extensions: Vec::new(),
        };
        self.transmits.push_back((reply.to_bytes(), from));
    }

    fn handle_conclusion(&mut self, now: Instant, from: SocketAddr, hs: Handshake) {
        if let Some(accepted) = self.accepted.get(&(from, hs.socket_id)) {
            // The caller did not get our answer: send it again.
            self.transmits.push_back((accepted.reply.clone(), from));
            return;
        }
        if let Some(rejected) = self.rejected.get(&from) {
            self.transmits.push_back((rejected.reply.clone(), from));
            return;
        }
        if self.pending.contains_key(&from) {
            // A repeat while the application decides.
            return;
        }
        if !self.cookie_is_valid(now, from, hs.cookie) {
            // Not from someone who received our induction answer: no state, no answer.
            tracing::debug!(%from, "conclusion with a wrong SYN cookie dropped");
            return;
        }
        if let Err((reason, why)) = self.admit(now, from) {
            tracing::warn!(%from, why, "caller refused: limit reached");
            self.reject_conclusion(now, from, &hs, reason);
            return;
        }
        match self.check_conclusion(from, &hs) {
            Err((reason, why)) => {
                tracing::info!(%from, why, "caller refused");
                self.reject_conclusion(now, from, &hs, reason);
            }
            Ok((key_material, cipher)) => {
                let request = CallerRequest {
                    peer: from,
                    stream_id: hs.stream_id().map(str::to_owned),
                    key_bytes: key_material.as_ref().map_or(0, key_bytes),
                    authenticated: cipher.is_some(),
                };
                tracing::debug!(%from, stream_id = ?request.stream_id, "caller waiting for the application");
                self.pending.insert(
                    from,
                    Pending {
                        conclusion: hs,
                        key_material,
                        cipher,
                        since: now,
                    },
                );
                self.pending_order.push_back((now, from));
                self.requests.push_back(request);
            }
        }
    }

    /// The limits, in the order they are cheapest to check.
    fn admit(
        &mut self,
        now: Instant,
        from: SocketAddr,
    ) -> Result<(), (RejectReason, &'static str)> {
        let limits = self.limits;
        if self.accepted.len() + self.pending.len() >= limits.max_sessions as usize {
            return Err((
                RejectReason::Server(ServerRejectReason::Overload),
                "max sessions",
            ));
        }
        let ip = from.ip();
        let from_ip = self.sessions_per_ip.get(&ip).copied().unwrap_or(0)
            + self.pending.keys().filter(|p| p.ip() == ip).count();
        if from_ip >= limits.max_sessions_per_ip as usize {
            return Err((
                RejectReason::Server(ServerRejectReason::Overload),
                "max sessions per source IP",
            ));
        }
        if self.pending.len() >= limits.max_pending as usize {
            return Err((
                RejectReason::Core(CoreRejectReason::Backlog),
                "max pending callers",
            ));
        }
        if !self.rate.take(now) {
            return Err((
                RejectReason::Core(CoreRejectReason::Backlog),
                "max new callers per second",
            ));
        }
        Ok(())
    }

    /// Every check of a conclusion, in libsrt's order of concerns; on success the caller's key
    /// material and, when the listener's passphrase unwrapped it, the cipher.
    #[allow(clippy::type_complexity)]
    fn check_conclusion(
        &self,
        from: SocketAddr,
        hs: &Handshake,
    ) -> Result<(Option<KeyingMaterialMessage>, Option<CipherSettings>), (RejectReason, &'static str)>
    {
        let rogue = |why| Err((RejectReason::Core(CoreRejectReason::Rogue), why));
        if hs.version != 5 {
            return Err((
                RejectReason::Core(CoreRejectReason::Version),
                "not an HSv5 (SRT 1.3+) caller",
            ));
        }
        if hs.mss < MIN_PEER_MSS {
            return rogue("MSS below 76 bytes");
        }
        let mut hsreq = None;
        let mut key_material = None;
        for extension in &hs.extensions {
            match extension {
                Extension::HandshakeRequest(req) => hsreq = Some(req),
                Extension::KeyMaterialRequest(km) => key_material = Some(km.clone()),
                Extension::StreamId(sid) => {
                    if sid.len() > MAX_STREAM_ID_BYTES {
                        return Err((
                            RejectReason::Server(ServerRejectReason::BadRequest),
                            "stream id longer than 512 bytes",
                        ));
                    }
                }
                Extension::StreamIdNotUtf8(_) => {
                    return Err((
                        RejectReason::Server(ServerRejectReason::BadRequest),
                        "stream id is not UTF-8",
                    ))
                }
                Extension::Congestion(name) => match name.as_str() {
                    "live" => {}
                    "file" if self.serving.delivery == DeliveryMode::Reliable => {}
                    _ => {
                        return Err((
                            RejectReason::Core(CoreRejectReason::Congestion),
                            "congestion control tmio cannot serve here",
                        ))
                    }
                },
                Extension::Filter(_) => {
                    return Err((
                        RejectReason::Core(CoreRejectReason::Filter),
                        "packet filters (FEC) are not supported",
                    ))
                }
                Extension::Group(group) => {
                    let why = if !group.has_group_bit() {
                        "a group id without the group bit"
                    } else if !matches!(
                        group.group_type(),
                        GroupType::Broadcast | GroupType::Backup
                    ) {
                        "a group type other than broadcast or backup"
                    } else if !self.serving.groups {
                        "group member, but the listener does not take groups (groupconnect=0)"
                    } else {
                        "bonded groups are not served yet"
                    };
                    tracing::debug!(
                        %from,
                        group_id = group.group_id(),
                        kind = ?group.group_type(),
                        flags = group.flags(),
                        weight = group.weight(),
                        why,
                        "group member refused"
                    );
                    return Err((RejectReason::Core(CoreRejectReason::Group), why));
                }
                Extension::HandshakeResponse(_) | Extension::KeyMaterialResponse(_) => {
                    return rogue("a response extension in a request")
                }
                Extension::Unknown { .. } => return rogue("unknown handshake extension"),
            }
        }
        if hsreq.is_none() {
            return rogue("no SRT handshake extension (HSREQ)");
        }
        let announced = hs.announced_key_bytes();
        match (&key_material, announced) {
            (None, 0) => {}
            (None, _) => return rogue("a key length without key material"),
            (Some(km), n) if n != 0 && usize::from(n) != usize::from(key_bytes(km)) => {
                return rogue("key material of another length than announced")
            }
            (Some(_), _) => {}
        }
        match (&self.serving.passphrase, key_material) {
            (None, None) => Ok((None, None)),
            // The application may still accept it with a passphrase of its own.
            (None, Some(km)) => Ok((Some(km), None)),
            (Some(_), None) => Err((
                RejectReason::Core(CoreRejectReason::Unsecure),
                "the listener has a passphrase, the caller none",
            )),
            (Some(passphrase), Some(km)) => match unwrap_keys(passphrase, &km) {
                Some(cipher) => Ok((Some(km), Some(cipher))),
                None => {
                    tracing::debug!(%from, "key material does not unwrap with the passphrase");
                    Err((
                        RejectReason::Core(CoreRejectReason::BadSecret),
                        "wrong passphrase",
                    ))
                }
            },
        }
    }

    fn reject_conclusion(
        &mut self,
        now: Instant,
        from: SocketAddr,
        hs: &Handshake,
        reason: RejectReason,
    ) {
        let reply = Handshake {
            timestamp: 0,
            dest_socket_id: hs.socket_id,
            version: 5,
            encryption_field: 0,
            extension_field: 0,
            initial_sequence: hs.initial_sequence,
            mss: self.serving.mss,
            flow_window: self.serving.flow_window,
            kind: ShakeKind::Rejection(i32::from(reason)),
            socket_id: 0,
            cookie: hs.cookie,
            peer_ip: ip_words(from.ip()),
            extensions: Vec::new(),
        }
        .to_bytes();
        self.transmits.push_back((reply.clone(), from));
        if self.rejected.len() >= MAX_REMEMBERED_REJECTIONS {
            // Forget the oldest: a caller that asks again gets a fresh (identical) answer.
            if let Some((_, oldest)) = self.rejected_order.pop_front() {
                self.rejected.remove(&oldest);
            }
        }
        let until = now + REJECTION_TTL;
        self.rejected.insert(from, Rejected { reply, until });
        self.rejected_order.push_back((until, from));
    }

    /// Checks the waiting caller from `peer` against `passphrase` (the application's secret for
    /// this caller, e.g. its route's) without answering it yet, so the application can prepare
    /// (open an upstream) only for authenticated callers. A caller the listener's own passphrase
    /// already authenticated passes. On a mismatch the caller is refused (1010 wrong passphrase,
    /// 1011 one side encrypts and the other not) and the reason returned.
    pub(crate) fn authenticate(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        passphrase: Option<&str>,
    ) -> Result<(), AcceptError> {
        let Some(pending) = self.pending.get_mut(&peer) else {
            return Err(AcceptError::NotPending);
        };
        if pending.cipher.is_some() {
            return Ok(());
        }
        let passphrase = passphrase.and_then(|p| Passphrase::try_from(p.to_owned()).ok());
        let refusal = match (passphrase, &pending.key_material) {
            (None, None) => None,
            (Some(passphrase), Some(km)) => match unwrap_keys(&passphrase, km) {
                Some(cipher) => {
                    pending.cipher = Some(cipher);
                    None
                }
                None => Some(RejectReason::Core(CoreRejectReason::BadSecret)),
            },
            (None, Some(_)) | (Some(_), None) => {
                Some(RejectReason::Core(CoreRejectReason::Unsecure))
            }
        };
        match refusal {
            None => Ok(()),
            Some(reason) => {
                self.reject(now, peer, reason);
                Err(AcceptError::Rejected(reason))
            }
        }
    }

    /// Accepts the waiting caller from `peer`: queues the answer and returns what the data path
    /// needs. `passphrase` serves a caller that encrypts when the listener itself has none; a
    /// listener with a passphrase has already checked the caller's key with it.
    pub(crate) fn accept(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        passphrase: Option<&str>,
    ) -> Result<Established, AcceptError> {
        let Some(pending) = self.pending.remove(&peer) else {
            return Err(AcceptError::NotPending);
        };
        let Pending {
            conclusion: hs,
            key_material,
            cipher,
            since,
        } = pending;
        let cipher = match (cipher, key_material) {
            (Some(cipher), _) => Some(cipher),
            (None, None) => None,
            (None, Some(km)) => {
                let unwrapped = passphrase
                    .and_then(|p| Passphrase::try_from(p.to_owned()).ok())
                    .map(|p| unwrap_keys(&p, &km));
                match unwrapped {
                    Some(Some(cipher)) => Some(cipher),
                    Some(None) => {
                        let reason = RejectReason::Core(CoreRejectReason::BadSecret);
                        self.reject_conclusion(now, peer, &hs, reason);
                        return Err(AcceptError::Rejected(reason));
                    }
                    None => {
                        let reason = RejectReason::Core(CoreRejectReason::Unsecure);
                        self.reject_conclusion(now, peer, &hs, reason);
                        return Err(AcceptError::Rejected(reason));
                    }
                }
            }
        };
        let local_socket_id = self.fresh_socket_id();
        let hsreq = hs.find(|e| match e {
            Extension::HandshakeRequest(r) => Some(*r),
            _ => None,
        });
        let (peer_send_latency, peer_recv_latency) = hsreq
            .map(|r| (r.send_latency, r.recv_latency))
            .unwrap_or((Duration::ZERO, Duration::ZERO));
        // A file-mode caller expects its congestion controller named back (libsrt does so); a
        // stream-API caller (STREAM flag) is served as the byte stream tmio is anyway, and libsrt
        // does not echo that flag.
        let congestion = hs.find(|e| match e {
            Extension::Congestion(name) => Some(name.clone()),
            _ => None,
        });
        let key_material_answer = cipher
            .as_ref()
            .and_then(CipherSettings::wrap_keying_material)
            .map(|km| Extension::KeyMaterialResponse(KeyMaterialAnswer::Material(km)));
        let mut extension_field = ext_flags::HSREQ;
        let mut extensions = vec![Extension::HandshakeResponse(SrtHandshake {
            version: SrtVersion::CURRENT,
            flags: SrtShakeFlags::SUPPORTED,
            send_latency: self.serving.send_latency,
            recv_latency: self.serving.recv_latency,
        })];
        if let Some(km) = key_material_answer {
            extension_field |= ext_flags::KMREQ;
            extensions.push(km);
        }
        if let Some(name) = congestion {
            extension_field |= ext_flags::CONFIG;
            extensions.push(Extension::Congestion(name));
        }
        let mss = hs.mss.min(self.serving.mss);
        let reply = Handshake {
            timestamp: 0,
            dest_socket_id: hs.socket_id,
            version: 5,
            encryption_field: hs.encryption_field,
            extension_field,
            initial_sequence: hs.initial_sequence,
            mss,
            flow_window: self.serving.flow_window,
            kind: ShakeKind::Conclusion,
            socket_id: local_socket_id,
            cookie: hs.cookie,
            peer_ip: ip_words(peer.ip()),
            extensions,
        }
        .to_bytes();
        self.transmits.push_back((reply.clone(), peer));
        self.accepted.insert(
            (peer, hs.socket_id),
            Accepted {
                local_socket_id,
                reply,
            },
        );
        *self.sessions_per_ip.entry(peer.ip()).or_insert(0) += 1;
        let rtt_guess = now.saturating_duration_since(since);
        Ok(Established {
            remote: peer,
            local_socket_id,
            remote_socket_id: hs.socket_id,
            initial_sequence: hs.initial_sequence,
            start_time: now.checked_sub(rtt_guess / 2).unwrap_or(now),
            mss: mss as usize,
            peer_flow_window: hs.flow_window,
            send_latency: self.serving.send_latency.max(peer_recv_latency),
            recv_latency: self.serving.recv_latency.max(peer_send_latency),
            cipher,
            stream_id: hs.stream_id().map(str::to_owned),
        })
    }

    /// Refuses the waiting caller from `peer` with `reason`.
    pub(crate) fn reject(&mut self, now: Instant, peer: SocketAddr, reason: RejectReason) {
        if let Some(pending) = self.pending.remove(&peer) {
            self.reject_conclusion(now, peer, &pending.conclusion, reason);
        }
    }

    /// A session accepted earlier has ended: its address and socket id are free again.
    pub(crate) fn session_ended(&mut self, peer: SocketAddr, remote_socket_id: u32) {
        if self.accepted.remove(&(peer, remote_socket_id)).is_some() {
            if let Entry::Occupied(mut count) = self.sessions_per_ip.entry(peer.ip()) {
                *count.get_mut() -= 1;
                if *count.get() == 0 {
                    count.remove();
                }
            }
        }
    }

    fn fresh_socket_id(&self) -> u32 {
        loop {
            // Socket ids are 31-bit and never 0 (0 addresses the listener).
            let id = rand::random::<u32>() & 0x3fff_ffff;
            if id != 0 && !self.accepted.values().any(|a| a.local_socket_id == id) {
                return id;
            }
        }
    }
}

/// The AES key length of a key material message, bytes.
fn key_bytes(km: &KeyingMaterialMessage) -> u8 {
    let keys = km.key_flags.bits().count_ones().max(1) as usize;
    let len = km.wrapped_keys.len().saturating_sub(8) / keys;
    u8::try_from(len).unwrap_or(0)
}

fn key_size_of(km: &KeyingMaterialMessage) -> KeySize {
    match key_bytes(km) {
        24 => KeySize::AES192,
        32 => KeySize::AES256,
        _ => KeySize::AES128,
    }
}

/// The cipher from a caller's key material and a passphrase, `None` when it does not unwrap.
pub(crate) fn unwrap_keys(
    passphrase: &Passphrase,
    km: &KeyingMaterialMessage,
) -> Option<CipherSettings> {
    let key_settings = KeySettings {
        key_size: key_size_of(km),
        passphrase: passphrase.clone(),
    };
    CipherSettings::new(&key_settings, &KeyMaterialRefreshSettings::default(), km).ok()
}

/// An IP address as libsrt writes it in a handshake: the address's bytes as 32-bit words in host
/// (little-endian) order, each word then sent big-endian — so every group of four bytes reversed.
pub(crate) fn ip_words(ip: IpAddr) -> [u8; 16] {
    let mut words = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => words[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => words.copy_from_slice(&v6.octets()),
    }
    for word in words.chunks_exact_mut(4) {
        word.reverse();
    }
    words
}

#[cfg(test)]
#[path = "listener_tests.rs"]
mod tests;
