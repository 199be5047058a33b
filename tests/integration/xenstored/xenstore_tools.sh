#!/usr/bin/env bash
# Debian's xenstore-* tools (libxenstore) against jitsu-xenstored: outputs and exit
# codes as against Xen's xenstored, permissions through a --domain-socket, watches.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

D5=$WORK/d5
start_xsd --domain-socket "5:$D5"
as_dom5() { XENSTORED_PATH=$D5 "$@"; }

# write / read / exists / list / ls
xenstore-write /jitsu/vm/www/ip 10.0.0.10 /jitsu/vm/www/state booting || fail "xenstore-write"
expect_eq "$(xenstore-read /jitsu/vm/www/ip)" "10.0.0.10" "read"
expect_eq "$(xenstore-read /jitsu/vm/www/ip /jitsu/vm/www/state | tr '\n' ' ')" "10.0.0.10 booting " "read two"
set +e
err=$(xenstore-read /jitsu/missing 2>&1); rc=$?
set -e
expect_eq "$rc" 1 "read of a missing key fails"
grep -q "couldn't read path /jitsu/missing" <<<"$err" || fail "read error message: $err"
xenstore-exists /jitsu/vm/www || fail "exists of a present node"
if xenstore-exists /jitsu/nope; then fail "exists of a missing node"; fi
expect_eq "$(xenstore-list /jitsu/vm/www | tr '\n' ' ')" "ip state " "list (creation order)"
expect_eq "$(xenstore-ls /jitsu)" 'vm = ""
 www = ""
  ip = "10.0.0.10"
  state = "booting"' "ls"
expect_eq "$(xenstore-ls -f /jitsu/vm)" '/jitsu/vm/www = ""
/jitsu/vm/www/ip = "10.0.0.10"
/jitsu/vm/www/state = "booting"' "ls -f"
# Values with spaces, quotes and non-printable bytes come back as written.
xenstore-write /v 'a "quoted" value' || fail "write quoted"
expect_eq "$(xenstore-read /v)" 'a "quoted" value' "quoted value"
expect_eq "$(xenstore-ls / | grep '^v ')" 'v = "a "quoted" value"' "ls shows the value"
# Relative paths resolve under /local/domain/0.
xenstore-write data/status ready
expect_eq "$(xenstore-read /local/domain/0/data/status)" ready "relative write"
pass "write/read/exists/list/ls"

# chmod and ls -p
xenstore-chmod /jitsu/vm n0 r5 || fail "chmod"
# (the dotted filler between value and permissions depends on the line width)
expect_eq "$(xenstore-ls -p /jitsu | head -1 | sed 's/ [. ]*(/ (/')" 'vm = "" (n0,r5)' "ls -p"
xenstore-chmod -r /jitsu n0 r5 || fail "chmod -r"
expect_eq "$(xenstore-ls -p /jitsu/vm/www | sed 's/ .*(/ (/')" 'ip (n0,r5)
state (n0,r5)' "chmod -r reached the leaves"
pass "chmod / ls -p"

# An unprivileged domain: reads what r5 allows, writes only where w/b allows.
expect_eq "$(as_dom5 xenstore-read /jitsu/vm/www/ip)" "10.0.0.10" "domU read with r5"
if as_dom5 xenstore-write /jitsu/vm/www/ip 1.2.3.4 2>/dev/null; then fail "domU write with r5"; fi
if as_dom5 xenstore-read /v 2>/dev/null; then fail "domU read of an n0 node"; fi
if as_dom5 xenstore-chmod /jitsu/vm/www/ip b5 2>/dev/null; then fail "domU chmod of dom0's node"; fi
xenstore-chmod /jitsu/vm/www/ip n0 w5
as_dom5 xenstore-write /jitsu/vm/www/ip 5.5.5.5 || fail "domU write with w5"
if as_dom5 xenstore-read /jitsu/vm/www/ip 2>/dev/null; then fail "domU read with w5 only"; fi
expect_eq "$(xenstore-read /jitsu/vm/www/ip)" "5.5.5.5" "dom0 sees the domU write"
# Its home: relative paths land under /local/domain/5; what it creates is its own.
xenstore-write /local/domain/5 ""
xenstore-chmod /local/domain/5 n5
as_dom5 xenstore-write data/status ready || fail "domU relative write"
expect_eq "$(xenstore-read /local/domain/5/data/status)" ready "domU relative path"
expect_eq "$(xenstore-ls -p /local/domain/5 | sed 's/.*(//')" 'n5)
n5)' "domU owns what it creates"
if as_dom5 xenstore-control help >/dev/null 2>&1; then fail "domU control"; fi
pass "domain socket permissions"

# rm
xenstore-rm /jitsu/vm/www/state || fail "rm"
if xenstore-read /jitsu/vm/www/state 2>/dev/null; then fail "read after rm"; fi
xenstore-rm /jitsu/vm/www/state || fail "rm of a missing node whose parent exists"
if xenstore-rm /no/such/parent 2>/dev/null; then fail "rm under a missing parent"; fi
xenstore-rm /jitsu || fail "rm subtree"
if xenstore-exists /jitsu/vm/www/ip; then fail "subtree survived rm"; fi
pass "rm"

# watch: the initial event, then one per change, then -n stops it.
timeout 10 xenstore-watch -n 4 /w >"$WORK/watch.out" 2>&1 &
watcher=$!
BG_PIDS+=("$watcher")
wait_for grep -q '^/w$' "$WORK/watch.out" || fail "no initial watch event"
xenstore-write /w/x 1
xenstore-write /other 2        # not under /w: no event
xenstore-chmod /w/x n0 r1
xenstore-rm /w
set +e; wait "$watcher"; rc=$?; set -e
expect_eq "$rc" 0 "xenstore-watch -n 4 exit"
expect_eq "$(cat "$WORK/watch.out")" '/w
/w/x
/w/x
/w' "watch events"
pass "watch"

stop_xsd
expect_eq "$XSD_RC" 0 "exit status after SIGTERM"
[ -e "$SOCK" ] && fail "socket left behind"
[ -e "$D5" ] && fail "domain socket left behind"
pass "clean shutdown"
