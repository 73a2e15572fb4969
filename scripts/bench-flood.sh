#!/usr/bin/env bash
# Builds and runs bench/flood_bench.cpp: a real SYN flood in throwaway network
# namespaces against no protection, the agent's XDP and nftables enforcers and
# a kernel-only nftables meter, printed side by side. Needs root.
#   scripts/bench-flood.sh [--seconds 5] [--threshold 200]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DSYNGUARD_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target syn-guard flood_bench >/dev/null
SYNGUARD_BIN_DIR="$build/bin" exec "$build/bin/flood_bench" "$@"
