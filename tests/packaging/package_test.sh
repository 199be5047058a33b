#!/bin/bash
# The Debian packages, as CI builds them: cpack in the build directory, then for each
# package its contents, Depends and conffiles (dpkg-deb), whether apt could install them
# all on this Debian (apt-get install --simulate ./*.deb), then the packages extracted
# into a scratch root (dpkg -x): `systemd-analyze verify --root` on the units (any output
# fails), `man -l` on every page (groff warnings fail) and every long option of each
# program's --help present in its page. The root is left for installed_daemons_test.sh
# (ctest fixture jitsu_packages) under $PKG_WORK.
# Usage: package_test.sh BUILD_DIR PKG_WORK INSTALL_PREFIX
set -u
BUILD=${1:?build directory}
PKG_WORK=${2:?work directory}
PREFIX=${3:?CMAKE_INSTALL_PREFIX of the build}
CHECK_TAG=package
. "$(dirname "$(readlink -f "$0")")/../support/checks.sh"

# The packages (and the paths inside their units) follow the build's install prefix; a
# Debian package installs under /usr.
if [ "$PREFIX" != /usr ]; then
    fail "this build installs under $PREFIX; packages need -DCMAKE_INSTALL_PREFIX=/usr (scripts/test sets it)"
    exit 1
fi

rm -rf "$PKG_WORK"
mkdir -p "$PKG_WORK/debs" "$PKG_WORK/root"
ROOT="$PKG_WORK/root"
for tool in cpack dpkg-deb dpkg systemd-analyze man apt-get; do
    command -v "$tool" >/dev/null || { fail "$tool is not installed"; exit 1; }
done

t0=$(now_ms)
(cd "$BUILD" && cpack -G DEB -B "$PKG_WORK/debs") > "$PKG_WORK/cpack.log" 2>&1 ||
    { fail "cpack failed:"; tail -20 "$PKG_WORK/cpack.log"; exit 1; }
log "cpack: $(( $(now_ms) - t0 )) ms"

deb_of() { ls "$PKG_WORK"/debs/"$1"_*_amd64.deb 2>/dev/null | head -1; }

# expect_package NAME "FILE..." "DEPENDS-REGEX..." "CONFFILE..."
expect_package() {
    local name=$1 files=$2 deps=$3 conffiles=$4 deb f d listing depends
    deb=$(deb_of "$name")
    [ -n "$deb" ] || { fail "$name: no package built"; return; }
    listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
    for f in $files; do
        check "$name contains $f" grep -qx "\.$f" <<< "$listing"
    done
    depends=$(dpkg-deb -f "$deb" Depends)
    for d in $deps; do
        check "$name Depends has $d" grep -Eq "(^|, )$d( |,|$)" <<< "$depends"
    done
    for f in $conffiles; do
        check "$name conffile $f" grep -qx "$f" < <(dpkg-deb --ctrl-tarfile "$deb" | tar xO ./conffiles)
    done
    # Ours are static libraries: nothing may need a library outside the system's
    # (no RUNPATH, no unresolved library).
    dpkg -x "$deb" "$ROOT"
    for f in $files; do
        case $f in */bin/*|*/sbin/*) ;; *) continue ;; esac
        if readelf -d "$ROOT$f" | grep -Eq 'RPATH|RUNPATH'; then fail "$f has an RPATH"; fi
        if ldd "$ROOT$f" | grep -q 'not found'; then fail "$f: $(ldd "$ROOT$f" | grep 'not found' | head -1)"; fi
    done
}

expect_package jitsu-xenstored \
    "/usr/sbin/jitsu-xenstored /usr/lib/systemd/system/jitsu-xenstored.service /etc/default/jitsu-xenstored /usr/share/man/man8/jitsu-xenstored.8" \
    "libc6 libspdlog1.10-fmt9 libsystemd0" "/etc/default/jitsu-xenstored"
expect_package synjitsu \
    "/usr/sbin/synjitsu /usr/lib/systemd/system/synjitsu.service /etc/default/synjitsu /usr/share/man/man8/synjitsu.8" \
    "jitsu-xenstored libpcap0.8 libnl-3-200 libsystemd0" "/etc/default/synjitsu"
expect_package jitsu-dns \
    "/usr/sbin/jitsu-dns /usr/bin/jitsu-ctl /usr/lib/systemd/system/jitsu-dns.service /etc/default/jitsu-dns /etc/jitsu/jitsu-dns.conf /usr/share/man/man8/jitsu-dns.8 /usr/share/man/man1/jitsu-ctl.1" \
    "jitsu-xenstored jitsu-guest libvirt0 libuuid1 libsystemd0" "/etc/default/jitsu-dns /etc/jitsu/jitsu-dns.conf"
expect_package jitsu-guest \
    "/usr/sbin/jitsu-netvm /usr/bin/jitsu-httpd /usr/share/man/man8/jitsu-netvm.8 /usr/share/man/man1/jitsu-httpd.1" \
    "libnl-3-200 libnl-route-3-200" ""
check "jitsu-dns recommends synjitsu" grep -q synjitsu <<< "$(dpkg-deb -f "$(deb_of jitsu-dns)" Recommends)"

# Every Depends resolvable here: what `apt-get install ./*.deb` on Debian 12 needs
# (simulated: nothing is installed).
if apt-get install --simulate --no-install-recommends "$PKG_WORK"/debs/*.deb > "$PKG_WORK/apt.log" 2>&1; then
    log "ok: apt-get install --simulate of the four packages"
else
    fail "apt-get install --simulate:"; tail -5 "$PKG_WORK/apt.log"
fi

# systemd-analyze verify in the scratch root, with the base units (targets) copied in.
mkdir -p "$ROOT/lib/systemd"
cp -r /lib/systemd/system "$ROOT/lib/systemd/"
out=$(cd "$ROOT" && MANPATH="$ROOT/usr/share/man" systemd-analyze verify --root="$ROOT" \
    "$ROOT"/usr/lib/systemd/system/{jitsu-xenstored,synjitsu,jitsu-dns}.service 2>&1)
rc=$?
if [ $rc = 0 ] && [ -z "$out" ]; then log "ok: systemd-analyze verify (3 units)"; else fail "systemd-analyze verify (rc $rc): $out"; fi
for u in jitsu-xenstored synjitsu jitsu-dns; do
    check "$u.service is Type=notify" grep -qx 'Type=notify' "$ROOT/usr/lib/systemd/system/$u.service"
done
for u in synjitsu jitsu-dns; do
    check "$u.service requires and follows jitsu-xenstored" \
        grep -q '^Requires=jitsu-xenstored.service' "$ROOT/usr/lib/systemd/system/$u.service"
    check "$u.service After= jitsu-xenstored" \
        grep -q '^After=jitsu-xenstored.service' "$ROOT/usr/lib/systemd/system/$u.service"
done

# Man pages: render without groff warnings (long unbreakable words aside), and every
# long option of --help is in the page.
check_page() {  # check_page PAGE PROGRAM [SUBCOMMAND]
    local page=$1 prog=$2 warnings text opt missing=""
    warnings=$(MANWIDTH=80 man -l -Tutf8 --warnings=w "$page" 2>&1 >/dev/null |
        grep -v -e 'cannot adjust line' -e "can't break line" -e 'cannot break line')
    [ -z "$warnings" ] || fail "$page: $warnings"
    text=$(MANWIDTH=400 man -l -Tutf8 "$page" 2>/dev/null | col -b | sed 's/‐/-/g')
    [ -n "$text" ] || { fail "$page renders empty"; return; }
    for opt in $("$prog" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u) \
               ${3:+$("$prog" "$3" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)}; do
        grep -q -- "$opt" <<< "$text" || missing+=" $opt"
    done
    [ -z "$missing" ] && log "ok: $(basename "$page") renders, documents every option" ||
        fail "$(basename "$page") lacks:$missing"
}
for p in jitsu-xenstored synjitsu jitsu-dns jitsu-netvm; do
    check_page "$ROOT/usr/share/man/man8/$p.8" "$ROOT/usr/sbin/$p"
done
check_page "$ROOT/usr/share/man/man1/jitsu-httpd.1" "$ROOT/usr/bin/jitsu-httpd"
check_page "$ROOT/usr/share/man/man1/jitsu-ctl.1" "$ROOT/usr/bin/jitsu-ctl" status

log "$(du -ch "$PKG_WORK"/debs/*.deb | tail -1 | cut -f1) of packages; root kept in $ROOT"
[ "$FAILURES" = 0 ] || { log "$FAILURES failure(s)"; exit 1; }
log "all checks passed"
