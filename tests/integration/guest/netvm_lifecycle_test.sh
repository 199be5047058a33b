#!/bin/bash
# jitsu-netvm's life cycle: start-to-listening time with --boot-delay 0 (reported, not
# asserted), suspend/resume by SIGUSR1/SIGUSR2, and cleanup when CMD fails to start or
# dies by itself (non-zero exit, nothing left behind).
# Usage: netvm_lifecycle_test.sh   (env JITSU_BIN, as ctest sets it)
. "$(dirname "$0")/lib.sh"

setup_topology || { fail "topology"; finish; }
start_xenstored || { fail "jitsu-xenstored did not start"; finish; }
HTTPD=("$JITSU_BIN/jitsu-httpd" --port 80)
curl_vm() { ip netns exec "$CLIENT_NS" curl -s -o /dev/null -m "$1" -w '%{http_code}' "http://$VM_IP/"; }

# --- start to listening, boot delay 0 ---
RUNS=${GUEST_TIMING_RUNS:-5}
times=()
for i in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    start_netvm "$WORK/timing.log" 0 --listen 80 -- "${HTTPD[@]}"
    if wait_until 10 grep -q "is up" "$WORK/timing.log"; then
        t1=$(date +%s%N)
        inner=$(grep -oE "listening [0-9.]+ ms after jitsu-netvm start" "$WORK/timing.log" | grep -oE "[0-9.]+")
        times+=("$inner")
        log "run $i: CMD listening ${inner} ms after jitsu-netvm start (${RUNS} runs; up, seen from outside, $(((t1 - t0) / 1000000)) ms after launch)"
    else
        fail "run $i: VM did not come up"
    fi
    stop_netvm
    [ "$NETVM_RC" = 0 ] || fail "run $i: exit $NETVM_RC"
    wait_until 5 bash -c "! ip netns list | grep -qw '$VM_NAME'" || fail "run $i: namespace left"
done
if [ ${#times[@]} -gt 0 ]; then
    log "REPORT start->listening (boot delay 0, target <= 10 ms): $(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "min %.3f ms, median %.3f ms, max %.3f ms over %d runs", a[1], a[int((NR+1)/2)], a[NR], NR}')"
    log "(load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
fi

# --- suspend / resume ---
start_netvm "$WORK/suspend.log" 0 --listen 80 -- "${HTTPD[@]}"
wait_until 10 grep -q "is up" "$WORK/suspend.log" || fail "suspend VM did not come up"
check "served before suspend" test "$(curl_vm 2)" = 200
kill -USR1 "$NETVM_PID"
wait_until 5 grep -q "suspended" "$WORK/suspend.log" || fail "no suspend logged"
check "CMD stopped (state T)" bash -c "grep -q '^State:.*T' /proc/$(cmd_pid_of "$WORK/suspend.log")/status"
check "no answer while suspended" test "$(curl_vm 1)" != 200
kill -USR2 "$NETVM_PID"
wait_until 5 grep -q "resumed" "$WORK/suspend.log" || fail "no resume logged"
check "served after resume" test "$(curl_vm 2)" = 200
stop_netvm
check "exit 0 after suspend/resume ($NETVM_RC)" test "$NETVM_RC" = 0
check_nothing_left "$WORK/suspend.log"

# --- CMD never listens: exits first ---
start_netvm "$WORK/exit.log" 0 -- /bin/sh -c 'exit 7'
wait_netvm 10
check "CMD exiting before listening -> exit 3 ($NETVM_RC)" test "$NETVM_RC" = 3
check "error says why" grep -q "exited with status 7 before listening" "$WORK/exit.log"
check_nothing_left "$WORK/exit.log"

# --- CMD cannot be executed ---
start_netvm "$WORK/noexec.log" 0 -- /nonexistent/server
wait_netvm 10
check "CMD not executable -> exit 3 ($NETVM_RC)" test "$NETVM_RC" = 3
check "error names the command" grep -q "exec /nonexistent/server" "$WORK/noexec.log"
check_nothing_left "$WORK/noexec.log"

# --- CMD dies while the VM runs ---
start_netvm "$WORK/die.log" 0 --listen 80 -- "${HTTPD[@]}"
wait_until 10 grep -q "is up" "$WORK/die.log" || fail "VM did not come up"
kill -KILL "$(cmd_pid_of "$WORK/die.log")"
wait_netvm 10
check "CMD killed -> exit 4 ($NETVM_RC)" test "$NETVM_RC" = 4
check_nothing_left "$WORK/die.log"
check "/ip/$VM_IP removed after CMD died" bash -c "! xenstore-read /ip/10-0-0-10 >/dev/null 2>&1"

# --- CMD leaves a process in another process group: killed with the namespace ---
start_netvm "$WORK/escape.log" 0 --listen 80 -- /bin/sh -c \
    "setsid sleep 60 & exec $JITSU_BIN/jitsu-httpd --port 80"
wait_until 10 grep -q "is up" "$WORK/escape.log" || fail "VM did not come up"
stop_netvm
check "exit 0 ($NETVM_RC)" test "$NETVM_RC" = 0
check "escaped process killed" grep -q "killing leftover process" "$WORK/escape.log"
check_nothing_left "$WORK/escape.log"

# --- kill -9 of jitsu-netvm leaves its namespace (no clean-up runs); the next start of
# the same name removes it, since no process is in it (issue 11 item 16) ---
start_netvm "$WORK/kill9.log" 0 --listen 80 -- "${HTTPD[@]}"
wait_until 10 grep -q "is up" "$WORK/kill9.log" || fail "kill -9 VM did not come up"
cmd=$(cmd_pid_of "$WORK/kill9.log")
kill -KILL "$NETVM_PID"; wait "$NETVM_PID" 2> /dev/null
[ -n "$cmd" ] && kill -KILL "$cmd" 2> /dev/null  # (its CMD, were it to outlive it)
wait_until 5 bash -c "! kill -0 ${cmd:-0} 2> /dev/null"
check "kill -9 left the namespace behind (the case under test)" bash -c "ip netns list | grep -qw '$VM_NAME'"
start_netvm "$WORK/restart.log" 0 --listen 80 -- "${HTTPD[@]}"
wait_until 10 grep -q "is up" "$WORK/restart.log"
check "same name starts again after kill -9" grep -q "is up" "$WORK/restart.log"
check "the stale namespace was removed, and said so" grep -q "removed stale network namespace" "$WORK/restart.log"
check "the restarted VM answers" test "$(curl_vm 5)" = 200
stop_netvm
check_nothing_left "$WORK/restart.log"
# A namespace of that name with a process in it is someone's: left alone, exit non-zero.
ip netns add "$VM_NAME"
ip netns exec "$VM_NAME" sleep 30 &
holder=$!
wait_until 5 bash -c "[ -n \"\$(ip netns pids '$VM_NAME')\" ]"
start_netvm "$WORK/busy.log" 0 --listen 80 -- "${HTTPD[@]}"
wait_netvm 10
check "a namespace in use is not taken (exit $NETVM_RC)" test "$NETVM_RC" != 0 -a "$NETVM_RC" != timeout
check "and is still there" bash -c "ip netns list | grep -qw '$VM_NAME'"
kill "$holder" 2> /dev/null; wait "$holder" 2> /dev/null
ip netns del "$VM_NAME"

# --- bad usage ---
"$JITSU_BIN/jitsu-netvm" --name x --bridge br0 --ip 10.0.0.10 --mac 02:00:00:00:00:0a -- true 2>"$WORK/usage.log"
rc=$?
check "bad --ip -> exit 2 ($rc)" test "$rc" = 2
check "bad --ip is explained" grep -q "IP/PREFIX expected" "$WORK/usage.log"
# Issue 11 item 16: arguments no VM can have are refused before anything is created.
while IFS='|' read -r what args; do
  # shellcheck disable=SC2086  # the arguments, split on purpose
  "$JITSU_BIN/jitsu-netvm" $args --bridge br0 --mac 02:00:00:00:00:0a -- true 2> "$WORK/usage.log"
  rc=$?
  check "$what -> exit 2 ($rc), one line" test "$rc" = 2 -a "$(wc -l < "$WORK/usage.log")" = 1
done << 'EOF_CASES'
name starting with '-'|--name -x --ip 10.0.0.10/24
name starting with '.'|--name .x --ip 10.0.0.10/24
multicast --ip|--name x --ip 224.0.0.1/24
broadcast --ip|--name x --ip 255.255.255.255/24
unspecified --ip|--name x --ip 0.0.0.0/24
loopback --ip|--name x --ip 127.0.0.5/8
IPv6 multicast --ip|--name x --ip ff02::1/64
/0 prefix|--name x --ip 10.0.0.10/0
IPv6 /0 prefix|--name x --ip fd00::10/0
--domid 0|--name x --ip 10.0.0.10/24 --domid 0
--domid beyond Xen's range|--name x --ip 10.0.0.10/24 --domid 40000
broadcast --gateway|--name x --ip 10.0.0.10/24 --gateway 255.255.255.255
EOF_CASES
"$JITSU_BIN/jitsu-netvm" --name "$VM_NAME" --bridge nobr --netns-of-bridge "$HOST_NS" --ip 10.0.0.10/24 \
    --mac 02:00:00:00:00:0a -- true 2>"$WORK/nobridge.log"
rc=$?
check "missing bridge -> exit 1 ($rc)" test "$rc" = 1
check "missing bridge is named" grep -q "no bridge 'nobr'" "$WORK/nobridge.log"
check_nothing_left "$WORK/nobridge.log"
finish
