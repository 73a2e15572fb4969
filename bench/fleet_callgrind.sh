#!/usr/bin/env bash
# The console's instructions per agent per fan-out round, counted by
# valgrind's callgrind: exact and unmoved by other load on the machine (this
# VM has no hardware performance counters, and wall time on 2 shared cores
# moves by ~10 % between runs). Compares consoles that fleet_bench's timings
# cannot tell apart.
#
#   sudo bench/fleet_callgrind.sh [AGENTS=200] [ROUNDS=10] [CONSOLE_BIN_DIR=build/bin]
#
# (No ingest mode: under callgrind the console acknowledged 0-98 reports in
# 10-15 s of fleet_bench --ingest-only and its profile was not written at
# the stop; use fleet_bench --ingest-only's console CPU per detection.)
# KEEP_CALLGRIND=FILE keeps callgrind's output (callgrind_annotate
# --inclusive=yes FILE). Both phases count the TLS handshakes of fleet_bench's
# API calls too (a metric poll every 20 ms while a round runs: ~30 % of a
# 200-agent, 5-round count): compare SSL_accept's share between runs.
#
# The console runs under callgrind (~50x slower: keep AGENTS in the hundreds);
# its counters are zeroed when fleet_bench prints the fan-out phase line and
# written when fleet_bench stops it after the rounds (--fanout-only), so the
# count includes the console's shutdown. Not every instruction is the
# fan-out's: the console's per-second tick and fleet_bench's metric polls
# (every 20 ms while a round runs) scale with wall time, so counts of one
# console move by ~7 % between runs on a loaded machine: compare several runs.
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-200}
rounds=${2:-10}
bin_dir=$(realpath "${3:-build/bin}")
command -v valgrind >/dev/null || { echo "fleet_callgrind: valgrind is not installed (apt install valgrind)" >&2; exit 1; }
work=$(mktemp -d /tmp/sg-fleet-callgrind-XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/syn-guard" <<WRAP
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$work/console.%p "$bin_dir/syn-guard" "\$@"
WRAP
chmod +x "$work/syn-guard"
SYNGUARD_BIN_DIR=$work build/bin/fleet_bench --agents "$agents" --rounds "$rounds" --fanout-only \
  --connect-timeout 1200 2>"$work/stderr.fifo.log" >"$work/stdout.log" &
bench=$!
# Zero the counters at the phase line (fleet_bench pauses 2 s after it).
for _ in $(seq 1 2400); do
  if pid=$(sed -n 's/.*fan-out phase starts, console pid \([0-9]*\).*/\1/p' "$work/stderr.fifo.log"); [[ -n "$pid" ]]; then
    callgrind_control -z "$pid" >/dev/null
    break
  fi
  kill -0 "$bench" 2>/dev/null || break
  sleep 0.5
done
wait "$bench" || { cat "$work/stderr.fifo.log" "$work/stdout.log" >&2; exit 1; }
cat "$work/stdout.log"
out=$(ls "$work"/console.* | head -1)
total=$(callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "console instructions, fan-out phase: $total ($((total / (agents * rounds))) per agent per round; $agents agents x $rounds rounds; $bin_dir/syn-guard)"
if [[ -n "${KEEP_CALLGRIND:-}" ]]; then cp "$out" "$KEEP_CALLGRIND"; fi
