# shellcheck shell=bash
# Shared helpers for jitsu-xenstored integration tests (sourced).
# Each test gets its own temporary directory; everything it starts is killed and the
# directory removed on exit, failure included. Every wait is bounded.
set -euo pipefail

: "${JITSU_BIN:?JITSU_BIN must point at the bin directory of the build}"
XSD=$JITSU_BIN/jitsu-xenstored
# shellcheck disable=SC2034 # used by the scripts sourcing this
TEST_XENSTORE=/usr/lib/xen-4.17/bin/test-xenstore
[ -x "$XSD" ] || { echo "missing $XSD" >&2; exit 1; }

WORK=$(mktemp -d /tmp/xsd-it.XXXXXX)
SOCK=$WORK/sock
export XENSTORED_PATH=$SOCK
XSD_PID=""
BG_PIDS=()

cleanup() {
  local rc=$?
  for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$XSD_PID" ]; then kill -9 "$XSD_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  if [ $rc -ne 0 ] && [ -f "$WORK/xsd.log" ]; then
    echo "--- jitsu-xenstored log ---" >&2; tail -n 50 "$WORK/xsd.log" >&2
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# wait_for COND_COMMAND... : up to 5 s
wait_for() {
  for _ in $(seq 100); do "$@" && return 0; sleep 0.05; done
  return 1
}

# start_xsd [extra args]: starts jitsu-xenstored on $SOCK, waits for the socket.
start_xsd() {
  rm -f "$SOCK"
  "$XSD" --socket "$SOCK" "$@" >>"$WORK/xsd.log" 2>&1 &
  XSD_PID=$!
  wait_for test -S "$SOCK" || fail "jitsu-xenstored did not create $SOCK"
  # The socket file appears at bind(); make sure it accepts.
  wait_for timeout 2 xenstore-exists / || fail "jitsu-xenstored does not answer"
}

# stop_xsd: SIGTERM and wait (bounded); returns its exit status in XSD_RC.
stop_xsd() {
  kill -TERM "$XSD_PID"
  for _ in $(seq 100); do kill -0 "$XSD_PID" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$XSD_PID" 2>/dev/null && fail "jitsu-xenstored ignored SIGTERM"
  set +e
  wait "$XSD_PID"
  # shellcheck disable=SC2034 # XSD_RC is read by the scripts sourcing this
  XSD_RC=$?
  set -e
  XSD_PID=""
}

kill9_xsd() {
  kill -9 "$XSD_PID"
  set +e; wait "$XSD_PID" 2>/dev/null; set -e
  XSD_PID=""
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
  [ "$1" == "$2" ] || fail "$3: expected [$2], got [$1]"
}
