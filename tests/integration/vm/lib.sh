# shellcheck shell=bash
# Shared by the real-VM tests (ctest label `vm`): the end-to-end world of
# tests/integration/e2e/lib.sh (topology, jitsu-xenstored, synjitsu, jitsu-dns, clients,
# cleanup) with jitsu-dns's libvirt backend talking to a private libvirtd
# (scripts/lib/libvirtd.sh) that runs inside the topology's <P>-host namespace, so the
# QEMU guests' taps land on br0 next to jitsu-dns and synjitsu.
#
# The guests are the images of contract C1 (guest/images, CMake target `guest-images`):
# $JITSU_GUEST_IMAGES (default <build>/guest-images) holds vmlinuz and initramfs.cpio.gz;
# the guest configures jitsu.ip/jitsu.gw from its command line, serves jitsu.body on
# port 80 (busybox httpd) and prints `jitsu-guest: ready` on ttyS0, which libvirt logs to
# $WORK/console/<domain>.console.log (jitsu-dns --libvirt-console-dir). Domains are
# type qemu (TCG): KVM is not assumed to work (see jitsu-dns/README.md).
#
# Source it after setting E2E_TAG; call vm_require, e2e_topology, e2e_start_xenstored,
# vm_start_libvirtd, then e2e_start_dns with guest_spec VMSPECs.
VM_LIB_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
. "$VM_LIB_DIR/../e2e/lib.sh"
. "$E2E_SRC/scripts/lib/libvirtd.sh"

VM_IMAGES=${JITSU_GUEST_IMAGES:-$(dirname "$JITSU_BIN")/guest-images}
VM_CONSOLE_DIR=$WORK/console
E2E_CLIENT_TIMEOUT=40  # a TCG boot plus the client's SYN retransmissions (1, 3, 7, 15 s)

vm_require() {  # vm_require BIN...: e2e_require plus libvirt, QEMU, curl and the images
  e2e_require "$@"
  local t
  for t in libvirtd virsh qemu-system-x86_64 curl unshare setsid timeout; do
    command -v $t > /dev/null || { echo "[$E2E_TAG] FAIL: '$t' missing (scripts/install-deps)"; exit 1; }
  done
  for t in vmlinuz initramfs.cpio.gz; do
    [ -s "$VM_IMAGES/$t" ] ||
      { echo "[$E2E_TAG] FAIL: $VM_IMAGES/$t missing (cmake --build build --target guest-images)"; exit 1; }
  done
}

# --- the private libvirtd, and jitsu-dns's backend flags for it ---
vm_libvirtd_stop() {
  libvirtd_stop
  # The taps QEMU had on br0 went with it: only the router's port is left.
  local ports
  ports=$(ip -n "$HOST_NS" -o link show master "$TOPO_BRIDGE" 2> /dev/null |
    sed -nE 's/^[0-9]+: ([^@:]+).*/\1/p' | grep -vx rt0 | tr '\n' ' ')
  [ -z "$ports" ] || fail "taps left on $TOPO_BRIDGE after libvirtd stopped: $ports"
}
vm_assert_no_libvirt_left() {
  local left
  left=$(libvirtd_leftovers | tr '\n' ' ')
  check "no libvirtd or QEMU of ours left (${#LIBVIRTD_QEMU_IDS[@]} QEMU ran)${left:+: $left}" \
    test -z "$left"
}
vm_start_libvirtd() {
  mkdir -p "$VM_CONSOLE_DIR"
  E2E_CLEANUP_HOOKS+=(vm_libvirtd_stop)
  E2E_CLEAN_CHECKS+=(vm_assert_no_libvirt_left)
  E2E_LOG_HOOKS+=(vm_show_logs)
  libvirtd_start "$WORK/libvirt" "$HOST_NS" 2> "$WORK/libvirtd-start.err" ||
    die "private libvirtd did not start: $(cat "$WORK/libvirtd-start.err")"
  log "libvirtd (pid $LIBVIRTD_PID) in $HOST_NS: socket after $LIBVIRTD_SOCKET_MS ms," \
    "answering after $LIBVIRTD_START_MS ms (QEMU capability probe: $LIBVIRTD_PROBE_MS ms)"
  E2E_DNS_BACKEND=(-x libvirt -c "$LIBVIRTD_URI" --libvirt-console-dir "$VM_CONSOLE_DIR")
}

# guest_spec NAME IP [KEY=VALUE,...]: a VM booted from the C1 images, domain <P>NAME,
# answering NAME.e2e.test, serving the body <P>-NAME.
guest_spec() {
  local name=$1 ip=$2 extra=${3:-} last
  last=${ip##*.}
  local spec="name=$P$name,dns=$name.$E2E_DNS_NAME_SUFFIX,ip=$ip,nic=$TOPO_BRIDGE"
  spec+=",mac=$(printf '02:00:0a:00:00:%02x' "$last"),memory=262144,domain_type=qemu"
  spec+=",kernel=$VM_IMAGES/vmlinuz,initrd=$VM_IMAGES/initramfs.cpio.gz"
  spec+=",cmdline=console=ttyS0 jitsu.ip=$ip/24 jitsu.gw=$TOPO_GATEWAY jitsu.body=$P-$name"
  echo "$spec${extra:+,$extra}"
}

# --- what the guests do ---
console_log() { echo "$VM_CONSOLE_DIR/$P$1.console.log"; }
guest_ready() { grep -q '^jitsu-guest: ready' "$(console_log "$1")" 2> /dev/null; }
# How many times the current console log says ready (truncated at each boot: 1 per boot).
ready_count() { grep -c '^jitsu-guest: ready' "$(console_log "$1")" 2> /dev/null || true; }
domains() { libvirtd_virsh list --all --name 2> /dev/null | sed '/^$/d'; }
no_domains() { [ -z "$(domains)" ]; }
has_domain() { domains | grep -qx "$P$1"; }
no_domain() { ! has_domain "$1"; }
domain_state() { libvirtd_virsh domstate "$P$1" 2> /dev/null | sed '/^$/d'; }
domain_paused() { [ "$(domain_state "$1")" = paused ]; }
# proc_identity of the QEMU process of domain <P>NAME (its pid file in our run dir).
qemu_identity() {
  local p
  p=$(head -c 16 "$WORK/libvirt/run/qemu/$P$1.pid" 2> /dev/null | tr -dc 0-9)
  [ -n "$p" ] && proc_identity "$p"
}
# jitsu-dns log lines about VM NAME, timestamps dropped; said NAME TEXT: one says TEXT.
dns_said() { grep -E "$P$1[: ]" "$WORK/jitsu-dns.log" | sed -E 's/^[^ ]+ [^ ]+ [a-z]+: //'; }
said() { dns_said "$1" | grep -qF -- "$2"; }
vm_state_is() { [ "$(vm_key "$1" state)" = "$2" ]; }  # vm_state_is NAME STATE (state tree)

# run_client NAME TAG: client 1 resolves NAME, connects, GET /; waits for it and checks
# it got 200 (clients_done); its line is kept as $WORK/TAG.out.
run_client() {
  client 1 "$1" "$WORK/c1.out"
  clients_done "$CLIENT_PID"
  cp "$WORK/c1.out" "$WORK/$2.out"
}
# keep_router_arp NAME IP: a permanent ARP entry for the VM in the router, as if from an
# earlier life of the VM, so that a client's SYN sent before the guest is up is lost on
# br0 (the client waits for a retransmission) instead of making the router give up on
# ARP after ~3 s and answer ICMP host unreachable (connect fails with EHOSTUNREACH).
# Masked modes need no such help: synjitsu announces the VM, wait_for_port answers late.
keep_router_arp() {
  ip -n "$P-router" neigh replace "$2" lladdr "$(printf '02:00:0a:00:00:%02x' "${2##*.}")" \
    dev up0 nud permanent
}

# keepalive_start NAME: a DNS query for NAME every second (at most 90) from client 1,
# so a VM that boots slowly under load is not idle-stopped before the test is done with
# it; keepalive_stop ends it.
KEEP_PID=""
keepalive_start() {
  local name=$1.$E2E_DNS_NAME_SUFFIX i
  (for ((i = 0; i < 90; i++)); do
    ip netns exec "$P-c1" dig +tries=1 +time=1 @"$TOPO_HOST_IP" "$name" > /dev/null 2>&1
    sleep 1
  done) &
  KEEP_PID=$!
  EXTRA_PIDS+=("$KEEP_PID")
}
keepalive_stop() { stop_pid "$KEEP_PID" 2; KEEP_PID=""; }

vm_show_logs() {
  local f
  for f in "$VM_CONSOLE_DIR"/*.log "$WORK"/libvirt/log/qemu/*.log; do
    [ -s "$f" ] || continue
    echo "--- last lines of ${f#"$WORK"/}"
    tail -n 8 "$f"
  done
  [ -s "$WORK/libvirt/libvirtd.log" ] || return 0
  echo "--- last lines of libvirtd.log"
  grep -v ethtool "$WORK/libvirt/libvirtd.log" | tail -n 10
}
