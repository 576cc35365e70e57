#!/usr/bin/env bash
# Side-by-side bulk transfer over SRT on loopback: tmio, libsrt (srt-file-transmit, file mode)
# and srt-tokio, in one run. Prints throughput, CPU seconds per GB (sender + receiver) and the
# ratios against libsrt. Every run is bounded by a timeout and stops by itself.
#
#   benches/peers.sh [MIB=512] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-512}
runs=${2:-3}
limit=120   # seconds per transfer, at most
work=$(mktemp -d /tmp/tmio-peers.XXXXXX)
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT

command -v srt-file-transmit >/dev/null || { echo "srt-file-transmit missing: run scripts/install-deps.sh" >&2; exit 2; }
cargo build --release -q -p tmio-benches --bin srt-bulk
bulk=target/release/srt-bulk
head -c $((mib * 1024 * 1024)) /dev/urandom > "$work/in.bin"
bytes=$(stat -c %s "$work/in.bin")
sum_in=$(sha256sum < "$work/in.bin" | cut -d' ' -f1)

port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run NAME RECV_CMD SEND_CMD OUTFILE(or -) : prints "wall cpu delivered_bytes"
run() {
  local name=$1 recv=$2 send=$3 out=$4
  /usr/bin/time -f '%e %U %S' -o "$work/recv.time" timeout $limit bash -c "$recv" > "$work/recv.log" 2>&1 &
  local rpid=$!
  sleep 0.5
  /usr/bin/time -f '%e %U %S' -o "$work/send.time" timeout $limit bash -c "$send" > "$work/send.log" 2>&1 || true
  wait $rpid || true
  local delivered
  if [ "$out" != "-" ]; then
    delivered=$(stat -c %s "$out" 2>/dev/null || echo 0)
    if [ "$delivered" = "$bytes" ] && [ "$(sha256sum < "$out" | cut -d' ' -f1)" != "$sum_in" ]; then
      echo "$name: sha256 mismatch" >&2; delivered=0
    fi
    rm -f "$out"
  else
    delivered=$(grep -o 'bytes [0-9]*' "$work/recv.log" | head -1 | cut -d' ' -f2)
  fi
  # Throughput is judged from the receiver's whole-process wall time minus the 0.5 s head start.
  read -r rw ru rs < "$work/recv.time"; read -r sw su ss < "$work/send.time"
  python3 - "$rw" "$ru" "$rs" "$su" "$ss" "$delivered" <<'PY'
import sys
rw, ru, rs, su, ss, d = map(float, sys.argv[1:])
print(f"{max(rw - 0.5, 1e-3):.3f} {ru + rs + su + ss:.3f} {int(d)}")
PY
}

declare -A results
for i in $(seq 1 "$runs"); do
  p=$(port)
  results[libsrt]+="$(run libsrt \
    "srt-file-transmit -q 'srt://127.0.0.1:$p?mode=listener' file://$work/out.bin" \
    "srt-file-transmit -q file://$work/in.bin 'srt://127.0.0.1:$p?mode=caller'" "$work/out.bin")"$'\n'
  p=$(port)
  results[tmio]+="$(run tmio "$bulk tmio recv $p" "$bulk tmio send $p $work/in.bin" -)"$'\n'
  p=$(port)
  results[srt-tokio]+="$(run srt-tokio "$bulk srt-tokio recv $p" "$bulk srt-tokio send $p $work/in.bin 800" -)"$'\n'
done

python3 - "$bytes" "$runs" <<PY
import statistics, sys
total, runs = int(sys.argv[1]), int(sys.argv[2])
raw = {
  "libsrt": """${results[libsrt]}""",
  "tmio": """${results[tmio]}""",
  "srt-tokio": """${results[srt-tokio]}""",
}
rows = {}
for name, text in raw.items():
    runs_ = [tuple(map(float, l.split())) for l in text.strip().splitlines() if l.strip()]
    mbps = statistics.median(d / w / 1e6 for w, c, d in runs_)
    cpu_gb = statistics.median(c / max(d, 1) * 1e9 for w, c, d in runs_)
    delivered = min(d for w, c, d in runs_)
    rows[name] = (mbps, cpu_gb, delivered)
print(f"bulk transfer over SRT on loopback, {total/2**20:.0f} MiB, median of {runs} runs")
print(f"{'impl':<10} {'MB/s':>9} {'CPU s/GB':>9} {'delivered (min)':>16}  vs libsrt: speed  CPU/byte")
base = rows["libsrt"]
for name, (mbps, cpu, d) in rows.items():
    print(f"{name:<10} {mbps:>9.1f} {cpu:>9.2f} {d:>16}  {mbps/base[0]:>15.2f}x {cpu/base[1]:>8.2f}x")
PY
