#!/usr/bin/env bash
# e2e_fault_synjitsu: kill -9 synjitsu while a use_synjitsu VM boots and a client
# connects, restart it; the connections still complete.
#
# Timeline (boot delay 2.5 s, so that a loaded machine still fits every step in the boot):
#   t=0     client 1 resolves www (answered at once), its SYN is queued by synjitsu #1
#   t~0.1   kill -9 synjitsu #1; restart after 0.2 s (#2 re-reads /synjitsu/booting)
#   t~0.5   client 2 resolves and connects: its SYN must be queued by synjitsu #2
#   t=1, 3  client 1's SYN retransmissions: one before the VM is up reaches #2, which
#           counts it on the existing record (no second record)
#   t=2.5   the VM takes both records and replays them
# Asserted: both clients connect and get 200; the VM took 2 queued SYNs (one written by
# each synjitsu); synjitsu #2 queued one; nothing left behind. Connect times and SYN
# retransmissions are reported (a 2.5 s boot costs the clients retransmissions: the
# point here is recovery, not latency).
E2E_TAG=fsj
. "$(dirname "$(readlink -f "$0")")/lib.sh"
e2e_require jitsu-xenstored synjitsu jitsu-dns jitsu-netvm jitsu-httpd connect_latency_client jitsu-delayline

VM_IP=10.0.0.10
e2e_topology 2 2
e2e_start_xenstored
e2e_start_synjitsu
e2e_start_dns -t 30 "$(vm_spec www $VM_IP synjitsu 2.5)"
log "world up: topology $P, jitsu-xenstored, synjitsu #1 (pid $SJ_PID), jitsu-dns"

t0=$(now_ms)
client 1 www "$WORK/c1.out"
c1=$CLIENT_PID
wait_until 3 syn_queued $VM_IP ||
  die "client 1's SYN was not queued by synjitsu #1"
managed $VM_IP && die "the VM was already up when synjitsu was to be killed (boot too fast?)"
kill9 "$SJ_PID"
log "killed -9 synjitsu #1 at t=$(($(now_ms) - t0)) ms (1 SYN record queued, VM booting)"
sleep 0.2
sj_lines=$(wc -l < "$WORK/synjitsu.log")
e2e_start_synjitsu
serving() { tail -n +$((sj_lines + 1)) "$WORK/synjitsu.log" | grep "serving $VM_IP at .*(booting)" > /dev/null; }
wait_until 3 serving || die "synjitsu #2 did not pick up the booting VM from /synjitsu/booting"
managed $VM_IP && die "machine too slow: the VM was up before synjitsu #2 served it"
log "synjitsu #2 (pid $SJ_PID) up at t=$(($(now_ms) - t0)) ms, serving $VM_IP again"
client 2 www "$WORK/c2.out"
c2=$CLIENT_PID
clients_done "$c1" "$c2"
took=$(sed -nE 's/.*took ([0-9]+) queued SYN\(s\).*/\1/p' "$WORK/jitsu-dns.log" | head -1)
check "the VM took 2 queued SYNs (${took:-none})" test "${took:-0}" = 2
wait_until 3 metric_at_least syns_queued_total 1
check "synjitsu #2 queued client 2's SYN (syns_queued_total $(metric syns_queued_total), xenstore_counts_updated_total $(metric xenstore_counts_updated_total))" \
  metric_at_least syns_queued_total 1
check "the VM is managed" managed $VM_IP
log "recovery: client 1 connected in $(field "$WORK/c1.out" connect_ms) ms" \
  "($(field "$WORK/c1.out" syn_retrans) SYN retransmission(s)), client 2 in" \
  "$(field "$WORK/c2.out" connect_ms) ms ($(field "$WORK/c2.out" syn_retrans)); synjitsu #2 counted" \
  "$(metric syns_deduplicated_total) retransmission(s) of client 1's record"

e2e_finish
