//! The `tmio` command.
fn main() {
    eprintln!("tmio: not built yet");
    std::process::exit(2);
}
