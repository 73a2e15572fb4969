#!/usr/bin/env bash
# The dashboard's unit tests (Vitest: web/src/**/*.test.ts) and type check.
set -euo pipefail
cd "$(dirname "$0")/../web"
stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx --no-install tsc --noEmit
npx --no-install vitest run --reporter=default
