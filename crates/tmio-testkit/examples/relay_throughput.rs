//! How fast can a pass-through `LossyUdpRelay` forward? Sends 1316-byte datagrams at several
//! paced rates through a relay on loopback and prints what arrived. Bounded: 1 s per rate.
//!
//! `cargo run --release -p tmio-testkit --example relay_throughput`

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use tmio_testkit::{LossyUdpRelay, RelayConfig};

const PAYLOAD: usize = 1316;
const SECONDS: f64 = 1.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    for mbit in [50u64, 100, 200, 400, 800] {
        let receiver = UdpSocket::bind("127.0.0.1:0")?;
        let sock = socket2::SockRef::from(&receiver);
        sock.set_recv_buffer_size(8 << 20)?;
        receiver.set_read_timeout(Some(Duration::from_millis(300)))?;
        let relay = runtime.block_on(LossyUdpRelay::start(RelayConfig::new(
            receiver.local_addr()?,
        )))?;
        let target = relay.local_addr();
        let count = (mbit as f64 * 1e6 / 8.0 / PAYLOAD as f64 * SECONDS) as u64;
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut got = 0u64;
            while receiver.recv_from(&mut buf).is_ok() {
                got += 1;
            }
            got
        });
        let sender = UdpSocket::bind("127.0.0.1:0")?;
        let payload = [0u8; PAYLOAD];
        let interval = Duration::from_secs_f64(SECONDS / count as f64);
        let start = Instant::now();
        for i in 0..count {
            let due = interval * i as u32;
            while start.elapsed() < due {
                std::hint::spin_loop();
            }
            let _ = sender.send_to(&payload, target);
        }
        let sent_in = start.elapsed();
        let got = reader.join().map_err(|_| "reader panicked")?;
        let stats = runtime.block_on(relay.shutdown());
        println!(
            "{mbit:>4} Mbit/s offered ({count} datagrams in {:.2} s): relay received {}, forwarded {}, arrived {} ({:.2} % lost)",
            sent_in.as_secs_f64(),
            stats.to_upstream.received_packets,
            stats.to_upstream.forwarded_packets,
            got,
            100.0 * (count - got.min(count)) as f64 / count as f64
        );
    }
    Ok(())
}
