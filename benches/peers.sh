#!/usr/bin/env bash
# Side-by-side bulk transfer over SRT on loopback, in one run, all with 1456-byte payloads:
# libsrt (srt-file-transmit, file mode), tmio (srt-bulk tmio, reliable mode) and srt-tokio
# (srt-bulk srt-tokio, live mode paced at 400 Mbit/s: it loses data unpaced, and already at
# 500 Mbit/s on the machine these figures come from). Every receiver writes to a file and every
# sender reads one, so file work is equal; the output's sha256 is checked.
#
#   benches/peers.sh [MIB=512] [RUNS=5]
#
# Also writes the table to $BENCH_IMG/peers.txt and a bar chart of the medians to
# $BENCH_IMG/throughput-peers.svg (BENCH_IMG defaults to docs/img).
#
# As root, net.core.{r,w}mem_max are raised to at least 16 MiB for the run (for every
# implementation alike: libsrt asks for ~12 MB UDP buffers, tmio and srt-bulk's srt-tokio for
# 8 MiB) and restored after.
# Every transfer is bounded by a timeout; temp files and processes are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-512}
runs=${2:-5}
limit=${PEERS_TIMEOUT:-120} # seconds per transfer, at most
srt_tokio_mbps=400

command -v srt-file-transmit >/dev/null || { echo "srt-file-transmit missing: apt-get install srt-tools" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 2; }

work=$(mktemp -d /tmp/tmio-peers.XXXXXX)
restore_sysctl=()
cleanup() {
  local pid
  # Senders and receivers still running (only after an interruption): each is a `timeout`, which
  # passes the signal on to its process group.
  if [ -f "$work/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$work/pids"
  fi
  for setting in "${restore_sysctl[@]}"; do sysctl -q -w "$setting" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" = 0 ]; then
  for key in net.core.rmem_max net.core.wmem_max; do
    old=$(sysctl -n "$key")
    if [ "$old" -lt $((16 << 20)) ]; then
      sysctl -q -w "$key=$((16 << 20))"
      restore_sysctl+=("$key=$old")
    fi
  done
fi
echo "socket buffer caps: rmem_max=$(sysctl -n net.core.rmem_max) wmem_max=$(sysctl -n net.core.wmem_max)"
echo "load before: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"

cargo build --release -q -p tmio-benches --bin srt-bulk --bin svg-plot
bulk=$PWD/target/release/srt-bulk
img=${BENCH_IMG:-docs/img}
mkdir -p "$img"

mkdir -p "$work/src" "$work/dst"
# srt-file-transmit's listener names its output after the caller's file (stream id) inside the
# output directory: input and output must live in different directories.
input=$work/src/payload.bin
warm=$work/src/warm.bin
head -c $((mib << 20)) /dev/urandom > "$input"
head -c $((16 << 20)) /dev/urandom > "$warm"
bytes=$(stat -c %s "$input")
sum_in=$(sha256sum < "$input" | cut -d' ' -f1)
sum_warm=$(sha256sum < "$warm" | cut -d' ' -f1)

port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# Waits until something listens on UDP port $1 (at most 5 s).
wait_listening() {
  local i
  for i in $(seq 1 100); do
    if ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.05
  done
  return 1
}

# transfer IMPL FILE : one transfer; prints "wall_s cpu_s delivered_bytes intact(1/0)"
transfer() {
  local impl=$1 file=$2 p out recv send rpid spid t0 t1 delivered intact=0 expected_sum ru rs su ss
  p=$(port)
  rm -rf "$work/dst" && mkdir -p "$work/dst"
  out=$work/dst/$(basename "$file")
  case $impl in
    libsrt)
      recv=(srt-file-transmit -q "srt://127.0.0.1:$p?mode=listener" "file://$work/dst/")
      # The stream id names the output file; given explicitly (once, the implicit one arrived
      # empty and the listener had nowhere to write).
      send=(srt-file-transmit -q "file://$file" "srt://127.0.0.1:$p?mode=caller&streamid=$(basename "$file")") ;;
    tmio)
      recv=("$bulk" tmio recv "$p" "$out")
      send=("$bulk" tmio send "$p" "$file") ;;
    srt-tokio)
      recv=("$bulk" srt-tokio recv "$p" "$out" "$(stat -c %s "$file")")
      send=("$bulk" srt-tokio send "$p" "$file" "$srt_tokio_mbps") ;;
  esac
  rm -f "$work/recv.time" "$work/send.time"
  timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S' -o "$work/recv.time" "${recv[@]}" \
    > "$work/recv.log" 2>&1 &
  rpid=$!
  echo "$rpid" >> "$work/pids"
  wait_listening "$p" || echo "$impl: receiver not listening on $p" >&2
  t0=$(now)
  # In the background too: bash runs the INT/TERM trap during `wait`, not during a foreground job.
  timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S' -o "$work/send.time" "${send[@]}" \
    > "$work/send.log" 2>&1 &
  spid=$!
  echo "$spid" >> "$work/pids"
  wait "$spid" || echo "$impl: sender failed: $(tail -2 "$work/send.log" | tr '\n' ' ')" >&2
  wait "$rpid" || echo "$impl: receiver failed: $(tail -2 "$work/recv.log" | tr '\n' ' ')" >&2
  t1=$(now)
  : > "$work/pids"
  delivered=$(stat -c %s "$out" 2>/dev/null || echo 0)
  if [ "$file" = "$input" ]; then expected_sum=$sum_in; else expected_sum=$sum_warm; fi
  if [ "$delivered" = "$(stat -c %s "$file")" ] && [ "$(sha256sum < "$out" | cut -d' ' -f1)" = "$expected_sum" ]; then
    intact=1
  else
    echo "$impl: output differs from the input ($delivered of $(stat -c %s "$file") bytes);" \
      "receiver said: $(tail -n 2 "$work/recv.log" | tr '\n' ' ')" \
      "sender said: $(tail -n 2 "$work/send.log" | tr '\n' ' ')" >&2
  fi
  rm -f "$out"
  # GNU time writes "Command exited with non-zero status N" first when the command failed; the
  # figures are on the last line. A process killed by the timeout leaves no figures: counted 0.
  read -r _ ru rs < <(tail -n 1 "$work/recv.time" 2>/dev/null) || true
  read -r _ su ss < <(tail -n 1 "$work/send.time" 2>/dev/null) || true
  [[ ${ru:-} =~ ^[0-9.]+$ && ${rs:-} =~ ^[0-9.]+$ ]] || { ru=0; rs=0; }
  [[ ${su:-} =~ ^[0-9.]+$ && ${ss:-} =~ ^[0-9.]+$ ]] || { su=0; ss=0; }
  python3 -c 'import sys; t0,t1,ru,rs,su,ss=map(float,sys.argv[1:7]); print(f"{t1-t0:.3f} {ru+rs+su+ss:.3f} {sys.argv[7]} {sys.argv[8]}")' \
    "$t0" "$t1" "$ru" "$rs" "$su" "$ss" "$delivered" "$intact"
}

impls=(libsrt tmio srt-tokio)
cat "$input" > /dev/null
for impl in "${impls[@]}"; do
  transfer "$impl" "$warm" > /dev/null # warm-up, not counted
done

declare -A results
for i in $(seq 1 "$runs"); do
  for impl in "${impls[@]}"; do
    # Not in $(…): the trap could not run until a subshell finished.
    transfer "$impl" "$input" > "$work/line"
    line=$(< "$work/line")
    echo "run $i $impl: wall_s cpu_s bytes intact = $line" >&2
    results[$impl]+="$line"$'\n'
  done
done

echo "load after: $(cut -d" " -f1-3 /proc/loadavg)" >&2
export PEERS_LIBSRT="${results[libsrt]}" PEERS_TMIO="${results[tmio]}" PEERS_SRT_TOKIO="${results[srt-tokio]}"
python3 - "$bytes" "$runs" "$srt_tokio_mbps" "$img" <<'PY' | tee "$img/peers.txt"
import os, statistics, sys
total, runs, paced, img = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
raw = {"libsrt": os.environ["PEERS_LIBSRT"], "tmio": os.environ["PEERS_TMIO"],
       "srt-tokio": os.environ["PEERS_SRT_TOKIO"]}
rows = {}
for name, text in raw.items():
    runs_ = [tuple(map(float, l.split())) for l in text.strip().splitlines() if l.strip()]
    # A run that lost or corrupted data counts its intact bytes only (0 if corrupted).
    mbps = statistics.median((d if ok else 0) / w / 1e6 for w, c, d, ok in runs_)
    cpu_gb = statistics.median(c / d * 1e9 if (ok and d) else float("inf") for w, c, d, ok in runs_)
    intact = sum(int(ok) for w, c, d, ok in runs_)
    rows[name] = (mbps, cpu_gb, min(d for w, c, d, ok in runs_), intact, len(runs_))
print(f"\nbulk transfer over SRT on loopback, {total / 2**20:.0f} MiB, 1456-byte payloads, "
      f"median of {runs} runs (srt-tokio paced at {paced} Mbit/s)")
print(f"{'impl':<10} {'MB/s':>8} {'CPU s/GB':>9} {'min bytes':>11} {'intact':>7}   "
      f"{'speed vs libsrt':>15} {'CPU/byte vs libsrt':>18}")
base = rows["libsrt"]
for name, (mbps, cpu, d, ok, n) in rows.items():
    speed = mbps / base[0] if base[0] else float("nan")
    cpu_ratio = cpu / base[1] if base[1] not in (0, float("inf")) else float("nan")
    print(f"{name:<10} {mbps:>8.1f} {cpu:>9.2f} {int(d):>11} {ok:>4}/{n:<2}   "
          f"{speed:>14.2f}x {cpu_ratio:>17.2f}x")
with open(f"{img}/throughput-peers.dat", "w") as plot:
    for name, (mbps, cpu, d, ok, n) in rows.items():
        plot.write(f"MB/s {name} {mbps}\n")
        plot.write(f"CPU_s/GB_x100 {name} {cpu * 100 if cpu != float('inf') else 0}\n")
PY
"$PWD/target/release/svg-plot" bar "data=$img/throughput-peers.dat" "out=$img/throughput-peers.svg" \
  "title=Bulk over SRT on loopback, $mib MiB, median of $runs runs" "ylabel=MB/s ; CPU s per GB x 100"
rm -f "$img/throughput-peers.dat"
