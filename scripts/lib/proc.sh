# shellcheck shell=bash
# Time and process helpers shared by the scripts' libraries (libvirtd.sh), the demo and the
# tests (tests/support/checks.sh sources this file).

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# wait_until SECONDS CMD...: polls CMD every 20 ms, gives up after SECONDS (whole seconds).
wait_until() {
  local end=$(($(now_ms) + $1 * 1000)); shift
  until "$@"; do [ "$(now_ms)" -lt $end ] || return 1; sleep 0.02; done
}

# proc_identity PID: "PID:STARTTIME" (starttime: field 22 of /proc/PID/stat, clock ticks
# since boot), so a later check is about this process and not one that reused its pid.
# Fails when the process is gone.
proc_identity() {
  local st fields
  st=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
  # The comm field (2) may hold spaces and parentheses: split after its last ')'.
  read -r -a fields <<< "${st##*) }"
  echo "$1:${fields[19]}"
}
# proc_running ID: the process of that identity is still there and has not finished
# exiting. A zombie (exited, not yet reaped by its parent) does not count: it holds
# nothing but its pid. One still exiting (state D while its sockets close) does.
proc_running() {
  local pid=${1%%:*} st fields
  st=$(cat "/proc/$pid/stat" 2> /dev/null) || return 1
  read -r -a fields <<< "${st##*) }"
  [ "$pid:${fields[19]}" = "$1" ] || return 1
  case ${fields[0]} in Z | X | x) return 1 ;; esac
  return 0
}
# none_running ID...: none of these processes is running (for wait_until).
none_running() {
  local id
  for id in "$@"; do proc_running "$id" && return 1; done
  return 0
}
