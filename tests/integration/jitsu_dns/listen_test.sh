#!/bin/bash
# Issue 11 items 10 and 12 with the real daemon, in two network namespaces this test
# creates:
#
#   client ns (10.77.0.10, .11; fd77::10) --veth-- server ns (10.77.0.1 primary, 10.77.0.2
#                                                   secondary; fd77::1, fd77::2): jitsu-dns
#   jitsu-xenstored: root namespace, private socket (no VM is ever booted: only zone data
#   is asked for).
#
# Item 10: with the default bind (0.0.0.0) and with -b 0.0.0.0 -b :: a UDP answer to the
# SECOND address (IPv4 and IPv6) leaves from that address (a connected client socket, and
# dig, drop it otherwise); -b :: alone serves IPv4 too; -b A -b B listens on both and only
# there; a wildcard with an address it covers is refused in one line.
# Item 12: one client holding 300 idle TCP connections does not keep another client's TCP
# query from being answered.
# Usage: listen_test.sh   (env JITSU_BIN, as ctest sets it)
set -u

: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
[ "$(id -u)" = 0 ] || { echo "[dns-listen] FAIL: needs root (network namespaces)"; exit 1; }
HERE=$(dirname "$(readlink -f "$0")")
TAG="dl$$"
SRV_NS="${TAG}-srv"
CLI_NS="${TAG}-cli"
WORK=$(mktemp -d "/tmp/jitsu-dns-listen-${TAG}.XXXX")
SOCK="$WORK/xenstored.sock"
XS_PID=
DNS_PID=
CHECK_TAG=dns-listen
. "$HERE/../../support/checks.sh"

cleanup() {
    local pids=()
    [ -n "$DNS_PID" ] && pids+=("$DNS_PID")
    [ -n "$XS_PID" ] && pids+=("$XS_PID")
    [ ${#pids[@]} -gt 0 ] && stop_pids "${pids[@]}"
    ip netns del "$CLI_NS" 2> /dev/null
    ip netns del "$SRV_NS" 2> /dev/null
    if [ -n "${JITSU_KEEP_WORK:-}" ]; then echo "[dns-listen] kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for bin in jitsu-xenstored jitsu-dns; do
    [ -x "$JITSU_BIN/$bin" ] || { echo "[dns-listen] FAIL: $JITSU_BIN/$bin is not built"; exit 1; }
done
for tool in dig python3; do
    command -v "$tool" > /dev/null || { echo "[dns-listen] FAIL: $tool is not installed"; exit 1; }
done

setup_topology() {
    ip netns add "$SRV_NS" && ip netns add "$CLI_NS" || return 1
    ip link add s0 netns "$SRV_NS" type veth peer name c0 netns "$CLI_NS" || return 1
    ip -n "$SRV_NS" link set lo up
    ip -n "$CLI_NS" link set lo up
    # The first address of a subnet is primary; routing alone answers from it.
    ip -n "$SRV_NS" addr add 10.77.0.1/24 dev s0
    ip -n "$SRV_NS" addr add 10.77.0.2/24 dev s0
    ip -n "$SRV_NS" addr add fd77::1/64 dev s0 nodad
    ip -n "$SRV_NS" addr add fd77::2/64 dev s0 nodad
    ip -n "$CLI_NS" addr add 10.77.0.10/24 dev c0
    ip -n "$CLI_NS" addr add 10.77.0.11/24 dev c0
    ip -n "$CLI_NS" addr add fd77::10/64 dev c0 nodad
    ip -n "$SRV_NS" link set s0 up
    ip -n "$CLI_NS" link set c0 up
    # IPv6 addresses leave the tentative state a moment after the link is up.
    wait_until 5 bash -c "! ip -n '$SRV_NS' -6 addr show tentative | grep -q inet6 &&
        ! ip -n '$CLI_NS' -6 addr show tentative | grep -q inet6"
}

# probes PROBE...: dns_probe.py's probes (SOA queries for the zone) from the client
# namespace, all in one Python process; their result lines go to $RESULTS.
RESULTS=
probes() {
    RESULTS=$(ip netns exec "$CLI_NS" python3 "$HERE/dns_probe.py" 53 listen.test "$@")
}
# result PROBE: what dns_probe.py said about it ("ok" or "fail WHY").
result() { grep -F "$1 " <<< "$RESULTS" | head -1 | cut -d' ' -f2-; }
ok() { [ "$(result "$1")" = ok ] || { echo "    $1: $(result "$1")"; return 1; }; }

# start_dns ARGS...: jitsu-dns in the server namespace; waits until it has bound its
# sockets (its start-up line) or exited.
start_dns() {
    ip netns exec "$SRV_NS" "$JITSU_BIN/jitsu-dns" -x netns --xenstore "$SOCK" -f 0.0.0.0 \
        -t 60 --zone listen.test "$@" "name=${TAG}vm,dns=a.listen.test,ip=10.0.0.9" \
        > "$WORK/dns.log" 2>&1 &
    DNS_PID=$!
    wait_until 10 bash -c "grep -q 'serving ' '$WORK/dns.log' || ! kill -0 $DNS_PID 2> /dev/null"
    grep -q 'serving ' "$WORK/dns.log" || { cat "$WORK/dns.log"; return 1; }
}

stop_dns() {
    stop_pids "$DNS_PID"
    wait "$DNS_PID" 2> /dev/null
    DNS_PID=
}

setup_topology || { fail "topology"; exit 1; }
"$JITSU_BIN/jitsu-xenstored" --socket "$SOCK" 2> "$WORK/xenstored.log" &
XS_PID=$!
wait_until 5 test -S "$SOCK" || { fail "jitsu-xenstored did not start"; exit 1; }

log "no -b (the default, 0.0.0.0)"
if start_dns; then
    probes udp,10.77.0.10,10.77.0.2 hold,10.77.0.10,10.77.0.1,300,10.77.0.11
    check "UDP to the secondary address 10.77.0.2 answered from it" ok udp,10.77.0.10,10.77.0.2
    # Item 12: 300 idle connections from .10, then a query from .11 over TCP.
    check "another client is answered over TCP while one holds 300 idle connections" \
        ok hold,10.77.0.10,10.77.0.1,300,10.77.0.11
    stop_dns
    check "counted: 16 kept, 284 refused over --max-tcp-per-client" \
        grep -q "284 refused over --max-tcp-per-client" "$WORK/dns.log"
else
    fail "jitsu-dns did not start"
fi

log "-b 0.0.0.0 -b :: (wildcards)"
if start_dns -b 0.0.0.0 -b ::; then
    probes udp,10.77.0.10,10.77.0.2 tcp,10.77.0.10,10.77.0.2 udp,10.77.0.10,10.77.0.1 \
        tcp,10.77.0.10,10.77.0.1 udp,fd77::10,fd77::2 tcp,fd77::10,fd77::2 \
        udp,fd77::10,fd77::1 tcp,fd77::10,fd77::1
    for dst in 10.77.0.2 10.77.0.1; do
        check "UDP to $dst answered from $dst" ok udp,10.77.0.10,$dst
        check "TCP to $dst answered" ok tcp,10.77.0.10,$dst
    done
    for dst in fd77::2 fd77::1; do
        check "UDP to $dst answered from $dst" ok udp,fd77::10,$dst
        check "TCP to $dst answered" ok tcp,fd77::10,$dst
    done
    # dig checks the source too ("reply from unexpected source") and then times out.
    check "dig @10.77.0.2 gets the answer" bash -c "ip netns exec '$CLI_NS' dig +time=2 +tries=1 \
        +short @10.77.0.2 listen.test SOA | grep -q 'listen.test'"
    check "dig @fd77::2 gets the answer" bash -c "ip netns exec '$CLI_NS' dig +time=2 +tries=1 \
        +short @fd77::2 listen.test SOA | grep -q 'listen.test'"
    stop_dns
else
    fail "jitsu-dns -b 0.0.0.0 -b :: did not start"
fi

log "-b :: alone (IPv6 and v4-mapped IPv4)"
if start_dns -b ::; then
    probes udp,10.77.0.10,10.77.0.2 udp,fd77::10,fd77::2 tcp,10.77.0.10,10.77.0.2
    check "UDP to 10.77.0.2 answered from 10.77.0.2" ok udp,10.77.0.10,10.77.0.2
    check "UDP to fd77::2 answered from fd77::2" ok udp,fd77::10,fd77::2
    check "TCP to 10.77.0.2 answered" ok tcp,10.77.0.10,10.77.0.2
    stop_dns
else
    fail "jitsu-dns -b :: did not start"
fi

log "-b 10.77.0.2 -b fd77::2 (two addresses, only those)"
if start_dns -b 10.77.0.2 -b fd77::2; then
    probes udp,10.77.0.10,10.77.0.2 tcp,10.77.0.10,10.77.0.2 udp,fd77::10,fd77::2 \
        tcp,fd77::10,fd77::2 udp,10.77.0.10,10.77.0.1 tcp,10.77.0.10,10.77.0.1
    check "UDP on 10.77.0.2" ok udp,10.77.0.10,10.77.0.2
    check "TCP on 10.77.0.2" ok tcp,10.77.0.10,10.77.0.2
    check "UDP on fd77::2" ok udp,fd77::10,fd77::2
    check "TCP on fd77::2" ok tcp,fd77::10,fd77::2
    check "not UDP on 10.77.0.1" test "$(result udp,10.77.0.10,10.77.0.1)" != ok
    check "not TCP on 10.77.0.1" test "$(result tcp,10.77.0.10,10.77.0.1)" != ok
    stop_dns
else
    fail "jitsu-dns -b 10.77.0.2 -b fd77::2 did not start"
fi

check "-b 0.0.0.0 -b 10.77.0.1: refused with one line (exit 4)" bash -c "
    out=\$(ip netns exec '$SRV_NS' timeout 10 '$JITSU_BIN/jitsu-dns' -x netns --xenstore '$SOCK' \
        -f 0.0.0.0 -b 0.0.0.0 -b 10.77.0.1 'name=${TAG}x,dns=a.listen.test,ip=10.0.0.9' 2>&1)
    rc=\$?; [ \$rc = 4 ] && echo \"\$out\" | grep -q 'the wildcard covers it'"

[ "$FAILURES" = 0 ] || { log "$FAILURES check(s) failed"; sed 's/^/  dns.log: /' "$WORK/dns.log"; exit 1; }
log PASS
