#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever syn-guard needs to build, run
# and test that is not there yet (and the browser test's node packages).
# Idempotent and quiet when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ccache
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev   # kernel program + skeletons
  libnftables-dev nftables                                # nftables enforcer
  libnftnl-dev libmnl-dev                                 # its netlink fast path
  libxdp-dev xdp-tools                                    # libxdp's dispatcher; xdp-loader in tests
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev     # flags, config, JSON
  libboost1.81-dev                                        # Beast: the metrics endpoint, the console's HTTPS/WebSocket
  libssl-dev                                              # console PKI and TLS
  libsqlite3-dev                                          # the console's embedded store
  libgtest-dev libgmock-dev libbenchmark-dev              # tests and benchmarks
  iproute2 iputils-ping procps                            # netns tests and the demo
  clang-format clang-tidy libclang-rt-14-dev              # style, libFuzzer runtime
  systemd                                                 # systemd-analyze: unit_security
  postgresql postgresql-client libpq-dev                  # the tests' server (scripts/pg-test-server.sh)
  chromium fonts-dejavu-core                              # the dashboard's browser test (tests/e2e)
  firefox-esr libnss3-tools                               # ... in Firefox too (certutil: its profile trusts the console CA)
)

# The Windows agent (scripts/build-windows.sh): mingw-w64's C++ compiler with
# POSIX threads, GoogleTest's sources to build for it, Wine to run its tests.
packages+=(
  g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix mingw-w64-x86-64-dev
  googletest wine64
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 2
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The dashboard's browser test drives /usr/bin/chromium with playwright-core
# (tests/e2e/package-lock.json; never a browser download). `npm ci` again only
# when the lock file changed since the last install.
e2e="$(dirname "$0")/../tests/e2e"
if [[ -f $e2e/package-lock.json ]] && ! cmp -s "$e2e/package-lock.json" "$e2e/node_modules/.sg-installed-lock"; then
  echo "install-deps: npm ci in $e2e"
  (cd "$e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp "$e2e/package-lock.json" "$e2e/node_modules/.sg-installed-lock"
fi
