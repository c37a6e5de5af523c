#!/usr/bin/env bash
# Load and soak: the release server (scripts/prove/config.json: no session retention) with
# `--clock-speed 100` (a session's 600 s lifetime passes in 6 real seconds), driven by wrk from
# a second process on loopback with a mix of all four endpoints (load.lua). Reports requests/s,
# p50/p99 latency, errors and non-2xx (must be 0), and the server's RSS sampled every 5 s
# (it must stay flat once eviction starts). Session completions are not an HTTP route; they
# are measured in the concurrency test and the benchmarks instead.
#
#   scripts/prove/load.sh                 # 60 s, 2 wrk threads, 16 connections
#   DURATION=300 scripts/prove/load.sh    # a longer soak
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

duration="${DURATION:-60}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-16}"
command -v wrk >/dev/null || ensure_apt wrk
bin="$(build_server)"
trap 'kill "${sampler:-}" 2>/dev/null || true; stop_server' EXIT
start_server "$bin" "$OUT_DIR/load-server.log" --config "$PROVE_DIR/config.json" --clock-speed 100
log "server at $SERVER_URL (pid $SERVER_PID); wrk -t$threads -c$connections -d${duration}s"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }
samples="$OUT_DIR/load-rss.tsv"
printf 'seconds\trss_kb\n' >"$samples"
start_rss="$(rss_kb)"
(
  t=0
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    printf '%s\t%s\n' "$t" "$(rss_kb)" >>"$samples"
    sleep 5
    t=$((t + 5))
  done
) &
sampler=$!

wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$PROVE_DIR/load.lua" "$SERVER_URL" \
  | tee "$OUT_DIR/load-wrk.log" >&2
end_rss="$(rss_kb)"
kill "$sampler" 2>/dev/null || true
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died under load"

result="$(grep '^RESULT ' "$OUT_DIR/load-wrk.log" | sed 's/^RESULT //')"
python3 - "$result" "$start_rss" "$end_rss" "$samples" "$duration" "$threads" "$connections" >"$OUT_DIR/load.md" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
start, end, samples = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = [l.split("\t") for l in open(samples).read().split("\n")[1:] if l]
series = ", ".join(f"{t}s {int(kb) / 1024:.1f}" for t, kb in rows)
errors = r["errors_connect"] + r["errors_read"] + r["errors_write"] + r["errors_timeout"]
print(f"wrk -t{sys.argv[6]} -c{sys.argv[7]} -d{sys.argv[5]}s, `--clock-speed 100`, no session retention:\n")
print("| requests | requests/s | p50 | p99 | max | socket errors | non-2xx | RSS start → end |")
print("|---|---|---|---|---|---|---|---|")
print(f"| {r['requests']} | {r['rps']:.0f} | {r['p50_ms']:.3f} ms | {r['p99_ms']:.3f} ms | "
      f"{r['max_ms']:.1f} ms | {errors} | {r['non_2xx']} | {start / 1024:.1f} MiB → {end / 1024:.1f} MiB |")
print(f"\nRSS (MiB) every 5 s: {series}")
PY
cat "$OUT_DIR/load.md"
if [[ -f "$REPO_ROOT/docs/performance/core.md" ]]; then
  python3 "$PROVE_DIR/md_section.py" "$REPO_ROOT/docs/performance/core.md" load <"$OUT_DIR/load.md"
fi
python3 - "$result" <<'PY' || die "errors or non-2xx responses under load"
import json, sys
r = json.loads(sys.argv[1])
bad = r["errors_connect"] + r["errors_read"] + r["errors_write"] + r["errors_timeout"] + r["non_2xx"]
sys.exit(1 if bad else 0)
PY
log "load passed"
