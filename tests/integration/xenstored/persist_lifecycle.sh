#!/usr/bin/env bash
# --persist across kill -9 and restarts; torn/corrupt files refused; start-up rules
# (stale socket replaced, live server respected, bad flags), pid file, SIGTERM cleanup.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

STORE=$WORK/state/store.db
PIDF=$WORK/xsd.pid

# Command line: --help, bad flags (exit 2, one line).
"$XSD" --help | grep -q -- "--domain-socket DOMID:PATH" || fail "--help lacks --domain-socket"
set +e
err=$("$XSD" --no-such-flag 2>&1); rc=$?
set -e
expect_eq "$rc" 2 "exit status for a bad flag"
expect_eq "$(wc -l <<<"$err")" 1 "bad flag message lines"
set +e; err=$("$XSD" --domain-socket 0:/x 2>&1); rc=$?; set -e
expect_eq "$rc" 2 "exit status for --domain-socket 0:"
pass "command line"

# Writes, a kill -9, a restart: everything acknowledged is there.
start_xsd --persist "$STORE" --pid-file "$PIDF"
expect_eq "$(cat "$PIDF")" "$XSD_PID" "pid file"
xenstore-write /jitsu/vm/a/ip 10.0.0.10 /jitsu/vm/a/state running /ip/10-0-0-10 managed
xenstore-write data/status ready
xenstore-chmod /jitsu/vm n0 r5
xenstore-write /doomed/x 1
xenstore-rm /doomed
for i in $(seq 50); do xenstore-write /bulk/k$i "value $i"; done
kill9_xsd
[ -S "$SOCK" ] || fail "kill -9 should leave the socket file behind"
start_xsd --persist "$STORE" --pid-file "$PIDF"   # replaces the stale socket
expect_eq "$(xenstore-read /jitsu/vm/a/ip)" 10.0.0.10 "persisted value"
expect_eq "$(xenstore-read /jitsu/vm/a/state)" running "persisted value"
expect_eq "$(xenstore-read /ip/10-0-0-10)" managed "persisted value"
expect_eq "$(xenstore-read /local/domain/0/data/status)" ready "persisted relative write"
expect_eq "$(xenstore-ls -p /jitsu | head -1 | sed 's/.*(//')" "n0,r5)" "persisted permissions"
if xenstore-exists /doomed; then fail "removed node came back"; fi
expect_eq "$(xenstore-list /bulk | wc -l)" 50 "persisted bulk writes"
expect_eq "$(xenstore-read /bulk/k37)" "value 37" "persisted bulk value"
expect_eq "$(xenstore-list /jitsu/vm/a | tr '\n' ' ')" "ip state " "children order"
pass "kill -9 and restart"

# A live server owns its socket and its store: a second one is refused (exit 1).
set +e
err=$("$XSD" --socket "$SOCK" 2>&1); rc=$?
set -e
expect_eq "$rc" 1 "second server on a live socket"
grep -q "another server" <<<"$err" || fail "message: $err"
set +e
err=$("$XSD" --socket "$WORK/other.sock" --persist "$STORE" 2>&1); rc=$?
set -e
expect_eq "$rc" 1 "second server on a store in use"
grep -q "in use" <<<"$err" || fail "message: $err"
[ -e "$WORK/other.sock" ] && fail "refused server left its socket"
xenstore-read /jitsu/vm/a/ip >/dev/null || fail "first server disturbed"
pass "live server respected"

# SIGTERM: clean exit, socket and pid file removed, state kept.
stop_xsd
expect_eq "$XSD_RC" 0 "exit status after SIGTERM"
[ -e "$SOCK" ] && fail "socket left behind after SIGTERM"
[ -e "$PIDF" ] && fail "pid file left behind after SIGTERM"
start_xsd --persist "$STORE"
expect_eq "$(xenstore-read /bulk/k1)" "value 1" "state after clean restart"
stop_xsd
pass "SIGTERM"

# A store whose snapshot is cut short (written whole by rename, so only outside damage
# cuts it): refused, untouched (the tree it leaves does not hold together).
cp "$STORE" "$WORK/good.db"
size=$(stat -c %s "$STORE")
head -c $((size - 5)) "$WORK/good.db" >"$STORE"
cp "$STORE" "$WORK/torn.db"
set +e
err=$(timeout 10 "$XSD" --socket "$SOCK" --persist "$STORE" 2>&1); rc=$?
set -e
expect_eq "$rc" 1 "exit status for a cut snapshot"
expect_eq "$(wc -l <<<"$err")" 1 "cut snapshot message lines"
grep -q "refusing" <<<"$err" || fail "cut snapshot message: $err"
cmp -s "$STORE" "$WORK/torn.db" || fail "refused store was modified"
[ -e "$SOCK" ] && fail "refusing server left a socket"
pass "cut snapshot refused: $err"

# Issue 11 item 1: a write cut short by kill -9 (its record incomplete at the end of the
# file) was never acknowledged: the server drops it with one log line and starts.
cp "$WORK/good.db" "$STORE"
start_xsd --persist "$STORE"
xenstore-write /torn/x "$(head -c 3000 /dev/zero | tr '\0' t)"
kill9_xsd
tsize=$(stat -c %s "$STORE")
head -c $((tsize - 1000)) "$STORE" >"$WORK/cut.db" && cp "$WORK/cut.db" "$STORE"
start_xsd --persist "$STORE"
expect_eq "$(xenstore-read /jitsu/vm/a/ip)" 10.0.0.10 "state before the torn record"
if xenstore-exists /torn/x; then fail "the torn record's write came back"; fi
grep -q "dropped an incomplete last record" "$WORK/xsd.log" || fail "no log line for the dropped record"
stop_xsd
cp "$WORK/good.db" "$STORE"
pass "torn last record dropped, server started"

printf 'definitely not a store' >"$STORE"
set +e
err=$(timeout 10 "$XSD" --socket "$SOCK" --persist "$STORE" 2>&1); rc=$?
set -e
expect_eq "$rc" 1 "exit status for a corrupt store"
grep -q "bad magic" <<<"$err" || fail "corrupt message: $err"
# Flip one byte in the middle: checksum.
cp "$WORK/good.db" "$STORE"
printf '\x00' | dd of="$STORE" bs=1 seek=$((size / 2)) conv=notrunc status=none
set +e
err=$(timeout 10 "$XSD" --socket "$SOCK" --persist "$STORE" 2>&1); rc=$?
set -e
expect_eq "$rc" 1 "exit status for a flipped byte"
pass "torn and corrupt stores refused: $err"

# Restoring the good file brings everything back.
cp "$WORK/good.db" "$STORE"
start_xsd --persist "$STORE"
expect_eq "$(xenstore-read /jitsu/vm/a/ip)" 10.0.0.10 "restored store"

# Writes from several clients at once, kill -9 in the middle: every write a client saw
# acknowledged is in the store after the restart.
for c in 1 2 3 4; do
  ( for i in $(seq 40); do xenstore-write "/conc/c$c/k$i" "$i" && echo "$c $i"; done ) \
    >"$WORK/acked.$c" 2>/dev/null &
  BG_PIDS+=("$!")
done
sleep 0.4
kill9_xsd
sleep 0.2
for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
BG_PIDS=()
start_xsd --persist "$STORE"
acked=0
for c in 1 2 3 4; do
  while read -r cc i; do
    acked=$((acked + 1))
    expect_eq "$(xenstore-read "/conc/c$cc/k$i")" "$i" "acknowledged write c$cc/k$i after kill -9"
  done <"$WORK/acked.$c"
done
[ "$acked" -gt 0 ] || fail "no write was acknowledged before kill -9"
stop_xsd
pass "every acknowledged write ($acked) survived kill -9"
