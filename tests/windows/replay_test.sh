#!/usr/bin/env bash
# syn-guard.exe replay under Wine gives what the Linux replay gives for the same
# capture (flood_pcap.py): one detection at +1.000s and the summary's counts
# (the expected lines are the Linux build's output for this capture).
# The capture is passed as Z:/tmp/...: Wine maps Z: to /, and a path starting
# with / would read as a Windows-style option.
#   replay_test.sh SYN_GUARD_EXE
set -euo pipefail
source "$(dirname "$0")/lib.sh"
wine_test_init replay_test
exe=$1
python3 "$here/flood_pcap.py" "$dir/flood.pcap"
set +e
out=$("$wine" "$exe" replay --flood-threshold 200 "Z:$dir/flood.pcap" 2>&1)
rc=$?
set -e
[ $rc = 77 ] && exit 77
echo "$out"
for want in \
  "+1.000s  FLOOD 198.51.100.7 -> port 443: 201 half-open attempts in 5s, blocked 1m" \
  "summary: 1.495s of capture, 300 packets" \
  "attempts (SYN without ACK/RST): 300 from 1 distinct sources, peak 200/s" \
  "malformed 0, fragments 0, non-IP 0" \
  "blocks 1, packets dropped 100, first detection at +1.000s" \
  "exact per-source state: peak 1 of 65536 slots; sketch gating: no"; do
  if ! grep -qF -- "$want" <<<"$out"; then
    echo "replay_test: missing: $want" >&2
    fail=1
  fi
done
exit $fail
