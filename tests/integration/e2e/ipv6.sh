#!/usr/bin/env bash
# e2e_ipv6: IPv6 end to end, on the e2e topology's IPv6 plane (TOPO_IPV6=1): a client
# resolves AAAA over IPv6 from jitsu-dns, which boots an IPv6-only use_synjitsu VM
# (jitsu-netvm, netns backend) and answers at once; the client's SYN reaches br0 while
# the VM boots, synjitsu answers the router's Neighbour Solicitation and queues the SYN,
# the VM replays it and the connection completes.
#
#   c1 fd00:b::11 -> router (fd00:b::1 | fd00:a::fe) -> br0 fd00:a::1: jitsu-dns (:53),
#   synjitsu; VMs fd00:a::10 (boot 0.3 s, gateway fe80::fe) and fd00:a::11 (boot 0.6 s,
#   gateway fd00:a::fe)
#
# The boots stay under the client's initial SYN retransmission timeout (1 s): a SYN queued
# longer than that is retransmitted whatever synjitsu does (measured, 1.2 s boot: 2 SYNs
# with synjitsu too). Without synjitsu this topology's router holds the client's SYN in
# its neighbour queue (its NS for the VM unanswered) and sends it when the VM's own NA
# arrives, so a boot under 1 s costs no retransmission there either (measured: 0.5 s
# boot, one SYN, connected in 0.44 s; 1.2 s boot, 2 SYNs); what fails without synjitsu
# is the queue, the replay, the NS answer and the announcements.
#
# Asserted, for each VM: the AAAA answer; synjitsu queued the SYN and the VM took and
# replayed it; the client sent exactly one SYN (capture on its eth0), the connection
# completed and GET / returned the VM's body; synjitsu sent unsolicited NAs and answered
# the router's NS, every NA from the VM's MAC well formed (capture on br0, outgoing
# only = what synjitsu injected, decoded by check_na.py). Nothing left behind.
E2E_TAG=v6
. "$(dirname "$(readlink -f "$0")")/lib.sh"
e2e_require jitsu-xenstored synjitsu jitsu-dns jitsu-netvm jitsu-httpd jitsu-delayline
for t in curl /usr/bin/python3; do
  command -v $t > /dev/null || { echo "[$E2E_TAG] FAIL: '$t' missing (scripts/install-deps)"; exit 1; }
done
HERE=$(dirname "$(readlink -f "$0")")

# shellcheck disable=SC2034  # read by topology.sh (topo_up)
TOPO_IPV6=1
E2E_DNS_BIND=$TOPO_HOST_IP6
# name|IPv6 address|boot seconds|gateway (the router's link-local address, as IPv6
# routers are usually known, and its global one)
VMS=("short|fd00:a::10|0.3|$TOPO_GATEWAY6_LL" "long|fd00:a::11|0.6|$TOPO_GATEWAY6")
e2e_topology 1 1
e2e_start_xenstored
e2e_start_synjitsu
specs=()
for v in "${VMS[@]}"; do
  IFS='|' read -r name ip boot gw <<< "$v"
  specs+=("$(E2E_VM_GATEWAY6=$gw vm_spec "$name" "$ip" synjitsu "$boot")")
done
e2e_start_dns -t 30 "${specs[@]}"
log "world up: topology $P (IPv6 plane), jitsu-xenstored, synjitsu, jitsu-dns on [$E2E_DNS_BIND]:53"

# capture NS IFACE OUT [tcpdump args]: a bounded-size capture in the background, ready
# (its "listening on" line printed) before this returns.
capture() {
  local ns=$1 dev=$2 out=$3 i; shift 3
  ip netns exec "$ns" tcpdump -i "$dev" -n --immediate-mode -U -s 256 -c 2000 -w "$out" "$@" 2> "$out.log" &
  EXTRA_PIDS+=("$!")
  for ((i = 0; i < 250; i++)); do
    grep -q 'listening on' "$out.log" 2> /dev/null && return 0
    kill -0 $! 2> /dev/null || break
    sleep 0.02
  done
  die "tcpdump on $ns:$dev did not start: $(cat "$out.log")"
}
capture "$P-c1" eth0 "$WORK/client.pcap" ip6 and tcp
capture "$HOST_NS" br0 "$WORK/br0-out.pcap" -Q out icmp6
CAPTURES=("${EXTRA_PIDS[@]}")

vm_mac() { printf '02:00:fd:00:00:%02x' $((16#${1##*:})); }
# In the client's capture (no extension headers on this path: the TCP header starts at
# ip6[40], its flags at ip6[53]): SYNs (SYN set, ACK clear) from the client to IP, and
# the client's ACKs of IP's FIN (the last frame of a completed GET).
client_syns() {
  tcpdump -r "$WORK/client.pcap" -n "ip6 dst $1 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02" \
    2> /dev/null | wc -l
}
client_closed() {
  [ "$(tcpdump -r "$WORK/client.pcap" -n "ip6 src $1 and ip6[6] == 6 and ip6[53] & 0x01 == 0x01" \
    2> /dev/null | wc -l)" -ge 1 ]
}
took_of() {  # the "took N queued SYN(s)" count jitsu-netvm logged for IP
  grep -F "/ip/$(xs_ip "$1") managed" "$WORK/jitsu-dns.log" |
    sed -nE 's/.*took ([0-9]+) queued SYN\(s\).*/\1/p' | head -1
}

for v in "${VMS[@]}"; do
  IFS='|' read -r name ip boot gw <<< "$v"
  log "--- VM $name: $ip, boot delay $boot s, gateway $gw"
  t0=$(now_ms)
  answer=$(ip netns exec "$P-c1" dig +tries=1 +time=3 +short AAAA "$name.$E2E_DNS_NAME_SUFFIX" \
    @"$E2E_DNS_BIND" 2> /dev/null)
  t_dns=$(($(now_ms) - t0))
  check "AAAA $name.$E2E_DNS_NAME_SUFFIX over IPv6 = $ip (got '${answer//$'\n'/ }', $t_dns ms)" \
    test "$answer" = "$ip"
  # The VM must still be booting when the SYN leaves (else nothing is masked).
  managed "$ip" && die "the VM $name was up before its client connected (machine too slow?)"
  ip netns exec "$P-c1" curl -g -sS --noproxy '*' --max-time 5 -o "$WORK/$name.body" \
    -w '%{http_code} %{time_connect}\n' "http://[$ip]/" > "$WORK/$name.curl" 2>> "$WORK/client.log"
  read -r code connect_s < "$WORK/$name.curl"
  log "client: HTTP ${code:-none}, connected after ${connect_s:-?} s, body '$(cat "$WORK/$name.body" 2> /dev/null)'"
  check "GET / over IPv6 returned 200 and the VM's body" \
    test "${code:-}/$(cat "$WORK/$name.body" 2> /dev/null)" = "200/$P-$name"
  wait_until 3 managed "$ip"
  took=$(took_of "$ip")
  check "the VM took and replayed 1 queued SYN (took ${took:-none})" test "${took:-0}" = 1
done

# The captures are read once they hold the end of every connection (bounded).
for v in "${VMS[@]}"; do
  IFS='|' read -r _ ip _ <<< "$v"
  wait_until 3 client_closed "$ip" || fail "the client's capture has no FIN from $ip"
done
stop_pid "${CAPTURES[0]}" 3
stop_pid "${CAPTURES[1]}" 3
for v in "${VMS[@]}"; do
  IFS='|' read -r _ ip _ <<< "$v"
  n=$(client_syns "$ip")
  check "the client sent exactly one SYN to $ip ($n in its capture)" test "$n" = 1
  na=$(/usr/bin/python3 "$HERE/check_na.py" "$WORK/br0-out.pcap" "$ip" "$(vm_mac "$ip")" 2>&1)
  rc=$?
  log "NAs from synjitsu for $ip: ${na//$'\n'/; }"
  check "every NA synjitsu sent for $ip is well formed" test $rc = 0
  check "synjitsu announced $ip (unsolicited NA) and answered the router's NS (solicited NA)" \
    grep -qE '^unsolicited=[1-9][0-9]* solicited=[1-9][0-9]* ' <<< "$na"
done
# The metrics file is rewritten every second: wait (bounded) for the counts to show.
wait_until 3 metric_is syns_queued_total 2
wait_until 3 metric_at_least neighbor_solicitations_answered_total 2
check "synjitsu queued 2 SYNs (syns_queued_total $(metric syns_queued_total))" \
  metric_is syns_queued_total 2
check "synjitsu answered >= 2 neighbour solicitations ($(metric neighbor_solicitations_answered_total))" \
  metric_at_least neighbor_solicitations_answered_total 2

e2e_finish
