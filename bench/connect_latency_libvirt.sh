# shellcheck shell=bash
# bench/connect-latency --backend libvirt: sourced by bench/connect-latency once the
# world is up (topology, jitsu-xenstored, synjitsu). Real QEMU guests (guest/images)
# created by jitsu-dns -x libvirt through a private libvirtd in the host namespace, one
# VM per (start, mode). Writes $work/results.csv (the libvirt columns) and sets total,
# failed_runs and machine for bench/connect-latency's report.
# shellcheck disable=SC2034,SC2154  # the variables of bench/connect-latency

. "$src/scripts/lib/libvirtd.sh"
. "$src/guest/images/qemu-boot.sh"  # GUEST_APPEND_FAST: the words of a quick TCG boot

console_dir=$work/console
mkdir -p "$console_dir"
watch_pid=""

libvirt_cleanup() {
  keepalive_stop
  [ -n "$watch_pid" ] && stop_pid "$watch_pid"
  libvirtd_stop  # destroys what jitsu-dns left, stops libvirtd and any QEMU of ours
  if [ -n "$keep" ]; then
    mkdir -p "$keep" && cp "$console_dir"/*.log "$work"/libvirt/*.log "$work"/libvirt/log/qemu/*.log \
      "$keep"/ 2> /dev/null
  fi
}
cleanup_hooks+=(libvirt_cleanup)

if [ "$domain_type" = auto ]; then
  progress 0 1 "accel-probe (up to 10 s)"
  accel=$("$src/guest/images/accel-probe" --image-dir "$images" -v 2>> "$work/accel-probe.log")
  if [ "$accel" = kvm ]; then domain_type=kvm; else domain_type=qemu; fi
fi
progress 0 1 "private libvirtd (its first QEMU capability probe: ~10 s)"
if ! libvirtd_start "$work/libvirt" "$host_ns" 2> "$work/libvirtd-start.err"; then
  echo "connect-latency: private libvirtd did not start: $(cat "$work/libvirtd-start.err")" >&2
  exit 1
fi

# The guest's kernel command line: a VMSPEC value cannot hold a comma, so a
# comma-separated initcall_blacklist= becomes one parameter per name (the kernel adds up
# repeated ones).
append="console=ttyS0"
for w in $GUEST_APPEND_FAST; do
  if [[ $w == initcall_blacklist=* ]]; then
    IFS=, read -ra calls <<< "${w#initcall_blacklist=}"
    for c in "${calls[@]}"; do append+=" initcall_blacklist=$c"; done
  else
    append+=" $w"
  fi
done

# One VM per (start, mode): name <P>v<k>, DNS name v<k>.bench.test, IP 10.0.0.(10+k),
# a fixed MAC. ttl=1: idle stop 2 s after the last query (a keepalive covers the boot).
specs=()
declare -A vm_of vm_ip vm_mac vm_start
k=0
for st in "${start_list[@]}"; do
  for m in "${mode_list[@]}"; do
    name=${TOPO_PREFIX}v$k
    ip=10.0.0.$((10 + k))
    mac=$(printf '02:00:0a:00:00:%02x' $((10 + k)))
    spec="name=$name,dns=v$k.bench.test,ip=$ip,ttl=1,nic=br0,mac=$mac,memory=262144"
    spec+=",domain_type=$domain_type,kernel=$images/vmlinuz,initrd=$images/initramfs.cpio.gz"
    spec+=",cmdline=$append jitsu.ip=$ip/24 jitsu.gw=$TOPO_GATEWAY jitsu.body=$m-$st"
    case $st in
      cold) spec+=",stop_mode=destroy" ;;
      resume) spec+=",stop_mode=suspend" ;;
    esac
    case $m in
      none) spec+=",response_delay=0" ;;
      wait_for_port) spec+=",response_delay=0,wait_for_port=80,wait_timeout=60" ;;
      synjitsu) spec+=",response_delay=0,use_synjitsu=1,replay=host,port=80" ;;
    esac
    specs+=("$spec")
    vm_names+=("$name")
    vm_of[$st/$m]=$name
    vm_ip[$name]=$ip
    vm_mac[$name]=$mac
    vm_start[$name]=$st
    k=$((k + 1))
  done
done

# -f 0.0.0.0: no forwarder (nothing leaves the namespaces). --stop-on-exit: it destroys
# the domains when the bench stops it.
nsenter --net="/run/netns/$host_ns" "$bin/jitsu-dns" -b "$TOPO_HOST_IP" -l 53 -f 0.0.0.0 \
  -t 1 -d 0 -x libvirt -c "$LIBVIRTD_URI" --libvirt-console-dir "$console_dir" \
  --synjitsu --stop-on-exit --xenstore "$XENSTORED_PATH" "${specs[@]}" 2> "$work/jitsu-dns.log" &
dns_pid=$!
wait_until 10 dns_up || { echo "connect-latency: jitsu-dns did not answer" >&2; tail -5 "$work/jitsu-dns.log" >&2; exit 1; }
read_vm_uuids

# A VM at rest: a cold one stopped (its domain destroyed), a resume one paused.
at_rest() {
  case ${vm_start[$1]} in
    cold) [ "$(vm_state "$1")" = stopped ] ;;
    resume) [ "$(vm_state "$1")" = suspended ] ;;
  esac
}
all_at_rest() {
  local v
  for v in "${vm_names[@]}"; do at_rest "$v" || return 1; done
}
# The router's neighbour entry for VM NAME before a run (see --router-arp).
router_arp_for() {
  if [ "$router_arp" = keep ]; then
    ip -n "$router_ns" neigh replace "${vm_ip[$1]}" lladdr "${vm_mac[$1]}" dev up0 nud permanent
  else
    ip -n "$router_ns" neigh flush to "${vm_ip[$1]}" 2> /dev/null
  fi
}

# keepalive_start NAME...: for each, a DNS query every 0.5 s from the host namespace (not
# on the client's path; a query held by wait_for_port waits up to 1 s), at most 5
# minutes, so a VM whose guest boots for longer than 2 x ttl is not idle-stopped before
# its client is done. A TERM ends a loop after its query under way (no orphaned dig).
keepalive_pids=()
keepalive_start() {
  local n
  for n in "$@"; do
    (
      trap 'exit 0' TERM
      for ((i = 0; i < 600; i++)); do
        nsenter --net="/run/netns/$host_ns" dig +tries=1 +time=1 @"$TOPO_HOST_IP" \
          "v${n##*v}.bench.test" > /dev/null 2>&1
        sleep 0.5
      done
    ) &
    keepalive_pids+=($!)
  done
}
keepalive_stop() {
  local p
  for p in "${keepalive_pids[@]}"; do stop_pid "$p"; done
  keepalive_pids=()
}

# watch_ready NAME OUT: writes to OUT the wall clock (µs) at which the guest's console
# shows `jitsu-guest: ready` (printed once its httpd listens). The console log is
# emptied first (libvirt truncates it at each boot; tail -F follows it at once only
# when it exists from the start: inotify, no polling).
watch_ready() {
  local f=$console_dir/$1.console.log out=$2
  : > "$f"
  rm -f "$out"
  (
    coproc TAILP { exec tail -F -n +1 "$f" 2> /dev/null; }
    # bash unsets TAILP and TAILP_PID once tail has exited: keep copies.
    tp=$TAILP_PID fd=${TAILP[0]}
    trap 'kill "$tp" 2> /dev/null; wait "$tp"; exit 0' TERM
    while IFS= read -r -u "$fd" line; do
      case $line in *'jitsu-guest: ready'*) echo "${EPOCHREALTIME/./}" > "$out"; break ;; esac
    done
    kill "$tp" 2> /dev/null
    wait "$tp"
  ) &
  watch_pid=$!
}
watch_stop() { [ -n "$watch_pid" ] && stop_pid "$watch_pid"; watch_pid=""; }

# log_ms STAMP: a log line's wall-clock stamp (2025-01-01T12:34:56.789) in epoch ms.
log_ms() { date -d "$1" +%s%3N 2> /dev/null; }

# --- warm-up: the resume VMs boot once (together), then idle into their pause ---
resume_vms=()
for v in "${vm_names[@]}"; do [ "${vm_start[$v]}" = resume ] && resume_vms+=("$v"); done
if [ ${#resume_vms[@]} -gt 0 ]; then
  progress 0 1 "booting the resume VMs once (${#resume_vms[@]}, TCG: seconds each)"
  warm_pids=()
  for v in "${resume_vms[@]}"; do
    router_arp_for "$v"
    ip netns exec "$client_ns" "$bin/connect_latency_client" --dns-server "$TOPO_HOST_IP" \
      --name "v${v##*v}.bench.test" --timeout 60 > "$work/warm-$v.out" 2>> "$work/client.log" &
    warm_pids+=($!)
  done
  keepalive_start "${resume_vms[@]}"
  for p in "${warm_pids[@]}"; do wait "$p"; done
  keepalive_stop
  for v in "${resume_vms[@]}"; do
    grep -q 'status=200' "$work/warm-$v.out" ||
      echo "connect-latency: warm-up of $v did not get 200: $(cat "$work/warm-$v.out")" >&2
  done
fi

echo "rtt_ms,start,mode,run,ok,status,dns_ms,connect_ms,tcp_ms,ttfb_ms,syn_retrans,vm_up_ms,ideal_ms,detect_ms,load1,error" > "$work/results.csv"
total=$((${#rtt_list[@]} * nvms * runs))
done_runs=0
failed_runs=0
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$SECONDS
for rtt in "${rtt_list[@]}"; do
  set_rtt "$rtt" || exit 1
  for ((run = 1; run <= runs; run++)); do
    for st in "${start_list[@]}"; do
      for m in "${mode_list[@]}"; do
        name=${vm_of[$st/$m]}
        progress $done_runs $total "rtt=$rtt $st $m #$run"
        # Isolated: this VM and every other at rest (no boot, teardown or idle guest
        # beside the measurement).
        if ! wait_until 60 all_at_rest; then
          echo "connect-latency: VMs not at rest (stopped / paused) within 60 s" >&2
        fi
        router_arp_for "$name"
        read -r load1 _ < /proc/loadavg
        dns_off=$(stat -c %s "$work/jitsu-dns.log")
        sj_off=$(stat -c %s "$work/synjitsu.log")
        if [ "$st" = cold ]; then
          watch_ready "$name" "$work/ready.us"
          keepalive_start "$name"
        fi
        line=$(ip netns exec "$client_ns" "$bin/connect_latency_client" --dns-server "$TOPO_HOST_IP" \
          --name "v${name##*v}.bench.test" --timeout 40 2>> "$work/client.log")
        declare -A f=()
        for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
        # error= may hold strerror's words (connect:No route to host): one CSV token.
        err=$(sed -nE 's/.* error=(.*) connected_unix_us=.*/\1/p' <<< "$line" | tr ' ,' '__')
        [ -n "$err" ] && f[error]=$err
        ok=0
        [ "${f[ok]:-0}" = 1 ] && [ "${f[status]:-0}" = 200 ] && ok=1
        [ $ok = 1 ] || failed_runs=$((failed_runs + 1))
        if [ "$st" = cold ]; then
          # A guest that answered has printed its ready line: the stamp is moments away.
          # A client that gave up (EHOSTUNREACH with --router-arp flush) did so before
          # the guest was up: its boot is still recorded (bounded wait).
          if [ $ok = 1 ]; then wait_until 3 test -s "$work/ready.us"; else wait_until 60 test -s "$work/ready.us"; fi
          keepalive_stop
          watch_stop
        fi
        sleep 0.05  # the daemons' last lines
        seg=$(tail -c +$((dns_off + 1)) "$work/jitsu-dns.log")
        # The boot as it happened, from the query's arrival at jitsu-dns (its log stamp):
        # cold: -> the ready line on the console; resume: -> resumed (jitsu-dns's own
        # figure). detect: when the masking mode saw the guest accept (wait_for_port:
        # jitsu-dns's probe; synjitsu: its probe success), ms after the query.
        up=-1 detect=-1 q_ms=""
        how=booting
        [ "$st" = resume ] && how=resuming
        q_stamp=$(grep -m 1 -F "$name: $how on query" <<< "$seg" | cut -d' ' -f1)
        [ -n "$q_stamp" ] && q_ms=$(log_ms "$q_stamp")
        if [ -z "$q_ms" ]; then
          echo "connect-latency: $name ($st): no '$how on query' in jitsu-dns's log" >&2
        elif [ "$st" = cold ]; then
          [ -s "$work/ready.us" ] && up=$(awk -v r="$(cat "$work/ready.us")" -v q="$q_ms" 'BEGIN { printf "%.0f", r / 1000 - q }')
          case $m in
            wait_for_port)
              detect=$(sed -nE "s/.*$name: [0-9.]+ port 80 accepts, ([0-9.]+) ms after the query.*/\\1/p" <<< "$seg" | head -n 1) ;;
            synjitsu)
              ns=$(tail -c +$((sj_off + 1)) "$work/synjitsu.log" |
                sed -nE "s/.*${vm_ip[$name]//./\\.}: probe success: .* unix_ns=([0-9]+).*/\\1/p" | head -n 1)
              [ -n "$ns" ] && detect=$(awk -v n="$ns" -v q="$q_ms" 'BEGIN { printf "%.1f", n / 1e6 - q }') ;;
          esac
        else
          up=$(sed -nE "s/.*$name: running, answers released ([0-9.]+) ms after the query \\(resumed\\).*/\\1/p" <<< "$seg" | head -n 1)
          grep -qF "$name: booting on query" <<< "$seg" &&
            echo "connect-latency: $name booted instead of resuming (run $run, RTT $rtt)" >&2
        fi
        ideal=-1
        [ "${up:--1}" != -1 ] && ideal=$(awk -v b="$up" -v r="$rtt" 'BEGIN { i = b + r; if (2 * r > i) i = 2 * r; printf "%.3f", i }')
        echo "$rtt,$st,$m,$run,${f[ok]:-0},${f[status]:-0},${f[dns_ms]:--1},${f[connect_ms]:--1},${f[tcp_ms]:--1},${f[ttfb_ms]:--1},${f[syn_retrans]:--1},${up:--1},$ideal,${detect:--1},$load1,${f[error]:-no_output}" >> "$work/results.csv"
        unset f
        done_runs=$((done_runs + 1))
      done
    done
  done
done
progress $done_runs $total "done in $((SECONDS - t_start)) s"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

case $router_arp in
  keep) arp_text="kept (permanent entry for each VM's MAC: lost SYNs while a guest boots)" ;;
  flush) arp_text="flushed before each run (the router ARPs; EHOSTUNREACH if it gives up)" ;;
esac
machine="libvirt $(libvirtd --version 2> /dev/null | awk '{ print $NF }'), domain type $domain_type"
machine+=" ($(qemu-system-x86_64 --version | head -n 1 | awk '{ print $4 }'));"
machine+=" router ARP entry: $arp_text; isolated runs; $(nproc) cores, load average $load_before"
machine+=" at start, $load_after at end; kernel $(uname -r);"
machine+=" client SYN retransmissions: tcp_syn_retries $(ip netns exec "$client_ns" sysctl -n net.ipv4.tcp_syn_retries 2> /dev/null)"
lin=$(ip netns exec "$client_ns" sysctl -n net.ipv4.tcp_syn_linear_timeouts 2> /dev/null)
[ -n "$lin" ] && machine+=", tcp_syn_linear_timeouts $lin"
