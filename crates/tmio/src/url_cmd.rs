//! `tmio url [URL]...`: parse URLs and show what tmio understands from them.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use tmio_url::{
    redact_url_text, Host, Item, Mode, OptionKey, ParseOptions, SrtUrl, StreamId, TcpUrl, Url,
};

/// The URL checked when none is given: a Tencent Cloud style push URL.
pub const DEFAULT_EXAMPLE: &str = "srt://sh.srt.tencentcloud.com:9000?streamid=#!::h=push.example.com,r=live/test,txSecret=abc,txTime=5F000000&latency=200";

/// Exit status for a URL that does not parse.
const EXIT_BAD_URL: u8 = 2;

/// Arguments of `tmio url`.
#[derive(Debug, Args)]
pub struct UrlArgs {
    /// URLs to check (tcp://IP:PORT or srt://HOST:PORT?options). Without any, an embedded
    /// Tencent-style example is checked.
    pub urls: Vec<String>,
    /// Accept unknown srt:// options and report them as warnings instead of failing.
    #[arg(long)]
    pub lenient: bool,
}

/// Runs the subcommand: a report per URL on stdout, a one-line error per bad URL on stderr.
/// Neither ever shows a secret: the passphrase prints as `<hidden>`.
pub fn run(args: &UrlArgs) -> ExitCode {
    let parse_options = if args.lenient {
        ParseOptions::LENIENT
    } else {
        ParseOptions::STRICT
    };
    let urls: Vec<&str> = if args.urls.is_empty() {
        vec![DEFAULT_EXAMPLE]
    } else {
        args.urls.iter().map(String::as_str).collect()
    };
    let mut failed = false;
    for (index, text) in urls.iter().enumerate() {
        match Url::parse_with(text, parse_options) {
            Ok(url) => {
                if index > 0 {
                    println!();
                }
                print!("{}", describe(&url));
            }
            Err(error) => {
                eprintln!("tmio: bad URL {:?}: {error}", redact_url_text(text));
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(EXIT_BAD_URL)
    } else {
        ExitCode::SUCCESS
    }
}

/// The multi-line report for one URL; the passphrase shows as `<hidden>` and its length.
pub fn describe(url: &Url) -> String {
    match url {
        Url::Tcp(tcp) => describe_tcp(tcp),
        Url::Srt(srt) => describe_srt(srt),
    }
}

fn describe_tcp(url: &TcpUrl) -> String {
    let family = if url.addr.is_ipv4() { "IPv4" } else { "IPv6" };
    let mut out = String::new();
    let _ = writeln!(out, "{url}");
    let _ = writeln!(out, "  scheme:  tcp");
    let _ = writeln!(out, "  address: {} ({family})", url.addr.ip());
    let port_note = if url.addr.port() == 0 {
        " (the system picks one)"
    } else {
        ""
    };
    let _ = writeln!(out, "  port:    {}{port_note}", url.addr.port());
    out
}

fn describe_host(host: Option<&Host>) -> String {
    match host {
        None => "(none: all local addresses)".to_owned(),
        Some(Host::Name(name)) => format!("{name} (name)"),
        Some(Host::Ipv4(ip)) => format!("{ip} (IPv4)"),
        Some(Host::Ipv6(ip)) => format!("{ip} (IPv6)"),
    }
}

fn mode_reason(url: &SrtUrl) -> &'static str {
    match (url.options().mode, url.host(), &url.options().adapter) {
        (Some(_), _, _) => "from mode=",
        (None, None, _) => "default: no host",
        (None, Some(_), Some(_)) => "default: host and adapter",
        (None, Some(_), None) => "default: host given",
    }
}

fn item_label(item: &Item) -> String {
    let meaning = match item {
        Item::User(_) => Some("user"),
        Item::Resource(_) => Some("resource"),
        Item::Host(_) => Some("host"),
        Item::SessionId(_) => Some("session id"),
        Item::Type(_) => Some("type"),
        Item::Mode(_) => Some("mode"),
        Item::Other { .. } => None,
    };
    match meaning {
        Some(meaning) => format!("{} ({meaning})", item.key()),
        None => item.key().to_owned(),
    }
}

fn describe_srt(url: &SrtUrl) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{url}");
    let _ = writeln!(out, "  scheme:  srt");
    let host_role = if url.mode() == Mode::Listener {
        "bind"
    } else {
        "remote"
    };
    let _ = writeln!(
        out,
        "  host:    {} [{host_role}]",
        describe_host(url.host())
    );
    let _ = writeln!(out, "  port:    {}", url.port());
    let _ = writeln!(out, "  mode:    {} ({})", url.mode(), mode_reason(url));
    let options = url.options();
    if options.is_empty() {
        let _ = writeln!(out, "  options: (none)");
    } else {
        let _ = writeln!(out, "  options:");
        for key in options.order() {
            let text = options.value_text_redacted(key).unwrap_or_default();
            if key == OptionKey::StreamId {
                let _ = writeln!(out, "    {:<20} = {text}", key.name());
                describe_stream_id(&mut out, url.stream_id());
            } else {
                let typed = options.value_debug(key).unwrap_or_default();
                let _ = writeln!(out, "    {:<20} = {text}  [{typed}]", key.name());
            }
        }
    }
    for warning in url.warnings() {
        let _ = writeln!(out, "  warning: {warning}");
    }
    out
}

fn describe_stream_id(out: &mut String, stream_id: Option<&StreamId>) {
    match stream_id {
        Some(StreamId::AccessControl(access)) => {
            let _ = writeln!(
                out,
                "      access control (#!::), {} items:",
                access.items().len()
            );
            for item in access.items() {
                let _ = writeln!(out, "        {:<16} = {}", item_label(item), item.value());
            }
        }
        Some(StreamId::Verbatim(_)) => {
            let _ = writeln!(out, "      verbatim (not #!:: syntax)");
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_example_parses_strictly_and_is_canonical() {
        let url: Url = DEFAULT_EXAMPLE.parse().expect("default example parses");
        assert_eq!(url.to_string(), DEFAULT_EXAMPLE);
    }

    #[test]
    fn srt_report_lists_fields_stream_id_items_and_warnings() {
        let url = Url::parse_with(
            "srt://[::1]:9000/app?streamid=#!::r=live/a,m=publish,k=v&latency=20&foo=1",
            ParseOptions::LENIENT,
        )
        .expect("parses leniently");
        let report = describe(&url);
        for expected in [
            "srt://[::1]:9000?streamid=#!::r=live/a,m=publish,k=v&latency=20",
            "host:    ::1 (IPv6) [remote]",
            "mode:    caller (default: host given)",
            "latency              = 20  [20ms]",
            "r (resource)     = live/a",
            "m (mode)         = publish",
            "k                = v",
            "warning: path \"/app\" ignored",
            "warning: unknown option \"foo\"",
        ] {
            assert!(
                report.contains(expected),
                "missing {expected:?} in\n{report}"
            );
        }
    }

    #[test]
    fn srt_report_hides_the_passphrase() {
        let url: Url = "srt://h:9000?passphrase=Zq7Wx9Kp3Vm5Tj&latency=20"
            .parse()
            .expect("parses");
        let report = describe(&url);
        assert!(!report.contains("Zq7Wx"), "{report}");
        for expected in [
            "srt://h:9000?passphrase=<hidden>&latency=20\n",
            "passphrase           = <hidden>  [<hidden, 14 bytes>]",
            "latency              = 20  [20ms]",
        ] {
            assert!(
                report.contains(expected),
                "missing {expected:?} in\n{report}"
            );
        }
    }

    #[test]
    fn tcp_report_names_family_and_port() {
        let url: Url = "tcp://0.0.0.0:0".parse().expect("parses");
        let report = describe(&url);
        assert!(report.contains("address: 0.0.0.0 (IPv4)"), "{report}");
        assert!(
            report.contains("port:    0 (the system picks one)"),
            "{report}"
        );
    }
}
