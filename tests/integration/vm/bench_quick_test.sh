#!/usr/bin/env bash
# vm_bench_quick: `bench/connect-latency --backend libvirt --quick --rtts 20` (real QEMU
# guests, TCG) as a behaviour test: every run (3 modes x cold/resume, 1 run) connected
# with status 200, the CSV has those 6 rows with the guest's boot (vm_up_ms) recorded,
# the table and the PNG were produced, and nothing is left behind (namespaces, jitsu
# processes, libvirtd, QEMU, the work directory). Timings are printed, never asserted.
# One failure is tolerated, loudly: a cold run refused (ECONNREFUSED), the guest-image
# race the bench measured (README, "Real QEMU guests"): a client SYN retransmission that
# reaches the guest between its NIC coming up and httpd listening (73-177 ms of each
# boot) is answered RST by the guest's kernel, in the none and synjitsu modes alike
# (~10% of such boots). The bench then exits 1; nothing else may have failed.
set -uo pipefail

: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
src=${JITSU_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
# shellcheck disable=SC2034  # read by checks.sh
CHECK_TAG=vmb
. "$src/tests/support/checks.sh"
[ "$(id -u)" = 0 ] || { echo "[vmb] FAIL: needs root (network namespaces)"; exit 1; }
# Fail fast on what is missing: ctest's timeout SIGKILLs and skips the bench's cleanup.
for b in jitsu-xenstored synjitsu jitsu-dns connect_latency_client jitsu-delayline; do
  [ -x "$JITSU_BIN/$b" ] || { echo "[vmb] FAIL: $JITSU_BIN/$b is not built"; exit 1; }
done
images=${JITSU_GUEST_IMAGES:-$(dirname "$JITSU_BIN")/guest-images}
[ -s "$images/vmlinuz" ] && [ -s "$images/initramfs.cpio.gz" ] ||
  { echo "[vmb] FAIL: no guest image in $images (cmake --build build --target guest-images)"; exit 1; }

out=$(mktemp -d /tmp/vm-bench-quick.XXXXXX)
trap 'rm -rf "$out"' EXIT
P=vmb$$
# Bounded below ctest's timeout so the bench's own cleanup always runs. Domain type
# qemu: TCG is the path tested here (see guest/images/accel-probe).
timeout -s INT 200 "$src/bench/connect-latency" --backend libvirt --quick --rtts 20 \
  --domain-type qemu --prefix $P --csv "$out/r.csv" --png "$out/r.png" > "$out/stdout" 2> "$out/stderr"
rc=$?
sed 's/^/    /' "$out/stdout"
log "progress lines: $(grep -c '^\[' "$out/stderr")"
check "CSV written" test -s "$out/r.csv"
rows=$(($(wc -l < "$out/r.csv") - 1))
check "CSV has 6 runs ($rows)" test "$rows" = 6
refused=$(awk -F, 'NR > 1 && $2 == "cold" && $16 == "connect:Connection_refused" { print $3 }' "$out/r.csv" | tr '\n' ' ')
bad=$(awk -F, 'NR > 1 && !($5 == 1 && $6 == 200) && !($2 == "cold" && $16 == "connect:Connection_refused") { print $2 " " $3 ": " $16 }' "$out/r.csv")
check "every run connected and got 200, a refused cold run aside${bad:+ (not: $bad)}" test -z "$bad"
[ -z "$refused" ] ||
  log "KNOWN RACE, tolerated: cold run(s) refused by the guest's kernel before httpd listened: $refused"
if [ -z "$refused" ]; then
  check "bench exits 0 (rc $rc)" test $rc = 0
else
  check "bench exits 1 for the refused run(s) only (rc $rc)" test $rc = 1
fi
[ $rc = 0 ] || tail -n 20 "$out/stderr"
for st in cold resume; do
  for m in none wait_for_port synjitsu; do
    check "CSV: $st $m, with the boot recorded" \
      test "$(awk -F, -v s=$st -v m=$m 'NR > 1 && $2 == s && $3 == m && $12 > 0' "$out/r.csv" | wc -l)" = 1
  done
done
for label in "none (no masking)" "wait_for_port=80" "synjitsu host replay"; do
  check "table rows for '$label' (cold, resume)" test "$(grep -c -- "$label  " "$out/stdout")" -ge 2
done
check "table compares the modes" grep -q "masking modes against none" "$out/stdout"
check "table compares resume with cold boot" grep -q "resume against cold boot" "$out/stdout"
check "PNG written" bash -c "head -c 8 '$out/r.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"

# Nothing left behind. Our libvirtd is known by its bind mounts of the work directory.
check "no namespace left" bash -c "! ls /run/netns 2> /dev/null | grep -q '^$P'"
ours() {
  local p
  # (a zombie's command line is empty: it never matches the prefix)
  pgrep -af 'jitsu-(dns|xenstored|delayline)|synjitsu|qemu-system' | grep -E "$P|jitsu-connect-latency-$P\."
  for p in $(pgrep -x libvirtd); do
    grep -q "jitsu-connect-latency-$P\." "/proc/$p/mountinfo" 2> /dev/null && echo "libvirtd $p"
  done
  return 0
}
none_left() { [ -z "$(ours)" ]; }
wait_until 5 none_left
check "no jitsu daemon, delay line, libvirtd or QEMU of the bench left$(ours | tr '\n' ' ' | sed 's/^./: &/')" none_left
check "no work directory left in /tmp" bash -c "! ls -d /tmp/jitsu-connect-latency-$P.* 2> /dev/null"

[ "$FAILURES" = 0 ] || { log "$FAILURES check(s) failed"; exit 1; }
log "PASS"
