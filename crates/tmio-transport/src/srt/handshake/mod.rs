//! SRT handshakes. tmio owns the handshake: its codec ([`packet`]), the listener's side
//! ([`listener`]) and the caller's ([`CallerHandshake`] here) are sans-IO state machines on that
//! codec; only rendezvous still runs srt-protocol's state machine, fed packets that tmio's codec
//! checked first. The async functions here are the thin drivers of a caller and a rendezvous.

pub(crate) mod listener;
pub(crate) mod packet;

use std::{
    net::SocketAddr,
    panic::{catch_unwind, AssertUnwindSafe},
    time::{Duration, Instant},
};

use srt_protocol::{
    connection::ConnectionSettings,
    options::{KeySize, Passphrase, SrtVersion},
    packet::{KeyingMaterialMessage, Packet, RejectReason, SeqNumber, SrtHandshake, SrtShakeFlags},
    protocol::pending_connection::{rendezvous::Rendezvous, ConnectionReject, ConnectionResult},
    settings::KeySettings,
};
use tokio::net::UdpSocket;

use crate::{
    srt::{
        cipher::StreamCipher,
        config::SrtConfig,
        udp::MAX_DATAGRAM,
        wire::{self, Datagram},
    },
    Error,
};
use listener::GroupLink;
use packet::{
    ext_flags, Extension, GroupExtension, GroupType, Handshake, KeyMaterialAnswer, ShakeKind,
    GROUP_ID_BIT, SRT_MAGIC,
};

/// How often an unanswered handshake packet is sent again (libsrt uses 250 ms).
const HANDSHAKE_RESEND: Duration = Duration::from_millis(250);

/// Runs srt-protocol's rendezvous state machine on checked input, turning a panic inside it into
/// an error: a last line of defence, not the design (tmio's codec checks every packet first).
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// Words for a reject reason, as libsrt names them.
pub(crate) fn describe_reject(reason: RejectReason) -> (String, i32) {
    let code = i32::from(reason);
    let words = match code {
        1001 => "system error on the peer".to_string(),
        1002 => "peer rejected".to_string(),
        1003 => "peer out of resources".to_string(),
        1004 => "rogue or malformed handshake".to_string(),
        1005 => "listener backlog full".to_string(),
        1006 => "internal program error on the peer".to_string(),
        1007 => "socket closing".to_string(),
        1008 => "peer's SRT version too old".to_string(),
        1009 => "rendezvous cookie collision".to_string(),
        1010 => "wrong passphrase (bad secret)".to_string(),
        1011 => "encryption mismatch: one side has a passphrase, the other none".to_string(),
        1012 => "message API mismatch".to_string(),
        1013 => "congestion control mismatch".to_string(),
        1014 => "packet filter mismatch".to_string(),
        1015 => "group settings mismatch".to_string(),
        1016 => "connection timed out".to_string(),
        2400 => "bad request (stream id)".to_string(),
        2401 => "unauthorized".to_string(),
        2402 => "server overloaded".to_string(),
        2403 => "forbidden".to_string(),
        2404 => "stream not found".to_string(),
        2405 => "bad mode".to_string(),
        2406 => "unacceptable".to_string(),
        2409 => "conflict (stream already in use)".to_string(),
        2503 => "service unavailable".to_string(),
        c if c >= 3000 => format!("rejected by the application (code {c})"),
        c => format!("{reason}").replace("  ", " ").to_string() + &format!(" ({c})"),
    };
    (words, code)
}

/// What a finished handshake settled, for the data path.
#[derive(Debug)]
pub(crate) struct Established {
    pub remote: SocketAddr,
    pub local_socket_id: u32,
    pub remote_socket_id: u32,
    pub initial_sequence: u32,
    /// The connection's time zero (timestamps count from it).
    pub start_time: Instant,
    /// The smaller MSS of the two sides, bytes.
    pub mss: usize,
    pub peer_flow_window: u32,
    /// How long the peer delays what tmio sends (TSBPD), the larger of both sides' settings.
    pub send_latency: Duration,
    /// How long tmio delays what it receives (TSBPD), likewise.
    pub recv_latency: Duration,
    pub cipher: Option<StreamCipher>,
    pub stream_id: Option<String>,
}

impl Established {
    /// What srt-protocol's rendezvous handshake settled; `None` when it settled encryption
    /// whose keys do not convert to tmio's cipher (never plaintext instead).
    fn from_rendezvous(settings: ConnectionSettings) -> Option<Established> {
        let cipher = match &settings.cipher {
            Some(cipher) => Some(StreamCipher::from_srt_protocol(cipher)?),
            None => None,
        };
        Some(Established {
            remote: settings.remote,
            local_socket_id: settings.local_sockid.0,
            remote_socket_id: settings.remote_sockid.0,
            initial_sequence: settings.init_seq_num.as_raw(),
            start_time: settings.socket_start_time,
            mss: usize::try_from(settings.max_packet_size.0).unwrap_or(1500),
            peer_flow_window: u32::try_from(settings.max_flow_size.0).unwrap_or(u32::MAX),
            send_latency: settings.send_tsbpd_latency,
            recv_latency: settings.recv_tsbpd_latency,
            cipher,
            stream_id: settings.stream_id,
        })
    }
}

/// A caller's membership in a bonded group (libsrt's socket groups), for its conclusion's
/// `SRT_CMD_GROUP` extension. Every member of one group carries the same `group_id`, `kind`,
/// `flags` and `initial_sequence`; `weight` is the member's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupMembership {
    /// The group's id: a socket id with bit 30 ([`GROUP_ID_BIT`]) set, one per tmio group.
    pub group_id: u32,
    /// Broadcast or backup.
    pub kind: GroupType,
    /// libsrt's group flags (1.5.1 knows `SYNCONMSG` = 1); tmio's groups send 0.
    pub flags: u8,
    /// The member's weight, 0-100 (backup: the higher is preferred).
    pub weight: u16,
    /// The group's initial sequence number, shared by every member (31 bits).
    pub initial_sequence: u32,
    /// The listener's group id, once an earlier member learned it: a listener answering this
    /// member with another is refused (libsrt does the same).
    pub peer_group_id: Option<u32>,
}

impl GroupMembership {
    /// The membership of a new group of `kind`: a fresh group id and initial sequence number,
    /// weight 0, no flags. Members clone it and set their weight.
    pub(crate) fn new_group(kind: GroupType) -> GroupMembership {
        GroupMembership {
            group_id: (rand::random::<u32>() & 0x3fff_ffff) | GROUP_ID_BIT,
            kind,
            flags: 0,
            weight: 0,
            initial_sequence: rand::random::<u32>() & 0x7fff_ffff,
            peer_group_id: None,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let invalid = |option, value: String, reason| {
            Err(Error::InvalidConfig {
                option,
                value,
                reason,
            })
        };
        if self.group_id & GROUP_ID_BIT == 0 {
            return invalid(
                "group id",
                format!("{:#010x}", self.group_id),
                "a group id has bit 30 (0x40000000) set",
            );
        }
        if !matches!(self.kind, GroupType::Broadcast | GroupType::Backup) {
            return invalid(
                "type",
                self.kind.raw().to_string(),
                "broadcast (1) or backup (2)",
            );
        }
        if self.weight > 100 {
            return invalid("weight", self.weight.to_string(), "0 to 100");
        }
        if self.initial_sequence > 0x7fff_ffff {
            return invalid(
                "initial sequence number",
                self.initial_sequence.to_string(),
                "31 bits (0 to 2147483647)",
            );
        }
        Ok(())
    }
}

/// The caller's side of the handshake, sans-IO: induction, then conclusion, resent every
/// 250 ms until answered; the listener's answer is checked (HSv5, socket ids, the SRT handshake
/// response, key material, the group extension of a group member) before the connection counts
/// as established.
pub(crate) struct CallerHandshake {
    remote: SocketAddr,
    local_socket_id: u32,
    initial_sequence: u32,
    mss: u32,
    flow_window: u32,
    send_latency: Duration,
    recv_latency: Duration,
    stream_id: Option<String>,
    passphrase: Option<Passphrase>,
    /// Our key length; `Unspecified` with a passphrase means "AES-128 unless the listener
    /// announces another", as libsrt does.
    key_size: KeySize,
    key_length_given: bool,
    cipher: Option<StreamCipher>,
    /// The key material of the conclusion, wrapped once (PBKDF2 is expensive): every resend
    /// carries the same.
    key_material: Option<KeyingMaterialMessage>,
    /// The cookie from the listener's induction answer, once it came.
    cookie: Option<i32>,
    started: Instant,
    next_send: Instant,
    /// This caller's group membership, when it is a group member.
    group: Option<GroupMembership>,
    /// The group settled with the listener, once its answer came.
    group_link: Option<GroupLink>,
}

impl CallerHandshake {
    /// A caller to `remote` with `config`'s settings, starting at `now`.
    pub(crate) fn new(remote: SocketAddr, config: &SrtConfig, now: Instant) -> Result<Self, Error> {
        config.validate()?;
        let passphrase = match &config.passphrase {
            None => None,
            Some(p) => Some(
                Passphrase::try_from(p.clone()).map_err(|_| Error::InvalidConfig {
                    option: "passphrase",
                    value: format!("{} characters", p.len()),
                    reason: "must be 10 to 79 characters",
                })?,
            ),
        };
        Ok(CallerHandshake {
            remote,
            local_socket_id: (rand::random::<u32>() & 0x3fff_ffff).max(1),
            initial_sequence: rand::random::<u32>() & 0x7fff_ffff,
            mss: u32::try_from(config.mss).unwrap_or(1500),
            flow_window: config.flow_window_packets,
            send_latency: config.send_latency(),
            recv_latency: config.recv_latency(),
            stream_id: config.stream_id.clone(),
            passphrase,
            key_size: config.key_size(),
            key_length_given: config.key_length != 0,
            cipher: None,
            key_material: None,
            cookie: None,
            started: now,
            next_send: now,
            group: None,
            group_link: None,
        })
    }

    /// A member of a bonded group calling `remote`: as [`Self::new`], with the group's initial
    /// sequence number and the group extension in its conclusion (libsrt's layout). The
    /// listener's answer must carry its own group extension ([`Self::group_link`]).
    pub(crate) fn new_member(
        remote: SocketAddr,
        config: &SrtConfig,
        now: Instant,
        membership: GroupMembership,
    ) -> Result<Self, Error> {
        membership.validate()?;
        let mut caller = CallerHandshake::new(remote, config, now)?;
        caller.initial_sequence = membership.initial_sequence;
        caller.group = Some(membership);
        Ok(caller)
    }

    /// Encrypts with `cipher`, whose keys `key_material` carries wrapped, instead of fresh random
    /// keys wrapped at the first conclusion: for the fuzz harness, which cannot afford a key
    /// derivation (PBKDF2) per caller and wants the same keys in every run. Ignored when
    /// `cipher` is for another passphrase, or the key length settled with the listener is another
    /// than `cipher`'s.
    pub(crate) fn use_keys(&mut self, cipher: StreamCipher, key_material: KeyingMaterialMessage) {
        self.cipher = Some(cipher);
        self.key_material = Some(key_material);
    }

    /// The group this member settled with the listener (the listener's group id, the type and
    /// this member's weight), once the handshake succeeded; `None` for a single caller.
    pub(crate) fn group_link(&self) -> Option<GroupLink> {
        self.group_link
    }

    /// The next handshake to send, when it is due. Changes with time and after
    /// [`Self::handle`] takes the induction answer.
    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if now < self.next_send {
            return None;
        }
        self.next_send = now + HANDSHAKE_RESEND;
        let timestamp = now.saturating_duration_since(self.started).as_micros() as u32;
        let packet = match self.cookie {
            None => Handshake {
                timestamp,
                dest_socket_id: 0,
                version: 4,
                encryption_field: 0,
                // UDT_DGRAM, as libsrt's induction says.
                extension_field: 2,
                initial_sequence: self.initial_sequence,
                mss: self.mss,
                flow_window: self.flow_window,
                kind: ShakeKind::Induction,
                socket_id: self.local_socket_id,
                cookie: 0,
                peer_ip: listener::ip_words(self.remote.ip()),
                extensions: Vec::new(),
            },
            Some(cookie) => self.conclusion(timestamp, cookie),
        };
        tracing::trace!(
            remote = %self.remote,
            step = if self.cookie.is_none() { "induction" } else { "conclusion" },
            socket_id = self.local_socket_id,
            "handshake sent"
        );
        Some(packet.to_bytes())
    }

    /// When [`Self::poll_transmit`] has the next resend.
    pub(crate) fn poll_timeout(&self) -> Instant {
        self.next_send
    }

    fn conclusion(&mut self, timestamp: u32, cookie: i32) -> Handshake {
        let mut extension_field = ext_flags::HSREQ;
        let mut extensions = vec![Extension::HandshakeRequest(SrtHandshake {
            version: SrtVersion::CURRENT,
            flags: SrtShakeFlags::SUPPORTED,
            send_latency: self.send_latency,
            recv_latency: self.recv_latency,
        })];
        let mut encryption_field = 0;
        if let Some(passphrase) = &self.passphrase {
            let key_size = match self.key_size {
                KeySize::Unspecified => KeySize::AES128,
                k => k,
            };
            let settings = KeySettings {
                key_size,
                passphrase: passphrase.clone(),
            };
            if self.cipher.as_ref().is_some_and(|cipher| {
                cipher.key_settings().key_size != key_size
                    || cipher.key_settings().passphrase != *passphrase
            }) {
                // Keys given with `use_keys` for another key length or passphrase: fresh ones.
                self.cipher = None;
                self.key_material = None;
            }
            let cipher = self
                .cipher
                .get_or_insert_with(|| StreamCipher::new_random(&settings));
            if self.key_material.is_none() {
                self.key_material = cipher.key_material();
            }
            if let Some(km) = self.key_material.clone() {
                extension_field |= ext_flags::KMREQ;
                extensions.push(Extension::KeyMaterialRequest(km));
            }
            encryption_field = u16::from(key_size.as_raw()) / 8;
        }
        if let Some(sid) = &self.stream_id {
            extension_field |= ext_flags::CONFIG;
            extensions.push(Extension::StreamId(sid.clone()));
        }
        if let Some(group) = &self.group {
            extension_field |= ext_flags::CONFIG;
            extensions.push(Extension::Group(GroupExtension::new(
                group.group_id,
                group.kind,
                group.flags,
                group.weight,
            )));
        }
        // libsrt's order: HSREQ, stream id, group, KMREQ.
        if let Some(position) = extensions
            .iter()
            .position(|e| matches!(e, Extension::KeyMaterialRequest(_)))
        {
            let km = extensions.remove(position);
            extensions.push(km);
        }
        Handshake {
            timestamp,
            dest_socket_id: 0,
            version: 5,
            encryption_field,
            extension_field,
            initial_sequence: self.initial_sequence,
            mss: self.mss,
            flow_window: self.flow_window,
            kind: ShakeKind::Conclusion,
            socket_id: self.local_socket_id,
            cookie,
            peer_ip: listener::ip_words(self.remote.ip()),
            extensions,
        }
    }

    /// Takes a handshake from the listener: `None` while the exchange goes on, else the result.
    pub(crate) fn handle(
        &mut self,
        now: Instant,
        hs: Handshake,
    ) -> Option<Result<Established, Error>> {
        let remote = self.remote;
        let fail = |reason: &str| {
            Some(Err(Error::Handshake {
                remote,
                reason: reason.to_owned(),
            }))
        };
        if hs.dest_socket_id != self.local_socket_id {
            return None;
        }
        match (hs.kind, self.cookie) {
            (ShakeKind::Rejection(code), _) => {
                tracing::debug!(%remote, code, "handshake rejected by the listener");
                let (mut reason, code) = describe_reject(
                    RejectReason::try_from(code).unwrap_or(RejectReason::User(code)),
                );
                if code == 1015 && self.group.is_some() {
                    reason.push_str(
                        ": the listener refused this group member (a libsrt listener does so \
                         without groupconnect=1)",
                    );
                }
                Some(Err(Error::Rejected {
                    remote,
                    reason,
                    code,
                }))
            }
            (ShakeKind::Induction, None) => {
                if hs.version != 5 || hs.extension_field != SRT_MAGIC {
                    return fail("the peer is not an SRT (HSv5) listener");
                }
                // libsrt's caller adopts the listener's key length when it set none itself.
                if !self.key_length_given && self.passphrase.is_some() {
                    self.key_size = match hs.encryption_field {
                        3 => KeySize::AES192,
                        4 => KeySize::AES256,
                        _ => KeySize::AES128,
                    };
                }
                tracing::trace!(
                    %remote,
                    encryption = hs.encryption_field,
                    "induction answered: sending the conclusion"
                );
                self.cookie = Some(hs.cookie);
                self.next_send = now;
                None
            }
            (ShakeKind::Conclusion, Some(_)) => Some(self.finish(now, hs)),
            _ => None,
        }
    }

    fn finish(&mut self, now: Instant, hs: Handshake) -> Result<Established, Error> {
        let remote = self.remote;
        let fail = |reason: &str| Error::Handshake {
            remote,
            reason: reason.to_owned(),
        };
        if hs.version != 5 {
            return Err(fail(
                "the listener answered with a handshake older than HSv5",
            ));
        }
        let response = hs
            .find(|e| match e {
                Extension::HandshakeResponse(r) => Some(*r),
                _ => None,
            })
            .ok_or_else(|| fail("the listener's answer has no SRT handshake response"))?;
        let key_answer = hs.find(|e| match e {
            Extension::KeyMaterialResponse(answer) => Some(answer.clone()),
            _ => None,
        });
        match (&self.passphrase, key_answer) {
            (None, None) if hs.encryption_field == 0 => {}
            (None, _) => {
                return Err(fail(
                    "the peer encrypts (has a passphrase) but tmio has none",
                ))
            }
            (Some(_), Some(KeyMaterialAnswer::Material(_))) => {}
            // KM_S_NOSECRET; libsrt writes the word in host byte order.
            (Some(_), Some(KeyMaterialAnswer::ErrorState(3 | 0x0300_0000))) => {
                return Err(fail(
                    "tmio encrypts (has a passphrase) but the peer has none",
                ))
            }
            (Some(_), Some(KeyMaterialAnswer::ErrorState(_))) => {
                return Err(fail("the peer has another passphrase (bad secret)"))
            }
            (Some(_), None) => {
                return Err(fail(
                    "tmio encrypts (has a passphrase) but the peer has none",
                ))
            }
        }
        if hs.socket_id == 0 {
            return Err(fail("the listener's answer has no socket id"));
        }
        let answered_group = hs.find(|e| match e {
            Extension::Group(g) => Some(g.clone()),
            _ => None,
        });
        match (&self.group, answered_group) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(fail(
                    "the listener answered with a group extension, but tmio is no group member",
                ))
            }
            (Some(_), None) => {
                return Err(fail(
                    "the listener answered this group member without a group extension: it \
                     does not serve groups (a libsrt without bonding answers so)",
                ))
            }
            (Some(mine), Some(theirs)) => {
                if !theirs.has_group_bit() {
                    return Err(fail(
                        "the listener's group id in its answer has no group bit",
                    ));
                }
                if theirs.group_type() != mine.kind {
                    return Err(Error::Handshake {
                        remote,
                        reason: format!(
                            "the listener answered with group type {}, this member's group is \
                             of type {}",
                            theirs.group_type().raw(),
                            mine.kind.raw()
                        ),
                    });
                }
                if let Some(expected) = mine.peer_group_id {
                    if expected != theirs.group_id() {
                        return Err(Error::Handshake {
                            remote,
                            reason: format!(
                                "the listener put this member in its group {:#010x}, the \
                                 group's other members are in {expected:#010x}",
                                theirs.group_id()
                            ),
                        });
                    }
                }
                self.group_link = Some(GroupLink {
                    local_group_id: mine.group_id,
                    peer_group_id: theirs.group_id(),
                    kind: mine.kind,
                    weight: mine.weight,
                });
            }
        }
        let mss = hs.mss.clamp(listener::MIN_PEER_MSS, self.mss);
        Ok(Established {
            remote,
            local_socket_id: self.local_socket_id,
            remote_socket_id: hs.socket_id,
            initial_sequence: self.initial_sequence,
            start_time: self.started,
            mss: mss as usize,
            peer_flow_window: hs.flow_window,
            send_latency: self.send_latency.max(response.recv_latency),
            recv_latency: self.recv_latency.max(response.send_latency),
            cipher: self.cipher.take(),
            stream_id: self.stream_id.clone(),
        })
        .inspect(|_| tracing::debug!(%remote, elapsed = ?now.saturating_duration_since(self.started), "handshake done"))
    }
}

/// Calls an SRT listener at `remote` from `socket`.
pub(crate) async fn call(
    socket: &UdpSocket,
    remote: SocketAddr,
    config: &SrtConfig,
) -> Result<Established, Error> {
    let mut caller = CallerHandshake::new(remote, config, Instant::now())?;
    drive_call(socket, remote, config, &mut caller).await
}

/// Calls an SRT listener at `remote` from `socket` as a member of a bonded group; returns the
/// member's settings and the group it settled with the listener.
pub(crate) async fn call_member(
    socket: &UdpSocket,
    remote: SocketAddr,
    config: &SrtConfig,
    membership: GroupMembership,
) -> Result<(Established, GroupLink), Error> {
    let mut caller = CallerHandshake::new_member(remote, config, Instant::now(), membership)?;
    let established = drive_call(socket, remote, config, &mut caller).await?;
    let link = caller.group_link().ok_or_else(|| Error::Handshake {
        remote,
        reason: "the listener answered this group member without a group extension".into(),
    })?;
    Ok((established, link))
}

/// Runs `caller`'s handshake on `socket` until it succeeds, fails or times out.
async fn drive_call(
    socket: &UdpSocket,
    remote: SocketAddr,
    config: &SrtConfig,
    caller: &mut CallerHandshake,
) -> Result<Established, Error> {
    let deadline = tokio::time::Instant::now() + config.connect_timeout;
    let mut datagram = vec![0u8; MAX_DATAGRAM];
    loop {
        while let Some(bytes) = caller.poll_transmit(Instant::now()) {
            send_bytes(socket, &bytes, remote).await?;
        }
        let resend = tokio::time::Instant::from_std(caller.poll_timeout());
        tokio::select! {
            received = socket.recv_from(&mut datagram) => {
                let (len, from) = match received {
                    Ok(r) => r,
                    // ICMP "port unreachable" surfaces here on some systems: keep trying.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(source) => return Err(Error::LocalIo { context: "receiving a handshake", source }),
                };
                if from != remote {
                    continue;
                }
                let Ok(Datagram::Handshake(hs)) = wire::decode(&datagram[..len], from) else {
                    continue;
                };
                if let Some(result) = caller.handle(Instant::now(), hs) {
                    return result;
                }
            }
            _ = tokio::time::sleep_until(resend) => {}
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Error::ConnectTimeout { remote, after: config.connect_timeout });
            }
        }
    }
}

/// Meets a rendezvous peer at `remote` (srt-protocol's state machine, fed only packets tmio's
/// codec parsed and found free of what srt-protocol cannot take).
pub(crate) async fn rendezvous(
    socket: &UdpSocket,
    remote: SocketAddr,
    config: &SrtConfig,
) -> Result<Established, Error> {
    let init = config.init_settings()?;
    let local = socket.local_addr().map_err(|source| Error::LocalIo {
        context: "reading the UDP socket's local address",
        source,
    })?;
    let isn = SeqNumber::new_truncate(rand::random::<u32>());
    let mut machine = Rendezvous::new(local, remote, init, isn);
    let deadline = tokio::time::Instant::now() + config.connect_timeout;
    let mut resend = tokio::time::interval(HANDSHAKE_RESEND);
    let mut datagram = vec![0u8; MAX_DATAGRAM];
    let mut out = Vec::with_capacity(1500);
    loop {
        let result = tokio::select! {
            _ = resend.tick() => guarded(|| machine.handle_tick(Instant::now())),
            received = socket.recv_from(&mut datagram) => {
                let (len, from) = match received {
                    Ok(r) => r,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(source) => return Err(Error::LocalIo { context: "receiving a handshake", source }),
                };
                if from != remote {
                    continue;
                }
                let bytes = &datagram[..len];
                let Ok(Datagram::Handshake(hs)) = wire::decode(bytes, from) else { continue };
                if !srt_protocol_can_parse(&hs) {
                    return Err(Error::Handshake {
                        remote,
                        reason: "the peer's rendezvous handshake has extensions tmio does not serve (congestion, filter, group)".into(),
                    });
                }
                let mut buf = bytes;
                let Ok(packet) = Packet::parse(&mut buf, from.is_ipv6()) else { continue };
                guarded(|| machine.handle_packet(Ok((packet, from)), Instant::now()))
            }
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Error::ConnectTimeout { remote, after: config.connect_timeout });
            }
        };
        let Some(result) = result else {
            return Err(Error::Handshake {
                remote,
                reason: "malformed handshake from the peer".into(),
            });
        };
        match result {
            ConnectionResult::SendPacket((packet, to)) => {
                wire::encode(&packet, &mut out);
                send_bytes(socket, &out, to).await?;
            }
            ConnectionResult::Connected(reply, connection) => {
                if let Some((packet, to)) = &reply {
                    wire::encode(packet, &mut out);
                    send_bytes(socket, &out, *to).await?;
                }
                return Established::from_rendezvous(connection.settings).ok_or_else(|| {
                    Error::Handshake {
                        remote,
                        reason: "the settled encryption keys do not unwrap".into(),
                    }
                });
            }
            ConnectionResult::Reject(packet, reject) => {
                if let Some((packet, to)) = packet {
                    wire::encode(&packet, &mut out);
                    send_bytes(socket, &out, to).await?;
                }
                return Err(rejected(remote, &reject));
            }
            ConnectionResult::Failure(source) => {
                return Err(Error::LocalIo {
                    context: "handshaking",
                    source,
                })
            }
            ConnectionResult::NotHandled(error) => {
                tracing::debug!(%remote, %error, "handshake packet not handled");
            }
            ConnectionResult::NoAction | ConnectionResult::RequestAccess(_) => {}
        }
    }
}

/// Whether srt-protocol's handshake parser takes `hs` without panicking: only the SRT handshake,
/// well-formed key material and non-empty stream ids.
fn srt_protocol_can_parse(hs: &Handshake) -> bool {
    hs.extensions.iter().all(|e| match e {
        Extension::HandshakeRequest(_)
        | Extension::HandshakeResponse(_)
        | Extension::KeyMaterialRequest(_)
        | Extension::KeyMaterialResponse(KeyMaterialAnswer::Material(_)) => true,
        Extension::StreamId(sid) => !sid.is_empty(),
        _ => false,
    })
}

fn rejected(remote: SocketAddr, reject: &ConnectionReject) -> Error {
    match reject {
        ConnectionReject::Rejected(reason) => {
            let (reason, code) = describe_reject(*reason);
            Error::Rejected {
                remote,
                reason,
                code,
            }
        }
        ConnectionReject::Rejecting(reason) => {
            let (words, code) = describe_reject(*reason);
            Error::Handshake {
                remote,
                reason: format!("tmio refused the peer's handshake: {words} (code {code})"),
            }
        }
    }
}

pub(crate) async fn send_bytes(
    socket: &UdpSocket,
    bytes: &[u8],
    to: SocketAddr,
) -> Result<(), Error> {
    socket
        .send_to(bytes, to)
        .await
        .map(|_| ())
        .map_err(|source| Error::LocalIo {
            context: "sending a handshake",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use srt_protocol::packet::CoreRejectReason;

    #[test]
    fn reject_reasons_have_words() {
        let (words, code) = describe_reject(RejectReason::Core(CoreRejectReason::BadSecret));
        assert_eq!(code, 1010);
        assert!(words.contains("passphrase"));
        let (words, code) = describe_reject(RejectReason::User(3404));
        assert_eq!(code, 3404);
        assert!(words.contains("3404"));
    }

    #[test]
    fn guarded_turns_panics_into_none() {
        #[allow(clippy::panic)]
        let caught = guarded(|| -> u8 { panic!("boom") });
        assert!(caught.is_none());
        assert_eq!(guarded(|| 7), Some(7));
    }

    #[tokio::test]
    async fn caller_times_out_with_the_address() {
        // A bound socket that never answers.
        let silent = crate::srt::udp::bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
        let remote = silent.local_addr().unwrap();
        let socket = crate::srt::udp::bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
        let config = SrtConfig {
            connect_timeout: Duration::from_millis(300),
            ..SrtConfig::default()
        };
        let err = call(&socket, remote, &config).await.unwrap_err();
        assert!(matches!(err, Error::ConnectTimeout { .. }), "{err}");
        assert!(err.to_string().contains(&remote.to_string()));
    }
}
