//! The `tmio` binary: parse the command line, set up logging (stderr or `--log-file`; filter
//! from `--log-level`, `-v`/`-q`, `RUST_LOG`, default `info`) and a tokio runtime, run the
//! subcommand, map its result to an exit status.

use std::{fs::OpenOptions, io::IsTerminal as _, process::ExitCode, sync::Mutex};

use clap::Parser;
use tmio::{stats_view::LineClearingWriter, Cli, Command, CommandError, EXIT_RUNTIME};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = init_logging(&cli.log) {
        return report(&error);
    }
    if let Command::Url(args) = &cli.command {
        return tmio::url_cmd::run(args);
    }
    // `tmio proxy` carries one push at a time: a single thread runs its pump and its SRT
    // endpoint task, which then hand bytes and wake-ups to each other without crossing threads
    // (fewer context switches and less CPU per byte: docs/benchmarks.md, "The full chain"). The
    // gateway and the demo serve several sessions at once: a worker thread per CPU.
    let mut builder = match &cli.command {
        Command::Proxy(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
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
    // A local close repeats its Shutdown at 50 and 200 ms (and later): let those go out, so the
    // peer ends the session at once even when the first copies are lost, but do not wait for
    // the whole 1.5 s of repeats.
    runtime.block_on(tmio_proxy::wait_for_closes(
        std::time::Duration::from_millis(250),
    ));
    // Session tasks still flushing after a failure must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

/// Installs the log subscriber: a bad filter (option or `RUST_LOG`) or a log file that cannot
/// be opened is a usage error.
fn init_logging(args: &tmio::logging::LogArgs) -> Result<(), CommandError> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let filter = args.filter(rust_log.as_deref())?;
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if let Some(path) = &args.log_file {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| CommandError::BadArgument {
                argument: "--log-file",
                reason: format!("cannot open {}: {error}", path.display()),
            })?;
        logs.with_ansi(false).with_writer(Mutex::new(file)).init();
    } else if std::io::stderr().is_terminal() {
        logs.with_ansi(true)
            .with_writer(|| LineClearingWriter::new(std::io::stderr()))
            .init();
    } else {
        logs.with_ansi(false).with_writer(std::io::stderr).init();
    }
    Ok(())
}

fn report(error: &CommandError) -> ExitCode {
    eprintln!("tmio: {error}");
    ExitCode::from(error.exit_code())
}
