#!/usr/bin/env bash
# scripts/topology end to end (root; network namespaces only): up builds the client ->
# router -> br0 path with the requested RTT, up again changes nothing, rtt changes the
# delay, down removes everything, a failed or interrupted (SIGINT, SIGTERM) up leaves
# nothing, and the root namespace's links and ip_forward are the same before and after.
# Usage: topology_test.sh   (env JITSU_BIN: the build's bin dir, for jitsu-delayline)
set -uo pipefail

src=${JITSU_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
topo=$src/scripts/topology
: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
export JITSU_BIN
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (network namespaces)"; exit 1; }
for tool in ip tc nsenter ping; do
  command -v $tool > /dev/null || { echo "FAIL: $tool missing (scripts/install-deps)"; exit 1; }
done
# Fail fast: without the delay line (kernels without sch_netem) nothing below can work.
[ -x "$JITSU_BIN/jitsu-delayline" ] || { echo "FAIL: $JITSU_BIN/jitsu-delayline is not built"; exit 1; }

. "$src/tests/support/checks.sh"  # proc_identity, proc_running (its log/check are replaced below)
P=tp$$        # the main topology
Q=tq$$        # the failure / interruption runs
failures=0
log() { echo "[topology-test] $*"; }
fail() { echo "[topology-test] FAIL: $*"; failures=$((failures + 1)); }
check() {
  local what=$1; shift
  if "$@"; then log "ok: $what"; else fail "$what"; fi
}
cleanup() {
  "$topo" down --prefix $P > /dev/null 2>&1
  "$topo" down --prefix $Q > /dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

root_links() { ip -o link show | awk '{ print $1, $2 }'; }
root_state() { root_links; sysctl -n net.ipv4.ip_forward; }
before=$(root_state)

nothing_of() {  # nothing_of PREFIX: no namespace, no delay line, no log left
  ! compgen -G "/run/netns/$1-*" > /dev/null &&
    ! ps -eo stat=,args= | awk -v p="--name $1 " '$1 !~ /^Z/ && index($0, p)' | grep -q jitsu-delayline &&
    [ ! -e "/tmp/jitsu-topology-$1-delayline.log" ]
}
# state PREFIX: everything up converges on, with interface indexes (a re-created link
# would show), and the delay line's pid (a restart would show).
state() {
  local ns
  for ns in /run/netns/"$1"-*; do
    [ -e "$ns" ] || continue
    ns=${ns#/run/netns/}
    echo "== $ns"
    ip -n "$ns" -o link show | awk '{ print $1, $2, $3 }'
    ip -n "$ns" -o addr show | awk '{ print $2, $3, $4 }'
    ip -n "$ns" route show
    tc -n "$ns" qdisc show | grep -v noqueue
    ip netns pids "$ns" | sort
  done
}
# ping_rtt NS DST COUNT: prints "min avg max" in ms (warm-up ping first: ARP).
ping_rtt() {
  ip netns exec "$1" ping -c 1 -W 2 "$2" > /dev/null 2>&1
  ip netns exec "$1" ping -q -c "$3" -i 0.05 -w 10 "$2" 2> /dev/null |
    sed -nE 's#^rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)/.*#\1 \2 \3#p'
}
# within MIN MAX VALUE (decimals)
within() { awk -v lo="$1" -v hi="$2" -v v="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }

# --- bad arguments: refused, nothing created ---
"$topo" up --prefix $Q --clients 0 > /dev/null 2>&1; check "--clients 0 refused (exit 2)" test $? = 2
"$topo" up --prefix $Q --rtt abc > /dev/null 2>&1; check "--rtt abc refused (exit 2)" test $? = 2
"$topo" up --prefix 'a b' > /dev/null 2>&1; check "bad prefix refused (exit 2)" test $? = 2
check "nothing created by refused commands" nothing_of $Q

# --- up: the path and its RTT ---
"$topo" up --prefix $P --clients 2 --rtt 20
check "up exits 0" test $? = 0
for ns in host router c1 c2; do check "namespace $P-$ns exists" test -e /run/netns/$P-$ns; done
check "br0 has 10.0.0.1/24" bash -c "ip -n $P-host -o addr show dev br0 | grep -q 'inet 10.0.0.1/24'"
check "router forwards" test "$(ip netns exec $P-router sysctl -n net.ipv4.ip_forward)" = 1
check "c2 has 10.1.0.12/24" bash -c "ip -n $P-c2 -o addr show dev eth0 | grep -q 'inet 10.1.0.12/24'"
read -r mn avg mx <<< "$(ping_rtt $P-c1 10.0.0.1 20)"
log "ping c1 -> 10.0.0.1 with --rtt 20: min $mn avg $avg max $mx ms"
check "RTT at least the requested 20 ms (min $mn)" within 20 1000 "$mn"
check "RTT near 20 ms (avg $avg < 45)" within 20 45 "$avg"
read -r mn avg mx <<< "$(ping_rtt $P-host 10.1.0.12 5)"
log "ping host -> c2 (10.1.0.12): min $mn avg $avg max $mx ms"
check "host reaches the client subnet through the router" within 20 1000 "$mn"

# --- up again: the same state ---
s1=$(state $P)
"$topo" up --prefix $P --clients 2 --rtt 20 > /dev/null
check "up again exits 0" test $? = 0
s2=$(state $P)
check "up again changes nothing (links, indexes, addresses, routes, delay line)" test "$s1" = "$s2"
[ "$s1" = "$s2" ] || diff <(echo "$s1") <(echo "$s2")

# --- rtt: change an existing topology ---
"$topo" rtt 4 --prefix $P
check "rtt 4 exits 0" test $? = 0
read -r mn avg mx <<< "$(ping_rtt $P-c2 10.0.0.1 20)"
log "ping c2 -> 10.0.0.1 after rtt 4: min $mn avg $avg max $mx ms"
check "RTT at least 4 ms (min $mn)" within 4 1000 "$mn"
check "RTT near 4 ms (avg $avg < 20)" within 4 20 "$avg"

# --- status ---
out=$("$topo" status --prefix $P); rc=$?
check "status exits 0 when up" test $rc = 0
check "status lists both clients" bash -c "grep -q '$P-c1' <<< '$out' && grep -q '$P-c2' <<< '$out'"

# --- converging the client count down, then down ---
"$topo" up --prefix $P --clients 1 --rtt 4 > /dev/null
check "up --clients 1 removes c2" test ! -e /run/netns/$P-c2
"$topo" down --prefix $P
check "down exits 0" test $? = 0
check "down removed everything" nothing_of $P
"$topo" status --prefix $P > /dev/null; check "status exits 1 when down" test $? = 1
"$topo" down --prefix $P > /dev/null; check "down with nothing there exits 0" test $? = 0

# --- the library in this shell: topo_down returns only once the delay line has exited.
# It leaves its namespace early in its exit, then closes its packet sockets (seen up to
# 100 ms in state D); a check right after must not find it. Three rounds, no polling
# (without the wait, 7 of 10 rounds found it). ---
(
  . "$src/scripts/lib/topology.sh"
  TOPO_PREFIX=$Q TOPO_CLIENTS=2 TOPO_RTT_MS=2
  for round in 1 2 3; do
    topo_up > /dev/null 2>&1 || { echo "round $round: topo_up failed"; exit 1; }
    dl=""
    for p in $(ip netns pids "$Q-router"); do
      [ "$(cat "/proc/$p/comm" 2> /dev/null)" = jitsu-delayline ] && dl=$(proc_identity "$p")
    done
    [ -n "$dl" ] || { echo "round $round: no delay line ran"; exit 1; }
    topo_down > /dev/null 2>&1 || { echo "round $round: topo_down failed"; exit 1; }
    ! proc_running "$dl" || { echo "round $round: delay line ${dl%%:*} still running after topo_down"; exit 1; }
  done
) > "/tmp/topology-test-$Q.out" 2>&1
check "topo_down waits until the delay line has exited (3 rounds)" test $? = 0
sed 's/^/  /' "/tmp/topology-test-$Q.out"; rm -f "/tmp/topology-test-$Q.out"

# --- a failing step rolls back ---
TOPO_FAIL_AT=client2 "$topo" up --prefix $Q --clients 3 > /dev/null 2>&1
check "an injected failure at client2 exits 1" test $? = 1
check "the failed up left nothing" nothing_of $Q

# --- SIGINT / SIGTERM during up roll back (env restores the default disposition that
# bash gives up for background jobs, as a terminal's Ctrl-C would find it) ---
for sig in INT TERM; do
  interrupted=0
  for attempt in 1 2 3; do
    env --default-signal=INT,TERM "$topo" up --prefix $Q --clients $((8 * attempt)) > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 500); do [ -e /run/netns/$Q-c2 ] && break; sleep 0.01; done
    kill -$sig $pid
    wait $pid; rc=$?
    if [ $rc = 130 ]; then interrupted=1; break; fi
    log "SIG$sig attempt $attempt: up finished first (exit $rc); again with more clients"
    "$topo" down --prefix $Q > /dev/null
  done
  check "SIG$sig during up: exit 130" test $interrupted = 1
  check "SIG$sig during up left nothing" nothing_of $Q
done

after=$(root_state)
check "root namespace links and ip_forward unchanged" test "$before" = "$after"
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after")

[ $failures = 0 ] || { log "$failures check(s) failed"; exit 1; }
log "all checks passed"
