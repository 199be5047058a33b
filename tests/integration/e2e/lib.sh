# shellcheck shell=bash
# Shared by the end-to-end tests (fault runs) and record.sh: the whole system on the
# topology of scripts/lib/topology.sh, in network namespaces this script creates:
#
#   <P>-c1, <P>-c2 (clients) -> <P>-router -> br0 in <P>-host: jitsu-dns (10.0.0.1:53),
#   synjitsu, the VMs' veths;  jitsu-xenstored on a unix socket in the work directory.
#
# Source it after setting E2E_TAG (2-4 lowercase letters); P = E2E_TAG + pid names every
# namespace, VM and work directory, so leftovers are found by name. e2e_cleanup (the
# EXIT trap) stops everything, also on failure or Ctrl-C; e2e_assert_clean checks that
# nothing is left. Every wait is bounded. Nothing touches the machine's own interfaces.
set -uo pipefail

: "${JITSU_BIN:?JITSU_BIN must point at the build bin directory}"
: "${E2E_TAG:?set E2E_TAG before sourcing lib.sh}"
E2E_SRC=${JITSU_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
export JITSU_BIN  # topology.sh finds jitsu-delayline there

P=${E2E_TAG}$$
WORK=$(mktemp -d "/tmp/jitsu-e2e-$P.XXXXXX")
export XENSTORED_PATH=$WORK/xenstored.sock
XSD_PID=""
SJ_PID=""
DNS_PID=""
EXTRA_PIDS=()
DNS_ARGS=()
E2E_DNS_BIND=""  # jitsu-dns -b (default: TOPO_HOST_IP); the clients query it
E2E_DNS_NAME_SUFFIX=e2e.test
# jitsu-dns's backend flags (the VM tests use `-x libvirt -c URI`).
E2E_DNS_BACKEND=(-x netns --netvm "$JITSU_BIN/jitsu-netvm")
E2E_CLIENT_TIMEOUT=15  # connect_latency_client --timeout (seconds)
# Functions e2e_cleanup runs once jitsu-dns is stopped, before the daemons and the
# topology go (e.g. a private libvirtd); and checks e2e_assert_clean runs.
E2E_CLEANUP_HOOKS=()
E2E_CLEAN_CHECKS=()
E2E_LOG_HOOKS=()  # functions e2e_show_logs runs after showing the daemons' logs
E2E_DELAYLINES=()  # the jitsu-delayline processes of our topologies (proc_identity)

CHECK_TAG=$E2E_TAG
. "$E2E_SRC/tests/support/checks.sh"
# die: a failure the rest of the test cannot go on from. Logs, then exits (cleanup runs).
die() {
  echo "[$E2E_TAG] FAIL: $*"
  e2e_show_logs
  exit 1
}

e2e_require() {  # e2e_require BIN...: root, tools, built binaries (fail fast)
  [ "$(id -u)" = 0 ] || { echo "[$E2E_TAG] FAIL: needs root (network namespaces)"; exit 1; }
  local t b
  for t in ip nsenter tcpdump xenstore-read xenstore-ls xenstore-list dig ss; do
    command -v $t > /dev/null || { echo "[$E2E_TAG] FAIL: '$t' missing (scripts/install-deps)"; exit 1; }
  done
  for b in "$@"; do
    [ -x "$JITSU_BIN/$b" ] || { echo "[$E2E_TAG] FAIL: $JITSU_BIN/$b is not built"; exit 1; }
  done
}

. "$E2E_SRC/scripts/lib/topology.sh"
TOPO_PREFIX=$P
HOST_NS=$P-host

e2e_topology() {  # e2e_topology CLIENTS RTT_MS
  TOPO_CLIENTS=$1
  TOPO_RTT_MS=$2
  topo_up > "$WORK/topology.log" 2>&1 || { cat "$WORK/topology.log"; die "topology did not come up"; }
  local p
  for p in $(ip netns pids "$P-router" 2> /dev/null); do
    [ "$(cat "/proc/$p/comm" 2> /dev/null)" = jitsu-delayline ] &&
      E2E_DELAYLINES+=("$(proc_identity "$p")")
  done
}

# Stops a process we started: SIGTERM, up to $2 seconds (default 5), then SIGKILL.
stop_pid() {
  local p=$1 limit=${2:-5} i
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2> /dev/null || { wait "$p" 2> /dev/null; return 0; }
  for ((i = 0; i < limit * 50; i++)); do kill -0 "$p" 2> /dev/null || break; sleep 0.02; done
  kill -KILL "$p" 2> /dev/null
  wait "$p" 2> /dev/null
  return 0
}
kill9() {  # kill9 PID: the fault itself, and reaping it
  kill -KILL "$1" 2> /dev/null
  wait "$1" 2> /dev/null
  return 0
}

# --- jitsu-xenstored ---
xs_up() { xenstore-list / > /dev/null 2>&1; }
e2e_start_xenstored() {  # extra args (e.g. --persist FILE)
  rm -f "$XENSTORED_PATH"
  "$JITSU_BIN/jitsu-xenstored" --socket "$XENSTORED_PATH" "$@" 2>> "$WORK/xenstored.log" &
  XSD_PID=$!
  wait_until 5 xs_up || die "jitsu-xenstored did not come up"
}

# --- synjitsu (live on br0, metrics rewritten every second) ---
metric() { awk -v n="synjitsu_$1" '$1 == n { print $2 }' "$WORK/synjitsu.prom" 2> /dev/null; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_at_least() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
# Ready = it logged that it watches /synjitsu/booting (its capture is open by then); the
# metrics file comes up to a second later. Arguments are added to synjitsu's command line.
e2e_start_synjitsu() {
  rm -f "$WORK/synjitsu.prom"
  echo "--- synjitsu started $(date +%T.%N)" >> "$WORK/synjitsu.log"
  local from
  from=$(wc -l < "$WORK/synjitsu.log")
  nsenter --net="/run/netns/$HOST_NS" "$JITSU_BIN/synjitsu" --interface br0 \
    --metrics-file "$WORK/synjitsu.prom" "$@" 2>> "$WORK/synjitsu.log" &
  SJ_PID=$!
  sj_ready() { tail -n +$((from + 1)) "$WORK/synjitsu.log" | grep 'watching /synjitsu/booting' > /dev/null; }
  wait_until 5 sj_ready || die "synjitsu did not start"
}

# --- jitsu-dns (netns backend) ---
# vm_spec NAME IP MODE BOOT_S [TTL]: MODE synjitsu | key | none. The VM is NAME.e2e.test,
# a jitsu-netvm named <P><NAME> running jitsu-httpd (its body names the test, so a
# leftover process is found by P). An IPv6 IP makes an IPv6-only VM (ip6=, gateway on
# the topology's IPv6 plane: TOPO_IPV6=1; E2E_VM_GATEWAY6 overrides it, e.g. with the
# router's link-local address).
vm_spec() {
  local name=$1 ip=$2 mode=$3 boot=$4 ttl=${5:-30} spec
  spec="name=$P$name,dns=$name.$E2E_DNS_NAME_SUFFIX,nic=br0"
  if [[ $ip == *:* ]]; then
    spec+=",ip6=$ip,gateway=${E2E_VM_GATEWAY6:-$TOPO_GATEWAY6},mac=$(printf '02:00:fd:00:00:%02x' $((16#${ip##*:})))"
  else
    spec+=",ip=$ip,gateway=$TOPO_GATEWAY,mac=$(printf '02:00:0a:00:00:%02x' "${ip##*.}")"
  fi
  spec+=",ttl=$ttl,boot_delay=$boot"
  spec+=",cmd=$JITSU_BIN/jitsu-httpd --port 80 --body $P-$name"
  case $mode in
    synjitsu) spec+=",use_synjitsu=1" ;;
    key) spec+=",wait_for_key=data/status" ;;
    none) ;;
    *) die "vm_spec: unknown mode $mode" ;;
  esac
  echo "$spec"
}
dns_answers() {  # any answer to a name outside the catalog: the server is up
  local r
  r=$(ip netns exec "$P-c1" dig +tries=1 +time=1 @"${E2E_DNS_BIND:-$TOPO_HOST_IP}" "probe.invalid" 2> /dev/null)
  [[ $r == *"status: "* ]]
}
# e2e_start_dns SPEC...: the command line is kept for a restart (e2e_restart_dns).
# nsenter, not `ip netns exec`: jitsu-netvm must stay in the initial mount namespace.
e2e_start_dns() {
  [ $# -eq 0 ] || DNS_ARGS=("$@")
  echo "--- jitsu-dns started $(date +%T.%N)" >> "$WORK/jitsu-dns.log"
  nsenter --net="/run/netns/$HOST_NS" "$JITSU_BIN/jitsu-dns" -b "${E2E_DNS_BIND:-$TOPO_HOST_IP}" -l 53 \
    -f 0.0.0.0 -d 0 "${E2E_DNS_BACKEND[@]}" --synjitsu --stop-on-exit \
    --xenstore "$XENSTORED_PATH" "${DNS_ARGS[@]}" 2>> "$WORK/jitsu-dns.log" &
  DNS_PID=$!
  wait_until 10 dns_answers || die "jitsu-dns did not answer"
}

# --- what the VMs do ---
# The jitsu-netvm processes of VM NAME (exact --name <P>NAME on their command line).
netvm_pids() {
  local want=$P$1 p name
  for p in $(pgrep -x jitsu-netvm 2> /dev/null); do
    name=$(tr '\0' '\n' < "/proc/$p/cmdline" 2> /dev/null | sed -n '/^--name$/{n;p;q}')
    [ "$name" = "$want" ] && echo "$p"
  done
}
# Every process of this test still alive (command line naming P or the work directory).
our_pids() { pgrep -f -- "$P|$WORK" 2> /dev/null | grep -vx "$$" || true; }
# /jitsu/vm/<uuid>/<key> of VM NAME (uuid found by config/name/0).
vm_key() {
  local u
  for u in $(xenstore-list /jitsu/vm 2> /dev/null); do
    if [ "$(xenstore-read "/jitsu/vm/$u/config/name/0" 2> /dev/null)" = "$P$1" ]; then
      xenstore-read "/jitsu/vm/$u/$2" 2> /dev/null
      return
    fi
  done
  return 1
}
# xs_ip IP: the address as a Xenstore path element (IPv4 dots as '-'; IPv6 fully
# expanded, 8 groups of 4 hex digits joined by '-').
xs_ip() {
  [[ $1 == *:* ]] || { echo "${1//./-}"; return; }
  local head=${1%%::*} tail="" groups=() g out=""
  [[ $1 == *::* ]] && tail=${1#*::}
  IFS=: read -ra groups <<< "$head"
  local -a t=()
  [ -n "$tail" ] && IFS=: read -ra t <<< "$tail"
  if [[ $1 == *::* ]]; then
    while [ $((${#groups[@]} + ${#t[@]})) -lt 8 ]; do groups+=(0); done
  fi
  for g in "${groups[@]}" "${t[@]}"; do out+=$(printf '%04x-' $((16#${g:-0}))); done
  echo "${out%-}"
}
managed() { [ "$(xenstore-read "/ip/$(xs_ip "$1")" 2> /dev/null)" = managed ]; }
booting_node() { xenstore-read "/synjitsu/booting/$(xs_ip "$1")" > /dev/null 2>&1; }
syn_records() {  # syn_records IP: queued SYN records under /ip/<ip>
  xenstore-ls "/ip/$(xs_ip "$1")" 2> /dev/null | grep -c '^ *syn = ' || true
}
syn_queued() { [ "$(syn_records "$1")" -ge 1 ]; }  # (a function: wait_until re-runs it)

# client I NAME OUT [args]: connect_latency_client in client I's namespace, in the
# background (pid in CLIENT_PID); its one line goes to OUT.
client() {
  local i=$1 name=$2 out=$3; shift 3
  ip netns exec "$P-c$i" "$JITSU_BIN/connect_latency_client" --dns-server "$TOPO_HOST_IP" \
    --name "$name.$E2E_DNS_NAME_SUFFIX" --timeout "$E2E_CLIENT_TIMEOUT" "$@" > "$out" 2>> "$WORK/client.log" &
  CLIENT_PID=$!
  EXTRA_PIDS+=("$CLIENT_PID")
}
field() { tr ' ' '\n' < "$1" | sed -n "s/^$2=//p"; }  # field FILE KEY
# clients_done PID...: wait for the clients started as client 1, 2, ... (outputs in
# $WORK/c<i>.out), log each one's line and check that each connected and got 200.
clients_done() {
  local pid i=0
  for pid in "$@"; do wait "$pid"; done
  for pid in "$@"; do
    i=$((i + 1))
    log "client $i: $(cat "$WORK/c$i.out")"
    check "client $i connected and got 200" \
      test "$(field "$WORK/c$i.out" ok)/$(field "$WORK/c$i.out" status)" = 1/200
  done
}

e2e_show_logs() {
  local f
  for f in jitsu-dns synjitsu xenstored client; do
    [ -s "$WORK/$f.log" ] || continue
    echo "--- last lines of $f.log"
    tail -n 25 "$WORK/$f.log"
  done
  for f in "${E2E_LOG_HOOKS[@]}"; do "$f"; done
}

# Idempotent: jitsu-dns first (--stop-on-exit stops its VMs), then any jitsu-netvm of
# ours (one orphaned by a kill -9 of jitsu-dns), the cleanup hooks, the daemons, the VMs'
# namespaces, the topology, the work directory.
e2e_cleanup() {
  local p ns h
  stop_pid "$DNS_PID" 15; DNS_PID=""
  for p in $(pgrep -x jitsu-netvm 2> /dev/null); do
    tr '\0' '\n' < "/proc/$p/cmdline" 2> /dev/null | grep -x -- "$P.*" > /dev/null && stop_pid "$p" 8
  done
  for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p" 2; done
  EXTRA_PIDS=()
  for h in "${E2E_CLEANUP_HOOKS[@]}"; do "$h"; done
  stop_pid "$SJ_PID" 5; SJ_PID=""
  stop_pid "$XSD_PID" 5; XSD_PID=""
  for ns in /run/netns/"$P"*; do
    [ -e "$ns" ] || continue
    ns=${ns##*/}
    case $ns in "$P"-host | "$P"-router | "$P"-c*) ;; *) ip netns del "$ns" 2> /dev/null ;; esac
  done
  topo_down > /dev/null 2>&1
  if [ -n "${E2E_KEEP:-}" ]; then mkdir -p "$E2E_KEEP" && cp "$WORK"/*.log "$E2E_KEEP"/ 2> /dev/null; fi
  rm -rf "$WORK"
}

# After e2e_cleanup: nothing of this test may be left. Process checks poll for up to
# 5 s: a process can linger a few ms to 100 ms while it exits (its sockets closing) after
# it has left the namespace topo_down waited on.
no_pid_of_ours() { [ -z "$(our_pids)" ]; }
e2e_assert_clean() {
  local left id
  left=$(compgen -G "/run/netns/$P*" | tr "\n" " ")
  check "no namespace left${left:+ ($left)}" test -z "$left"
  wait_until 5 no_pid_of_ours
  left=$(our_pids | tr '\n' ' ')
  check "no process left${left:+ ($left)}" test -z "$left"
  for left in "${E2E_CLEAN_CHECKS[@]}"; do "$left"; done
  left=$(ss -xlpn 2> /dev/null | grep -F "$WORK" || true)
  check "no listening socket left${left:+ ($left)}" test -z "$left"
  check "work directory removed" test ! -e "$WORK"
  wait_until 5 none_running "${E2E_DELAYLINES[@]}"
  left=""
  for id in "${E2E_DELAYLINES[@]}"; do
    proc_running "$id" && left+="${id%%:*} "
  done
  check "no jitsu-delayline of ours left (${#E2E_DELAYLINES[@]} ran)${left:+: $left}" test -z "$left"
}

trap e2e_cleanup EXIT
trap 'echo "[$E2E_TAG] interrupted"; exit 130' INT TERM

# e2e_finish: logs on failure, cleanup, the nothing-left checks, the exit status.
e2e_finish() {
  [ "$FAILURES" = 0 ] || e2e_show_logs
  e2e_cleanup
  e2e_assert_clean
  [ "$FAILURES" = 0 ] || { log "$FAILURES check(s) failed"; exit 1; }
  log "PASS"
  exit 0
}
