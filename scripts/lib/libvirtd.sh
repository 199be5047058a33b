# shellcheck shell=bash
# A private libvirtd for the tests, the benchmarks and the demo: Debian's monolithic libvirtd (9.0)
# run as root inside a network namespace the caller created (so QEMU's tap lands next to
# the bridge there) and a mount namespace of its own, where every directory libvirtd
# reads or writes is the caller's:
#
#   /etc/libvirt        DIR/etc   our libvirtd.conf and qemu.conf, an empty qemu/ (the
#                                 machine's default network and persistent domains are
#                                 neither seen nor autostarted)
#   /run                tmpfs     (pid file, dbus and systemd sockets hidden: libvirtd
#   /run/libvirt        DIR/run    talks to no machined/firewalld), the sockets
#   /var/lib/libvirt    DIR/lib
#   /var/log/libvirt    DIR/log   qemu/<domain>.log: QEMU's own stderr
#   /var/cache/libvirt  DIR/cache the QEMU capability cache (so every run probes afresh)
#   /sys/fs/cgroup      tmpfs     no cgroup hierarchy visible: libvirt creates no cgroups
#                                 on the machine
#
# qemu.conf: QEMU runs as root, no security driver, no file relabelling, no cgroups, no
# private /dev, and its stdout/stderr go straight to a file (stdio_handler = "file": no
# virtlogd needed). libvirtd.conf: unix sockets only (no --listen), mode 0700, no auth.
# Clients use LIBVIRTD_URI = qemu:///system?socket=DIR/run/libvirt-sock.
#
#   libvirtd_start DIR NETNS   start and wait until it answers (bounded); sets
#                              LIBVIRTD_PID, LIBVIRTD_URI, LIBVIRTD_MNT_NS
#   libvirtd_virsh ARGS...     virsh on LIBVIRTD_URI, bounded by LIBVIRTD_CALL_TIMEOUT s
#   libvirtd_stop              destroy every domain, stop libvirtd (TERM, bound, KILL),
#                              kill any QEMU it left; idempotent
#   libvirtd_leftovers         prints what of ours still runs (libvirtd, QEMU); empty: clean
#
# Every wait is bounded; the functions return non-zero with a message on stderr (no exit,
# no traps: the caller owns cleanup and calls libvirtd_stop).

# proc_identity, proc_running, none_running, wait_until, now_ms
. "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

LIBVIRTD_PID=""
LIBVIRTD_ID=""        # proc_identity of libvirtd
LIBVIRTD_URI=""
LIBVIRTD_DIR=""
LIBVIRTD_MNT_NS=""    # its mount namespace (QEMU processes share it)
LIBVIRTD_QEMU_IDS=()  # proc_identity of every QEMU seen (libvirtd_note_qemus)
LIBVIRTD_CALL_TIMEOUT=${LIBVIRTD_CALL_TIMEOUT:-30}
LIBVIRTD_SOCKET_MS="" # start -> its socket exists
LIBVIRTD_START_MS=""  # start -> it answers (drivers initialised)
LIBVIRTD_PROBE_MS=""  # socket -> answer: mostly the QEMU capability probe

_libvirtd_err() { echo "libvirtd: $*" >&2; }

_libvirtd_configs() {
  local d=$1
  mkdir -p "$d"/etc/qemu "$d"/run "$d"/lib "$d"/log "$d"/cache || return 1
  cat > "$d/etc/libvirtd.conf" << 'EOF'
# A private libvirtd (scripts/lib/libvirtd.sh): local unix sockets only.
listen_tls = 0
listen_tcp = 0
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:stderr"
EOF
  cat > "$d/etc/qemu.conf" << 'EOF'
# A private libvirtd (scripts/lib/libvirtd.sh).
user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
stdio_handler = "file"
cgroup_controllers = [ ]
namespaces = [ ]
EOF
}

# The inside of the mount namespace: mounts, then exec libvirtd. Runs under `sh -c`.
# shellcheck disable=SC2016  # expanded by that shell
_LIBVIRTD_INNER='
set -e
d=$1
mount --make-rprivate /
mount -t tmpfs -o mode=0755 libvirtd-run /run
mkdir /run/libvirt
mount --bind "$d/run" /run/libvirt
mount --bind "$d/etc" /etc/libvirt
mount --bind "$d/lib" /var/lib/libvirt
mount --bind "$d/log" /var/log/libvirt
mount --bind "$d/cache" /var/cache/libvirt
mount -t tmpfs -o mode=0755 libvirtd-nocgroup /sys/fs/cgroup
exec libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
'

libvirtd_virsh() {
  timeout -k 2 "$LIBVIRTD_CALL_TIMEOUT" virsh -q -c "$LIBVIRTD_URI" "$@"
}

libvirtd_start() {
  local dir=$1 ns=$2 t0 t1
  [ -e "/run/netns/$ns" ] || { _libvirtd_err "no network namespace $ns"; return 1; }
  command -v libvirtd > /dev/null && command -v virsh > /dev/null ||
    { _libvirtd_err "libvirtd/virsh missing (scripts/install-deps)"; return 1; }
  LIBVIRTD_DIR=$dir
  _libvirtd_configs "$dir" || { _libvirtd_err "cannot write configs in $dir"; return 1; }
  LIBVIRTD_URI="qemu:///system?socket=$dir/run/libvirt-sock"
  t0=$(now_ms)
  # Own session: a Ctrl-C in the caller's terminal does not reach it; libvirtd_stop ends it.
  setsid nsenter --net="/run/netns/$ns" -- unshare --mount -- \
    sh -c "$_LIBVIRTD_INNER" libvirtd-private "$dir" \
    < /dev/null >> "$dir/libvirtd.log" 2>&1 &
  LIBVIRTD_PID=$!
  # setsid forks when the caller leads a process group: follow to the real libvirtd.
  local i p
  for ((i = 0; i < 100; i++)); do
    [ "$(cat "/proc/$LIBVIRTD_PID/comm" 2> /dev/null)" = libvirtd ] && break
    p=$(pgrep -P "$LIBVIRTD_PID" -x libvirtd 2> /dev/null | head -n 1)
    [ -n "$p" ] && { LIBVIRTD_PID=$p; break; }
    kill -0 "$LIBVIRTD_PID" 2> /dev/null || break
    sleep 0.02
  done
  LIBVIRTD_ID=$(proc_identity "$LIBVIRTD_PID") || {
    _libvirtd_err "did not start: $(tail -n 3 "$dir/libvirtd.log" 2> /dev/null | tr '\n' ' ')"
    return 1
  }
  LIBVIRTD_MNT_NS=$(readlink "/proc/$LIBVIRTD_PID/ns/mnt")
  # The socket appears early; libvirtd answers once every driver has initialised, which
  # for the QEMU driver includes probing each installed emulator (no cache: it is ours).
  if ! wait_until 10 test -S "$dir/run/libvirt-sock"; then
    _libvirtd_err "no socket $dir/run/libvirt-sock within 10 s: $(tail -n 3 "$dir/libvirtd.log" | tr '\n' ' ')"
    return 1
  fi
  t1=$(now_ms)
  # shellcheck disable=SC2034 # the start-up times are read by the scripts sourcing this
  LIBVIRTD_SOCKET_MS=$((t1 - t0))
  if ! LIBVIRTD_CALL_TIMEOUT=60 libvirtd_virsh version > /dev/null 2>> "$dir/libvirtd.log"; then
    _libvirtd_err "no answer on $LIBVIRTD_URI within 60 s: $(tail -n 3 "$dir/libvirtd.log" | tr '\n' ' ')"
    return 1
  fi
  # shellcheck disable=SC2034 # read by the scripts sourcing this
  LIBVIRTD_START_MS=$(($(now_ms) - t0))
  # shellcheck disable=SC2034 # read by the scripts sourcing this
  LIBVIRTD_PROBE_MS=$(($(now_ms) - t1))
}

# The QEMU processes of our libvirtd: in its mount namespace (pid files under run/qemu).
_libvirtd_qemu_pids() {
  local f p
  [ -n "$LIBVIRTD_DIR" ] && [ -n "$LIBVIRTD_MNT_NS" ] || return 0
  for f in "$LIBVIRTD_DIR"/run/qemu/*.pid; do
    [ -e "$f" ] || continue
    p=$(head -c 16 "$f" 2> /dev/null | tr -dc 0-9)
    [ -n "$p" ] || continue
    [ "$(readlink "/proc/$p/ns/mnt" 2> /dev/null)" = "$LIBVIRTD_MNT_NS" ] || continue
    case $(cat "/proc/$p/comm" 2> /dev/null) in qemu*) echo "$p" ;; esac
  done
}
# libvirtd_note_qemus: remember the QEMU processes running now (for libvirtd_leftovers).
libvirtd_note_qemus() {
  local p id
  for p in $(_libvirtd_qemu_pids); do
    id=$(proc_identity "$p") || continue
    [[ " ${LIBVIRTD_QEMU_IDS[*]} " == *" $id "* ]] || LIBVIRTD_QEMU_IDS+=("$id")
  done
}

_libvirtd_gone() { ! proc_running "$LIBVIRTD_ID"; }
libvirtd_stop() {
  local d p id
  [ -n "$LIBVIRTD_PID" ] || return 0
  libvirtd_note_qemus
  if proc_running "$LIBVIRTD_ID"; then
    for d in $(LIBVIRTD_CALL_TIMEOUT=5 libvirtd_virsh list --all --name 2> /dev/null); do
      LIBVIRTD_CALL_TIMEOUT=10 libvirtd_virsh destroy "$d" > /dev/null 2>&1
    done
    kill -TERM "$LIBVIRTD_PID" 2> /dev/null
    wait_until 10 _libvirtd_gone || { kill -KILL "$LIBVIRTD_PID" 2> /dev/null; wait_until 3 _libvirtd_gone; }
  fi
  wait "$LIBVIRTD_PID" 2> /dev/null
  # QEMU outlives libvirtd by design: kill what is left (identified by pid + start time).
  for id in "${LIBVIRTD_QEMU_IDS[@]}"; do
    proc_running "$id" && kill -KILL "${id%%:*}" 2> /dev/null
  done
  wait_until 5 none_running "${LIBVIRTD_QEMU_IDS[@]}"
  LIBVIRTD_PID=""
}

libvirtd_leftovers() {
  local id
  [ -z "$LIBVIRTD_ID" ] || ! proc_running "$LIBVIRTD_ID" || echo "libvirtd(${LIBVIRTD_ID%%:*})"
  for id in "${LIBVIRTD_QEMU_IDS[@]}"; do
    proc_running "$id" && echo "qemu(${id%%:*})"
  done
  return 0
}
