#!/usr/bin/env python3
"""Turns a loopback pcap of one SRT exchange into a test-vector file: one hex line per datagram.

Usage: srt-pcap-to-hex.py CAPTURE.pcap LISTENER_PORT OUT.hex [--all-ms N] [--title TEXT]
                         [--listener-host ADDR]

Every SRT handshake (control type 0) becomes two comment lines (direction and meaning, then a
decode of its fields) followed by the UDP payload as one lowercase hex line. With --all-ms N,
every other datagram (data, ACK, ACKACK, keepalive, NAK, shutdown, ...) from the first conclusion
response until N ms after the first data packet is written too, with a one-line comment.
Only datagrams to or from the listener's address (--listener-host, default 127.0.0.1) and
LISTENER_PORT are kept (other programs on loopback may use the same port number on another
127.x address). A datagram to the listener goes caller->listener, the others listener->caller; with several caller sockets (group members) the direction also names the
caller's source address and port.

Reads classic pcap files (what `tcpdump -w` writes) with Ethernet (loopback) or Linux cooked
link headers, IPv4 or IPv6, UDP only. No third-party modules.
"""

import argparse
import ipaddress
import struct
import sys

HS_TYPES = {
    0x00000001: "induction",
    0x00000000: "waveahand",
    0xFFFFFFFF: "conclusion",
    0xFFFFFFFE: "agreement",
}
# libsrt's SRT_REJECT_REASON, sent as handshake type 1000 + reason.
REJECT_REASONS = [
    "REJ_UNKNOWN", "REJ_SYSTEM", "REJ_PEER", "REJ_RESOURCE", "REJ_ROGUE", "REJ_BACKLOG",
    "REJ_IPE", "REJ_CLOSE", "REJ_VERSION", "REJ_RDVCOOKIE", "REJ_BADSECRET", "REJ_UNSECURE",
    "REJ_MESSAGEAPI", "REJ_CONGESTION", "REJ_FILTER", "REJ_GROUP", "REJ_TIMEOUT", "REJ_CRYPTO",
]
CONTROL_TYPES = {
    0: "handshake", 1: "keepalive", 2: "ACK", 3: "NAK", 4: "congestion-warning",
    5: "shutdown", 6: "ACKACK", 7: "drop-request", 8: "peer-error", 0x7FFF: "user-defined",
}
EXT_TYPES = {
    1: "HSREQ", 2: "HSRSP", 3: "KMREQ", 4: "KMRSP", 5: "SID", 6: "CONGESTION",
    7: "FILTER", 8: "GROUP",
}
HS_FLAGS = [
    (0x01, "TSBPDSND"), (0x02, "TSBPDRCV"), (0x04, "HAICRYPT"), (0x08, "TLPKTDROP"),
    (0x10, "NAKREPORT"), (0x20, "REXMITFLG"), (0x40, "STREAM"), (0x80, "PACKET_FILTER"),
]
EXT_FIELD_FLAGS = [(0x1, "HSREQ"), (0x2, "KMREQ"), (0x4, "CONFIG")]
KM_STATES = {0: "UNSECURED", 1: "SECURING", 2: "SECURED", 3: "NOSECRET", 4: "BADSECRET"}
GROUP_TYPES = {0: "undefined", 1: "broadcast", 2: "backup"}  # SRT_GROUP_TYPE in libsrt 1.5.1
CIPHERS = {0: "none", 1: "AES-ECB", 2: "AES-CTR", 3: "AES-CBC", 4: "AES-GCM"}


def read_pcap(path):
    """Yields (timestamp_seconds, ip_src, src_port, ip_dst, dst_port, udp_payload)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap file (pcapng is not supported)")
    nanos = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    offset = 24
    while offset + 16 <= len(data):
        sec, frac, caplen, _origlen = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        when = sec + frac / (1e9 if nanos else 1e6)
        if linktype == 1:  # Ethernet
            ethertype = struct.unpack(">H", frame[12:14])[0]
            ip = frame[14:]
        elif linktype == 113:  # Linux cooked v1
            ethertype = struct.unpack(">H", frame[14:16])[0]
            ip = frame[16:]
        elif linktype == 276:  # Linux cooked v2
            ethertype = struct.unpack(">H", frame[0:2])[0]
            ip = frame[20:]
        else:
            raise SystemExit(f"{path}: unsupported link type {linktype}")
        if ethertype == 0x0800 and len(ip) >= 20:
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != 17:
                continue
            src = str(ipaddress.IPv4Address(ip[12:16]))
            dst = str(ipaddress.IPv4Address(ip[16:20]))
            udp = ip[ihl:]
        elif ethertype == 0x86DD and len(ip) >= 40:
            if ip[6] != 17:
                continue
            src = "[" + str(ipaddress.IPv6Address(ip[8:24])) + "]"
            dst = "[" + str(ipaddress.IPv6Address(ip[24:40])) + "]"
            udp = ip[40:]
        else:
            continue
        sport, dport, ulen = struct.unpack(">HHH", udp[:6])
        yield when, src, sport, dst, dport, udp[8:ulen]


def be32(buf, at):
    return struct.unpack(">I", buf[at:at + 4])[0]


def swapped_string(content):
    """SID/CONGESTION/FILTER strings travel as 32-bit words with each word's bytes reversed."""
    out = bytearray()
    for i in range(0, len(content), 4):
        out += content[i:i + 4][::-1]
    return out.rstrip(b"\x00").decode("utf-8", "replace")


def flag_names(value, table):
    names = [name for bit, name in table if value & bit]
    rest = value & ~sum(bit for bit, _ in table)
    if rest:
        names.append(f"0x{rest:x}")
    return "|".join(names) if names else "none"


def decode_km(content):
    if len(content) == 4:
        # The one-word error form. libsrt 1.5.1 (x86) puts the state on the wire in host
        # (little-endian) byte order: NOSECRET travels as 03 00 00 00.
        little = struct.unpack("<I", content)[0]
        return (f"error form: bytes {content.hex()}, KM state {little} little-endian "
                f"({KM_STATES.get(little, '?')})")
    if len(content) < 16:
        return f"{len(content)} bytes"
    version = (content[0] >> 4) & 0x7
    packet_type = content[0] & 0x0F
    sign = struct.unpack(">H", content[1:3])[0]
    kk = content[3] & 0x3
    keki = be32(content, 4)
    cipher = content[8]
    auth = content[9]
    stream_encap = content[10]
    salt_len = content[14] * 4
    key_len = content[15] * 4
    return (f"V={version} PT={packet_type} sign=0x{sign:04x} KK={kk} KEKI={keki} "
            f"cipher={CIPHERS.get(cipher, cipher)} auth={auth} SE={stream_encap} "
            f"salt={salt_len}B key={key_len}B wrapped-keys={len(content) - 16 - salt_len}B")


def decode_extension(ext_type, content):
    name = EXT_TYPES.get(ext_type, f"ext{ext_type}")
    if ext_type in (1, 2) and len(content) >= 12:
        version = be32(content, 0)
        flags = be32(content, 4)
        recv_delay = struct.unpack(">H", content[8:10])[0]
        send_delay = struct.unpack(">H", content[10:12])[0]
        return (f"{name}(version {version >> 16}.{(version >> 8) & 0xFF}.{version & 0xFF}, "
                f"flags {flag_names(flags, HS_FLAGS)}, recv TSBPD {recv_delay} ms, "
                f"send TSBPD {send_delay} ms)")
    if ext_type in (3, 4):
        return f"{name}({decode_km(content)})"
    if ext_type in (5, 6, 7):
        return f"{name}({swapped_string(content)!r})"
    if ext_type == 8 and len(content) >= 8:
        group_id = be32(content, 0)
        word = be32(content, 4)
        group_type = word >> 24
        group_flags = (word >> 16) & 0xFF
        weight = word & 0xFFFF
        extra = "".join(f" +0x{be32(content, i):08x}" for i in range(8, len(content) - 3, 4))
        return (f"{name}(id 0x{group_id:08x}, type {group_type} "
                f"({GROUP_TYPES.get(group_type, '?')}), flags 0x{group_flags:02x}, "
                f"weight {weight}{extra})")
    return f"{name}({content.hex()})"


def decode_handshake(payload):
    """Returns (meaning, field decode) of an SRT handshake datagram."""
    cif = payload[16:]
    if len(cif) < 48:
        return "short handshake", f"{len(cif)}-byte CIF"
    version = be32(cif, 0)
    encryption, extension = struct.unpack(">HH", cif[4:8])
    isn, mss, flow_window, hs_type, socket_id, cookie = struct.unpack(">IIIIII", cif[8:32])
    peer_ip = cif[32:48]
    if hs_type in HS_TYPES:
        kind = HS_TYPES[hs_type]
    elif 1000 <= hs_type < 1000 + len(REJECT_REASONS):
        kind = f"rejection {hs_type} ({REJECT_REASONS[hs_type - 1000]})"
    elif hs_type >= 1000:
        kind = f"rejection {hs_type}"
    else:
        kind = f"type 0x{hs_type:08x}"
    if version == 4:
        # HSv4 (a caller's induction): the word is UDT's socket type, 2 = SOCK_DGRAM.
        second = f"socket-type {be32(cif, 4)}"
    elif extension == 0x4A17:
        second = f"enc-field {encryption} ext-field 0x4A17 (SRT magic)"
    else:
        second = (f"enc-field {encryption} ext-field 0x{extension:04x} "
                  f"({flag_names(extension, EXT_FIELD_FLAGS)})")
    fields = (f"HSv{version} {second} ISN {isn} MSS {mss} "
              f"flow-window {flow_window} type {kind} socket-id 0x{socket_id:08x} "
              f"cookie 0x{cookie:08x} peer-ip {peer_ip.hex()} dst-socket 0x{be32(payload, 12):08x}")
    exts = []
    at = 48
    while version == 5 and at + 4 <= len(cif):
        ext_type, ext_words = struct.unpack(">HH", cif[at:at + 4])
        content = cif[at + 4:at + 4 + ext_words * 4]
        exts.append(decode_extension(ext_type, content))
        at += 4 + ext_words * 4
    if exts:
        fields += "; extensions: " + ", ".join(exts)
    return kind, fields


def describe_other(payload):
    word0 = be32(payload, 0)
    word1 = be32(payload, 4)
    if word0 & 0x80000000:
        ctype = (word0 >> 16) & 0x7FFF
        name = CONTROL_TYPES.get(ctype, f"control type {ctype}")
        extra = ""
        if ctype == 2:
            extra = (f" ack-no {word1}, last-ack-seq {be32(payload, 16)}"
                     if len(payload) >= 20 else f" ack-no {word1}")
            if len(payload) == 20:
                extra += " (light ACK)"
        elif ctype == 6:
            extra = f" ack-no {word1}"
        return name + extra
    seq = word0 & 0x7FFFFFFF
    position = {3: "solo", 2: "first", 0: "middle", 1: "last"}[word1 >> 30]
    in_order = (word1 >> 29) & 1
    kk = (word1 >> 27) & 3
    rexmit = (word1 >> 26) & 1
    msgno = word1 & 0x03FFFFFF
    return (f"data seq {seq} msgno {msgno} {position} in-order {in_order} KK {kk} "
            f"rexmit {rexmit}, {len(payload) - 16}-byte payload")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("pcap")
    parser.add_argument("listener_port", type=int)
    parser.add_argument("out")
    parser.add_argument("--all-ms", type=float, default=None,
                        help="also write every other datagram from the first conclusion response until this many ms after the first data packet")
    parser.add_argument("--title", default=None)
    parser.add_argument("--listener-host", default="127.0.0.1",
                        help="the listener's address (default 127.0.0.1); other traffic to the port is ignored")
    args = parser.parse_args()

    listener = (args.listener_host, args.listener_port)
    packets = [p for p in read_pcap(args.pcap)
               if listener in ((p[1], p[2]), (p[3], p[4])) and len(p[5]) >= 16]
    callers = sorted({(p[1], p[2]) for p in packets if (p[3], p[4]) == listener})

    def direction(p):
        caller_to_listener = (p[3], p[4]) == listener
        endpoint = (p[1], p[2]) if caller_to_listener else (p[3], p[4])
        arrow = "caller->listener" if caller_to_listener else "listener->caller"
        if len(callers) > 1:
            return f"{arrow} ({endpoint[0]}:{endpoint[1]} <-> {p[3] if caller_to_listener else p[1]}:{args.listener_port})"
        return arrow

    start = None
    for p in packets:
        payload = p[5]
        if be32(payload, 0) >> 16 == 0x8000 and (p[1], p[2]) == listener:
            kind, _ = decode_handshake(payload)
            if kind == "conclusion":
                start = p[0]
                break
    end = None
    if start is not None and args.all_ms is not None:
        first_data = next((p[0] for p in packets if p[0] >= start and not be32(p[5], 0) & 0x80000000), start)
        end = first_data + args.all_ms / 1000

    lines = []
    if args.title:
        lines += [f"# {line}" for line in args.title.split("\n")]
    t0 = packets[0][0] if packets else 0.0
    handshakes = 0
    others = 0
    for p in packets:
        payload = p[5]
        is_handshake = be32(payload, 0) >> 16 == 0x8000
        stamp = f"+{(p[0] - t0) * 1000:.3f} ms"
        if is_handshake:
            kind, fields = decode_handshake(payload)
            role = "request" if (p[3], p[4]) == listener else "response"
            if kind.startswith("rejection"):
                role = ""
            lines.append(f"# {direction(p)} {kind}{' ' + role if role else ''} ({stamp})")
            lines.append(f"#   {fields}")
            lines.append(payload.hex())
            handshakes += 1
        elif end is not None and start <= p[0] <= end:
            lines.append(f"# {direction(p)} {describe_other(payload)} ({stamp})")
            lines.append(payload.hex())
            others += 1
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{args.out}: {handshakes} handshake datagrams, {others} others", file=sys.stderr)
    if handshakes == 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
