#!/usr/bin/python3
"""Reference frames for the common/ packet views and builders, crafted with Scapy.

Writes one frame per line as "name hex" (lowercase, Scapy's bytes with every length
and checksum filled in by Scapy). The C++ tests (tests/unit/common/scapy_vectors_test.cpp)
parse each frame and rebuild most of them with our builders, byte for byte, so the
parameters below are mirrored there: change both together.

  gen_common_vectors.py --out FILE     write the vectors
  gen_common_vectors.py --check FILE   regenerate and compare with FILE (exit 1 on drift)

Run with Debian's /usr/bin/python3 (python3-scapy); the python3 on PATH may lack Scapy.
"""

import argparse
import difflib
import sys

from scapy.all import (ARP, IP, UDP, Dot1Q, Ether, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPOption_Router_Alert,
                       IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       Padding, Raw, TCP, conf)

conf.verb = 0

CLIENT_MAC = "02:00:00:00:00:01"
VM_MAC = "02:00:00:00:00:0a"
BROADCAST = "ff:ff:ff:ff:ff:ff"
ZERO_MAC = "00:00:00:00:00:00"
CLIENT_IP = "10.0.0.1"
VM_IP = "10.0.0.10"
CLIENT_IP6 = "fd00::1"
VM_IP6 = "fd00::a"

# Linux's SYN option layout, with a timestamp above 2^31 (exercises the signed sexp).
LINUX_SYN_OPTIONS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (2882400001, 0)),
                     ("NOP", None), ("WScale", 7)]


def frames():
    """(name, packet) in a fixed order."""
    yield "arp_request", (
        Ether(dst=BROADCAST, src=CLIENT_MAC) /
        ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, hwdst=ZERO_MAC, pdst=VM_IP))
    yield "arp_reply", (
        Ether(dst=CLIENT_MAC, src=VM_MAC) /
        ARP(op=2, hwsrc=VM_MAC, psrc=VM_IP, hwdst=CLIENT_MAC, pdst=CLIENT_IP))
    yield "arp_gratuitous", (
        Ether(dst=BROADCAST, src=VM_MAC) /
        ARP(op=1, hwsrc=VM_MAC, psrc=VM_IP, hwdst=ZERO_MAC, pdst=VM_IP))
    # A minimum-size (60-byte) frame: Ethernet padding after the ARP body.
    yield "arp_request_padded", (
        Ether(dst=BROADCAST, src=CLIENT_MAC) /
        ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, hwdst=ZERO_MAC, pdst=VM_IP) /
        Padding(load=b"\x00" * 18))
    yield "tcp4_syn", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IP(src=CLIENT_IP, dst=VM_IP, id=0x1234, flags="DF", ttl=64) /
        TCP(sport=43210, dport=80, seq=0x01020304, ack=0, flags="S", window=64240,
            options=LINUX_SYN_OPTIONS))
    # The option order the brief names, NOP-aligned, EOL-padded by Scapy.
    yield "tcp4_syn_nop_aligned", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IP(src=CLIENT_IP, dst=VM_IP, id=1, ttl=63) /
        TCP(sport=40000, dport=8080, seq=4000000000, flags="S", window=29200,
            options=[("MSS", 1400), ("NOP", None), ("WScale", 2), ("SAckOK", b""),
                     ("Timestamp", (1, 0))]))
    yield "tcp4_synack", (
        Ether(dst=CLIENT_MAC, src=VM_MAC) /
        IP(src=VM_IP, dst=CLIENT_IP, id=0, flags="DF", ttl=64) /
        TCP(sport=80, dport=43210, seq=0xdeadbeef, ack=0x01020305, flags="SA", window=65160,
            options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (5, 2882400001)),
                     ("NOP", None), ("WScale", 7)]))
    # Odd-length payload: the checksum's trailing half-word.
    yield "tcp4_psh_ack_data", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IP(src=CLIENT_IP, dst=VM_IP, id=0x4242, flags="DF", ttl=64) /
        TCP(sport=43210, dport=80, seq=0x01020305, ack=0xdeadbef0, flags="PA", window=502,
            options=[("NOP", None), ("NOP", None), ("Timestamp", (2882400100, 5))]) /
        Raw(load=b"hello"))
    # SACK blocks and an unknown option kind (parse only: our builder writes them too).
    yield "tcp4_ack_sack_unknown", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IP(src=CLIENT_IP, dst=VM_IP, id=9, ttl=64) /
        TCP(sport=43210, dport=80, seq=100, ack=200, flags="A", window=1000,
            options=[("NOP", None), ("NOP", None), ("SAck", (1000, 2000, 3000, 4000)),
                     (30, b"\x01\x02")]))
    yield "tcp6_syn", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IPv6(src=CLIENT_IP6, dst=VM_IP6, hlim=64) /
        TCP(sport=43211, dport=443, seq=0x11223344, flags="S", window=64800,
            options=[("MSS", 1440), ("SAckOK", b""), ("Timestamp", (123456789, 0)),
                     ("NOP", None), ("WScale", 7)]))
    # Extension headers in front of TCP (parse only).
    yield "tcp6_syn_ext_headers", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IPv6(src=CLIENT_IP6, dst=VM_IP6, hlim=64) /
        IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
        IPv6ExtHdrFragment(offset=0, m=0, id=7) /
        TCP(sport=43212, dport=80, seq=7, flags="S", window=1024, options=[("MSS", 1220)]))
    yield "tcp6_fragment_non_first", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IPv6(src=CLIENT_IP6, dst=VM_IP6, hlim=64) /
        IPv6ExtHdrFragment(nh=6, offset=5, m=0, id=7) /
        Raw(load=b"\xaa" * 16))
    yield "ipv4_fragment_non_first", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IP(src=CLIENT_IP, dst=VM_IP, id=77, proto=6, flags="MF", frag=10, ttl=64) /
        Raw(load=b"\xbb" * 16))
    # IHL 6 (a router-alert option) in front of UDP (parse only).
    yield "udp4_ip_options", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IP(src=CLIENT_IP, dst=VM_IP, id=3, ttl=1, options=[IPOption_Router_Alert()]) /
        UDP(sport=1000, dport=2000) / Raw(load=b"opt"))
    yield "udp4_dns", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IP(src=CLIENT_IP, dst=VM_IP, id=7, ttl=64) /
        UDP(sport=5353, dport=53) / Raw(load=b"\x12\x34query"))
    yield "udp6_dns", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        IPv6(src=CLIENT_IP6, dst=VM_IP6, hlim=64) /
        UDP(sport=5353, dport=53) / Raw(load=b"\x12\x34query6"))
    yield "icmpv6_ns", (
        Ether(dst="33:33:ff:00:00:0a", src=CLIENT_MAC) /
        IPv6(src=CLIENT_IP6, dst="ff02::1:ff00:a", hlim=255) /
        ICMPv6ND_NS(tgt=VM_IP6) / ICMPv6NDOptSrcLLAddr(lladdr=CLIENT_MAC))
    yield "icmpv6_na", (
        Ether(dst=CLIENT_MAC, src=VM_MAC) /
        IPv6(src=VM_IP6, dst=CLIENT_IP6, hlim=255) /
        ICMPv6ND_NA(tgt=VM_IP6, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=VM_MAC))
    yield "vlan_tcp4_syn", (
        Ether(dst=VM_MAC, src=CLIENT_MAC) /
        Dot1Q(prio=3, id=0, vlan=42) /
        IP(src=CLIENT_IP, dst=VM_IP, id=0x0101, flags="DF", ttl=64) /
        TCP(sport=43213, dport=80, seq=1, flags="S", window=8192, options=[("MSS", 1460)]))
    yield "vlan_arp_request", (
        Ether(dst=BROADCAST, src=CLIENT_MAC) /
        Dot1Q(prio=0, id=0, vlan=7) /
        ARP(op=1, hwsrc=CLIENT_MAC, psrc=CLIENT_IP, hwdst=ZERO_MAC, pdst=VM_IP))


def render():
    lines = ["# Generated by tests/scapy/gen_common_vectors.py with Scapy; do not edit.",
             "# name hex"]
    for name, packet in frames():
        lines.append(f"{name} {bytes(packet).hex()}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", help="write the vectors to this file")
    group.add_argument("--check", help="compare freshly generated vectors with this file")
    args = parser.parse_args()

    text = render()
    if args.out:
        with open(args.out, "w", encoding="ascii") as f:
            f.write(text)
        return 0
    with open(args.check, encoding="ascii") as f:
        committed = f.read()
    if committed == text:
        print(f"{args.check}: up to date ({text.count(chr(10)) - 2} frames)")
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        committed.splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=args.check, tofile="regenerated"))
    print(f"{args.check} differs from what Scapy generates now; "
          "regenerate with --out if the change is intended", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
