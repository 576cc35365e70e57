#!/usr/bin/env bash
# Handshake floods against a release `tmio gateway` on loopback (tmio issue 7): what the gateway
# costs per stranger, and whether it survives them. For each mode of `srt-flood`
# (benches/src/bin/srt-flood.rs) a fresh gateway is started in front of a counting TCP sink
# (`srt-flood sink`), flooded, measured, and then asked to serve a real push:
#
#   induction  N induction handshakes, each from a new 127.x.y.z source address
#   handshake  N complete handshakes (induction + conclusion with HSREQ), then silence
#   garbage    N datagrams that made srt-protocol 0.4.4's parser panic
#
#   benches/handshake-flood.sh [INDUCTIONS=60000] [HANDSHAKES=3000] [GARBAGE=1000]
#
# Printed per mode: the flood's own summary (sent, answered, accepted, rejected); the gateway's
# RSS (VmRSS) before, right after and SETTLE seconds after the flood (default 12: longer than the
# 10 s a pending handshake was kept), and its peak (VmHWM, or a larger VmRSS seen); its CPU time
# (utime + stime from /proc/PID/stat) during the flood, per flood item, and in the SETTLE seconds
# after (idle sessions' upkeep); the upstream connections the sink accepted and how many were open
# (at most during the flood, sampled every 100 ms; right after; after SETTLE s); the gateway's
# open file descriptors likewise; whether it is still alive, and whether a 4 MiB push through
# `tmio proxy` (routed by stream id to a second sink) arrives with the right sha256 afterwards.
# FLOOD_MAX_SECONDS (default 300) bounds each flood.
#
# Loopback only. Every wait is bounded, each flood stops by itself (count and MAX_SECONDS), and
# every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
inductions=${1:-60000}
handshakes=${2:-3000}
garbage=${3:-1000}
settle=${SETTLE:-12}
flood_seconds=${FLOOD_MAX_SECONDS:-300}

work=$(mktemp -d /tmp/tmio-flood.XXXXXX)
# This shell's own background jobs (sinks, gateways) still running: only those are stopped.
cleanup() {
  local running
  running=$(jobs -pr)
  if [ -n "$running" ]; then
    kill $running 2>/dev/null || true
    sleep 0.2
    running=$(jobs -pr)
    [ -z "$running" ] || kill -9 $running 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build --release -q -p tmio --bin tmio -p tmio-benches --bin srt-flood
tmio=$PWD/target/release/tmio
flood=$PWD/target/release/srt-flood
ticks=$(getconf CLK_TCK)
echo "load before: $(cut -d" " -f1-3 /proc/loadavg) on $(nproc) CPUs; open files limit $(ulimit -n)"

# wait_line FILE PREFIX: prints the rest of the first line of FILE starting with PREFIX (10 s max).
wait_line() {
  local i line
  for i in $(seq 1 200); do
    line=$(grep -m1 "^$2" "$1" 2>/dev/null || true)
    if [ -n "$line" ]; then echo "${line#"$2"}"; return 0; fi
    sleep 0.05
  done
  echo "no line starting with '$2' in $1 within 10 s" >&2
  return 1
}

# report_value FILE KEY: a value of a sink's report ("-" when absent).
report_value() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "-" }' "$1"; }

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
hwm_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
fds() { if [ -d "/proc/$1/fd" ]; then find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; else echo "-"; fi; }
# CPU ticks (utime + stime) of a live process; fields counted after the ")" closing its name.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo "-"; }

# start_sink NAME: starts `srt-flood sink`, sets sink_pid, sink_addr and sink_report.
start_sink() {
  sink_report=$work/$1.report
  "$flood" sink $((flood_seconds + settle + 120)) "$sink_report" > "$work/$1.out" 2> "$work/$1.err" &
  sink_pid=$!
  sink_addr=$(wait_line "$work/$1.out" "listening ")
}

payload=$work/payload.bin
head -c $((4 << 20)) /dev/urandom > "$payload"
payload_sum=$(sha256sum < "$payload" | cut -d' ' -f1)

# check_push GATEWAY_ADDR CHECK_REPORT: pushes the payload through a tmio proxy; prints "ok" or why not.
check_push() {
  local gw=$1 report=$2 out=$work/proxy.out err=$work/proxy.err ppid local_addr i status
  "$tmio" proxy tcp://127.0.0.1:0 "srt://$gw?streamid=%23!::r=check" > "$out" 2> "$err" &
  ppid=$!
  if ! local_addr=$(wait_line "$out" "listening tcp://" 2>/dev/null); then
    wait "$ppid" 2>/dev/null || true
    echo "FAILED: the proxy could not connect ($(tail -1 "$err"))"
    return
  fi
  # bash's /dev/tcp: the pusher writes the payload and closes.
  cat "$payload" > "/dev/tcp/${local_addr%:*}/${local_addr##*:}" || true
  for i in $(seq 1 600); do kill -0 "$ppid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$ppid" 2>/dev/null; then
    kill -9 "$ppid" 2>/dev/null || true
    echo "FAILED: the proxy did not finish within 30 s"
    return
  fi
  status=0
  wait "$ppid" || status=$?
  for i in $(seq 1 100); do
    [ "$(report_value "$report" last_closed_sha256)" = "$payload_sum" ] && break
    sleep 0.1
  done
  if [ "$status" != 0 ]; then
    echo "FAILED: proxy exit status $status ($(tail -1 "$err"))"
  elif [ "$(report_value "$report" last_closed_sha256)" = "$payload_sum" ]; then
    echo "ok (4 MiB, sha256 matches)"
  else
    echo "FAILED: the check sink got $(report_value "$report" last_closed_bytes) bytes, wrong or no sha256"
  fi
}

summary=()
run_mode() {
  local mode=$1 count=$2 gpid gw cpu0 cpu1 cpu2 settle_cpu peak rss0 fds0 result rss1 hwm1 fds1 up1 open1 rss2 hwm2 fds2 open2 alive push stop_status cpu_s per_item
  start_sink "$mode-upstream"
  local upstream=$sink_addr upstream_report=$sink_report upstream_pid=$sink_pid
  start_sink "$mode-check"
  local check=$sink_addr check_report=$sink_report check_pid=$sink_pid
  "$tmio" gateway srt://127.0.0.1:0 "tcp://$upstream" --route "check=tcp://$check" \
    > "$work/$mode-gateway.out" 2> "$work/$mode-gateway.err" &
  gpid=$!
  gw=$(wait_line "$work/$mode-gateway.out" "listening srt://")
  sleep 0.5
  rss0=$(rss_mb "$gpid"); fds0=$(fds "$gpid"); cpu0=$(cpu_ticks "$gpid")

  # Peaks while the flood runs: the gateway's open fds and the sink's open upstream connections,
  # sampled every 100 ms until the flood is over.
  (
    max_fds=0 max_open=0
    while [ ! -e "$work/$mode.done" ]; do
      n=$(fds "$gpid"); [ "$n" = "-" ] || [ "$n" -le "$max_fds" ] || max_fds=$n
      n=$(report_value "$upstream_report" open); [ "$n" = "-" ] || [ "$n" -le "$max_open" ] || max_open=$n
      echo "$max_fds $max_open" > "$work/$mode.peaks"
      sleep 0.1
    done
  ) &
  local sampler=$!
  result=$("$flood" "$mode" "$gw" "$count" 2>&1 || true)
  touch "$work/$mode.done"
  wait "$sampler" || true
  local peak_fds peak_open
  read -r peak_fds peak_open < "$work/$mode.peaks" || { peak_fds="-"; peak_open="-"; }
  cpu1=$(cpu_ticks "$gpid"); rss1=$(rss_mb "$gpid"); hwm1=$(hwm_mb "$gpid"); fds1=$(fds "$gpid")
  sleep 0.3
  up1=$(report_value "$upstream_report" accepted); open1=$(report_value "$upstream_report" open)
  sleep "$settle"
  rss2=$(rss_mb "$gpid"); hwm2=$(hwm_mb "$gpid"); fds2=$(fds "$gpid"); cpu2=$(cpu_ticks "$gpid")
  open2=$(report_value "$upstream_report" open)
  if kill -0 "$gpid" 2>/dev/null; then alive=yes; else alive=no; fi
  push=$(check_push "$gw" "$check_report")

  if [ "$cpu1" != "-" ] && [ -n "$cpu1" ]; then
    cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$ticks" 'BEGIN { printf "%.2f", (b - a) / t }')
    per_item=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$ticks" -v n="$count" 'BEGIN { printf "%.1f", (b - a) / t / n * 1e6 }')
  else
    cpu_s="- (gateway gone)"; per_item="-"
  fi
  settle_cpu="-"
  if [ "$cpu2" != "-" ] && [ -n "$cpu2" ] && [ "$cpu1" != "-" ] && [ -n "$cpu1" ]; then
    settle_cpu=$(awk -v a="$cpu1" -v b="$cpu2" -v t="$ticks" 'BEGIN { printf "%.2f", (b - a) / t }')
  fi
  # VmHWM lags a fresh maximum of VmRSS: the peak is the largest figure seen.
  peak=$(printf '%s\n' "$hwm1" "$hwm2" "$rss1" "$rss2" | grep -v '^-$' | sort -g | tail -1)
  stop_status="(already exited)"
  if kill -0 "$gpid" 2>/dev/null; then
    kill -TERM "$gpid"
    for _ in $(seq 1 300); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.05; done
  fi
  if ! kill -0 "$gpid" 2>/dev/null; then
    local code=0
    wait "$gpid" 2>/dev/null || code=$?
    [ "$alive" = yes ] && stop_status="exit $code on SIGTERM" || stop_status="had exited with status $code by itself"
  else
    stop_status="still running 15 s after SIGTERM"
  fi
  kill -TERM "$upstream_pid" "$check_pid" 2>/dev/null || true
  wait "$upstream_pid" "$check_pid" 2>/dev/null || true

  echo
  echo "== $mode: $count"
  echo "flood:                 $result"
  echo "gateway RSS MB:        before $rss0, after $rss1, after ${settle}s $rss2, peak ${peak:--}"
  echo "gateway CPU:           $cpu_s s during the flood ($per_item us per $mode item), $settle_cpu s in the ${settle}s after"
  echo "upstream connections:  $up1 opened; open: at most $peak_open during the flood, $open1 right after, $open2 after ${settle}s"
  echo "gateway open fds:      before $fds0, at most $peak_fds during the flood, after $fds1, after ${settle}s $fds2"
  echo "gateway alive:         $alive after ${settle}s; $stop_status"
  echo "push afterwards:       $push"
  if grep -q "panicked" "$work/$mode-gateway.err"; then
    echo "gateway log:           $(grep -m1 -A1 "panicked" "$work/$mode-gateway.err" | tr '\n' ' ' | cut -c1-240)"
  fi
  if grep -q "listener ended" "$work/$mode-gateway.err"; then
    echo "gateway log:           $(grep -m1 "listener ended" "$work/$mode-gateway.err" | cut -c1-160)"
  fi
  summary+=("$(printf '%-10s %6s  rss %5s -> %5s MB (peak %5s)  cpu %7s us/item  upstream %5s  fds max %5s  alive %-3s  push %s' \
    "$mode" "$count" "$rss0" "$rss1" "${peak:--}" "$per_item" "$up1" "$peak_fds" "$alive" "${push%% *}")")
}

run_mode induction "$inductions"
run_mode handshake "$handshakes"
run_mode garbage "$garbage"

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
