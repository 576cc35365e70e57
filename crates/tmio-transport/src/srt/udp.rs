//! UDP sockets for SRT, the datagram ⇄ packet codec (srt-protocol's), and batched socket I/O.
//!
//! The driver sends with GSO (one `sendmsg` carries up to ~64 KB of equal-sized datagrams, cut
//! by the kernel) and receives with GRO and `recvmmsg` (one call returns many datagrams), both
//! through `quinn-udp`; where the kernel lacks them this falls back to one datagram per call.

use std::{
    io::{self, IoSliceMut},
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
};

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use socket2::{Domain, Protocol, Socket, Type};
use srt_protocol::packet::Packet;
use tokio::{io::Interest, net::UdpSocket};

use crate::Error;

/// Largest datagram tmio accepts (an SRT packet never exceeds the 1500-byte MSS, but a peer may
/// send anything: a larger datagram is read whole and then rejected by the parser).
pub(crate) const MAX_DATAGRAM: usize = 65_536;

/// Binds a non-blocking UDP socket with large kernel buffers.
pub(crate) fn bind(addr: SocketAddr, buffer_bytes: usize) -> Result<UdpSocket, Error> {
    bind_on(addr, None, buffer_bytes)
}

/// [`bind`], first tying the socket to network interface `device` if given (`SO_BINDTODEVICE`:
/// its packets leave by that interface whatever the routing table says).
pub(crate) fn bind_on(
    addr: SocketAddr,
    device: Option<&str>,
    buffer_bytes: usize,
) -> Result<UdpSocket, Error> {
    let bind_error = |source: io::Error| Error::Bind { addr, source };
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(bind_error)?;
    if let Some(device) = device {
        bind_to_device(&socket, device).map_err(|source| Error::BindDevice {
            device: device.to_owned(),
            source,
        })?;
    }
    if addr.is_ipv6() {
        // Accept v4-mapped peers too, as libsrt does with `ipv6only=0`.
        let _ = socket.set_only_v6(false);
    }
    socket.set_nonblocking(true).map_err(bind_error)?;
    socket.bind(&addr.into()).map_err(bind_error)?;
    finish(socket.into(), buffer_bytes).map_err(|e| match e {
        Error::LocalIo { source, .. } => Error::Bind { addr, source },
        other => other,
    })
}

#[cfg(target_os = "linux")]
fn bind_to_device(socket: &Socket, device: &str) -> io::Result<()> {
    use std::ffi::OsString;
    if device.is_empty() || device.len() >= 16 || device.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an interface name has 1 to 15 bytes",
        ));
    }
    nix::sys::socket::setsockopt(
        socket,
        nix::sys::socket::sockopt::BindToDevice,
        &OsString::from(device),
    )
    .map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn bind_to_device(_socket: &Socket, _device: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "binding to an interface is Linux-only here",
    ))
}

/// Takes over a UDP socket the application already opened (the SDK lets a link reuse one).
pub(crate) fn adopt(socket: std::net::UdpSocket, buffer_bytes: usize) -> Result<UdpSocket, Error> {
    socket
        .set_nonblocking(true)
        .map_err(|source| Error::LocalIo {
            context: "making the given UDP socket non-blocking",
            source,
        })?;
    finish(socket, buffer_bytes)
}

fn finish(socket: std::net::UdpSocket, buffer_bytes: usize) -> Result<UdpSocket, Error> {
    let socket2 = Socket::from(socket);
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    let _ = socket2.set_recv_buffer_size(buffer_bytes);
    let _ = socket2.set_send_buffer_size(buffer_bytes);
    UdpSocket::from_std(socket2.into()).map_err(|source| Error::LocalIo {
        context: "registering the UDP socket with tokio",
        source,
    })
}

/// The receive and send buffer sizes the kernel granted `socket`, comparable with what
/// [`bind`] asked for (Linux reports twice what it grants, for its own bookkeeping; halved
/// here). The kernel caps what it grants at `net.core.rmem_max` and `wmem_max`.
pub(crate) fn granted_buffers(socket: &UdpSocket) -> io::Result<(usize, usize)> {
    let socket = socket2::SockRef::from(socket);
    let reported = if cfg!(target_os = "linux") { 2 } else { 1 };
    Ok((
        socket.recv_buffer_size()? / reported,
        socket.send_buffer_size()? / reported,
    ))
}

/// The wildcard address of the same family as `remote`, port 0.
pub(crate) fn any_address_for(remote: SocketAddr) -> SocketAddr {
    match remote {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    }
}

/// Bytes one GSO send may carry at most (a UDP datagram's payload limit, with margin).
const MAX_GSO_BYTES: usize = 64_000;
/// Receive buffers handed to one `recvmmsg`.
const RECV_BUFFERS: usize = 8;
/// Bytes per receive buffer: GRO may coalesce up to 64 datagrams of up to an Ethernet MTU (the
/// size quinn-udp asks for), and a single datagram may be up to [`MAX_DATAGRAM`].
const RECV_BUFFER_BYTES: usize = if 64 * 1500 > MAX_DATAGRAM {
    64 * 1500
} else {
    MAX_DATAGRAM
};

/// Datagrams to one destination laid end to end for one GSO send: all of one size, except that
/// the last may be shorter (what `UDP_SEGMENT` requires).
#[derive(Debug, Default)]
pub(crate) struct GsoBatch {
    bytes: Vec<u8>,
    segment_size: usize,
    segments: usize,
    destination: Option<SocketAddr>,
}

impl GsoBatch {
    /// An empty batch with room for one full send.
    pub(crate) fn new() -> Self {
        GsoBatch {
            bytes: Vec::with_capacity(MAX_GSO_BYTES),
            ..GsoBatch::default()
        }
    }

    /// Whether the batch holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.segments == 0
    }

    /// Whether `datagram` to `to` can join the batch without breaking the GSO rules, when a send
    /// may carry `max_segments` datagrams.
    #[cfg(test)]
    fn fits(&self, datagram: &[u8], to: SocketAddr, max_segments: usize) -> bool {
        self.fits_after(self.bytes.len(), datagram.len(), to, max_segments)
    }

    /// Whether a datagram of `len` bytes to `to`, placed after the first `filled` bytes of the
    /// batch, can join it without breaking the GSO rules, when a send may carry `max_segments`
    /// datagrams.
    fn fits_after(&self, filled: usize, len: usize, to: SocketAddr, max_segments: usize) -> bool {
        if self.segments == 0 {
            return true;
        }
        let last_was_full = filled == self.segments * self.segment_size;
        self.destination == Some(to)
            && last_was_full
            && len <= self.segment_size
            && self.segments < max_segments
            && filled + len <= MAX_GSO_BYTES
    }

    /// Serialises `packet` for `to` straight into the batch (no copy) when it fits and returns
    /// `true`; otherwise leaves the batch as it was, puts the datagram in `spill` and returns
    /// `false`: send the batch, then start the next one with `spill`.
    pub(crate) fn push_packet(
        &mut self,
        packet: &Packet,
        to: SocketAddr,
        max_segments: usize,
        spill: &mut Vec<u8>,
    ) -> bool {
        let filled = self.bytes.len();
        packet.serialize(&mut self.bytes);
        let len = self.bytes.len() - filled;
        if self.fits_after(filled, len, to, max_segments) {
            if self.segments == 0 {
                self.segment_size = len;
                self.destination = Some(to);
            }
            self.segments += 1;
            return true;
        }
        spill.clear();
        spill.extend_from_slice(&self.bytes[filled..]);
        self.bytes.truncate(filled);
        false
    }

    /// Appends `datagram` to an empty batch, or to one it fits (see `fits_after`).
    pub(crate) fn push(&mut self, datagram: &[u8], to: SocketAddr) {
        if self.segments == 0 {
            self.segment_size = datagram.len();
            self.destination = Some(to);
        }
        self.bytes.extend_from_slice(datagram);
        self.segments += 1;
    }

    /// Empties the batch (keeping its allocation).
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.segments = 0;
        self.destination = None;
    }

    /// The batch as one send, or `None` when it is empty.
    fn transmit(&self) -> Option<Transmit<'_>> {
        let destination = self.destination?;
        Some(Transmit {
            destination,
            ecn: None,
            contents: &self.bytes,
            segment_size: (self.segments > 1).then_some(self.segment_size),
            src_ip: None,
        })
    }

    /// The datagrams of the batch, in order (for checks and for the fallback without GSO).
    #[cfg(test)]
    fn datagrams(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes.chunks(self.segment_size.max(1))
    }
}

/// A socket's path-MTU settings, kept across quinn-udp's set-up, which switches to "probe" (set
/// DF, ignore the learned path MTU) and `IPV6_DONTFRAG`: QUIC sizes its own packets, but SRT's
/// are up to 1500 bytes and must still cross a path with a smaller MTU (PPPoE, VPNs) the way they
/// do with libsrt, by the kernel's default (fragment once the path MTU is known).
#[derive(Debug, Default)]
struct PathMtuSettings {
    #[cfg(target_os = "linux")]
    ipv4: Option<rustix::net::sockopt::Ipv4PathMtuDiscovery>,
    #[cfg(target_os = "linux")]
    ipv6: Option<rustix::net::sockopt::Ipv6PathMtuDiscovery>,
    #[cfg(target_os = "linux")]
    ipv6_dont_fragment: Option<bool>,
}

impl PathMtuSettings {
    /// What `socket` has now (an option the socket's family lacks stays `None`).
    #[cfg(target_os = "linux")]
    fn of(socket: &UdpSocket) -> Self {
        use rustix::net::sockopt;
        PathMtuSettings {
            ipv4: sockopt::ip_mtu_discover(socket).ok(),
            ipv6: sockopt::ipv6_mtu_discover(socket).ok(),
            ipv6_dont_fragment: nix::sys::socket::getsockopt(
                socket,
                nix::sys::socket::sockopt::Ipv6DontFrag,
            )
            .ok(),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn of(_socket: &UdpSocket) -> Self {
        PathMtuSettings::default()
    }

    /// Puts the saved settings back; best effort, like the buffer sizes.
    #[cfg(target_os = "linux")]
    fn restore(&self, socket: &UdpSocket) {
        use rustix::net::sockopt;
        if let Some(value) = self.ipv4 {
            let _ = sockopt::set_ip_mtu_discover(socket, value);
        }
        if let Some(value) = self.ipv6 {
            let _ = sockopt::set_ipv6_mtu_discover(socket, value);
        }
        if let Some(value) = self.ipv6_dont_fragment {
            let _ = nix::sys::socket::setsockopt(
                socket,
                nix::sys::socket::sockopt::Ipv6DontFrag,
                &value,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn restore(&self, _socket: &UdpSocket) {}
}

/// Batched sends and receives on one tokio UDP socket.
pub(crate) struct BatchIo {
    state: UdpSocketState,
    buffers: Vec<Vec<u8>>,
    metas: Vec<RecvMeta>,
}

impl std::fmt::Debug for BatchIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchIo")
            .field("max_gso_segments", &self.state.max_gso_segments())
            .field("gro_segments", &self.state.gro_segments())
            .finish_non_exhaustive()
    }
}

impl BatchIo {
    /// Prepares `socket` for batched I/O (turns GRO on where the kernel has it).
    pub(crate) fn new(socket: &UdpSocket) -> io::Result<Self> {
        let path_mtu = PathMtuSettings::of(socket);
        let state = UdpSocketState::new(UdpSockRef::from(socket))?;
        path_mtu.restore(socket);
        let buffers = (0..RECV_BUFFERS.clamp(1, quinn_udp::BATCH_SIZE.max(1)))
            .map(|_| vec![0u8; RECV_BUFFER_BYTES])
            .collect::<Vec<_>>();
        let metas = vec![RecvMeta::default(); buffers.len()];
        Ok(BatchIo {
            state,
            buffers,
            metas,
        })
    }

    /// How many datagrams one send may carry (1 without GSO, or after the kernel refused it).
    pub(crate) fn max_segments(&self) -> usize {
        self.state.max_gso_segments().max(1)
    }

    /// Sends the whole batch in one call; `WouldBlock` leaves it to be sent again when the
    /// socket is writable (tokio's readiness is cleared so the wait is real).
    pub(crate) fn send(&self, socket: &UdpSocket, batch: &GsoBatch) -> io::Result<()> {
        let Some(transmit) = batch.transmit() else {
            return Ok(());
        };
        socket.try_io(Interest::WRITABLE, || {
            self.state.try_send(UdpSockRef::from(socket), &transmit)
        })
    }

    /// Receives what the socket holds, at most one `recvmmsg`, and hands each datagram with its
    /// sender to `each`. Returns the number of datagrams; `WouldBlock` when there were none.
    /// [`Readiness::AsReported`] asks the kernel only if the runtime has seen the socket readable;
    /// [`Readiness::AskKernel`] always does.
    pub(crate) fn receive(
        &mut self,
        socket: &UdpSocket,
        readiness: Readiness,
        mut each: impl FnMut(&[u8], SocketAddr),
    ) -> io::Result<usize> {
        let BatchIo {
            state,
            buffers,
            metas,
        } = self;
        let mut recv = || {
            let mut slices = buffers
                .iter_mut()
                .map(|b| IoSliceMut::new(b))
                .collect::<Vec<_>>();
            state.recv(UdpSockRef::from(socket), &mut slices, metas)
        };
        let messages = match readiness {
            Readiness::AsReported => socket.try_io(Interest::READABLE, recv)?,
            Readiness::AskKernel => recv()?,
        };
        let mut datagrams = 0;
        for (meta, buffer) in metas.iter().zip(buffers.iter()).take(messages) {
            let received = &buffer[..meta.len.min(buffer.len())];
            let stride = if meta.stride == 0 {
                received.len().max(1)
            } else {
                meta.stride
            };
            for datagram in received.chunks(stride) {
                each(datagram, meta.addr);
                datagrams += 1;
            }
        }
        Ok(datagrams)
    }
}

/// Whether a receive trusts the runtime's record of the socket's readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Read only if the runtime has seen the socket readable since the last `WouldBlock` (no
    /// system call otherwise): the normal case, woken by the runtime.
    AsReported,
    /// Read whatever the runtime has seen: after the process did not run for a while, datagrams
    /// can wait in the socket that no `epoll_wait` has reported yet.
    AskKernel,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_batch_takes_equal_datagrams_and_one_shorter_last() {
        let mut batch = GsoBatch::new();
        let full = [1u8; 100];
        for _ in 0..3 {
            assert!(batch.fits(&full, addr(1), 64));
            batch.push(&full, addr(1));
        }
        assert!(
            !batch.fits(&[0u8; 101], addr(1), 64),
            "longer than the segment"
        );
        assert!(!batch.fits(&full, addr(2), 64), "another destination");
        assert!(batch.fits(&[2u8; 40], addr(1), 64));
        batch.push(&[2u8; 40], addr(1));
        assert!(
            !batch.fits(&[2u8; 40], addr(1), 64),
            "nothing after a short datagram"
        );
        let transmit = batch.transmit().unwrap();
        assert_eq!(transmit.segment_size, Some(100));
        assert_eq!(transmit.contents.len(), 340);
        let lens: Vec<usize> = batch.datagrams().map(<[u8]>::len).collect();
        assert_eq!(lens, [100, 100, 100, 40]);
        batch.clear();
        assert!(batch.is_empty());
        assert!(batch.transmit().is_none());
    }

    #[test]
    fn packets_serialise_into_the_batch_or_spill_whole() {
        use bytes::Bytes;
        use srt_protocol::packet::{
            DataEncryption, DataPacket, MsgNumber, PacketLocation, SeqNumber, SocketId,
        };
        let data = |len: usize, seq: u32| {
            Packet::Data(DataPacket {
                seq_number: SeqNumber::new_truncate(seq),
                message_loc: PacketLocation::ONLY,
                in_order_delivery: false,
                encryption: DataEncryption::None,
                retransmitted: false,
                message_number: MsgNumber::new_truncate(seq),
                timestamp: srt_protocol::packet::TimeStamp::from_micros(seq),
                dest_sockid: SocketId(7),
                payload: Bytes::from(vec![seq as u8; len]),
            })
        };
        let mut batch = GsoBatch::new();
        let mut spill = Vec::new();
        let mut reference = Vec::new();
        for seq in 0..3 {
            assert!(batch.push_packet(&data(1456, seq), addr(1), 64, &mut spill));
            crate::srt::wire::encode(&data(1456, seq), &mut reference);
            assert!(
                batch.bytes.ends_with(&reference),
                "the same bytes as encode()"
            );
        }
        assert_eq!(batch.segments, 3);
        assert_eq!(batch.segment_size, 1472);
        let before = batch.bytes.clone();
        assert!(!batch.push_packet(&data(1456, 3), addr(2), 64, &mut spill));
        crate::srt::wire::encode(&data(1456, 3), &mut reference);
        assert_eq!(
            spill, reference,
            "the datagram for another destination spilled whole"
        );
        assert_eq!(batch.bytes, before, "the batch unchanged");
        assert!(
            batch.push_packet(&data(100, 4), addr(1), 64, &mut spill),
            "a shorter last"
        );
        assert!(!batch.push_packet(&data(100, 5), addr(1), 64, &mut spill));
        assert_eq!(batch.segments, 4);
        assert_eq!(batch.bytes.len(), 3 * 1472 + 116);
    }

    #[test]
    fn a_batch_respects_the_segment_and_byte_limits() {
        let mut batch = GsoBatch::new();
        batch.push(&[0u8; 1472], addr(1));
        assert!(
            !batch.fits(&[0u8; 1472], addr(1), 1),
            "no GSO: one datagram per send"
        );
        while batch.fits(&[0u8; 1472], addr(1), 64) {
            batch.push(&[0u8; 1472], addr(1));
        }
        assert_eq!(batch.segments, MAX_GSO_BYTES / 1472);
        let single = {
            let mut b = GsoBatch::new();
            b.push(&[0u8; 10], addr(1));
            b
        };
        assert_eq!(single.transmit().unwrap().segment_size, None);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn batched_io_keeps_the_kernels_path_mtu_behaviour() {
        for local in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(socket) = bind(local.parse().unwrap(), 1 << 16) else {
                continue; // no IPv6 here
            };
            let before = PathMtuSettings::of(&socket);
            let _io = BatchIo::new(&socket).unwrap();
            let after = PathMtuSettings::of(&socket);
            assert_eq!(format!("{before:?}"), format!("{after:?}"), "{local}");
            assert!(
                before.ipv4.is_some() || before.ipv6.is_some(),
                "{local}: {before:?}"
            );
        }
    }

    #[tokio::test]
    async fn batched_datagrams_arrive_whole_and_in_order() {
        let a = bind(addr(0), 1 << 20).unwrap();
        let b = bind(addr(0), 1 << 20).unwrap();
        let to = b.local_addr().unwrap();
        let sender = BatchIo::new(&a).unwrap();
        let mut receiver = BatchIo::new(&b).unwrap();
        let mut batch = GsoBatch::new();
        let mut sent = Vec::new();
        // tokio knows the socket is writable only once asked: a first send may say WouldBlock.
        async fn send(io: &BatchIo, socket: &UdpSocket, batch: &GsoBatch) {
            loop {
                socket.writable().await.unwrap();
                match io.send(socket, batch) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    result => return result.unwrap(),
                }
            }
        }
        for i in 0..30u8 {
            let datagram = vec![i; if i == 29 { 17 } else { 1472 }];
            if !batch.fits(&datagram, to, sender.max_segments()) {
                send(&sender, &a, &batch).await;
                batch.clear();
            }
            batch.push(&datagram, to);
            sent.push(datagram);
        }
        send(&sender, &a, &batch).await;
        let mut received = Vec::new();
        let from = a.local_addr().unwrap();
        while received.len() < sent.len() {
            b.readable().await.unwrap();
            match receiver.receive(&b, Readiness::AsReported, |d, f| {
                assert_eq!(f, from);
                received.push(d.to_vec());
            }) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(received, sent);
    }

    #[tokio::test]
    async fn bind_reports_the_address_on_failure() {
        let first = bind("127.0.0.1:0".parse().unwrap(), 1 << 20).unwrap();
        let taken = first.local_addr().unwrap();
        let err = bind(taken, 1 << 20).unwrap_err();
        assert!(err.to_string().contains(&taken.to_string()), "{err}");
    }
}
