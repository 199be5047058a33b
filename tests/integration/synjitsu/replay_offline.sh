#!/usr/bin/env bash
# Replays every capture in pcaps/synjitsu/ offline through synjitsu and compares with the
# committed expected outcome:
#   NAME.queue      --dump-queue output (one line per queued SYN)
#   NAME.out.pcap   the frames synjitsu would send (--pcap-out), byte for byte
#   NAME.metrics    the non-zero counters ("name value")
# Each capture runs twice: identical input must give byte-identical output.
#   replay_offline.sh            compare (ctest)
#   replay_offline.sh --update   rewrite the expected files (review the diff!)
#   replay_offline.sh [--update] DIR   the same for another directory of captures in this
#                                format (pcaps/e2e: recorded runs of the whole system)
# No network use at all.
set -euo pipefail

bin=${JITSU_BIN:?JITSU_BIN not set}/synjitsu
src=${JITSU_SOURCE_DIR:?JITSU_SOURCE_DIR not set}
dir=$src/pcaps/synjitsu
min_captures=6
update=0
[ "${1:-}" = "--update" ] && { update=1; shift; }
[ $# -ge 1 ] && { dir=$1; min_captures=1; }

tmp=$(mktemp -d /tmp/sj-replay.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

nonzero_counters() {
  grep -v '^#' "$1" | awk '$2 != 0 { sub(/^synjitsu_/, "", $1); print $1, $2 }'
}

fail=0
count=0
for pcap in "$dir"/*.pcap; do
  case $pcap in *.out.pcap) continue ;; esac
  name=$(basename "$pcap" .pcap)
  read -r -a args < "$dir/$name.args"
  for run in 1 2; do
    "$bin" -q --pcap-in "$pcap" --pcap-out "$tmp/$name.$run.out.pcap" --dump-queue \
      --metrics-file "$tmp/$name.$run.prom" "${args[@]}" > "$tmp/$name.$run.queue"
    nonzero_counters "$tmp/$name.$run.prom" > "$tmp/$name.$run.metrics"
  done
  for ext in queue out.pcap metrics; do
    if ! cmp -s "$tmp/$name.1.$ext" "$tmp/$name.2.$ext"; then
      echo "FAIL $name: two runs differ in .$ext (not deterministic)"
      fail=1
    fi
    if [ $update = 1 ]; then
      cp "$tmp/$name.1.$ext" "$dir/$name.$ext"
    elif ! cmp -s "$tmp/$name.1.$ext" "$dir/$name.$ext"; then
      echo "FAIL $name: .$ext differs from the expected outcome"
      if [ "$ext" = out.pcap ]; then
        diff <(tcpdump -nn -e -xx -r "$dir/$name.$ext" 2>/dev/null) \
             <(tcpdump -nn -e -xx -r "$tmp/$name.1.$ext" 2>/dev/null) | head -20 || true
      else
        diff "$dir/$name.$ext" "$tmp/$name.1.$ext" | head -20 || true
      fi
      fail=1
    fi
  done
  count=$((count + 1))
done
[ $count -ge $min_captures ] || { echo "FAIL: only $count captures in $dir"; exit 1; }
if [ $fail = 0 ]; then
  echo "$count captures replayed offline: outcomes as expected, deterministic"
fi
exit $fail
