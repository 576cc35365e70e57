//! N proxies in one process through the `TmioProxy` facade, for `benches/sessions.sh`.
//!
//! ```text
//! facade-sessions remote=srt://HOST:PORT sessions=N [opt=NAME=VALUE]... [hold=SECONDS]
//! ```
//!
//! Starts N facades calling `remote` (each with its own local port on 127.0.0.1), prints
//! `ports P1,P2,…` on stdout once all have started, then waits until stdin is closed (the script
//! closes it once its sink has every stream) or `hold` seconds (default 600) have passed, stops
//! every proxy (each flushes what its pusher sent) and prints the summed SRT statistics:
//! `facade sessions=N bytes_sent=… bytes_retransmitted=… packets_sent=… packets_retransmitted=…`.
use std::{
    io::Read as _,
    process::ExitCode,
    sync::{mpsc, Arc, Mutex},
    time::Duration,
};

use tmio_proxy::{Error, ErrorType, Tmio, TmioProxy, TmioProxyListener};

struct Callbacks {
    options: Vec<(String, String)>,
    started: Mutex<mpsc::Sender<u16>>,
}

impl TmioProxyListener for Callbacks {
    fn on_tmio_config(&self, tmio: &mut Tmio) {
        for (name, value) in &self.options {
            if let Err(error) = tmio.set_option(name, value) {
                eprintln!("facade-sessions: option {name}={value} refused: {error}");
            }
        }
    }

    fn on_start(&self, _local_addr: &str, local_port: u16) {
        if let Ok(started) = self.started.lock() {
            let _ = started.send(local_port);
        }
    }

    fn on_error(&self, error_type: ErrorType, error: &Error) {
        eprintln!("facade-sessions: proxy failed ({error_type:?} side): {error}");
    }
}

fn run() -> Result<(), String> {
    let mut remote = None;
    let mut sessions = 0usize;
    let mut hold = 600.0f64;
    let mut options = Vec::new();
    for arg in std::env::args().skip(1) {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(format!("{arg}: expected KEY=VALUE"));
        };
        match key {
            "remote" => remote = Some(value.to_owned()),
            "sessions" => sessions = value.parse().map_err(|_| format!("sessions={value}"))?,
            "hold" => hold = value.parse().map_err(|_| format!("hold={value}"))?,
            "opt" => {
                let (name, v) = value
                    .split_once('=')
                    .ok_or_else(|| format!("opt={value}: expected NAME=VALUE"))?;
                options.push((name.to_owned(), v.to_owned()));
            }
            _ => return Err(format!("unknown argument {key}")),
        }
    }
    let remote = remote.ok_or("remote= is required")?;
    if sessions == 0 || sessions > 2000 || !(hold > 0.0 && hold < 86_400.0) {
        return Err(format!("sessions={sessions} hold={hold}: out of range"));
    }
    let mut proxies = Vec::with_capacity(sessions);
    let mut ports = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let (started, report) = mpsc::channel();
        let proxy = TmioProxy::create();
        proxy.set_listener(Arc::new(Callbacks {
            options: options.clone(),
            started: Mutex::new(started),
        }));
        proxy
            .start("tcp://127.0.0.1:0", &remote, None)
            .map_err(|e| format!("proxy {i}: start: {e}"))?;
        let port = report
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| format!("proxy {i}: no on_start within 10 s"))?;
        ports.push(port.to_string());
        proxies.push(proxy);
    }
    println!("ports {}", ports.join(","));
    // Wait for stdin to close, at most `hold` seconds.
    let (closed, stdin_closed) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = [0u8; 256];
        while let Ok(n) = std::io::stdin().read(&mut sink) {
            if n == 0 {
                break;
            }
        }
        let _ = closed.send(());
    });
    let _ = stdin_closed.recv_timeout(Duration::from_secs_f64(hold));
    let (mut bytes, mut retx_bytes, mut packets, mut retx_packets) = (0u64, 0u64, 0u64, 0u64);
    for proxy in &proxies {
        if let Some(stats) = proxy.stats() {
            bytes += stats.bytes_sent;
            retx_bytes += stats.bytes_retransmitted;
            packets += stats.packets_sent;
            retx_packets += stats.packets_retransmitted;
        }
    }
    for proxy in &proxies {
        proxy.stop();
    }
    println!(
        "facade sessions={sessions} bytes_sent={bytes} bytes_retransmitted={retx_bytes} packets_sent={packets} packets_retransmitted={retx_packets}"
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("facade-sessions: {e}");
            ExitCode::FAILURE
        }
    }
}
