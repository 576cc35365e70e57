# Shared by benches/latency.sh, benches/lossy.sh and benches/sessions.sh (sourced, not run).
#
# Provides: TMIO (the tmio binary under test: $TMIO, else target/release/tmio built here),
# $probe (stream-probe), $work (a temp directory), background processes bounded by `timeout`
# and measured by GNU time, network namespaces that are deleted on exit, and small helpers.
# Every process started here is recorded and, with its children, ended on exit.

[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 missing" >&2; exit 2; }

work=$(mktemp -d /tmp/tmio-stream.XXXXXX)
namespaces=()
: > "$work/pids"

# Kills PID and its descendants (children first found, then the parent).
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}

# stop_leaf PID : SIGTERM to the innermost process under PID (the program inside its `timeout` and
# `time` wrappers), so that it stops gracefully and the wrappers report.
stop_leaf() {
  local pid=$1 child
  while child=$(ps -o pid= --ppid "$pid" 2>/dev/null | head -n 1 | tr -d ' ') && [ -n "$child" ]; do
    pid=$child
  done
  kill -TERM "$pid" 2>/dev/null || true
}

stream_cleanup() {
  local pid ns
  if [ -f "$work/pids" ]; then
    while read -r pid; do kill_tree "$pid"; done < "$work/pids"
  fi
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  if [ -n "${KEEP_WORK:-}" ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap stream_cleanup EXIT
trap 'exit 130' INT TERM

echo "load before: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2

# The binaries: stream-probe from this checkout; tmio from $TMIO or built here.
# FACADE=path/to/facade-sessions measures another build of the facade (it links the library).
cargo build --release -q -p tmio-benches --bin stream-probe --bin facade-sessions
probe=$PWD/target/release/stream-probe
facade=${FACADE:-$PWD/target/release/facade-sessions}
if [ -z "${TMIO:-}" ]; then
  cargo build --release -q -p tmio
  TMIO=$PWD/target/release/tmio
fi
[ -x "$TMIO" ] || { echo "TMIO=$TMIO is not an executable" >&2; exit 2; }
echo "tmio under test: $TMIO ($("$TMIO" -V 2>/dev/null || echo "version unknown"))" >&2

# ns_exec NS CMD... : runs CMD in namespace NS, or here when NS is empty.
ns_exec() {
  local ns=$1
  shift
  if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}

# bg NAME NS LIMIT CMD... : starts CMD in the background (in NS), bounded by LIMIT seconds,
# timed by GNU time into $work/NAME.time ("wall user sys maxrss_kB"), stdout to $work/NAME.out,
# stderr to $work/NAME.err. Sets $bg_pid.
bg() {
  local name=$1 ns=$2 limit=$3
  shift 3
  rm -f "$work/$name.time"
  ns_exec "$ns" timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" \
    > "$work/$name.out" 2> "$work/$name.err" < /dev/null &
  bg_pid=$!
  echo "$bg_pid" >> "$work/pids"
}

# listening NAME : waits (at most 15 s) for "listening ADDR" on $work/NAME.out, prints ADDR.
listening() {
  local i line
  for i in $(seq 1 300); do
    line=$(grep -m1 '^listening ' "$work/$1.out" 2>/dev/null || true)
    if [ -n "$line" ]; then echo "${line#listening }" | sed -e 's|^[a-z]*://||'; return 0; fi
    sleep 0.05
  done
  echo "$1 did not start listening: $(tail -n 3 "$work/$1.err" 2>/dev/null | tr '\n' ' ')" >&2
  return 1
}

# cpu NAME : user + system seconds from $work/NAME.time (0 when the process left no figures).
cpu() {
  local _w u s _m
  read -r _w u s _m < <(tail -n 1 "$work/$1.time" 2>/dev/null) || true
  [[ ${u:-} =~ ^[0-9.]+$ && ${s:-} =~ ^[0-9.]+$ ]] || { echo 0; return; }
  python3 -c "print(f'{$u + $s:.3f}')"
}

# maxrss NAME : peak resident set size in kB from $work/NAME.time (0 when unknown).
maxrss() {
  local _w _u _s m
  read -r _w _u _s m < <(tail -n 1 "$work/$1.time" 2>/dev/null) || true
  [[ ${m:-} =~ ^[0-9]+$ ]] && echo "$m" || echo 0
}

# free_port : a free port on 127.0.0.1 (UDP and TCP alike, good enough for a benchmark).
free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_udp NS PORT : waits (at most 5 s) until something listens on UDP PORT in NS.
wait_udp() {
  local i
  for i in $(seq 1 100); do
    if ns_exec "$1" ss -Hlun "sport = :$2" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.05
  done
  return 1
}

# intact PUSH_ERR SINK_ERR : how many sessions the sink got byte-exact (same byte count and
# sha256 as pushed, no bad record), of how many pushed: prints "OK TOTAL".
intact() {
  python3 - "$1" "$2" <<'PY'
import re, sys
def lines(path, tag):
    out = {}
    try:
        text = open(path).read()
    except OSError:
        return out
    for l in text.splitlines():
        if l.startswith(tag + " session="):
            f = dict(kv.split("=", 1) for kv in l.split()[1:] if "=" in kv)
            out[f["session"]] = f
    return out
pushed, got = lines(sys.argv[1], "push"), lines(sys.argv[2], "sink")
ok = sum(1 for s, p in pushed.items()
         if s in got and got[s]["bytes"] == p["bytes"] and got[s]["sha256"] == p["sha256"]
         and got[s]["bad_records"] == "0" and int(p["bytes"]) > 0)
print(ok, len(pushed))
PY
}

# field FILE KEY : the value of KEY=VALUE on the sink's summary line ("sink sessions=…").
field() {
  grep -m1 '^sink sessions=' "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# max_lag FILE : the pusher's largest lag behind its schedule over all sessions, ms.
max_lag() {
  grep -o 'max_lag_ms=[0-9.]*' "$1" 2>/dev/null | cut -d= -f2 | sort -g | tail -n 1
}

# netns_pair NAME : two namespaces NAME-a / NAME-b joined by a veth pair veth0-a (10.W.X.1) /
# veth0-b (10.W.X.2), as crates/tmio-testkit/src/netns.rs makes them: ends created inside the
# namespaces, gso_max_segs 1 (one datagram per packet for the rules), GRO off when ethtool is
# there. Sets $ns_a, $ns_b, $addr_a, $addr_b. Deleted on exit.
netns_pair() {
  local base=$1 side dev
  ns_a=$base-a
  ns_b=$base-b
  local block=$(( ($$ * 4 + ${#namespaces[@]}) & 0xffff ))
  addr_a=10.$((block >> 8)).$((block & 255)).1
  addr_b=10.$((block >> 8)).$((block & 255)).2
  ip netns add "$ns_a"
  namespaces+=("$ns_a")
  ip netns add "$ns_b"
  namespaces+=("$ns_b")
  ip link add veth0-a netns "$ns_a" type veth peer name veth0-b netns "$ns_b"
  for side in a b; do
    local ns=$base-$side addr
    [ $side = a ] && addr=$addr_a || addr=$addr_b
    dev=veth0-$side
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr/24" dev "$dev"
    ip -n "$ns" link set "$dev" gso_max_segs 1 up
    if command -v ethtool >/dev/null; then ip netns exec "$ns" ethtool -K "$dev" gro off >/dev/null 2>&1 || true; fi
  done
}

# set_loss NS DEV PERCENT : nftables drops PERCENT % of the UDP datagrams arriving on DEV in NS
# (numgen random, as NetnsLinks::set_loss_toward); 0 removes the rule.
set_loss() {
  local ns=$1 dev=$2 threshold
  threshold=$(python3 -c "print(round($3 * 100))")
  {
    echo "table inet tmio-loss {}"
    echo "delete table inet tmio-loss"
    if [ "$threshold" -gt 0 ]; then
      printf 'table inet tmio-loss {\n  chain input {\n    type filter hook input priority 0; policy accept;\n'
      printf '    iifname "%s" meta l4proto udp numgen random mod 10000 < %s counter drop\n  }\n}\n' "$dev" "$threshold"
    fi
  } | ip netns exec "$ns" nft -f -
}

# set_rate NS DEV BITS_PER_SEC : tbf on DEV's egress in NS (as NetnsLinks::set_rate_from);
# 0 removes it.
set_rate() {
  local ns=$1 dev=$2 rate=$3
  if [ "$rate" = 0 ]; then
    ip netns exec "$ns" tc qdisc del dev "$dev" root 2>/dev/null || true
  else
    local burst=$(( rate / 8 / 100 ))
    [ "$burst" -lt 16000 ] && burst=16000
    ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "${rate}bit" burst "$burst" latency 100ms
  fi
}

# tx_bytes NS DEV, tx_packets NS DEV : bytes / packets sent on DEV so far (the kernel's counters).
tx_bytes() {
  ip netns exec "$1" cat "/sys/class/net/$2/statistics/tx_bytes"
}
tx_packets() {
  ip netns exec "$1" cat "/sys/class/net/$2/statistics/tx_packets"
}

now() { date +%s.%N; }

# qdisc_drops NS DEV : packets the root qdisc of DEV (tbf) dropped so far; 0 without one.
qdisc_drops() {
  ip netns exec "$1" tc -s qdisc show dev "$2" | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | head -n 1 | grep . || echo 0
}

# retx_pct tmio|libsrt FILE : retransmitted packets in % of the unique packets sent, from the
# last record of tmio's --stats-json file (or of libsrt's JSON stats: srt-file-transmit writes
# them only as it reads its input, so its last record comes long before the end and the scripts
# do not use it); "-" if unknown.
retx_pct() {
  python3 - "$1" "$2" <<'PY' 2>/dev/null || echo "-"
import json, sys
kind, path = sys.argv[1], sys.argv[2]
last = None
for line in open(path):
    line = line.strip()
    if line.startswith("{"):
        try:
            last = json.loads(line)
        except ValueError:
            pass
if kind == "tmio":
    t = last["total"]
    retx, unique = t["pkt_retrans"], t["pkt_sent"] - t["pkt_retrans"]
else:
    s = last["send"]
    retx, unique = s["packetsRetransmitted"], s["packetsUnique"]
print("%.2f" % (100.0 * retx / max(1, unique)))
PY
}

chain_count=0
# run_chain IMPL NS_A NS_B GW_HOST PUSH_ARGS... : one stream, pusher and proxy side in NS_A,
# gateway side and sink in NS_B (both empty: this namespace, loopback), GW_HOST the address the
# SRT (or TCP) hop listens on in NS_B. IMPL: tmio (defaults: the rtmp preset), tmio-maxbw
# (maxbw=-1), libsrt (srt-file-transmit pair, file mode, through pipes: stdin → SRT → stdout),
# tcp (the pusher straight into a TCP relay in front of the sink). Prints one line of KEY=VALUE:
# intact (byte-exact sessions/sessions), latency p50/p99/max ms, the pusher's largest lag behind
# its schedule, wall seconds from the pusher's start to the sink's end, bytes delivered, goodput
# Mbit/s, retransmitted packets in % of the unique packets sent (tmio's own statistics; none for
# libsrt, see retx_pct), bytes the sender's veth sent per payload byte, packets its tbf dropped
# and their share of the packets offered to it (netns only), CPU seconds of each side's process.
run_chain() {
  local impl=$1 nsa=$2 nsb=$3 gw_host=$4
  shift 4
  local tag limit=${CHAIN_TIMEOUT:-300} gw="" proxy_addr="" proxy_pid="" gw_pid="" port t0 t1 wire0=0 wire1=0 pkts0=0 pkts1=0 drops0=0 drops1=0 sink_pid
  chain_count=$((chain_count + 1))
  tag=$impl-$chain_count
  rm -f "$work"/{sink,gateway,proxy,push}.{out,err,time} "$work/stats.jsonl" "$work/libsrt.stats"
  case $impl in
    libsrt)
      ln -sf /dev/stdin "$work/stdout" # srt-file-transmit names the stream after its input file
      if [ -n "$nsb" ]; then port=$((9000 + chain_count)); else port=$(free_port); fi
      ( ns_exec "$nsb" timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S %M' -o "$work/gateway.time" \
          srt-file-transmit -q "srt://$gw_host:$port?mode=listener" file:///dev/ 2> "$work/gateway.err" \
        | ns_exec "$nsb" timeout -k 5 "$limit" "$probe" sink stdin "timeout=$((limit - 5))" "cdf=$work/cdf-$tag" \
          > "$work/sink.out" 2> "$work/sink.err" ) < /dev/null &
      sink_pid=$!
      echo "$sink_pid" >> "$work/pids"
      wait_udp "$nsb" "$port" || echo "libsrt receiver not listening on $port" >&2 ;;
    *)
      bg sink "$nsb" "$limit" "$probe" sink listen=127.0.0.1:0 sessions=1 "timeout=$((limit - 5))" "cdf=$work/cdf-$tag"
      sink_pid=$bg_pid
      local sink_addr
      sink_addr=$(listening sink) || return 1
      if [ "$impl" = tcp ]; then
        bg gateway "$nsb" "$limit" "$probe" relay "listen=$gw_host:0" "to=$sink_addr"
      else
        bg gateway "$nsb" "$limit" "$TMIO" -q gateway "srt://$gw_host:0" "tcp://$sink_addr" \
          --max-sessions-per-ip 1000 --max-sessions 1000 --max-handshakes-per-second 1000
      fi
      gw_pid=$bg_pid
      gw=$(listening gateway) || return 1 ;;
  esac
  case $impl in
    tmio|tmio-maxbw)
      local extra=()
      [ "$impl" = tmio-maxbw ] && extra=(--opt maxbw=-1)
      bg proxy "$nsa" "$limit" "$TMIO" -q proxy tcp://127.0.0.1:0 "srt://$gw?streamid=#!::r=live/bench" \
        "${extra[@]}" --stats-json "$work/stats.jsonl"
      proxy_pid=$bg_pid
      proxy_addr=$(listening proxy) || return 1 ;;
    tcp) proxy_addr=$gw ;;
  esac
  [ -n "$nsa" ] && { wire0=$(tx_bytes "$nsa" veth0-a); pkts0=$(tx_packets "$nsa" veth0-a); drops0=$(qdisc_drops "$nsa" veth0-a); }
  t0=$(now)
  if [ "$impl" = libsrt ]; then
    ( ns_exec "$nsa" timeout -k 5 "$limit" "$probe" push stdout "$@" 2> "$work/push.err" \
      | ns_exec "$nsa" timeout -k 5 "$limit" /usr/bin/time -f '%e %U %S %M' -o "$work/proxy.time" \
          srt-file-transmit -q "file://$work/stdout" \
          "srt://$gw_host:$port?streamid=stdout" > "$work/proxy.out" 2> "$work/proxy.err" ) < /dev/null &
    echo "$!" >> "$work/pids"
    wait "$!" || echo "$tag: sender side failed: $(tail -n 2 "$work/proxy.err" "$work/push.err" | tr '\n' ' ')" >&2
  else
    bg push "$nsa" "$limit" "$probe" push "connect=$proxy_addr" "$@"
    wait "$bg_pid" || echo "$tag: pusher failed: $(tail -n 2 "$work/push.err" | tr '\n' ' ')" >&2
  fi
  wait "$sink_pid" || echo "$tag: sink failed: $(tail -n 3 "$work/sink.err" | tr '\n' ' ')" >&2
  t1=$(now)
  [ -n "$nsa" ] && { wire1=$(tx_bytes "$nsa" veth0-a); pkts1=$(tx_packets "$nsa" veth0-a); drops1=$(qdisc_drops "$nsa" veth0-a); }
  [ -n "$proxy_pid" ] && { wait "$proxy_pid" || echo "$tag: proxy exited non-zero: $(tail -n 2 "$work/proxy.err" | tr '\n' ' ')" >&2; }
  # The gateway side (tmio gateway, the relay) outlives its session: TERM to the process itself
  # (not to the `timeout`/`time` wrappers, so time still writes its figures), then whatever is left.
  local pid
  if [ -n "$gw_pid" ]; then stop_leaf "$gw_pid"; wait "$gw_pid" 2>/dev/null || true; fi
  for pid in $(cat "$work/pids"); do kill_tree "$pid"; done
  wait 2>/dev/null || true
  : > "$work/pids"
  local retx="-"
  case $impl in
    tmio|tmio-maxbw) retx=$(retx_pct tmio "$work/stats.jsonl") ;;
  esac
  local ok bytes
  read -r ok total < <(intact "$work/push.err" "$work/sink.err")
  bytes=$(field "$work/sink.out" bytes)
  python3 - <<PY
t0, t1, b = $t0, $t1, ${bytes:-0}
wire = ($wire1 - $wire0) / b if b and $wire1 > $wire0 else float("nan")
print(f"impl=$impl intact=$ok/$total p50=$(field "$work/sink.out" p50) p99=$(field "$work/sink.out" p99) "
      f"max=$(field "$work/sink.out" max) lag=$(max_lag "$work/push.err") wall={t1 - t0:.3f} bytes={b} "
      f"goodput={b * 8 / (t1 - t0) / 1e6:.3f} retx_pct=$retx wire_per_payload={wire:.4f} qdisc_drops={$drops1 - $drops0} "
      f"qdisc_drop_pct={100 * ($drops1 - $drops0) / max(1, $pkts1 - $pkts0 + $drops1 - $drops0):.2f} "
      f"cpu_send=$(cpu proxy) cpu_recv=$(cpu gateway) cdf=$work/cdf-$tag")
PY
}
