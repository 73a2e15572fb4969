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

# The naming rules (.clang-tidy) over the Windows-only sources (*_win.cpp,
# which the Linux build's check skips), with this build's compile commands
# and mingw's headers. With CI=true or SYNGUARD_WIN_TIDY=1.
if [ "${CI:-}" = true ] || [ "${SYNGUARD_WIN_TIDY:-0}" = 1 ]; then
  gcc_dir=$(dirname "$(x86_64-w64-mingw32-g++-posix -print-libgcc-file-name)")
  extra=()
  for d in "$gcc_dir/include/c++" "$gcc_dir/include/c++/x86_64-w64-mingw32" \
           "$gcc_dir/include/c++/backward" /usr/x86_64-w64-mingw32/include; do
    extra+=("--extra-arg=-isystem$d")
  done
  if git ls-files 'src/win/*_win.cpp' | xargs -P"$(nproc)" -n3 clang-tidy -p "$build_dir" --quiet \
      "${extra[@]}" 2>&1 | grep -E "(warning|error): "; then
    echo "clang-tidy: naming rules broken in the Windows sources (see .clang-tidy)" >&2
    exit 1
  fi
fi
[ "${SYNGUARD_WIN_TESTS:-1}" = 1 ] || exit 0

# One Wine prefix for every test, made once before they run side by side.
export SYNGUARD_WINEPREFIX="$PWD/$build_dir/wineprefix"
if [ ! -f "$SYNGUARD_WINEPREFIX/system.reg" ]; then
  scripts/wine-run.sh wineboot --init >/dev/null 2>&1 || rc=$?
  if [ "${rc:-0}" = 77 ]; then echo "build-windows: no Wine; tests skipped" >&2; exit 0; fi
fi
ctest --test-dir "$build_dir" -L windows --output-on-failure -j"$(nproc)"
