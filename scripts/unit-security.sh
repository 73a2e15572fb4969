#!/usr/bin/env bash
# Rates the confinement of deploy/syn-guard.service with systemd's own scale
# (`systemd-analyze security`, offline: no install, no systemd as PID 1) and
# fails if the overall exposure is above the aim (default 3.0; "OK" is < 5).
#   scripts/unit-security.sh            # prints the score, exit 1 above the aim
#   AIM=2.5 scripts/unit-security.sh
# Exit 77 (skipped) without a systemd-analyze that has --offline (systemd >= 250).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
UNIT="${UNIT:-$ROOT/deploy/syn-guard.service}"
AIM="${AIM:-3.0}"

if ! command -v systemd-analyze >/dev/null ||
   ! systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  echo "unit-security: systemd-analyze with --offline not found; skipped" >&2
  exit 77
fi
# --offline reads the unit file alone; its ExecStart need not exist.
out=$(systemd-analyze security --offline=yes --no-pager "$UNIT" 2>&1 || true)
line=$(grep -E "Overall exposure level" <<<"$out" || true)
if [[ -z "$line" ]]; then
  echo "$out" >&2
  echo "unit-security: no score in systemd-analyze's output" >&2
  exit 1
fi
score=$(sed -E 's/.*: ([0-9]+\.[0-9]+) .*/\1/' <<<"$line")
echo "unit-security: $(basename "$UNIT"): exposure $score (aim <= $AIM): ${line##*: }"
if awk -v s="$score" -v a="$AIM" 'BEGIN { exit !(s > a) }'; then
  grep -E "✗" <<<"$out" >&2 || true
  echo "unit-security: exposure $score is above the aim $AIM" >&2
  exit 1
fi
