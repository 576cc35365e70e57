//! `tmio-reliability`: runs the fault matrix through a `tmio` binary and writes the report.
//!
//! `tmio-reliability --tmio target/release/tmio [--out docs/reliability.md] [--fast]
//! [--cells NAME,NAME…] [--bytes N] [--timeout-secs N]`. Kernel-loss cells need root (network
//! namespaces); without it they are listed as skipped. Exits 1 when a cell failed. Writing the
//! matrix keeps the file's `## Soak` section.
//!
//! `tmio-reliability --tmio PATH --soak [--sessions N] [--minutes M | --seconds S] [--mbps R]
//! [--loss P] [--sample-secs S] [--warm-up-secs S] [--window-secs S] [--proxy-opt NAME=VALUE]…
//! [--out FILE]`: the soak
//! (`tmio_testkit::reliability::soak`, root needed), progress on stderr every sample; with
//! `--out` its `### Soak: N sessions` subsection replaces the one in FILE's `## Soak` section
//! (created if missing), else the markdown goes to stdout. Exits 1 unless flat and byte-exact.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use tmio_testkit::reliability::soak::{self, SoakConfig};
use tmio_testkit::reliability::{
    fast_subset, full_matrix, markdown_table, run_cell, CellReport, MatrixConfig, RSS_LIMIT_KIB,
};
use tmio_testkit::NetnsLinks;

const USAGE: &str = "usage: tmio-reliability --tmio PATH [--out FILE] [--fast] [--cells NAME,...] [--bytes N] [--timeout-secs N]
       tmio-reliability --tmio PATH --soak [--sessions N] [--minutes M | --seconds S] [--mbps R] [--loss P]
                        [--sample-secs S] [--warm-up-secs S] [--window-secs S] [--proxy-opt NAME=VALUE]... [--out FILE]";

/// The heading of the soak section in the report.
const SOAK_HEADING: &str = "## Soak";

struct Args {
    tmio: PathBuf,
    out: Option<PathBuf>,
    fast: bool,
    cells: Option<Vec<String>>,
    bytes: Option<usize>,
    timeout_secs: Option<u64>,
    soak: Option<SoakArgs>,
}

/// `--soak` and its settings (unset ones keep [`SoakConfig::new`]'s).
#[derive(Default)]
struct SoakArgs {
    sessions: Option<usize>,
    seconds: Option<u64>,
    mbps: Option<f64>,
    loss: Option<f64>,
    sample_secs: Option<u64>,
    warm_up_secs: Option<u64>,
    window_secs: Option<u64>,
    proxy_options: Vec<String>,
}

fn number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{name} {text}: not a number"))
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        tmio: PathBuf::new(),
        out: None,
        fast: false,
        cells: None,
        bytes: None,
        timeout_secs: None,
        soak: None,
    };
    let mut soak_args = SoakArgs::default();
    let mut tmio = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--tmio" => tmio = Some(PathBuf::from(value("--tmio")?)),
            "--out" => parsed.out = Some(PathBuf::from(value("--out")?)),
            "--fast" => parsed.fast = true,
            "--cells" => {
                parsed.cells = Some(value("--cells")?.split(',').map(str::to_owned).collect())
            }
            "--bytes" => {
                let text = value("--bytes")?;
                parsed.bytes = Some(
                    text.parse()
                        .map_err(|_| format!("--bytes {text}: not a number"))?,
                );
            }
            "--timeout-secs" => {
                let text = value("--timeout-secs")?;
                parsed.timeout_secs = Some(
                    text.parse()
                        .map_err(|_| format!("--timeout-secs {text}: not a number"))?,
                );
            }
            "--soak" => parsed.soak = Some(SoakArgs::default()),
            "--sessions" => soak_args.sessions = Some(number(&arg, &value(&arg)?)?),
            "--minutes" => {
                soak_args.seconds = Some(number::<u64>(&arg, &value(&arg)?)?.saturating_mul(60))
            }
            "--seconds" => soak_args.seconds = Some(number(&arg, &value(&arg)?)?),
            "--mbps" => soak_args.mbps = Some(number(&arg, &value(&arg)?)?),
            "--loss" => soak_args.loss = Some(number(&arg, &value(&arg)?)?),
            "--sample-secs" => soak_args.sample_secs = Some(number(&arg, &value(&arg)?)?),
            "--warm-up-secs" => soak_args.warm_up_secs = Some(number(&arg, &value(&arg)?)?),
            "--window-secs" => soak_args.window_secs = Some(number(&arg, &value(&arg)?)?),
            "--proxy-opt" => soak_args.proxy_options.push(value(&arg)?),
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    parsed.tmio = tmio.ok_or("--tmio PATH is required")?;
    if parsed.soak.is_some() {
        parsed.soak = Some(soak_args);
    } else if soak_args.sessions.is_some()
        || soak_args.seconds.is_some()
        || soak_args.mbps.is_some()
    {
        return Err("--sessions, --minutes, --seconds, --mbps … go with --soak".into());
    }
    Ok(parsed)
}

/// A command's trimmed stdout, or `unknown`.
fn output_of(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Where and with what a run happened.
struct Provenance {
    date: String,
    commit: String,
    dirty: &'static str,
    machine: String,
    version: String,
}

fn provenance(tmio: &std::path::Path) -> Provenance {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    Provenance {
        date: output_of("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        commit: output_of("git", &["rev-parse", "--short=12", "HEAD"]),
        dirty: if output_of("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
            ""
        } else {
            " (with uncommitted changes)"
        },
        machine: format!(
            "{}, {cores} cores ({})",
            output_of("uname", &["-srm"]),
            cpu_model()
        ),
        version: output_of(&tmio.display().to_string(), &["-V"]),
    }
}

fn document(config: &MatrixConfig, reports: &[CellReport], skipped: &[String]) -> String {
    let Provenance {
        date,
        commit,
        dirty,
        machine,
        version,
    } = provenance(&config.tmio);
    let failed = reports.iter().filter(|r| r.verdict.is_err()).count();
    let mut text = format!(
        "# Reliability: the fault matrix\n\n\
         Generated by `cargo xtask reliability` (`tmio-reliability`, crates/tmio-testkit/src/reliability.rs);\n\
         do not edit by hand.\n\n\
         - date: {date}\n- commit: {commit}{dirty}\n- machine: {machine}\n- tmio: `{version}` ({})\n\
         - per cell: {} bytes of seeded random data, pushed at {} KiB/s (unpaced for the slow upstream), \
         through the real `tmio proxy` → SRT → `tmio gateway` → TCP sink, default options; a cell ends at {} s whatever happens\n\
         - result: {} of {} cells as expected{}\n\n",
        config.tmio.display(),
        config.bytes,
        config.pace_bytes_per_sec / 1024,
        config.cell_timeout.as_secs(),
        reports.len() - failed,
        reports.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped (no network namespaces here): {}", skipped.join(", "))
        }
    );
    text.push_str(
        "## How each cell runs\n\n\
         - `lossN-delayD`: proxy and pusher in one network namespace, gateway and sink in another, \
         joined by a veth pair (`NetnsLink`); nftables drops N % of the UDP datagrams arriving on \
         each side (`numgen random`, unseeded); for D > 0 the seeded userspace relay, inside the \
         proxy's namespace, delays every datagram by D ms in each direction (RTT ≥ 2·D; the kernel \
         has no `sch_netem`).\n\
         - `reorder25`, `dup5`, `blackout3s`: on loopback, the relay between proxy and gateway: 25 % \
         of the datagrams held back 20 ms (later ones overtake them), 5 % sent twice, or nothing at \
         all for 3 s once the sink has 1 MiB (each way).\n\
         - `gateway-killed`: SIGKILL to the gateway once the sink has 1 MiB; the pusher keeps \
         writing until the proxy closes its connection.\n\
         - `pusher-killed`: after writing 1 MiB (paced) the pusher closes with SO_LINGER 0: a \
         reset, which also discards what its socket had not sent yet.\n\
         - `upstream-gone`: the sink closes its connection after reading 1 MiB.\n",
    );
    text.push_str(&format!(
        "- `upstream-slow`: the sink reads 1 MiB/s while the pusher writes as fast as the proxy \
         takes it: backpressure must hold memory down (verdict: peak RSS of each process ≤ {} MiB).\n\n\
         Columns: *fault counters* = what shows the fault acted (nftables drop counters per \
         direction, the relay's datagram counters); *sent* = bytes the pusher's socket accepted \
         (after a reset, the part still in its send buffer never leaves); *delivered* = bytes the sink read; \
         *sha256* = `equal` (the whole stream), `prefix` (the first *delivered* bytes of the stream, \
         exactly) or `DIFFERS`; *proxy exit* = its status (`killed` = still running at the end); \
         *error raised* = the proxy's `tmio: error (side): …` line; *gateway session* = the \
         gateway's last `session failed`/`session ended` log line; *RSS* = peak resident memory \
         sampled every 50 ms, and (in brackets) at the end: the proxy's last sample before it \
         exited, the gateway's once the session was over; *time* = from the pusher's connection to the end of the cell.\n\n",
        RSS_LIMIT_KIB / 1024
    ));
    text.push_str("## Results\n\n");
    text.push_str(&markdown_table(reports));
    let observations: Vec<String> = reports
        .iter()
        .filter(|report| {
            report.complete
                && report
                    .gateway_session
                    .as_deref()
                    .is_some_and(|line| line.contains("session failed"))
        })
        .map(|report| {
            format!(
                "- `{}`: every byte arrived and the proxy exited 0, but the gateway logged the \
                 session as failed by its peer idle timeout: no Shutdown from the caller reached \
                 it, so it closed the upstream connection ~5 s after the last byte.",
                report.name
            )
        })
        .collect();
    if !observations.is_empty() {
        text.push_str("\n## Observations (generated)\n\n");
        text.push_str(&observations.join("\n"));
        text.push('\n');
    }
    text.push_str("\nExpectations: ");
    let mut seen = Vec::new();
    for report in reports {
        if !seen.contains(&report.expectation) {
            seen.push(report.expectation);
        }
    }
    text.push_str(&seen.join("; "));
    text.push_str(".\n");
    text
}

/// The soak section's introduction (kept above the subsections).
fn soak_intro() -> String {
    format!(
        "{SOAK_HEADING}\n\n\
         Generated by `cargo xtask soak --long` (`tmio-reliability --soak`, \
         crates/tmio-testkit/src/reliability/soak.rs); each subsection is replaced by its own run, \
         and regenerating the matrix above keeps this section.\n\n\
         One `tmio gateway` (with its TCP sink) in one network namespace, N `tmio proxy` processes \
         (each with a pusher) in another, joined by a veth pair with nftables dropping the given \
         share of the UDP datagrams each way. The total rate is split evenly over the sessions; each \
         pusher writes its own seeded stream (its index, then ChaCha8 bytes), paced, for the whole \
         run, then closes; the sink compares every byte with the stream as it arrives and both ends \
         hash it (sha256). Every sample period the runner reads `VmRSS` (`/proc/PID/status`) and \
         counts `/proc/PID/fd` of the gateway and of every proxy. **Flat**, per process: the mean RSS \
         of the samples in the last window is at most {:.0} % + {:.0} MiB above the mean of the first \
         window after the warm-up, and the open fd count does not change after the warm-up. The \
         gateway's RSS and fds are also read before the first caller and after every session ended.\n\n",
        soak::RSS_GROWTH_FRACTION * 100.0,
        soak::RSS_GROWTH_SLACK_KIB / 1024.0
    )
}

/// `existing` with `subsection` (starting `### …\n`) in its soak section: replacing the
/// subsection of the same heading, else appended; the section is created when missing.
fn merge_soak(existing: &str, subsection: &str) -> String {
    let marker = format!("\n{SOAK_HEADING}\n");
    let (before, section) = match existing.find(&marker) {
        Some(at) => (&existing[..=at], existing[at + 1..].to_owned()),
        None => (existing, soak_intro()),
    };
    let heading = subsection.lines().next().unwrap_or_default();
    let mut section = section;
    let start = section
        .match_indices("### ")
        .map(|(at, _)| at)
        .find(|&at| section[at..].lines().next() == Some(heading));
    match start {
        Some(start) => {
            let end = section[start + 4..]
                .find("\n### ")
                .map_or(section.len(), |at| start + 4 + at + 1);
            section.replace_range(start..end, subsection);
        }
        None => {
            if !section.ends_with("\n\n") {
                section.push('\n');
            }
            section.push_str(subsection);
        }
    }
    let mut text = before.to_owned();
    if !text.ends_with("\n\n") {
        text.push('\n');
    }
    text.push_str(&section);
    text
}

/// The soak section of the report at `path`, if it has one (kept when the matrix is rewritten).
fn existing_soak_section(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let at = text.find(&format!("\n{SOAK_HEADING}\n"))?;
    Some(text[at + 1..].to_owned())
}

fn run_soak_mode(args: &Args, soak_args: &SoakArgs) -> ExitCode {
    let sessions = soak_args.sessions.unwrap_or(1);
    let mut config = SoakConfig::new(&args.tmio, sessions);
    if let Some(seconds) = soak_args.seconds {
        config.duration = Duration::from_secs(seconds);
    }
    if let Some(mbps) = soak_args.mbps {
        config.total_bits_per_sec = (mbps * 1e6) as u64;
    }
    if let Some(loss) = soak_args.loss {
        config.loss_percent = loss;
    }
    if let Some(secs) = soak_args.sample_secs {
        config.sample_every = Duration::from_secs(secs);
    }
    if let Some(secs) = soak_args.warm_up_secs {
        config.warm_up = Duration::from_secs(secs);
    }
    if let Some(secs) = soak_args.window_secs {
        config.window = Duration::from_secs(secs);
    }
    config.proxy_options.clone_from(&soak_args.proxy_options);
    if let Err(reason) = NetnsLinks::available() {
        eprintln!("tmio-reliability: the soak needs network namespaces: {reason}");
        return ExitCode::FAILURE;
    }
    let _ = NetnsLinks::cleanup_stale();
    let report = match soak::run_soak(&config, &mut |line| eprintln!("soak: {line}")) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("tmio-reliability: soak harness error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Provenance {
        date,
        commit,
        dirty,
        machine,
        version,
    } = provenance(&args.tmio);
    let header = [
        format!("date: {date} (run ended); commit: {commit}{dirty}"),
        format!("machine: {machine}"),
        format!("tmio: `{version}` ({})", args.tmio.display()),
        format!(
            "samples every {} s; warm-up {} s; windows {} s; wall time {:.0} s with the drain",
            config.sample_every.as_secs(),
            config.warm_up.as_secs(),
            config.window.as_secs(),
            report.elapsed.as_secs_f64()
        ),
    ];
    let text = soak::markdown(&report, &header);
    if let Err(why) = report.verdict() {
        eprintln!(
            "tmio-reliability: soak FAILED: {why}\n--- gateway stderr (tail)\n{}",
            report.gateway_stderr_tail
        );
    }
    match &args.out {
        Some(path) => {
            let existing = std::fs::read_to_string(path).unwrap_or_default();
            if let Err(error) = std::fs::write(path, merge_soak(&existing, &text)) {
                eprintln!("tmio-reliability: cannot write {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            eprint!("{text}");
            eprintln!("tmio-reliability: wrote the soak into {}", path.display());
        }
        None => print!("{text}"),
    }
    if report.verdict().is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("tmio-reliability: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(soak_args) = &args.soak {
        return run_soak_mode(&args, soak_args);
    }
    let mut config = MatrixConfig::new(&args.tmio);
    if let Some(bytes) = args.bytes {
        config.bytes = bytes;
    }
    if let Some(secs) = args.timeout_secs {
        config.cell_timeout = Duration::from_secs(secs);
    }
    let mut cells = if args.fast {
        fast_subset()
    } else {
        full_matrix()
    };
    if let Some(names) = &args.cells {
        cells.retain(|cell| names.contains(&cell.name));
    }
    let namespaces = NetnsLinks::available();
    if let Err(reason) = &namespaces {
        eprintln!("tmio-reliability: kernel-loss cells skipped: {reason}");
    }
    let _ = NetnsLinks::cleanup_stale();
    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    for cell in &cells {
        if cell.name.starts_with("loss") && namespaces.is_err() {
            skipped.push(cell.name.clone());
            continue;
        }
        eprint!("{:<16} {} … ", cell.name, cell.fault.describe());
        match run_cell(&config, cell) {
            Ok(report) => {
                match &report.verdict {
                    Ok(()) => eprintln!(
                        "ok ({} of {} bytes, {:.1} s)",
                        report.delivered,
                        report.sent,
                        report.elapsed.as_secs_f64()
                    ),
                    Err(why) => eprintln!(
                        "FAILED: {why}\n--- proxy stderr (tail)\n{}\n--- gateway stderr (tail)\n{}",
                        report.proxy_stderr_tail, report.gateway_stderr_tail
                    ),
                }
                reports.push(report);
            }
            Err(error) => {
                eprintln!("harness error: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut text = document(&config, &reports, &skipped);
    match &args.out {
        Some(path) => {
            if let Some(section) = existing_soak_section(path) {
                text.push('\n');
                text.push_str(&section);
            }
            if let Err(error) = std::fs::write(path, &text) {
                eprintln!("tmio-reliability: cannot write {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("tmio-reliability: wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    if reports.iter().any(|report| report.verdict.is_err()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soak_subsection_is_added_then_replaced() {
        let matrix = "# Reliability\n\n| table |\n";
        let one = "### Soak: 1 session\n\n- first\n\n";
        let text = merge_soak(matrix, one);
        assert!(text.starts_with(matrix), "{text}");
        assert!(text.contains("\n## Soak\n"), "{text}");
        assert!(text.ends_with(one), "{text}");
        let fifty = "### Soak: 50 sessions\n\n- fifty\n\n";
        let text = merge_soak(&text, fifty);
        assert!(text.ends_with(&format!("{one}{fifty}")), "{text}");
        let again = "### Soak: 1 session\n\n- second\n\n";
        let text = merge_soak(&text, again);
        assert!(!text.contains("- first"), "{text}");
        assert!(text.ends_with(&format!("{again}{fifty}")), "{text}");
        assert_eq!(text.matches("## Soak\n").count(), 1, "{text}");
        assert_eq!(merge_soak(&text, again), text);
    }
}
