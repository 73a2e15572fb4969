#!/usr/bin/env bash
# Builds the dashboard (web/, docs/dashboard.md) into the console's web root:
# build/share/syn-guard/web by default, or the directory given as $1.
# `npm ci` runs only when web/node_modules is older than package-lock.json.
# Each asset gets a .gz sibling (gzip -9), which the console sends to browsers
# that accept gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-build/share/syn-guard/web}
case $out in /*) ;; *) out=$root/$out ;; esac
cd web
stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx --no-install tsc --noEmit
npx --no-install vite build --outDir "$out" --emptyOutDir --logLevel warn
find "$out" -type f \( -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' -o -name '*.json' -o -name '*.map' \) \
  -exec gzip -k -9 -f -n {} +
echo "dashboard built into $out ($(du -sk "$out" | cut -f1) KiB)"
