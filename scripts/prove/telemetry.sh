#!/usr/bin/env bash
# Logs and metrics of the release server, checked black-box (telemetry_check.py): one log line
# per request with its request id, route template and status, no key, token or body in any
# line (JSON and text formats), and /metrics parsed by the independent prometheus_client
# OpenMetrics parser with counters equal to the requests sent. About 10 s warm.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROMETHEUS_CLIENT_VERSION="0.26.0"
venv="$(ensure_venv)"
if ! "$venv/bin/python" -c "import prometheus_client, sys; sys.exit(prometheus_client.__version__ != '$PROMETHEUS_CLIENT_VERSION')" 2>/dev/null; then
  log "installing prometheus-client==$PROMETHEUS_CLIENT_VERSION into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "prometheus-client==$PROMETHEUS_CLIENT_VERSION"
fi
bin="$(build_server)"
"$venv/bin/python" "$PROVE_DIR/telemetry_check.py" "$bin"
