#!/usr/bin/env bash
# e2e_fault_xenstored: kill -9 jitsu-xenstored (--persist) while a use_synjitsu VM boots
# (boot delay 2.5 s) and a client connects; restart it on the same socket and file.
#
# Asserted: the committed state survived (the queued SYN record, /synjitsu/booting, the
# VM's state tree); synjitsu, jitsu-dns and jitsu-netvm reconnect by themselves (no
# restart of theirs); the VM reaches running and managed, its /synjitsu/booting entry is
# removed; client 1's connection completes and a second client connects; nothing left
# behind. Times are reported.
E2E_TAG=fxs
. "$(dirname "$(readlink -f "$0")")/lib.sh"
e2e_require jitsu-xenstored synjitsu jitsu-dns jitsu-netvm jitsu-httpd connect_latency_client jitsu-delayline

VM_IP=10.0.0.10
STORE=$WORK/xenstore.db
e2e_topology 2 2
e2e_start_xenstored --persist "$STORE"
e2e_start_synjitsu
e2e_start_dns -t 30 "$(vm_spec www $VM_IP synjitsu 2.5)"
sj_pid=$SJ_PID dns_pid=$DNS_PID
log "world up: topology $P, jitsu-xenstored --persist, synjitsu, jitsu-dns"

t0=$(now_ms)
client 1 www "$WORK/c1.out"
c1=$CLIENT_PID
wait_until 3 syn_queued $VM_IP || die "client 1's SYN was not queued"
managed $VM_IP && die "the VM was already up when jitsu-xenstored was to be killed (boot too fast?)"
vm_pid=$(netvm_pids www)
kill9 "$XSD_PID"
XSD_PID=""
log "killed -9 jitsu-xenstored at t=$(($(now_ms) - t0)) ms (VM booting, 1 SYN record queued)"
sleep 0.2
e2e_start_xenstored --persist "$STORE"
log "jitsu-xenstored restarted at t=$(($(now_ms) - t0)) ms"
# What the restarted daemon loaded (read before the VM can take the queue at t=2.5 s).
records=$(syn_records $VM_IP)
booting=$(xenstore-read "/synjitsu/booting/$(xs_ip $VM_IP)" 2> /dev/null || echo missing)
state=$(vm_key www state || echo missing)
if managed $VM_IP; then
  log "note: the VM was managed before the state could be read back; skipping the survival checks"
else
  check "the queued SYN record survived ($records)" test "$records" -ge 1
  check "/synjitsu/booting survived ($booting)" test "$booting" = 02:00:0a:00:00:0a
  check "the state tree survived (state $state)" test "$state" = running
fi

client 2 www "$WORK/c2.out"
c2=$CLIENT_PID
clients_done "$c1" "$c2"
no_booting_node() { ! booting_node "$1"; }
check "the VM is managed" wait_until 5 managed $VM_IP
check "/synjitsu/booting entry removed once managed" wait_until 5 no_booting_node $VM_IP
check "state tree: running" test "$(vm_key www state)" = running
check "synjitsu, jitsu-dns and jitsu-netvm still the same processes" \
  kill -0 "$sj_pid" "$dns_pid" "$vm_pid"
took=$(sed -nE 's/.*took ([0-9]+) queued SYN\(s\).*/\1/p' "$WORK/jitsu-dns.log" | head -1)
log "recovery: the VM took ${took:-no} queued SYN(s); client 1 connected in" \
  "$(field "$WORK/c1.out" connect_ms) ms ($(field "$WORK/c1.out" syn_retrans) SYN" \
  "retransmission(s)), client 2 in $(field "$WORK/c2.out" connect_ms) ms" \
  "($(field "$WORK/c2.out" syn_retrans) retransmission(s))"
log "reconnects: synjitsu: $(grep -c 'reconnected' "$WORK/synjitsu.log"), jitsu-dns+netvm log:" \
  "$(grep -ciE 'reconnect|xenstore' "$WORK/jitsu-dns.log") line(s) about Xenstore"

e2e_finish
