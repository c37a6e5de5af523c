#!/usr/bin/env bash
# Requests per second of the release server for v2 supplier creates and v1 connects on each
# store (memory, SQLite, PostgreSQL), side by side in one run, with p50/p99 (issue 10). The
# rate limit and caps are lifted (scripts/prove/config.json); PostgreSQL is a throwaway cluster
# on a Unix socket (scripts/pg.sh). Writes the table into docs/performance.md.
#
#   scripts/prove/store_bench.sh                  # 10 s per cell, 32 connections
#   DURATION=30 scripts/prove/store_bench.sh
#   STORES="memory sqlite" SQLITE_QUERY='?synchronous=full' NO_DOCS=1 scripts/prove/store_bench.sh
#
# STORES picks the stores (default all three); SQLITE_QUERY is appended to the sqlite: URL and
# PG_QUERY to the PostgreSQL one; NO_DOCS=1 prints the table without writing it into the docs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

duration="${DURATION:-10}"
connections="${CONNECTIONS:-32}"
command -v wrk >/dev/null || ensure_apt wrk
bin="$(build_server)"
work="$(mktemp -d /tmp/nox-store-bench.XXXXXX)"
chmod 755 "$work"  # the cluster runs as the postgres user, which must reach $work/pg
pg_url="$("$REPO_ROOT/scripts/pg.sh" start "$work/pg")"
trap 'stop_server; "$REPO_ROOT/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export NOX_WRK_REPORT="$PROVE_DIR/wrk_report.lua"

results="$work/results.tsv"
pg_sep='?'; [[ "$pg_url" == *'?'* ]] && pg_sep='&'
for name in ${STORES:-memory sqlite postgres}; do
  case "$name" in
    memory) store=memory ;;
    sqlite) store="sqlite:$work/bench.db${SQLITE_QUERY:-}" ;;
    postgres) store="$pg_url${PG_QUERY:+$pg_sep${PG_QUERY#\?}}" ;;
    *) echo "unknown store $name" >&2; exit 2 ;;
  esac
  start_server "$bin" "$work/$name.log" --config "$PROVE_DIR/config.json" --store "$store"
  for endpoint in create connect; do
    # A short warm-up, then the measured run.
    wrk -t2 -c"$connections" -d2s -s "$PROVE_DIR/store_$endpoint.lua" "$SERVER_URL" >/dev/null
    line="$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$PROVE_DIR/store_$endpoint.lua" "$SERVER_URL" | grep '^RESULT ' | sed 's/^RESULT //')"
    log "$name $endpoint: $line"
    printf '%s\t%s\t%s\n' "$name" "$endpoint" "$line" >>"$results"
  done
  stop_server
done

python3 - "$results" "$duration" "$connections" >"$work/table.md" <<'PY'
import json, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
data = {(store, endpoint): json.loads(result) for store, endpoint, result in rows}
print(f"wrk -t2 -c{sys.argv[3]} -d{sys.argv[2]}s per cell, release server, one run, rate limit and caps lifted:\n")
print("| store | endpoint | req/s | vs memory | p50 ms | p99 ms | errors / non-2xx |")
print("|---|---|---|---|---|---|---|")
for endpoint in ["create", "connect"]:
    base = data.get(("memory", endpoint), {}).get("rps")
    for store in ["memory", "sqlite", "postgres"]:
        r = data.get((store, endpoint))
        if r is None:
            continue
        label = {"create": "v2 supplier create", "connect": "v1 connect"}[endpoint]
        print(f"| {store} | {label} | {r['rps']:,.0f} | {r['rps'] / base if base else float('nan'):.2f}x | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} / {r['non_2xx']} |")
PY
cat "$work/table.md" >&2
[[ -n "${NO_DOCS:-}" ]] && exit 0
python3 "$PROVE_DIR/md_section.py" "$REPO_ROOT/docs/performance.md" store-throughput <"$work/table.md"
log "docs/performance.md updated (store-throughput)"
