#!/usr/bin/env bash
# The full chain, side by side in one run: a TCP source -> an entry tunnel -> SRT on loopback ->
# an exit tunnel -> a TCP sink, bulk, every transfer checked by sha256:
#
#   tmio       socat source -> `tmio proxy` -> SRT -> `tmio gateway` -> socat sink (release binary)
#   libsrt     socat source -> `srt-tunnel tcp->srt` -> SRT (file mode) -> `srt-tunnel srt->tcp`
#              -> socat sink (Debian's srt-tools, libsrt 1.5.1, 64 KiB chunks: -c 65536)
#   srt-tokio  socat source -> `srt-bulk srt-tokio tunnel-in` -> SRT (srt-tokio 0.4, live mode, the
#              only mode it has, paced at CHAIN_SRT_TOKIO_MBPS, default 400 Mbit/s as in peers.sh:
#              it loses data unpaced) -> `srt-bulk srt-tokio tunnel-out` -> socat sink. srt-tokio's
#              close loses the packets in flight, so its exit tunnel is told the byte count and
#              closes the sink's connection at it (its entry waits a second before closing)
#   socat      socat source -> `socat` -> TCP -> `socat` -> socat sink: the same two hops over TCP,
#              the ceiling of a relay pair on this machine
#
# each plain and with AES-256 (passphrase, pbkeylen=32; socat only plain). tmio runs with its
# SRT options uncapped (maxbw=-1: adaptive pacing) and, on a smaller transfer, with the defaults
# (the rtmp preset: 20 Mibit/s cap), which shows the CPU per byte of a stream at its real rate.
#
#   benches/chain.sh [MIB=512] [RUNS=5]
#
# Environment: CHAIN_TMIO (the tmio binary; default: built here, release), CHAIN_SRT_TOKIO_MBPS
# (the srt-tokio rows' pacing, Mbit/s), CHAIN_TMIO_OLD (a
# second tmio binary measured in the same rounds as "tmio-old": before/after a change),
# CHAIN_CAPPED_MIB (size of the capped transfers, default 8), CHAIN_TIMEOUT (seconds per process,
# default 120), CHAIN_ONLY (space-separated row names to run, e.g. "tmio tmio-aes").
#
# Source and sink are socat with 64 KiB blocks for every row; the sink writes to a file, whose
# sha256 is compared afterwards (not in the timed path). Throughput = payload bytes / wall time
# from the source's start to the sink's exit (connection set-up included). CPU = user + system
# seconds of the two tunnel processes (GNU time), per GB of payload; RSS = the larger peak of the
# two. Medians over RUNS, rows in alternating order within each round.
#
# srt-tunnel forces file mode and serves connection after connection; it ends a tunnel when either
# direction ends. Its SRT reads (libsrt 1.5.1, file mode) fail after about 1 s without data
# ("readBufferTo: 0 bytes read"), which closes the tunnel: a push whose server says nothing for a
# second is cut. So the sink answers like a server does, one byte every 200 ms, which keeps the
# return direction of every row busy alike (the source reads and discards it); the forward
# direction sends continuously.
#
# As root, net.core.{r,w}mem_max are raised to at least 16 MiB for the run (for every
# implementation alike) and restored after. Every process runs under a timeout; ports are fresh
# each transfer; temp files and leftover processes are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-512}
runs=${2:-5}
capped_mib=${CHAIN_CAPPED_MIB:-8}
limit=${CHAIN_TIMEOUT:-120}
passphrase=chain-bench-passphrase-0123456789

for tool in srt-tunnel socat ss python3; do
  command -v "$tool" >/dev/null || { echo "$tool missing: scripts/install-deps.sh installs it" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 2; }

work=$(mktemp -d /tmp/tmio-chain.XXXXXX)
restore_sysctl=()
cleanup() {
  local pid
  # Processes still running (only after an interruption or a failure): each is a `timeout`,
  # which passes the signal on to its command.
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

if [ -n "${CHAIN_TMIO:-}" ]; then
  tmio=$CHAIN_TMIO
else
  cargo build --release -q -p tmio
  tmio=$PWD/target/release/tmio
fi
tmio_old=${CHAIN_TMIO_OLD:-}
srt_tokio_mbps=${CHAIN_SRT_TOKIO_MBPS:-400}
cargo build --release -q -p tmio-benches --bin srt-bulk
bulk=$PWD/target/release/srt-bulk
echo "tmio: $tmio ($("$tmio" -V))${tmio_old:+; tmio-old: $tmio_old ($("$tmio_old" -V))}"
echo "load before: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs"

input=$work/payload.bin
small=$work/capped.bin
warm=$work/warm.bin
out=$work/out.bin
head -c $((mib << 20)) /dev/urandom > "$input"
head -c $((capped_mib << 20)) /dev/urandom > "$small"
head -c $((4 << 20)) /dev/urandom > "$warm"
declare -A sums
for f in "$input" "$small" "$warm"; do sums[$f]=$(sha256sum < "$f" | cut -d' ' -f1); done

port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# Waits until something listens on port $2 (tcp or udp: $1), at most 5 s.
wait_listening() {
  local i flag=-Hltn
  [ "$1" = udp ] && flag=-Hlun
  for i in $(seq 1 100); do
    if ss "$flag" "sport = :$2" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.05
  done
  return 1
}

# start NAME CMD... : runs CMD under GNU time (outside) and timeout (inside), in the background;
# sets $started to the pid of the `timeout` process (signals to it reach the command) and
# $started_time to the pid of `time` (the shell's child, to `wait` for).
start() {
  local name=$1 time_pid i
  shift
  rm -f "$work/$name.time"
  /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" \
    timeout -k 5 "$limit" "$@" > "$work/$name.log" 2>&1 &
  time_pid=$!
  started_time=$time_pid
  started=
  for i in $(seq 1 100); do
    started=$(pgrep -P "$time_pid" || true)
    [ -n "$started" ] && break
    sleep 0.01
  done
  # Empty when the command has already ended (a short source).
  if [ -n "$started" ]; then echo "$started" >> "$work/pids"; fi
}

# cpu NAME : "cpu_s rss_kib" of a finished process (0 0 without figures: killed by the timeout).
cpu() {
  local u s m
  read -r _ u s m < <(tail -n 1 "$work/$1.time" 2>/dev/null) || true
  [[ ${u:-} =~ ^[0-9.]+$ && ${s:-} =~ ^[0-9.]+$ && ${m:-} =~ ^[0-9]+$ ]] || { u=0; s=0; m=0; }
  python3 -c 'import sys; print(f"{float(sys.argv[1]) + float(sys.argv[2]):.3f} {sys.argv[3]}")' "$u" "$s" "$m"
}

# transfer ROW FILE : one transfer through the chain of ROW; prints
# "wall_s cpu_s delivered_bytes intact(1/0) rss_kib"
transfer() {
  local row=$1 file=$2 bin=$tmio query= entry mid sink t0 t1 entry_pid exit_pid source_pid sink_pid
  local delivered intact=0 c1 c2 r1 r2 pid sink_time
  entry=$(port); mid=$(port); sink=$(port)
  rm -f "$out"
  : > "$work/pids"
  case $row in
    tmio-old*) bin=$tmio_old ;;
  esac
  case $row in
    *-aes) query="passphrase=$passphrase&pbkeylen=32" ;;
  esac
  # Writes what arrives to $out and answers a byte every 200 ms (see the top); exits at once
  # (-t 0) when the exit tunnel closes the connection.
  start sink socat -b 65536 -t 0 "TCP-LISTEN:$sink,bind=127.0.0.1,reuseaddr" \
    "SYSTEM:while printf . 2>/dev/null; do sleep 0.2; done!!CREATE:$out"
  sink_pid=$started
  sink_time=$started_time
  wait_listening tcp "$sink" || echo "$row: sink not listening on $sink" >&2
  case $row in
    tmio*)
      local opts="maxbw=-1"
      [[ $row == tmio-capped* ]] && opts=""
      [ -n "$query" ] && opts="${opts:+$opts&}$query"
      start exit "$bin" -q gateway "srt://127.0.0.1:$mid${opts:+?$opts}" "tcp://127.0.0.1:$sink"
      exit_pid=$started
      wait_listening udp "$mid" || echo "$row: gateway not listening on $mid" >&2
      start entry "$bin" -q proxy "tcp://127.0.0.1:$entry" "srt://127.0.0.1:$mid${opts:+?$opts}"
      entry_pid=$started
      wait_listening tcp "$entry" || echo "$row: proxy not listening on $entry" >&2 ;;
    libsrt*)
      start exit srt-tunnel -c 65536 "srt://127.0.0.1:$mid${query:+?$query}" "tcp://127.0.0.1:$sink"
      exit_pid=$started
      wait_listening udp "$mid" || echo "$row: exit srt-tunnel not listening on $mid" >&2
      start entry srt-tunnel -c 65536 "tcp://127.0.0.1:$entry" "srt://127.0.0.1:$mid${query:+?$query}"
      entry_pid=$started
      wait_listening tcp "$entry" || echo "$row: entry srt-tunnel not listening on $entry" >&2 ;;
    srt-tokio*)
      start exit "$bulk" srt-tokio tunnel-out "$mid" "$sink" "$(stat -c %s "$file")" ${query:+"$passphrase"}
      exit_pid=$started
      wait_listening udp "$mid" || echo "$row: exit srt-tokio tunnel not listening on $mid" >&2
      start entry "$bulk" srt-tokio tunnel-in "$entry" "$mid" "$srt_tokio_mbps" ${query:+"$passphrase"}
      entry_pid=$started
      wait_listening tcp "$entry" || echo "$row: entry srt-tokio tunnel not listening on $entry" >&2 ;;
    socat)
      start exit socat -b 65536 "TCP-LISTEN:$mid,bind=127.0.0.1,reuseaddr" "TCP:127.0.0.1:$sink"
      exit_pid=$started
      wait_listening tcp "$mid" || echo "$row: exit socat not listening on $mid" >&2
      start entry socat -b 65536 "TCP-LISTEN:$entry,bind=127.0.0.1,reuseaddr" "TCP:127.0.0.1:$mid"
      entry_pid=$started
      wait_listening tcp "$entry" || echo "$row: entry socat not listening on $entry" >&2 ;;
  esac
  t0=$(now)
  start source socat -b 65536 "OPEN:$file!!OPEN:/dev/null" "TCP:127.0.0.1:$entry"
  source_pid=$started
  # The sink ends when the exit tunnel closes its connection (in the background: bash runs the
  # INT/TERM trap during `wait`).
  wait "$sink_time" || echo "$row: sink failed: $(tail -2 "$work/sink.log" | tr '\n' ' ')" >&2
  t1=$(now)
  # The servers (tmio gateway, both srt-tunnels) and a tmio proxy that is still closing are
  # stopped now that the sink has everything; their CPU so far is what the transfer cost.
  for pid in "$entry_pid" "$exit_pid" "$source_pid"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  : > "$work/pids"
  delivered=$(stat -c %s "$out" 2>/dev/null || echo 0)
  if [ "$delivered" = "$(stat -c %s "$file")" ] && [ "$(sha256sum < "$out" | cut -d' ' -f1)" = "${sums[$file]}" ]; then
    intact=1
  else
    echo "$row: output differs from the input ($delivered of $(stat -c %s "$file") bytes);" \
      "entry said: $(tail -n 2 "$work/entry.log" | tr '\n' ' ')" \
      "exit said: $(tail -n 2 "$work/exit.log" | tr '\n' ' ')" >&2
  fi
  rm -f "$out"
  read -r c1 r1 < <(cpu entry)
  read -r c2 r2 < <(cpu exit)
  python3 -c 'import sys; t0,t1,c1,c2=map(float,sys.argv[1:5]); print(f"{t1-t0:.3f} {c1+c2:.3f} {sys.argv[5]} {sys.argv[6]} {max(int(sys.argv[7]),int(sys.argv[8]))}")' \
    "$t0" "$t1" "$c1" "$c2" "$delivered" "$intact" "$r1" "$r2"
}

rows=(libsrt tmio srt-tokio socat libsrt-aes tmio-aes srt-tokio-aes tmio-capped tmio-capped-aes)
[ -n "$tmio_old" ] && rows+=(tmio-old tmio-old-aes)
if [ -n "${CHAIN_ONLY:-}" ]; then read -r -a rows <<< "$CHAIN_ONLY"; fi
file_of() { if [[ $1 == *capped* ]]; then echo "$small"; else echo "$input"; fi; }

cat "$input" "$small" > /dev/null
for row in "${rows[@]}"; do
  transfer "$row" "$warm" > /dev/null # warm-up, not counted
done

declare -A results
for i in $(seq 1 "$runs"); do
  # Alternate the order from round to round, so no row always follows the same one.
  if (( i % 2 == 0 )); then order=($(printf '%s\n' "${rows[@]}" | tac)); else order=("${rows[@]}"); fi
  for row in "${order[@]}"; do
    # Not in $(…): the trap could not run until a subshell finished.
    transfer "$row" "$(file_of "$row")" > "$work/line"
    line=$(< "$work/line")
    echo "run $i $row: wall_s cpu_s bytes intact rss_kib = $line" >&2
    results[$row]+="$line"$'\n'
  done
done
echo "load after: $(cut -d" " -f1-3 /proc/loadavg)" >&2

{
  for row in "${rows[@]}"; do printf '%s\n%s' "== $row" "${results[$row]}"; done
} > "$work/results"
python3 - "$work/results" "$runs" "$mib" "$capped_mib" <<'PY'
import statistics, sys
path, runs, mib, capped = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows, name = {}, None
for line in open(path):
    line = line.strip()
    if line.startswith("== "):
        name = line[3:]; rows[name] = []
    elif line:
        rows[name].append(tuple(map(float, line.split())))
table = {}
for name, runs_ in rows.items():
    # A run that lost or corrupted data counts 0 MB/s and infinite CPU per GB.
    mbps = statistics.median((d if ok else 0) / w / 1e6 for w, c, d, ok, r in runs_)
    cpu_gb = statistics.median(c / d * 1e9 if (ok and d) else float("inf") for w, c, d, ok, r in runs_)
    rss = statistics.median(r for w, c, d, ok, r in runs_) / 1024
    intact = sum(int(ok) for w, c, d, ok, r in runs_)
    table[name] = (mbps, cpu_gb, rss, intact, len(runs_), int(min(d for w, c, d, ok, r in runs_)))
print(f"\nTCP -> tunnel -> SRT/TCP on loopback -> tunnel -> TCP, {mib} MiB ({capped} MiB for the "
      f"capped rows), median of {runs} runs; CPU and RSS of the two tunnel processes")
print(f"{'row':<16} {'MB/s':>8} {'CPU s/GB':>9} {'RSS MiB':>8} {'min bytes':>11} {'intact':>7}   "
      f"{'speed vs libsrt':>15} {'CPU/byte vs libsrt':>18}")
for name, (mbps, cpu, rss, ok, n, d) in table.items():
    base = table.get("libsrt-aes" if name.endswith("-aes") else "libsrt")
    speed = mbps / base[0] if base and base[0] else float("nan")
    cpu_ratio = cpu / base[1] if base and base[1] not in (0, float("inf")) else float("nan")
    print(f"{name:<16} {mbps:>8.1f} {cpu:>9.2f} {rss:>8.1f} {d:>11} {ok:>4}/{n:<2}   "
          f"{speed:>14.2f}x {cpu_ratio:>17.2f}x")
PY
