#!/usr/bin/env bash
# e2e_bench_quick: runs `bench/connect-latency --quick` and checks behaviour only:
# exit 0, every run connected with status 200 (CSV), the table printed every mode, the
# CSV has the whole grid, the PNG is a PNG, and nothing is left behind (namespaces,
# processes, temp dirs). Timings are printed, never asserted.
# Usage: quick_test.sh   (env JITSU_BIN, JITSU_SOURCE_DIR as ctest sets them)
set -uo pipefail

: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
src=${JITSU_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (network namespaces)"; exit 1; }
# Fail fast on a missing binary: ctest's timeout SIGKILLs and skips the bench's cleanup.
for b in jitsu-xenstored synjitsu jitsu-dns jitsu-netvm jitsu-httpd connect_latency_client jitsu-delayline; do
  [ -x "$JITSU_BIN/$b" ] || { echo "FAIL: $JITSU_BIN/$b is not built"; exit 1; }
done

out=$(mktemp -d /tmp/e2e-bench-quick.XXXXXX)
failures=0
log() { echo "[e2e-bench] $*"; }
fail() { echo "[e2e-bench] FAIL: $*"; failures=$((failures + 1)); }
check() {
  local what=$1; shift
  if "$@"; then log "ok: $what"; else fail "$what"; fi
}
trap 'rm -rf "$out"' EXIT

P=e2q$$
before_tmp=$(ls -d /tmp/jitsu-connect-latency-"$P".* 2> /dev/null | sort)
# Bounded below ctest's timeout so the bench's own cleanup always runs.
timeout -s INT 150 "$src/bench/connect-latency" --quick --prefix $P --csv "$out/r.csv" --png "$out/r.png" \
  > "$out/stdout" 2> "$out/stderr"
rc=$?
sed 's/^/    /' "$out/stdout"
log "progress lines: $(grep -c '^\[' "$out/stderr")"
check "bench exits 0 (rc $rc)" test $rc = 0
[ $rc = 0 ] || tail -n 20 "$out/stderr"

# CSV: the whole quick grid (5 modes x 1 boot delay x 2 RTTs x 1 run), each ok with 200.
check "CSV written" test -s "$out/r.csv"
rows=$(($(wc -l < "$out/r.csv") - 1))
check "CSV has 10 runs ($rows)" test "$rows" = 10
bad=$(awk -F, 'NR > 1 && !($5 == 1 && $6 == 200) { print $3 " rtt " $1 ": " $15 }' "$out/r.csv")
check "every run connected and got 200${bad:+ (not: $bad)}" test -z "$bad"
for m in none fixed_boot fixed_200 wait_for_key synjitsu; do
  check "CSV has mode $m for both RTTs" test "$(awk -F, -v m=$m 'NR > 1 && $3 == m' "$out/r.csv" | wc -l)" = 2
done
# The table: a row per mode and RTT, and the comparison and target sections.
for label in "none (no masking)" "fixed delay = boot" "fixed delay 0.2 s" "wait_for_key" "synjitsu"; do
  check "table row for '$label'" test "$(grep -c -- "  $label" "$out/stdout")" -ge 2
done
check "table has the synjitsu comparison" grep -q "synjitsu against the other modes" "$out/stdout"
check "table has the targets" grep -q "targets for synjitsu" "$out/stdout"
check "PNG written" bash -c "head -c 8 '$out/r.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"

# Nothing left behind.
check "no namespace left ($P-host/router/c1, VMs ${P}v*)" bash -c "! ls /run/netns 2> /dev/null | grep -q '^$P'"
leftover=$(pgrep -af 'jitsu-(dns|netvm|xenstored)|synjitsu' | grep -E "$P|jitsu-connect-latency-$P\." || true)
check "no jitsu-dns/jitsu-netvm/synjitsu/jitsu-xenstored of the bench left${leftover:+: $leftover}" test -z "$leftover"
no_delayline() {  # the topology's delay line (by its --name), zombies not yet reaped aside
  ! ps -eo stat=,args= | awk -v p="--name $P " '$1 !~ /^Z/ && index($0, p)' | grep -q jitsu-delayline
}
for _ in $(seq 250); do no_delayline && break; sleep 0.02; done  # up to 5 s: it may still be exiting
check "no jitsu-delayline of $P left" no_delayline
after_tmp=$(ls -d /tmp/jitsu-connect-latency-"$P".* 2> /dev/null | sort)
check "no work directory left in /tmp" test "$before_tmp" = "$after_tmp"

[ $failures = 0 ] || { log "$failures check(s) failed"; exit 1; }
log "all checks passed"
