#!/usr/bin/env bash
# Added latency of a 20 Mbit/s stream on loopback: stream-probe pushes 1316-byte records, evenly
# spaced and timestamped, over TCP into `tmio proxy`, over SRT to `tmio gateway`, over TCP to
# stream-probe's sink in the same machine (same clock), which checks every record and the
# sha256 of the stream. Three implementations, alternated within each round:
#   tcp        the pusher straight into a TCP relay (stream-probe relay) in front of the sink
#   tmio       tmio proxy + gateway with the defaults (the rtmp preset)
#   tmio-maxbw the same with --opt maxbw=-1 (no rate cap: adaptive pacing)
#
#   TMIO=path/to/tmio benches/latency.sh [SECONDS=20] [RUNS=3] [MBPS=20]
#
# Prints per run and a table of medians (latency p50/p99/max over all records of a run); writes
# the latency distribution of each implementation's median run to $BENCH_IMG/latency-cdf.svg
# (BENCH_IMG defaults to docs/img) and the figures to $BENCH_IMG/latency.txt.
# Every process runs under `timeout`; everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
runs=${2:-3}
mbps=${3:-20}
img=${BENCH_IMG:-docs/img}
source benches/stream-lib.sh
cargo build --release -q -p tmio-benches --bin svg-plot
mkdir -p "$img"
export CHAIN_TIMEOUT=$(python3 -c "print(int($seconds * 3 + 60))")

impls=(${LAT_IMPLS:-tcp tmio tmio-maxbw})
: > "$work/results"
for i in $(seq 1 "$runs"); do
  for impl in "${impls[@]}"; do
    run_chain "$impl" "" "" 127.0.0.1 "mbps=$mbps" "seconds=$seconds" > "$work/line" || echo "impl=$impl failed" > "$work/line"
    echo "run $i: $(cat "$work/line")" >&2
    cat "$work/line" >> "$work/results"
  done
done
echo "load after: $(cut -d" " -f1-3 /proc/loadavg)" >&2

python3 - "$work/results" "$img" "$seconds" "$mbps" "$runs" <<'PY'
import statistics, sys
results, img, seconds, mbps, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
rows = {}
for line in open(results):
    f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    rows.setdefault(f["impl"], []).append(f)
def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
names = {"tcp": "TCP relay (baseline)", "tmio": "tmio, defaults (rtmp preset)",
         "tmio-maxbw": "tmio, maxbw=-1"}
out = [f"{mbps} Mbit/s stream, 1316-byte writes, {seconds} s per run, median of {runs} runs (loopback)",
       f"{'impl':<30} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'intact':>7} {'push lag ms':>11}"]
cdf_lines = []
for impl, rs in rows.items():
    med = lambda k: statistics.median(num(r.get(k)) for r in rs)
    intact = sum(1 for r in rs if r.get("intact", "0/1").split("/")[0] == r.get("intact", "0/1").split("/")[1]
                 and r.get("intact", "0/0") != "0/0")
    out.append(f"{names.get(impl, impl):<30} {med('p50'):>8.3f} {med('p99'):>8.3f} {med('max'):>8.3f} "
               f"{intact:>4}/{len(rs):<2} {med('lag'):>11.3f}")
    # The distribution of the run whose p99 is the median.
    ranked = sorted((r for r in rs if "cdf" in r), key=lambda r: num(r.get("p99")))
    if ranked:
        mid = ranked[len(ranked) // 2]
        try:
            for l in open(mid["cdf"]):
                if l.startswith("#"):
                    continue
                p, ms = l.split()
                cdf_lines.append(f"{names.get(impl, impl).replace(' ', '_')} {max(float(ms), 0.001)} {p}")
        except OSError:
            pass
text = "\n".join(out)
print("\n" + text)
open(f"{img}/latency.txt", "w").write(text + "\n")
open(f"{img}/latency-cdf.dat", "w").write("\n".join(cdf_lines) + "\n")
PY
"$PWD/target/release/svg-plot" line "data=$img/latency-cdf.dat" "out=$img/latency-cdf.svg" \
  "title=Added latency, ${mbps} Mbit/s stream (loopback)" "xlabel=latency, ms (log scale)" \
  "ylabel=percentile of records" logx=1
rm -f "$img/latency-cdf.dat"
echo "wrote $img/latency-cdf.svg and $img/latency.txt" >&2
