//! Shared pieces of the proxy tests: a TCP sink standing in for the RTMP server, a gateway in
//! front of it, and a facade listener that records its callbacks.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::{
    net::SocketAddr,
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use tmio_proxy::{Error, ErrorType, Gateway, RunningGateway, Tmio, TmioProxyListener};
use tokio::{io::AsyncReadExt, net::TcpListener, sync::mpsc as tmpsc};

/// A TCP server that reads each connection to its end and reports the bytes.
pub struct Sink {
    pub addr: SocketAddr,
    pub received: tmpsc::UnboundedReceiver<Vec<u8>>,
}

pub async fn sink() -> Sink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, received) = tmpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let _ = socket.read_to_end(&mut got).await;
                let _ = tx.send(got);
            });
        }
    });
    Sink { addr, received }
}

/// A gateway on a free loopback port in front of `upstream`, with extra options.
pub async fn gateway(upstream: SocketAddr, options: &[(&str, &str)]) -> RunningGateway {
    let mut builder = Gateway::builder("srt://127.0.0.1:0")
        .unwrap()
        .upstream(&format!("tcp://{upstream}"))
        .unwrap();
    for (name, value) in options {
        builder = builder.option(name, value).unwrap();
    }
    builder.start().await.unwrap()
}

/// What a facade listener saw.
#[derive(Debug)]
pub enum Seen {
    Started(String, u16),
    Error(ErrorType, String),
}

/// A listener that forwards callbacks to a channel and applies options in on_tmio_config.
pub struct Recorder {
    pub options: Vec<(String, String)>,
    pub seen: Mutex<mpsc::Sender<Seen>>,
}

impl TmioProxyListener for Recorder {
    fn on_tmio_config(&self, tmio: &mut Tmio) {
        for (name, value) in &self.options {
            tmio.set_option(name, value).unwrap();
        }
    }
    fn on_start(&self, local_addr: &str, local_port: u16) {
        let _ = self
            .seen
            .lock()
            .unwrap()
            .send(Seen::Started(local_addr.to_owned(), local_port));
    }
    fn on_error(&self, error_type: ErrorType, error: &Error) {
        let _ = self
            .seen
            .lock()
            .unwrap()
            .send(Seen::Error(error_type, error.to_string()));
    }
}

pub fn recorder(options: &[(&str, &str)]) -> (Arc<Recorder>, mpsc::Receiver<Seen>) {
    let (tx, rx) = mpsc::channel();
    let recorder = Arc::new(Recorder {
        options: options
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        seen: Mutex::new(tx),
    });
    (recorder, rx)
}

/// Waits (bounded) for the next callback.
pub fn next_seen(rx: &mpsc::Receiver<Seen>, within: Duration) -> Seen {
    rx.recv_timeout(within)
        .unwrap_or_else(|_| panic!("no callback within {within:?}"))
}

pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut data = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

/// A sink, a gateway in front of it, and a started facade proxy calling it (on its own runtime).
pub struct StartedProxy {
    pub rt: tokio::runtime::Runtime,
    pub sink: Sink,
    pub gateway: RunningGateway,
    pub proxy: tmio_proxy::TmioProxy,
    pub seen: mpsc::Receiver<Seen>,
    /// The local port `on_start` reported.
    pub ip: String,
    pub port: u16,
}

/// Starts a sink, a gateway and a facade proxy with `options` set in `on_tmio_config`; the
/// remote URL gets `remote_query` appended (e.g. `?streamid=…`). Waits for `on_start`.
pub fn started_proxy(options: &[(&str, &str)], remote_query: &str) -> StartedProxy {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sink, gateway) = rt.block_on(async {
        let sink = sink().await;
        let gateway = gateway(sink.addr, &[]).await;
        (sink, gateway)
    });
    let proxy = tmio_proxy::TmioProxy::create();
    let (listener, seen) = recorder(options);
    proxy.set_listener(listener);
    let remote = format!("srt://{}{remote_query}", gateway.local_addr());
    proxy.start("tcp://127.0.0.1:0", &remote, None).unwrap();
    let Seen::Started(ip, port) = next_seen(&seen, Duration::from_secs(5)) else {
        panic!("expected on_start first")
    };
    StartedProxy {
        rt,
        sink,
        gateway,
        proxy,
        seen,
        ip,
        port,
    }
}

impl StartedProxy {
    /// The next connection the sink saw to its end (bounded wait).
    pub fn next_received(&mut self, within: Duration) -> Vec<u8> {
        let received = &mut self.sink.received;
        self.rt
            .block_on(async { tokio::time::timeout(within, received.recv()).await })
            .unwrap_or_else(|_| panic!("nothing reached the server within {within:?}"))
            .unwrap()
    }
}
