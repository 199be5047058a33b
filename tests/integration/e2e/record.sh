#!/usr/bin/env bash
# Re-records the captures of pcaps/e2e from real runs of the whole system, and rewrites
# their expected synjitsu outcome. Not run by CI (the recordings are committed; CI
# replays them: e2e_pcap_replay_offline, e2e_pcap_replay_live). Needs root and the
# binaries of a build:
#
#   JITSU_BIN=build/bin tests/integration/e2e/record.sh [--out DIR]   (default pcaps/e2e)
#
# Each run builds the topology (scripts/lib/topology.sh), starts jitsu-xenstored,
# synjitsu on br0 and jitsu-dns (netns backend, --synjitsu) with one use_synjitsu VM
# (www.e2e.test = 10.0.0.10, MAC 02:00:0a:00:00:0a, jitsu-httpd behind a boot delay),
# and captures on br0 in the host namespace what synjitsu itself sees: frames coming IN
# to the bridge (tcpdump -Q in: synjitsu's own ARP replies and announcements are not in
# the input, as live), filtered to DNS, ARP and TCP of the VM. Runs:
#
#   synjitsu_one_client     boot 0.3 s, one client: DNS query, ARP, SYN (queued), the
#                           VM's replayed SYN/ACK, its gratuitous ARP, the HTTP exchange
#   synjitsu_two_clients    boot 1.5 s, two clients at once: each SYN is retransmitted
#                           after 1 s (counted on its record), both replayed at 1.5 s
#
# Each capture is checked (the frames the story needs are there, < 50 KB) and recorded
# again if not (at most 3 tries); then NAME.args (--booting IP=MAC, what jitsu-dns wrote
# to /synjitsu/booting) is written and tests/integration/synjitsu/replay_offline.sh
# --update DIR writes NAME.queue / NAME.out.pcap / NAME.metrics. Review the diff.
E2E_TAG=rec
. "$(dirname "$(readlink -f "$0")")/lib.sh"
out=$E2E_SRC/pcaps/e2e
while [ $# -gt 0 ]; do
  case $1 in
    --out) [ $# -ge 2 ] || { echo "record: --out needs a value" >&2; exit 2; }; out=$2; shift 2 ;;
    -h | --help) sed -n '2,28s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "record: unknown option '$1'" >&2; exit 2 ;;
  esac
done
e2e_require jitsu-xenstored synjitsu jitsu-dns jitsu-netvm jitsu-httpd connect_latency_client jitsu-delayline
command -v tcpreplay > /dev/null || die "tcpreplay missing (scripts/install-deps)"
mkdir -p "$out"
out=$(cd "$out" && pwd)

VM_IP=10.0.0.10
VM_MAC=02:00:0a:00:00:0a
TD_PID=""

# record NAME BOOT_S CLIENTS: one run into $out/NAME.pcap.
record() {
  local name=$1 boot=$2 clients=$3 i pids=()
  e2e_topology "$clients" 2
  e2e_start_xenstored
  e2e_start_synjitsu
  e2e_start_dns -t 30 "$(vm_spec www $VM_IP synjitsu "$boot")"
  nsenter --net="/run/netns/$HOST_NS" tcpdump -i br0 -Q in --immediate-mode -s 0 -U -w "$WORK/$name.pcap" \
    "arp or udp port 53 or (tcp and host $VM_IP)" 2> "$WORK/tcpdump.log" &
  TD_PID=$!
  EXTRA_PIDS+=("$TD_PID")
  wait_until 5 grep -q 'listening on' "$WORK/tcpdump.log" || die "tcpdump did not start"
  for ((i = 1; i <= clients; i++)); do
    client "$i" www "$WORK/c$i.out"
    pids+=("$CLIENT_PID")
  done
  for i in "${pids[@]}"; do wait "$i"; done
  for ((i = 1; i <= clients; i++)); do log "$name client $i: $(cat "$WORK/c$i.out")"; done
  sleep 0.3  # the last FIN/ACKs
  stop_pid "$TD_PID" 5
  cp "$WORK/$name.pcap" "$out/$name.pcap.new"
  local took
  took=$(sed -nE 's/.*took ([0-9]+) queued SYN\(s\).*/\1/p' "$WORK/jitsu-dns.log" | head -1)
  log "$name: the VM took ${took:-no} queued SYN(s)"
  e2e_cleanup
  WORK=$(mktemp -d "/tmp/jitsu-e2e-$P.XXXXXX")
  XENSTORED_PATH=$WORK/xenstored.sock
}

# check_capture NAME CLIENTS RETRANSMISSIONS: the frames the story needs are all there.
check_capture() {
  local f=$out/$1.pcap.new n
  local dump
  dump=$(tcpdump -nn -e -r "$f" 2> /dev/null)
  n=$(grep -c "> $VM_IP.80: Flags \[S\]" <<< "$dump")
  [ "$n" = $(($2 * (1 + $3))) ] || { log "$1: $n SYN(s), expected $(($2 * (1 + $3)))"; return 1; }
  n=$(grep -c "$VM_IP.80 > .*Flags \[S\.\]" <<< "$dump")
  [ "$n" -ge "$2" ] || { log "$1: $n SYN/ACK(s) from the VM"; return 1; }
  grep -q "^.* $VM_MAC > ff:ff:ff:ff:ff:ff, .*who-has $VM_IP tell $VM_IP" <<< "$dump" ||
    { log "$1: no gratuitous ARP from the VM"; return 1; }
  grep -q "Request who-has $VM_IP tell $TOPO_GATEWAY" <<< "$dump" ||
    { log "$1: no ARP request from the router"; return 1; }
  grep -q "A? www.$E2E_DNS_NAME_SUFFIX" <<< "$dump" || { log "$1: no DNS query"; return 1; }
  [ "$(stat -c %s "$f")" -lt 51200 ] || { log "$1: over 50 KB"; return 1; }
}

runs=("synjitsu_one_client 0.3 1 0" "synjitsu_two_clients 1.5 2 1")
for r in "${runs[@]}"; do
  read -r name boot clients retrans <<< "$r"
  ok=0
  for try in 1 2 3; do
    log "recording $name (boot $boot s, $clients client(s)), try $try"
    record "$name" "$boot" "$clients"
    if check_capture "$name" "$clients" "$retrans"; then ok=1; break; fi
  done
  [ $ok = 1 ] || die "$name: no good capture in 3 tries"
  mv "$out/$name.pcap.new" "$out/$name.pcap"
  echo "--booting $VM_IP=$VM_MAC" > "$out/$name.args"
  log "$name: $(tcpdump -r "$out/$name.pcap" 2> /dev/null | wc -l) frames, $(stat -c %s "$out/$name.pcap") bytes"
done

"$E2E_SRC/tests/integration/synjitsu/replay_offline.sh" --update "$out" ||
  die "replay_offline.sh --update failed"
for r in "${runs[@]}"; do
  read -r name boot clients retrans <<< "$r"
  log "$name expected queue:"
  cut -d' ' -f1-5 "$out/$name.queue" | sed 's/^/    /'
  check "$name: $clients record(s) queued" test "$(wc -l < "$out/$name.queue")" = "$clients"
  check "$name: every record counted $((1 + retrans)) SYN(s)" \
    test "$(grep -c " count=$((1 + retrans)) " "$out/$name.queue")" = "$clients"
  check "$name: synjitsu saw the VM announce itself" grep -q '^vms_announced_up_total 1$' "$out/$name.metrics"
done
e2e_finish
