#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store tests, reachable only through a Unix socket.
#
#   scripts/pg.sh start DIR   initdb DIR/data if needed, start it (if not running), print the URL
#   scripts/pg.sh url DIR     print the URL of the cluster in DIR
#   scripts/pg.sh stop DIR    stop it (if running); DIR stays, so `start` brings it back
#
# The URL is `postgres://nox@%2F<DIR percent-encoded>:PORT/postgres`: a percent-encoded host
# that starts with `/` is a socket directory, for libpq and for the Rust `postgres` crate alike.
# Every command is idempotent. PORT (default 5433) only names the socket file in DIR, so it
# cannot clash with another server. As root, the cluster runs as the `postgres` system user
# (PostgreSQL refuses to run as root).
set -euo pipefail

usage() { echo "usage: $0 start|stop|url DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
command=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ "$command" = start ] && { [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; }; then
  echo "pg.sh: installing PostgreSQL (apt-get install -y postgresql)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_file=$dir/port
port=$(cat "$port_file" 2>/dev/null || echo "${PGPORT:-5433}")
url() {
  # Percent-encode the socket directory for the URL's host part.
  local encoded
  encoded=$(printf '%s' "$dir" | sed -e 's/%/%25/g' -e 's|/|%2F|g' -e 's/ /%20/g' -e 's/:/%3A/g' -e 's/@/%40/g')
  echo "postgres://nox@${encoded}:${port}/postgres"
}
running() { [ -n "$bin" ] && [ -f "$dir/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

case "$command" in
  start)
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -A trust -U nox -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
      echo "$port" >"$port_file"
    fi
    if ! running; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
        -o "-k $dir -p $port -c listen_addresses='' -c max_connections=200" start >/dev/null \
        || { tail -n 20 "$dir/log" >&2; exit 1; }
    fi
    url
    ;;
  stop)
    if running; then as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null; fi
    ;;
  url) url ;;
  *) usage ;;
esac
