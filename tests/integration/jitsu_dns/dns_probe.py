#!/usr/bin/env python3
"""DNS probes for the jitsu-dns listen/TCP-limit test, standard library only.

  dns_probe.py PORT NAME PROBE...   (one process for many probes: Python starts slowly)

PROBE is one of
  udp,SRC,DST            an SOA query for NAME over a CONNECTED UDP socket bound to SRC: the
                         kernel drops answers from any source but DST:PORT, as stub
                         resolvers do
  tcp,SRC,DST            the same over TCP
  hold,SRC,DST,N,SRC2    opens N idle TCP connections from SRC, then asks over TCP from
                         SRC2 while they are held

Prints one line per probe, "PROBE ok" or "PROBE fail WHY"; exit 0 if all were ok. Every
wait is bounded (2 s).
"""
import socket
import struct
import sys

TIMEOUT = 2.0


def query(name, qid=0x4A17):
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".") if label)
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + b"\0" + struct.pack(">HH", 6, 1)


def family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def check(answer, qid=0x4A17):
    if len(answer) < 12:
        return "fail short answer"
    rid, flags, _, ancount = struct.unpack(">HHHH", answer[:8])
    if rid != qid or not flags & 0x8000:
        return "fail not our answer"
    if flags & 0xF or ancount < 1:
        return "fail rcode %d, %d answers" % (flags & 0xF, ancount)
    return "ok"


def udp(src, dst, port, name):
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.bind((src, 0))
    s.connect((dst, port))
    s.send(query(name))
    try:
        return check(s.recv(4096))
    except socket.timeout:
        return "fail no answer from %s within %.0f s" % (dst, TIMEOUT)
    except OSError as e:
        return "fail %s" % e


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def tcp(src, dst, port, name):
    try:
        s = socket.create_connection((dst, port), timeout=TIMEOUT, source_address=(src, 0))
        q = query(name)
        s.sendall(struct.pack(">H", len(q)) + q)
        (length,) = struct.unpack(">H", recv_exact(s, 2))
        return check(recv_exact(s, length))
    except (OSError, ConnectionError) as e:
        return "fail %s" % e


def hold(src, dst, port, count, src2, name):
    held = []
    for _ in range(count):
        try:
            held.append(socket.create_connection((dst, port), timeout=TIMEOUT,
                                                 source_address=(src, 0)))
        except OSError as e:
            return "fail connection %d: %s" % (len(held), e)
    result = tcp(src2, dst, port, name)
    for s in held:
        s.close()
    return result


def main(argv):
    port, name = int(argv[1]), argv[2]
    all_ok = True
    for probe in argv[3:]:
        kind, *args = probe.split(",")
        if kind == "udp" and len(args) == 2:
            result = udp(args[0], args[1], port, name)
        elif kind == "tcp" and len(args) == 2:
            result = tcp(args[0], args[1], port, name)
        elif kind == "hold" and len(args) == 4:
            result = hold(args[0], args[1], port, int(args[2]), args[3], name)
        else:
            result = "fail usage"
        print(probe, result, flush=True)
        all_ok = all_ok and result == "ok"
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
