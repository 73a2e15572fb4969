#!/usr/bin/env bash
# Configures and builds syn-guard into build/ (binaries in build/bin/).
# Extra arguments go to cmake's configure step, e.g. -DSYNGUARD_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to here, so any clone of the repo shares it.
export CCACHE_BASEDIR="$PWD"
export CCACHE_NOHASHDIR=1
build_dir=${SYNGUARD_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
# The dashboard's page, into the web root the console finds beside its binary.
scripts/build-web.sh "$build_dir/share/syn-guard/web"
