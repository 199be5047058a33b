#!/usr/bin/env bash
# vm_libvirt: real QEMU guests (TCG) booted by DNS queries through jitsu-dns's libvirt
# backend and a private libvirtd, on the e2e topology (client -> router -> br0).
#
#   www  stop_mode=shutdown, ttl=3, no masking (response_delay 0):
#     a) the query creates a transient domain; the client resolves and connects at once,
#        its first SYN leaves before the guest is up, so it waits for a retransmission
#        (printed: connect time, retransmissions, boot-to-ready); GET / 200 with the
#        guest's body. The router keeps an ARP entry for the VM (keep_router_arp): the
#        lost-SYN case, not the router's ICMP host unreachable.
#     d) jitsu-dns killed -9 and restarted: the running domain is adopted (same QEMU
#        process, same domid, no second boot, state tree running)
#     b) idle stop: shutdown (the busybox guest ignores ACPI) falls back to destroy after
#        --stop-grace 1 s; `virsh list --all` holds no www domain
#   sus  stop_mode=suspend, ttl=2:
#     c) boot, connect; idle stop suspends it (domain paused, state tree suspended); the
#        next query resumes it (no second boot): resume-to-first-byte printed
#   end: jitsu-dns --stop-on-exit destroys the suspended domain: `virsh list --all` empty;
#        then nothing left behind (libvirtd, QEMU, taps, namespaces, processes).
# Every wait is bounded; a keepalive query loop keeps a slowly booting VM from idling out
# before the test is done with it.
E2E_TAG=vm
. "$(dirname "$(readlink -f "$0")")/lib.sh"
vm_require jitsu-xenstored jitsu-dns connect_latency_client jitsu-delayline

WWW=10.0.0.10
SUS=10.0.0.11
e2e_topology 1 1
e2e_start_xenstored
vm_start_libvirtd
e2e_start_dns --stop-grace 1 "$(guest_spec www $WWW ttl=3,stop_mode=shutdown)" \
  "$(guest_spec sus $SUS ttl=2,stop_mode=suspend)"
check "no domain before the first query" no_domains
keep_router_arp www $WWW
keep_router_arp sus $SUS
log "world up: topology $P, jitsu-xenstored, libvirtd, jitsu-dns (pid $DNS_PID, -x libvirt)"

# --- a) a query boots www; the client connects at once, unmasked ---
t0=$(now_ms)
client 1 www "$WORK/c1.out"
c1=$CLIENT_PID
wait_until 30 has_domain www || die "no domain for www 30 s after the query"
keepalive_start www
wait_until 60 guest_ready www || die "www's guest not ready 60 s after the query"
t_ready=$(($(now_ms) - t0))
clients_done "$c1"
cp "$WORK/c1.out" "$WORK/a.out"
boot=$(dns_said www | sed -nE 's/.*created transient libvirt domain \(type ([a-z]+)\) in ([0-9.]+) ms.*/\2 ms (type \1)/p' | head -n 1)
check "jitsu-dns created a transient domain" test -n "$boot"
retrans=$(field "$WORK/a.out" syn_retrans)
check "the client's first SYN left before the guest was up: it waited for a retransmission ($retrans)" \
  test "${retrans:-0}" -ge 1
body=$(ip netns exec "$P-c1" curl -s -m 5 "http://$WWW/" 2> /dev/null)
check "GET / answers the guest's body ($body)" test "$body" = "$P-www"
check "state tree: www running" test "$(vm_key www state)" = running
log "a) virDomainCreateXML: $boot; guest ready $t_ready ms after the query;" \
  "client: DNS $(field "$WORK/a.out" dns_ms) ms, connected at $(field "$WORK/a.out" connect_ms) ms" \
  "after $retrans SYN retransmission(s), first byte at $(field "$WORK/a.out" ttfb_ms) ms"

# --- d) a restarted jitsu-dns adopts the running domain ---
qemu_before=$(qemu_identity www)
domid_before=$(libvirtd_virsh domid "$P"www | sed '/^$/d')
check "www's QEMU process found ($qemu_before, domid $domid_before)" test -n "$qemu_before"
libvirtd_note_qemus
kill9 "$DNS_PID"
DNS_PID=""
lines_before=$(wc -l < "$WORK/jitsu-dns.log")
t1=$(now_ms)
e2e_start_dns
log "d) jitsu-dns killed -9 and restarted (pid $DNS_PID): answering after $(($(now_ms) - t1)) ms"
new_log() { tail -n +$((lines_before + 1)) "$WORK/jitsu-dns.log"; }
adopted() { new_log | grep -q "$P""www: already running.*adopted"; }
check "the new jitsu-dns adopted www" adopted
check "it booted nothing" test "$(new_log | grep -c 'booting on query')" = 0
check "same QEMU process" test "$(qemu_identity www)" = "$qemu_before"
check "same domid ($domid_before), state tree running" \
  test "$(vm_key www domid)/$(vm_key www state)" = "$domid_before/running"
check "the guest booted once (console: $(ready_count www) ready line)" test "$(ready_count www)" = 1
run_client www d
check "the adopted guest answers at once (no retransmission)" test "$(field "$WORK/d.out" syn_retrans)" = 0

# --- b) idle stop: shutdown, ignored by the guest, then destroy after the grace ---
keepalive_stop
t2=$(now_ms)
wait_until 30 no_domain www || fail "www still a domain 30 s after its last query"
log "b) www's domain gone $(($(now_ms) - t2)) ms after the last query (ttl 3: idle stop after 6 s)"
check "idle stop asked for a shutdown" said www 'stopping (shutdown, no query'
check "the guest ignored it: destroyed after --stop-grace" \
  grep -q "VM $P""www: still up 1000 ms after shutdown: destroying it" "$WORK/jitsu-dns.log"
check "virsh list --all: no www domain ($(domains | tr '\n' ' '))" no_domain www
check "state tree: www stopped" wait_until 3 vm_state_is www stopped

# --- c) suspend on idle, resume on the next query ---
client 1 sus "$WORK/c1.out"
c3=$CLIENT_PID
wait_until 30 has_domain sus || die "no domain for sus 30 s after the query"
keepalive_start sus
wait_until 60 guest_ready sus || die "sus's guest not ready 60 s after the query"
clients_done "$c3"
keepalive_stop
qemu_sus=$(qemu_identity sus)
libvirtd_note_qemus
wait_until 20 domain_paused sus || fail "sus not paused 20 s after its last query"
check "idle stop suspended sus (domain $(domain_state sus), state tree $(vm_key sus state))" \
  test "$(domain_state sus)/$(vm_key sus state)" = paused/suspended
suspend_ms=$(dns_said sus | sed -nE 's/.*suspended in ([0-9.]+) ms.*/\1/p' | tail -n 1)
run_client sus c
check "resumed, not rebooted: same QEMU process, one boot" \
  test "$(qemu_identity sus)/$(ready_count sus)" = "$qemu_sus/1"
check "state tree: sus running" test "$(vm_key sus state)" = running
check "no retransmission after the resume" test "$(field "$WORK/c.out" syn_retrans)" = 0
body=$(ip netns exec "$P-c1" curl -s -m 5 "http://$SUS/" 2> /dev/null)
check "GET / answers the resumed guest's body ($body)" test "$body" = "$P-sus"
resume_ms=$(dns_said sus | sed -nE 's/.*answers released ([0-9.]+) ms after the query \(resumed\).*/\1/p' | tail -n 1)
log "c) suspend took ${suspend_ms:-?} ms; resume on query: answer after ${resume_ms:-?} ms," \
  "resume-to-first-byte $(field "$WORK/c.out" ttfb_ms) ms (DNS $(field "$WORK/c.out" dns_ms) ms," \
  "connect $(field "$WORK/c.out" connect_ms) ms)"

# --- end: --stop-on-exit destroys what runs; no domain is left ---
stop_pid "$DNS_PID" 15
DNS_PID=""
check "jitsu-dns --stop-on-exit destroyed sus" said sus 'stopping (destroy, --stop-on-exit)'
check "virsh list --all is empty ($(domains | tr '\n' ' '))" no_domains
e2e_finish
