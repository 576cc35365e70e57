#!/usr/bin/env bash
# A two-link bonded group (broadcast and backup) against a single link, side by side in one run:
# tmio's transport on loopback, uncapped, MIB mebibytes per transfer, RUNS runs of each in turn
# (single, broadcast, backup, single, …), every byte checked (sha256) by `group-bulk`. Prints
# each run, then the medians and the ratios to the single link.
#
#   benches/group-vs-single.sh [MIB=256] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-256}
runs=${2:-5}
cargo build --release -q -p tmio-benches --bin group-bulk
bin=$PWD/target/release/group-bulk
out=$(mktemp /tmp/tmio-group-vs-single.XXXXXX)
trap 'rm -f "$out"' EXIT
for run in $(seq 1 "$runs"); do
  for mode in single broadcast backup; do
    timeout 180 "$bin" "$mode" "$mib" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+)\s+\d+ MiB: ([\d.]+) MB/s goodput, wall ([\d.]+) s, cpu ([\d.]+) s \(([\d.]+) cpu-s/GB\), ([\d.]+) bytes", line)
    if m:
        mode = m.group(1)
        rows.setdefault(mode, []).append([float(x) for x in m.groups()[1:]])
med = {mode: [statistics.median(col) for col in zip(*values)] for mode, values in rows.items()}
print("\nmedians     goodput MB/s   cpu-s/GB   wire bytes/payload byte   (ratio to single: goodput, cpu-s/GB)")
for mode in ("single", "broadcast", "backup"):
    if mode in med:
        g, _, _, c, w = med[mode]
        base = med["single"]
        print(f"{mode:<10} {g:>10.1f} {c:>12.2f} {w:>14.2f}              {g / base[0]:.2f}x  {c / base[3]:.2f}x")
PY
