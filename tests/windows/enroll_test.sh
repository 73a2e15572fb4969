#!/usr/bin/env bash
# The Windows agent's own enrollment under Wine against a real Linux console
# (build/bin/syn-guard console, real TLS on 127.0.0.1): `syn-guard.exe agent
# --console URL --enroll TOKEN` makes its key with BCrypt, its CSR
# (src/win/csr_der.cpp), posts it over WinHTTP after checking the console's
# chain against the token's CA pin, and keeps the certificate and the
# DPAPI-sealed key in the state directory. Then the agent goes on and stops
# where Wine stops it (no filtering engine): by then it has loaded the
# credentials and unsealed the key. Also: the default state directory
# (%ProgramData%\syn-guard\agent), a token whose pin is not the console's CA
# (refused before the token is sent: it stays usable), servers failing the
# pin or serverAuth (they see at most the empty GET probe: no POST, no token),
# and a replayed token
# (refused by the agent in the same state directory, by the console in
# another). Presenting the certificate is not tested here: Wine's Schannel
# cannot (docs/windows-notes.md).
#   enroll_test.sh SYN_GUARD_EXE
# Needs the Linux build (SYNGUARD_LINUX_BUILD, default build/): skipped
# (77) without it, failed with CI=true.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
wine_test_init enroll_test
exe=$1
need_linux_build
start_console
token=$("$sg" console token create --data "$dir/console")

agent() {  # OUT_VAR ARGS...: runs syn-guard.exe agent, "rc=N" appended to its output
  local __out=$1
  shift
  set +e
  local text
  text=$("$wine" "$exe" agent "$@" 2>&1)
  local rc=$?
  set -e
  [ $rc = 77 ] && exit 77
  printf -v "$__out" '%s\nrc=%d' "$text" "$rc"
}

sniff_enroll() {  # CERT KEY LOG: the agent enrolls (as step 3 will) against a
  # sniffer presenting CERT; $out is the agent's output, LOG what the sniffer saw.
  local sport sniffer
  sport=$(free_port)
  spawn_logged "$3" python3 "$here/agent_stand_in.py" sniff "$sport" "$1" "$2" "$dir/console/ca.crt" 1
  sniffer=$bg
  wait_for "$3" "sniff ready" 10
  agent out --console "https://127.0.0.1:$sport" --enroll "$token" --name win-enroll \
    --state-dir "Z:$dir/state"
  echo "$out"
  wait "$sniffer" 2>/dev/null || true
  cat "$3"
}

no_post() {  # SNIFF_LOG: the server saw no POST (the enrollment's request line)
  if grep -q "POST" "$1"; then
    echo "enroll_test: FAILED: the enrollment's POST reached a server that failed the checks" >&2
    fail=1
  fi
}

# 1. No --state-dir: the state directory is %ProgramData%\syn-guard\agent.
agent out --console "$url"
echo "$out"
check "without --state-dir the agent's state is in %ProgramData%\\syn-guard\\agent" "$out" \
  'not enrolled \(nothing in C:\\ProgramData\\syn-guard\\agent\)'
check "and it says so with exit code 2" "$out" '^rc=2$'

# 2. A token pinning another CA: the console's chain does not hold it, the
# token is not sent (and stays usable: step 3 spends it).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=other-ca \
  -days 1 -keyout "$dir/other.key" -out "$dir/other-ca.crt" 2>/dev/null
other_pin=$(openssl x509 -in "$dir/other-ca.crt" -pubkey -noout | openssl pkey -pubin -outform DER |
  sha256sum | cut -d' ' -f1)
agent out --console "$url" --enroll "${token%.*}.$other_pin" --name win-enroll --state-dir "Z:$dir/state"
echo "$out"
check "a console whose chain lacks the pinned CA is refused before the token goes" "$out" \
  "holds no CA with the token's pin: not sending the token"
check "with exit code 2, nothing saved" "$out" '^rc=2$'
[ ! -e "$dir/state/console.json" ] || { echo "enroll_test: FAILED: console.json written" >&2; fail=1; }

# 2b. A server with a certificate from the console's CA but without serverAuth
# (another agent's certificate is such): refused before the token is sent.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
  -keyout "$dir/fake.key" -out "$dir/fake.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=clientAuth\n' >"$dir/fake.ext"
sign_cert "$dir/fake.crt" -in "$dir/fake.csr" -CA "$dir/console/ca.crt" -CAkey "$dir/console/ca.key" \
  -CAcreateserial -days 1 -extfile "$dir/fake.ext"
sniff_enroll "$dir/fake.crt" "$dir/fake.key" "$dir/sniff.log"
check "a certificate without serverAuth is refused" "$out" "lacks serverAuth"
check "and never gets the token" "$(cat "$dir/sniff.log")" 'sniff: .* token=no '
check "nor the enrollment's headers: at most the empty probe (GET, no body)" \
  "$(cat "$dir/sniff.log")" "sniff: .* first='GET /v1/enroll HTTP/1.1'"
no_post "$dir/sniff.log"

# 2c. The same with a certificate from another CA (the token pins the
# console's): the pin fails on the probe, no enrollment header goes.
openssl req -new -key "$dir/fake.key" -subj /CN=127.0.0.1 -out "$dir/other.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/other.ext"
openssl x509 -req -in "$dir/other.csr" -CA "$dir/other-ca.crt" -CAkey "$dir/other.key" \
  -CAcreateserial -days 1 -extfile "$dir/other.ext" -out "$dir/other.crt" 2>/dev/null
sniff_enroll "$dir/other.crt" "$dir/fake.key" "$dir/sniff2.log"
check "a server whose chain lacks the pinned CA is refused" "$out" "holds no CA with the token's pin"
check "and gets neither the token nor the enrollment's headers" "$(cat "$dir/sniff2.log")" \
  "sniff: .* token=no first='GET /v1/enroll HTTP/1.1'"
no_post "$dir/sniff2.log"

# 3. The enrollment: the token is accepted, the certificate issued and kept.
agent out --console "$url" --enroll "$token" --name win-enroll --state-dir "Z:$dir/state"
echo "$out"
check "the console accepted the token and the CSR" "$out" '"event":"enrolled".*"name":"win-enroll"'
check "the agent loaded the credentials (key unsealed) and stopped only at Wine's missing WFP" \
  "$out" 'opening the filtering engine'
for f in agent.key.dpapi agent.crt ca.crt console.json; do
  [ -s "$dir/state/$f" ] || { echo "enroll_test: FAILED: no $f" >&2; fail=1; }
done
[ ! -e "$dir/state/agent.key" ] || { echo "enroll_test: FAILED: a plain agent.key" >&2; fail=1; }
if grep -q "PRIVATE KEY" "$dir/state/agent.key.dpapi"; then
  echo "enroll_test: FAILED: agent.key.dpapi holds a plain key" >&2
  fail=1
fi
verify=$(openssl verify -CAfile "$dir/console/ca.crt" -purpose sslclient "$dir/state/agent.crt" 2>&1 || true)
check "agent.crt is a client certificate from the console's CA" "$verify" ': OK$'
cert=$(openssl x509 -in "$dir/state/agent.crt" -noout -subject -text)
check "naming the endpoint" "$cert" 'subject=CN ?= ?win-enroll'
check "for an EC P-256 key" "$cert" 'ASN1 OID: prime256v1'
cmp -s "$dir/state/ca.crt" "$dir/console/ca.crt" || { echo "enroll_test: FAILED: ca.crt" >&2; fail=1; }
meta=$(cat "$dir/state/console.json")
check "console.json names the console, the endpoint and the token's hash" "$meta" \
  "\"token_sha256\": \"[0-9a-f]{64}\""
endpoints=$("$sg" ctl endpoints --json 2>&1 || true)
check "the console lists the endpoint" "$endpoints" '"name": ?"win-enroll"'

# 4. The token again: refused by the agent (same state directory), before
# any request; refused by the console (another directory): spent.
agent out --console "$url" --enroll "$token" --name win-enroll --state-dir "Z:$dir/state"
echo "$out"
check "the same token again is refused by the agent" "$out" 'already enrolled with this token'
check "with exit code 2" "$out" '^rc=2$'
agent out --console "$url" --enroll "$token" --name win-enroll-2 --state-dir "Z:$dir/state2"
echo "$out"
check "a replayed token is refused by the console" "$out" 'refused \(HTTP 403: .*already used'
check "with exit code 2, nothing saved" "$out" '^rc=2$'
[ ! -e "$dir/state2/console.json" ] || { echo "enroll_test: FAILED: state2 written" >&2; fail=1; }
exit $fail
