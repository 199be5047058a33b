# shellcheck shell=bash
# Shared by the guest integration tests: a topology in network namespaces this test
# creates (host: br0 + gateway address; client: a veth on br0), a private
# jitsu-xenstored, and cleanup of everything on exit, failure or Ctrl-C.
#
#   client ns (10.0.0.2) --veth-- [host ns: br0 10.0.0.1] --veth-- VM ns (10.0.0.10)
#
# Nothing here touches the machine's own interfaces; every loop is bounded.
set -u

: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
TAG="g$$"
HOST_NS="${TAG}-host"
CLIENT_NS="${TAG}-cli"
VM_NAME="${TAG}vm"
VM_IP=10.0.0.10
VM_MAC=02:00:00:00:00:0a
GW_IP=10.0.0.1
CLIENT_IP=10.0.0.2
WORK=$(mktemp -d "/tmp/jitsu-guest-${TAG}.XXXX")
PIDS=()

CHECK_TAG=guest-test
. "$(dirname "${BASH_SOURCE[0]}")/../../support/checks.sh"

cleanup() {
    local p
    stop_pids "${PIDS[@]}"
    ip netns del "$VM_NAME" 2>/dev/null
    ip netns del "$CLIENT_NS" 2>/dev/null
    ip netns del "$HOST_NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Fail fast on a missing binary rather than wait into ctest's timeout, whose SIGKILL
# would skip the cleanup above.
for bin in jitsu-xenstored jitsu-netvm jitsu-httpd; do
    [ -x "$JITSU_BIN/$bin" ] || { echo "[guest-test] FAIL: $JITSU_BIN/$bin is not built"; exit 1; }
done


setup_topology() {
    ip netns add "$HOST_NS" && ip netns add "$CLIENT_NS" || return 1
    ip -n "$HOST_NS" link set lo up
    ip -n "$HOST_NS" link add br0 type bridge
    ip -n "$HOST_NS" link set br0 up
    ip -n "$HOST_NS" addr add "$GW_IP/24" dev br0
    ip link add c0 netns "$CLIENT_NS" type veth peer name c0h netns "$HOST_NS" || return 1
    ip -n "$HOST_NS" link set c0h master br0 up
    ip -n "$CLIENT_NS" link set lo up
    ip -n "$CLIENT_NS" addr add "$CLIENT_IP/24" dev c0
    ip -n "$CLIENT_NS" link set c0 up
    # No synjitsu here to answer ARP for the booting VM: a static entry instead.
    ip -n "$CLIENT_NS" neigh replace "$VM_IP" lladdr "$VM_MAC" dev c0 nud permanent
}

start_xenstored() {
    export XENSTORED_PATH="$WORK/xenstored.sock"
    "$JITSU_BIN/jitsu-xenstored" --socket "$XENSTORED_PATH" 2>"$WORK/xenstored.log" &
    PIDS+=($!)
    wait_until 5 test -S "$XENSTORED_PATH"
}

# start_netvm LOGFILE BOOT_DELAY [extra args...] -- CMD...: sets NETVM_PID.
start_netvm() {
    local logfile=$1 delay=$2; shift 2
    "$JITSU_BIN/jitsu-netvm" --name "$VM_NAME" --bridge br0 --netns-of-bridge "$HOST_NS" \
        --ip "$VM_IP/24" --mac "$VM_MAC" --gateway "$GW_IP" --boot-delay "$delay" "$@" \
        2>"$logfile" &
    NETVM_PID=$!
    PIDS+=("$NETVM_PID")
}

# stop_netvm: SIGTERM, bounded wait; sets NETVM_RC.
stop_netvm() {
    kill -TERM "$NETVM_PID" 2>/dev/null
    wait_netvm 15
}

wait_netvm() {
    local limit=$1 i
    for ((i = 0; i < limit * 50; i++)); do
        kill -0 "$NETVM_PID" 2>/dev/null || break
        sleep 0.02
    done
    local timed_out=0
    if kill -0 "$NETVM_PID" 2>/dev/null; then
        timed_out=1
        kill -KILL "$NETVM_PID" 2>/dev/null
    fi
    wait "$NETVM_PID" 2>/dev/null
    # shellcheck disable=SC2034 # NETVM_RC is read by the scripts sourcing this
    NETVM_RC=$?
    # shellcheck disable=SC2034 # as above
    [ $timed_out = 0 ] || NETVM_RC=timeout
}

cmd_pid_of() { grep -oE "CMD started: pid [0-9]+" "$1" | grep -oE "[0-9]+$" | head -1; }

# Nothing of the VM left: namespace, veth, CMD process.
check_nothing_left() {
    local logfile=$1 pid
    pid=$(cmd_pid_of "$logfile")
    check "VM namespace removed" bash -c "! ip netns list | grep -qw '$VM_NAME'"
    check "no veth left in the host namespace" bash -c "! ip -n '$HOST_NS' -o link | grep -q 'vm-'"
    if [ -n "$pid" ]; then
        check "CMD (pid $pid) gone" bash -c "! kill -0 $pid 2>/dev/null"
    fi
}

xs_read() { xenstore-read "$1" 2>/dev/null; }

finish() {
    if [ "$FAILURES" -gt 0 ]; then
        log "$FAILURES check(s) failed; logs:"
        for f in "$WORK"/*.log; do echo "--- $f"; tail -n 40 "$f"; done
        exit 1
    fi
    log "all checks passed"
    exit 0
}
