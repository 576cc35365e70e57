//! The async API: build and start a proxy inside a tokio runtime, follow its events, push bytes,
//! wait for the end and read what moved.
//!
//! Self-contained on loopback: a TCP server stands in for the RTMP server, behind tmio's gateway.
//!
//! ```sh
//! cargo run -p tmio-proxy --example async_proxy
//! ```

use std::error::Error as StdError;

use tmio_proxy::{Gateway, Preset, Proxy, ProxyEvent};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};

/// Bytes the example pushes.
const PAYLOAD_BYTES: usize = 256 * 1024;

// The async API needs a tokio runtime with I/O and time enabled; `#[tokio::main]` enables all.
#[tokio::main]
async fn main() -> Result<(), Box<dyn StdError>> {
    // The far side: a TCP "RTMP server" and tmio's gateway in front of it.
    let server = TcpListener::bind("127.0.0.1:0").await?;
    let upstream = format!("tcp://{}", server.local_addr()?);
    let mut gateway = Gateway::builder("srt://127.0.0.1:0")?
        .upstream(&upstream)?
        .start()
        .await?;
    let remote = format!("srt://{}?streamid=#!::r=live/example", gateway.local_addr());
    let server_task = tokio::spawn(async move {
        let (mut stream, _) = server.accept().await?;
        let mut received = Vec::new();
        stream.read_to_end(&mut received).await?;
        Ok::<usize, std::io::Error>(received.len())
    });

    // `start` returns once the SRT connection is up (or fails after the connect timeout).
    let mut proxy = Proxy::builder("tcp://127.0.0.1:0", &remote)?
        .preset(Preset::Rtmp)?
        .option("conntimeo", "5000")?
        .start()
        .await?;
    println!(
        "proxy listening on {}, connected to {remote}",
        proxy.local_addr()
    );

    let mut pusher = TcpStream::connect(proxy.local_addr()).await?;
    let payload: Vec<u8> = (0..PAYLOAD_BYTES).map(|i| (i % 251) as u8).collect();
    pusher.write_all(&payload).await?;
    pusher.shutdown().await?;
    drop(pusher);

    while let Some(event) = proxy.next_event().await {
        match event {
            ProxyEvent::ClientConnected { peer } => println!("pusher connected from {peer}"),
            ProxyEvent::Finished(_) | ProxyEvent::Failed(_) => break,
            other => println!("event: {other:?}"),
        }
    }
    let moved = proxy.wait().await?;
    let received = server_task.await??;
    let stats = proxy.stats();
    println!(
        "moved {} bytes to the remote; {} packets sent, {} retransmitted",
        moved.local_to_remote, stats.packets_sent, stats.packets_retransmitted
    );
    gateway.stop().await;
    println!("the server received {received} of {PAYLOAD_BYTES} bytes");
    if received == PAYLOAD_BYTES {
        Ok(())
    } else {
        Err("bytes missing at the server".into())
    }
}
