# shellcheck shell=bash
# bench/connect-latency --backend netns (the default): sourced by bench/connect-latency
# once the world is up (topology, jitsu-xenstored, synjitsu). One jitsu-netvm VM per
# (mode, boot delay) running jitsu-httpd with boot_delay=; jitsu-dns -x netns. Writes
# $work/results.csv (the netns columns) and sets total, failed_runs, load_before and
# load_after for bench/connect-latency's report.
# shellcheck disable=SC2034,SC2154  # the variables of bench/connect-latency

# The jitsu-netvm processes of our VMs (exact --name match on their command line).
netvm_pids() {
  local p name v
  for p in $(pgrep -x jitsu-netvm 2> /dev/null); do
    name=$(tr '\0' '\n' < "/proc/$p/cmdline" 2> /dev/null | sed -n '/^--name$/{n;p;q}')
    for v in "${vm_names[@]}"; do [ "$name" = "$v" ] && echo "$p"; done
  done
}
netns_cleanup() {  # after jitsu-dns (--stop-on-exit stopped the VMs): what it left
  local p v
  for p in $(netvm_pids); do stop_pid "$p"; done
  for v in "${vm_names[@]}"; do [ -e "/run/netns/$v" ] && ip netns del "$v" 2> /dev/null; done
}
cleanup_hooks+=(netns_cleanup)

# One VM per (mode, boot delay): name, DNS name, IP 10.0.0.(10+k).
specs=()
declare -A vm_of vm_ip
k=0
for m in "${mode_list[@]}"; do
  for b in "${boot_list[@]}"; do
    name=${TOPO_PREFIX}v$k
    ip=10.0.0.$((10 + k))
    boot_s=$(printf '%d.%03d' $((b / 1000)) $((b % 1000)))
    spec="name=$name,dns=v$k.bench.test,ip=$ip,ttl=1,nic=br0,gateway=$TOPO_GATEWAY"
    spec+=",boot_delay=$boot_s,cmd=$bin/jitsu-httpd --port 80 --body $m-$b"
    case $m in
      none) spec+=",response_delay=0" ;;
      fixed_boot) spec+=",response_delay=$boot_s" ;;
      fixed_200) spec+=",response_delay=0.2" ;;
      wait_for_key) spec+=",response_delay=0,wait_for_key=data/status" ;;
      synjitsu) spec+=",response_delay=0,use_synjitsu=1" ;;
    esac
    specs+=("$spec")
    vm_names+=("$name")
    vm_of[$m/$b]=$name
    vm_ip[$name]=$ip
    k=$((k + 1))
  done
done

# nsenter, not `ip netns exec`: jitsu-netvm (started by jitsu-dns) must stay in the
# initial mount namespace. -f 0.0.0.0: no forwarder (nothing leaves the namespaces).
nsenter --net="/run/netns/$host_ns" "$bin/jitsu-dns" -b "$TOPO_HOST_IP" -l 53 -f 0.0.0.0 \
  -t 1 -d 0 -x netns --synjitsu --stop-on-exit --xenstore "$XENSTORED_PATH" \
  --netvm "$bin/jitsu-netvm" "${specs[@]}" 2> "$work/jitsu-dns.log" &
dns_pid=$!
wait_until 10 dns_up || { echo "connect-latency: jitsu-dns did not answer" >&2; tail -5 "$work/jitsu-dns.log" >&2; exit 1; }
read_vm_uuids

vm_cold() {  # stopped in jitsu-dns's state tree and no namespace left
  [ "$(vm_state "$1")" = stopped ] && [ ! -e "/run/netns/$1" ]
}
all_cold() {
  local v
  for v in "${vm_names[@]}"; do vm_cold "$v" || return 1; done
}

echo "rtt_ms,boot_ms,mode,run,ok,status,dns_ms,connect_ms,tcp_ms,ttfb_ms,syn_retrans,ideal_ms,vm_listen_ms,vm_up_ms,error" > "$work/results.csv"
total=$((${#rtt_list[@]} * nvms * runs))
done_runs=0
failed_runs=0
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS
for rtt in "${rtt_list[@]}"; do
  set_rtt "$rtt" || exit 1
  for ((run = 1; run <= runs; run++)); do
    for m in "${mode_list[@]}"; do
      for b in "${boot_list[@]}"; do
        name=${vm_of[$m/$b]}
        progress $done_runs $total "rtt=$rtt boot=$b $m #$run"
        if ! wait_until 15 vm_cold "$name"; then
          echo "connect-latency: VM $name ($m, boot $b) did not stop within 15 s" >&2
        fi
        if [ $isolated = 1 ] && ! wait_until 15 all_cold; then
          echo "connect-latency: --isolated: VMs still running after 15 s" >&2
        fi
        [ "$router_arp" = flush ] && ip -n "$router_ns" neigh flush to "${vm_ip[$name]}" 2> /dev/null
        offset=$(stat -c %s "$work/jitsu-dns.log")
        line=$(ip netns exec "$client_ns" "$bin/connect_latency_client" --dns-server "$TOPO_HOST_IP" \
          --name "v${name##*v}.bench.test" --timeout 20 2>> "$work/client.log")
        # From the logs (jitsu-netvm's go to jitsu-dns's stderr): "listening N ms after
        # jitsu-netvm start" (µs precision), and query -> listening from the two lines'
        # wall-clock stamps (ms resolution): the boot as it really happened, spawn included.
        sleep 0.05
        seg=$(tail -c +$((offset + 1)) "$work/jitsu-dns.log")
        listen=$(sed -nE 's/.*listening ([0-9.]+) ms after jitsu-netvm start.*/\1/p' <<< "$seg" | tail -n 1)
        up=$(awk -v q="$name: booting on query" '
          function ms(t) { split(substr(t, 12, 12), a, ":"); return a[1] * 3600000 + a[2] * 60000 + a[3] * 1000 }
          index($0, q) && tq == "" { tq = ms($1) }
          /CMD listens/ && tl == "" { tl = ms($1) }
          END { if (tq != "" && tl != "" && tl >= tq) printf "%.0f", tl - tq }' <<< "$seg")
        declare -A f=()
        for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
        ideal=$(awk -v b="$b" -v r="$rtt" 'BEGIN { i = b + r; if (2 * r > i) i = 2 * r; printf "%.3f", i }')
        [ "${f[ok]:-0}" = 1 ] && [ "${f[status]:-0}" = 200 ] || failed_runs=$((failed_runs + 1))
        echo "$rtt,$b,$m,$run,${f[ok]:-0},${f[status]:-0},${f[dns_ms]:--1},${f[connect_ms]:--1},${f[tcp_ms]:--1},${f[ttfb_ms]:--1},${f[syn_retrans]:--1},$ideal,${listen:--1},${up:--1},${f[error]:-no_output}" >> "$work/results.csv"
        unset f
        done_runs=$((done_runs + 1))
      done
    done
  done
done
progress $done_runs $total "done in $((SECONDS - t_start)) s"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
