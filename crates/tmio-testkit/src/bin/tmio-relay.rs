//! `tmio-relay`: the lossy UDP relay as a command, for shell benchmarks.
//!
//! `tmio-relay --listen 127.0.0.1:P --upstream 127.0.0.1:Q --loss 0.1 --delay-ms 20 --jitter-ms 5
//! --seed 7 [--seconds N]`; `--help` lists every option. Prints the bound address on start and the
//! final counters on exit (after `--seconds` or Ctrl-C).

use std::process::ExitCode;

use tmio_testkit::relay_args::{parse_relay_args, USAGE};
use tmio_testkit::{DirectionStats, LossyUdpRelay};

fn describe(name: &str, s: &DirectionStats) -> String {
    format!(
        "{name}: received={} forwarded={} forwarded_bytes={} dropped={} (random={} burst={} \
         blackout={} queue={} overflow={}) duplicated={} reordered={} send_errors={}",
        s.received_packets,
        s.forwarded_packets,
        s.forwarded_bytes,
        s.dropped(),
        s.dropped_random,
        s.dropped_burst,
        s.dropped_blackout,
        s.dropped_queue,
        s.dropped_overflow,
        s.duplicated,
        s.reordered,
        s.send_errors
    )
}

fn main() -> ExitCode {
    let args = match parse_relay_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("tmio-relay: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tmio-relay: cannot start runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let relay = match LossyUdpRelay::start(args.config.clone()).await {
            Ok(relay) => relay,
            Err(error) => {
                eprintln!("tmio-relay: {error}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "listening {} upstream {}",
            relay.local_addr(),
            args.config.upstream
        );
        match args.seconds {
            Some(limit) => {
                tokio::select! {
                    _ = tokio::time::sleep(limit) => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        let stats = relay.shutdown().await;
        println!("{}", describe("to_upstream", &stats.to_upstream));
        println!("{}", describe("to_client", &stats.to_client));
        println!(
            "ignored={} receive_errors={}",
            stats.ignored_datagrams, stats.receive_errors
        );
        ExitCode::SUCCESS
    })
}
