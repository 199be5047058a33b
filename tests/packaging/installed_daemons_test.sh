#!/bin/bash
# The three daemons as the packages install them, not under the machine's systemd: each
# runs from the extracted root (package_test.sh) with the command line of its packaged
# unit (ExecStart= with its EnvironmentFile, /etc/default/*) and the packaged catalog
# (/etc/jitsu/jitsu-dns.conf), paths relocated into the root and the test's directory,
# in the shared topology (scripts/lib/topology.sh: client -> router -> br0 10.0.0.1 in
# <P>-host). Each gets NOTIFY_SOCKET, as systemd would give it.
# Checks: READY=1 from each daemon; a client's DNS query for the packaged name gets the
# VM's address and boots it (netns backend, jitsu-netvm and jitsu-httpd of the root):
# HTTP answers; the installed jitsu-ctl shows it running (table and --json); with
# --log-format json every log line of every daemon is a JSON object with
# ts/level/program/msg; STOPPING=1 on SIGTERM; nothing left behind.
# Usage: installed_daemons_test.sh ROOT   (env JITSU_BIN, JITSU_SOURCE_DIR: ctest)
set -u
ROOT=$(readlink -f "${1:?extracted package root}")
: "${JITSU_SOURCE_DIR:?}" "${JITSU_BIN:?}"
export JITSU_BIN  # topology.sh finds jitsu-delayline there
CHECK_TAG=installed
. "$JITSU_SOURCE_DIR/tests/support/checks.sh"
. "$JITSU_SOURCE_DIR/scripts/lib/topology.sh"
TOPO_PREFIX="pk$$"
TOPO_CLIENTS=1
HOST_NS=$(topo_host_ns)
CLIENT_NS=$(topo_client_ns 1)
WORK=$(mktemp -d "/tmp/jitsu-installed-$$.XXXX")
PIDS=()
NOTIFY_PID=

cleanup() {
    stop_pids "${PIDS[@]}"
    [ -n "$NOTIFY_PID" ] && stop_pids "$NOTIFY_PID"
    ip netns del www 2>/dev/null  # the packaged VM's namespace, if jitsu-dns left it
    topo_down > /dev/null 2>&1
    [ -n "${JITSU_KEEP_WORK:-}" ] && echo "[installed] kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in usr/sbin/jitsu-xenstored usr/sbin/synjitsu usr/sbin/jitsu-dns usr/sbin/jitsu-netvm \
         usr/bin/jitsu-httpd usr/bin/jitsu-ctl etc/jitsu/jitsu-dns.conf; do
    [ -e "$ROOT/$f" ] || { fail "$ROOT/$f missing (run package_debs first)"; exit 1; }
done
# The packaged VM is named www: its namespace must not exist already (another run).
[ -e /run/netns/www ] && { fail "a namespace named www exists already"; exit 1; }

SOCK="$WORK/xenstored.sock"
# relocate TEXT: the packaged paths, moved into the root and the work directory.
relocate() {
    sed -e "s#/run/xenstored/socket#$SOCK#g" -e "s#/var/lib/jitsu/#$WORK/#g" \
        -e "s#/run/synjitsu/#$WORK/#g" -e "s#/usr/#$ROOT/usr/#g" -e "s#/etc/#$WORK/etc/#g" <<< "$1"
}
# The catalog relocated (it names /usr/bin/jitsu-httpd); the EnvironmentFiles as packaged
# (unit_command relocates the command line they make).
mkdir -p "$WORK/etc/default" "$WORK/etc/jitsu"
relocate "$(cat "$ROOT/etc/jitsu/jitsu-dns.conf")" > "$WORK/etc/jitsu/jitsu-dns.conf"
# unit_command UNIT: its ExecStart= with $VARS from its Environment= and EnvironmentFile=.
unit_command() {
    local unit="$ROOT/usr/lib/systemd/system/$1.service" exec envs
    exec=$(sed -n 's/^ExecStart=//p' "$unit")
    envs=$(sed -n 's/^Environment=//p' "$unit" | tr -d '"')
    (
        while IFS= read -r kv; do [ -n "$kv" ] && export "${kv?}"; done <<< "$envs"
        set -a
        # shellcheck source=/dev/null # the packaged defaults file, found at run time
        . "$ROOT/etc/default/$1"
        set +a
        relocate "$(eval "echo \"$exec\"")"
    )
}

# Readiness: a datagram socket standing in for systemd's, one line per message.
NOTIFY="$WORK/notify.sock"
python3 - "$NOTIFY" "$WORK/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        data, _ = s.recvfrom(4096)
        log.write(data.decode(errors="replace").replace("\n", " ") + "\n")
PY
NOTIFY_PID=$!
wait_until 5 test -S "$NOTIFY" || { fail "notify listener did not start"; exit 1; }
: > "$WORK/notify.log"

TOPO_RTT_MS=1 topo_up > "$WORK/topology.log" 2>&1 || { fail "topology: $(tail -1 "$WORK/topology.log")"; exit 1; }

# start NAME: runs the unit's command in the host namespace (nsenter --net only: the VMs'
# /run/netns mounts stay visible), JSON logs, NOTIFY_SOCKET set; waits for READY=1.
start() {
    local name=$1 cmd
    cmd=$(unit_command "$name")
    log "$name: $cmd"
    # shellcheck disable=SC2086  # the unit's command line, word-split as systemd does
    # In a mount namespace of its own with slave propagation, as the unit's ProtectSystem=
    # and PrivateTmp= give it (the VMs' /run/netns mounts then stay inside it).
    NOTIFY_SOCKET="$NOTIFY" XENSTORED_PATH="$SOCK" nsenter --net="/run/netns/$HOST_NS" -- \
        unshare --mount --propagation slave -- $cmd --log-format json 2> "$WORK/$name.log" &
    PIDS+=($!)
    local pid=$!
    if wait_until 10 bash -c "[ \$(grep -c READY=1 '$WORK/notify.log') -ge $2 ]"; then
        log "ok: $name sent READY=1 ($(grep READY=1 "$WORK/notify.log" | tail -1))"
    else
        fail "$name: no READY=1 (log: $(tail -3 "$WORK/$name.log"))"
        return 1
    fi
    kill -0 "$pid" 2>/dev/null || { fail "$name exited"; return 1; }
}
start jitsu-xenstored 1 && start synjitsu 2 && start jitsu-dns 3 || exit 1

# A client asks for the packaged name: the answer is the VM's address, the VM boots.
answer=$(ip netns exec "$CLIENT_NS" dig +time=2 +tries=2 +short @10.0.0.1 www.jitsu.test A)
check "DNS answer for www.jitsu.test is 10.0.0.10 (got '$answer')" test "$answer" = 10.0.0.10
# HTTP from br0's side (the packaged VM has no gateway= for the client's subnet).
check "the VM serves HTTP (booted by the netns backend)" \
    wait_until 10 bash -c "nsenter --net=/run/netns/$HOST_NS curl -s -m 2 http://10.0.0.10/ | grep -qx jitsu"
check "jitsu-netvm of the root runs the VM" \
    bash -c "pgrep -f '^$ROOT/usr/sbin/jitsu-netvm --name www ' > /dev/null"

# The installed jitsu-ctl over the same Xenstore.
status=$("$ROOT/usr/bin/jitsu-ctl" --xenstore "$SOCK" status)
log "jitsu-ctl status:"; echo "$status" | sed 's/^/    /'
check "jitsu-ctl status: www running at 10.0.0.10" \
    bash -c "grep -Eq '^www +10\.0\.0\.10 +running ' <<< \"\$1\"" _ "$status"
# --json, until the query's last_request is in the tree (jitsu-dns writes it behind).
status_json_ok() {
    "$ROOT/usr/bin/jitsu-ctl" --xenstore "$SOCK" status --json > "$WORK/status.json" &&
        python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
vm = [v for v in d["vms"] if v["name"] == "www"][0]
assert vm["state"] == "running" and vm["ip"] == "10.0.0.10", vm
assert vm["last_request"] is not None and vm["last_request"] > 1e9, vm' "$WORK/status.json" 2>/dev/null
}
check "jitsu-ctl status --json parses: www running, last_request set" wait_until 5 status_json_ok

# SIGTERM in systemd's stop order (jitsu-dns, synjitsu, jitsu-xenstored): each says
# STOPPING=1; jitsu-dns (--stop-on-exit) stops the VM.
for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pids "${PIDS[i]}"; done
check "STOPPING=1 from each daemon" bash -c "[ \$(grep -c STOPPING=1 '$WORK/notify.log') -ge 3 ]"
check "the VM is stopped (--stop-on-exit): no jitsu-netvm left" \
    bash -c "! pgrep -f '^$ROOT/usr/sbin/jitsu-netvm --name www ' > /dev/null"

# JSON log lines from every daemon (and the jitsu-netvm under jitsu-dns).
check "every log line is JSON with ts, level, program, msg" python3 -c '
import json, sys
programs = set()
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        d = json.loads(line)
        assert set(d) >= {"ts", "level", "program", "pid", "msg"}, (path, d)
        programs.add(d["program"])
need = {"jitsu-xenstored", "synjitsu", "jitsu-dns", "jitsu-netvm"}
assert need <= programs, programs' "$WORK"/jitsu-xenstored.log "$WORK"/synjitsu.log "$WORK"/jitsu-dns.log

[ "$FAILURES" = 0 ] || { for n in jitsu-xenstored synjitsu jitsu-dns; do echo "--- $n"; tail -5 "$WORK/$n.log"; done; exit 1; }
log "all checks passed"
