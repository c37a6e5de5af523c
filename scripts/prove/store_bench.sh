#!/usr/bin/env bash
# Requests per second of the release server for v2 supplier creates and v1 connects on each
# store (memory, SQLite, PostgreSQL), side by side in one run, with p50/p99 (issue 10). The
# rate limit and caps are lifted (scripts/prove/config.json); PostgreSQL is a throwaway cluster
# on a Unix socket (scripts/pg.sh). Writes the table into docs/performance/stores.md.
#
# The stores are interleaved: each of ROUNDS rounds runs every store once (a fresh server, and
# a fresh SQLite file), so that a change in the machine's load hits every store alike; the
# table gives each cell's median over the rounds (and the range of its req/s), and the load
# average before and after. CONNECTIONS may list several counts ("32 64"): every store runs at
# each of them in every round (the same counts for every store), one block of rows per count.
#
#   scripts/prove/store_bench.sh                  # 3 rounds of 10 s per cell, 32 connections
#   ROUNDS=5 DURATION=5 scripts/prove/store_bench.sh
#   CONNECTIONS="32 64" ROUNDS=2 DURATION=8 scripts/prove/store_bench.sh
#   STORES="memory sqlite" SQLITE_QUERY='?synchronous=full' NO_DOCS=1 scripts/prove/store_bench.sh
#
# STORES picks the stores (default all three), ENDPOINTS the runs (default "create connect
# connect_new", in that order on one server: v2 supplier creates, v1 connects of 1,000 known
# users with known device ids (a read each), v1 connects of users never seen (an insert each)); SQLITE_QUERY is appended to the sqlite: URL and
# PG_QUERY to the PostgreSQL one; NO_DOCS=1 prints the table without writing it into the docs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

duration="${DURATION:-10}"
read -r -a connection_counts <<<"${CONNECTIONS:-32}"
rounds="${ROUNDS:-3}"
command -v wrk >/dev/null || ensure_apt wrk
bin="$(build_server)"
work="$(mktemp -d /tmp/nox-store-bench.XXXXXX)"
chmod 755 "$work"  # the cluster runs as the postgres user, which must reach $work/pg
pg_url="$("$REPO_ROOT/scripts/pg.sh" start "$work/pg")"
trap 'stop_server; "$REPO_ROOT/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export NOX_WRK_REPORT="$PROVE_DIR/wrk_report.lua"

results="$work/results.tsv"
pg_sep='?'; [[ "$pg_url" == *'?'* ]] && pg_sep='&'
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
read -r -a stores <<<"${STORES:-memory sqlite postgres}"
read -r -a endpoints <<<"${ENDPOINTS:-create connect connect_new}"
for round in $(seq 1 "$rounds"); do
  # Each round starts with the next store, so that no store always runs first.
  shift_by=$(((round - 1) % ${#stores[@]}))
  for name in "${stores[@]:shift_by}" "${stores[@]:0:shift_by}"; do
    case "$name" in
      memory) store=memory ;;
      sqlite) store="sqlite:$work/bench-$round.db${SQLITE_QUERY:-}" ;;
      postgres) store="$pg_url${PG_QUERY:+$pg_sep${PG_QUERY#\?}}" ;;
      *) echo "unknown store $name" >&2; exit 2 ;;
    esac
    start_server "$bin" "$work/$name.log" --config "$PROVE_DIR/config.json" --store "$store"
    for connections in "${connection_counts[@]}"; do
      for endpoint in "${endpoints[@]}"; do
        # A short warm-up, then the measured run.
        wrk -t2 -c"$connections" -d2s -s "$PROVE_DIR/store_$endpoint.lua" "$SERVER_URL" >/dev/null
        line="$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$PROVE_DIR/store_$endpoint.lua" "$SERVER_URL" | grep '^RESULT ' | sed 's/^RESULT //')"
        log "round $round $name c$connections $endpoint: $line"
        printf '%s\t%s\t%s\t%s\n' "$name" "$connections" "$endpoint" "$line" >>"$results"
      done
    done
    stop_server
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results" "$duration" "${connection_counts[*]}" "$rounds" "$load_before" "$load_after" >"$work/table.md" <<'PY'
import json, statistics, sys
results, duration, counts, rounds, load_before, load_after = sys.argv[1:]
data = {}
for line in open(results).read().splitlines():
    store, connections, endpoint, result = line.split("\t")
    data.setdefault((store, int(connections), endpoint), []).append(json.loads(result))
counts = [int(c) for c in counts.split()]
print(f"wrk -t2 -d{duration}s per cell at {' and '.join(map(str, counts))} connections, release server, "
      f"{rounds} interleaved rounds (medians; req/s range in brackets), rate limit and caps lifted, "
      f"load average {load_before} before and {load_after} after:\n")
print("| connections | store | endpoint | req/s | vs memory | p50 ms | p99 ms | errors / non-2xx |")
print("|---|---|---|---|---|---|---|---|")
med = lambda runs, key: statistics.median(r[key] for r in runs)
for connections in counts:
    for endpoint in ["create", "connect", "connect_new"]:
        base = data.get(("memory", connections, endpoint))
        base_rps = med(base, "rps") if base else None
        for store in ["memory", "sqlite", "postgres"]:
            runs = data.get((store, connections, endpoint))
            if runs is None:
                continue
            label = {"create": "v2 supplier create", "connect": "v1 connect",
                     "connect_new": "v1 connect, new user"}[endpoint]
            rps = med(runs, "rps")
            spread = f"{min(r['rps'] for r in runs):,.0f}–{max(r['rps'] for r in runs):,.0f}"
            ratio = f"{rps / base_rps:.2f}x" if base_rps else "n/a"
            errors = sum(r["errors"] for r in runs)
            non_2xx = sum(r["non_2xx"] for r in runs)
            print(f"| {connections} | {store} | {label} | {rps:,.0f} [{spread}] | {ratio} | {med(runs, 'p50_ms'):.2f} | {med(runs, 'p99_ms'):.2f} | {errors} / {non_2xx} |")
PY
cat "$work/table.md" >&2
[[ -n "${NO_DOCS:-}" ]] && exit 0
python3 "$PROVE_DIR/md_section.py" "$REPO_ROOT/docs/performance/stores.md" store-throughput <"$work/table.md"
log "docs/performance/stores.md updated (store-throughput)"
