//! Helpers shared by the namespace tests: a counting UDP receiver and a paced sender, each run
//! inside one side of a namespace pair, on one of its links.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use tmio_testkit::{NetnsLinks, Side};
use tokio::net::UdpSocket;
use tokio::time::timeout;

pub const PORT: u16 = 40_000;
const WARM_UP: &[u8] = b"warm-up";

/// Starts a receiver in `side` on `PORT` of link `index`'s address; it counts datagrams (warm-ups
/// aside) until `expected` arrived or nothing came for `quiet`. Returns once the socket is bound.
pub fn spawn_receiver(
    links: &NetnsLinks,
    index: usize,
    side: Side,
    expected: u64,
    quiet: Duration,
) -> std::thread::JoinHandle<Result<(u64, u64), tmio_testkit::Error>> {
    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
    let addr = SocketAddr::from((links.link(index).unwrap().addr(side), PORT));
    let handle = links
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

/// Sends `count` datagrams of `size` bytes from `side` over link `index` to the peer's `PORT`,
/// after a warm-up datagram that resolves ARP; `pause_every` datagrams it sleeps 1 ms (0:
/// never). Send errors (a link that is down, a full qdisc) count as drops.
pub fn send_from(
    links: &NetnsLinks,
    index: usize,
    side: Side,
    count: u64,
    size: usize,
    pause_every: u64,
) {
    let veth = links.link(index).unwrap();
    let to = SocketAddr::from((veth.addr(side.peer()), PORT));
    let from = SocketAddr::from((veth.addr(side), 0));
    links
        .run_in(side, move || async move {
            let socket = UdpSocket::bind(from).await.unwrap();
            let _ = socket.send_to(WARM_UP, to).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let payload = vec![0x5a; size];
            for i in 0..count {
                // A full qdisc may refuse a datagram (ENOBUFS), a downed link has no route: drops.
                let _ = socket.send_to(&payload, to).await;
                if pause_every > 0 && i % pause_every == pause_every - 1 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
        .unwrap();
}
