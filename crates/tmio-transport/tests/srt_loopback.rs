//! SRT over loopback, tmio to tmio: bytes arrive exactly, in order, both ways, plain and
//! encrypted; wrong secrets and rejections give clear errors on both sides.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::Duration;
use tmio_transport::srt::RateControl;

use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tmio_transport::{
    srt::{ConnectMode, RejectReason, ServerRejectReason, SrtConfig, SrtListener, SrtStream},
    Error, Side,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

fn fast_config() -> SrtConfig {
    SrtConfig {
        rate_control: RateControl::UNCAPPED,
        ..SrtConfig::default()
    }
}

/// Sends `up` from caller to listener and `down` back at the same time, checks both by sha256.
async fn exchange(caller_config: SrtConfig, listener_config: SrtConfig, up: usize, down: usize) {
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), listener_config)
        .await
        .unwrap();
    let addr = listener.local_addr();
    let up_data = payload(up, 1);
    let down_data = payload(down, 2);
    let (up_copy, down_copy) = (up_data.clone(), down_data.clone());
    let server = tokio::spawn(async move {
        let stream = listener.accept().await.unwrap();
        let (mut reader, mut writer) = tokio::io::split(stream);
        let send = tokio::spawn(async move {
            writer.write_all(&down_copy).await.unwrap();
            writer
        });
        let mut got = Vec::new();
        reader.read_to_end(&mut got).await.unwrap();
        let writer = send.await.unwrap();
        drop(writer);
        got
    });
    let stream = SrtStream::connect(addr, ConnectMode::Caller, &caller_config)
        .await
        .unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let receive = tokio::spawn(async move {
        let mut got = vec![0u8; down];
        reader.read_exact(&mut got).await.unwrap();
        got
    });
    writer.write_all(&up_copy).await.unwrap();
    let got_down = receive.await.unwrap();
    writer.shutdown().await.unwrap();
    let got_up = server.await.unwrap();
    assert_eq!(got_up.len(), up_data.len());
    assert_eq!(Sha256::digest(&got_up), Sha256::digest(&up_data));
    assert_eq!(Sha256::digest(&got_down), Sha256::digest(&down_data));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_both_directions() {
    let config = fast_config();
    tokio::time::timeout(
        Duration::from_secs(60),
        exchange(config.clone(), config, 8 << 20, 2 << 20),
    )
    .await
    .expect("transfer finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_at_the_preset_rate() {
    // The rtmp preset's 20 Mbit/s cap: 1 MB takes ~0.4 s.
    let config = SrtConfig::default();
    tokio::time::timeout(
        Duration::from_secs(30),
        exchange(config.clone(), config, 1 << 20, 64 << 10),
    )
    .await
    .expect("transfer finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aes_128_and_256() {
    for key_length in [16u8, 32] {
        let config = SrtConfig {
            passphrase: Some("tmio-secret-passphrase".into()),
            key_length,
            ..fast_config()
        };
        tokio::time::timeout(
            Duration::from_secs(60),
            exchange(config.clone(), config, 2 << 20, 256 << 10),
        )
        .await
        .expect("transfer finished in time");
    }
}

/// Rendezvous runs srt-protocol's handshake; its keys become tmio's cipher by wrapping and
/// unwrapping them. Both sides send at once, then read what the other sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_rendezvous_both_directions() {
    let sockets: Vec<std::net::UdpSocket> = (0..2)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let addrs: Vec<_> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    let config = SrtConfig {
        passphrase: Some("tmio-rendezvous-passphrase".into()),
        key_length: 32,
        ..fast_config()
    };
    let data = [payload(1 << 20, 3), payload(1 << 20, 4)];
    let mut sides = Vec::new();
    for (index, socket) in sockets.into_iter().enumerate() {
        let (config, remote) = (config.clone(), addrs[1 - index]);
        let (mine, theirs) = (data[index].clone(), data[1 - index].clone());
        sides.push(tokio::spawn(async move {
            let stream =
                SrtStream::connect_with_socket(socket, remote, ConnectMode::Rendezvous, &config)
                    .await
                    .unwrap();
            let (mut reader, mut writer) = tokio::io::split(stream);
            let send = tokio::spawn(async move {
                writer.write_all(&mine).await.unwrap();
                writer
            });
            let mut got = vec![0u8; theirs.len()];
            reader.read_exact(&mut got).await.unwrap();
            let _writer = send.await.unwrap();
            assert_eq!(
                Sha256::digest(&got),
                Sha256::digest(&theirs),
                "side {index}"
            );
        }));
    }
    tokio::time::timeout(Duration::from_secs(60), async {
        for side in sides {
            side.await.unwrap();
        }
    })
    .await
    .expect("both sides finished in time");
}

#[tokio::test]
async fn wrong_passphrase_is_rejected_on_both_sides() {
    let listener_config = SrtConfig {
        passphrase: Some("the-right-passphrase".into()),
        ..fast_config()
    };
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), listener_config)
        .await
        .unwrap();
    let addr = listener.local_addr();
    // The listener checks the caller's key before the application hears of it.
    let server = tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(3), listener.next_request())
            .await
            .is_err()
    });
    let caller_config = SrtConfig {
        passphrase: Some("a-wrong-passphrase".into()),
        connect_timeout: Duration::from_secs(2),
        ..fast_config()
    };
    let err = SrtStream::connect(addr, ConnectMode::Caller, &caller_config)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected { code: 1010, .. }), "{err}");
    assert_eq!(err.side(), Side::Remote);
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    assert!(
        server.await.unwrap(),
        "a caller with a wrong passphrase reached the application"
    );
}

#[tokio::test]
async fn passphrase_on_one_side_only_is_refused() {
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), fast_config())
        .await
        .unwrap();
    let addr = listener.local_addr();
    tokio::spawn(async move {
        while let Ok(request) = listener.next_request().await {
            let _ = request.accept(None).await;
        }
    });
    let caller_config = SrtConfig {
        passphrase: Some("only-the-caller-has-one".into()),
        connect_timeout: Duration::from_secs(2),
        ..fast_config()
    };
    let err = SrtStream::connect(addr, ConnectMode::Caller, &caller_config)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected { code: 1011, .. }), "{err}");
}

#[tokio::test]
async fn listener_sees_stream_id_and_rejects_with_a_reason() {
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), fast_config())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let server = tokio::spawn(async move {
        let request = listener.next_request().await.unwrap();
        let seen = (request.stream_id().map(str::to_owned), request.peer_addr());
        request.reject(RejectReason::Server(ServerRejectReason::Notfound));
        seen
    });
    let caller_config = SrtConfig {
        stream_id: Some("#!::r=live/missing,m=publish".into()),
        connect_timeout: Duration::from_secs(2),
        ..fast_config()
    };
    let err = SrtStream::connect(addr, ConnectMode::Caller, &caller_config)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected { code: 2404, .. }), "{err}");
    assert!(err.to_string().contains("not found"), "{err}");
    let (stream_id, peer) = server.await.unwrap();
    assert_eq!(stream_id.as_deref(), Some("#!::r=live/missing,m=publish"));
    assert!(peer.is_some());
}

#[tokio::test]
async fn many_sessions_on_one_listener_port() {
    let mut listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), fast_config())
        .await
        .unwrap();
    let addr = listener.local_addr();
    let server = tokio::spawn(async move {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let request = listener.next_request().await.unwrap();
            let id = request.stream_id().unwrap_or_default().to_owned();
            let mut stream = request.accept(None).await.unwrap();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                stream.read_to_end(&mut got).await.unwrap();
                (id, got)
            }));
        }
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    });
    let mut callers = Vec::new();
    for i in 0..8u64 {
        callers.push(tokio::spawn(async move {
            let config = SrtConfig {
                stream_id: Some(format!("#!::r=live/{i}")),
                ..fast_config()
            };
            let mut stream = SrtStream::connect(addr, ConnectMode::Caller, &config)
                .await
                .unwrap();
            stream.write_all(&payload(100_000, i)).await.unwrap();
            stream.shutdown().await.unwrap();
        }));
    }
    for caller in callers {
        caller.await.unwrap();
    }
    let results = tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(results.len(), 8);
    for (id, got) in results {
        let i: u64 = id.trim_start_matches("#!::r=live/").parse().unwrap();
        assert_eq!(got, payload(100_000, i), "session {id}");
    }
}

#[tokio::test]
async fn connect_to_nobody_times_out_naming_the_address() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let config = SrtConfig {
        connect_timeout: Duration::from_millis(500),
        ..fast_config()
    };
    let err = SrtStream::connect(addr, ConnectMode::Caller, &config)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConnectTimeout { .. }), "{err}");
    assert!(err.to_string().contains(&addr.to_string()));
}

/// `net.core.NAME`, the kernel's cap on what a socket may ask for.
fn kernel_cap(name: &str) -> usize {
    std::fs::read_to_string(format!("/proc/sys/net/core/{name}"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_listener_reports_the_udp_buffers_it_asked_for_and_got() {
    for asked in [1usize << 16, 1 << 30] {
        let config = SrtConfig {
            udp_buffer_bytes: asked,
            ..SrtConfig::default()
        };
        let listener = SrtListener::bind("127.0.0.1:0".parse().unwrap(), config)
            .await
            .unwrap();
        let buffers = listener.udp_buffers().unwrap();
        assert_eq!(buffers.asked, asked);
        // 64 KiB is below any kernel's cap; 1 GiB above it.
        let expected = (
            asked.min(kernel_cap("rmem_max")),
            asked.min(kernel_cap("wmem_max")),
        );
        assert_eq!((buffers.receive, buffers.send), expected, "{buffers:?}");
        assert_eq!(buffers.capped(), asked == 1 << 30, "{buffers:?}");
    }
}
