#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz and runs each
# for FUZZ_SECONDS (default 20) over a copy of its seed corpus; fails on any
# crash, leak or sanitizer report. New inputs land in fuzz/corpus-<name>/
# (git-ignored), never in the committed seeds.
#   scripts/fuzz-smoke.sh            # all targets (fuzz/*_fuzz.cpp)
#   FUZZ_SECONDS=300 scripts/fuzz-smoke.sh packet_fuzz
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-20}"
JOBS="${FUZZ_BUILD_JOBS:-2}"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSYNGUARD_FUZZ=ON -DSYNGUARD_TESTS=OFF -DSYNGUARD_BENCH=OFF >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in "$ROOT"/fuzz/*_fuzz.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}"

failed=0
for t in "${targets[@]}"; do
  seeds="$ROOT/fuzz/corpus/${t%_fuzz}"
  work="$ROOT/fuzz/corpus-${t%_fuzz}"
  artifacts="$BUILD/fuzz/artifacts-$t/"
  mkdir -p "$work" "$artifacts"
  [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
  echo "== $t: ${SECONDS_EACH}s over $work"
  if ! "$BUILD/fuzz/$t" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" "$work" \
      >"$BUILD/fuzz/$t.log" 2>&1; then
    echo "!! $t failed; see $BUILD/fuzz/$t.log and $artifacts" >&2
    tail -40 "$BUILD/fuzz/$t.log" >&2
    failed=1
  else
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$BUILD/fuzz/$t.log" | tail -1
  fi
done
exit $failed
