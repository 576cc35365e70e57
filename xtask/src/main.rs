//! `cargo xtask`: project automation for tmio. See `cargo xtask help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let invocation = match xtask::cli::parse_args(std::env::args().skip(1)) {
        Ok(invocation) => invocation,
        Err(error) => {
            eprintln!("xtask: {error}\n\n{}", xtask::cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match xtask::run(&invocation) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error}");
            ExitCode::FAILURE
        }
    }
}
