//! The blocking facade, as an SDK user calls it: create a `TmioProxy`, set a listener, `start`
//! (it returns once SRT is connected), push bytes into the local port, read the statistics,
//! `stop`.
//!
//! Self-contained on loopback: a TCP server stands in for the RTMP server, behind tmio's gateway.
//!
//! ```sh
//! cargo run -p tmio-proxy --example facade
//! ```

use std::{
    error::Error as StdError,
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use tmio_proxy::{Error, ErrorType, Gateway, Tmio, TmioProxy, TmioProxyListener};

/// Bytes the example pushes.
const PAYLOAD_BYTES: usize = 256 * 1024;

/// The SDK-style callbacks: set options, learn the local port, hear about failures.
struct Callbacks {
    started: Mutex<mpsc::Sender<(String, u16)>>,
}

impl TmioProxyListener for Callbacks {
    fn on_tmio_config(&self, tmio: &mut Tmio) {
        // Options by SDK name, libsrt URI key or SRTO_ name, as the reference SDK takes them.
        if let Err(error) = tmio.set_option("SRTO_CONNTIMEO", "5000") {
            eprintln!("option refused: {error}");
        }
    }

    fn on_start(&self, local_addr: &str, local_port: u16) {
        if let Ok(started) = self.started.lock() {
            let _ = started.send((local_addr.to_owned(), local_port));
        }
    }

    fn on_error(&self, error_type: ErrorType, error: &Error) {
        eprintln!("proxy failed ({error_type:?} side): {error}");
    }
}

fn main() -> Result<(), Box<dyn StdError>> {
    // The far side: a TCP "RTMP server" and tmio's gateway in front of it. The gateway is part
    // of the async API, so it gets a runtime of its own here.
    let server = TcpListener::bind("127.0.0.1:0")?;
    let upstream = format!("tcp://{}", server.local_addr()?);
    let runtime = tokio::runtime::Runtime::new()?;
    let mut gateway = runtime.block_on(async {
        Gateway::builder("srt://127.0.0.1:0")?
            .upstream(&upstream)?
            .start()
            .await
    })?;
    let remote = format!("srt://{}?streamid=#!::r=live/example", gateway.local_addr());
    let server_thread = std::thread::spawn(move || -> std::io::Result<usize> {
        let (mut stream, _) = server.accept()?;
        let mut received = Vec::new();
        stream.read_to_end(&mut received)?;
        Ok(received.len())
    });

    // The near side: the facade. `start` blocks until the SRT handshake is done (or fails after
    // the connect timeout), then calls `on_start` with the local port.
    let (started, start_report) = mpsc::channel();
    let proxy = TmioProxy::create();
    proxy.set_listener(Arc::new(Callbacks {
        started: Mutex::new(started),
    }));
    proxy.start("tcp://127.0.0.1:0", &remote, None)?;
    let (ip, port) = start_report.recv_timeout(Duration::from_secs(5))?;
    println!("proxy listening on {ip}:{port}, connected to {remote}");

    // The "encoder": writes its stream into the local port and closes it.
    let mut pusher = TcpStream::connect((ip.as_str(), port))?;
    let payload: Vec<u8> = (0..PAYLOAD_BYTES).map(|i| (i % 251) as u8).collect();
    pusher.write_all(&payload)?;
    drop(pusher);

    let received = server_thread
        .join()
        .map_err(|_| "the server thread panicked")??;
    if let Some(stats) = proxy.stats() {
        println!(
            "sent {} payload bytes in {} packets, {} retransmitted",
            stats.bytes_sent, stats.packets_sent, stats.packets_retransmitted
        );
    }
    proxy.stop();
    runtime.block_on(gateway.stop());
    println!("the server received {received} of {PAYLOAD_BYTES} bytes");
    if received == PAYLOAD_BYTES {
        Ok(())
    } else {
        Err("bytes missing at the server".into())
    }
}
