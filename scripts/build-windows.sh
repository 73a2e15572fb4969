#!/usr/bin/env bash
# Cross-compiles the Windows agent with mingw-w64 into build-windows/ (warnings
# as errors, static runtime) and runs its unit tests under Wine (ctest label
# windows). Needs scripts/install-deps.sh's Windows section (mingw-w64, wine64).
#   scripts/build-windows.sh            # build + tests
#   SYNGUARD_WIN_TESTS=0 scripts/build-windows.sh   # build only
# Without Wine the tests are skipped, except with CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"
export CCACHE_NOHASHDIR=1
build_dir=${SYNGUARD_WIN_BUILD_DIR:-build-windows}
cmake -S . -B "$build_dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/mingw-w64.cmake" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
[ "${SYNGUARD_WIN_TESTS:-1}" = 1 ] || exit 0

# One Wine prefix for every test, made once before they run side by side.
export SYNGUARD_WINEPREFIX="$PWD/$build_dir/wineprefix"
if [ ! -f "$SYNGUARD_WINEPREFIX/system.reg" ]; then
  scripts/wine-run.sh wineboot --init >/dev/null 2>&1 || rc=$?
  if [ "${rc:-0}" = 77 ]; then echo "build-windows: no Wine; tests skipped" >&2; exit 0; fi
fi
ctest --test-dir "$build_dir" -L windows --output-on-failure -j"$(nproc)"
