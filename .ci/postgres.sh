#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests, in a directory of its own.
#
#   .ci/postgres.sh start DIR   initdb in DIR, start it on 127.0.0.1 on a free
#                               port, print its URL (for VITRINE_TEST_POSTGRES_URL)
#   .ci/postgres.sh stop DIR    stop it (the caller removes DIR)
#
# It installs Debian's postgresql package when initdb and pg_ctl are
# missing. initdb refuses to run as root, so as root the cluster belongs
# to the postgres user the package creates. Trust authentication on
# loopback only, no durability (fsync off): it holds nothing worth keeping.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1 dir=$2

find_bin() {
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v pg_ctl)"; return
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
}

# as_owner runs a command as the cluster's owner: the postgres user when
# we are root, ourselves otherwise.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 30000))
    # Nothing answers there: free, barring a race we'd see as a failed start.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port found" >&2; exit 1
}

case $cmd in
start)
  bin=$(find_bin)
  if [ -z "$bin" ]; then
    echo "== installing postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >/dev/null
    bin=$(find_bin)
    [ -n "$bin" ] || { echo "postgresql installed but initdb/pg_ctl not found" >&2; exit 1; }
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chown postgres: "$dir"
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=trust --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(free_port)
  # The socket goes in DIR too: /var/run/postgresql may not exist or be ours.
  opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir"
  opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >&2 ||
    { cat "$dir/postgres.log" >&2; exit 1; }
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  bin=$(find_bin)
  [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ] &&
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
  ;;
*) usage ;;
esac
