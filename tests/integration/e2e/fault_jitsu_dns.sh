#!/usr/bin/env bash
# e2e_fault_jitsu_dns: kill -9 jitsu-dns while the VM it booted for a client is still
# booting (use_synjitsu, boot delay 2.5 s), restart it with the same command line.
#
# Asserted: the VM is adopted, not booted twice (the same jitsu-netvm process before and
# after, one only; the new jitsu-dns logs no boot); the /synjitsu/booting entry is kept
# while the VM boots and removed once it is managed; a new query is answered and that
# client connects; the first client's connection completes; the state tree says running
# with the same domid; nothing left behind. Times are reported.
E2E_TAG=fdns
. "$(dirname "$(readlink -f "$0")")/lib.sh"
e2e_require jitsu-xenstored synjitsu jitsu-dns jitsu-netvm jitsu-httpd connect_latency_client jitsu-delayline

VM_IP=10.0.0.10
e2e_topology 2 2
e2e_start_xenstored
e2e_start_synjitsu
e2e_start_dns -t 30 "$(vm_spec www $VM_IP synjitsu 2.5)"
log "world up: topology $P, jitsu-xenstored, synjitsu, jitsu-dns #1 (pid $DNS_PID)"

t0=$(now_ms)
client 1 www "$WORK/c1.out"
c1=$CLIENT_PID
netvm_up() { [ -n "$(netvm_pids www)" ]; }
no_booting_node() { ! booting_node "$1"; }
wait_until 3 netvm_up || die "jitsu-dns #1 did not start the VM"
vm_pid=$(netvm_pids www)
wait_until 3 syn_queued $VM_IP || die "client 1's SYN was not queued"
domid_before=$(vm_key www domid)
managed $VM_IP && die "the VM was already up when jitsu-dns was to be killed (boot too fast?)"
boots_before=$(grep -c 'booting on query' "$WORK/jitsu-dns.log")
kill9 "$DNS_PID"
DNS_PID=""
log "killed -9 jitsu-dns #1 at t=$(($(now_ms) - t0)) ms (VM booting: jitsu-netvm pid $vm_pid, domid $domid_before)"
check "the VM's jitsu-netvm survived the kill" kill -0 "$vm_pid"
lines_before=$(wc -l < "$WORK/jitsu-dns.log")
e2e_start_dns
log "jitsu-dns #2 (pid $DNS_PID) answering at t=$(($(now_ms) - t0)) ms"
new_log() { tail -n +$((lines_before + 1)) "$WORK/jitsu-dns.log"; }
adopted() { new_log | grep "$P""www: already running.*adopted" > /dev/null; }
check "jitsu-dns #2 adopted the VM" adopted

client 2 www "$WORK/c2.out"
c2=$CLIENT_PID
clients_done "$c1" "$c2"
check "client 2's query (to jitsu-dns #2) was answered with $VM_IP" test "$(field "$WORK/c2.out" ip)" = $VM_IP
check "one jitsu-netvm for the VM, the same process ($(netvm_pids www | tr '\n' ' '))" \
  test "$(netvm_pids www)" = "$vm_pid"
check "jitsu-dns #2 booted nothing" test "$(new_log | grep -c 'booting on query')" = 0
check "jitsu-dns #1 booted once" test "$boots_before" = 1
check "the VM is managed" wait_until 3 managed $VM_IP
check "/synjitsu/booting entry removed once managed" wait_until 3 no_booting_node $VM_IP
check "state tree: running" test "$(vm_key www state)" = running
check "state tree: same domid ($domid_before)" test "$(vm_key www domid)" = "$domid_before"
log "recovery: client 1 connected in $(field "$WORK/c1.out" connect_ms) ms" \
  "($(field "$WORK/c1.out" syn_retrans) SYN retransmission(s)), client 2 (resolved by" \
  "jitsu-dns #2) in $(field "$WORK/c2.out" connect_ms) ms (DNS $(field "$WORK/c2.out" dns_ms) ms," \
  "$(field "$WORK/c2.out" syn_retrans) retransmission(s))"
log "jitsu-dns #2 said: $(new_log | grep -E "$P""www:" | sed -E 's/^[^ ]+ [^ ]+ //' | tr '\n' '|')"

e2e_finish
