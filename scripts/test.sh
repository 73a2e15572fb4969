#!/usr/bin/env bash
# Quick start, command 2 (and what .ci/run calls): installs what is missing,
# builds, and runs every test: unit, kernel program (BPF_PROG_TEST_RUN), real
# traffic in network namespaces (with the dashboard in headless Chromium:
# screenshots in build/e2e-artifacts/), PostgreSQL against a throwaway server,
# the unit tests again under ASan+UBSan, the dashboard's own tests (tsc,
# Vitest), the Windows agent cross-compiled with its tests under Wine, a short
# run of every fuzzer, and the format check. SYNGUARD_TEST_JOBS sets ctest's
# parallelism (default nproc+2). Needs root for the bpf and netns
# labels; with CI=true a missing privilege fails those tests instead of
# skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1 # shared cache across clones
start=$(date +%s)
section() { echo; echo "== $* ($(( $(date +%s) - start ))s)"; }

section "dependencies"
scripts/install-deps.sh

section "build"
scripts/build.sh

section "format check"
files=$(git ls-files '*.cpp' '*.h' | grep -v '^bpf/' || true)
if ! clang-format --dry-run -Werror $files 2>/tmp/sg-format.txt; then
  head -40 /tmp/sg-format.txt
  echo "clang-format: the files above need formatting (run: clang-format -i <file>)"
  exit 1
fi

section "naming check (clang-tidy, .clang-tidy)"
# A few files per clang-tidy, one per core: serially this was the slowest step.
git ls-files 'src/*.cpp' | grep -v -E '_(test|win)\.cpp$' \
  | xargs -P"$(nproc)" -n4 clang-tidy -p build --quiet 2>&1 \
  | grep -E "(warning|error): " && { echo "clang-tidy: naming rules broken (see .clang-tidy)"; exit 1; }

section "test PostgreSQL server (scripts/pg-test-server.sh)"
SYNGUARD_TEST_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/syn-guard-pg.XXXXXX")
export SYNGUARD_TEST_PG_DIR
trap 'scripts/pg-test-server.sh stop' EXIT # on success, failure or interrupt
SYNGUARD_TEST_PG_URL=$(scripts/pg-test-server.sh start)
export SYNGUARD_TEST_PG_URL
echo "at ${SYNGUARD_TEST_PG_URL%%:*}://…@${SYNGUARD_TEST_PG_URL#*@}"

section "unit, bpf, netns and pg tests"
# One ctest entry per GoogleTest suite (cmake/SynGuardTest.cmake), run side by
# side: most of them wait on the network or on timers, not on the CPU.
jobs=${SYNGUARD_TEST_JOBS:-$(($(nproc) + 2))}
ctest --test-dir build -j"$jobs" --output-on-failure --no-tests=error | tee /tmp/sg-ctest.txt

section "dashboard: type check and Vitest (scripts/test-web.sh)"
scripts/test-web.sh

section "unit tests under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DSYNGUARD_SANITIZE=ON -DSYNGUARD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$(nproc)" --target sg_unit_tests # every unit-labelled executable
ctest --test-dir build-asan -L unit -j"$jobs" --output-on-failure --no-tests=error

section "Windows agent: mingw-w64 build, its tests under Wine (scripts/build-windows.sh)"
scripts/build-windows.sh

section "fuzz smoke"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} scripts/fuzz-smoke.sh

section "done"
# The closing line: ctest entries (one per GoogleTest suite, each holding cases).
summary=$(grep -E "tests passed, [0-9]+ tests failed out of" /tmp/sg-ctest.txt | tail -1)
total=$(echo "$summary" | sed -E 's/.* out of ([0-9]+).*/\1/')
failed=$(echo "$summary" | sed -E 's/.*, ([0-9]+) tests failed.*/\1/')
echo "dashboard screenshots (tests/netns/dashboard_e2e_test.cpp): build/e2e-artifacts/"
echo "ctest: $((total - failed)) passed, $failed failed"
