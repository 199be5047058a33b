#!/bin/bash
# Acceptance of issue 4: a client's SYN to a booting VM is queued in Xenstore (as
# synjitsu would: captured on br0, written with the common/syn_queue encoder), then
# `jitsu-netvm --boot-delay 0.3 ... -- jitsu-httpd` boots the VM and replays it: the
# client's very first SYN is answered (no retransmission), GET / returns 200, and after
# SIGTERM nothing of the VM is left.
# Usage: netvm_replay_test.sh QUEUE_TOOL [strict|report]   (env JITSU_BIN, as ctest sets it)
# "report" (sanitizer builds, whose slow start-up races the client's 1 s RTO) prints the
# timing checks instead of asserting them.
QUEUE_TOOL=${1:?usage: $0 QUEUE_TOOL [strict|report]}
TIMING=${2:-strict}
. "$(dirname "$0")/lib.sh"

setup_topology || { fail "topology"; finish; }
start_xenstored || { fail "jitsu-xenstored did not start"; finish; }

# Capture on br0 in the host namespace. --immediate-mode: libpcap otherwise hands
# packets over in blocks, up to a second late — longer than the client's first RTO.
ip netns exec "$HOST_NS" tcpdump -i br0 --immediate-mode -U -n -w "$WORK/br0.pcap" tcp 2>"$WORK/tcpdump.log" &
TCPDUMP_PID=$!
PIDS+=("$TCPDUMP_PID")
wait_until 5 grep -q "listening on" "$WORK/tcpdump.log" || { fail "tcpdump did not start"; finish; }

# The client connects while nothing answers.
ip netns exec "$CLIENT_NS" /usr/bin/python3 "$(dirname "$0")/client.py" "$VM_IP" 80 5 \
    >"$WORK/client.out" 2>"$WORK/client.log" &
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")
t_syn=$(date +%s%N)

# synjitsu's part: the first SYN from the capture into Xenstore.
queued() { "$QUEUE_TOOL" --pcap "$WORK/br0.pcap" --dst "$VM_IP" --dport 80 >"$WORK/queue.out" 2>>"$WORK/queue.log"; }
if wait_until 3 queued; then
    log "queued after $((($(date +%s%N) - t_syn) / 1000000)) ms: $(cat "$WORK/queue.out")"
else
    fail "the client's SYN was not captured/queued"
    finish
fi
check "the SYN is in Xenstore" test -n "$(xs_read "/ip/10-0-0-10/80/10-0-0-2/$(grep -oE '10-0-0-2/[0-9]+' "$WORK/queue.out" | cut -d/ -f2)/syn/frame")"

# The VM boots.
start_netvm "$WORK/netvm.log" 0.3 --domid 7 --ready-key data/status --listen 80 -v -- \
    "$JITSU_BIN/jitsu-httpd" --port 80 --body "hello from the guest test"
wait_until 10 bash -c "! kill -0 $CLIENT_PID 2>/dev/null"
wait "$CLIENT_PID" 2>/dev/null
log "client: $(cat "$WORK/client.out")"
log "jitsu-netvm:"; sed 's/^/    /' "$WORK/netvm.log"

field() { /usr/bin/python3 -c "import json,sys; print(json.load(open('$WORK/client.out')).get('$1'))" 2>/dev/null; }
check "client connected" test "$(field connected)" = True
check "GET / returned 200" test "$(field status)" = 200
check "body served by jitsu-httpd" test "$(field body)" = "hello from the guest test"
timing_check() {
    if [ "$TIMING" = strict ]; then check "$@"; elif "${@:2}"; then log "ok: $1"; else log "REPORT (not asserted in this build): $1 does not hold"; fi
}
timing_check "no retransmission (tcpi_total_retrans = $(field total_retrans))" test "$(field total_retrans)" = 0
connect_ms=$(field connect_ms)
timing_check "connect time ${connect_ms} ms < 1000 ms (the initial RTO)" \
    /usr/bin/python3 -c "import sys; sys.exit(0 if float('$connect_ms') < 1000 else 1)"
check "the replay happened" grep -q "replayed 1 SYN" "$WORK/netvm.log"

kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null
syns=$(tcpdump -n -r "$WORK/br0.pcap" "src host $CLIENT_IP and dst host $VM_IP and dst port 80 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" 2>/dev/null | wc -l)
synacks=$(tcpdump -n -r "$WORK/br0.pcap" "src host $VM_IP and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)" 2>/dev/null | wc -l)
timing_check "br0 saw exactly one SYN from the client ($syns)" test "$syns" = 1
check "br0 saw a SYN/ACK from the VM ($synacks)" test "$synacks" -ge 1
timing_check "br0 saw exactly one SYN/ACK from the VM ($synacks)" test "$synacks" = 1

check "/ip/$VM_IP marked managed" test "$(xs_read /ip/10-0-0-10)" = managed
check "the queue is empty" test -z "$(xenstore-list /ip/10-0-0-10 2>/dev/null)"
check "ready key written" test "$(xs_read /local/domain/7/data/status)" = ready

stop_netvm
check "jitsu-netvm exited 0 on SIGTERM ($NETVM_RC)" test "$NETVM_RC" = 0
check_nothing_left "$WORK/netvm.log"
check "ready key removed" bash -c "! xenstore-read /local/domain/7/data/status >/dev/null 2>&1"
check "/ip/$VM_IP removed (the next boot is unmanaged)" bash -c "! xenstore-read /ip/10-0-0-10 >/dev/null 2>&1"
finish
