//! Bonded groups on the tokio side: [`GroupConnect`] (a caller group: one UDP socket per member
//! link, one [`SrtStream`]), and what a stream reports about its member links ([`LinkEvent`],
//! [`PathReport`]). The data path of a group is one [`crate::srt::connection::Connection`] with one
//! path per member; the design is in `docs/bonding.md`.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use tokio::sync::mpsc;

use crate::{
    srt::{
        config::SrtConfig,
        connection::{GroupMode, PathEvent, PathId, PathStats},
        endpoint::{self, ConnShared, Endpoint, MemberOutcome},
        handshake::{self, listener::GroupLink, packet::GroupType, GroupMembership},
        stream::{SrtMonitor, SrtStream},
        udp,
    },
    Error,
};

/// Members one tmio caller group may have (libsrt's listener and tmio's take 8 per group).
pub const MAX_GROUP_MEMBERS: usize = 8;

/// One member link of a caller group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    /// The listener this member calls (usually the same for every member, reached over another
    /// network).
    pub remote: SocketAddr,
    /// The local address to bind this member's UDP socket to (an interface's address, a port);
    /// `None`: any address of the remote's family, any port.
    pub bind: Option<SocketAddr>,
    /// Backup preference, 0-100 (higher wins); broadcast ignores it.
    pub weight: u8,
    /// A network interface to tie this member's socket to (`SO_BINDTODEVICE`, e.g. `wlan0`,
    /// `rmnet0`): its packets leave by that interface whatever the routing table says. Linux
    /// only, needs `CAP_NET_RAW` or root; otherwise the member fails with
    /// [`Error::BindDevice`] naming it.
    pub device: Option<String>,
}

/// A bonded group to connect: every member calls with the same group id, type and initial
/// sequence number; see [`SrtStream::connect_group`].
#[derive(Debug, Clone)]
pub struct GroupConnect {
    /// Broadcast or main/backup.
    pub mode: GroupMode,
    /// The member links, at least one, at most [`MAX_GROUP_MEMBERS`].
    pub members: Vec<MemberSpec>,
    /// What every member shares (stream id, passphrase, latency, timeouts…); its `local_addr`
    /// is not used (each member has its own `bind`).
    pub config: SrtConfig,
}

/// Something that happened to a member link of a stream; see [`crate::srt::SrtMonitor::link_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// A caller group's member finished its handshake and carries the group's data as `path`.
    MemberConnected {
        /// Its position in [`GroupConnect::members`].
        member: usize,
        /// The path it became.
        path: PathId,
        /// The listener it reached.
        remote: SocketAddr,
        /// Its local UDP address.
        local: SocketAddr,
    },
    /// A caller group's member could not connect (the group goes on with the others).
    MemberFailed {
        /// Its position in [`GroupConnect::members`].
        member: usize,
        /// The listener it called.
        remote: SocketAddr,
        /// Why it failed.
        reason: String,
    },
    /// A listener's group session took a new member link as `path`.
    MemberJoined {
        /// The path it became.
        path: PathId,
        /// The member's source address.
        remote: SocketAddr,
    },
    /// The data path reported a path event (added, activated, unstable, broken).
    Path(PathEvent),
}

/// One path of a stream with its addresses; see [`crate::srt::SrtMonitor::path_reports`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PathReport {
    /// Which path (0 is the first member).
    pub path: u32,
    /// The peer's address on this path.
    pub remote: SocketAddr,
    /// The local UDP address this path sends from.
    pub local: SocketAddr,
    /// Its counters and state.
    pub stats: PathStats,
}

pub(crate) fn mode_of(kind: GroupType) -> GroupMode {
    match kind {
        GroupType::Backup => GroupMode::Backup,
        // The listener core refuses every other type.
        GroupType::Broadcast | GroupType::Other(_) => GroupMode::Broadcast,
    }
}

fn group_type(mode: GroupMode) -> GroupType {
    match mode {
        GroupMode::Broadcast => GroupType::Broadcast,
        GroupMode::Backup => GroupType::Backup,
    }
}

impl GroupConnect {
    fn validate(&self) -> Result<(), Error> {
        self.config.validate()?;
        if self.members.is_empty() || self.members.len() > MAX_GROUP_MEMBERS {
            return Err(Error::InvalidConfig {
                option: "members",
                value: self.members.len().to_string(),
                reason: "a group has 1 to 8 member links",
            });
        }
        if let Some(member) = self.members.iter().find(|m| m.weight > 100) {
            return Err(Error::InvalidConfig {
                option: "weight",
                value: member.weight.to_string(),
                reason: "0 to 100",
            });
        }
        Ok(())
    }
}

/// What a caller group's stream keeps to add members later ([`SrtStream::add_member`]).
#[derive(Debug)]
pub(crate) struct CallerGroup {
    mode: GroupMode,
    membership: GroupMembership,
    config: SrtConfig,
    /// The listener's group id the first member settled: later members must get the same.
    listener_group_id: u32,
    /// Members asked for so far (the next one's index).
    members: usize,
    outcomes: mpsc::UnboundedSender<MemberOutcome>,
}

/// Binds a member's socket and runs its handshake in a task; the result goes to `outcomes` as
/// a [`MemberOutcome`] (a member put in another listener group than `listener_group_id` fails).
fn spawn_member(
    index: usize,
    member: &MemberSpec,
    membership: GroupMembership,
    config: &SrtConfig,
    listener_group_id: u32,
    outcomes: mpsc::UnboundedSender<MemberOutcome>,
) -> Result<(), Error> {
    let bind = member
        .bind
        .unwrap_or_else(|| udp::any_address_for(member.remote));
    let socket = udp::bind_on(bind, member.device.as_deref(), config.udp_buffer_bytes)?;
    let membership = GroupMembership {
        weight: u16::from(member.weight),
        peer_group_id: Some(listener_group_id),
        ..membership
    };
    let (remote, weight, config) = (member.remote, member.weight, config.clone());
    tokio::spawn(async move {
        let outcome = match handshake::call_member(&socket, remote, &config, membership).await {
            Ok((_, link)) if link.peer_group_id != listener_group_id => MemberOutcome::Failed {
                member: index,
                remote,
                reason: format!(
                    "the listener put this member in group {:#010x}, not {listener_group_id:#010x}",
                    link.peer_group_id
                ),
            },
            Ok((established, _)) => MemberOutcome::Connected {
                member: index,
                socket,
                established: Box::new(established),
                weight,
            },
            Err(error) => MemberOutcome::Failed {
                member: index,
                remote,
                reason: error.to_string(),
            },
        };
        let _ = outcomes.send(outcome);
    });
    Ok(())
}

impl SrtStream {
    /// Adds a member link to a running caller group (the SDK's `add_remote_link`: how an
    /// application replaces a broken link): its handshake runs in the background with the
    /// group's id, type and initial sequence number, and it becomes a path once connected
    /// ([`LinkEvent::MemberConnected`], or [`LinkEvent::MemberFailed`]). Returns its member
    /// index. Fails for a stream not made by [`SrtStream::connect_group`], a weight over 100,
    /// more than [`MAX_GROUP_MEMBERS`] members asked for, or a socket that cannot be bound.
    pub fn add_member(&self, member: MemberSpec) -> Result<usize, Error> {
        add_member_to(self.shared(), member)
    }
}

impl SrtMonitor {
    /// [`SrtStream::add_member`] from a monitor (while a pump owns the stream).
    pub fn add_member(&self, member: MemberSpec) -> Result<usize, Error> {
        add_member_to(&self.shared, member)
    }
}

fn add_member_to(shared: &Arc<ConnShared>, member: MemberSpec) -> Result<usize, Error> {
    {
        if member.weight > 100 {
            return Err(Error::InvalidConfig {
                option: "weight",
                value: member.weight.to_string(),
                reason: "0 to 100",
            });
        }
        let mut inner = shared.lock();
        let Some(group) = inner.caller_group.as_mut() else {
            return Err(Error::InvalidConfig {
                option: "members",
                value: "a single link".into(),
                reason: "only a stream made by connect_group takes members",
            });
        };
        if group.members >= MAX_GROUP_MEMBERS {
            return Err(Error::InvalidConfig {
                option: "members",
                value: (group.members + 1).to_string(),
                reason: "a group has 1 to 8 member links",
            });
        }
        let index = group.members;
        spawn_member(
            index,
            &member,
            group.membership,
            &group.config,
            group.listener_group_id,
            group.outcomes.clone(),
        )?;
        group.members += 1;
        tracing::info!(member = index, remote = %member.remote, mode = ?group.mode, weight = member.weight, "adding a member to the group");
        drop(inner);
        Ok(index)
    }
}

/// A member's handshake result, sent to whoever waits for it.
type MemberResult = (
    usize,
    Result<(tokio::net::UdpSocket, handshake::Established, GroupLink), Error>,
);

impl SrtStream {
    /// Connects a bonded group: one UDP socket per member (bound as given), every member's
    /// handshake at once with one group membership. Returns when the first member connects; the
    /// others become paths of the same stream as they connect ([`LinkEvent::MemberConnected`]),
    /// a member that cannot connect is reported ([`LinkEvent::MemberFailed`]) and the group goes
    /// on. Fails only when no member connects (with the last member's error).
    pub async fn connect_group(group: GroupConnect) -> Result<SrtStream, Error> {
        group.validate()?;
        let mut membership = GroupMembership::new_group(group_type(group.mode));
        let (results_tx, mut results) = mpsc::unbounded_channel::<MemberResult>();
        for (index, member) in group.members.iter().enumerate() {
            let bind = member
                .bind
                .unwrap_or_else(|| udp::any_address_for(member.remote));
            let socket = match udp::bind_on(
                bind,
                member.device.as_deref(),
                group.config.udp_buffer_bytes,
            ) {
                Ok(socket) => socket,
                Err(error) => {
                    let _ = results_tx.send((index, Err(error)));
                    continue;
                }
            };
            membership.weight = u16::from(member.weight);
            let (remote, config, tx) = (member.remote, group.config.clone(), results_tx.clone());
            let membership = membership;
            tokio::spawn(async move {
                let result = handshake::call_member(&socket, remote, &config, membership)
                    .await
                    .map(|(established, link)| (socket, established, link));
                let _ = tx.send((index, result));
            });
        }
        drop(results_tx);
        let mut failures = Vec::new();
        let mut last_error = None;
        while let Some((index, result)) = results.recv().await {
            let remote = group.members[index].remote;
            match result {
                Err(error) => {
                    tracing::warn!(member = index, %remote, %error, "group member could not connect");
                    failures.push(LinkEvent::MemberFailed {
                        member: index,
                        remote,
                        reason: error.to_string(),
                    });
                    last_error = Some(error);
                }
                Ok((socket, established, link)) => {
                    let (endpoint, shared) =
                        Endpoint::for_connection(socket, established, &group.config)?;
                    let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
                    shared.lock().caller_group = Some(CallerGroup {
                        mode: group.mode,
                        membership,
                        config: group.config.clone(),
                        listener_group_id: link.peer_group_id,
                        members: group.members.len(),
                        outcomes: outcomes_tx.clone(),
                    });
                    let mut endpoint = endpoint.with_members(outcomes);
                    endpoint.start_group(
                        &shared,
                        group.mode,
                        index,
                        group.members[index].weight,
                        failures,
                        Instant::now(),
                    );
                    tracing::info!(member = index, %remote, listener_group_id = format_args!("{:#010x}", link.peer_group_id), mode = ?group.mode, "group connected (first member)");
                    endpoint::spawn(endpoint);
                    let members = group.members.clone();
                    let expected_group = link.peer_group_id;
                    // Later members: handed to the endpoint as they connect.
                    tokio::spawn(async move {
                        while let Some((index, result)) = results.recv().await {
                            let remote = members[index].remote;
                            let outcome = match result {
                                Ok((_, _, link)) if link.peer_group_id != expected_group => {
                                    MemberOutcome::Failed {
                                        member: index,
                                        remote,
                                        reason: format!(
                                            "the listener put this member in group {:#010x}, not {:#010x}",
                                            link.peer_group_id, expected_group
                                        ),
                                    }
                                }
                                Ok((socket, established, _)) => MemberOutcome::Connected {
                                    member: index,
                                    socket,
                                    established: Box::new(established),
                                    weight: members[index].weight,
                                },
                                Err(error) => MemberOutcome::Failed {
                                    member: index,
                                    remote,
                                    reason: error.to_string(),
                                },
                            };
                            if outcomes_tx.send(outcome).is_err() {
                                break;
                            }
                        }
                    });
                    return Ok(SrtStream::from_shared(shared));
                }
            }
        }
        Err(last_error.unwrap_or(Error::InvalidConfig {
            option: "members",
            value: "0".into(),
            reason: "a group has 1 to 8 member links",
        }))
    }
}
