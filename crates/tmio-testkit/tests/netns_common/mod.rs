//! Helpers shared by the namespace tests: a counting UDP receiver and a paced sender, each run
//! inside one side of a link.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use tmio_testkit::{NetnsLink, Side};
use tokio::net::UdpSocket;
use tokio::time::timeout;

pub const PORT: u16 = 40_000;
const WARM_UP: &[u8] = b"warm-up";

/// Starts a receiver in `side` on `PORT`; it counts datagrams (warm-ups aside) until `expected`
/// arrived or nothing came for `quiet`. Returns once the socket is bound.
pub fn spawn_receiver(
    link: &NetnsLink,
    side: Side,
    expected: u64,
    quiet: Duration,
) -> std::thread::JoinHandle<Result<(u64, u64), tmio_testkit::Error>> {
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let addr = SocketAddr::from((link.addr(side), PORT));
    let handle = link
        .enter_on_thread(side, move || async move {
            let socket = UdpSocket::bind(addr).await.unwrap();
            ready_tx.send(()).unwrap();
            let (mut count, mut bytes) = (0u64, 0u64);
            let mut buf = vec![0u8; 65_536];
            while count < expected {
                match timeout(quiet, socket.recv_from(&mut buf)).await {
                    Ok(Ok((len, _))) if &buf[..len] == WARM_UP => {}
                    Ok(Ok((len, _))) => {
                        count += 1;
                        bytes += len as u64;
                    }
                    _ => break,
                }
            }
            (count, bytes)
        })
        .unwrap();
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    handle
}

/// Sends `count` datagrams of `size` bytes from `side` to the peer's `PORT`, after a warm-up
/// datagram that resolves ARP; `pause_every` datagrams it sleeps 1 ms (0: never).
pub fn send_from(link: &NetnsLink, side: Side, count: u64, size: usize, pause_every: u64) {
    let to = SocketAddr::from((link.addr(side.peer()), PORT));
    let from = SocketAddr::from((link.addr(side), 0));
    link.run_in(side, move || async move {
        let socket = UdpSocket::bind(from).await.unwrap();
        socket.send_to(WARM_UP, to).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let payload = vec![0x5a; size];
        for i in 0..count {
            // A full qdisc may refuse a datagram (ENOBUFS): that is a drop, like on a wire.
            let _ = socket.send_to(&payload, to).await;
            if pause_every > 0 && i % pause_every == pause_every - 1 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    })
    .unwrap();
}
