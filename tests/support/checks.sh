# shellcheck shell=bash
# Sourced by the integration test scripts: one line per check, failures counted (the
# script exits non-zero at its end when FAILURES > 0). Set CHECK_TAG before sourcing.
FAILURES=0
log() { echo "[$CHECK_TAG] $*"; }
fail() { echo "[$CHECK_TAG] FAIL: $*"; FAILURES=$((FAILURES + 1)); }
check() {  # check "description" command...
  local what=$1; shift
  if "$@"; then log "ok: $what"; else fail "$what"; fi
}
# now_ms, wait_until, proc_identity, proc_running, none_running
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/proc.sh"

# stop_pids PID...: SIGTERM, up to 5 s for them to exit (they clean up), then SIGKILL.
stop_pids() {
  local p alive
  for p in "$@"; do kill -TERM "$p" 2> /dev/null; done
  for _ in $(seq 50); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2> /dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "$@"; do kill -KILL "$p" 2> /dev/null; done
}
