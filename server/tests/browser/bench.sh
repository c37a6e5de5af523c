#!/usr/bin/env bash
# Requests per second of the flow's first page (GET /ui) beside the v2 create endpoint, in the
# same run, against the release server on the memory store (docs/performance.md, "Hosted flow").
#   server/tests/browser/bench.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
seconds=${1:-10}
connections=${2:-32}
bin=${NOX_SERVER_BIN:-$root/target/release/nox-authenticator-server}
[ -n "${NOX_SERVER_BIN:-}" ] || (cd "$root" && cargo build -q --release -p nox-authenticator-server)
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/config.json" <<JSON
{"link_base_urls": {"v2": "http://127.0.0.1:18480/ui", "v1": "http://127.0.0.1:18480/connect"},
 "default_connector": "sandbox",
 "limits": {"requests_per_second_per_key": 0, "pending_sessions_per_caller": 100000000, "pending_sessions_total": 100000000},
 "suppliers": [{"id": "s1", "name": "Acme Energy", "api_key": "bench-key", "redirect_urls": ["https://your-app.com/callback"]}]}
JSON
"$bin" --config "$dir/config.json" --store memory --listen 127.0.0.1:18480 --admin-listen 127.0.0.1:18481 >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18480/health/ready >/dev/null && break; sleep 0.1; done
cat > "$dir/create.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["x-api-key"] = "bench-key"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"user_id":"u1","redirect_url":"https://your-app.com/callback","asset_type":"hp"}'
LUA
token=$(curl -s -X POST http://127.0.0.1:18480/v2/supplier/link-sessions -H 'x-api-key: bench-key' \
  -H 'content-type: application/json' \
  -d '{"user_id":"u1","redirect_url":"https://your-app.com/callback","asset_type":"hp"}' \
  | sed -E 's/.*"link_token":"([^"]+)".*/\1/')
rate() { sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p'; }
create=$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$dir/create.lua" http://127.0.0.1:18480/v2/supplier/link-sessions | rate)
page=$(wrk -t2 -c"$connections" -d"${seconds}s" "http://127.0.0.1:18480/ui?token=$token&language=en" | rate)
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:18480/ui?token=$token&language=en")
echo "POST /v2/supplier/link-sessions: $create req/s"
echo "GET /ui (first page, status $status): $page req/s"
awk -v p="$page" -v c="$create" 'BEGIN { printf "ratio GET /ui / create: %.2f (goal >= 0.5)\n", p / c; exit !(p >= c / 2) }'
