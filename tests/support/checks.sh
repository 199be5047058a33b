# Sourced by the integration test scripts: one line per check, failures counted (the
# script exits non-zero at its end when FAILURES > 0). Set CHECK_TAG before sourcing.
FAILURES=0
log() { echo "[$CHECK_TAG] $*"; }
fail() { echo "[$CHECK_TAG] FAIL: $*"; FAILURES=$((FAILURES + 1)); }
check() {  # check "description" command...
  local what=$1; shift
  if "$@"; then log "ok: $what"; else fail "$what"; fi
}

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# wait_until SECONDS CMD...: polls CMD every 20 ms, gives up after SECONDS (whole seconds).
wait_until() {
  local end=$(($(now_ms) + $1 * 1000)); shift
  until "$@"; do [ "$(now_ms)" -lt $end ] || return 1; sleep 0.02; done
}

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
