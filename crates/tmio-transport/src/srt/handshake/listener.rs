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
//! - **Groups** (libsrt's bonding, only with `groupconnect`): the first member of an unknown caller
//!   group is a request like any caller's, marked with its group; once the application accepts
//!   it, later members of that group are checked against it (type, initial sequence number,
//!   stream id, encryption with the same passphrase) and join the session without asking the
//!   application again ([`MemberJoined`]). The rules are in `docs/bonding.md` ("Handshake and
//!   listener").

use std::{
    collections::{hash_map::Entry, HashMap, VecDeque},
    hash::{BuildHasher, RandomState},
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use srt_protocol::{
    options::{KeySize, Passphrase, SrtVersion},
    packet::{
        Auth, CipherType, CoreRejectReason, KeyFlags, KeyingMaterialMessage, PacketType,
        RejectReason, ServerRejectReason, SrtHandshake, SrtShakeFlags,
    },
};

use super::packet::{
    ext_flags, Extension, GroupExtension, GroupType, Handshake, KeyMaterialAnswer, ShakeKind,
    GROUP_ID_BIT, MAX_STREAM_ID_BYTES, SRT_MAGIC,
};
use super::Established;
use crate::srt::cipher::{key_bytes_of, StreamCipher};
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
/// Members one caller group may have at once (connected and waiting for the application).
pub(crate) const MAX_GROUP_MEMBERS: usize = 8;
/// How long a refused caller group is remembered: its later members are refused with the first
/// member's reason instead of becoming a new request.
const REFUSED_GROUP_TTL: Duration = Duration::from_secs(10);

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
    /// AES key length of the caller's key material, bytes: 16, 24 or 32 (key material of any
    /// other length is refused), 0 when the caller does not encrypt.
    pub key_bytes: u8,
    /// The caller's key material was already checked against the listener's passphrase.
    pub authenticated: bool,
    /// The caller's group, when it is the first member of a group (libsrt's bonding).
    pub group: Option<GroupRequest>,
}

/// A caller's group membership as its conclusion announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupRequest {
    /// The caller's group id (bit 30 set).
    pub peer_group_id: u32,
    /// Broadcast or backup.
    pub kind: GroupType,
    /// The member's weight (libsrt: 0-100 by convention, any 16-bit value on the wire).
    pub weight: u16,
}

/// One member link of a group session, as its handshake settled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupLink {
    /// This side's group id (bit 30 set); on a listener it names the session the member is in.
    pub local_group_id: u32,
    /// The peer's group id (bit 30 set).
    pub peer_group_id: u32,
    /// Broadcast or backup.
    pub kind: GroupType,
    /// The member's weight.
    pub weight: u16,
}

/// A later member of an accepted group joined its session (the application was not asked).
#[derive(Debug)]
pub(crate) struct MemberJoined {
    /// The session it joins: the listener's group id, as [`ListenerCore::group_of`] names the
    /// session's first member.
    pub session: u32,
    /// What the data path needs for this member link.
    pub member: Established,
    /// The member's group settings.
    pub link: GroupLink,
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
    cipher: Option<StreamCipher>,
    /// The passphrase that made `cipher` (the listener's or the application's).
    passphrase: Option<Passphrase>,
    /// The caller's group, when it is a group's first member.
    group: Option<GroupRequest>,
    since: Instant,
}

struct Accepted {
    local_socket_id: u32,
    reply: Vec<u8>,
    /// The caller group this session is a member link of, with the member's settings.
    group: Option<GroupRequest>,
}

/// A caller group the listener knows: its first member waits for the application, or the
/// application accepted it and it is a session.
struct CallerGroup {
    kind: GroupType,
    initial_sequence: u32,
    stream_id: Option<String>,
    /// The listener's id for this group (bit 30 set): the session's name.
    local_group_id: u32,
    state: GroupState,
    /// Member links connected: (address, the caller's socket id).
    members: Vec<(SocketAddr, u32)>,
    /// Members that came while the first one waits for the application.
    waiting: Vec<WaitingMember>,
}

impl CallerGroup {
    /// Members connected, waiting, and the first one while it waits for the application.
    fn member_count(&self) -> usize {
        let first = usize::from(matches!(self.state, GroupState::Pending { .. }));
        self.members.len() + self.waiting.len() + first
    }

    /// Whether a member (connected, waiting or first) comes from `ip`.
    fn has_member_from(&self, ip: IpAddr) -> bool {
        self.members.iter().any(|(peer, _)| peer.ip() == ip)
            || self.waiting.iter().any(|w| w.from.ip() == ip)
            || matches!(self.state, GroupState::Pending { first } if first.ip() == ip)
    }

    /// Why a later member cannot be in this group, if it cannot.
    fn conflict(&self, hs: &Handshake, checked: &Checked) -> Option<Refusal> {
        let group = RejectReason::Core(CoreRejectReason::Group);
        let kind = checked.group.map(|g| g.kind);
        if kind != Some(self.kind) {
            return Some((group, "a group type other than the group's"));
        }
        if hs.initial_sequence != self.initial_sequence {
            return Some((group, "an initial sequence number other than the group's"));
        }
        if hs.stream_id() != self.stream_id.as_deref() {
            return Some((group, "a stream id other than the group's"));
        }
        None
    }
}

enum GroupState {
    /// The first member (from this address) waits for the application.
    Pending { first: SocketAddr },
    /// A session; later members must encrypt with this passphrase (none: not encrypt).
    Accepted { passphrase: Option<Passphrase> },
}

struct WaitingMember {
    from: SocketAddr,
    conclusion: Handshake,
    key_material: Option<KeyingMaterialMessage>,
    cipher: Option<StreamCipher>,
}

/// What a conclusion that passed every check brings.
struct Checked {
    key_material: Option<KeyingMaterialMessage>,
    /// The AES key length `key_material` carries (0: none).
    key_bytes: u8,
    /// The cipher, when the listener's passphrase unwrapped the key material.
    cipher: Option<StreamCipher>,
    group: Option<GroupRequest>,
}

/// A refusal, with the words for the log.
type Refusal = (RejectReason, &'static str);

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
    /// Single sessions plus accepted groups (a group is one session, whatever its members).
    open_sessions: usize,
    /// Caller groups by the caller's group id.
    groups: HashMap<u32, CallerGroup>,
    /// Caller groups refused recently (by the caller's group id), with the reason and until when.
    refused_groups: HashMap<u32, (RejectReason, Instant)>,
    refused_groups_order: VecDeque<(Instant, u32)>,
    rate: RateLimit,
    transmits: VecDeque<(Vec<u8>, SocketAddr)>,
    requests: VecDeque<CallerRequest>,
    joined: VecDeque<MemberJoined>,
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
            open_sessions: 0,
            groups: HashMap::new(),
            refused_groups: HashMap::new(),
            refused_groups_order: VecDeque::new(),
            rate: RateLimit::new(limits.max_handshakes_per_second),
            transmits: VecDeque::new(),
            requests: VecDeque::new(),
            joined: VecDeque::new(),
        }
    }

    /// Sessions accepted and not yet ended (a group counts once).
    #[cfg(test)]
    pub(crate) fn sessions(&self) -> usize {
        self.open_sessions
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

    /// The next member that joined an accepted group's session. Changes after [`Self::handle`]
    /// (a member of an accepted group) and [`Self::accept`] (members that came while the
    /// group's first member waited).
    pub(crate) fn poll_joined(&mut self) -> Option<MemberJoined> {
        self.joined.pop_front()
    }

    /// The group of an accepted member link, `None` for a single caller (or one not accepted).
    /// `local_group_id` names the session, as [`MemberJoined::session`] does.
    pub(crate) fn group_of(&self, peer: SocketAddr, remote_socket_id: u32) -> Option<GroupLink> {
        let member = self.accepted.get(&(peer, remote_socket_id))?.group?;
        let group = self.groups.get(&member.peer_group_id)?;
        Some(GroupLink {
            local_group_id: group.local_group_id,
            peer_group_id: member.peer_group_id,
            kind: member.kind,
            weight: member.weight,
        })
    }

    /// When [`Self::handle_timeout`] has something to expire. Changes when a caller becomes
    /// pending or is rejected.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let pending = self.pending_order.front().map(|(at, _)| *at + PENDING_TTL);
        let rejected = self.rejected_order.front().map(|(until, _)| *until);
        let groups = self.refused_groups_order.front().map(|(until, _)| *until);
        [pending, rejected, groups].into_iter().flatten().min()
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
        while let Some(&(until, id)) = self.refused_groups_order.front() {
            if until > now {
                break;
            }
            self.refused_groups_order.pop_front();
            if self.refused_groups.get(&id).is_some_and(|r| r.1 == until) {
                self.refused_groups.remove(&id);
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
            tracing::debug!(%from, "conclusion repeated after our answer: answered again");
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
        let group_id = hs.find(|e| match e {
            Extension::Group(g) if g.has_group_bit() => Some(g.group_id()),
            _ => None,
        });
        if let (Some(id), true) = (group_id, self.serving.groups) {
            if self.groups.contains_key(&id) {
                self.handle_member(now, from, hs, id);
                return;
            }
            if let Some(&(reason, _)) = self.refused_groups.get(&id) {
                tracing::info!(%from, group_id = id, code = i32::from(reason), "group member refused: its group was refused");
                self.reject_conclusion(now, from, &hs, reason);
                return;
            }
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
            Ok(checked) => {
                let request = CallerRequest {
                    peer: from,
                    stream_id: hs.stream_id().map(str::to_owned),
                    key_bytes: checked.key_bytes,
                    authenticated: checked.cipher.is_some(),
                    group: checked.group,
                };
                tracing::debug!(%from, stream_id = ?request.stream_id, group = ?request.group, "caller waiting for the application");
                if let Some(group) = checked.group {
                    let local_group_id = self.fresh_group_id();
                    self.groups.insert(
                        group.peer_group_id,
                        CallerGroup {
                            kind: group.kind,
                            initial_sequence: hs.initial_sequence,
                            stream_id: request.stream_id.clone(),
                            local_group_id,
                            state: GroupState::Pending { first: from },
                            members: Vec::new(),
                            waiting: Vec::new(),
                        },
                    );
                }
                let passphrase = checked.cipher.as_ref().and(self.serving.passphrase.clone());
                self.pending.insert(
                    from,
                    Pending {
                        conclusion: hs,
                        key_material: checked.key_material,
                        cipher: checked.cipher,
                        passphrase,
                        group: checked.group,
                        since: now,
                    },
                );
                self.pending_order.push_back((now, from));
                self.requests.push_back(request);
            }
        }
    }

    /// A conclusion from a member of a group the listener knows (accepted, or its first member
    /// waiting for the application): checked against the group, then joined, kept waiting with
    /// the first member, or refused.
    fn handle_member(&mut self, now: Instant, from: SocketAddr, hs: Handshake, peer_group_id: u32) {
        let Some(group) = self.groups.get(&peer_group_id) else {
            return;
        };
        if group
            .waiting
            .iter()
            .any(|w| w.from == from && w.conclusion.socket_id == hs.socket_id)
        {
            // A repeat while the group's first member waits for the application.
            return;
        }
        let checked = self
            .admit_member(now, from, peer_group_id)
            .and_then(|()| self.check_conclusion(from, &hs))
            .and_then(|checked| match self.groups.get(&peer_group_id) {
                Some(group) => group.conflict(&hs, &checked).map_or(Ok(checked), Err),
                None => Ok(checked),
            });
        let Some(group) = self.groups.get(&peer_group_id) else {
            return;
        };
        let checked = match checked {
            Ok(checked) => checked,
            Err((reason, why)) => {
                tracing::info!(%from, group_id = peer_group_id, why, "group member refused");
                self.reject_conclusion(now, from, &hs, reason);
                return;
            }
        };
        let passphrase = match &group.state {
            GroupState::Pending { .. } => {
                tracing::debug!(%from, group_id = peer_group_id, "group member waits with the group's first member");
                if let Some(group) = self.groups.get_mut(&peer_group_id) {
                    group.waiting.push(WaitingMember {
                        from,
                        conclusion: hs,
                        key_material: checked.key_material,
                        cipher: checked.cipher,
                    });
                }
                return;
            }
            GroupState::Accepted { passphrase } => passphrase.clone(),
        };
        self.join_member(
            now,
            peer_group_id,
            passphrase.as_ref(),
            WaitingMember {
                from,
                conclusion: hs,
                key_material: checked.key_material,
                cipher: checked.cipher,
            },
        );
    }

    /// Joins a checked member to an accepted group's session (its key material is checked
    /// against the group's passphrase first), or refuses it.
    fn join_member(
        &mut self,
        now: Instant,
        peer_group_id: u32,
        passphrase: Option<&Passphrase>,
        member: WaitingMember,
    ) {
        let WaitingMember {
            from,
            conclusion: hs,
            key_material,
            cipher,
        } = member;
        let cipher = match (cipher, key_material, passphrase) {
            (Some(cipher), _, _) => Ok(Some(cipher)),
            (None, None, None) => Ok(None),
            (None, Some(km), Some(passphrase)) => unwrap_keys(passphrase, &km).map(Some).ok_or((
                CoreRejectReason::BadSecret,
                "another passphrase than the group's",
            )),
            (None, Some(_), None) => Err((
                CoreRejectReason::Unsecure,
                "encrypts, the group's first member did not",
            )),
            (None, None, Some(_)) => Err((
                CoreRejectReason::Unsecure,
                "does not encrypt, the group's first member did",
            )),
        };
        let cipher = match cipher {
            Ok(cipher) => cipher,
            Err((reason, why)) => {
                tracing::info!(%from, group_id = peer_group_id, why, "group member refused");
                self.reject_conclusion(now, from, &hs, RejectReason::Core(reason));
                return;
            }
        };
        let Some(request) = hs.find(|e| match e {
            Extension::Group(g) => Some(GroupRequest {
                peer_group_id,
                kind: g.group_type(),
                weight: g.weight(),
            }),
            _ => None,
        }) else {
            return;
        };
        let Some(local_group_id) = self.groups.get(&peer_group_id).map(|g| g.local_group_id) else {
            return;
        };
        let member = self.conclude(now, from, &hs, cipher, Some((request, local_group_id)), now);
        if let Some(group) = self.groups.get_mut(&peer_group_id) {
            group.members.push((from, hs.socket_id));
        }
        tracing::debug!(%from, group_id = peer_group_id, session = local_group_id, "group member joined");
        self.joined.push_back(MemberJoined {
            session: local_group_id,
            member,
            link: GroupLink {
                local_group_id,
                peer_group_id,
                kind: request.kind,
                weight: request.weight,
            },
        });
    }

    /// The limits, in the order they are cheapest to check.
    fn admit(
        &mut self,
        now: Instant,
        from: SocketAddr,
    ) -> Result<(), (RejectReason, &'static str)> {
        let limits = self.limits;
        if self.open_sessions + self.pending.len() >= limits.max_sessions as usize {
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

    /// The limits on a later member of a known group: members per group, sessions per source
    /// IP (a group counts once per address it has members from), new callers per second.
    fn admit_member(
        &mut self,
        now: Instant,
        from: SocketAddr,
        peer_group_id: u32,
    ) -> Result<(), Refusal> {
        let overload = RejectReason::Server(ServerRejectReason::Overload);
        let ip = from.ip();
        let (members, new_address) = match self.groups.get(&peer_group_id) {
            Some(group) => (group.member_count(), !group.has_member_from(ip)),
            None => (0, true),
        };
        if members >= MAX_GROUP_MEMBERS {
            return Err((
                overload,
                "the group has the most members a group may have (8)",
            ));
        }
        if new_address {
            let from_ip = self.sessions_per_ip.get(&ip).copied().unwrap_or(0)
                + self.pending.keys().filter(|p| p.ip() == ip).count();
            if from_ip >= self.limits.max_sessions_per_ip as usize {
                return Err((overload, "max sessions per source IP"));
            }
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
    /// material, the cipher when the listener's passphrase unwrapped it, and its group.
    fn check_conclusion(&self, from: SocketAddr, hs: &Handshake) -> Result<Checked, Refusal> {
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
        let mut group = None;
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
                    // live_bbr: the TMIO SDK's adaptive sender on top of live mode; what the
                    // caller's sender does is its own business, the receiving side is live's.
                    "live" | "live_bbr" => {}
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
                Extension::Group(extension) => {
                    let why = if !extension.has_group_bit() {
                        Some("a group id without the group bit")
                    } else if !matches!(
                        extension.group_type(),
                        GroupType::Broadcast | GroupType::Backup
                    ) {
                        Some("a group type other than broadcast or backup")
                    } else if !self.serving.groups {
                        Some("the listener does not accept groups (groupconnect=0)")
                    } else if extension.flags() != 0 {
                        Some("group flags tmio does not serve (message-number synchronisation)")
                    } else if group.is_some() {
                        Some("two group extensions")
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        tracing::debug!(
                            %from,
                            group_id = extension.group_id(),
                            kind = ?extension.group_type(),
                            flags = extension.flags(),
                            weight = extension.weight(),
                            why,
                            "group member refused"
                        );
                        return Err((RejectReason::Core(CoreRejectReason::Group), why));
                    }
                    group = Some(GroupRequest {
                        peer_group_id: extension.group_id(),
                        kind: extension.group_type(),
                        weight: extension.weight(),
                    });
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
        let key_bytes = match (&key_material, hs.announced_key_bytes()) {
            (None, 0) => 0,
            (None, _) => return rogue("a key length without key material"),
            (Some(km), announced) => match key_bytes_of(km) {
                None => return rogue("key material of no AES key length"),
                Some(bytes) if announced != 0 && u16::from(bytes) != announced => {
                    return rogue("key material of another length than announced")
                }
                Some(bytes) => bytes,
            },
        };
        let checked = |key_material, cipher| {
            Ok(Checked {
                key_material,
                key_bytes,
                cipher,
                group,
            })
        };
        match (&self.serving.passphrase, key_material) {
            (None, None) => checked(None, None),
            // The application may still accept it with a passphrase of its own.
            (None, Some(km)) => checked(Some(km), None),
            (Some(_), None) => Err((
                RejectReason::Core(CoreRejectReason::Unsecure),
                "the listener has a passphrase, the caller none",
            )),
            (Some(passphrase), Some(km)) => match unwrap_keys(passphrase, &km) {
                Some(cipher) => checked(Some(km), Some(cipher)),
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
                    pending.passphrase = Some(passphrase);
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
    /// listener with a passphrase has already checked the caller's key with it. For a group's
    /// first member the group becomes a session ([`Self::group_of`] names it): members that came
    /// while it waited join it now ([`Self::poll_joined`]), later ones as they come.
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
            passphrase: used_passphrase,
            group,
            since,
        } = pending;
        let (cipher, used_passphrase) = match (cipher, key_material) {
            (Some(cipher), _) => (Some(cipher), used_passphrase),
            (None, None) => (None, None),
            (None, Some(km)) => {
                let passphrase = passphrase.and_then(|p| Passphrase::try_from(p.to_owned()).ok());
                let unwrapped = passphrase.as_ref().map(|p| unwrap_keys(p, &km));
                match unwrapped {
                    Some(Some(cipher)) => (Some(cipher), passphrase),
                    Some(None) => {
                        let reason = RejectReason::Core(CoreRejectReason::BadSecret);
                        self.refuse(now, peer, &hs, group, reason);
                        return Err(AcceptError::Rejected(reason));
                    }
                    None => {
                        let reason = RejectReason::Core(CoreRejectReason::Unsecure);
                        self.refuse(now, peer, &hs, group, reason);
                        return Err(AcceptError::Rejected(reason));
                    }
                }
            }
        };
        let Some(request) = group else {
            self.open_sessions += 1;
            return Ok(self.conclude(now, peer, &hs, cipher, None, since));
        };
        let peer_group_id = request.peer_group_id;
        let Some(local_group_id) = self.groups.get(&peer_group_id).map(|g| g.local_group_id) else {
            // Not reachable: a pending first member's group stays until it is answered.
            let reason = RejectReason::Core(CoreRejectReason::Ipe);
            self.reject_conclusion(now, peer, &hs, reason);
            return Err(AcceptError::Rejected(reason));
        };
        self.open_sessions += 1;
        let established = self.conclude(
            now,
            peer,
            &hs,
            cipher,
            Some((request, local_group_id)),
            since,
        );
        let waiting = match self.groups.get_mut(&peer_group_id) {
            Some(group) => {
                group.state = GroupState::Accepted {
                    passphrase: used_passphrase.clone(),
                };
                group.members.push((peer, hs.socket_id));
                std::mem::take(&mut group.waiting)
            }
            None => Vec::new(),
        };
        tracing::debug!(%peer, group_id = peer_group_id, session = local_group_id, waiting = waiting.len(), "group accepted");
        for member in waiting {
            self.join_member(now, peer_group_id, used_passphrase.as_ref(), member);
        }
        Ok(established)
    }

    /// Answers an accepted conclusion (with the group extension for a group member: the
    /// listener's group id and the member's weight, as libsrt answers), remembers the answer for
    /// repeats, counts the caller's address, and returns what the data path needs.
    fn conclude(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        hs: &Handshake,
        cipher: Option<StreamCipher>,
        group: Option<(GroupRequest, u32)>,
        since: Instant,
    ) -> Established {
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
        let request_key_material = hs.find(|e| match e {
            Extension::KeyMaterialRequest(km) => Some(km),
            _ => None,
        });
        let key_material_answer = cipher
            .as_ref()
            .and_then(|cipher| answer_key_material(request_key_material, cipher))
            .map(|km| Extension::KeyMaterialResponse(KeyMaterialAnswer::Material(km)));
        // libsrt's order: HSRSP, congestion, group, KMRSP.
        let mut extension_field = ext_flags::HSREQ;
        let mut extensions = vec![Extension::HandshakeResponse(SrtHandshake {
            version: SrtVersion::CURRENT,
            flags: SrtShakeFlags::SUPPORTED,
            send_latency: self.serving.send_latency,
            recv_latency: self.serving.recv_latency,
        })];
        if let Some(name) = congestion {
            extension_field |= ext_flags::CONFIG;
            extensions.push(Extension::Congestion(name));
        }
        if let Some((request, local_group_id)) = group {
            extension_field |= ext_flags::CONFIG;
            extensions.push(Extension::Group(GroupExtension::new(
                local_group_id,
                request.kind,
                0,
                request.weight,
            )));
        }
        if let Some(km) = key_material_answer {
            extension_field |= ext_flags::KMREQ;
            extensions.push(km);
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
        // A group counts once per source address it has members from.
        let new_address = match group {
            None => true,
            Some((request, _)) => self
                .groups
                .get(&request.peer_group_id)
                .is_none_or(|g| !g.members.iter().any(|(m, _)| m.ip() == peer.ip())),
        };
        if new_address {
            *self.sessions_per_ip.entry(peer.ip()).or_insert(0) += 1;
        }
        self.accepted.insert(
            (peer, hs.socket_id),
            Accepted {
                local_socket_id,
                reply,
                group: group.map(|(request, _)| request),
            },
        );
        let rtt_guess = now.saturating_duration_since(since);
        Established {
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
        }
    }

    /// Refuses the waiting caller from `peer` with `reason` (a group's first member: its group
    /// too, see [`Self::accept`]).
    pub(crate) fn reject(&mut self, now: Instant, peer: SocketAddr, reason: RejectReason) {
        if let Some(pending) = self.pending.remove(&peer) {
            self.refuse(now, peer, &pending.conclusion, pending.group, reason);
        }
    }

    /// Refuses a pending caller; for a group's first member, the members waiting with it are
    /// refused with the same reason and the group is remembered as refused for a while, so its
    /// later members are refused too instead of becoming a new request.
    fn refuse(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        hs: &Handshake,
        group: Option<GroupRequest>,
        reason: RejectReason,
    ) {
        self.reject_conclusion(now, peer, hs, reason);
        let Some(request) = group else {
            return;
        };
        if let Some(group) = self.groups.remove(&request.peer_group_id) {
            for member in group.waiting {
                self.reject_conclusion(now, member.from, &member.conclusion, reason);
            }
        }
        if self.refused_groups.len() >= MAX_REMEMBERED_REJECTIONS {
            if let Some((_, oldest)) = self.refused_groups_order.pop_front() {
                self.refused_groups.remove(&oldest);
            }
        }
        let until = now + REFUSED_GROUP_TTL;
        self.refused_groups
            .insert(request.peer_group_id, (reason, until));
        self.refused_groups_order
            .push_back((until, request.peer_group_id));
    }

    /// A session (or one member link of a group session) accepted earlier has ended: its address
    /// and socket id are free again. A group whose last member ended leaves the registry.
    pub(crate) fn session_ended(&mut self, peer: SocketAddr, remote_socket_id: u32) {
        let Some(accepted) = self.accepted.remove(&(peer, remote_socket_id)) else {
            return;
        };
        let Some(member) = accepted.group else {
            self.open_sessions = self.open_sessions.saturating_sub(1);
            self.address_gone(peer.ip());
            return;
        };
        let Some(group) = self.groups.get_mut(&member.peer_group_id) else {
            return;
        };
        group
            .members
            .retain(|&(p, id)| (p, id) != (peer, remote_socket_id));
        let address_left = !group.members.iter().any(|(p, _)| p.ip() == peer.ip());
        let empty = group.members.is_empty() && matches!(group.state, GroupState::Accepted { .. });
        if address_left {
            self.address_gone(peer.ip());
        }
        if empty {
            self.groups.remove(&member.peer_group_id);
            self.open_sessions = self.open_sessions.saturating_sub(1);
        }
    }

    /// The application ended the group session `session` (the listener's group id): every
    /// member link's address and socket id are free again and the group leaves the registry (a
    /// member of the caller's group that comes later is a new request). `false` when no accepted
    /// group has that id.
    pub(crate) fn group_ended(&mut self, session: u32) -> bool {
        let Some(peer_group_id) = self
            .groups
            .iter()
            .find(|(_, g)| {
                g.local_group_id == session && matches!(g.state, GroupState::Accepted { .. })
            })
            .map(|(id, _)| *id)
        else {
            return false;
        };
        let members = self
            .groups
            .get(&peer_group_id)
            .map(|g| g.members.clone())
            .unwrap_or_default();
        for (peer, remote_socket_id) in members {
            self.session_ended(peer, remote_socket_id);
        }
        // A group without members already left with its last one.
        if self.groups.remove(&peer_group_id).is_some() {
            self.open_sessions = self.open_sessions.saturating_sub(1);
        }
        true
    }

    fn address_gone(&mut self, ip: IpAddr) {
        if let Entry::Occupied(mut count) = self.sessions_per_ip.entry(ip) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
    }

    fn fresh_group_id(&self) -> u32 {
        loop {
            let id = (rand::random::<u32>() & 0x3fff_ffff) | GROUP_ID_BIT;
            if !self.groups.values().any(|g| g.local_group_id == id) {
                return id;
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

/// The cipher from a caller's key material and a passphrase, `None` when it does not unwrap.
pub(crate) fn unwrap_keys(
    passphrase: &Passphrase,
    km: &KeyingMaterialMessage,
) -> Option<StreamCipher> {
    StreamCipher::unwrap(passphrase, km)
}

/// The key material answering a caller whose `request` unwrapped into `cipher`: what
/// `cipher.key_material()` returns, without wrapping the keys again. AES key wrap (RFC 3394) is deterministic and its
/// unwrap succeeded, so wrapping the same keys with the same key-encrypting key (same passphrase,
/// same salt) gives back the request's wrapped keys byte for byte; the other fields are the ones
/// srt-protocol writes. Every cipher the listener holds was unwrapped from the key material of
/// the conclusion it answers; without that key material it wraps as before.
fn answer_key_material(
    request: Option<&KeyingMaterialMessage>,
    cipher: &StreamCipher,
) -> Option<KeyingMaterialMessage> {
    let Some(request) = request else {
        return cipher.key_material();
    };
    // srt-protocol wraps nothing (and answers nothing) without a key.
    if !request.key_flags.intersects(KeyFlags::EVEN | KeyFlags::ODD) {
        return None;
    }
    Some(KeyingMaterialMessage {
        pt: PacketType::KeyingMaterial,
        key_flags: request.key_flags & (KeyFlags::EVEN | KeyFlags::ODD),
        keki: 0,
        cipher: CipherType::Ctr,
        auth: Auth::None,
        salt: request.salt.clone(),
        wrapped_keys: request.wrapped_keys.clone(),
    })
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
