#!/bin/bash
# guest/images/build-initramfs: bad arguments are rejected with one clear line (exit 1,
# nothing written); --help works; two builds of the same inputs are byte-identical; the
# archive holds what the init needs (no device nodes: built without mknod).
# accel-probe and measure-boot reject bad arguments too.
set -u

: "${JITSU_SOURCE_DIR:?JITSU_SOURCE_DIR must point at the source tree}"
IMAGES=$JITSU_SOURCE_DIR/guest/images
BUILD=$IMAGES/build-initramfs
WORK=$(mktemp -d "/tmp/jitsu-build-initramfs-$$.XXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2034  # read by checks.sh
CHECK_TAG=build-initramfs
. "$JITSU_SOURCE_DIR/tests/support/checks.sh"

# rejects "what" EXPECTED_MESSAGE_PART CMD...: exit 1, one line on stderr holding the
# expected text, nothing on stdout.
rejects() {
    local what=$1 expect=$2 rc=0; shift 2
    "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
    if [ $rc = 1 ] && [ ! -s "$WORK/out" ] && [ "$(wc -l < "$WORK/err")" = 1 ] &&
        grep -q -- "$expect" "$WORK/err"; then
        log "ok: rejects $what: $(cat "$WORK/err")"
    else
        fail "rejects $what (rc $rc, stderr: $(head -c 300 "$WORK/err"), stdout: $(head -c 100 "$WORK/out"))"
    fi
}

rejects "no OUTDIR" "missing OUTDIR" "$BUILD"
rejects "two OUTDIRs" "one OUTDIR only" "$BUILD" "$WORK/a" "$WORK/b"
rejects "an unknown option" "unknown option '--frobnicate'" "$BUILD" --frobnicate "$WORK/a"
rejects "--kver without a value" "--kver needs a value" "$BUILD" --kver
rejects "a malformed --kver" "bad kernel version" "$BUILD" --kver '../../etc' "$WORK/a"
rejects "a kernel that is not installed" "/boot/vmlinuz-0.0.0-none not readable" \
    "$BUILD" --kver 0.0.0-none "$WORK/a"
rejects "a missing busybox" "$WORK/nope not executable" "$BUILD" --busybox "$WORK/nope" "$WORK/a"
rejects "a busybox that is not busybox" "is not busybox" "$BUILD" --busybox /bin/true "$WORK/a"
rejects "a missing init" "init script $WORK/nope not readable" "$BUILD" --init "$WORK/nope" "$WORK/a"
rejects "a bad SOURCE_DATE_EPOCH" "bad SOURCE_DATE_EPOCH" env SOURCE_DATE_EPOCH=yesterday "$BUILD" "$WORK/a"
check "nothing written by the rejected runs" [ ! -e "$WORK/a" ]
check "--help exits 0 with the usage" bash -c "'$BUILD' --help | grep -q '^Usage: build-initramfs'"

rejects "accel-probe: an unknown argument" "unknown argument" "$IMAGES/accel-probe" --frob
rejects "accel-probe: a bad --timeout" "bad --timeout" "$IMAGES/accel-probe" --timeout 0
rejects "accel-probe: no image" "no guest image in $WORK/none" "$IMAGES/accel-probe" --image-dir "$WORK/none"
rejects "measure-boot: an unknown variant" "unknown variant 'pc'" "$IMAGES/measure-boot" --image-dir "$WORK" pc
rejects "measure-boot: bad --runs" "bad --runs" "$IMAGES/measure-boot" --runs 0 q35

# The init's checks of the kernel command line (its own functions, run by the host's
# busybox ash: the same shell as in the guest).
validate() {  # validate FUNCTION ARGS...: runs the init's is_ipv4/is_number
    busybox sh -c "set -f; eval \"\$(sed -n '/^# is_number S MAXLEN/,/^}\$/p;/^is_ipv4() {/,/^}\$/p' '$IMAGES/init')\"; \"\$@\"" sh "$@"
}
for a in 10.0.0.1 255.255.255.255 0.0.0.0; do check "init: accepts IPv4 '$a'" validate is_ipv4 "$a"; done
for a in 1.2.3 1.2.3.4.5 256.1.1.1 01.2.3.4 1..2.3 .1.2.3 1.2.3. a.b.c.d 1.2.3.4/5 '' '1.2.*.4' ' 1.2.3.4'; do
    check "init: rejects IPv4 '$a'" bash -c '! "$@"' sh validate is_ipv4 "$a"
done
for n in 1 80 65535; do check "init: accepts port '$n'" validate is_number "$n" 5 65535; done
for n in 65536 080 99999 123456 '' x8 -1 '8 0'; do
    check "init: rejects port '$n'" bash -c '! "$@"' sh validate is_number "$n" 5 65535
done

# Reproducible: two builds, same bytes.
if "$BUILD" "$WORK/one" > "$WORK/one.log" 2>&1 && "$BUILD" "$WORK/two" > "$WORK/two.log" 2>&1; then
    log "ok: built: $(cat "$WORK/one.log")"
    check "two builds give the same initramfs bytes" cmp -s "$WORK/one/initramfs.cpio.gz" "$WORK/two/initramfs.cpio.gz"
    check "vmlinuz is the installed kernel" bash -c "cmp -s '$WORK/one/vmlinuz' /boot/vmlinuz-\$(sed -n 's/.*vmlinuz (\(.*\)),.*/\1/p' '$WORK/one.log')"
    zcat "$WORK/one/initramfs.cpio.gz" | cpio -t --quiet > "$WORK/list" 2> /dev/null
    zcat "$WORK/one/initramfs.cpio.gz" | cpio -tv --quiet > "$WORK/listv" 2> /dev/null
    for f in init bin/busybox bin/sh bin/httpd bin/ip bin/insmod lib/modules/load-order \
        lib/modules/virtio_net.ko lib/modules/virtio_pci.ko lib/modules/virtio_mmio.ko dev proc sys; do
        check "archive holds $f" grep -qx "$f" "$WORK/list"
    done
    check "no device nodes in the archive" bash -c "! grep -q '^[cb]' '$WORK/listv'"
    # cpio -tv: mode links owner group size Mon day year name
    check "every entry owned by root, mtime of SOURCE_DATE_EPOCH (0)" \
        [ "$(awk '$3 != "root" || $4 != "root" || $8 != "1970"' "$WORK/listv" | wc -l)" = 0 ]
    # Modules load after their dependencies: virtio_net after virtio, failover, net_failover.
    mapfile -t order < <(zcat "$WORK/one/initramfs.cpio.gz" |
        cpio -i --quiet --to-stdout lib/modules/load-order 2> /dev/null)
    log "load order: ${order[*]}"
    position() {  # position NAME: its index in the load order (99 when absent)
        local i
        for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo "$i"; return; }; done
        echo 99
    }
    for pair in virtio_ring:virtio virtio:virtio_net failover:net_failover net_failover:virtio_net \
        virtio_pci_modern_dev:virtio_pci virtio:virtio_mmio; do
        pa=$(position "${pair%%:*}") pb=$(position "${pair#*:}")
        check "load order: ${pair%%:*} ($pa) before ${pair#*:} ($pb)" [ $((pa < pb && pb < 99)) = 1 ]
    done
else
    fail "build-initramfs: $(tail -1 "$WORK/one.log" "$WORK/two.log" 2> /dev/null | tr '\n' ' ')"
fi

if [ "$FAILURES" -ne 0 ]; then log "$FAILURES check(s) failed"; exit 1; fi
log "PASS"
