#!/usr/bin/python3
"""Writes the seed corpus for fuzz_dns_codec (corpus/*.bin): queries against the sample
authority (sample_authority.h) covering every answer path and the malformed cases.
Re-run after changing the sample authority: ./make_corpus.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def wire(name):
    out = b""
    for label in name.split(".") if name else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def opt(payload=4096, version=0, do=False, rdata=b""):
    return b"\0" + struct.pack(">HHBBHH", 41, payload, 0, version, 0x8000 if do else 0, len(rdata)) + rdata


def query(name, qtype=1, qclass=1, flags=0x0100, edns=None):
    ar = 1 if edns is not None else 0
    return header(flags=flags, ar=ar) + wire(name) + struct.pack(">HH", qtype, qclass) + (edns or b"")


seeds = {
    "a_www": query("www.example.org"),
    "aaaa_www": query("www.example.org", 28),
    "any_www": query("www.example.org", 255),
    "mixed_case": query("WwW.ExAmPlE.OrG"),
    "mx_nodata": query("www.example.org", 15),
    "nxdomain": query("nope.example.org"),
    "ent": query("deep.example.org"),
    "deep_vm": query("v4.deep.example.org", 255),
    "v6_only": query("v6.example.org", 1),
    "soa_apex": query("example.org", 6),
    "ns_apex": query("example.org", 2),
    "any_apex": query("example.org", 255),
    "ns_host": query("ns.example.org", 28),
    "sub_nx": query("x.sub.example.org"),
    "sub_ns": query("sub.example.org", 2),
    "test_ns": query("test", 2),
    "outside": query("www.other.net"),
    "root": query("", 2),
    "class_any": query("www.example.org", 1, 255),
    "class_ch": query("version.bind", 16, 3),
    "axfr": query("example.org", 252),
    "edns": query("www.example.org", edns=opt()),
    "edns_do": query("nope.example.org", edns=opt(do=True)),
    "edns_small": query("example.org", 255, edns=opt(payload=100)),
    "edns_v1": query("www.example.org", edns=opt(version=1)),
    "edns_option": query("www.example.org", edns=opt(rdata=struct.pack(">HH", 10, 8) + b"cookie!!")),
    "two_opt": header(ar=2) + wire("www.example.org") + struct.pack(">HH", 1, 1) + opt() + opt(),
    "pointer_question": header(qid=0x4242) + wire("www.example.org")[:-1] + b"\xc0\x0b" + struct.pack(">HH", 1, 1),
    "pointer_loop": header() + b"\xc0\x0c" + struct.pack(">HH", 1, 1),
    "label_0x40": header() + b"\x41a\0" + struct.pack(">HH", 1, 1),
    "qd0": header(qd=0),
    "qd2": header(qd=2) + (wire("www.example.org") + struct.pack(">HH", 1, 1)) * 2,
    "response": header(flags=0x8000) + wire("www.example.org") + struct.pack(">HH", 1, 1),
    "opcode_status": header(flags=0x1000),
    "an_record": header(an=1) + wire("www.example.org") + struct.pack(">HH", 1, 1) + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + b"\x0a\0\0\x0a",
    "short": b"\x12\x34\x01",
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}")
