#!/usr/bin/python3
"""Issue 11 item 2: jitsu-xenstored on a full disk. The store file lives on a 512 KiB
tmpfs mounted in a private mount namespace (the test re-executes itself under
`unshare -m`; needs root). While the disk is full:
  - a write, a mkdir and a transaction commit get XS_ERROR "ENOSPC", the connection
    stays open and the server keeps running;
  - nothing refused is visible (reads, directory listings) and no watch fires for it;
  - reads are served; one log line for the episode.
Once space is freed writes succeed again. A kill -9 during a second episode and a restart
on the still-full disk, then another restart after freeing it: every acknowledged write
is there, nothing refused is.
Usage: persist_full_disk.py (JITSU_BIN in the environment)."""
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from robustness import (Client, XS_CONTROL, XS_DIRECTORY, XS_ERROR, XS_MKDIR,  # noqa: E402
                        XS_READ, XS_TRANSACTION_END, XS_TRANSACTION_START, XS_WATCH,
                        XS_WATCH_EVENT, XS_WRITE, fail)

NS_MARK = "XSD_FULL_DISK_IN_NS"
SKIP = 77


def reexec_in_mount_namespace():
    if os.environ.get(NS_MARK):
        return
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("SKIP: needs root and unshare(1) for a private tmpfs")
        sys.exit(SKIP)
    env = dict(os.environ, **{NS_MARK: "1"})
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable,
                           os.path.abspath(__file__)], env)


def ok(msg):
    print("ok: " + msg)


def error_of(m):
    return m[3].split(b"\0")[0].decode() if m[0] == XS_ERROR else ""


def write(c, path, value):
    """'' on success, else the error name."""
    m = c.call(XS_WRITE, path.encode() + b"\0" + value)
    return error_of(m) if m[0] == XS_ERROR else ("" if m[3] == b"OK\0" else "?")


def read(c, path):
    m = c.call(XS_READ, path.encode() + b"\0")
    return "ERR:" + error_of(m) if m[0] == XS_ERROR else m[3]


def fill(path):
    """Fills the filesystem of `path` with one file until ENOSPC."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    # What is left is less than one chunk; take it page by page.
    with open(path, "ab", buffering=0) as f:
        while True:
            try:
                f.write(b"\0" * 512)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return


class Server:
    def __init__(self, xsd, sock, store, logpath):
        self.args = [xsd, "--socket", sock, "--persist", store]
        self.sock = sock
        self.logpath = logpath
        self.proc = None

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        log = open(self.logpath, "a")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        for _ in range(200):
            if self.proc.poll() is not None:
                fail("server exited at start (status %d):\n%s" % (self.proc.returncode,
                                                                  open(self.logpath).read()))
            if os.path.exists(self.sock):
                try:
                    Client(self.sock).s.close()
                    return
                except OSError:
                    pass
            time.sleep(0.025)
        fail("server did not start")

    def alive(self):
        return self.proc.poll() is None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


def log_lines(logpath, needle):
    with open(logpath) as f:
        return sum(1 for line in f if needle in line)


def main():
    reexec_in_mount_namespace()
    xsd = os.path.join(os.environ["JITSU_BIN"], "jitsu-xenstored")
    work = tempfile.mkdtemp(prefix="xsd-fulldisk.")
    disk = os.path.join(work, "disk")
    os.mkdir(disk)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", disk],
                   check=True)
    server = Server(xsd, os.path.join(work, "sock"), os.path.join(disk, "store.db"),
                    os.path.join(work, "log"))
    try:
        run(server, disk)
    except BaseException:
        if os.path.exists(server.logpath):
            sys.stderr.write("--- jitsu-xenstored log ---\n" + open(server.logpath).read())
        raise
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
        subprocess.run(["umount", disk], check=False)
        shutil.rmtree(work, ignore_errors=True)


def run(server, disk):
    filler = os.path.join(disk, "filler")
    acked = {}      # path -> value: acknowledged, must survive
    refused = set()  # paths whose every write was refused: must never appear
    server.start()
    c = Client(server.sock)
    for i in range(30):
        path, value = "/ack/k%d" % i, b"v%d" % i * 20
        if write(c, path, value) != "":
            fail("write %s before the disk is full" % path)
        acked[path] = value
    w = Client(server.sock)
    if w.call(XS_WATCH, b"/ack\0w\0")[0] == XS_ERROR:
        fail("watch")
    w.recv()  # the initial event
    ok("30 writes acknowledged")

    # --- the disk is full ---
    fill(filler)
    big = b"x" * 3000  # a few pages: whatever room is left in the file's last page goes
    results = {}
    for i in range(8):
        path = "/ack/full%d" % i
        results[path] = write(c, path, big)
        if results[path] == "":
            acked[path] = big
        else:
            refused.add(path)
    if not refused:
        fail("no write refused on a full disk")
    bad = {p: e for p, e in results.items() if e not in ("", "ENOSPC")}
    if bad:
        fail("refused writes must get ENOSPC: %s" % bad)
    if not server.alive():
        fail("server exited on a full disk (status %d)" % server.proc.returncode)
    # A record larger than a page: no slack left in the file's last page can take it.
    long_dir = "/ack/" + "d" * 2000
    m = c.call(XS_MKDIR, long_dir.encode() + b"\0")
    if error_of(m) != "ENOSPC":
        fail("mkdir on a full disk: %r" % (m,))
    refused.add(long_dir)
    tx = int(c.call(XS_TRANSACTION_START, b"\0")[3].rstrip(b"\0"))
    for i in range(5):
        m = c.call(XS_WRITE, b"/ack/tx%d\0" % i + big, tx)
        if m[0] == XS_ERROR:
            fail("write inside a transaction: %r" % (m,))
        refused.add("/ack/tx%d" % i)
    m = c.call(XS_TRANSACTION_END, b"T\0", tx)
    if error_of(m) != "ENOSPC":
        fail("commit on a full disk: %r" % (m,))
    ok("full disk: %d write(s) refused with ENOSPC, %d fitted in the file's last page; "
       "mkdir and a 5-node commit refused with ENOSPC" % (len(refused) - 6, len(acked) - 30))

    # Reads go on; nothing refused is visible; no event for it.
    for path, value in acked.items():
        if read(c, path) != value:
            fail("read %s during the episode" % path)
    for path in refused:
        if read(c, path) != "ERR:ENOENT":
            fail("refused %s is visible" % path)
    listed = set(c.call(XS_DIRECTORY, b"/ack\0")[3].rstrip(b"\0").split(b"\0"))
    if listed != {p[len("/ack/"):].encode() for p in acked}:
        fail("directory of /ack does not match the acknowledged writes")
    w.s.settimeout(0.3)
    seen = set()
    try:
        while True:
            m = w.recv()
            if m[0] == XS_WATCH_EVENT:
                seen.add(m[3].split(b"\0")[0].decode())
    except socket.timeout:
        pass
    if seen & refused:
        fail("watch fired for refused writes: %s" % sorted(seen & refused))
    stats = c.call(XS_CONTROL, b"stats\0")[3].decode()
    counted = {line.split(":")[0].strip(): int(line.split(":")[1])
               for line in stats.splitlines() if ":" in line}
    requests_refused = len(refused) - 5 + 1  # the 5 nodes of the commit: one request
    if counted.get("persist-failures") != requests_refused:
        fail("stats do not count the %d refused requests:\n%s" % (requests_refused, stats))
    lines = log_lines(server.logpath, "refusing changes with ENOSPC")
    if lines != 1:
        fail("%d log lines for one full-disk episode (want 1)" % lines)
    ok("reads served, refused writes invisible, no watch event for them, 1 log line")

    # --- space freed ---
    os.unlink(filler)
    for i in range(5):
        path = "/ack/after%d" % i
        if write(c, path, big) != "":
            fail("write after space was freed")
        acked[path] = big
    if log_lines(server.logpath, "is writable again") != 1:
        fail("no 'writable again' line after the episode")
    ok("writes succeed again once space is freed")

    # --- second episode, kill -9 during it, restart on the full disk ---
    fill(filler)
    for i in range(6):
        path = "/ack/second%d" % i
        e = write(c, path, big)
        if e == "":
            acked[path] = big
        elif e == "ENOSPC":
            refused.add(path)
        else:
            fail("second episode: %s" % e)
    server.kill9()
    c.s.close()
    w.s.close()

    def check_all(label):
        d = Client(server.sock)
        for path, value in acked.items():
            if read(d, path) != value:
                fail("%s: acknowledged %s lost" % (label, path))
        for path in refused:
            if read(d, path) != "ERR:ENOENT":
                fail("%s: refused %s appeared" % (label, path))
        d.s.close()

    server.start()  # the disk is still full
    check_all("restart on a full disk")
    ok("kill -9 during an episode, restart on the still-full disk: %d acknowledged writes "
       "present, %d refused absent" % (len(acked), len(refused)))
    os.unlink(filler)
    d = Client(server.sock)
    if write(d, "/ack/final", b"1") != "":
        fail("write after the restart and freeing space")
    acked["/ack/final"] = b"1"
    d.s.close()
    if server.stop() != 0:
        fail("exit status %d after SIGTERM" % server.proc.returncode)
    server.start()
    check_all("second restart")
    if server.stop() != 0:
        fail("exit status %d after SIGTERM" % server.proc.returncode)
    ok("second restart: everything acknowledged present")


if __name__ == "__main__":
    main()
