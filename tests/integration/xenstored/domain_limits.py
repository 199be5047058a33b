#!/usr/bin/python3
"""Issue 11 item 3: one domain cannot exhaust jitsu-xenstored.
  - connections per unprivileged domain are capped (-Q connections=N): the rest wait in
    the kernel's backlog and are served as earlier ones close; other domains and dom0
    are served meanwhile;
  - the watch and transaction quotas bind a domain's total over all its connections
    (E2BIG / ENOSPC, counted in XS_CONTROL stats); other domains and dom0 keep theirs;
  - memory: 64 connections of one domain each asking for the watch quota (128) of
    ~4 KiB watches cost what one connection's quota does (RSS growth measured, bound
    checked: before the fix each connection had its own quota, ~33 MB);
  - out of file descriptors (EMFILE), the accept loop backs off instead of spinning, and
    logs at most one line per 5 s; it accepts again once descriptors are free.
Usage: domain_limits.py (JITSU_BIN in the environment)."""
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from robustness import (Client, XS_CONTROL, XS_ERROR, XS_GET_DOMAIN_PATH,  # noqa: E402
                        XS_TRANSACTION_START, XS_WATCH, fail)

SERVER_FILES = 300  # the server's open-files limit


def answered(c, timeout):
    """Sends GET_DOMAIN_PATH and waits up to `timeout` s for the reply."""
    c.s.settimeout(timeout)
    try:
        return c.reply()[3].startswith(b"/local/domain/")
    except (socket.timeout, EOFError, ConnectionResetError):
        return False


def ask(c):
    c.send(XS_GET_DOMAIN_PATH, b"0\0")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    xsd = os.path.join(os.environ["JITSU_BIN"], "jitsu-xenstored")
    work = tempfile.mkdtemp(prefix="xsd-limits.")
    sock, d5, d6 = (os.path.join(work, n) for n in ("sock", "d5", "d6"))
    logpath = os.path.join(work, "log")
    log = open(logpath, "w")

    def limit_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (SERVER_FILES, SERVER_FILES))

    # Our own side needs more descriptors than the server has.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    proc = subprocess.Popen([xsd, "--socket", sock, "--domain-socket", "5:" + d5,
                             "--domain-socket", "6:" + d6, "-Q", "connections=4",
                             "-Q", "watches=6", "-Q", "transactions=3"],
                            stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit_files)
    clients = []
    try:
        for _ in range(200):
            if all(os.path.exists(p) for p in (sock, d5, d6)):
                break
            time.sleep(0.025)
        else:
            fail("server did not start")
        time.sleep(0.05)
        run(proc, sock, d5, d6, logpath, clients)
        for c in clients:
            c.close()
        proc.send_signal(signal.SIGTERM)
        if proc.wait(timeout=10) != 0:
            fail("exit status %d after SIGTERM" % proc.returncode)
    finally:
        for c in clients:
            c.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        if os.environ.get("KEEP") is None:
            shutil.rmtree(work, ignore_errors=True)


def run(proc, sock, d5, d6, logpath, clients):
    # --- the per-domain cap ---
    dom5 = [Client(d5) for _ in range(10)]  # connect() succeeds: the backlog takes them
    clients.extend(dom5)
    for c in dom5:
        ask(c)
    served = [c for c in dom5 if answered(c, 0.3)]
    if len(served) != 4:
        fail("domain 5 with connections=4: %d of 10 connections served" % len(served))
    print("ok: domain 5 capped at 4 connections (6 wait in the backlog)")
    other = Client(d6)
    clients.append(other)
    ask(other)
    if not answered(other, 2):
        fail("domain 6 not served while domain 5 is at its cap")
    dom0 = Client(sock)
    clients.append(dom0)
    ask(dom0)
    if not answered(dom0, 2):
        fail("dom0 not served while domain 5 is at its cap")
    print("ok: domain 6 and dom0 served meanwhile")
    other.close()  # domain 6's connections are counted again below
    served[0].close()
    waiting = [c for c in dom5 if c not in served]
    if sum(1 for c in waiting if answered(c, 0.5)) != 1:
        fail("closing one of domain 5's connections did not let exactly one waiting one in")
    print("ok: a closed connection lets one waiting connection of domain 5 in")
    for c in dom5:
        c.close()

    per_domain_quotas(sock, d5, d6, clients)
    watch_memory(proc, sock, d6, clients)

    # --- out of descriptors: back off, do not spin ---
    before_lines = sum(1 for line in open(logpath) if "accept on" in line)
    flood = []
    for _ in range(SERVER_FILES + 100):
        c = Client(sock)
        flood.append(c)
    clients.extend(flood)
    time.sleep(0.5)  # the server accepts until it runs out, then backs off
    cpu0 = cpu_seconds(proc.pid)
    time.sleep(2.0)
    cpu = cpu_seconds(proc.pid) - cpu0
    lines = sum(1 for line in open(logpath) if "accept on" in line) - before_lines
    print("measured: %.2f s of CPU in 2 s while out of descriptors; %d 'accept on' log line(s)"
          % (cpu, lines))
    if cpu > 0.5:
        fail("accept loop spins while out of descriptors (%.2f s CPU in 2 s)" % cpu)
    if lines < 1 or lines > 2:
        fail("%d accept log lines in 2.5 s (want 1 or 2: rate-limited)" % lines)
    print("ok: EMFILE backs off (no spin, rate-limited log)")
    for c in flood[:150]:
        c.close()
    late = flood[-1]  # waited in the backlog the whole time
    ask(late)
    if not answered(late, 3):
        fail("a connection from the backlog was not served once descriptors were free")
    fresh = Client(sock)
    clients.append(fresh)
    ask(fresh)
    if not answered(fresh, 3):
        fail("a new dom0 connection was not served once descriptors were free")
    print("ok: serves again once descriptors are free")


def error_of(m):
    return m[3].split(b"\0")[0].decode() if m[0] == XS_ERROR else ""


def watch(c, path, token):
    """'' or the error name."""
    return error_of(c.call(XS_WATCH, path.encode() + b"\0" + token.encode() + b"\0"))


def connect_served(path, clients):
    """A connection the server has accepted (waits out closes still being processed)."""
    for _ in range(40):
        c = Client(path)
        clients.append(c)
        ask(c)
        if answered(c, 0.25):
            return c
        c.close()
    fail("no connection accepted on " + path)


def per_domain_quotas(sock, d5, d6, clients):
    """-Q watches=6 -Q transactions=3: totals over a domain's connections."""
    conns = [connect_served(d5, clients) for _ in range(3)]
    for i, c in enumerate(conns):
        for k in range(2):
            if watch(c, "/q/%d/%d" % (i, k), "t") != "":
                fail("domain 5: watch %d of connection %d refused" % (k, i))
    got = [watch(c, "/q/more/%d" % i, "t") for i, c in enumerate(conns)]
    if got != ["E2BIG"] * 3:
        fail("domain 5 at 6 watches over 3 connections: a 7th gave %s (want E2BIG)" % got)
    print("ok: 6 watches over 3 connections of domain 5, a 7th on any of them: E2BIG")
    other = connect_served(d6, clients)
    for k in range(6):
        if watch(other, "/q6/%d" % k, "t") != "":
            fail("domain 6 refused a watch while domain 5 is at its quota")
    dom0 = Client(sock)
    clients.append(dom0)
    if watch(dom0, "/q0", "t") != "":
        fail("dom0 refused a watch while domain 5 is at its quota")
    # Closing a connection gives its watches back (once the server has seen the close).
    conns[0].close()
    for _ in range(40):
        if watch(conns[1], "/q/freed", "t") == "":
            break
        time.sleep(0.025)
    else:
        fail("closing a connection did not give its watches back to domain 5")
    starts = [error_of(conns[1 + i % 2].call(XS_TRANSACTION_START, b"\0")) for i in range(4)]
    if starts != ["", "", "", "ENOSPC"]:
        fail("domain 5 transactions over 2 connections with quota 3: %s" % starts)
    if error_of(other.call(XS_TRANSACTION_START, b"\0")) != "":
        fail("domain 6 refused a transaction while domain 5 is at its quota")
    stats = dom0.call(XS_CONTROL, b"stats\0")[3].decode()
    counted = {line.split(":")[0].strip(): int(line.split(":")[1])
               for line in stats.splitlines() if ":" in line}
    if counted.get("watch-quota-refusals", 0) < 3 or counted.get("transaction-quota-refusals",
                                                                  0) < 1:
        fail("quota refusals not counted:\n" + stats)
    print("ok: 3 transactions over 2 connections of domain 5, a 4th: ENOSPC; domain 6 and "
          "dom0 unaffected; refusals counted in XS_CONTROL stats")
    for c in conns[1:] + [other]:
        c.close()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def watch_memory(proc, sock, d6, clients):
    """64 connections of domain 6, each asking for 128 watches of ~4 KiB."""
    dom0 = Client(sock)
    clients.append(dom0)
    for setting in (b"watches\x00128\x00", b"connections\x0064\x00"):
        if error_of(dom0.call(XS_CONTROL, b"quota\0set\0" + setting)) != "":
            fail("quota set " + setting.decode())
    time.sleep(0.1)  # let earlier closes settle before the baseline
    before = rss_kb(proc.pid)
    conns = [connect_served(d6, clients) for _ in range(64)]
    path = "/rss/" + "p" * 2000
    accepted = 0
    for i, c in enumerate(conns):
        for k in range(128):
            token = "%02d-%03d-" % (i, k) + "t" * 2070  # path + token: a full payload
            e = watch(c, path, token)
            if e == "E2BIG":
                break
            if e != "":
                fail("watch: " + e)
            accepted += 1
    grown = rss_kb(proc.pid) - before
    print("measured: RSS %+d kB for 64 connections of one domain asking for 128 watches of "
          "~4 KiB each (%d watches accepted)" % (grown, accepted))
    if accepted != 128:
        fail("domain 6 got %d watches over 64 connections (want its quota, 128)" % accepted)
    if grown > 16 * 1024:
        fail("RSS grew by %d kB (bound 16 MiB)" % grown)
    print("ok: the watch quota is per domain: 64 connections hold 128 watches in all")
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()
