#!/usr/bin/env bash
# vm_libvirt_masking: the two masking modes meant for real guests whose stack knows
# nothing of Xenstore, with QEMU guests (TCG) through jitsu-dns's libvirt backend, a
# private libvirtd and synjitsu on br0 (issue 10, contracts C3/C4):
#
#   rep  use_synjitsu=1,replay=host: the client's SYN is queued by synjitsu while the guest
#        boots; synjitsu probes the guest's port 80 and, once it accepts, injects the
#        queued SYN. Asserted from a capture on br0: synjitsu injects a queued SYN after the
#        first SYN-ACK the guest sent to its probe (the delay printed), the client's connection is
#        established (its ACK of the guest's SYN-ACK) and the client sent no new SYN after
#        the probe success (0 extra retransmissions); GET / 200 from the guest's own
#        kernel; synjitsu's probes never completed a handshake with the guest (they are
#        half-open: no ACK or FIN from the host to its port 80, so httpd never accepts or
#        forks for one). Printed: probe success -> established, split into synjitsu's
#        injection, the guest's SYN-ACK and the client's ACK. The end-to-end 20 ms of
#        issue 10 is reported, not asserted: it is the TCG guest's and the host
#        scheduler's. With half-open probes, measured here: 3.2-19.8 ms, median 7.2, at
#        load 2.5-5.3 (7 runs); 13-71 ms, median 39, at load 11-15 (12 runs). With the
#        full-handshake probes before: 15-32 ms, median 22, at load 2.6-7 (6 runs);
#        41-149 ms at load 11.9-15 (8 runs) and one run whose client SYN the guest
#        dropped (its accept queue full of probe connections; median of the 9: 69.5). See
#        guest/images/README.md, "Network start-up".
#   wfp  wait_for_port=80: the DNS answer is held until the guest accepts on port 80.
#        Asserted: jitsu-dns's probe got a SYN-ACK before the client's first SYN, and the
#        client connected without any retransmission.
#
# Needs the VMSPEC keys replay= and wait_for_port= (helpers "hostreplay" and "dnsmodes"):
# until jitsu-dns accepts them, the test is skipped (exit 77).
E2E_TAG=vmm
. "$(dirname "$(readlink -f "$0")")/lib.sh"
vm_require jitsu-xenstored synjitsu jitsu-dns connect_latency_client jitsu-delayline
command -v tcpdump > /dev/null || { echo "[$E2E_TAG] FAIL: tcpdump missing"; exit 1; }

REP=10.0.0.12
WFP=10.0.0.13
SPECS=("$(guest_spec rep $REP ttl=30,use_synjitsu=1,replay=host,port=80)"
  "$(guest_spec wfp $WFP ttl=30,wait_for_port=80,wait_timeout=60)")
# The gate: jitsu-dns parses the catalog before anything else (bad VMSPEC: exit 2; then
# no Xenstore at a path that does not exist: exit 3).
timeout 10 "$JITSU_BIN/jitsu-dns" -x libvirt -c test:///default --synjitsu -f 0.0.0.0 -l 0 \
  --xenstore "$WORK/no-xenstore" "${SPECS[@]}" > "$WORK/gate.log" 2>&1
gate=$?
if [ $gate = 2 ]; then
  log "SKIP: this jitsu-dns does not accept replay= / wait_for_port= yet: $(tail -n 1 "$WORK/gate.log")"
  e2e_cleanup
  exit 77
fi

e2e_topology 1 1
e2e_start_xenstored
e2e_start_synjitsu
vm_start_libvirtd
e2e_start_dns "${SPECS[@]}"
log "world up: topology $P, jitsu-xenstored, synjitsu, libvirtd, jitsu-dns (pid $DNS_PID)"

# capture_start / capture_stop: TCP port 80 and ARP on br0, timestamps from the capture
# (--immediate-mode: no packet waits in a ring block that SIGTERM would drop).
CAP_PID=""
capture_start() {
  ip netns exec "$HOST_NS" tcpdump -i "$TOPO_BRIDGE" -n --immediate-mode -U \
    -w "$WORK/$1.pcap" tcp port 80 or arp 2> "$WORK/tcpdump-$1.log" &
  CAP_PID=$!
  EXTRA_PIDS+=("$CAP_PID")
  cap_listening() { grep -q 'listening on' "$WORK/tcpdump-$1.log"; }
  wait_until 5 cap_listening "$1" || die "tcpdump did not start"
}
capture_stop() { sleep 0.2; stop_pid "$CAP_PID" 3; CAP_PID=""; }
# first_time PCAP AWK-CONDITION: the time (s, 6 decimals) of the first matching packet;
# fields of a TCP line: $1 time, $3 source, $5 destination (with ':'), flags after "Flags".
first_time() {
  tcpdump -r "$WORK/$1.pcap" -n -tt 2> /dev/null | awk "$2 { print \$1; exit }"
}
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
client_ip=$(topo_client_ip 1)

# --- rep: synjitsu host replay ---
capture_start rep
client 1 rep "$WORK/c1.out"
c1=$CLIENT_PID
wait_until 30 has_domain rep || die "no domain for rep 30 s after the query"
libvirtd_note_qemus
keepalive_start rep
wait_until 60 guest_ready rep || die "rep's guest not ready 60 s after the query"
clients_done "$c1"
cp "$WORK/c1.out" "$WORK/rep.out"
keepalive_stop
capture_stop
probe_ok=$(first_time rep "\$3 ~ /^$REP\\.80\$/ && \$5 ~ /^$TOPO_HOST_IP\\./ && /Flags \\[S\\.\\]/")
established=$(first_time rep "\$3 ~ /^$client_ip\\./ && \$5 == \"$REP.80:\" && /Flags \\[\\.\\]/")
synack=$(first_time rep "\$3 == \"$REP.80\" && \$5 ~ /^$client_ip\\./ && /Flags \\[S\\.\\]/")
# E2E_KEEP=DIR keeps the capture too (e2e_cleanup keeps the logs).
[ -z "${E2E_KEEP:-}" ] || { mkdir -p "$E2E_KEEP" && cp "$WORK/rep.pcap" "$E2E_KEEP/"; }
check "synjitsu's probe got a SYN-ACK from the guest" test -n "$probe_ok"
check "the client's connection was established" test -n "$established"
# The client's SYNs after the probe success: synjitsu's injected copies of queued SYNs
# carry the TCP timestamp of a SYN seen before; a client retransmission a new one.
# Prints "INJECTED_TIME RETRANSMISSIONS".
after_probe() {
  tcpdump -r "$WORK/rep.pcap" -n -tt 2> /dev/null | awk -v t="$probe_ok" -v c="$client_ip" '
    index($3, c ".") == 1 && /Flags \[S\]/ {
      ts = $0; sub(/.*TS val /, "", ts); sub(/ .*/, "", ts)
      if ($1 <= t) seen[ts] = 1
      else if (ts in seen) { if (inj == "") inj = $1 } else n++
    }
    END { print (inj == "" ? "-" : inj), n + 0 }'
}
if [ -n "$probe_ok" ] && [ -n "$established" ]; then
  read -r injected late <<< "$(after_probe)"
  check "synjitsu injected a queued SYN after its probe success" test "$injected" != -
  [ "$injected" = - ] && injected=$probe_ok
  inject_ms=$(ms_between "$probe_ok" "$injected")
  delta=$(ms_between "$probe_ok" "$established")
  answer_ms=$(ms_between "$injected" "$established")
  synack_ms=$(ms_between "$injected" "${synack:-$established}")
  ack_ms=$(ms_between "${synack:-$established}" "$established")
  # Asserted: the injection follows the probe success (its delay is printed, not bounded:
  # a time bound here failed 3 of 34 runs under load, when synjitsu's Xenstore take
  # waited for a core; the bench measures it).
  check "synjitsu injected it after its probe success (${inject_ms} ms)" \
    awk -v d="$inject_ms" 'BEGIN { exit !(d >= 0) }'
  check "no client retransmission after the probe success (0 extra; $late seen)" test "$late" = 0
  # The guest resolved its gateway before it went live (guest/images/init): its SYN-ACK
  # to the client waits for no ARP round trip.
  # (tcpdump prints the target MAC of a request when it is not zero: arping's.)
  gw_arps=$(tcpdump -r "$WORK/rep.pcap" -n -tt arp 2> /dev/null | awk -v t="$probe_ok" \
    -v gw="$TOPO_GATEWAY" -v vm="$REP" '$1 > t && $0 ~ ("who-has " gw " (\\([0-9a-f:]+\\) )?tell " vm ",") { n++ }
      END { print n + 0 }')
  check "the guest did not ARP for its gateway after the probe success ($gw_arps)" test "$gw_arps" = 0
  # synjitsu's probes are half-open (synjitsu/include/synjitsu/tcp_prober.h): the host
  # answers the guest's SYN-ACK with a RST, never an ACK or FIN, so the guest's httpd never
  # accepts (and forks for) a probe connection.
  probe_handshakes=$(tcpdump -r "$WORK/rep.pcap" -n 2> /dev/null | awk -v h="$TOPO_HOST_IP." \
    -v d="$REP.80:" 'index($3, h) == 1 && $5 == d && !/Flags \[S\]/ && !/Flags \[R/ { n++ }
      END { print n + 0 }')
  check "no probe completed a handshake with the guest ($probe_handshakes ACK/FIN from the host)" \
    test "$probe_handshakes" = 0
  # End to end the bound is the guest's: a TCG guest on a loaded 2-core host takes tens
  # of ms to answer (see the header).
  log "established ${delta} ms after the probe success: injection ${inject_ms} ms, the" \
    "guest's SYN-ACK and the client's ACK ${answer_ms} ms (SYN-ACK ${synack_ms} ms after" \
    "the injection, the client's ACK ${ack_ms} ms after it) (issue 10's target: 20 ms)"
fi
body=$(ip netns exec "$P-c1" curl -s -m 5 "http://$REP/" 2> /dev/null)
check "GET / answers the guest's body ($body)" test "$body" = "$P-rep"
log "rep: client connected at $(field "$WORK/rep.out" connect_ms) ms after" \
  "$(field "$WORK/rep.out" syn_retrans) SYN retransmission(s) (the boot's), first byte" \
  "$(field "$WORK/rep.out" ttfb_ms) ms; established ${delta:-?} ms after the probe success"

# --- wfp: the answer waits for the guest's port ---
# The DNS answer waits for the whole boot: up to 30 s (the client's default is 10 s,
# which a TCG boot on a loaded host exceeds).
capture_start wfp
# The answer is held for the whole boot: a TCG boot on a loaded 2-core host took 10.2 s
# (past the client's default 10 s DNS wait), so it waits as long as its whole run.
client 1 wfp "$WORK/c1.out" --dns-timeout "$E2E_CLIENT_TIMEOUT"
c2=$CLIENT_PID
wait_until 30 has_domain wfp && libvirtd_note_qemus
wait_until 60 guest_ready wfp || die "wfp's guest not ready 60 s after the query"
clients_done "$c2"
cp "$WORK/c1.out" "$WORK/wfp.out"
capture_stop
listening=$(first_time wfp "\$3 ~ /^$WFP\\.80\$/ && \$5 ~ /^$TOPO_HOST_IP\\./ && /Flags \\[S\\.\\]/")
first_syn=$(first_time wfp "\$3 ~ /^$client_ip\\./ && \$5 == \"$WFP.80:\" && /Flags \\[S\\]/")
check "jitsu-dns's probe saw the guest listen" test -n "$listening"
check "the client's first SYN came after that ($(ms_between "${listening:-0}" "${first_syn:-0}") ms)" \
  awk -v a="$listening" -v b="$first_syn" 'BEGIN { exit !(a != "" && b != "" && b >= a) }'
check "no retransmission" test "$(field "$WORK/wfp.out" syn_retrans)" = 0
log "wfp: DNS answer after $(field "$WORK/wfp.out" dns_ms) ms (the boot), connected" \
  "$(field "$WORK/wfp.out" tcp_ms) ms later, first byte at $(field "$WORK/wfp.out" ttfb_ms) ms"

stop_pid "$DNS_PID" 15
DNS_PID=""
check "virsh list --all is empty ($(domains | tr '\n' ' '))" no_domains
e2e_finish
