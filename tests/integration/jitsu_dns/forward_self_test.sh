#!/usr/bin/env bash
# Issue 11 item 9: jitsu-dns never forwards to itself. An explicit -f naming this server
# (its address and port) is refused at start with one line (exit 2); a resolv.conf naming
# it (a host that resolves through jitsu-dns) turns forwarding off with one warning, so
# names outside the zones get REFUSED instead of looping. Runs in a private network
# namespace (unshare), loopback only.
set -uo pipefail
: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (network namespace)"; exit 1; }
src=${JITSU_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
CHECK_TAG=fwself
. "$src/tests/support/checks.sh"
work=$(mktemp -d /tmp/jitsu-fwself.XXXXXX)
trap 'rm -rf "$work"' EXIT
spec='name=a,dns=a.example.org,ip=10.0.0.9'

run_ns() { unshare --net -- sh -c 'ip link set lo up && exec "$@"' run_ns "$@"; }

for fw in "127.0.0.1 -l 5353 -p 5353" "127.0.0.2 -l 5353 -p 5353" "10.9.9.9 -b 10.9.9.9 -l 53 -p 53"; do
  # shellcheck disable=SC2086  # the arguments, split on purpose
  set -- $fw
  out=$(run_ns timeout 10 "$JITSU_BIN/jitsu-dns" -x netns --xenstore "$work/none" -f "$@" "$spec" 2>&1)
  rc=$?
  check "-f $fw: refused at start (exit $rc)" test "$rc" = 2
  check "-f $fw: one line naming the loop" test "$(wc -l <<< "$out")" = 1 -a -n "$(grep 'is this server itself' <<< "$out")"
done
# Another port on loopback is another server: accepted (it stops later, at Xenstore).
out=$(run_ns timeout 10 "$JITSU_BIN/jitsu-dns" -x netns --xenstore "$work/none" -l 5353 -f 127.0.0.1 -p 53 "$spec" 2>&1)
check "-f 127.0.0.1 -p 53 with -l 5353: not a loop" test -z "$(grep 'itself' <<< "$out")"

printf 'nameserver 127.0.0.1\n' > "$work/resolv.conf"
out=$(run_ns timeout 10 "$JITSU_BIN/jitsu-dns" -x netns --xenstore "$work/none" --resolv-conf "$work/resolv.conf" "$spec" 2>&1)
check "resolv.conf naming this server: one warning, forwarding off" \
  test "$(grep -c "is this server: not forwarding" <<< "$out")" = 1
[ "$FAILURES" = 0 ] || { log "$FAILURES check(s) failed"; printf '%s\n' "$out"; exit 1; }
log PASS
