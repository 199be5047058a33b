#!/bin/bash
# jitsu-ctl against a live jitsu-xenstored holding a tree this test writes (the layout of
# docs/DESIGN.md: /jitsu/vm/<uuid>/..., /synjitsu/booting/<ip>, /ip/<ip>/...): the table,
# --json, and the one-line errors (unreachable Xenstore: exit 1; bad usage: exit 2).
# Usage: ctl_live_test.sh   (env JITSU_BIN, as ctest sets it)
set -u
: "${JITSU_BIN:?}"
CHECK_TAG=ctl-live
. "$(dirname "$(readlink -f "$0")")/../support/checks.sh"
WORK=$(mktemp -d /tmp/jitsu-ctl-live.XXXX)
XSD_PID=
cleanup() {
    [ -n "$XSD_PID" ] && stop_pids "$XSD_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
command -v xenstore-write > /dev/null || { fail "xenstore-write is not installed"; exit 1; }

export XENSTORED_PATH="$WORK/xs.sock"
"$JITSU_BIN/jitsu-xenstored" --socket "$XENSTORED_PATH" 2> "$WORK/xsd.log" &
XSD_PID=$!
wait_until 5 test -S "$XENSTORED_PATH" || { fail "jitsu-xenstored did not start"; exit 1; }

now=$(date +%s)
A=/jitsu/vm/6f1c0b9e-0000-5000-8000-000000000001
B=/jitsu/vm/6f1c0b9e-0000-5000-8000-000000000002
xenstore-write \
    $A/config/name/0 web $A/dns/0/name web.jitsu.test $A/dns/0/ttl 60 $A/ip 10.0.0.20 \
    $A/state booting $A/domid 12 $A/last_request "$((now - 3)).250" \
    /synjitsu/booting/10-0-0-20 02:00:0a:00:00:14 \
    /ip/10-0-0-20/80/10-1-0-11/41000/syn/count 1 \
    /ip/10-0-0-20/80/10-1-0-12/41001/syn/count 2 \
    $B/dns/0/name db.jitsu.test $B/ip 10.0.0.21 $B/state stopped \
    $B/error "backend: no such bridge" || { fail "xenstore-write"; exit 1; }

out=$("$JITSU_BIN/jitsu-ctl" status 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
check "status exits 0" test "$rc" = 0
check "header line" grep -q '^NAME  *IP  *STATE  *DOMID  *LAST REQUEST  *LAST BOOT  *MASKED  *ERROR$' <<< "$out"
check "db: stopped, its error" grep -Eq '^db\.jitsu\.test +10\.0\.0\.21 +stopped +- +- +- +0 +backend: no such bridge$' <<< "$out"
check "web: booting, domid 12, ~3 s ago, 2 masked (synjitsu)" \
    grep -Eq '^web +10\.0\.0\.20 +booting +12 +[2-5]\.[0-9]s ago +- +2 \(synjitsu\) +-$' <<< "$out"
check "one line per VM plus the header" test "$(wc -l <<< "$out")" = 3

json=$("$JITSU_BIN/jitsu-ctl" --xenstore "$XENSTORED_PATH" status --json)
check "--json: both VMs with their fields" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
vms = {v["name"]: v for v in d["vms"]}
w, b = vms["web"], vms["db.jitsu.test"]
assert w["state"] == "booting" and w["domid"] == 12 and w["masked_connections"] == 2, w
assert w["synjitsu_booting"] is True and w["last_boot"] is None and w["dns"] == ["web.jitsu.test"], w
assert abs(w["last_request"] - (int(sys.argv[2]) - 2.75)) < 1e-6, w
assert b["domid"] is None and b["error"] == "backend: no such bridge" and b["ip"] == "10.0.0.21", b
assert d["truncated"] is False' "$json" "$now"

err=$("$JITSU_BIN/jitsu-ctl" --xenstore "$WORK/nothing.sock" status 2>&1); rc=$?
check "unreachable Xenstore: exit 1, one line naming the socket ($err)" \
    bash -c '[ "$1" = 1 ] && [ "$(wc -l <<< "$2")" = 1 ] && grep -q "nothing.sock" <<< "$2"' _ "$rc" "$err"
err=$("$JITSU_BIN/jitsu-ctl" status --bogus 2>&1); rc=$?
check "bad flag: exit 2, one line ($err)" bash -c '[ "$1" = 2 ] && [ "$(wc -l <<< "$2")" = 1 ]' _ "$rc" "$err"

[ "$FAILURES" = 0 ] || exit 1
log "all checks passed"
