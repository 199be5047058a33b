#!/usr/bin/env bash
# synjitsu live on a bridge, in network namespaces this script creates and removes
# (also on failure or Ctrl-C). Nothing touches the machine's real interfaces.
#
#   sj-h-<pid>  host: br0, jitsu-xenstored's client side, synjitsu on br0
#   sj-c-<pid>  client 10.0.0.2/24 (veth to br0)
#   sj-r-<pid>  replay: tcpreplay injects pcaps/synjitsu captures into br0
#
# Checks: the client's ARP resolves to the booting VM's MAC; a real connect() leaves
# its SYNs in Xenstore with the right fields; once /ip/<ip> = managed, an ARP request
# gets no reply (checked with a capture); the captures replayed into the bridge give
# the Xenstore records their expected outcome (.queue) lists.
#
#   live_netns.sh       all of the above, replaying five captures of pcaps/synjitsu
#   live_netns.sh DIR   only the replay, of every capture in DIR, at its recorded pace
#                       (DIR = pcaps/e2e: recorded runs, where the VM's own announcement
#                       follows the SYNs and must reach synjitsu after them, as it did)
set -euo pipefail

bin=${JITSU_BIN:?JITSU_BIN not set}
src=${JITSU_SOURCE_DIR:?JITSU_SOURCE_DIR not set}
py=/usr/bin/python3
for tool in ip tcpdump tcpreplay xenstore-write xenstore-read xenstore-ls; do
  command -v $tool > /dev/null || { echo "SKIP: $tool missing (scripts/install-deps)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 0; }

replay_dir=$src/pcaps/synjitsu
replay_names=(single_syn retransmitted_syn several_clients ipv6_syn_ns not_booting)
replay_pace=(--topspeed)
full=1
if [ $# -ge 1 ]; then
  replay_dir=$1; replay_names=(); replay_pace=(); full=0
  for pcap in "$replay_dir"/*.pcap; do
    case $pcap in *.out.pcap | "$replay_dir/*.pcap") continue ;; esac
    replay_names+=("$(basename "$pcap" .pcap)")
  done
  [ ${#replay_names[@]} -ge 1 ] || { echo "FAIL: no captures in $replay_dir"; exit 1; }
fi

H=sj-h-$$; C=sj-c-$$; R=sj-r-$$
VM_IP=10.0.0.10; VM_MAC=02:00:00:00:00:10; CLIENT_MAC=02:00:00:00:0c:02
tmp=$(mktemp -d /tmp/sj-live.XXXXXX)
pids=()

cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
  for ns in $H $C $R; do ip netns del $ns 2> /dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*"; [ -f "$tmp/synjitsu.log" ] && tail -20 "$tmp/synjitsu.log"; exit 1; }
# wait_for SECONDS CMD...: polls every 50 ms.
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.05; done
}
metric() { awk -v n="synjitsu_$1" '$1 == n { print $2 }' "$tmp/metrics.prom" 2> /dev/null; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
xs_path() { $py -c 'import ipaddress,sys; a=ipaddress.ip_address(sys.argv[1]); print(str(a).replace(".","-") if a.version==4 else a.exploded.replace(":","-"))' "$1"; }

# --- topology ---
ip netns add $H; ip netns add $C; ip netns add $R
ip -n $H link set lo up
ip -n $H link add br0 type bridge
ip -n $H link set br0 up
ip -n $H link add c0 type veth peer name eth0 netns $C
ip -n $H link add r0 type veth peer name eth0 netns $R
for p in c0 r0; do ip -n $H link set $p master br0; ip -n $H link set $p up; done
ip -n $C link set lo up
ip -n $C link set eth0 address $CLIENT_MAC
ip -n $C addr add 10.0.0.2/24 dev eth0
ip -n $C link set eth0 up
ip -n $R link set eth0 up
for ns in $H $C $R; do ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true; done

# --- Xenstore + synjitsu ---
export XENSTORED_PATH=$tmp/xenstored.sock
"$bin/jitsu-xenstored" --socket "$XENSTORED_PATH" 2> "$tmp/xenstored.log" &
pids+=($!)
wait_for 5 test -S "$XENSTORED_PATH" || fail "jitsu-xenstored did not start"
[ $full = 1 ] && xenstore-write "/synjitsu/booting/$(xs_path $VM_IP)" $VM_MAC
ip netns exec $H "$bin/synjitsu" --interface br0 --metrics-file "$tmp/metrics.prom" -v \
  2> "$tmp/synjitsu.log" &
pids+=($!)
wait_for 10 metric_is booting_vms $full || fail "synjitsu did not pick up the booting VM"

if [ $full = 1 ]; then  # (not re-indented, to keep the diff small)

# --- ARP resolves to the VM's MAC, a real connect() queues its SYNs ---
ip netns exec $C timeout 3 $py -c '
import socket
s = socket.socket()
s.settimeout(2.5)
try:
    s.connect(("10.0.0.10", 80))
except OSError:
    pass
' || true
neigh=$(ip -n $C neigh show $VM_IP)
echo "client neighbour entry: $neigh"
[[ $neigh == *"lladdr $VM_MAC"* ]] || fail "client ARP did not resolve $VM_IP to $VM_MAC"

root=/ip/$(xs_path $VM_IP)
wait_for 5 metric_is pending_writes 0 || fail "Xenstore writes still pending"
sleep 1.1  # the metrics file is rewritten every second
port=$(xenstore-list $root/80/10-0-0-2 2> /dev/null | head -1)
[ -n "$port" ] || { xenstore-ls /ip || true; fail "no SYN record under $root/80/10-0-0-2"; }
node=$root/80/10-0-0-2/$port/syn
rd() { xenstore-read "$node/$1"; }
count=$(rd count)
echo "queued: $node count=$count sequence=$(rd sequence) options=$(rd options)"
[[ $count =~ ^[1-9][0-9]*$ ]] || fail "count '$count'"
[ "$count" -ge 2 ] || fail "expected the 1 s retransmission to be counted (count=$count)"
[ "$(rd mac)" = $CLIENT_MAC ] || fail "mac $(rd mac)"
[[ $(rd sequence) =~ ^[0-9]+$ ]] || fail "sequence"
[[ $(rd tx_isn) =~ ^[0-9]+$ ]] || fail "tx_isn"
[[ $(rd tx_wnd) =~ ^[1-9][0-9]*$ ]] || fail "tx_wnd"
[ "$(rd rx_wnd)" = 65535 ] || fail "rx_wnd"
[ "$(rd rx_wnd_scaleoffer)" = 7 ] || fail "rx_wnd_scaleoffer"
[[ $(rd options) == "((MSS 1460) SACK_ok (Timestamp "*") Noop (Window_size_shift "*"))" ]] ||
  fail "options $(rd options)"
[[ $(rd frame) == 020000000010${CLIENT_MAC//:/}0800* ]] || fail "frame $(rd frame)"
[[ $(rd time) =~ ^1[0-9]{18}$ ]] || fail "time"

# --- the ARP duty, before and after the take-over ---
arp_probe() {  # prints "reply" or "none"
  ip netns exec $C $py - << PYEOF 2> /dev/null
from scapy.all import ARP, Ether, srp1, conf
conf.verb = 0
r = srp1(Ether(src="$CLIENT_MAC", dst="ff:ff:ff:ff:ff:ff") /
         ARP(op=1, hwsrc="$CLIENT_MAC", psrc="10.0.0.2", pdst="$VM_IP"),
         iface="eth0", timeout=1)
print("reply" if r is not None and r.haslayer(ARP) and r[ARP].op == 2 else "none")
PYEOF
}
[ "$(arp_probe)" = reply ] || fail "no ARP reply while booting"
xenstore-write $root managed
wait_for 5 metric_is vms_managed_total 1 || fail "synjitsu did not see $root = managed"
ip netns exec $C tcpdump -i eth0 -U -w "$tmp/after.pcap" "arp and ether src $VM_MAC" \
  2> /dev/null &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
sleep 0.5
[ "$(arp_probe)" = none ] || fail "ARP answered after $root = managed"
ip -n $C neigh flush all
ip netns exec $C timeout 2 ping -c 1 -W 1 $VM_IP > /dev/null 2>&1 || true
sleep 0.3
kill $tcpdump_pid; wait $tcpdump_pid 2> /dev/null || true
replies=$(tcpdump -r "$tmp/after.pcap" 2> /dev/null | wc -l)
[ "$replies" = 0 ] || fail "$replies frame(s) from $VM_MAC after the take-over"
echo "after managed: no ARP reply (capture: $replies frames from $VM_MAC)"

# --- replay the captures into the bridge ---
xenstore-rm "/synjitsu/booting/$(xs_path $VM_IP)"
xenstore-rm /ip
wait_for 5 metric_is booting_vms 0 || fail "booting entry removal not seen"
fi  # full
replayed=0
for name in "${replay_names[@]}"; do
  pcap=$replay_dir/$name.pcap
  read -r -a args < "$replay_dir/$name.args"
  n=0
  for ((i = 0; i < ${#args[@]}; i++)); do
    if [ "${args[$i]}" = --booting ]; then
      spec=${args[$((i + 1))]}
      xenstore-write "/synjitsu/booting/$(xs_path "${spec%%=*}")" "${spec#*=}"
      n=$((n + 1))
    fi
  done
  wait_for 5 metric_is booting_vms $n || fail "$name: booting VMs not picked up"
  ip netns exec $R tcpreplay -q -i eth0 "${replay_pace[@]}" "$pcap" > /dev/null 2>&1 ||
    fail "$name: tcpreplay failed"
  sleep 1.2
  wait_for 5 metric_is pending_writes 0 || fail "$name: writes pending"
  expected=$(wc -l < "$replay_dir/$name.queue")
  got=0
  while read -r ip lport rip rport rest; do
    node=/ip/$(xs_path $ip)/$lport/$(xs_path $rip)/$rport/syn
    for kv in ${rest%% options=*}; do
      key=${kv%%=*}; want=${kv#*=}
      case $key in time | tx_isn | options) continue ;; esac  # live clock, random key
      have=$(xenstore-read "$node/$key" 2> /dev/null || echo "<missing>")
      [ "$have" = "$want" ] || fail "$name: $node/$key = '$have', expected '$want'"
    done
    want_opts=${rest#*options=}
    [ "$(xenstore-read "$node/options")" = "$want_opts" ] || fail "$name: $node/options"
    got=$((got + 1))
  done < "$replay_dir/$name.queue"
  total=$(xenstore-ls /ip 2> /dev/null | grep -c '^ *syn = ' || true)
  [ "$total" = "$expected" ] || { xenstore-ls /ip; fail "$name: $total records, expected $expected"; }
  echo "replayed $name: $got record(s) as expected"
  replayed=$((replayed + 1))
  xenstore-rm /synjitsu/booting
  xenstore-rm /ip
  wait_for 5 metric_is booting_vms 0 || fail "$name: cleanup not seen"
done
[ $full = 1 ] || { echo "PASS: $replayed captures of $replay_dir replayed live"; exit 0; }
echo "PASS: ARP duty, live SYN queue, take-over, $replayed captures replayed"
