//! What `RUST_LOG=tmio_transport=trace` (or `-vv`) shows of a session: handshake steps,
//! retransmission bursts and timeouts, NAKs, and path events, each with fields. Its own test
//! binary: it installs the process's log subscriber.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use srt_protocol::packet::SocketId;
use tmio_transport::sim::{connection_config, transfer, NetworkConfig, Simulation};
use tmio_transport::srt::connection::{DeliveryMode, GroupMode, PathConfig, PathId};
use tmio_transport::srt::{ConnectMode, SrtConfig, SrtListener, SrtStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn a_session_logs_its_handshake_retransmissions_and_path_changes() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("tmio_transport=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    // Handshake steps: a caller and a listener on loopback.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), SrtConfig::default())
            .await
            .unwrap();
        let addr = listener.local_addr();
        let server = tokio::spawn(async move {
            let mut stream = listener.accept().await.unwrap();
            let mut got = Vec::new();
            stream.read_to_end(&mut got).await.unwrap();
            got.len()
        });
        let mut stream = SrtStream::connect(addr, ConnectMode::Caller, &SrtConfig::default())
            .await
            .unwrap();
        stream.write_all(b"hello").await.unwrap();
        stream.shutdown().await.unwrap();
        assert_eq!(server.await.unwrap(), 5);
    });
    let log = captured.text();
    for step in [
        "step=\"induction\"",
        "induction answered",
        "step=\"conclusion\"",
        "handshake done",
        "caller waiting for the application",
    ] {
        assert!(log.contains(step), "no {step:?} in:\n{log}");
    }

    // Retransmissions: 10 % loss.
    let report = transfer(
        3,
        NetworkConfig {
            loss: 0.10,
            ..NetworkConfig::default()
        },
        2_000_000,
        0,
        Duration::from_secs(60),
    );
    assert!(report.complete(), "{report:?}");
    let log = captured.text();
    assert!(log.contains("NAK received"), "{log}");
    assert!(log.contains("NAK report sent"), "{log}");
    assert!(
        log.contains("retransmission burst") || log.contains("retransmission timeout"),
        "{log}"
    );

    // Path changes: a backup group whose active path goes silent.
    let start = Instant::now();
    let left = connection_config(1, 2, DeliveryMode::Reliable, start);
    let right = connection_config(2, 1, DeliveryMode::Reliable, start);
    let mut simulation = Simulation::new(1, NetworkConfig::default(), left, right, start);
    let member = |local, remote| PathConfig {
        local_socket_id: SocketId(local),
        remote_socket_id: SocketId(remote),
        peer_flow_window: 8192,
        weight: 0,
    };
    simulation.add_path(NetworkConfig::default(), member(3, 4), member(4, 3));
    simulation.left.set_path_weight(start, PathId::FIRST, 100);
    simulation.left.set_group_mode(start, GroupMode::Backup);
    simulation.right.set_group_mode(start, GroupMode::Backup);
    simulation.set_path_network(
        PathId::FIRST,
        NetworkConfig {
            loss: 1.0,
            ..NetworkConfig::default()
        },
    );
    let mut written = 0;
    simulation.run(Duration::from_secs(2), |now, left, _right| {
        if written < 100_000 {
            written += left.write(now, &[7u8; 1000]).unwrap_or(0);
        }
        tmio_transport::sim::AppStep {
            done: false,
            wake_at: Some(now + Duration::from_millis(5)),
        }
    });
    let log = captured.text();
    for event in ["Added(PathId(1))", "Unstable", "Activated(PathId(1))"] {
        assert!(log.contains(event), "no {event:?} in:\n{log}");
    }
}
