#!/usr/bin/env bash
# test-xenstore's random mode for 30 s: random tests in random order, checked each time.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
[ -x "$TEST_XENSTORE" ] || fail "missing $TEST_XENSTORE (xen-utils-4.17)"

start_xsd
set +e
out=$(timeout 75 "$TEST_XENSTORE" -r 30 2>&1)
rc=$?
set -e
echo "$out" | tail -n 5
[ $rc -eq 0 ] || fail "test-xenstore -r 30 exited $rc: $(tail -n 5 <<<"$out")"
grep -q "failed" <<<"$out" && fail "test-xenstore -r 30: $(grep failed <<<"$out")"
kill -0 "$XSD_PID" || fail "jitsu-xenstored died"
stop_xsd
expect_eq "$XSD_RC" 0 "exit status after SIGTERM"
pass "test-xenstore -r 30"
