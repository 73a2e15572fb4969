#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds, and starts the
# main job on this host:
#   - a console (SQLite under /var/lib/syn-guard/console, https://127.0.0.1:8443)
#     in the background, its log in /var/lib/syn-guard/console/console.log;
#   - an agent protecting this host, enrolled to that console (the first time
#     with a one-time token; later starts reuse its credentials), in the
#     foreground. Ctrl-C stops both.
# Arguments go to `syn-guard agent`, e.g. --interface eth0 --log-format json.
# Operate the fleet from another shell with `build/bin/syn-guard ctl floods`,
# `... ctl blocks`, `... ctl block 192.0.2.7 --ttl 10m` (README, "Use").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null

# The agent pins its blocks under /sys/fs/bpf (pin_dir), so that they survive
# a restart, and the XDP dispatcher (libxdp) keeps its programs there: a fresh
# VM or container may have no bpffs mounted at that path.
bpffs=/sys/fs/bpf
if [ "$(stat -f -c %T "$bpffs" 2>/dev/null)" != bpf_fs ]; then
  echo "run.sh: no bpf filesystem at $bpffs (a fresh VM or container): mounting one" >&2
  if ! { mkdir -p "$bpffs" && mount -t bpf bpf "$bpffs"; }; then
    echo "run.sh: could not mount it (needs root; in a container, CAP_SYS_ADMIN). The agent" \
      "runs without pinned blocks (they do not survive a restart) until you run:" \
      "mount -t bpf bpf $bpffs" >&2
  fi
fi

bin=build/bin/syn-guard
data=${SYN_GUARD_CONSOLE_DATA:-/var/lib/syn-guard/console}
state=${SYN_GUARD_AGENT_STATE:-/var/lib/syn-guard/agent}
listen=127.0.0.1:8443
url=https://$listen

mkdir -p "$data"
chmod 0700 "$data"
"$bin" console --data "$data" --listen "$listen" >>"$data/console.log" 2>&1 &
console_pid=$!
stop_console() {
  kill "$console_pid" 2>/dev/null || true
  wait "$console_pid" 2>/dev/null || true
}
trap stop_console EXIT

# Ready when it answers an authenticated API call (bounded: 30 s).
for _ in $(seq 300); do
  if ! kill -0 "$console_pid" 2>/dev/null; then
    echo "run.sh: the console exited; its log:" >&2
    tail -n 20 "$data/console.log" >&2
    exit 1
  fi
  if [ -s "$data/admin.token" ] &&
    "$bin" ctl endpoints --console "$url" --token-file "$data/admin.token" \
      --ca-file "$data/ca.crt" >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done
echo "run.sh: console at $url (admin token: $data/admin.token, log: $data/console.log)"

enroll=()
if [ ! -s "$state/console.json" ]; then
  token=$("$bin" console token create --data "$data" --labels org=local,type=server,dept=default)
  enroll=(--enroll "$token")
fi
"$bin" agent --console "$url" --state-dir "$state" "${enroll[@]}" "$@"
