#!/usr/bin/env bash
# The reference server beside a bare axum endpoint (server/examples/bare_axum.rs), issue 18:
# v2 supplier creates under wrk (2 threads, 32 connections), in interleaved rounds against the
# two release binaries, the server on the memory store with the rate limit and caps lifted
# (scripts/prove/config.json) and its logs as an operator runs them (info, to stderr, here a
# file). First asserts that both answer the benchmark's request with bodies of the same fields,
# order and size. Reports requests per second per round and the ratio; it does not pass or fail
# on speed.
#   scripts/prove/server_vs_axum.sh [ROUNDS] [SECONDS]     (default 3 rounds of 10 s)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
rounds="${1:-3}"
seconds="${2:-10}"
command -v wrk >/dev/null || ensure_apt wrk
bin="$(build_server)"
(cd "$REPO_ROOT" && cargo build --quiet --release -p nox-authenticator-server --example bare_axum) >&2
peer="$(target_dir)/release/examples/bare_axum"
work="$(mktemp -d /tmp/nox-vs-axum.XXXXXX)"
peer_pid=
trap 'stop_server; [[ -n "$peer_pid" ]] && kill "$peer_pid" 2>/dev/null; rm -rf "$work"' EXIT
start_server "$bin" "$work/server.log" --config "$PROVE_DIR/config.json"
"$peer" 127.0.0.1:0 >"$work/peer.log" 2>&1 &
peer_pid=$!
for _ in $(seq 1 50); do grep -q '^listening on ' "$work/peer.log" 2>/dev/null && break; sleep 0.1; done
peer_url="$(head -n1 "$work/peer.log" | sed 's/^listening on //')"
body='{"user_id":"user-1","redirect_url":"https://your-app.com/callback","asset_type":"hp","brand":"daikin","language":"en"}'
for url in "$SERVER_URL" "$peer_url"; do
  curl -sS -o "$work/body.$(basename "$url" | tr : _)" -w '%{http_code}\n' -X POST "$url/v2/supplier/link-sessions" \
    -H 'x-api-key: supplier-key-acme' -H 'content-type: application/json' -d "$body" >"$work/status.$(basename "$url" | tr : _)"
done
python3 - "$work" "$SERVER_URL" "$peer_url" <<'PY'
import json, sys, os
work, server, peer = sys.argv[1:]
def load(url):
    name = os.path.basename(url).replace(":", "_")
    status = open(f"{work}/status.{name}").read().strip()
    body = open(f"{work}/body.{name}", "rb").read()
    return status, body
(s1, b1), (s2, b2) = load(server), load(peer)
assert s1 == s2 == "201", (s1, s2, b1, b2)
j1, j2 = json.loads(b1), json.loads(b2)
assert list(j1) == list(j2), (list(j1), list(j2))
assert len(b1) == len(b2), (b1, b2)
for k in j1:
    if k not in ("link_url", "link_token", "created_at", "expires_at"):
        assert j1[k] == j2[k], (k, j1[k], j2[k])
print(f"same response shape: {len(b1)} bytes, fields {', '.join(j1)}")
PY
cat >"$work/create.lua" <<LUA
wrk.method = "POST"
wrk.path = "/v2/supplier/link-sessions"
wrk.headers["x-api-key"] = "supplier-key-acme"
wrk.headers["content-type"] = "application/json"
wrk.body = '$body'
dofile("$PROVE_DIR/wrk_report.lua")
LUA
run() { wrk -t2 -c32 -d"${seconds}s" --latency -s "$work/create.lua" "$1" | grep '^RESULT ' | sed 's/^RESULT //'; }
wrk -t2 -c32 -d2s -s "$work/create.lua" "$SERVER_URL" >/dev/null
wrk -t2 -c32 -d2s -s "$work/create.lua" "$peer_url" >/dev/null
printf '| round | server req/s | bare axum req/s | ratio | server p50 / p99 ms | axum p50 / p99 ms |\n|---|---|---|---|---|---|\n'
for round in $(seq 1 "$rounds"); do
  s="$(run "$SERVER_URL")"; p="$(run "$peer_url")"
  python3 -c '
import json, sys
s, p = json.loads(sys.argv[2]), json.loads(sys.argv[3])
assert s["errors"] == 0 and s["non_2xx"] == 0, s
print("| {} | {:,.0f} | {:,.0f} | {:.2f} | {:.2f} / {:.2f} | {:.2f} / {:.2f} |".format(
    sys.argv[1], s["rps"], p["rps"], s["rps"] / p["rps"], s["p50_ms"], s["p99_ms"], p["p50_ms"], p["p99_ms"]))
' "$round" "$s" "$p"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
