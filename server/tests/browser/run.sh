#!/usr/bin/env bash
# The hosted link flow in a real browser (spec decision 19): Debian's Chromium driven by
# playwright-core, axe-core on every page, the oauth2 connector against oidc-provider. And the
# completion events' interop proof (webhooks.test.mjs): the events the server sends verified by
# npm and PyPI standardwebhooks.
# Installs what it needs, idempotently: apt chromium, npm ci, a venv with requirements.txt
# (python3-venv from apt if missing). Builds the server (debug) unless
# NOX_SERVER_BIN names one. NOX_FLOW_SCREENSHOTS=docs/flow refreshes the committed screenshots.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
if [ ! -x /usr/bin/chromium ]; then
  apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
fi
cd "$here"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund >/dev/null
fi
if [ ! -f .venv/installed ] || [ requirements.txt -nt .venv/installed ]; then
  python3 -m venv .venv >/dev/null 2>&1 || {
    apt-get install -y python3-venv >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y python3-venv >/dev/null; }
    rm -rf .venv && python3 -m venv .venv
  }
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  touch .venv/installed
fi
export NOX_INTEROP_PYTHON="$here/.venv/bin/python"
if [ -z "${NOX_SERVER_BIN:-}" ]; then
  (cd "$root" && cargo build -q -p nox-authenticator-server)
  export NOX_SERVER_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/nox-authenticator-server"
fi
if [ -n "${NOX_FLOW_SCREENSHOTS:-}" ]; then
  case "$NOX_FLOW_SCREENSHOTS" in /*) ;; *) export NOX_FLOW_SCREENSHOTS="$root/$NOX_FLOW_SCREENSHOTS" ;; esac
fi
node --test --test-concurrency=1 --test-reporter=spec flow.test.mjs webhooks.test.mjs
