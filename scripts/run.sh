#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds, and starts the
# agent in the foreground protecting this host (the interfaces that carry the
# default routes, XDP enforcer, 200 attempts per 5 s, blocked 60 s).
# Arguments go to `syn-guard agent`, e.g. --interface eth0 --log-format json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
exec build/bin/syn-guard agent "$@"
