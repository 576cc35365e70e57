#!/usr/bin/env bash
# Captures SRT handshakes between two libsrt peers (Debian's srt-live-transmit on both ends) on
# loopback and writes each case as a test-vector file: one hex line per UDP payload, preceded by a
# comment saying direction and meaning (see scripts/srt-pcap-to-hex.py).
#
# Usage: scripts/capture-srt-handshakes.sh [OUT_DIR] [CASE...]
#   OUT_DIR defaults to crates/tmio-transport/tests/data/handshakes; with no CASE, every case runs
#   (the group-* cases only when scripts/build-libsrt-bonding.sh has built srt-test-live).
#
# Needs root (tcpdump on lo; sudo -n is used when not root), tcpdump, python3 and srt-tools.
# Only loopback is touched: the listener binds 127.0.0.1:PORT, the caller calls it, tcpdump
# captures on lo what goes to or comes from 127.0.0.1:PORT. Each case lasts a few seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_DIR=${1:-$ROOT/crates/tmio-transport/tests/data/handshakes}
shift || true
SLT=${SRT_LIVE_TRANSMIT:-/usr/bin/srt-live-transmit}
TO_HEX=$ROOT/scripts/srt-pcap-to-hex.py
PASS=tmio-test-passphrase
WRONG_PASS=another-passphrase-here
SID='#!::r=live/test,m=publish'

say() { printf 'capture-srt-handshakes: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "needs root (tcpdump on lo) or sudo"
    SUDO=(sudo -n)
fi
command -v tcpdump >/dev/null 2>&1 || die "tcpdump is missing: apt-get install tcpdump"
command -v python3 >/dev/null 2>&1 || die "python3 is missing"
[[ -x $SLT ]] || die "$SLT is missing: apt-get install srt-tools"

# name | listener query | caller query | what it shows
CASES=(
    "live-plain||| plain live caller and listener, all defaults"
    "transtype-file|?transtype=file|?transtype=file| transtype=file on both sides"
    "transtype-file-caller-only||?transtype=file| transtype=file on the caller, live listener"
    "congestion-file-caller-only||?congestion=file| congestion=file alone on the caller, live listener"
    "congestion-file-both|?congestion=file|?congestion=file| congestion=file alone on both sides"
    "fec-bare-both|?packetfilter=fec|?packetfilter=fec| packetfilter=fec (no parameters) on both sides"
    "fec-bare-caller-only||?packetfilter=fec| packetfilter=fec (no parameters) on the caller only"
    "fec-both|?packetfilter=fec,cols:10,rows:5|?packetfilter=fec,cols:10,rows:5| FEC 10x5 on both sides"
    "fec-caller-only||?packetfilter=fec,cols:10,rows:5| FEC 10x5 on the caller, no filter on the listener"
    "fec-listener-only|?packetfilter=fec,cols:10,rows:5|| FEC 10x5 on the listener, no filter on the caller"
    "fec-mismatch|?packetfilter=fec,cols:20,rows:5|?packetfilter=fec,cols:10,rows:5| FEC cols 10 on the caller, cols 20 on the listener"
    "aes128-streamid|?passphrase=$PASS|?passphrase=$PASS&pbkeylen=16&streamid=$SID| AES-128 (pbkeylen=16) with a stream id"
    "aes256-streamid|?passphrase=$PASS&pbkeylen=32|?passphrase=$PASS&pbkeylen=32&streamid=$SID| AES-256 (pbkeylen=32) with a stream id"
    "passphrase-caller-only||?passphrase=$PASS| passphrase on the caller, none on the listener"
    "passphrase-caller-only-not-enforced|?enforcedencryption=0|?passphrase=$PASS| passphrase on the caller, none on a listener with enforcedencryption=0 (KMRSP error form)"
    "passphrase-listener-only|?passphrase=$PASS|| passphrase on the listener, none on the caller"
    "passphrase-wrong|?passphrase=$WRONG_PASS|?passphrase=$PASS| different passphrases"
    "messageapi-0-caller-only||?messageapi=0| messageapi=0 on the caller, default listener"
    "messageapi-0-both|?messageapi=0|?messageapi=0| messageapi=0 on both sides"
)

free_udp_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

LIBRARY_VERSION=$("$SLT" -version 2>&1 | sed -n 's/^\(SRT Library version: [^,]*\).*/\1/p' | head -n1)

# A tool's stderr on one line: timestamps and the "Media path" line dropped, at most 400 chars.
log_summary() {
    { grep -v '^Media path' "$1" || true; } | sed 's/^[0-9:.]*\///' | tr '\n' ' ' | cut -c1-400
}

run_case() {
    local name=$1 listener_query=$2 caller_query=$3 note=$4
    local port pcap tcpdump_pid listener_pid
    port=$(free_udp_port)
    pcap=$WORK/$name.pcap
    "${SUDO[@]}" tcpdump -i lo -U -s 0 -w "$pcap" "udp and ((src host 127.0.0.1 and src port $port) or (dst host 127.0.0.1 and dst port $port))" 2>"$WORK/$name.tcpdump.err" &
    tcpdump_pid=$!
    PIDS+=("$tcpdump_pid")
    # tcpdump says "listening on lo" once its capture is open.
    for _ in $(seq 50); do
        grep -q 'listening on' "$WORK/$name.tcpdump.err" 2>/dev/null && break
        sleep 0.1
    done
    local listener_options=${listener_query#\?}
    timeout 5 "$SLT" -a:no "srt://127.0.0.1:$port?mode=listener${listener_options:+&$listener_options}" file://con >/dev/null 2>"$WORK/$name.listener.err" &
    listener_pid=$!
    PIDS+=("$listener_pid")
    sleep 0.3
    # Two chunks of payload, then the caller stays up for a second and closes.
    (head -c 2912 /dev/zero; sleep 1) |
        timeout 4 "$SLT" -a:no file://con "srt://127.0.0.1:$port$caller_query" >/dev/null 2>"$WORK/$name.caller.err" || true
    sleep 0.3
    kill "$listener_pid" 2>/dev/null || true
    wait "$listener_pid" 2>/dev/null || true
    sleep 0.2
    "${SUDO[@]}" kill -INT "$tcpdump_pid" 2>/dev/null || true
    wait "$tcpdump_pid" 2>/dev/null || true
    local title
    title="case $name:$note
captured by scripts/capture-srt-handshakes.sh with Debian srt-tools ($LIBRARY_VERSION), loopback
listener: srt-live-transmit -a:no 'srt://127.0.0.1:PORT?mode=listener${listener_options:+&$listener_options}' file://con
caller:   srt-live-transmit -a:no file://con 'srt://127.0.0.1:PORT$caller_query'
listener log: $(log_summary "$WORK/$name.listener.err")
caller log: $(log_summary "$WORK/$name.caller.err")"
    python3 "$TO_HEX" "$pcap" "$port" "$OUT_DIR/$name.hex" --title "$title"
}

# Group cases: libsrt built with bonding (scripts/build-libsrt-bonding.sh), srt-test-live on both
# ends. The caller's two members reach the one group listener from different source addresses
# (127.0.0.2 and 127.0.0.3), so each link is its own 4-tuple; the listener binds 127.0.0.1:PORT.
# name | caller URI with PORT | what it shows
GROUP_CASES=(
    "group-broadcast|srt:////group?type=broadcast&nodes=127.0.0.1:PORT?source=127.0.0.2:0,127.0.0.1:PORT?source=127.0.0.3:0| broadcast group of two members"
    "group-backup|srt:////group?type=backup&nodes=127.0.0.1:PORT?source=127.0.0.2:0?weight=1,127.0.0.1:PORT?source=127.0.0.3:0?weight=0| main/backup group of two members (weights 1 and 0)"
)
BONDING_DIR=${TMIO_LIBSRT_BONDING_DIR:-/var/cache/tmio/libsrt-bonding}
TEST_LIVE=$BONDING_DIR/bin/srt-test-live
# Milliseconds of non-handshake traffic kept after the first data packet of a group case.
GROUP_DATA_MS=50

# Writes CHUNKS chunks of 1316 bytes (chunk i filled with the byte i % 256) at RATE bytes/s to
# stdout, then stays open for a second.
paced_pattern() {
    python3 - "$1" "$2" <<'PY'
import sys, time
chunks, rate = int(sys.argv[1]), float(sys.argv[2])
out, start = sys.stdout.buffer, time.monotonic()
for i in range(chunks):
    out.write(bytes([i % 256]) * 1316)
    out.flush()
    delay = start + (i + 1) * 1316 / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
time.sleep(1)
PY
}

run_group_case() {
    local name=$1 caller_template=$2 note=$3
    local port pcap tcpdump_pid listener_pid caller_uri
    [[ -x $TEST_LIVE ]] || die "$TEST_LIVE is missing: run scripts/build-libsrt-bonding.sh"
    port=$(free_udp_port)
    caller_uri=${caller_template//PORT/$port}
    pcap=$WORK/$name.pcap
    "${SUDO[@]}" tcpdump -i lo -U -s 0 -w "$pcap" "udp and ((src host 127.0.0.1 and src port $port) or (dst host 127.0.0.1 and dst port $port))" 2>"$WORK/$name.tcpdump.err" &
    tcpdump_pid=$!
    PIDS+=("$tcpdump_pid")
    for _ in $(seq 50); do
        grep -q 'listening on' "$WORK/$name.tcpdump.err" 2>/dev/null && break
        sleep 0.1
    done
    timeout 10 "$TEST_LIVE" -sf "srt://127.0.0.1:$port?mode=listener&groupconnect=1" file://con >"$WORK/$name.out" 2>"$WORK/$name.listener.err" &
    listener_pid=$!
    PIDS+=("$listener_pid")
    sleep 0.3
    # 400 chunks at 500 kB/s: about a second of data, 19 packets per link in the first 50 ms.
    paced_pattern 400 500000 |
        timeout 8 "$TEST_LIVE" -sf file://con "$caller_uri" >/dev/null 2>"$WORK/$name.caller.err" || true
    sleep 0.5
    kill -INT "$listener_pid" 2>/dev/null || true
    wait "$listener_pid" 2>/dev/null || true
    sleep 0.2
    "${SUDO[@]}" kill -INT "$tcpdump_pid" 2>/dev/null || true
    wait "$tcpdump_pid" 2>/dev/null || true
    local received
    received=$(stat -c %s "$WORK/$name.out")
    local title
    title="case $name:$note
captured by scripts/capture-srt-handshakes.sh with libsrt $(sed -n 's/^source=srt \([^ ]*\).*/\1/p' "$BONDING_DIR/stamp" 2>/dev/null) built with bonding (scripts/build-libsrt-bonding.sh), loopback
listener: srt-test-live -sf 'srt://127.0.0.1:PORT?mode=listener&groupconnect=1' file://con
caller:   srt-test-live -sf file://con '$caller_template'
fed 400 chunks of 1316 bytes (chunk i = byte i % 256) at 500 kB/s; the listener wrote $received bytes
handshakes of both member links, then every other datagram until $GROUP_DATA_MS ms after the first data packet
listener log: $(log_summary "$WORK/$name.listener.err")
caller log: $(log_summary "$WORK/$name.caller.err")"
    python3 "$TO_HEX" "$pcap" "$port" "$OUT_DIR/$name.hex" --all-ms "$GROUP_DATA_MS" --title "$title"
}

mkdir -p "$OUT_DIR"
selected=("$@")
for entry in "${CASES[@]}"; do
    IFS='|' read -r name listener_query caller_query note <<<"$entry"
    if [[ ${#selected[@]} -gt 0 ]] && ! printf '%s\n' "${selected[@]}" | grep -qx "$name"; then
        continue
    fi
    say "case $name"
    run_case "$name" "$listener_query" "$caller_query" "$note"
done
for entry in "${GROUP_CASES[@]}"; do
    IFS='|' read -r name caller_template note <<<"$entry"
    if [[ ${#selected[@]} -gt 0 ]] && ! printf '%s\n' "${selected[@]}" | grep -qx "$name"; then
        continue
    fi
    if [[ ${#selected[@]} -eq 0 && ! -x $TEST_LIVE ]]; then
        say "skipping $name: $TEST_LIVE is missing (scripts/build-libsrt-bonding.sh builds it)"
        continue
    fi
    say "case $name"
    run_group_case "$name" "$caller_template" "$note"
done
