//! Writes the benchmark plots as plain SVG text (no plotting crate), for `docs/img/`.
//!
//! ```text
//! svg-plot line data=FILE out=FILE.svg title=… xlabel=… ylabel=… [logx=1]
//! svg-plot bar  data=FILE out=FILE.svg title=… ylabel=…
//! ```
//!
//! `line`: DATA has lines `SERIES X Y` (whitespace-separated, `#` starts a comment); one
//! polyline per series, in the order of first appearance, points sorted by X. `logx=1` puts X on
//! a log10 scale (points with X ≤ 0 are left out).
//! `bar`: DATA has lines `GROUP SERIES VALUE`; one group of bars per GROUP, one colour per
//! SERIES, the value printed above each bar. Underscores in names are shown as spaces.
use std::{fmt::Write as _, process::ExitCode};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('_', " ")
}

/// "Nice" tick values covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * magnitude);
    let mut out = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi + step * 1e-9 && out.len() < 20 {
        out.push(t);
        t += step;
    }
    out
}

fn label(v: f64) -> String {
    if v != 0.0 && (v.abs() < 0.01 || v.abs() >= 1e6) {
        format!("{v:.0e}")
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn header(svg: &mut String, title: &str, xlabel: &str, ylabel: &str) {
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
         <text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
        WIDTH / 2.0,
        escape(title),
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 12.0,
        escape(xlabel),
        TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
        escape(ylabel)
    );
}

fn legend(svg: &mut String, names: &[String]) {
    for (i, name) in names.iter().enumerate() {
        let y = TOP + 10.0 + 20.0 * i as f64;
        let x = WIDTH - RIGHT + 15.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            y - 9.0,
            COLOURS[i % COLOURS.len()],
            x + 20.0,
            y,
            escape(name)
        );
    }
}

fn y_axis(svg: &mut String, lo: f64, hi: f64) -> impl Fn(f64) -> f64 {
    let plot_h = HEIGHT - TOP - BOTTOM;
    let to_y = move |v: f64| TOP + plot_h - (v - lo) / (hi - lo).max(1e-12) * plot_h;
    for t in ticks(lo, hi) {
        let y = to_y(t);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            label(t)
        );
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#333\"/>",
        WIDTH - LEFT - RIGHT
    );
    to_y
}

type Rows = Vec<(String, String, f64)>;

fn read_rows(path: &str) -> Result<Rows, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [a, b, c] = fields[..] else {
            return Err(format!("{path}:{}: expected three fields", n + 1));
        };
        let value: f64 = c
            .parse()
            .map_err(|_| format!("{path}:{}: {c} is not a number", n + 1))?;
        if value.is_finite() {
            rows.push((a.to_owned(), b.to_owned(), value));
        }
    }
    Ok(rows)
}

fn first_seen(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn line_plot(
    rows: &Rows,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    logx: bool,
) -> Result<String, String> {
    let points: Vec<(String, f64, f64)> = rows
        .iter()
        .filter_map(|(s, x, y)| {
            let x: f64 = x.parse().ok()?;
            if logx && x <= 0.0 {
                return None;
            }
            Some((s.clone(), if logx { x.log10() } else { x }, *y))
        })
        .collect();
    if points.is_empty() {
        return Err("no points to plot".into());
    }
    let series = first_seen(points.iter().map(|p| p.0.clone()));
    let (mut xlo, mut xhi, mut yhi) = (f64::MAX, f64::MIN, f64::MIN);
    for (_, x, y) in &points {
        xlo = xlo.min(*x);
        xhi = xhi.max(*x);
        yhi = yhi.max(*y);
    }
    if logx {
        xlo = xlo.floor();
        xhi = xhi.ceil().max(xlo + 1.0);
    } else if xhi <= xlo {
        xhi = xlo + 1.0;
    }
    let ylo = 0.0f64.min(points.iter().map(|p| p.2).fold(f64::MAX, f64::min));
    let yhi = if yhi <= ylo { ylo + 1.0 } else { yhi * 1.05 };
    let mut svg = String::new();
    header(&mut svg, title, xlabel, ylabel);
    let to_y = y_axis(&mut svg, ylo, yhi);
    let plot_w = WIDTH - LEFT - RIGHT;
    let to_x = |v: f64| LEFT + (v - xlo) / (xhi - xlo) * plot_w;
    let xticks: Vec<f64> = if logx {
        (xlo as i32..=xhi as i32).map(f64::from).collect()
    } else {
        ticks(xlo, xhi)
    };
    for t in xticks {
        let x = to_x(t);
        let shown = if logx { 10f64.powf(t) } else { t };
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#eee\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0,
            label(shown)
        );
    }
    for (i, name) in series.iter().enumerate() {
        let mut pts: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| &p.0 == name)
            .map(|p| (p.1, p.2))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", to_x(*x), to_y(*y)))
            .collect::<Vec<_>>()
            .join(" ");
        let colour = COLOURS[i % COLOURS.len()];
        let _ = writeln!(
            svg,
            "<polyline points=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>"
        );
        if pts.len() <= 12 {
            for (x, y) in &pts {
                let _ = writeln!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>",
                    to_x(*x),
                    to_y(*y)
                );
            }
        }
    }
    legend(&mut svg, &series);
    svg.push_str("</svg>\n");
    Ok(svg)
}

fn bar_plot(rows: &Rows, title: &str, ylabel: &str) -> Result<String, String> {
    if rows.is_empty() {
        return Err("no bars to plot".into());
    }
    let groups = first_seen(rows.iter().map(|r| r.0.clone()));
    let series = first_seen(rows.iter().map(|r| r.1.clone()));
    let yhi = rows.iter().map(|r| r.2).fold(0.0, f64::max).max(1e-9) * 1.12;
    let mut svg = String::new();
    header(&mut svg, title, "", ylabel);
    let to_y = y_axis(&mut svg, 0.0, yhi);
    let plot_w = WIDTH - LEFT - RIGHT;
    let group_w = plot_w / groups.len() as f64;
    let bar_w = group_w * 0.8 / series.len() as f64;
    for (g, group) in groups.iter().enumerate() {
        let gx = LEFT + g as f64 * group_w;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            gx + group_w / 2.0,
            HEIGHT - BOTTOM + 16.0,
            escape(group)
        );
        for (s, name) in series.iter().enumerate() {
            let Some(value) = rows
                .iter()
                .find(|r| &r.0 == group && &r.1 == name)
                .map(|r| r.2)
            else {
                continue;
            };
            let x = gx + group_w * 0.1 + s as f64 * bar_w;
            let y = to_y(value);
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
                bar_w * 0.92,
                (HEIGHT - BOTTOM - y).max(0.0),
                COLOURS[s % COLOURS.len()],
                x + bar_w * 0.46,
                y - 3.0,
                label((value * 100.0).round() / 100.0)
            );
        }
    }
    legend(&mut svg, &series);
    svg.push_str("</svg>\n");
    Ok(svg)
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, rest) = args
        .split_first()
        .ok_or("usage: svg-plot (line|bar) KEY=VALUE…")?;
    let get = |key: &str| {
        rest.iter()
            .find_map(|a| a.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .unwrap_or("")
    };
    let data = get("data");
    let out = get("out");
    if data.is_empty() || out.is_empty() {
        return Err("data= and out= are required".into());
    }
    let rows = read_rows(data)?;
    let svg = match kind.as_str() {
        "line" => line_plot(
            &rows,
            get("title"),
            get("xlabel"),
            get("ylabel"),
            get("logx") == "1",
        )?,
        "bar" => bar_plot(&rows, get("title"), get("ylabel"))?,
        other => return Err(format!("unknown plot kind {other}")),
    };
    std::fs::write(out, svg).map_err(|e| format!("{out}: {e}"))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("svg-plot: {e}");
            ExitCode::FAILURE
        }
    }
}
