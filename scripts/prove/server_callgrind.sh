#!/usr/bin/env bash
# Instructions per request of the whole reference server beside the bare axum endpoint
# (server/examples/bare_axum.rs), issue 18: each release binary runs under valgrind's callgrind
# (repeatable on a busy machine, unlike wall-clock time) while one client sends v2 supplier
# creates one after the other on one keep-alive connection; run at two request counts, the
# difference divided by the extra requests is the figure, so start-up does not count. The
# server runs on the memory store with its logs on (info, to a file), as server_vs_axum.sh
# runs it. Valgrind hides the CPU's SHA extensions: each SHA-256 counts about 2,600
# instructions that the CPU runs in a fraction of that (two per create, none in the peer).
#   scripts/prove/server_callgrind.sh [LOW HIGH]      (default 200 1200)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
low="${1:-200}"
high="${2:-1200}"
command -v valgrind >/dev/null || ensure_apt valgrind
bin="$(build_server)"
(cd "$REPO_ROOT" && cargo build --quiet --release -p nox-authenticator-server --example bare_axum) >&2
peer="$(target_dir)/release/examples/bare_axum"
work="$(mktemp -d /tmp/nox-server-cg.XXXXXX)"
pid=
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# send URL COUNT: COUNT creates on one connection, each answered 201.
send() {
  python3 - "$1" "$2" <<'PY'
import http.client, sys, urllib.parse
url, count = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
body = b'{"user_id":"user-1","redirect_url":"https://your-app.com/callback","asset_type":"hp","brand":"daikin","language":"en"}'
headers = {"x-api-key": "supplier-key-acme", "content-type": "application/json"}
for _ in range(count):
    conn.request("POST", "/v2/supplier/link-sessions", body, headers)
    response = conn.getresponse()
    response.read()
    assert response.status == 201, response.status
PY
}

# instructions NAME COUNT: total instructions of one run of NAME (server or peer).
instructions() {
  local name="$1" count="$2" out="$work/cg.$1.$2" log="$work/$1.$2.log" url=
  if [[ "$name" == server ]]; then
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --listen 127.0.0.1:0 \
      --admin-listen 127.0.0.1:0 --store memory --config "$PROVE_DIR/config.json" >"$log" 2>&1 &
  else
    valgrind --tool=callgrind --callgrind-out-file="$out" "$peer" 127.0.0.1:0 >"$log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 1 600); do
    url="$(grep -m1 -o 'listening on http://[0-9.:]*' "$log" 2>/dev/null | sed 's/^listening on //')" || true
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  [[ -n "$url" ]] || die "$name did not start: $(cat "$log")"
  send "$url" "$count"
  kill -INT "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
  sed -n 's/^summary: //p' "$out"
}

printf '| binary | instructions per create |\n|---|---|\n'
for name in server peer; do
  a=$(instructions "$name" "$low")
  b=$(instructions "$name" "$high")
  printf '| %s | %s |\n' "$name" "$(( (b - a) / (high - low) ))"
done
