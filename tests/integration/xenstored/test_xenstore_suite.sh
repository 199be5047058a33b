#!/usr/bin/env bash
# Xen's own test-xenstore against jitsu-xenstored: each of its 12 tests alone (-t),
# then the default run of all of them.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
[ -x "$TEST_XENSTORE" ] || fail "missing $TEST_XENSTORE (xen-utils-4.17)"

start_xsd
mapfile -t tests < <("$TEST_XENSTORE" -l | sed 's/ *:.*$//')
expect_eq "${#tests[@]}" 12 "number of test-xenstore tests"
for t in "${tests[@]}"; do
  out=$(timeout 60 "$TEST_XENSTORE" -t "$t" 2>&1) || fail "test-xenstore -t '$t': $out"
  grep -q "failed" <<<"$out" && fail "test-xenstore -t '$t': $out"
  grep -q "^$t *: [0-9]* ns" <<<"$out" || fail "test-xenstore -t '$t' printed: $out"
  echo "$out"
done
out=$(timeout 120 "$TEST_XENSTORE" 2>&1) || fail "test-xenstore (all): $out"
echo "$out"
grep -q "failed" <<<"$out" && fail "test-xenstore (all): $out"
expect_eq "$(grep -c ' ns' <<<"$out")" 12 "tests reported by the default run"
# It cleans up after itself: nothing left under its test path.
expect_eq "$(xenstore-ls /local/domain/0 2>/dev/null | grep -c xenstore-test || true)" 0 "leftovers"
stop_xsd
expect_eq "$XSD_RC" 0 "exit status after SIGTERM"
pass "test-xenstore: all 12 tests"
