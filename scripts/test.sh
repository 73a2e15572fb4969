#!/usr/bin/env bash
# Quick start, command 2 (and what .ci/run calls): installs what is missing,
# builds, and runs every test: unit, kernel program (BPF_PROG_TEST_RUN), real
# traffic in network namespaces, the unit tests again under ASan+UBSan, a short
# run of every fuzzer, and the format check. Needs root for the bpf and netns
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
clang-tidy -p build --quiet $(git ls-files 'src/*.cpp' | grep -v '_test\.cpp$') 2>&1 \
  | grep -E "(warning|error): " && { echo "clang-tidy: naming rules broken (see .clang-tidy)"; exit 1; }

section "unit, bpf and netns tests"
ctest --test-dir build --output-on-failure --no-tests=error | tee /tmp/sg-ctest.txt

section "unit tests under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DSYNGUARD_SANITIZE=ON -DSYNGUARD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$(nproc)" --target core_test agent_test proto_test console_test \
  console_store_test
ctest --test-dir build-asan -L unit --output-on-failure --no-tests=error

section "fuzz smoke"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} scripts/fuzz-smoke.sh

section "done"
# The closing line: test executables run by ctest (each holds many cases).
summary=$(grep -E "tests passed, [0-9]+ tests failed out of" /tmp/sg-ctest.txt | tail -1)
total=$(echo "$summary" | sed -E 's/.* out of ([0-9]+).*/\1/')
failed=$(echo "$summary" | sed -E 's/.*, ([0-9]+) tests failed.*/\1/')
echo "ctest: $((total - failed)) passed, $failed failed"
