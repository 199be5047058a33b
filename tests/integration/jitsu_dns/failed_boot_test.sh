#!/bin/bash
# Issue 11 item 11: a VM that cannot start is not answered as if it had. jitsu-dns with
# the netns backend and the real jitsu-netvm, in a namespace this test creates (br0
# 10.0.0.1, jitsu-dns on it, dig from the same namespace); jitsu-xenstored on a private
# socket. VMs whose cmd= names a missing program (with response_delay 0, and with a
# 2 s boot_delay) and whose nic= names a missing bridge (response_delay 0 and the default).
# For each: the first query gets SERVFAIL, /jitsu/vm/<uuid>/error says why and state is
# stopped, a second query right after gets SERVFAIL without a new jitsu-netvm (spawns
# counted in jitsu-dns's log), after the 1 s back-off one new attempt is made, and the
# back-off has doubled (a query 1.2 s later spawns nothing); no jitsu-netvm and no
# namespace of these VMs is left.
# Usage: failed_boot_test.sh   (env JITSU_BIN, as ctest sets it)
set -u

: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
TAG="fb$$"
HOST_NS="${TAG}-host"
WORK=$(mktemp -d "/tmp/jitsu-dns-fb-${TAG}.XXXX")
SOCK="$WORK/xenstored.sock"
PIDS=()
DNS_PID=

CHECK_TAG=jitsu-dns-failed-boot
. "$(dirname "$(readlink -f "$0")")/../../support/checks.sh"

VMS=("${TAG}c0" "${TAG}c2" "${TAG}b0" "${TAG}bd")
netvm_pids() { pgrep -f -- "jitsu-netvm --name $1 "; }  # the jitsu-netvm of VM $1

cleanup() {
    local p vm
    [ -n "$DNS_PID" ] && PIDS+=("$DNS_PID")
    for vm in "${VMS[@]}"; do
        for p in $(netvm_pids "$vm"); do PIDS+=("$p"); done
    done
    [ ${#PIDS[@]} -gt 0 ] && stop_pids "${PIDS[@]}"
    for ns in "${VMS[@]}" "$HOST_NS"; do ip netns del "$ns" 2>/dev/null; done
    [ -n "${JITSU_KEEP_WORK:-}" ] && echo "[$CHECK_TAG] kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for bin in jitsu-xenstored jitsu-dns jitsu-netvm jitsu-httpd; do
    [ -x "$JITSU_BIN/$bin" ] || { echo "[$CHECK_TAG] FAIL: $JITSU_BIN/$bin is not built"; exit 1; }
done
for tool in dig xenstore-read xenstore-list nsenter; do
    command -v "$tool" >/dev/null || { echo "[$CHECK_TAG] FAIL: $tool is not installed"; exit 1; }
done

ip netns add "$HOST_NS" || { fail "ip netns add"; exit 1; }
ip -n "$HOST_NS" link set lo up
ip -n "$HOST_NS" link add br0 address 02:00:00:00:01:01 type bridge
ip -n "$HOST_NS" link set br0 up
ip -n "$HOST_NS" addr add 10.0.0.1/24 dev br0

"$JITSU_BIN/jitsu-xenstored" --socket "$SOCK" 2>"$WORK/xenstored.log" &
PIDS+=($!)
wait_until 5 test -S "$SOCK" || { fail "jitsu-xenstored did not start"; exit 1; }

HTTPD="$JITSU_BIN/jitsu-httpd --port 80"
MISSING="/nonexistent-$TAG/server"
nsenter --net="/run/netns/$HOST_NS" -- "$JITSU_BIN/jitsu-dns" -b 10.0.0.1 -l 53 -f 0.0.0.0 \
    --xenstore "$SOCK" \
    "name=${VMS[0]},dns=c0.jitsu.test,ip=10.0.0.20,nic=br0,response_delay=0,cmd=$MISSING --port 80" \
    "name=${VMS[1]},dns=c2.jitsu.test,ip=10.0.0.21,nic=br0,response_delay=0,boot_delay=2,cmd=$MISSING" \
    "name=${VMS[2]},dns=b0.jitsu.test,ip=10.0.0.22,nic=brnone,response_delay=0,cmd=$HTTPD" \
    "name=${VMS[3]},dns=bd.jitsu.test,ip=10.0.0.23,nic=brnone,cmd=$HTTPD" \
    2>"$WORK/dns.log" &
DNS_PID=$!
wait_until 10 grep -q "serving" "$WORK/dns.log" || { fail "jitsu-dns did not start"; cat "$WORK/dns.log"; exit 1; }

dig_status() {  # dig_status NAME OUTFILE -> the rcode
    ip netns exec "$HOST_NS" dig +time=5 +tries=1 @10.0.0.1 "$1" A > "$2" 2>&1
    grep -oE "status: [A-Z]+" "$2" | cut -d' ' -f2
}
query_ms() { grep -oE "Query time: [0-9]+" "$1" | grep -oE "[0-9]+$"; }
spawns() { grep -c "VM $1: started jitsu-netvm" "$WORK/dns.log"; }
tree() { XENSTORED_PATH="$SOCK" xenstore-read "/jitsu/vm/$1/$2" 2>/dev/null; }
tree_has() { [[ "$(tree "$1" "$2")" == *"$3"* ]]; }  # tree_has UUID NODE TEXT
uuid_of() {
    local u
    for u in $(XENSTORED_PATH="$SOCK" xenstore-list /jitsu/vm 2>/dev/null); do
        [ "$(tree "$u" config/name/0)" = "$1" ] && { echo "$u"; return; }
    done
}

# check_vm VM NAME ERROR-TEXT
check_vm() {
    local vm=$1 name=$2 pattern=$3 u st t0
    u=$(uuid_of "$vm")
    t0=$(now_ms)
    st=$(dig_status "$name" "$WORK/$vm-1.txt")
    check "$name: first query SERVFAIL (got '$st', $(query_ms "$WORK/$vm-1.txt") ms)" test "$st" = SERVFAIL
    log "REPORT $name: $st after $(query_ms "$WORK/$vm-1.txt") ms (dig), $(( $(now_ms) - t0 )) ms with dig's start"
    check "$name: error in the state tree ('$(tree "$u" error)')" tree_has "$u" error "$pattern"
    check "$name: state stopped" test "$(tree "$u" state)" = stopped
    check "$name: one jitsu-netvm spawned ($(spawns "$vm"))" test "$(spawns "$vm")" = 1
    st=$(dig_status "$name" "$WORK/$vm-2.txt")
    check "$name: second query within the back-off SERVFAIL ($st, $(query_ms "$WORK/$vm-2.txt") ms)" test "$st" = SERVFAIL
    check "$name: ... and no new jitsu-netvm ($(spawns "$vm"))" test "$(spawns "$vm")" = 1
}

check_vm "${VMS[0]}" c0.jitsu.test "cannot start CMD: exec $MISSING"
check_vm "${VMS[1]}" c2.jitsu.test "cannot start CMD: exec $MISSING"
check_vm "${VMS[2]}" b0.jitsu.test "no bridge 'brnone'"
check_vm "${VMS[3]}" bd.jitsu.test "no bridge 'brnone'"

# After the first back-off (1 s): one new attempt, failing again; the back-off doubles.
sleep 1.1
st=$(dig_status c0.jitsu.test "$WORK/c0-3.txt")
check "after 1 s: tried again, SERVFAIL ($st)" test "$st" = SERVFAIL
check "after 1 s: a second jitsu-netvm ($(spawns "${VMS[0]}"))" test "$(spawns "${VMS[0]}")" = 2
sleep 1.2
st=$(dig_status c0.jitsu.test "$WORK/c0-4.txt")
check "1.2 s later: still in the doubled back-off, SERVFAIL ($st)" test "$st" = SERVFAIL
check "1.2 s later: no third jitsu-netvm ($(spawns "${VMS[0]}"))" test "$(spawns "${VMS[0]}")" = 2
check "back-off logged as doubled" grep -q "${VMS[0]}: boot failed .*failure 2 in a row: SERVFAIL for 2000 ms" "$WORK/dns.log"

for vm in "${VMS[@]}"; do
    check "$vm: no jitsu-netvm left" test -z "$(netvm_pids "$vm")"
    check "$vm: no namespace left" bash -c "! ip netns list | grep -qw '$vm'"
done

kill -TERM "$DNS_PID"
wait_until 10 bash -c "! kill -0 $DNS_PID 2>/dev/null"
check "jitsu-dns exits on SIGTERM" bash -c "! kill -0 $DNS_PID 2>/dev/null"
wait "$DNS_PID" 2>/dev/null
DNS_PID=
log "jitsu-dns's lines:"
grep -E "boot failed|ended during|shut down" "$WORK/dns.log" | sed 's/^/    /'

if [ "$FAILURES" -gt 0 ]; then
    log "$FAILURES check(s) failed; log:"
    tail -n 60 "$WORK/dns.log"
    exit 1
fi
log "all checks passed"
exit 0
