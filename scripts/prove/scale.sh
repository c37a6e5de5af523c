#!/usr/bin/env bash
# The cost curve of issue 18: create latency with 1,000 sessions stored beside 1,000,000
# stored, on the memory store and on SQLite (release server, rate limit and caps lifted, a
# retention long enough that nothing is evicted while it runs), and the bytes per session on
# disk for SQLite (and PostgreSQL at a smaller count: its creates are slower). The store is
# filled by wrk (32 connections) up to each count; the latency is then that of 2,000 creates
# one after the other on one keep-alive connection (so the count hardly moves while measured).
# Reports; it does not pass or fail.
#   scripts/prove/scale.sh [STORES]      (default "memory sqlite"; add postgres for its bytes)
#   SMALL=1000 LARGE=1000000 PG_LARGE=200000 scripts/prove/scale.sh memory sqlite postgres
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stores=("$@"); [ ${#stores[@]} -gt 0 ] || stores=(memory sqlite)
small="${SMALL:-1000}"; large="${LARGE:-1000000}"; pg_large="${PG_LARGE:-200000}"
command -v wrk >/dev/null || ensure_apt wrk
bin="$(build_server)"
work="$(mktemp -d /tmp/nox-scale.XXXXXX)"; chmod 755 "$work"
pg_started=
cleanup() { stop_server; [[ -n "$pg_started" ]] && "$REPO_ROOT/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
python3 - "$PROVE_DIR/config.json" >"$work/config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["session_retention_seconds"] = 86400
print(json.dumps(config))
PY
cat >"$work/fill.lua" <<'LUA'
-- Creates, each for its own user.
local counter = 0
local id = tostring(math.random(1, 1e9))
function request()
  counter = counter + 1
  return wrk.format("POST", "/v2/supplier/link-sessions",
    {["x-api-key"] = "supplier-key-acme", ["content-type"] = "application/json"},
    '{"user_id":"user-' .. id .. '-' .. counter .. '","redirect_url":"https://your-app.com/callback","asset_type":"hp","brand":"daikin"}')
end
LUA
cat >"$work/latency.py" <<'PY'
import http.client, statistics, sys, time, urllib.parse
url = urllib.parse.urlparse(sys.argv[1]); n = int(sys.argv[2]); fill = len(sys.argv) > 3
c = http.client.HTTPConnection(url.hostname, url.port)
body = '{"user_id":"measured","redirect_url":"https://your-app.com/callback","asset_type":"hp","brand":"daikin"}'
headers = {"x-api-key": "supplier-key-acme", "content-type": "application/json"}
times = []
for _ in range(n):
    t = time.perf_counter()
    if fill:
        body = body.replace("measured", f"filled-{time.time_ns()}", 1)
    c.request("POST", "/v2/supplier/link-sessions", body, headers)
    r = c.getresponse(); r.read()
    times.append(time.perf_counter() - t)
    assert r.status == 201, r.status
times.sort()
print(f"{statistics.median(times) * 1000:.3f} {times[int(len(times) * 0.99)] * 1000:.3f}")
PY
stored() { curl -sS "$ADMIN_URL/metrics" | awk '/^nox_link_sessions_stored\{/ {s += $2} END {printf "%d\n", s}'; }
fill_to() { # COUNT: creates until about COUNT sessions are stored (wrk in rounds of 5 s while
  # far from it, then one after the other)
  local need
  while need=$(( $1 - $(stored) )); (( need > 20000 )); do
    wrk -t2 -c32 -d5s -s "$work/fill.lua" "$SERVER_URL" >/dev/null
  done
  if (( need > 0 )); then python3 "$work/latency.py" "$SERVER_URL" "$need" fill >/dev/null; fi
}
disk_bytes() { # STORE
  case "$1" in
    sqlite) stat -c %s "$work/scale.db" ;;
    postgres) psql "$pg_url" -Atc "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r','m')" ;;
    *) echo 0 ;;
  esac
}
printf '| store | stored | create p50 ms | p99 ms | bytes on disk |\n|---|---|---|---|---|\n'
for name in "${stores[@]}"; do
  target_large=$large
  case "$name" in
    memory) store=memory ;;
    sqlite) store="sqlite:$work/scale.db" ;;
    postgres)
      pg_url="$("$REPO_ROOT/scripts/pg.sh" start "$work/pg")"; pg_started=1
      store="$pg_url"; target_large=$pg_large ;;
  esac
  start_server "$bin" "$work/$name.log" --config "$work/config.json" --store "$store"
  unset bytes_at; declare -A bytes_at=()
  for count in "$small" "$target_large"; do
    fill_to "$count"
    at=$(stored)
    read -r p50 p99 < <(python3 "$work/latency.py" "$SERVER_URL" 2000)
    bytes_at[$count]=$(disk_bytes "$name")
    [[ "$name" == sqlite ]] && echo "sqlite files at $at sessions: $(ls -l "$work"/scale.db* | awk '{printf "%s %s; ", $9, $5}')" >&2
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$at" "$p50" "$p99" "${bytes_at[$count]}"
  done
  stop_server
  if [[ "$name" != memory ]]; then
    echo "$name: $(( (bytes_at[$target_large] - bytes_at[$small]) / (target_large - small) )) bytes on disk per session"
  fi
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
