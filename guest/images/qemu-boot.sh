# shellcheck shell=bash
# Booting the jitsu guest image with plain QEMU, for the tools next to this file and the
# tests (source it). One definition of the QEMU command line, of "ready" and of stopping.
#
#   guest_qemu_cmd MACHINE ACCEL IMAGE_DIR APPEND NETDEV [MAC]
#       fills the array GUEST_QEMU_CMD. MACHINE: q35 (virtio-net-pci) or microvm
#       (virtio-net-device on virtio-mmio), with optional ",key=value" machine options;
#       ACCEL: tcg or kvm; NETDEV: a -netdev value with id=n0 (e.g.
#       "hubport,id=n0,hubid=0": a NIC wired to nothing);
#       GUEST_QEMU_EXTRA (array, optional) is appended (e.g. -cpu choices).
#   guest_boot_start LOG CMD...   starts CMD (e.g. ip netns exec NS "${GUEST_QEMU_CMD[@]}")
#       in the background with the guest console written to LOG; sets GUEST_PID and
#       GUEST_START_US (wall clock, microseconds, taken just before the exec).
#   guest_wait_ready LOG PID SECONDS   polls LOG every 5 ms until `jitsu-guest: ready`;
#       returns 0 (ready; GUEST_READY_US set), 1 (not within SECONDS), 2 (the guest
#       reported `jitsu-guest: failed` or QEMU exited).
#   guest_stop PID   SIGTERM, up to 3 s, then SIGKILL; waits for it (a child of this shell).
#
# Library rules: no exit, no traps (the caller owns cleanup), messages on stderr; safe
# under set -e.
# shellcheck disable=SC2034  # GUEST_* are the results, read by the caller

GUEST_QEMU_BIN=${GUEST_QEMU_BIN:-qemu-system-x86_64}
# Kernel command-line words that shorten a TCG boot (measured: README.md "Boot time").
# TRIM: generic ones (no gain measurable beyond noise here, harmless); LEAN: skip the
# slowest initcalls under TCG (initcall_debug): the crypto self-tests (0.5-1.7 s), the
# kprobe trace setup (0.2-0.4 s), the KDF self-test. FAST: what to boot with.
GUEST_APPEND_TRIM="tsc=reliable no_timer_check nokaslr audit=0 8250.nr_uarts=1"
GUEST_APPEND_LEAN="cryptomgr.notests initcall_blacklist=init_kprobe_trace,crypto_kdf108_init"
GUEST_APPEND_FAST="quiet $GUEST_APPEND_TRIM $GUEST_APPEND_LEAN"
GUEST_MEMORY_MB=${GUEST_MEMORY_MB:-256}

guest_now_us() { echo "${EPOCHREALTIME/./}"; }

guest_qemu_cmd() {
  local machine=$1 accel=$2 dir=$3 append=$4 netdev=$5 mac=${6:-} device
  case ${machine%%,*} in
    q35) device=virtio-net-pci ;;
    microvm) device=virtio-net-device ;;
    *) echo "qemu-boot: unknown machine '$machine' (q35|microvm)" >&2; return 2 ;;
  esac
  case $accel in tcg | kvm) ;; *) echo "qemu-boot: unknown accel '$accel' (tcg|kvm)" >&2; return 2 ;; esac
  if [ ! -r "$dir/vmlinuz" ] || [ ! -r "$dir/initramfs.cpio.gz" ]; then
    echo "qemu-boot: no guest image in '$dir' (guest/images/build-initramfs DIR)" >&2
    return 2
  fi
  [ -z "$mac" ] || device+=",mac=$mac"
  # -nodefaults: no VGA, no default NIC, no monitor; the console is the only serial port.
  # -no-reboot + panic=-1: a guest that panics or powers off ends QEMU instead of looping.
  GUEST_QEMU_CMD=("$GUEST_QEMU_BIN" -M "$machine" -accel "$accel" -m "$GUEST_MEMORY_MB"
    -nodefaults -no-user-config -display none -no-reboot
    -kernel "$dir/vmlinuz" -initrd "$dir/initramfs.cpio.gz"
    -append "console=ttyS0 panic=-1 $append"
    -netdev "$netdev" -device "$device,netdev=n0")
  if [ -n "${GUEST_QEMU_EXTRA+x}" ]; then GUEST_QEMU_CMD+=("${GUEST_QEMU_EXTRA[@]}"); fi
}

guest_boot_start() {
  local log=$1; shift
  : > "$log" || return 2
  GUEST_START_US=$(guest_now_us)
  "$@" -serial "file:$log" < /dev/null > "$log.qemu" 2>&1 &
  GUEST_PID=$!
}

guest_wait_ready() {
  local log=$1 pid=$2 end text
  end=$(($(guest_now_us) + $3 * 1000000))
  while :; do
    { text=$(< "$log"); } 2> /dev/null # bash warns about NUL bytes from the console
    case $text in
      *"jitsu-guest: ready"*) GUEST_READY_US=$(guest_now_us); return 0 ;;
      *"jitsu-guest: failed"*) return 2 ;;
    esac
    kill -0 "$pid" 2> /dev/null || return 2
    [ "$(guest_now_us)" -lt "$end" ] || return 1
    sleep 0.005
  done
}

guest_stop() {
  local pid=$1 _
  kill -TERM "$pid" 2> /dev/null || { wait "$pid" 2> /dev/null; return 0; }
  for _ in $(seq 300); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.01
  done
  kill -KILL "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
}
