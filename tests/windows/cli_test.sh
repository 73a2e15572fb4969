#!/usr/bin/env bash
# syn-guard.exe's command line under Wine: the seed's own agent command
# (--enable-syn-guard --flood-threshold 200 --flood-window 5s
# --block-duration 60s) is accepted and the agent goes as far as Wine lets it
# (the filtering engine: Wine has none), while out-of-range and malformed
# values are refused with the Linux agent's messages before anything opens;
# the control commands say when no agent answers on the pipe.
#   cli_test.sh SYN_GUARD_EXE
set -euo pipefail
source "$(dirname "$0")/lib.sh"
wine_test_init cli_test
exe=$1

run() {  # ARGS...: syn-guard.exe's output with "rc=N" appended
  set +e
  local text
  text=$("$wine" "$exe" "$@" 2>&1)
  local rc=$?
  set -e
  [ $rc = 77 ] && exit 77
  printf '%s\nrc=%d' "${text//$'\r'/}" "$rc"  # Wine's console writes CRLF
}

out=$(run agent --enable-syn-guard --flood-threshold 200 --flood-window 5s --block-duration 60s)
echo "$out"
check "the seed's command line is accepted: the agent stops only at Wine's missing WFP" "$out" \
  'agent: opening the filtering engine: FwpmEngineOpen0'
check "with exit code 1 (a run-time failure, not a usage error)" "$out" '^rc=1$'

out=$(run agent --enable-syn-guard --flood-threshold 0 --flood-window 5s --block-duration 60s)
echo "$out"
check "a threshold out of range is refused before the engine" "$out" \
  '^syn-guard: agent: --flood-threshold: 0 is out of range \(1\.\.1000000\)$'
check "with exit code 2" "$out" '^rc=2$'

out=$(run agent --enable-syn-guard --flood-threshold 200 --flood-window 5x --block-duration 60s)
echo "$out"
check "a malformed window is refused, naming the units" "$out" \
  "--flood-window: invalid duration '5x': unknown unit 'x'"
check "with exit code 2" "$out" '^rc=2$'

for cmd in status blocks; do
  out=$(run "$cmd")
  echo "$out"
  check "$cmd without a running agent says so" "$out" "^syn-guard: $cmd: no agent is running \(no pipe\)$"
done
exit $fail
