#!/bin/bash
# The guest image boots under QEMU (TCG) and serves HTTP from its own kernel, in a network
# namespace this test creates:
#
#   [ns <T>-host: br0 10.0.0.1/24 ── tap0 ══ QEMU: virtio-net 02:00:00:00:00:0a, 10.0.0.10 ]
#
# QEMU runs inside the namespace (ip netns exec) on a tap created there, so nothing reaches
# the machine's own interfaces. Checks: `jitsu-guest: ready` (bounded wait) exactly once;
# GET / on jitsu.port returns jitsu.body, answered by the guest's MAC; port 80 refused
# (only jitsu.port is served); a bad jitsu.ip makes the guest say `failed` and power off;
# nothing is left behind (QEMU by pid identity, the namespace).
# Usage: boot_test.sh IMAGE_DIR   (builds the image into its work dir if IMAGE_DIR has none)
set -u

: "${JITSU_SOURCE_DIR:?JITSU_SOURCE_DIR must point at the source tree}"
IMAGE_DIR=${1:?usage: boot_test.sh IMAGE_DIR}
TAG="gi$$"
NS="${TAG}-host"
VM_IP=10.0.0.10
VM_MAC=02:00:00:00:00:0a
HOST_IP=10.0.0.1
PORT=8080
BODY="hello-from-${TAG}"
READY_BOUND=${JITSU_GUEST_READY_BOUND:-90} # s: TCG boots in ~5-8 s here, more when loaded
WORK=$(mktemp -d "/tmp/jitsu-guest-image-${TAG}.XXXX")
QEMU_IDS=()

CHECK_TAG=guest-image
. "$JITSU_SOURCE_DIR/tests/support/checks.sh"
. "$JITSU_SOURCE_DIR/guest/images/qemu-boot.sh"

GUEST_PID=
cleanup() {
    [ -z "$GUEST_PID" ] || guest_stop "$GUEST_PID"
    ip netns del "$NS" 2> /dev/null
    # JITSU_KEEP_WORK=1 keeps the console logs for a look after a failure.
    if [ -n "${JITSU_KEEP_WORK:-}" ]; then echo "[$CHECK_TAG] kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in qemu-system-x86_64 curl ip; do
    command -v "$tool" > /dev/null || { echo "[$CHECK_TAG] FAIL: $tool is not installed"; exit 1; }
done
if [ ! -r "$IMAGE_DIR/vmlinuz" ] || [ ! -r "$IMAGE_DIR/initramfs.cpio.gz" ]; then
    log "no image in $IMAGE_DIR: building one in $WORK/image"
    IMAGE_DIR=$WORK/image
    "$JITSU_SOURCE_DIR/guest/images/build-initramfs" "$IMAGE_DIR" > "$WORK/build.log" 2>&1 ||
        { echo "[$CHECK_TAG] FAIL: build-initramfs: $(tail -1 "$WORK/build.log")"; exit 1; }
fi

# Boots, waits (bounded) and remembers QEMU's identity for the leftover check.
boot() {  # boot LOG CMD...
    local log=$1; shift
    guest_boot_start "$log" "$@"
    QEMU_IDS+=("$(proc_identity "$GUEST_PID" || echo "$GUEST_PID:gone")")
    guest_wait_ready "$log" "$GUEST_PID" "$READY_BOUND"
}
console() { tr -d '\r' < "$1"; }

# --- 1. A good boot on a tap in the test's namespace --------------------------------------
ip netns add "$NS" || { echo "[$CHECK_TAG] FAIL: ip netns add $NS"; exit 1; }
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add "$HOST_IP/24" dev br0
ip -n "$NS" link set br0 up
ip -n "$NS" tuntap add dev tap0 mode tap || { echo "[$CHECK_TAG] FAIL: tap in $NS"; exit 1; }
ip -n "$NS" link set tap0 master br0 up

guest_qemu_cmd q35 tcg "$IMAGE_DIR" \
    "$GUEST_APPEND_FAST jitsu.ip=$VM_IP/24 jitsu.gw=$HOST_IP jitsu.port=$PORT jitsu.body=$BODY" \
    "tap,id=n0,ifname=tap0,script=no,downscript=no" "$VM_MAC" || exit 1
rc=0
boot "$WORK/good.log" ip netns exec "$NS" "${GUEST_QEMU_CMD[@]}" || rc=$?
if [ $rc -eq 0 ]; then
    log "ok: jitsu-guest: ready after $(((GUEST_READY_US - GUEST_START_US) / 1000)) ms (wall, TCG)"
    log "guest says: $(console "$WORK/good.log" | grep -a 'jitsu-guest: uptime')"
else
    fail "guest not ready (rc $rc, bound $READY_BOUND s); console tail: $(console "$WORK/good.log" | tail -3 | tr '\n' '|') qemu: $(tail -2 "$WORK/good.log.qemu" | tr '\n' '|')"
fi
check "exactly one ready line" [ "$(console "$WORK/good.log" | grep -a -c -x 'jitsu-guest: ready')" = 1 ]

get() {  # get PORT: the body of GET / from the test's namespace
    ip netns exec "$NS" curl -sS --max-time 5 -o "$WORK/body" -w '%{http_code}' \
        "http://$VM_IP:$1/" 2> "$WORK/curl.err"
}
code=''
if [ $rc -eq 0 ]; then
    # ARP and the first TCP connect under TCG take a moment: up to 5 tries.
    for _ in 1 2 3 4 5; do
        code=$(get $PORT) && break
        sleep 1
    done
fi
check "GET / on jitsu.port answers 200 (got '${code}' $(cat "$WORK/curl.err" 2> /dev/null))" [ "$code" = 200 ]
check "GET / returns jitsu.body" [ "$(cat "$WORK/body" 2> /dev/null)" = "$BODY" ]
check "the answer came from the guest's NIC (neighbour $VM_IP is $VM_MAC)" \
    bash -c "ip -n '$NS' neigh show '$VM_IP' dev br0 | grep -qi 'lladdr $VM_MAC'"
check "port 80 refused (only jitsu.port is served)" bash -c "! ip netns exec '$NS' curl -s --max-time 5 -o /dev/null http://$VM_IP:80/"

guest_stop "$GUEST_PID"
GUEST_PID=

# --- 2. A bad command line: the guest reports it and powers off (QEMU exits) ------------
guest_qemu_cmd q35 tcg "$IMAGE_DIR" "$GUEST_APPEND_FAST jitsu.ip=10.0.0.300/24" "hubport,id=n0,hubid=0" || exit 1
rc=0
boot "$WORK/bad.log" "${GUEST_QEMU_CMD[@]}" || rc=$?
check "bad jitsu.ip: not ready (wait returned 2, got $rc)" [ $rc = 2 ]
check "bad jitsu.ip: the guest says why" \
    grep -a -q "jitsu-guest: failed: bad jitsu.ip '10.0.0.300/24'" "$WORK/bad.log"
check "bad jitsu.ip: the guest powered off (QEMU exited by itself within 30 s)" \
    wait_until 30 none_running "${QEMU_IDS[-1]}"
guest_stop "$GUEST_PID"
GUEST_PID=

# --- Nothing left behind -----------------------------------------------------------------
ip netns del "$NS"
check "namespace $NS deleted" bash -c "! ip netns list | grep -qw '$NS'"
check "no QEMU of this test running" wait_until 5 none_running "${QEMU_IDS[@]}"

if [ "$FAILURES" -ne 0 ]; then log "$FAILURES check(s) failed"; exit 1; fi
log "PASS"
