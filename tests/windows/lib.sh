# Shared setup of the Wine tests in tests/windows (sourced, bash):
#   wine_test_init NAME      here, root, wine (scripts/wine-run.sh), a scratch
#                            $dir removed at exit with every pid in $pids
#                            killed, fail=0; a Wine prefix for the script
#                            unless SYNGUARD_WINEPREFIX names one
#   need_linux_build         $sg: build/bin/syn-guard (SYNGUARD_LINUX_BUILD),
#                            else skipped (77) — failed with CI=true
#   start_console            a Linux console on 127.0.0.1 with real TLS in
#                            $dir/console: $url, $cport; SYN_GUARD_* exported
#                            for `syn-guard ctl`
#   spawn_logged FILE CMD...  CMD in the background, its output in FILE
#                            (emptied first), its pid in $bg and $pids
#   wait_for FILE PATTERN SECONDS    free_port    check WHAT TEXT PATTERN
# Scripts end with `exit $fail`.

wine_test_init() {
  test_name=$1
  here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
  root="$here/../.."
  wine="$root/scripts/wine-run.sh"
  dir=$(mktemp -d "/tmp/sg-$test_name.XXXXXX")
  pids=()
  fail=0
  # One Wine prefix for all of this script's runs: scripts/build-windows.sh
  # shares one across the tests; run alone (ctest by hand), the script makes
  # its own rather than wine-run.sh making one per run (~10 s each).
  own_prefix=
  if [ -z "${SYNGUARD_WINEPREFIX:-}" ]; then
    export SYNGUARD_WINEPREFIX="$dir/wineprefix"
    own_prefix=1
  fi
  trap wine_test_cleanup EXIT
}

wine_test_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "$own_prefix" ] || "$wine" --stop-prefix
  rm -rf "$dir"
}

need_linux_build() {
  sg="${SYNGUARD_LINUX_BUILD:-$root/build}/bin/syn-guard"
  if [ ! -x "$sg" ]; then
    echo "$test_name: no Linux build at $sg (scripts/build.sh)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
  fi
}

# FILE is emptied here, before the command starts: `cmd >FILE &` empties it
# in the forked child, which under load may run after wait_for has already
# found the previous run's "ready" line in it (a second sniffer on sniff.log
# was then connected to before it listened: WinHTTP's 12029, CANNOT_CONNECT).
spawn_logged() {  # FILE COMMAND...
  local log=$1
  shift
  : >"$log"
  "$@" >>"$log" 2>&1 &
  bg=$!
  pids+=($bg)
}

wait_for() {  # FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$test_name: timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2 || true
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

check() {  # WHAT TEXT PATTERN
  if grep -qE -- "$3" <<<"$2"; then echo "ok: $1"; else
    echo "$test_name: FAILED: $1 (no '$3')" >&2
    fail=1
  fi
}

# Wine 8's CryptVerifyCertificateSignatureEx refuses an ECDSA signature whose
# r or s is shorter than the curve (31 bytes for P-256: about 1 signature in
# 64; 2 of 300 in a probe, docs/windows-notes.md), which the agent then
# reports as "not signed by the pinned CA". The certificates these tests make
# (and the console's own) are made again until both are full length, so a
# check is not failed by that Wine bug at random.
ecdsa_sig_full() {  # CERT: true when its signature's r and s are >= 32 bytes
  local der="$1.sigcheck.der" off
  openssl x509 -in "$1" -outform DER -out "$der"
  off=$(openssl asn1parse -inform DER -in "$der" | tail -1 | cut -d: -f1 | tr -d ' ')
  ! openssl asn1parse -inform DER -in "$der" -strparse "$off" |
    grep -qE 'l= *([0-9]|[12][0-9]|3[01]) prim: INTEGER'
}

sign_cert() {  # OUT ARGS...: openssl x509 -req ARGS -out OUT, again until ecdsa_sig_full
  local out=$1 i
  shift
  for ((i = 0; i < 30; i++)); do
    openssl x509 -req "$@" -out "$out" 2>/dev/null
    ecdsa_sig_full "$out" && return 0
  done
  echo "$test_name: 30 short ECDSA signatures in a row for $out" >&2
  return 1
}

start_console() {
  local i
  for ((i = 0; i < 10; i++)); do
    spawn_logged "$dir/console.log" \
      "$sg" console --data "$dir/console" --listen 127.0.0.1:0 --log-format json
    wait_for "$dir/console.log" console_ready 30
    ecdsa_sig_full "$dir/console/server.crt" && break
    kill "${pids[-1]}"
    wait "${pids[-1]}" 2>/dev/null || true
    rm -rf "$dir/console"
  done
  url=$(grep -m1 console_ready "$dir/console.log" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
  cport=${url##*:}
  export SYN_GUARD_CONSOLE=$url SYN_GUARD_TOKEN_FILE=$dir/console/admin.token
  export SYN_GUARD_CA_FILE=$dir/console/ca.crt
}
