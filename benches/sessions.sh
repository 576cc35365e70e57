#!/usr/bin/env bash
# Many sessions at once on loopback: N streams of MBPS (default 5) Mbit/s each, 1316-byte
# records evenly spaced and timestamped (stream-probe push, one process for all N), through
#   tmio    N `tmio proxy` processes and one `tmio gateway` (the defaults: the rtmp preset)
#   facade  N `TmioProxy` facades in ONE process (facade-sessions) and one `tmio gateway`
#           (only for N = FACADE_N, default 200)
#   socat   N `socat` TCP relays (one process per session, straight to the sink, no SRT): the
#           least work a process per session can do per record, the floor under N proxies
#   libsrt  N srt-file-transmit pairs (file mode) through pipes: stream-probe tcp-to-stdout |
#           srt-file-transmit caller … srt-file-transmit listener | stream-probe stdin-to-tcp
#           (srt-tunnel, libsrt's TCP↔SRT tool, cuts every session after about a second here,
#           so it is not used). The two stream-probe pipes per session are not counted in the
#           CPU and memory figures, but they load the same two CPUs.
# to one stream-probe sink (every record checked, each stream's sha256 compared with the
# pusher's). Per N the implementations are alternated.
#
#   TMIO=path/to/tmio benches/sessions.sh ["10 50 200"] [SECONDS=20] [MBPS=5]
#
# Figures: byte-exact sessions, p99 added latency over all records, CPU seconds per GB of
# payload of the sending side (all proxies, or the facade process) and of the receiving side
# (the gateway, or all libsrt listeners), memory per session (receiving side's peak RSS / N, or
# the median listener's; a proxy's median peak RSS, or the facade process's / N), the pusher's
# largest lag behind its schedule (a saturated machine shows here), and the CPU of the harness
# itself (the pusher and the sink, which hash and check every record). 200 sessions saturate
# 2 CPUs: every process is bounded by `timeout` (3 × SECONDS + 120 s), and what arrived is
# reported. Writes $BENCH_IMG/sessions.txt and $BENCH_IMG/sessions-cpu.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a counts <<< "${1:-10 50 200}"
seconds=${2:-20}
mbps=${3:-5}
facade_n=${FACADE_N:-200}
impls_env=${SESSION_IMPLS:-tmio facade socat libsrt}
img=${BENCH_IMG:-docs/img}
source benches/stream-lib.sh
cargo build --release -q -p tmio-benches --bin svg-plot
mkdir -p "$img"
limit=$(python3 -c "print(int($seconds * 3 + 120))")
# Up to 4 processes per session and their pipes: make sure the descriptors suffice.
ulimit -n 65536 2>/dev/null || true

# sessions_run IMPL N : one run; prints a KEY=VALUE line.
sessions_run() {
  local impl=$1 n=$2 i gw="" sink_addr ports=() proxies=() addr t0 t1 send_cpu=0 recv_cpu=0
  local send_rss=0 recv_rss=0 facade_pid=""
  rm -f "$work"/*.out "$work"/*.err "$work"/*.time
  : > "$work/pids"
  bg sink "" "$limit" "$probe" sink listen=127.0.0.1:0 "sessions=$n" "timeout=$((limit - 5))"
  local sink_pid=$bg_pid
  sink_addr=$(listening sink) || return 1
  case $impl in
    tmio|facade)
      bg gateway "" "$limit" "$TMIO" -q gateway srt://127.0.0.1:0 "tcp://$sink_addr" \
        --max-sessions 100000 --max-sessions-per-ip 100000 --max-handshakes-per-second 100000
      local gw_pid=$bg_pid
      gw=$(listening gateway) || return 1 ;;
  esac
  case $impl in
    tmio)
      for i in $(seq 1 "$n"); do
        bg "proxy-$i" "" "$limit" "$TMIO" -q proxy tcp://127.0.0.1:0 "srt://$gw?streamid=#!::r=live/s$i"
        proxies+=("$bg_pid")
      done
      for i in $(seq 1 "$n"); do
        addr=$(listening "proxy-$i") || return 1
        ports+=("$addr")
      done ;;
    socat)
      for i in $(seq 1 "$n"); do
        local port
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        bg "proxy-$i" "" "$limit" socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" "TCP:$sink_addr,nodelay"
        proxies+=("$bg_pid")
        ports+=("127.0.0.1:$port")
      done
      for addr in "${ports[@]}"; do
        local k
        for k in $(seq 1 100); do
          ss -Hltn "sport = :${addr##*:}" 2>/dev/null | grep -q . && break
          sleep 0.05
        done
        ss -Hltn "sport = :${addr##*:}" 2>/dev/null | grep -q . \
          || { echo "socat relay on $addr did not start" >&2; return 1; }
      done ;;
    facade)
      # Its stdin stays open (a fifo held by this shell) until the sink is done.
      mkfifo "$work/facade.in"
      ns_exec "" timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S %M' -o "$work/facade.time" \
        "$facade" "remote=srt://$gw" "sessions=$n" "hold=$limit" \
        < "$work/facade.in" > "$work/facade.out" 2> "$work/facade.err" &
      facade_pid=$!
      echo "$facade_pid" >> "$work/pids"
      exec 7> "$work/facade.in"
      local line="" k
      for k in $(seq 1 1200); do
        line=$(grep -m1 '^ports ' "$work/facade.out" 2>/dev/null || true)
        [ -n "$line" ] && break
        sleep 0.1
      done
      [ -n "$line" ] || { echo "facade-sessions did not start: $(tail -n 3 "$work/facade.err")" >&2; exec 7>&-; return 1; }
      for k in $(echo "${line#ports }" | tr ',' ' '); do ports+=("127.0.0.1:$k"); done ;;
    libsrt)
      ln -sf /dev/stdin "$work/stdout"
      for i in $(seq 1 "$n"); do
        local port
        port=$(free_port)
        ( timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S %M' -o "$work/recv-$i.time" \
            srt-file-transmit -q "srt://127.0.0.1:$port?mode=listener" file:///dev/ 2> "$work/recv-$i.err" \
          | timeout -k 5 "$limit" "$probe" stdin-to-tcp "connect=$sink_addr" 2>> "$work/recv-$i.err" ) < /dev/null &
        echo "$!" >> "$work/pids"
        wait_udp "" "$port" || echo "libsrt listener $i not up" >&2
        ( timeout -k 5 "$limit" "$probe" tcp-to-stdout listen=127.0.0.1:0 2> "$work/send-$i.err" \
          | timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S %M' -o "$work/send-$i.time" \
            srt-file-transmit -q "file://$work/stdout" "srt://127.0.0.1:$port?streamid=stdout" 2>> "$work/send-$i.err" ) < /dev/null &
        echo "$!" >> "$work/pids"
      done
      for i in $(seq 1 "$n"); do
        local j line=""
        for j in $(seq 1 200); do
          line=$(grep -m1 '^listening ' "$work/send-$i.err" 2>/dev/null || true)
          [ -n "$line" ] && break
          sleep 0.05
        done
        [ -n "$line" ] || { echo "libsrt sender $i did not start" >&2; return 1; }
        ports+=("${line#listening }")
      done ;;
  esac
  t0=$(now)
  bg push "" "$limit" "$probe" push "connect=$(IFS=,; echo "${ports[*]}")" "mbps=$mbps" "seconds=$seconds"
  wait "$bg_pid" || echo "$impl N=$n: pusher reported errors: $(grep -c 'error=none' "$work/push.err" || true)/$n sessions clean" >&2
  wait "$sink_pid" || echo "$impl N=$n: sink reported errors: $(tail -n 1 "$work/sink.out")" >&2
  t1=$(now)
  case $impl in
    socat)
      for i in "${proxies[@]}"; do wait "$i" 2>/dev/null || true; done
      send_cpu=$(for i in $(seq 1 "$n"); do cpu "proxy-$i"; done | paste -sd+ | bc)
      send_rss=$(for i in $(seq 1 "$n"); do maxrss "proxy-$i"; done | sort -n | sed -n "$(( (n + 1) / 2 ))p") ;;
    tmio)
      for i in "${proxies[@]}"; do wait "$i" 2>/dev/null || true; done
      stop_leaf "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
      send_cpu=$(for i in $(seq 1 "$n"); do cpu "proxy-$i"; done | paste -sd+ | bc)
      send_rss=$(for i in $(seq 1 "$n"); do maxrss "proxy-$i"; done | sort -n | sed -n "$(( (n + 1) / 2 ))p")
      recv_cpu=$(cpu gateway)
      recv_rss=$(( $(maxrss gateway) / n )) ;;
    facade)
      exec 7>&-
      wait "$facade_pid" 2>/dev/null || true
      stop_leaf "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
      send_cpu=$(cpu facade)
      send_rss=$(( $(maxrss facade) / n ))
      recv_cpu=$(cpu gateway)
      recv_rss=$(( $(maxrss gateway) / n )) ;;
    libsrt)
      local pid
      for pid in $(cat "$work/pids"); do wait "$pid" 2>/dev/null || true; done
      send_cpu=$(for i in $(seq 1 "$n"); do cpu "send-$i"; done | paste -sd+ | bc)
      send_rss=$(for i in $(seq 1 "$n"); do maxrss "send-$i"; done | sort -n | sed -n "$(( (n + 1) / 2 ))p")
      recv_cpu=$(for i in $(seq 1 "$n"); do cpu "recv-$i"; done | paste -sd+ | bc)
      recv_rss=$(for i in $(seq 1 "$n"); do maxrss "recv-$i"; done | sort -n | sed -n "$(( (n + 1) / 2 ))p") ;;
  esac
  local pid
  for pid in $(cat "$work/pids"); do kill_tree "$pid"; done
  wait 2>/dev/null || true
  : > "$work/pids"
  local ok total bytes
  read -r ok total < <(intact "$work/push.err" "$work/sink.err")
  bytes=$(field "$work/sink.out" bytes)
  echo "impl=$impl n=$n intact=$ok/$n bytes=${bytes:-0} wall=$(python3 -c "print(f'{$t1 - $t0:.2f}')")" \
    "p50=$(field "$work/sink.out" p50) p99=$(field "$work/sink.out" p99) max=$(field "$work/sink.out" max)" \
    "lag=$(max_lag "$work/push.err") cpu_send=$send_cpu cpu_recv=$recv_cpu rss_send_kb=$send_rss" \
    "rss_recv_per_session_kb=$recv_rss cpu_harness=$(echo "$(cpu push) + $(cpu sink)" | bc)"
}

command -v bc >/dev/null || { echo "bc missing: apt-get install bc" >&2; exit 2; }
: > "$work/results"
for n in "${counts[@]}"; do
  for impl in $impls_env; do
    [ "$impl" = facade ] && [ "$n" != "$facade_n" ] && continue
    echo "$impl N=$n: starting ($(cut -d" " -f1 /proc/loadavg) load)" >&2
    sessions_run "$impl" "$n" > "$work/line" || echo "impl=$impl n=$n failed" > "$work/line"
    echo "  $(cat "$work/line")" >&2
    cat "$work/line" >> "$work/results"
  done
done
echo "load after: $(cut -d" " -f1-3 /proc/loadavg)" >&2

python3 - "$work/results" "$img" "$seconds" "$mbps" <<'PY'
import sys
results, img, seconds, mbps = sys.argv[1:5]
names = {"tmio": "tmio (N processes)", "facade": "tmio facade (1 process)",
         "socat": "socat relays (floor)", "libsrt": "libsrt pairs"}
out = [f"N sessions x {mbps} Mbit/s for {seconds} s on loopback (one run each)",
       f"{'impl':<24} {'N':>4} {'intact':>8} {'p99 ms':>9} {'max ms':>9} {'push lag ms':>11} "
       f"{'send CPU s/GB':>13} {'recv CPU s/GB':>13} {'send RSS kB':>11} {'recv kB/sess':>12} "
       f"{'harness CPU s/GB':>16}"]
plot = []
def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
for line in open(results):
    f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    if "bytes" not in f:
        out.append(f"{names.get(f.get('impl'), f.get('impl')):<24} {f.get('n', '?'):>4} failed")
        continue
    gb = num(f["bytes"]) / 1e9
    per = lambda k: num(f[k]) / gb if gb else float("nan")
    out.append(f"{names.get(f['impl'], f['impl']):<24} {f['n']:>4} {f['intact']:>8} {num(f['p99']):>9.2f} "
               f"{num(f['max']):>9.2f} {num(f['lag']):>11.1f} {per('cpu_send'):>13.2f} "
               f"{per('cpu_recv'):>13.2f} {f['rss_send_kb']:>11} {f['rss_recv_per_session_kb']:>12} "
               f"{per('cpu_harness'):>16.2f}")
    label = names.get(f["impl"], f["impl"]).replace(" ", "_")
    plot.append(f"N={f['n']} {label}_send {per('cpu_send')}")
    plot.append(f"N={f['n']} {label}_recv {per('cpu_recv')}")
text = "\n".join(out)
print("\n" + text)
open(f"{img}/sessions.txt", "w").write(text + "\n")
open(f"{img}/sessions-cpu.dat", "w").write("\n".join(plot) + "\n")
PY
"$PWD/target/release/svg-plot" bar "data=$img/sessions-cpu.dat" "out=$img/sessions-cpu.svg" \
  "title=CPU per GB of payload, N sessions x ${mbps} Mbit/s (loopback)" "ylabel=CPU seconds per GB"
rm -f "$img/sessions-cpu.dat"
echo "wrote $img/sessions-cpu.svg and $img/sessions.txt" >&2
