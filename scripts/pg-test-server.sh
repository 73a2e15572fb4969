#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: a fresh cluster in a temporary
# directory, listening on 127.0.0.1 only (a free port picked at start; its unix
# socket inside that directory), with a database and a password-protected role
# that may create databases of its own. Nothing of the system's clusters
# (pg_ctlcluster, /etc/postgresql) is used or touched.
#
#   scripts/pg-test-server.sh start   # prints postgres://synguard:...@127.0.0.1:PORT/synguard_test
#   eval "$(scripts/pg-test-server.sh env)"   # exports SYNGUARD_TEST_PG_URL (and _DIR)
#   scripts/pg-test-server.sh stop    # stops the server and removes the directory
#
# The directory is SYNGUARD_TEST_PG_DIR (default: /tmp/syn-guard-pg-<uid>),
# new or empty; scripts/test.sh gives each run its own (mktemp -d). `start` on a running one reprints its
# URL. As root the server runs as the `postgres` user (initdb refuses root).
# Tests share the server and run in parallel: each must work in a schema or
# database of its own (named with its pid), never in fixed table names.
set -euo pipefail

dir=${SYNGUARD_TEST_PG_DIR:-${TMPDIR:-/tmp}/syn-guard-pg-$(id -u)}
marker=.syn-guard-pg-test # in every directory this script made: `stop` removes only those
db=synguard_test
role=synguard

die() { echo "pg-test-server: $*" >&2; exit 1; }

bindir() {
  if [[ -n ${PG_BINDIR:-} ]]; then echo "$PG_BINDIR"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [[ -n $d && -x $d/initdb ]]; then echo "$d"; return; fi
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  die "initdb not found: install postgresql (scripts/install-deps.sh) or set PG_BINDIR"
}

# Runs a PostgreSQL binary as the cluster's owner, from inside the directory
# (the postgres user may not be allowed into the caller's working directory).
as_owner() {
  if [[ $EUID -eq 0 ]]; then
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

running() { [[ -f $dir/url ]] && as_owner "$(bindir)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

start() {
  if running; then cat "$dir/url"; return; fi
  [[ $EUID -ne 0 ]] || id postgres >/dev/null 2>&1 || die "running as root needs the postgres user (package postgresql)"
  # An empty directory (mktemp -d) is adopted; one of ours left by a dead server is reused.
  if [[ -f $dir/$marker ]]; then
    stop_server
    find "$dir" -mindepth 1 -delete
  elif [[ -e $dir && -n $(ls -A "$dir") ]]; then
    die "$dir is not empty and was not made by this script; set SYNGUARD_TEST_PG_DIR"
  fi
  mkdir -p -m 0700 "$dir"
  chmod 0700 "$dir"
  touch "$dir/$marker"
  [[ $EUID -ne 0 ]] || chown postgres: "$dir" "$dir/$marker"
  local bin password
  bin=$(bindir)
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  # The superuser only logs in over the socket in $dir (mode 0700); TCP needs the role's password.
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --no-sync --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }

  # A free port: random in 20000-59999, retried if taken between the check and the bind.
  local port started=0
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' \
       -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
      >/dev/null 2>&1; then
      started=1
      break
    fi
    grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null ||
      { cat "$dir/server.log" >&2; die "postgres did not start"; }
  done
  ((started)) || die "no free port found for postgres"

  as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
    -c "create role $role login createdb password '$password'" \
    -c "create database $db owner $role" >/dev/null ||
    die "could not create the role and database"
  local url="postgres://$role:$password@127.0.0.1:$port/$db"
  echo "$url" >"$dir/url.tmp"
  [[ $EUID -ne 0 ]] || chown postgres: "$dir/url.tmp"
  mv "$dir/url.tmp" "$dir/url"
  echo "$url"
}

stop_server() {
  if [[ -f $dir/data/postmaster.pid ]]; then
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
}

stop() {
  [[ -d $dir ]] || return 0
  [[ -f $dir/$marker ]] || die "$dir was not made by this script; not removing it"
  stop_server
  rm -rf "$dir"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  env)
    running || die "no server running in $dir (run: $0 start)"
    printf "export SYNGUARD_TEST_PG_URL=%q SYNGUARD_TEST_PG_DIR=%q\n" "$(cat "$dir/url")" "$dir"
    ;;
  *) die "usage: $0 start|stop|env  (directory: \$SYNGUARD_TEST_PG_DIR, now $dir)" ;;
esac
