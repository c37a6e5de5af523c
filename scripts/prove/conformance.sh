#!/usr/bin/env bash
# Conformance of the reference server to the four published OpenAPI documents, with schemathesis
# (pinned, in scripts/prove/.venv). Each document runs twice: with a valid API key of the right
# kind and with none. Every check schemathesis has is on (`--checks all`): no 5xx, documented
# status codes, content type, response headers and body schema, negative data rejected,
# positive data accepted, auth not ignored, 405 for other methods. The few waivers and the
# steering of positive cases are in conformance_hooks.py and docs/conformance.md.
#
#   scripts/prove/conformance.sh --bounded   # 12 s per run, 8 runs (part of the test command)
#   scripts/prove/conformance.sh             # 120 s per run
#   SEED=123 scripts/prove/conformance.sh    # a fixed seed (default: random, printed)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds=120
[[ "${1:-}" == "--bounded" ]] && seconds="${CONFORMANCE_SECONDS:-12}"
seed="${SEED:-$RANDOM$RANDOM}"
# The vendored copy of the published documents (spec/VENDORED.md), so a clean clone runs this.
SPEC_DIR="${SPEC_DIR:-$REPO_ROOT/spec}"
[[ -d "$SPEC_DIR" ]] || die "spec directory not found: $SPEC_DIR (set SPEC_DIR)"

venv="$(ensure_venv)"
bin="$(build_server)"
trap stop_server EXIT
start_server "$bin" "$OUT_DIR/conformance-server.log" --config "$PROVE_DIR/config.json"
log "server at $SERVER_URL, $seconds s per run, seed $seed"

waivers="$OUT_DIR/conformance-waivers.jsonl"
: >"$waivers"
# document  base path  key
runs=(
  "v2-supplier-link-sessions.openapi.yaml /v2 supplier-key-acme"
  "v2-manufacturer-link-sessions.openapi.yaml /v2 manufacturer-key-acme"
  "v1-supplier-link.openapi.yaml / supplier-key-acme"
  "v1-manufacturer-connect.openapi.yaml / manufacturer-key-acme"
)
failed=()
for run in "${runs[@]}"; do
  read -r doc base key <<<"$run"
  for auth in key none; do
    name="${doc%.openapi.yaml}-$auth"
    headers=()
    [[ $auth == key ]] && headers=(-H "x-api-key: $key")
    log "schemathesis: $doc ($auth)"
    if (cd "$OUT_DIR" && PYTHONPATH="$PROVE_DIR" SCHEMATHESIS_HOOKS=conformance_hooks \
        PROVE_WAIVERS="$waivers" "$venv/bin/schemathesis" run "$SPEC_DIR/$doc" \
        --url "${SERVER_URL}${base%/}" "${headers[@]}" \
        --checks all --max-time "$seconds" --seed "$seed" --workers 2 \
        --report junit --report-junit-path "$OUT_DIR/conformance-$name.xml" \
        --output-truncate false >"$OUT_DIR/conformance-$name.log" 2>&1); then
      log "  ok: $(grep -E '^\s+[0-9]+ generated' "$OUT_DIR/conformance-$name.log" | tr -s ' ' || true)"
    else
      failed+=("$name")
      sed -n '/= FAILURES =/,/= SUMMARY =/p' "$OUT_DIR/conformance-$name.log" >&2
      grep -E '^\s+[0-9]+ generated' "$OUT_DIR/conformance-$name.log" >&2 || true
    fi
  done
done
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during the run"
log "waived failures (see docs/conformance.md): $(wc -l <"$waivers")" \
  "$(cut -d, -f1-2 "$waivers" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
[[ ${#failed[@]} -eq 0 ]] || die "conformance failed: ${failed[*]} (logs in $OUT_DIR; seed $seed)"
log "conformance passed (seed $seed)"
