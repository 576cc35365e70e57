#!/usr/bin/env bash
# Goodput and retransmission overhead between two network namespaces (root only): a bulk push
# (stream-probe at an offered rate far above the path, so only backpressure holds it back) from
# namespace A through the chain to a sink in namespace B, through
#   tbf5     a 5 Mbit/s tbf link (both directions), no loss
#   lossP    P % random loss of UDP datagrams in each direction (nftables numgen), no rate limit,
#            for P in LOSSES (default "0 2 10 20")
# and for each case, alternated: tmio with the defaults (rtmp preset), tmio with maxbw=-1,
# libsrt 1.5.1 (srt-file-transmit pair in file mode, stdin → SRT → stdout, the reliable mode),
# and plain TCP (the pusher straight into a relay in B; the loss rule is UDP-only, so TCP only
# appears in the tbf case).
#
#   TMIO=path/to/tmio benches/lossy.sh [TBF_MB=4] [LOSS_MB=8] [RUNS=2]
#
# The namespaces follow crates/tmio-testkit/src/netns.rs: a veth pair with 10.x addresses,
# gso_max_segs 1 on both ends (one datagram per packet for the rules), GRO off, `tbf` for rate,
# nftables `numgen random` for loss (no sch_netem on this kernel). They are created here and
# deleted on exit; every transfer is bounded (CHAIN_TIMEOUT, default 120 s).
#
# Figures per transfer: goodput = payload delivered (a prefix checked record by record; "intact"
# counts the transfers that arrived whole) / time from the pusher's start to the sink's end;
# retransmissions in % of the unique packets, from tmio's own statistics (its --stats-json last
# record; srt-file-transmit writes its statistics only while reading its input, long before the
# end, so libsrt has no such figure here); bytes the sender's veth sent per payload byte
# (headers and retransmissions included, any implementation); what the sender's tbf dropped, in
# % of the packets offered to it (those never reach the wire). Writes
# $BENCH_IMG/goodput-loss.svg, $BENCH_IMG/throughput-tbf.svg and $BENCH_IMG/lossy.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
tbf_mb=${1:-4}
loss_mb=${2:-8}
runs=${3:-2}
losses=(${LOSSES:-0 2 10 20})
img=${BENCH_IMG:-docs/img}
[ "$(id -u)" = 0 ] || { echo "lossy.sh needs root (network namespaces)" >&2; exit 2; }
command -v srt-file-transmit >/dev/null || { echo "srt-file-transmit missing: apt-get install srt-tools" >&2; exit 2; }
source benches/stream-lib.sh
cargo build --release -q -p tmio-benches --bin svg-plot
mkdir -p "$img"
export CHAIN_TIMEOUT=${CHAIN_TIMEOUT:-120}

netns_pair "tmio-bench-$$"
echo "namespaces $ns_a ($addr_a) and $ns_b ($addr_b)" >&2

: > "$work/results"
# one_case NAME RATE_BITS LOSS_PERCENT MB IMPLS...
one_case() {
  local name=$1 rate=$2 loss=$3 mb=$4 i impl
  shift 4
  set_rate "$ns_a" veth0-a "$rate"
  set_rate "$ns_b" veth0-b "$rate"
  set_loss "$ns_a" veth0-a "$loss"
  set_loss "$ns_b" veth0-b "$loss"
  for i in $(seq 1 "$runs"); do
    for impl in "$@"; do
      run_chain "$impl" "$ns_a" "$ns_b" "$addr_b" mbps=10000 seconds=600 "bytes=$((mb << 20))" \
        > "$work/line" || echo "impl=$impl failed" > "$work/line"
      echo "case=$name loss=$loss $(cat "$work/line")" >> "$work/results"
      echo "$name run $i: $(cat "$work/line")" >&2
    done
  done
}

one_case tbf5 5000000 0 "$tbf_mb" tmio tmio-maxbw libsrt tcp
for loss in "${losses[@]}"; do
  one_case "loss$loss" 0 "$loss" "$loss_mb" tmio tmio-maxbw libsrt
done
set_loss "$ns_a" veth0-a 0
set_loss "$ns_b" veth0-b 0
echo "load after: $(cut -d" " -f1-3 /proc/loadavg)" >&2

python3 - "$work/results" "$img" "$runs" "$tbf_mb" "$loss_mb" <<'PY'
import statistics, sys
results, img, runs, tbf_mb, loss_mb = sys.argv[1:6]
rows = {}
order = []
for line in open(results):
    f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    key = (f["case"], f["impl"])
    if key not in rows:
        order.append(key)
    rows.setdefault(key, []).append(f)
def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
def ok(r):
    a, _, b = r.get("intact", "0/0").partition("/")
    return a == b and a not in ("", "0")
def med(rs, k, only_ok=False):
    vals = [num(r.get(k)) if (ok(r) or not only_ok) else 0.0 for r in rs]
    vals = [v for v in vals if v == v]
    return statistics.median(vals) if vals else float("nan")
names = {"tcp": "TCP", "tmio": "tmio defaults", "tmio-maxbw": "tmio maxbw=-1",
         "libsrt": "libsrt file mode"}
out = [f"bulk push between namespaces: tbf5 = {tbf_mb} MiB through 5 Mbit/s tbf, "
       f"lossP = {loss_mb} MiB at P % random loss each way; median of {runs} runs",
       f"{'case':<8} {'impl':<17} {'goodput Mbit/s':>14} {'retx %':>8} {'wire/payload':>12} "
       f"{'tbf drop %':>10} {'CPU s send':>10} {'CPU s recv':>10} {'intact':>7}"]
loss_points, tbf_bars = [], []
for case, impl in order:
    rs = rows[(case, impl)]
    good = med(rs, "goodput")
    retx = med(rs, "retx_pct")
    wire = med(rs, "wire_per_payload")
    intact = sum(1 for r in rs if ok(r))
    out.append(f"{case:<8} {names.get(impl, impl):<17} {good:>14.2f} "
               f"{('%.2f' % retx) if retx == retx else '-':>8} {wire:>12.3f} {med(rs, 'qdisc_drop_pct'):>10.2f} "
               f"{med(rs, 'cpu_send'):>10.2f} {med(rs, 'cpu_recv'):>10.2f} {intact:>4}/{len(rs):<2}")
    label = names.get(impl, impl).replace(" ", "_")
    if case.startswith("loss"):
        loss_points.append(f"{label} {case[4:]} {good}")
    else:
        tbf_bars.append(f"goodput_Mbit/s {label} {good}")
        tbf_bars.append(f"wire_bytes_per_payload_byte {label} {wire}")
text = "\n".join(out)
print("\n" + text)
open(f"{img}/lossy.txt", "w").write(text + "\n")
open(f"{img}/goodput-loss.dat", "w").write("\n".join(loss_points) + "\n")
open(f"{img}/throughput-tbf.dat", "w").write("\n".join(tbf_bars) + "\n")
PY
plot=$PWD/target/release/svg-plot
"$plot" line "data=$img/goodput-loss.dat" "out=$img/goodput-loss.svg" \
  "title=Bulk goodput against random loss (veth between namespaces)" "xlabel=loss each way, %" \
  "ylabel=goodput, Mbit/s"
"$plot" bar "data=$img/throughput-tbf.dat" "out=$img/throughput-tbf.svg" \
  "title=Bulk push through a 5 Mbit/s tbf link" "ylabel=Mbit/s ; bytes on the wire per payload byte"
rm -f "$img/goodput-loss.dat" "$img/throughput-tbf.dat"
echo "wrote $img/goodput-loss.svg, $img/throughput-tbf.svg and $img/lossy.txt" >&2
