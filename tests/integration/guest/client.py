#!/usr/bin/python3
"""The client of the guest integration test: one real kernel connect() to IP:PORT with a
timeout, then GET / on that connection. Prints one JSON line: connect time, the
socket's TCP_INFO retransmission counters, the HTTP status."""
import json
import socket
import struct
import sys
import time

ip, port = sys.argv[1], int(sys.argv[2])
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
out = {"connected": False}
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(timeout)
t0 = time.perf_counter()
try:
    s.connect((ip, port))
    out["connected"] = True
except OSError as e:
    out["error"] = str(e)
out["connect_ms"] = round((time.perf_counter() - t0) * 1000, 3)
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
# struct tcp_info: u8 tcpi_retransmits at 2; u32 tcpi_total_retrans at 100.
out["retransmits"] = info[2]
out["total_retrans"] = struct.unpack_from("I", info, 100)[0] if len(info) >= 104 else None
if out["connected"]:
    try:
        s.sendall(b"GET / HTTP/1.0\r\nHost: vm\r\n\r\n")
        data = b""
        while len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode(errors="replace")
        out["status_line"] = line
        out["status"] = int(line.split()[1]) if line.startswith("HTTP/") else None
        out["body"] = data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")
    except OSError as e:
        out["error"] = str(e)
s.close()
print(json.dumps(out), flush=True)
