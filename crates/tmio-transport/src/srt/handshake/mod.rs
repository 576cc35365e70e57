//! HSv5 handshakes — caller and rendezvous — on srt-protocol's `pending_connection` state
//! machines, plus the checks that keep a hostile handshake away from the parts of srt-protocol
//! that would panic.

use std::{
    net::SocketAddr,
    panic::{catch_unwind, AssertUnwindSafe},
    time::{Duration, Instant},
};

use srt_protocol::{
    connection::ConnectionSettings,
    options::KeySize,
    packet::{
        ControlTypes, HandshakeVsInfo, Packet, RejectReason, SeqNumber, ShakeType, SrtControlPacket,
    },
    protocol::pending_connection::{
        connect::Connect, rendezvous::Rendezvous, ConnectionReject, ConnectionResult,
    },
};
use tokio::net::UdpSocket;

use crate::{
    srt::{
        config::SrtConfig,
        udp::{self, MAX_DATAGRAM},
    },
    Error,
};

/// How often an unanswered handshake packet is sent again (libsrt uses 250 ms).
const HANDSHAKE_RESEND: Duration = Duration::from_millis(250);

/// Runs srt-protocol code on input that came from the network, turning a panic inside it into
/// an error instead of taking the process down.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

/// What a peer's conclusion handshake says about encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConclusionCrypto {
    /// The key length field of the handshake (libsrt leaves it 0 when `pbkeylen` is not set,
    /// and then means AES-128).
    pub announced: KeySize,
    /// Whether key material came with it.
    pub has_key_material: bool,
}

/// What a conclusion handshake says about encryption (`None` for other packets), or why it is
/// malformed.
pub(crate) fn conclusion_crypto(packet: &Packet) -> Result<Option<ConclusionCrypto>, &'static str> {
    let Packet::Control(control) = packet else {
        return Ok(None);
    };
    let ControlTypes::Handshake(info) = &control.control_type else {
        return Ok(None);
    };
    if !matches!(info.shake_type, ShakeType::Conclusion) {
        return Ok(None);
    }
    let HandshakeVsInfo::V5(v5) = &info.info else {
        return Ok(None);
    };
    let has_key_material = match &v5.ext_km {
        None => false,
        Some(SrtControlPacket::KeyRefreshRequest(_) | SrtControlPacket::KeyRefreshResponse(_)) => {
            true
        }
        Some(_) => return Err("the key material extension holds something else"),
    };
    if !has_key_material && v5.key_size != KeySize::Unspecified {
        return Err("a key length without key material");
    }
    Ok(Some(ConclusionCrypto {
        announced: v5.key_size,
        has_key_material,
    }))
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

/// The result of a finished handshake.
#[derive(Debug)]
pub(crate) struct Established {
    pub settings: ConnectionSettings,
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

/// Which handshake to run on a socket.
enum Machine {
    Caller(Box<Connect>),
    Rendezvous(Box<Rendezvous>),
}

impl Machine {
    fn tick(&mut self, now: Instant) -> ConnectionResult {
        match self {
            Machine::Caller(c) => c.handle_tick(now),
            Machine::Rendezvous(r) => r.handle_tick(now),
        }
    }
    fn packet(&mut self, packet: Packet, from: SocketAddr, now: Instant) -> ConnectionResult {
        match self {
            Machine::Caller(c) => c.handle_packet(Ok((packet, from)), now),
            Machine::Rendezvous(r) => r.handle_packet(Ok((packet, from)), now),
        }
    }
}

/// Calls an SRT listener at `remote` from `socket`.
pub(crate) async fn call(
    socket: &UdpSocket,
    remote: SocketAddr,
    config: &SrtConfig,
) -> Result<Established, Error> {
    let init = config.init_settings()?;
    let local = local_addr(socket)?;
    let machine = Machine::Caller(Box::new(Connect::new(
        remote,
        local.ip(),
        init,
        config.stream_id.clone(),
        random_isn(),
    )));
    drive(socket, remote, config, machine).await
}

/// Meets a rendezvous peer at `remote`.
pub(crate) async fn rendezvous(
    socket: &UdpSocket,
    remote: SocketAddr,
    config: &SrtConfig,
) -> Result<Established, Error> {
    let init = config.init_settings()?;
    let local = local_addr(socket)?;
    let machine = Machine::Rendezvous(Box::new(Rendezvous::new(local, remote, init, random_isn())));
    drive(socket, remote, config, machine).await
}

fn local_addr(socket: &UdpSocket) -> Result<SocketAddr, Error> {
    socket.local_addr().map_err(|source| Error::LocalIo {
        context: "reading the UDP socket's local address",
        source,
    })
}

fn random_isn() -> SeqNumber {
    SeqNumber::new_truncate(rand::random::<u32>())
}

async fn drive(
    socket: &UdpSocket,
    remote: SocketAddr,
    config: &SrtConfig,
    mut machine: Machine,
) -> Result<Established, Error> {
    let started = tokio::time::Instant::now();
    let deadline = started + config.connect_timeout;
    let mut resend = tokio::time::interval(HANDSHAKE_RESEND);
    let mut datagram = vec![0u8; MAX_DATAGRAM];
    let mut out = Vec::with_capacity(1500);
    let our_key_size = config.key_size();
    loop {
        let result = tokio::select! {
            _ = resend.tick() => guarded(|| machine.tick(Instant::now())),
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
                let Ok(packet) = udp::decode(&datagram[..len], from) else { continue };
                match conclusion_crypto(&packet) {
                    Err(_) => continue,
                    Ok(Some(theirs)) if theirs.has_key_material && our_key_size == KeySize::Unspecified => {
                        return Err(Error::Handshake {
                            remote,
                            reason: "the peer encrypts (has a passphrase) but tmio has none".into(),
                        });
                    }
                    _ => {}
                }
                guarded(|| machine.packet(packet, from, Instant::now()))
            }
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Error::ConnectTimeout { remote, after: config.connect_timeout });
            }
        };
        let Some(result) = result else {
            // srt-protocol panicked on this input: treat it as a malformed handshake.
            return Err(Error::Handshake {
                remote,
                reason: "malformed handshake from the peer".into(),
            });
        };
        match result {
            ConnectionResult::SendPacket((packet, to)) => {
                send(socket, &packet, to, &mut out).await?
            }
            ConnectionResult::Connected(reply, connection) => {
                if let Some((packet, to)) = &reply {
                    send(socket, packet, *to, &mut out).await?;
                }
                return Ok(Established {
                    settings: connection.settings,
                });
            }
            ConnectionResult::Reject(packet, reject) => {
                if let Some((packet, to)) = packet {
                    send(socket, &packet, to, &mut out).await?;
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

pub(crate) async fn send(
    socket: &UdpSocket,
    packet: &Packet,
    to: SocketAddr,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    udp::encode(packet, out);
    socket
        .send_to(out, to)
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
        let silent = udp::bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
        let remote = silent.local_addr().unwrap();
        let socket = udp::bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
        let config = SrtConfig {
            connect_timeout: Duration::from_millis(300),
            ..SrtConfig::default()
        };
        let err = call(&socket, remote, &config).await.unwrap_err();
        assert!(matches!(err, Error::ConnectTimeout { .. }), "{err}");
        assert!(err.to_string().contains(&remote.to_string()));
    }
}
