#!/usr/bin/python3
"""Crafts synjitsu's reference captures (pcaps/synjitsu/*.pcap) with Scapy.

Each capture NAME gets NAME.pcap and NAME.args (the synjitsu flags it is replayed
with: the booting VMs and any limit). Everything is fixed (addresses, sequence
numbers, timestamps), so the output is byte-for-byte reproducible:

    /usr/bin/python3 gen_pcaps.py --out DIR        # write the captures into DIR
    /usr/bin/python3 gen_pcaps.py --check DIR      # regenerate and compare with DIR

The expected outcomes (NAME.queue, NAME.out.pcap) are what synjitsu produces for them,
reviewed and committed; tests/integration/synjitsu/replay_offline.sh compares.
"""
import argparse
import filecmp
import os
import sys
import tempfile

from scapy.all import (ARP, Ether, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IP, IPv6,
                       Raw, TCP, UDP, wrpcap)

BASE = 1700000000  # capture clock origin (unix seconds)

VM_MAC = "02:00:00:00:00:10"
VM_IP = "10.0.0.10"
VM2_MAC = "02:00:00:00:00:11"
VM2_IP = "10.0.0.11"
VM6_IP = "fd00::10"
ROUTER_MAC = "02:00:00:00:00:01"
BCAST = "ff:ff:ff:ff:ff:ff"

LINUX_OPTS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)), ("NOP", None),
              ("WScale", 7)]


def client_mac(n):
    return "02:00:00:00:01:%02x" % n


def client_ip(n):
    return "10.0.0.%d" % (100 + n)


def syn(n, sport, dport=80, seq=1000, dst=VM_IP, opts=None, window=64240, flags="S"):
    return (Ether(src=client_mac(n), dst=VM_MAC) /
            IP(src=client_ip(n), dst=dst, id=n * 1000 + sport % 1000, flags="DF") /
            TCP(sport=sport, dport=dport, seq=seq, window=window, flags=flags,
                options=LINUX_OPTS if opts is None else opts))


def arp_who_has(n, target, sender_ip=None, src_mac=None):
    mac = src_mac or client_mac(n)
    return (Ether(src=mac, dst=BCAST) /
            ARP(op=1, hwsrc=mac, psrc=sender_ip or client_ip(n), pdst=target))


def garp(mac, ip):
    return Ether(src=mac, dst=BCAST) / ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00",
                                           pdst=ip)


def timed(frames, start=0.0, step=0.010):
    """Gives frames fixed capture times: BASE + start + i * step (or explicit (t, f))."""
    out = []
    for i, f in enumerate(frames):
        if isinstance(f, tuple):
            t, f = f
        else:
            t = start + i * step
        f.time = BASE + t
        out.append(f)
    return out


def cap_single_syn():
    return timed([syn(1, 40001, seq=1111)]), ["--booting", f"{VM_IP}={VM_MAC}"]


def cap_retransmitted_syn():
    s = syn(1, 40002, seq=2222)
    # Linux's SYN retransmission schedule: 1 s, then 3 s after the first.
    frames = [(0.0, s.copy()), (1.0, s.copy()), (3.0, s.copy())]
    return timed(frames), ["--booting", f"{VM_IP}={VM_MAC}"]


def cap_several_clients():
    frames = []
    for n in (1, 2, 3):
        for k, dport in enumerate((80, 443)):
            frames.append(syn(n, 41000 + 10 * n + k, dport=dport, seq=n * 100000 + k))
    # A second booting VM, and a client with minimal options.
    frames.append(syn(4, 42000, dport=22, dst=VM2_IP, opts=[("MSS", 536)]))
    frames.append(syn(5, 42001, dport=8080, opts=[]))
    # A retransmission among them.
    frames.append(syn(2, 41020, dport=80, seq=200000))
    return timed(frames), ["--booting", f"{VM_IP}={VM_MAC}", "--booting", f"{VM2_IP}={VM2_MAC}"]


def cap_arp_who_has():
    frames = [
        arp_who_has(1, VM_IP),                      # answered
        arp_who_has(2, "10.0.0.99"),                # not booting: ignored
        arp_who_has(0, VM_IP, sender_ip="0.0.0.0", src_mac=VM_MAC),  # the VM's probe: ignored
        arp_who_has(3, VM_IP, sender_ip="0.0.0.0"),  # another host's probe: answered
        (Ether(src=client_mac(4), dst=VM_MAC) /      # ARP reply to the VM: not a request
         ARP(op=2, hwsrc=client_mac(4), psrc=client_ip(4), hwdst=VM_MAC, pdst=VM_IP)),
        (0.5, garp(VM_MAC, VM_IP)),                 # the VM is up: stop
        (0.6, arp_who_has(1, VM_IP)),               # no longer answered
        (0.7, syn(1, 40003)),                       # no longer queued
    ]
    return timed(frames), ["--booting", f"{VM_IP}={VM_MAC}"]


def cap_not_booting():
    frames = [
        syn(1, 40010, dst="10.0.0.20"),                     # SYN for an IP not booting
        arp_who_has(1, "10.0.0.20"),                         # ARP for it
        syn(1, 40011, flags="SA"),                           # SYN/ACK to a booting IP
        syn(1, 40012, flags="A", opts=[]),                   # ACK
        syn(1, 40013, flags="R", opts=[]),                   # RST
        (Ether(src=client_mac(1), dst=VM_MAC) / IP(src=client_ip(1), dst=VM_IP) /
         UDP(sport=5353, dport=53) / Raw(b"\x00" * 12)),     # UDP to a booting IP
        (Ether(src=client_mac(1), dst=VM_MAC, type=0x88cc) / Raw(b"\x00" * 46)),  # LLDP-ish
    ]
    return timed(frames), ["--booting", f"{VM_IP}={VM_MAC}"]


def cap_ipv6_syn_ns():
    cmac = client_mac(6)
    cip = "fd00::2"
    sn = "ff02::1:ff00:10"  # solicited-node group of fd00::10
    ns = (Ether(src=cmac, dst="33:33:ff:00:00:10") / IPv6(src=cip, dst=sn, hlim=255) /
          ICMPv6ND_NS(tgt=VM6_IP) / ICMPv6NDOptSrcLLAddr(lladdr=cmac))
    ns_bad_hlim = (Ether(src=cmac, dst="33:33:ff:00:00:10") / IPv6(src=cip, dst=sn, hlim=64) /
                   ICMPv6ND_NS(tgt=VM6_IP) / ICMPv6NDOptSrcLLAddr(lladdr=cmac))
    ns_other = (Ether(src=cmac, dst="33:33:ff:00:00:99") /
                IPv6(src=cip, dst="ff02::1:ff00:99", hlim=255) /
                ICMPv6ND_NS(tgt="fd00::99") / ICMPv6NDOptSrcLLAddr(lladdr=cmac))
    dad = (Ether(src="02:00:00:00:01:07", dst="33:33:ff:00:00:10") /
           IPv6(src="::", dst=sn, hlim=255) / ICMPv6ND_NS(tgt=VM6_IP))
    syn6 = (Ether(src=cmac, dst=VM_MAC) / IPv6(src=cip, dst=VM6_IP) /
            TCP(sport=40100, dport=80, seq=3333, window=64800, options=LINUX_OPTS))
    frames = [ns, ns_bad_hlim, ns_other, dad, syn6, syn6.copy()]
    frames[-1] = (2.0, frames[-1])
    return timed(frames), ["--booting", f"{VM6_IP}={VM_MAC}"]


def cap_garbage():
    good = syn(1, 40200, seq=4444)
    raw = bytes(good)
    bad_opts = syn(1, 40201, opts=[])
    # Options: an MSS option claiming length 9 (runs past the header).
    bad_opts[TCP].options = []
    bad_opts_raw = bytearray(bytes(bad_opts))
    frames = [
        Raw(b"\x02\x00\x00\x00"),                                    # shorter than Ethernet
        Ether(src=client_mac(1), dst=BCAST, type=0x0806) / Raw(b"\x00\x01\x08\x00"),  # short ARP
        Ether(raw[:14 + 12]),                                        # IPv4 header cut
        Ether(raw[:14 + 20 + 10]),                                   # TCP header cut
        Ether(src=client_mac(1), dst=VM_MAC, type=0x86dd) / Raw(b"\x60\x00"),  # IPv6 cut
        Ether(src=client_mac(1), dst=VM_MAC, type=0x0800) / Raw(bytes(range(40))),  # not IPv4
        Ether(bytes(bad_opts_raw[:14 + 20]) + bytes([0x01, 0xbe, 0xef, 0x80, 0x02, 0x12, 0x00,
                                                     0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x09,
                                                     0x05, 0xb4, 0x00, 0x00, 0x00, 0x00])),
        Raw(bytes((i * 37 + 11) % 256 for i in range(64))),          # noise
        good,                                                        # still processed
    ]
    return timed(frames), ["--booting", f"{VM_IP}={VM_MAC}"]


def cap_queue_limit():
    frames = [syn(1, 43000 + i, seq=5000 + i) for i in range(6)]
    frames.append(syn(1, 43000, seq=5000))  # retransmission of a queued tuple: counted
    return timed(frames), ["--booting", f"{VM_IP}={VM_MAC}", "--queue-limit", "4"]


CAPTURES = {
    "single_syn": cap_single_syn,
    "retransmitted_syn": cap_retransmitted_syn,
    "several_clients": cap_several_clients,
    "arp_who_has": cap_arp_who_has,
    "not_booting": cap_not_booting,
    "ipv6_syn_ns": cap_ipv6_syn_ns,
    "garbage": cap_garbage,
    "queue_limit": cap_queue_limit,
}


def write_all(out):
    os.makedirs(out, exist_ok=True)
    for name, make in CAPTURES.items():
        frames, args = make()
        wrpcap(os.path.join(out, name + ".pcap"), frames, linktype=1)
        with open(os.path.join(out, name + ".args"), "w") as f:
            f.write(" ".join(args) + "\n")


def main():
    p = argparse.ArgumentParser()
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--out")
    g.add_argument("--check")
    a = p.parse_args()
    if a.out:
        write_all(a.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        write_all(tmp)
        bad = []
        for name in sorted(os.listdir(tmp)):
            ref = os.path.join(a.check, name)
            if not os.path.exists(ref) or not filecmp.cmp(os.path.join(tmp, name), ref,
                                                          shallow=False):
                bad.append(name)
        if bad:
            print("differ from what Scapy generates now: " + " ".join(bad), file=sys.stderr)
            return 1
    print(f"{len(CAPTURES)} captures up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
