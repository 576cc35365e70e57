//! The `tmio` binary: parse the command line, set up logging (stderr, `RUST_LOG` filter,
//! default `info`) and a tokio runtime, run the subcommand, map its result to an exit status.

use std::{io::IsTerminal as _, process::ExitCode};

use clap::Parser;
use tmio::{stats_view::LineClearingWriter, Cli, Command, CommandError, EXIT_RUNTIME};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Url(args) = &cli.command {
        return tmio::url_cmd::run(args);
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let terminal = std::io::stderr().is_terminal();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal);
    if terminal {
        logs.with_writer(|| LineClearingWriter::new(std::io::stderr()))
            .init();
    } else {
        logs.with_writer(std::io::stderr).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tmio: error (local): cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Proxy(args) => tmio::proxy_cmd::run(args).await,
            Command::Gateway(args) => tmio::gateway_cmd::run(args).await,
            Command::Demo(args) => tmio::demo::run(args).await,
            Command::Url(_) => Ok(()),
        }
    });
    // Session tasks still flushing after a failure must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

fn report(error: &CommandError) -> ExitCode {
    eprintln!("tmio: {error}");
    ExitCode::from(error.exit_code())
}
