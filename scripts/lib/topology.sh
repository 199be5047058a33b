# shellcheck shell=bash
# The end-to-end topology, in network namespaces only (root, iproute2). One definition
# for scripts/topology, the demo, the tests and the benchmarks: source this file, set
# TOPO_PREFIX (and TOPO_CLIENTS, TOPO_RTT_MS), call topo_up / topo_down / topo_rtt.
#
#   <P>-c1 10.1.0.11 ─┐ (RTT/2 each way)                   <P>-host
#   <P>-c2 10.1.0.12 ─┼─ cbr 10.1.0.1 ┤<P>-router├ up0 10.0.0.254 ── rt0 ─ br0 10.0.0.1/24
#   ...              ─┘                  ip_forward=1                      │ jitsu-dns,
#                                                                          │ synjitsu, VMs'
#                                                                          │ veths (vm-*)
# The delay: `tc netem` on both ends of each client link when the kernel has sch_netem;
# otherwise (these machines' kernels have no netem) each client link runs through
# jitsu-delayline in the router namespace (bench/connect_latency_delayline.cpp), a
# user-space netem: client eth0 ─veth─ d<i> [jitsu-delayline] e<i> ─veth─ c<i> on cbr,
# d<i>/e<i> without addresses and NOARP, so the router's stack ignores them.
# TOPO_DELAY=auto|netem|userspace chooses (default auto).
# IPv6: off by default (disable_ipv6=1 everywhere). TOPO_IPV6=1 adds a second, IPv6
# plane on the same links: br0 fd00:a::1/64, up0 fd00:a::fe/64 and the fixed link-local
# fe80::fe (the VMs' IPv6 gateway, either address: IPv6 routers are usually known by
# their link-local one), cbr fd00:b::1/64, client I fd00:b::(10+I)/64; forwarding on in
# the router. Only those
# four kinds of interface get IPv6 (bridge ports, the delay line's links and the VMs'
# outer veth ends stay without: no stray link-local traffic), with DAD off and every
# address `nodad`, so each one is usable at once.
# Every interface is created inside a namespace of the topology (veth pairs are created
# in one namespace with their peer put straight into the other), so the machine's own
# interfaces and root-namespace settings are never touched. Only network namespaces are
# created; topo_down stops the processes left inside them and waits until they have exited.
#
# Library rules: functions return non-zero with a one-line message on stderr instead of
# exiting; topo_up rolls back what it created when a step fails or when it is
# interrupted (SIGINT/SIGTERM), then hands the signal on to the caller's own trap.

TOPO_PREFIX=${TOPO_PREFIX:-jt}
TOPO_CLIENTS=${TOPO_CLIENTS:-1}
TOPO_RTT_MS=${TOPO_RTT_MS:-1}
TOPO_MAX_CLIENTS=200
TOPO_DELAY=${TOPO_DELAY:-auto}
TOPO_IPV6=${TOPO_IPV6:-0}

# Addresses (fixed: documented in scripts/topology --help and used by every caller).
TOPO_BRIDGE=br0
TOPO_BRIDGE_MAC=02:00:0a:00:00:01         # br0's own MAC, fixed (see _topo_build)
TOPO_CLIENT_BRIDGE_MAC=02:00:0a:01:00:01  # the router's client-side bridge
TOPO_HOST_IP=10.0.0.1           # br0 in <P>-host: jitsu-dns binds here
# shellcheck disable=SC2034  # for callers
TOPO_HOST_NET=10.0.0.0/24
TOPO_GATEWAY=10.0.0.254         # the router on br0's subnet: the VMs' gateway
TOPO_CLIENT_GW=10.1.0.1         # the router on the client subnet
TOPO_CLIENT_NET=10.1.0.0/24
# The IPv6 plane (TOPO_IPV6=1), /64 each.
TOPO_HOST_IP6=fd00:a::1
# shellcheck disable=SC2034  # for callers
TOPO_HOST_NET6=fd00:a::/64
TOPO_GATEWAY6=fd00:a::fe
TOPO_GATEWAY6_LL=fe80::fe  # the same router port's link-local address
TOPO_CLIENT_GW6=fd00:b::1
TOPO_CLIENT_NET6=fd00:b::/64

topo_host_ns() { echo "${TOPO_PREFIX}-host"; }
topo_router_ns() { echo "${TOPO_PREFIX}-router"; }
topo_client_ns() { echo "${TOPO_PREFIX}-c$1"; }    # 1-based
topo_client_ip() { echo "10.1.0.$((10 + $1))"; }
topo_client_ip6() { echo "fd00:b::$((10 + $1))"; }

_topo_err() { echo "topology: $*" >&2; }
_topo_ns_exists() { [ -e "/run/netns/$1" ]; }
_topo_link_exists() { ip -n "$1" link show dev "$2" > /dev/null 2>&1; }
# _topo_sysctl NS KEY=VALUE...: per-namespace sysctls (/proc/sys/net follows the netns
# of the writer, so nsenter is enough; no mount namespace needed).
_topo_sysctl() {
  local ns=$1; shift
  nsenter --net="/run/netns/$ns" sysctl -qw "$@" > /dev/null
}

# Validation shared by every entry point.
_topo_check_args() {
  [[ $TOPO_PREFIX =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{0,30}$ ]] ||
    { _topo_err "bad prefix '$TOPO_PREFIX' (1-31 of [A-Za-z0-9_-])"; return 2; }
  [[ $TOPO_CLIENTS =~ ^[0-9]+$ ]] && [ "$TOPO_CLIENTS" -ge 1 ] &&
    [ "$TOPO_CLIENTS" -le $TOPO_MAX_CLIENTS ] ||
    { _topo_err "bad client count '$TOPO_CLIENTS' (1..$TOPO_MAX_CLIENTS)"; return 2; }
  _topo_rtt_us "$TOPO_RTT_MS" > /dev/null || return 2
  [[ $TOPO_IPV6 =~ ^[01]$ ]] || { _topo_err "bad TOPO_IPV6 '$TOPO_IPV6' (0 or 1)"; return 2; }
}

# _topo_ipv6 NS DEV ADDR/PREFIX: the interface's IPv6 side as TOPO_IPV6 asks (converges
# both ways: with 0, disabling IPv6 removes its addresses). DAD off before IPv6 comes up,
# so its link-local address is usable at once too (the source of neighbour solicitations).
_topo_ipv6() {
  local ns=$1 dev=$2 addr=$3
  if [ "$TOPO_IPV6" = 1 ]; then
    _topo_sysctl "$ns" "net.ipv6.conf.$dev.accept_dad=0" "net.ipv6.conf.$dev.disable_ipv6=0" || return 1
    ip -n "$ns" addr replace "$addr" dev "$dev" nodad || return 1
  else
    _topo_sysctl "$ns" "net.ipv6.conf.$dev.disable_ipv6=1"
  fi
}

# _topo_rtt_us MS: milliseconds (decimal allowed, 0..10000) -> whole microseconds.
_topo_rtt_us() {
  [[ $1 =~ ^[0-9]{1,5}(\.[0-9]{1,3})?$ ]] ||
    { _topo_err "bad RTT '$1' (milliseconds, e.g. 1 or 0.5)"; return 2; }
  local whole=${1%%.*} frac=000
  [[ $1 == *.* ]] && frac=${1#*.}
  frac=${frac}000
  local us=$((10#$whole * 1000 + 10#${frac:0:3}))
  [ $us -le 10000000 ] || { _topo_err "RTT '$1' ms over 10 s"; return 2; }
  echo $us
}

# _topo_have_netem: whether this kernel has sch_netem (tried on the router's loopback).
_topo_have_netem() {
  local r
  r=$(topo_router_ns)
  tc -n "$r" qdisc replace dev lo root netem delay 1us 2> /dev/null || return 1
  tc -n "$r" qdisc del dev lo root 2> /dev/null
  return 0
}

# _topo_delay_mode: netem or userspace, for an existing router namespace (what is there
# decides: d1 exists = userspace), else from TOPO_DELAY/the kernel.
_topo_delay_mode() {
  case $TOPO_DELAY in
    netem | userspace) echo "$TOPO_DELAY"; return 0 ;;
    auto) ;;
    *) _topo_err "bad TOPO_DELAY '$TOPO_DELAY' (auto, netem, userspace)"; return 2 ;;
  esac
  if _topo_have_netem; then echo netem; else echo userspace; fi
}

_topo_delayline_bin() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  local c
  for c in "${TOPO_DELAYLINE:-}" "${JITSU_BIN:+$JITSU_BIN/jitsu-delayline}" \
    "$here/build/bin/jitsu-delayline"; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  _topo_err "this kernel has no sch_netem and jitsu-delayline is not built" \
    "(ninja -C build jitsu-delayline, or set JITSU_BIN / TOPO_DELAYLINE)"
  return 1
}

# The jitsu-delayline process of this topology (in the router namespace), if any.
_topo_delayline_pid() {
  local p
  for p in $(ip netns pids "$(topo_router_ns)" 2> /dev/null); do
    [ "$(cat "/proc/$p/comm" 2> /dev/null)" = jitsu-delayline ] && { echo "$p"; return 0; }
  done
  return 1
}

_topo_delayline_log() { echo "/tmp/jitsu-topology-${TOPO_PREFIX}-delayline.log"; }

# _topo_proc_running PID: the process exists and has not finished exiting. A process
# leaves its network namespace early in its exit (so `ip netns pids` stops listing it) but
# can stay in state D for a while after (closing its packet sockets waits for the network
# stack: seen 10-100 ms here); a zombie (Z, exited, not yet reaped) or a dead one is done.
_topo_proc_running() {
  local st
  st=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
  st=${st##*) }
  case ${st%% *} in Z | X | x | "") return 1 ;; esac
  return 0
}

# _topo_wait_exited TENTHS PID...: waits until none of the PIDs is running, up to TENTHS
# tenths of a second; reaps the ones that are this shell's children. 1 if some still run.
_topo_wait_exited() {
  local tenths=$1 p i busy
  shift
  for ((i = 0; i < tenths * 5; i++)); do
    busy=0
    for p in "$@"; do _topo_proc_running "$p" && { busy=1; break; }; done
    [ $busy = 0 ] && break
    sleep 0.02
  done
  for p in "$@"; do
    [ -e "/proc/$p" ] && wait "$p" 2> /dev/null
  done
  [ $busy = 0 ]
}

# _topo_stop_pids PID...: SIGTERM, up to 2 s to finish exiting, SIGKILL, up to 2 s more.
_topo_stop_pids() {
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2> /dev/null
  _topo_wait_exited 20 "$@" && return 0
  kill -KILL "$@" 2> /dev/null
  _topo_wait_exited 20 "$@"
}

_topo_delayline_stop() {
  local p
  p=$(_topo_delayline_pid) || return 0
  _topo_stop_pids "$p"
}

# _topo_delayline_ensure HALF_US: jitsu-delayline runs for every client link with this
# one-way delay; left alone when it already does (idempotent), else (re)started. A
# restart drops the frames in flight (a few ms' worth).
_topo_delayline_ensure() {
  local half=$1 bin r c i want have p log
  r=$(topo_router_ns)
  bin=$(_topo_delayline_bin) || return 1
  local args=(--name "$TOPO_PREFIX" --realtime)
  for c in $(_topo_list_clients); do
    i=${c##*-c}
    args+=(--pair "d$i,e$i,$half")
  done
  want="$bin ${args[*]}"
  if p=$(_topo_delayline_pid); then
    have=$(tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null)
    [ "${have% }" = "$want" ] && return 0
    _topo_delayline_stop
  fi
  log=$(_topo_delayline_log)
  # Own session: a Ctrl-C in the caller's terminal does not reach it; topo_down ends it.
  setsid nsenter --net="/run/netns/$r" "$bin" "${args[@]}" > "$log" 2>&1 < /dev/null &
  for ((i = 0; i < 250; i++)); do
    grep -q '^ready$' "$log" 2> /dev/null && return 0
    kill -0 $! 2> /dev/null || break
    sleep 0.02
  done
  _topo_err "jitsu-delayline did not start: $(tail -n 1 "$log" 2> /dev/null)"
  return 1
}

# _topo_netem NS DEV DELAY_US: one direction's delay as the root qdisc (replace = idempotent).
_topo_netem() {
  if [ "$3" -eq 0 ]; then
    tc -n "$1" qdisc del dev "$2" root 2> /dev/null
    return 0
  fi
  # limit: room for bursts at the bench's rates without tail drops.
  tc -n "$1" qdisc replace dev "$2" root netem delay "${3}us" limit 10000
}

# _topo_veth NS_A NAME_A NS_B NAME_B: the pair, created unless both ends exist already
# and are each other's peer; a half-present pair (the other end's namespace was
# deleted) is removed first.
_topo_veth() {
  local a=$1 na=$2 b=$3 nb=$4
  if _topo_link_exists "$a" "$na" && _topo_link_exists "$b" "$nb"; then
    # "NAME@PEER": the peer's name when it is in the same namespace, else "if<index>".
    local peer my_idx
    peer=$(ip -n "$a" -o link show dev "$na" | sed -nE 's/^[0-9]+: [^@]+@([^:]+):.*/\1/p')
    my_idx=$(ip -n "$b" -o link show dev "$nb" | sed -nE 's/^([0-9]+): .*/\1/p')
    if [ "$a" = "$b" ]; then
      [ "$peer" = "$nb" ] && return 0
    else
      [ -n "$peer" ] && [ "$peer" = "if$my_idx" ] && return 0
    fi
  fi
  ip -n "$a" link del dev "$na" 2> /dev/null
  ip -n "$b" link del dev "$nb" 2> /dev/null
  ip -n "$a" link add "$na" type veth peer name "$nb" netns "$b"
}

# Step boundary: stops the build once a signal was caught (topo_up's local `_topo_sig`, seen
# here through bash's dynamic scope). Test hook: TOPO_FAIL_AT=<step> makes that step
# fail (the rollback test).
_topo_step() {
  _TOPO_STEP=$1
  [ -z "${_topo_sig:-}" ] || return 1
  [ "${TOPO_FAIL_AT:-}" != "$1" ] || { _topo_err "injected failure at step '$1'"; return 1; }
}

# _topo_build: the body of topo_up; each step converges (creates what is missing,
# replaces addresses/routes/qdiscs with the requested ones), so running it twice leaves
# the same state.
_topo_build() {
  local h r i c ns us half mode
  h=$(topo_host_ns); r=$(topo_router_ns)
  us=$(_topo_rtt_us "$TOPO_RTT_MS") || return 1
  half=$((us / 2))

  _topo_step namespaces || return 1
  for ns in "$h" "$r"; do
    _topo_ns_exists "$ns" && continue
    ip netns add "$ns" || return 1
    _TOPO_CREATED+=("$ns")
  done

  _topo_step delay || return 1
  mode=$(_topo_delay_mode) || return 1
  [ "$mode" = netem ] || _topo_delayline_bin > /dev/null || return 1

  _topo_step host || return 1
  _topo_sysctl "$h" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 1
  ip -n "$h" link set lo up || return 1
  _topo_link_exists "$h" "$TOPO_BRIDGE" ||
    ip -n "$h" link add "$TOPO_BRIDGE" type bridge stp_state 0 forward_delay 0 || return 1
  # A fixed MAC: a bridge without one takes the lowest MAC of its ports, so it would
  # change as VMs' veths come and go, and the router's ARP entry for 10.0.0.1 would point
  # at a MAC the bridge no longer owns (frames lost: seen as lost DNS queries).
  ip -n "$h" link set "$TOPO_BRIDGE" address "$TOPO_BRIDGE_MAC" || return 1
  ip -n "$h" addr replace "$TOPO_HOST_IP/24" dev "$TOPO_BRIDGE" || return 1
  ip -n "$h" link set "$TOPO_BRIDGE" up || return 1
  _topo_ipv6 "$h" "$TOPO_BRIDGE" "$TOPO_HOST_IP6/64" || return 1

  _topo_step router || return 1
  _topo_sysctl "$r" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.ip_forward=1 "net.ipv6.conf.all.forwarding=$TOPO_IPV6" || return 1
  ip -n "$r" link set lo up || return 1
  _topo_veth "$h" rt0 "$r" up0 || return 1
  ip -n "$h" link set rt0 master "$TOPO_BRIDGE" up || return 1
  ip -n "$r" addr replace "$TOPO_GATEWAY/24" dev up0 || return 1
  ip -n "$r" link set up0 up || return 1
  _topo_link_exists "$r" cbr ||
    ip -n "$r" link add cbr type bridge stp_state 0 forward_delay 0 || return 1
  ip -n "$r" link set cbr address "$TOPO_CLIENT_BRIDGE_MAC" || return 1
  ip -n "$r" addr replace "$TOPO_CLIENT_GW/24" dev cbr || return 1
  ip -n "$r" link set cbr up || return 1
  ip -n "$h" route replace "$TOPO_CLIENT_NET" via "$TOPO_GATEWAY" dev "$TOPO_BRIDGE" || return 1
  _topo_ipv6 "$r" up0 "$TOPO_GATEWAY6/64" || return 1
  if [ "$TOPO_IPV6" = 1 ]; then
    ip -n "$r" addr replace "$TOPO_GATEWAY6_LL/64" dev up0 nodad || return 1
  fi
  _topo_ipv6 "$r" cbr "$TOPO_CLIENT_GW6/64" || return 1
  if [ "$TOPO_IPV6" = 1 ]; then
    ip -n "$h" -6 route replace "$TOPO_CLIENT_NET6" via "$TOPO_GATEWAY6" dev "$TOPO_BRIDGE" || return 1
  fi

  for ((i = 1; i <= TOPO_CLIENTS; i++)); do
    _topo_step "client$i" || return 1
    c=$(topo_client_ns "$i")
    if ! _topo_ns_exists "$c"; then
      ip netns add "$c" || return 1
      _TOPO_CREATED+=("$c")
    fi
    _topo_sysctl "$c" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 1
    ip -n "$c" link set lo up || return 1
    if [ "$mode" = netem ]; then
      _topo_veth "$r" "c$i" "$c" eth0 || return 1
    else
      _topo_veth "$r" "d$i" "$c" eth0 || return 1
      _topo_veth "$r" "c$i" "$r" "e$i" || return 1
      ip -n "$r" link set "d$i" arp off up || return 1
      ip -n "$r" link set "e$i" arp off up || return 1
    fi
    ip -n "$r" link set "c$i" master cbr up || return 1
    ip -n "$c" addr replace "$(topo_client_ip "$i")/24" dev eth0 || return 1
    ip -n "$c" link set eth0 up || return 1
    ip -n "$c" route replace default via "$TOPO_CLIENT_GW" dev eth0 || return 1
    _topo_ipv6 "$c" eth0 "$(topo_client_ip6 "$i")/64" || return 1
    if [ "$TOPO_IPV6" = 1 ]; then
      ip -n "$c" -6 route replace default via "$TOPO_CLIENT_GW6" dev eth0 || return 1
    fi
    if [ "$mode" = netem ]; then
      # RTT/2 on each side: client egress and router egress toward this client.
      _topo_netem "$c" eth0 "$half" || return 1
      _topo_netem "$r" "c$i" "$half" || return 1
    fi
  done

  # Converge the client count downwards too: clients beyond N are removed.
  _topo_step trim || return 1
  for c in $(_topo_list_clients); do
    i=${c##*-c}
    [ "$i" -gt "$TOPO_CLIENTS" ] || continue
    ip -n "$r" link del "c$i" 2> /dev/null
    ip -n "$r" link del "d$i" 2> /dev/null
    _topo_del_ns "$c"
  done

  if [ "$mode" = userspace ]; then
    _topo_step delayline || return 1
    _topo_delayline_ensure "$half" || return 1
  fi
  _topo_step finished
}

# The client namespaces of this prefix that exist now, by number.
_topo_list_clients() {
  local f
  for f in /run/netns/"${TOPO_PREFIX}"-c*; do
    [ -e "$f" ] || continue
    f=${f##*/}
    [[ ${f#"${TOPO_PREFIX}"-c} =~ ^[0-9]+$ ]] && echo "$f"
  done
}

# _topo_del_ns NS: stop what still runs inside (SIGTERM, 2 s, SIGKILL) and wait until it
# has finished exiting (see _topo_proc_running), then delete the namespace.
_topo_del_ns() {
  local ns=$1 pids
  _topo_ns_exists "$ns" || return 0
  pids=$(ip netns pids "$ns" 2> /dev/null)
  # shellcheck disable=SC2086  # one word per pid
  [ -z "$pids" ] || _topo_stop_pids $pids
  ip netns del "$ns"
}

_topo_rollback() {
  local ns
  for ((ns = ${#_TOPO_CREATED[@]} - 1; ns >= 0; ns--)); do
    _topo_del_ns "${_TOPO_CREATED[ns]}"
  done
  _TOPO_CREATED=()
}

# topo_up: builds (or converges to) the topology; prints what it created. On failure or
# interruption the namespaces this call created are removed again (those that existed
# before stay: they may be someone's running topology).
topo_up() {
  _topo_check_args || return $?
  local saved_traps rc=0 _topo_sig=""
  saved_traps=$(trap -p INT TERM)
  _TOPO_CREATED=()
  trap '_topo_sig=INT' INT
  trap '_topo_sig=TERM' TERM
  # Steps run in this shell: bash runs the trap once the current command returns, and
  # _topo_step stops the build at the next step boundary.
  _topo_build || rc=$?
  trap - INT TERM
  eval "$saved_traps"
  if [ -n "$_topo_sig" ] || [ $rc -ne 0 ]; then
    if [ -n "$_topo_sig" ]; then
      _topo_err "interrupted (SIG$_topo_sig) during step '$_TOPO_STEP': rolling back"
    else
      _topo_err "failed at step '$_TOPO_STEP': rolling back"
    fi
    _topo_rollback
    if [ -n "$_topo_sig" ]; then
      kill -s "$_topo_sig" "$BASHPID"  # hand the signal on to the caller's trap (or default action)
      return 130
    fi
    return 1
  fi
  local created=("${_TOPO_CREATED[@]}")
  if [ ${#created[@]} -eq 0 ]; then
    echo "topology '$TOPO_PREFIX': already up (converged: $TOPO_CLIENTS client(s), RTT $TOPO_RTT_MS ms)"
  else
    echo "topology '$TOPO_PREFIX': created namespaces ${created[*]}"
  fi
  topo_summary
}

topo_summary() {
  local h r
  h=$(topo_host_ns); r=$(topo_router_ns)
  echo "  $h: $TOPO_BRIDGE $TOPO_HOST_IP/24, route $TOPO_CLIENT_NET via $TOPO_GATEWAY"
  echo "  $r: up0 $TOPO_GATEWAY/24 (on $TOPO_BRIDGE), cbr $TOPO_CLIENT_GW/24, ip_forward=1"
  local v6
  v6=$(ip -n "$h" -6 addr show dev "$TOPO_BRIDGE" 2> /dev/null)
  if [[ $v6 == *"$TOPO_HOST_IP6/"* ]]; then
    echo "  IPv6: $h $TOPO_BRIDGE $TOPO_HOST_IP6/64; $r up0 $TOPO_GATEWAY6/64 + $TOPO_GATEWAY6_LL," \
      "cbr $TOPO_CLIENT_GW6/64; clients fd00:b::(10+I)/64 via $TOPO_CLIENT_GW6"
  fi
  local c
  for c in $(_topo_list_clients); do
    local i=${c##*-c}
    echo "  $c: eth0 $(topo_client_ip "$i")/24, default via $TOPO_CLIENT_GW, delay: $(topo_current_rtt "$i")"
  done
}

# topo_current_rtt I: the delay configured for client I (both directions).
topo_current_rtt() {
  local c r d1 d2 p
  c=$(topo_client_ns "$1"); r=$(topo_router_ns)
  if _topo_link_exists "$r" "d$1"; then
    p=$(_topo_delayline_pid) || { echo "jitsu-delayline NOT RUNNING"; return 0; }
    d1=$(tr '\0' '\n' < "/proc/$p/cmdline" | sed -nE "s/^d$1,e$1,([0-9]+)$/\1/p")
    echo "jitsu-delayline ${d1:-?} us each way"
    return 0
  fi
  d1=$(tc -n "$c" qdisc show dev eth0 2> /dev/null | sed -nE 's/.*netem.* delay ([0-9.]+[mu]?s).*/\1/p')
  d2=$(tc -n "$r" qdisc show dev "c$1" 2> /dev/null | sed -nE 's/.*netem.* delay ([0-9.]+[mu]?s).*/\1/p')
  echo "${d1:-0ms} + ${d2:-0ms}"
}

# topo_rtt MS: changes the RTT of every client of an existing topology.
topo_rtt() {
  local us half c i r
  us=$(_topo_rtt_us "$1") || return 2
  half=$((us / 2)); r=$(topo_router_ns)
  _topo_ns_exists "$r" || { _topo_err "topology '$TOPO_PREFIX' is not up"; return 1; }
  if _topo_link_exists "$r" d1; then
    _topo_delayline_ensure "$half" || return 1
  else
    for c in $(_topo_list_clients); do
      i=${c##*-c}
      _topo_netem "$c" eth0 "$half" && _topo_netem "$r" "c$i" "$half" || return 1
    done
  fi
  TOPO_RTT_MS=$1
  echo "topology '$TOPO_PREFIX': RTT set to $1 ms (${half} us each way)"
}

# topo_down: removes every namespace of the prefix (clients, router, host), stopping
# processes still inside them. Nothing there = nothing to do (exit 0).
topo_down() {
  [[ $TOPO_PREFIX =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{0,30}$ ]] ||
    { _topo_err "bad prefix '$TOPO_PREFIX'"; return 2; }
  local removed=() ns
  # The delay line first, waited for until it has exited (it runs in the router
  # namespace; callers check right after that none of theirs is left).
  _topo_ns_exists "$(topo_router_ns)" && _topo_delayline_stop
  for ns in $(_topo_list_clients) "$(topo_router_ns)" "$(topo_host_ns)"; do
    _topo_ns_exists "$ns" || continue
    _topo_del_ns "$ns" && removed+=("$ns") || _topo_err "could not delete $ns"
  done
  rm -f "$(_topo_delayline_log)"
  if [ ${#removed[@]} -eq 0 ]; then
    echo "topology '$TOPO_PREFIX': nothing to remove"
  else
    echo "topology '$TOPO_PREFIX': removed ${removed[*]}"
  fi
  # Anything left means a failure to report.
  for ns in $(_topo_list_clients) "$(topo_router_ns)" "$(topo_host_ns)"; do
    _topo_ns_exists "$ns" && return 1
  done
  return 0
}

# topo_status: what exists now; exit 0 when host and router are up.
topo_status() {
  local h r up=1
  h=$(topo_host_ns); r=$(topo_router_ns)
  for ns in "$h" "$r"; do _topo_ns_exists "$ns" || up=0; done
  if [ $up = 0 ]; then
    local any="" ns
    for ns in "$h" "$r" $(_topo_list_clients); do
      _topo_ns_exists "$ns" && any+="$ns "
    done
    echo "topology '$TOPO_PREFIX': not up${any:+ (partial: $any)}"
    return 1
  fi
  echo "topology '$TOPO_PREFIX': up"
  topo_summary
  local pids vms
  pids=$(ip netns pids "$h" 2> /dev/null | tr '\n' ' ')
  echo "  processes in $h: ${pids:-none}"
  vms=$(ip -n "$h" -o link show master "$TOPO_BRIDGE" 2> /dev/null |
    sed -nE 's/^[0-9]+: ([^@:]+).*/\1/p' | tr '\n' ' ')
  echo "  ports on $TOPO_BRIDGE: ${vms:-none}"
}
