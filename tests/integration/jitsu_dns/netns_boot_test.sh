#!/bin/bash
# jitsu-dns end to end with the netns backend and real binaries, in network namespaces
# this test creates:
#
#   client ns (10.0.0.2) --veth-- [host ns: br0 10.0.0.1, jitsu-dns] --veth-- upstream ns
#                                        |  VMs (jitsu-netvm)             (10.53.0.2, NSD)
#   jitsu-xenstored: root namespace, private socket
#
# jitsu-dns runs in the host namespace through `nsenter --net` (not `ip netns exec`,
# whose private mount namespace would hide the VMs' /run/netns bind mounts).
# Checks: dig boots a VM and returns its IP with the TTL; HTTP to it works; the state tree;
# ttl=1 -> stopped after ~2 s idle, namespace gone; forwarding to NSD; NXDOMAIN;
# wait_for_key answers after the key appears; wait_for_port answers after the VM listens
# (not before its log says so) and HTTP works at once; use_synjitsu answers at once with
# /synjitsu/booting/<ip> written, removed once the VM is managed; restart adopts the running VM (not booted
# twice); --stop-on-exit; nothing left behind.
# Usage: netns_boot_test.sh   (env JITSU_BIN, as ctest sets it)
set -u

: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
TAG="jd$$"
HOST_NS="${TAG}-host"
CLIENT_NS="${TAG}-cli"
UP_NS="${TAG}-up"
VM_WWW="${TAG}www"
VM_APP="${TAG}app"
VM_SYN="${TAG}syn"
VM_PORT="${TAG}prt"
WORK=$(mktemp -d "/tmp/jitsu-dns-it-${TAG}.XXXX")
SOCK="$WORK/xenstored.sock"
PIDS=()
DNS_PID=

CHECK_TAG=jitsu-dns-it
. "$(dirname "$(readlink -f "$0")")/../../support/checks.sh"

# PIDs of the jitsu-netvm running VM $1 (exact argv match on /proc, only this test's names).
netvm_pids() {
    local p
    for p in /proc/[0-9]*; do
        tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q -- "jitsu-netvm --name $1 " && echo "${p#/proc/}"
    done
}

cleanup() {
    local p vm
    [ -n "$DNS_PID" ] && PIDS+=("$DNS_PID")
    for vm in "$VM_WWW" "$VM_APP" "$VM_SYN" "$VM_PORT"; do
        for p in $(netvm_pids "$vm"); do PIDS+=("$p"); done
    done
    stop_pids "${PIDS[@]}"
    for ns in "$VM_WWW" "$VM_APP" "$VM_SYN" "$VM_PORT" "$CLIENT_NS" "$UP_NS" "$HOST_NS"; do
        ip netns del "$ns" 2>/dev/null
    done
    # JITSU_KEEP_WORK=1 keeps the logs and dig outputs for a look after a failure.
    [ -n "${JITSU_KEEP_WORK:-}" ] && echo "[jitsu-dns-it] kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Fail fast on a missing binary or tool rather than run into ctest's timeout (whose
# SIGKILL would skip the cleanup above).
for bin in jitsu-xenstored jitsu-dns jitsu-netvm jitsu-httpd; do
    [ -x "$JITSU_BIN/$bin" ] || { echo "[jitsu-dns-it] FAIL: $JITSU_BIN/$bin is not built"; exit 1; }
done
for tool in nsd dig curl xenstore-ls xenstore-read xenstore-write nsenter; do
    command -v "$tool" >/dev/null || { echo "[jitsu-dns-it] FAIL: $tool is not installed"; exit 1; }
done

setup_topology() {
    ip netns add "$HOST_NS" && ip netns add "$CLIENT_NS" && ip netns add "$UP_NS" || return 1
    ip -n "$HOST_NS" link set lo up
    # A fixed MAC: otherwise the bridge takes the lowest MAC of its ports, which changes as
    # VM veths come and go, and the client's ARP entry for 10.0.0.1 goes stale (queries
    # lost for seconds).
    ip -n "$HOST_NS" link add br0 address 02:00:00:00:01:01 type bridge
    ip -n "$HOST_NS" link set br0 up
    ip -n "$HOST_NS" addr add 10.0.0.1/24 dev br0
    ip link add c0 netns "$CLIENT_NS" type veth peer name c0h netns "$HOST_NS" || return 1
    ip -n "$HOST_NS" link set c0h master br0 up
    ip -n "$CLIENT_NS" link set lo up
    ip -n "$CLIENT_NS" addr add 10.0.0.2/24 dev c0
    ip -n "$CLIENT_NS" link set c0 up
    ip link add u0 netns "$UP_NS" type veth peer name u0h netns "$HOST_NS" || return 1
    ip -n "$HOST_NS" addr add 10.53.0.1/24 dev u0h
    ip -n "$HOST_NS" link set u0h up
    ip -n "$UP_NS" link set lo up
    ip -n "$UP_NS" addr add 10.53.0.2/24 dev u0
    ip -n "$UP_NS" link set u0 up
}

start_nsd() {
    cat > "$WORK/upstream.test.zone" <<ZONE
\$ORIGIN upstream.test.
\$TTL 300
@   IN SOA ns.upstream.test. hostmaster.upstream.test. 1 3600 600 86400 300
@   IN NS  ns.upstream.test.
ns  IN A   10.53.0.2
www IN A   10.53.0.80
ZONE
    cat > "$WORK/nsd.conf" <<CONF
server:
  ip-address: 10.53.0.2
  port: 53
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$WORK"
  database: ""
  zonelistfile: "$WORK/zone.list"
  xfrdfile: "$WORK/xfrd.state"
  pidfile: "$WORK/nsd.pid"
  logfile: "$WORK/nsd.log"
  do-ip6: no
remote-control:
  control-enable: no
zone:
  name: upstream.test
  zonefile: upstream.test.zone
CONF
    ip netns exec "$UP_NS" nsd -d -c "$WORK/nsd.conf" > "$WORK/nsd.out" 2>&1 &
    PIDS+=($!)
    wait_until 10 bash -c "ip netns exec '$HOST_NS' dig +time=1 +tries=1 +short @10.53.0.2 www.upstream.test A | grep -q 10.53.0.80"
}

start_xenstored() {
    "$JITSU_BIN/jitsu-xenstored" --socket "$SOCK" 2>"$WORK/xenstored.log" &
    PIDS+=($!)
    wait_until 5 test -S "$SOCK"
}

# The VMs: www (response_delay, ttl 1), app (wait_for_key, emulated 0.4 s boot), syn
# (use_synjitsu, emulated 0.8 s boot; no synjitsu daemon here: only the Xenstore side),
# prt (wait_for_port=80, emulated 0.8 s boot; jitsu-netvm puts it on the bridge once it
# listens, so jitsu-dns's probes from the host namespace reach it only then).
HTTPD="$JITSU_BIN/jitsu-httpd --port 80"
SPEC_WWW="name=$VM_WWW,dns=www.jitsu.test,ip=10.0.0.10,nic=br0,ttl=1,response_delay=0.3,cmd=$HTTPD"
SPEC_APP="name=$VM_APP,dns=app.jitsu.test,ip=10.0.0.11,nic=br0,ttl=60,wait_for_key=data/status,wait_timeout=5,response_delay=0,boot_delay=0.4,cmd=$HTTPD --body app"
SPEC_SYN="name=$VM_SYN,dns=syn.jitsu.test,ip=10.0.0.12,mac=02:00:00:00:00:0c,nic=br0,ttl=60,use_synjitsu=1,boot_delay=0.8,cmd=$HTTPD --body syn"
SPEC_PORT="name=$VM_PORT,dns=prt.jitsu.test,ip=10.0.0.13,nic=br0,ttl=60,wait_for_port=80,wait_timeout=5,response_delay=0,boot_delay=0.8,cmd=$HTTPD --body prt"

# start_dns LOGFILE [extra flags...]: sets DNS_PID; waits until it answers.
start_dns() {
    local logfile=$1; shift
    nsenter --net="/run/netns/$HOST_NS" -- "$JITSU_BIN/jitsu-dns" -b 10.0.0.1 -l 53 \
        -f 10.53.0.2 --xenstore "$SOCK" --synjitsu "$@" "$SPEC_WWW" "$SPEC_APP" "$SPEC_SYN" "$SPEC_PORT" \
        2>"$logfile" &
    DNS_PID=$!
    wait_until 10 grep -q "serving" "$logfile"
}

# stop_dns: SIGTERM, bounded wait; sets DNS_RC.
stop_dns() {
    kill -TERM "$DNS_PID" 2>/dev/null
    local i
    for ((i = 0; i < 1000; i++)); do kill -0 "$DNS_PID" 2>/dev/null || break; sleep 0.02; done
    if kill -0 "$DNS_PID" 2>/dev/null; then
        kill -KILL "$DNS_PID"; wait "$DNS_PID" 2>/dev/null; DNS_RC=timeout
    else
        wait "$DNS_PID"; DNS_RC=$?
    fi
    DNS_PID=
}

# dig_client NAME OUTFILE: one query from the client namespace, full output kept.
dig_client() {
    ip netns exec "$CLIENT_NS" dig +time=5 +tries=1 @10.0.0.1 "$1" A > "$2" 2>&1
}
answer_of() { awk '/^;; ANSWER SECTION:/ {a=1; next} a && NF == 0 {exit} a {print $2, $5}' "$1"; }
status_of() { grep -oE "status: [A-Z]+" "$1" | cut -d' ' -f2; }
query_ms() { grep -oE "Query time: [0-9]+" "$1" | grep -oE "[0-9]+$"; }
tree() { XENSTORED_PATH="$SOCK" xenstore-read "/jitsu/vm/$1/$2" 2>/dev/null; }
# Predicates that read when called (for wait_until; a "$(...)" argument would be read once).
xs_is() { [ "$(XENSTORED_PATH="$SOCK" xenstore-read "$1" 2>/dev/null)" = "$2" ]; }
xs_absent() { ! XENSTORED_PATH="$SOCK" xenstore-read "$1" >/dev/null 2>&1; }
tree_is() { [ "$(tree "$1" "$2")" = "$3" ]; }
tree_set() { [ -n "$(tree "$1" "$2")" ]; }
uuid_of() {  # the /jitsu/vm/<uuid> whose config/name/0 is $1
    local u
    for u in $(XENSTORED_PATH="$SOCK" xenstore-list /jitsu/vm 2>/dev/null); do
        [ "$(tree "$u" config/name/0)" = "$1" ] && { echo "$u"; return; }
    done
}
http_get() {  # http_get IP -> body (2 s bound)
    ip netns exec "$CLIENT_NS" curl -s -m 2 "http://$1/"
}
ns_exists() { ip netns list | grep -qw "$1"; }
# log_ms FILE PATTERN: the time (ms since the epoch) of the first log line matching PATTERN.
log_ms() {
    local stamp
    stamp=$(grep -m1 -E "$2" "$1" | cut -d' ' -f1)
    [ -n "$stamp" ] && date -d "$stamp" +%s%3N
}

setup_topology || { fail "topology"; exit 1; }
start_nsd || { fail "NSD did not answer in the upstream namespace"; cat "$WORK/nsd.out"; exit 1; }
start_xenstored || { fail "jitsu-xenstored did not start"; exit 1; }
start_dns "$WORK/dns1.log" || { fail "jitsu-dns did not start"; cat "$WORK/dns1.log"; exit 1; }
U_WWW=$(uuid_of "$VM_WWW")
U_APP=$(uuid_of "$VM_APP")
check "state tree lists both VMs, stopped" test -n "$U_WWW" -a -n "$U_APP" -a \
    "$(tree "$U_WWW" state)" = stopped -a "$(tree "$U_APP" state)" = stopped

# --- boot on query (response_delay 0.3) ---
t0=$(now_ms)
dig_client www.jitsu.test "$WORK/dig-www.txt"
t1=$(now_ms)
check "www.jitsu.test -> 10.0.0.10 with TTL 1 ($(answer_of "$WORK/dig-www.txt"))" \
    test "$(answer_of "$WORK/dig-www.txt")" = "1 10.0.0.10"
log "REPORT cold VM, response_delay=0.3: dig query time $(query_ms "$WORK/dig-www.txt") ms ($((t1 - t0)) ms with dig's start)"
check "the answer waited for response_delay (>= 300 ms)" test "$(query_ms "$WORK/dig-www.txt")" -ge 300
body=$(http_get 10.0.0.10)
check "HTTP GET to the booted VM works" test -n "$body"
check "state tree: www running with a domid" test "$(tree "$U_WWW" state)" = running -a -n "$(tree "$U_WWW" domid)"
check "VM namespace exists" ns_exists "$VM_WWW"

# --- idle stop: ttl=1 -> stopped after ~2 s without queries (counted from the answer) ---
t_last=$t1
if wait_until 8 bash -c "! ip netns list | grep -qw '$VM_WWW'"; then
    log "REPORT ttl=1: namespace gone $(( $(now_ms) - t_last )) ms after the last answer (2xTTL = 2000 ms)"
    check "state tree: www stopped" wait_until 2 tree_is "$U_WWW" state stopped
    check "no jitsu-netvm left for www" test -z "$(netvm_pids "$VM_WWW")"
else
    fail "www not stopped within 8 s of its last query"
fi
check "www stopped after >= 2 s idle" test $(( $(now_ms) - t_last )) -ge 1900

# --- forwarding and NXDOMAIN ---
dig_client www.upstream.test "$WORK/dig-fwd.txt"
check "name outside the zone forwarded to NSD ($(answer_of "$WORK/dig-fwd.txt"))" \
    test "$(answer_of "$WORK/dig-fwd.txt")" = "300 10.53.0.80"
dig_client nope.jitsu.test "$WORK/dig-nx.txt"
check "unknown name in the zone -> NXDOMAIN" test "$(status_of "$WORK/dig-nx.txt")" = NXDOMAIN

# --- wait_for_key (jitsu-netvm writes data/status once CMD listens; 0.4 s boot) ---
dig_client app.jitsu.test "$WORK/dig-app.txt"
check "app.jitsu.test -> 10.0.0.11 with TTL 60" test "$(answer_of "$WORK/dig-app.txt")" = "60 10.0.0.11"
log "REPORT cold VM, wait_for_key (boot_delay 0.4): dig query time $(query_ms "$WORK/dig-app.txt") ms"
check "answer waited for the boot (>= 400 ms)" test "$(query_ms "$WORK/dig-app.txt")" -ge 400
D_APP=$(tree "$U_APP" domid)
# The order (key, then answer) is the booter's, asserted by its unit tests; here: the
# answer waited for the boot (above) and the key is set once it has come.
check "the VM's ready key is set after the answer" test "$(XENSTORED_PATH="$SOCK" xenstore-read "/local/domain/$D_APP/data/status" 2>/dev/null)" = ready
t0=$(now_ms)
body=$(http_get 10.0.0.11)
check "HTTP GET right after the answer works (body '$body', $(( $(now_ms) - t0 )) ms)" test "$body" = app
APP_PID=$(netvm_pids "$VM_APP")
check "last_request written (coalesced, within ~1 s)" wait_until 3 tree_set "$U_APP" last_request
log "xenstore-ls /jitsu:"
XENSTORED_PATH="$SOCK" xenstore-ls /jitsu | sed 's/^/    /'

# --- wait_for_port: held until the VM accepts on port 80 (0.8 s boot, then jitsu-netvm
# attaches it to the bridge and announces it), probed from jitsu-dns's namespace ---
dig_client prt.jitsu.test "$WORK/dig-prt.txt"
t0=$(now_ms)
body=$(http_get 10.0.0.13)
t_http=$(( $(now_ms) - t0 ))
check "prt.jitsu.test -> 10.0.0.13 with TTL 60" test "$(answer_of "$WORK/dig-prt.txt")" = "60 10.0.0.13"
check "answer waited for the boot (>= 800 ms)" test "$(query_ms "$WORK/dig-prt.txt")" -ge 800
check "HTTP GET right after the answer works (body '$body', $t_http ms)" test "$body" = prt
PRT_PID=$(netvm_pids "$VM_PORT")
listen_ms=$(log_ms "$WORK/dns1.log" "\[$PRT_PID\].*CMD listens on TCP port 80")
up_ms=$(log_ms "$WORK/dns1.log" "\[$PRT_PID\].* is up: 10.0.0.13")
answer_ms=$(log_ms "$WORK/dns1.log" "$VM_PORT: running, answers released .*\(wait_for_port\)")
if [ -n "$listen_ms" ] && [ -n "$up_ms" ] && [ -n "$answer_ms" ]; then
    log "REPORT cold VM, wait_for_port=80 (boot_delay 0.8): dig query time $(query_ms "$WORK/dig-prt.txt") ms; answer $((answer_ms - listen_ms)) ms after the VM listened, $((answer_ms - up_ms)) ms after it was on the bridge; HTTP GET $t_http ms"
    check "answer not before the VM listened (log: listen $listen_ms, answer $answer_ms)" test "$answer_ms" -ge "$listen_ms"
else
    fail "log lines missing (listen '$listen_ms', up '$up_ms', answer '$answer_ms')"
fi
check "one probe loop, success logged" grep -qE "$VM_PORT: 10.0.0.13 port 80 accepts, .* \([0-9]+ probe\(s\)\)" "$WORK/dns1.log"
check "no wait timeout" bash -c "! grep -q '$VM_PORT: .*did not accept' '$WORK/dns1.log'"

# --- use_synjitsu: answered at once, /synjitsu/booting/<ip> until jitsu-netvm writes managed ---
XENSTORED_PATH="$SOCK" xenstore-write /ip/10-0-0-12 managed  # stale, from a "previous life"
dig_client syn.jitsu.test "$WORK/dig-syn.txt"
booting_now=$(XENSTORED_PATH="$SOCK" xenstore-read /synjitsu/booting/10-0-0-12 2>/dev/null)
ip_now=$(XENSTORED_PATH="$SOCK" xenstore-read /ip/10-0-0-12 2>/dev/null)
check "syn.jitsu.test -> 10.0.0.12 with TTL 60" test "$(answer_of "$WORK/dig-syn.txt")" = "60 10.0.0.12"
log "REPORT cold VM, use_synjitsu (boot_delay 0.8): dig query time $(query_ms "$WORK/dig-syn.txt") ms"
check "answered without waiting for the boot (< 200 ms)" test "$(query_ms "$WORK/dig-syn.txt")" -lt 200
check "/synjitsu/booting/10-0-0-12 = MAC right after the answer ('$booting_now')" test "$booting_now" = 02:00:00:00:00:0c
check "stale /ip/10-0-0-12 managed removed before the answer ('$ip_now')" test "$ip_now" != managed
check "jitsu-netvm marks it managed" wait_until 5 xs_is /ip/10-0-0-12 managed
check "booting entry removed once managed" wait_until 3 xs_absent /synjitsu/booting/10-0-0-12
check "HTTP GET to the synjitsu VM works" test "$(http_get 10.0.0.12)" = syn

# --- restart: the running app VM is adopted, not booted twice ---
stop_dns
check "SIGTERM -> exit 0 ($DNS_RC)" test "$DNS_RC" = 0
check "app VM left running across the restart" kill -0 "$APP_PID"
start_dns "$WORK/dns2.log" --stop-on-exit || { fail "jitsu-dns did not restart"; cat "$WORK/dns2.log"; exit 1; }
check "restart adopted app" grep -q "$VM_APP: already running.*adopted" "$WORK/dns2.log"
dig_client app.jitsu.test "$WORK/dig-app2.txt"
check "adopted VM answered at once ($(query_ms "$WORK/dig-app2.txt") ms)" test "$(query_ms "$WORK/dig-app2.txt")" -lt 100
check "not booted twice (same jitsu-netvm pid $APP_PID)" test "$(netvm_pids "$VM_APP")" = "$APP_PID"
check "no boot logged after the restart" bash -c "! grep -q '$VM_APP: booting' '$WORK/dns2.log'"
check "state tree: app running" tree_is "$U_APP" state running

# --- --stop-on-exit: everything stopped, nothing left ---
stop_dns
check "SIGTERM with --stop-on-exit -> exit 0 ($DNS_RC)" test "$DNS_RC" = 0
check "app VM namespace gone" wait_until 5 bash -c "! ip netns list | grep -qw '$VM_APP'"
check "syn VM namespace gone" wait_until 5 bash -c "! ip netns list | grep -qw '$VM_SYN'"
check "prt VM namespace gone" wait_until 5 bash -c "! ip netns list | grep -qw '$VM_PORT'"
check "no jitsu-netvm left" test -z "$(netvm_pids "$VM_APP")$(netvm_pids "$VM_WWW")$(netvm_pids "$VM_SYN")$(netvm_pids "$VM_PORT")"
check "state tree: app stopped" tree_is "$U_APP" state stopped

log "jitsu-dns's own timing lines:"
grep -hE "booting on query|backend started|answers released|appeared|accepts|stopping|stopped in|adopted|shut" \
    "$WORK"/dns*.log | sed 's/^/    /'

if [ "$FAILURES" -gt 0 ]; then
    log "$FAILURES check(s) failed; logs:"
    for f in "$WORK"/*.log; do echo "--- $f"; tail -n 40 "$f"; done
    exit 1
fi
log "all checks passed"
exit 0
