#!/usr/bin/python3
"""Checks the Neighbour Advertisements for one IPv6 address in a capture (e2e_ipv6).

Usage: check_na.py PCAP IPV6 MAC

Decodes every frame by hand (an independent reading of RFC 4861 §4.4, not our C++ code)
and, for each NA whose target is IPV6, checks that it is well formed: Ethernet source
MAC and ethertype 0x86dd; IPv6 version 6, next header 58 (no extension headers), hop
limit 255, payload length = the bytes present, source IPV6; ICMPv6 type 136 code 0, a
correct checksum, R clear, O set, reserved bits zero; exactly one option, the target
link-layer address (type 2, length 1) = MAC. Unsolicited (S clear) ones go to ff02::1
at 33:33:00:00:00:01; solicited ones (S set) to a unicast address and MAC.

Prints `unsolicited=N solicited=M malformed=K`, then one line per malformed NA.
Exit: 0 when K = 0, 1 otherwise, 2 on bad usage or an unreadable capture.
"""
import ipaddress
import struct
import sys

ALL_NODES = ipaddress.IPv6Address("ff02::1").packed
ALL_NODES_MAC = bytes.fromhex("333300000001")


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("not a pcap file (too short)")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a classic pcap file (pcapng?)")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise ValueError(f"link type {linktype}, Ethernet (1) expected")
    at = 24
    while at + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[at + 8 : at + 12])[0]
        at += 16
        if at + incl > len(data):
            raise ValueError("truncated record")
        yield data[at : at + incl]
        at += incl


def checksum(pseudo_and_payload):
    if len(pseudo_and_payload) % 2:
        pseudo_and_payload += b"\x00"
    s = sum(struct.unpack(f"!{len(pseudo_and_payload) // 2}H", pseudo_and_payload))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s  # 0xffff when the embedded checksum is right


def check(frame, ip, mac):
    """None if the frame is not an NA for ip; else (solicited, [problems])."""
    if len(frame) < 14 + 40 + 24 or frame[12:14] != b"\x86\xdd":
        return None
    ip6 = frame[14:54]
    if ip6[6] != 58 or frame[54] != 136 or frame[62:78] != ip:
        return None
    problems = []
    icmp = frame[54 : 54 + struct.unpack("!H", ip6[4:6])[0]]
    if len(icmp) < 24:
        return bool(frame[58] & 0x40), [f"ICMPv6 payload of {len(icmp)} bytes (24 at least)"]
    flags = icmp[4]
    solicited = bool(flags & 0x40)
    if frame[6:12] != mac:
        problems.append(f"Ethernet source {frame[6:12].hex(':')}")
    if ip6[0] >> 4 != 6:
        problems.append(f"IP version {ip6[0] >> 4}")
    if ip6[7] != 255:
        problems.append(f"hop limit {ip6[7]}")
    if len(frame) - 54 < struct.unpack("!H", ip6[4:6])[0]:
        problems.append("payload length beyond the frame")
    if ip6[8:24] != ip:
        problems.append(f"IPv6 source {ipaddress.IPv6Address(ip6[8:24])}")
    if icmp[1] != 0:
        problems.append(f"code {icmp[1]}")
    if checksum(ip6[8:40] + struct.pack("!I3xB", len(icmp), 58) + icmp) != 0xFFFF:
        problems.append("bad ICMPv6 checksum")
    if flags & 0x80:
        problems.append("R (router) flag set")
    if not flags & 0x20:
        problems.append("O (override) flag clear")
    if flags & 0x1F or icmp[5:8] != b"\x00\x00\x00":
        problems.append("reserved bits set")
    opts = icmp[24:]
    if opts != b"\x02\x01" + mac:
        problems.append(f"options {opts.hex()} (expected one target link-layer address)")
    if solicited:
        if frame[0] & 1 or ip6[24] == 0xFF:
            problems.append("solicited NA to a multicast address")
    elif frame[0:6] != ALL_NODES_MAC or ip6[24:40] != ALL_NODES:
        problems.append(
            f"unsolicited NA to {frame[0:6].hex(':')} {ipaddress.IPv6Address(ip6[24:40])}"
        )
    return solicited, problems


def main():
    if len(sys.argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        ip = ipaddress.IPv6Address(sys.argv[2]).packed
        mac = bytes.fromhex(sys.argv[3].replace(":", ""))
        if len(mac) != 6:
            raise ValueError(f"bad MAC {sys.argv[3]}")
        counts = {True: 0, False: 0}
        bad = []
        for n, frame in enumerate(frames(sys.argv[1]), 1):
            r = check(frame, ip, mac)
            if r is None:
                continue
            counts[r[0]] += 1
            if r[1]:
                bad.append(f"frame {n}: " + "; ".join(r[1]))
    except (OSError, ValueError) as e:
        print(f"check_na: {e}", file=sys.stderr)
        return 2
    print(f"unsolicited={counts[False]} solicited={counts[True]} malformed={len(bad)}")
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
