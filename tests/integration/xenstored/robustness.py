#!/usr/bin/python3
"""jitsu-xenstored over raw sockets: pipelining, malformed and hostile input, an
oversized length, a client that never reads, XS_CONTROL. The server must answer or
close the offending connection, never crash or hang, and other clients must not notice.
Usage: robustness.py (JITSU_BIN in the environment)."""
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

XS_CONTROL, XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH = 0, 1, 2, 3, 4, 5
XS_TRANSACTION_START, XS_TRANSACTION_END, XS_INTRODUCE, XS_RELEASE = 6, 7, 8, 9
XS_GET_DOMAIN_PATH, XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS = 10, 11, 12, 13, 14
XS_WATCH_EVENT, XS_ERROR = 15, 16
HDR = struct.Struct("=IIII")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Client:
    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.req = 0
        self.buf = b""

    def send(self, type_, payload, tx=0, req=None):
        if req is None:
            self.req += 1
            req = self.req
        self.s.sendall(HDR.pack(type_, req, tx, len(payload)) + payload)
        return req

    def recv(self):
        while len(self.buf) < HDR.size:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        type_, req, tx, length = HDR.unpack(self.buf[:HDR.size])
        while len(self.buf) < HDR.size + length:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        payload = self.buf[HDR.size:HDR.size + length]
        self.buf = self.buf[HDR.size + length:]
        return type_, req, tx, payload

    def reply(self):
        while True:
            m = self.recv()
            if m[0] != XS_WATCH_EVENT:
                return m

    def call(self, type_, payload, tx=0):
        self.send(type_, payload, tx)
        return self.reply()

    def closed(self):
        """True if the server closed this connection (EOF or reset)."""
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def main():
    xsd = os.path.join(os.environ["JITSU_BIN"], "jitsu-xenstored")
    work = tempfile.mkdtemp(prefix="xsd-robust.")
    sock = os.path.join(work, "sock")
    log = open(os.path.join(work, "log"), "w")
    proc = subprocess.Popen([xsd, "--socket", sock, "--output-limit", "65536"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.025)
        else:
            fail("server did not start")
        time.sleep(0.05)
        run(sock, proc)
        proc.send_signal(signal.SIGTERM)
        if proc.wait(timeout=10) != 0:
            fail("exit status %d after SIGTERM" % proc.returncode)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        if os.environ.get("KEEP") is None:
            shutil.rmtree(work, ignore_errors=True)


def run(sock, proc):
    good = Client(sock)
    assert good.call(XS_WRITE, b"/k\0v")[3] == b"OK\0"

    # Pipelining: 200 requests in one send, 200 replies in order.
    c = Client(sock)
    blob = b"".join(HDR.pack(XS_READ, i, 0, 3) + b"/k\0" for i in range(1, 201))
    c.s.sendall(blob)
    for i in range(1, 201):
        t, req, _, payload = c.recv()
        if (t, req, payload) != (XS_READ, i, b"v"):
            fail("pipelined reply %d: %r" % (i, (t, req, payload)))
    c.close()
    print("ok: 200 pipelined requests")

    # Malformed payloads get error replies on a connection that stays usable.
    c = Client(sock)
    cases = [
        (XS_READ, b"", "EINVAL"), (XS_READ, b"/k", "EINVAL"), (XS_READ, b"/a\0/b\0", "EINVAL"),
        (XS_WRITE, b"novalue", "EINVAL"), (XS_READ, b"/bad path\0", "EINVAL"),
        (XS_READ, b"/a//b\0", "EINVAL"), (XS_READ, b"/trailing/\0", "EINVAL"),
        (XS_SET_PERMS, b"/k\0zz\0", "EINVAL"), (XS_SET_PERMS, b"/k\0", "EINVAL"),
        (XS_WATCH, b"/k\0", "EINVAL"), (XS_TRANSACTION_END, b"Q\0", "EINVAL"),
        (XS_WATCH_EVENT, b"/k\0t\0", "ENOSYS"), (XS_ERROR, b"x", "ENOSYS"),
        (999, b"\xff" * 10, "ENOSYS"), (0xFFFFFFFF, b"", "ENOSYS"),
        (XS_READ, b"/" + b"a" * 3000 + b"\0", "EINVAL"), (XS_RM, b"/\0", "EINVAL"),
        (XS_READ, b"\xff\xfe\0", "EINVAL"), (XS_INTRODUCE, b"1\0", "EINVAL"),
    ]
    for type_, payload, want in cases:
        t, _, _, got = c.call(type_, payload)
        if t != XS_ERROR or got != want.encode() + b"\0":
            fail("type %d payload %r: got %r" % (type_, payload[:20], (t, got)))
    assert c.call(XS_READ, b"/k\0")[3] == b"v"
    c.close()
    print("ok: malformed payloads answered with errors")

    # An oversized length: the server drops that connection, nobody else notices.
    bad = Client(sock)
    bad.s.sendall(HDR.pack(XS_READ, 1, 0, 4097))
    if not bad.closed():
        fail("oversized length did not close the connection")
    bad2 = Client(sock)
    bad2.s.sendall(HDR.pack(XS_WRITE, 1, 0, 0xFFFFFFFF) + b"x" * 100)
    if not bad2.closed():
        fail("huge length did not close the connection")
    assert good.call(XS_READ, b"/k\0")[3] == b"v"
    print("ok: oversized lengths close only the offending connection")

    # Random garbage from many connections, some cut off mid-message.
    rng = random.Random(1234)
    for _ in range(100):
        g = Client(sock, timeout=0.2)
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600)))
        try:
            g.s.sendall(data)
            g.s.recv(65536)
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            pass
        g.close()
    assert good.call(XS_READ, b"/k\0")[3] == b"v"
    if proc.poll() is not None:
        fail("server died on garbage")
    t, _, _, p = good.call(XS_CONTROL, b"check\0")
    if p != b"OK\0":
        fail("store check after garbage: %r" % p)
    print("ok: garbage from 100 connections, store consistent")

    # A client that watches but never reads is disconnected once its queued output
    # passes --output-limit; writers are not slowed down or affected. (Distinct paths:
    # identical pending events are merged, which alone bounds a repeated one.)
    slow = Client(sock)
    for i in range(100):
        slow.send(XS_WATCH, b"/busy\0tok%03d\0" % i)
    t0 = time.time()
    writer = Client(sock)
    for i in range(400):
        if writer.call(XS_WRITE, b"/busy/k%d\0%s" % (i, b"x" * 100))[3] != b"OK\0":
            fail("writer got an error while a slow reader was connected")
    if time.time() - t0 > 20:
        fail("writer was slowed down by a slow reader")
    slow.s.settimeout(2)
    # Drain what was queued before the cut; then the connection must end.
    ended = False
    try:
        while slow.s.recv(1 << 20):
            pass
        ended = True
    except (ConnectionResetError, BrokenPipeError):
        ended = True
    except socket.timeout:
        ended = False
    if not ended:
        fail("slow reader was not disconnected")
    assert good.call(XS_READ, b"/k\0")[3] == b"v"
    print("ok: slow reader disconnected, writer unaffected")

    # A client that pipelines without reading its replies is paused, not buffered
    # without bound, and resumes when it reads.
    p = Client(sock)
    n = 3000
    blob = b"".join(HDR.pack(XS_READ, i, 0, 3) + b"/k\0" for i in range(1, n + 1))
    p.s.settimeout(10)
    sender = __import__("threading").Thread(target=p.s.sendall, args=(blob,))
    sender.start()
    time.sleep(0.3)
    assert good.call(XS_READ, b"/k\0")[3] == b"v"  # server not stuck on p
    for i in range(1, n + 1):
        if p.recv()[1] != i:
            fail("paused pipeline reply order")
    sender.join(5)
    print("ok: back-pressure on a pipelining client that does not read")

    # XS_CONTROL.
    for cmd, want in [(b"print\0hello from the test\0", b"OK\0"), (b"log\0off\0", b"OK\0")]:
        if good.call(XS_CONTROL, cmd)[3] != want:
            fail("control %r" % cmd)
    if b"quota" not in good.call(XS_CONTROL, b"help\0")[3]:
        fail("control help")
    if not good.call(XS_CONTROL, b"quota\0")[3].startswith(b"Quota settings:\n"):
        fail("control quota")
    if good.call(XS_CONTROL, b"nonsense\0")[3] != b"EINVAL\0":
        fail("unknown control command")
    print("ok: XS_CONTROL")


if __name__ == "__main__":
    main()
