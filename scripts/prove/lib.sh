# Shared helpers for scripts/prove/*.sh (sourced, not run).
set -euo pipefail

PROVE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$PROVE_DIR/../.." && pwd)"
OUT_DIR="$PROVE_DIR/out"
mkdir -p "$OUT_DIR"

# Pinned tool versions.
SCHEMATHESIS_VERSION="4.32.5"
CARGO_FUZZ_VERSION="0.13.2"

log() { printf '[prove] %s\n' "$*" >&2; }
die() { printf '[prove] FAIL: %s\n' "$*" >&2; exit 1; }

# The cargo target directory in use (respects CARGO_TARGET_DIR).
target_dir() {
  if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    printf '%s\n' "$CARGO_TARGET_DIR"
  else
    printf '%s\n' "$REPO_ROOT/target"
  fi
}

# Installs Debian packages that are missing (idempotent; needs root or sudo).
ensure_apt() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y "${missing[@]}" >/dev/null 2>&1 || {
    "${sudo[@]}" apt-get update >/dev/null
    "${sudo[@]}" apt-get install -y "${missing[@]}" >/dev/null
  }
}

# The Python venv with schemathesis, pinned (idempotent).
ensure_venv() {
  local venv="$PROVE_DIR/.venv"
  if [[ ! -x "$venv/bin/schemathesis" ]] ||
     [[ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != *"$SCHEMATHESIS_VERSION"* ]]; then
    log "creating $venv with schemathesis==$SCHEMATHESIS_VERSION"
    python3 -m venv "$venv" || { ensure_apt python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  printf '%s\n' "$venv"
}

# cargo-fuzz, pinned (idempotent).
ensure_cargo_fuzz() {
  if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  fi
}

# Builds the release server and prints the binary's path.
build_server() {
  (cd "$REPO_ROOT" && cargo build --quiet --release -p nox-authenticator-server) >&2
  printf '%s\n' "$(target_dir)/release/nox-authenticator-server"
}

# start_server BINARY LOGFILE ARGS... : starts the server on a free port (and its admin
# listener on another; on the memory store unless ARGS name one); sets SERVER_PID, SERVER_URL
# (http://127.0.0.1:PORT) and ADMIN_URL.
start_server() {
  local bin="$1" logfile="$2"
  shift 2
  local store=(--store memory)
  [[ " $* " == *" --store "* ]] && store=()
  "$bin" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 "${store[@]}" "$@" >"$logfile" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 100); do
    if [[ -s "$logfile" ]] && head -n1 "$logfile" | grep -q '^listening on http://' &&
       grep -q '^admin listening on http://' "$logfile"; then
      SERVER_URL="$(head -n1 "$logfile" | sed 's/^listening on //')"
      ADMIN_URL="$(grep -m1 '^admin listening on ' "$logfile" | sed 's/^admin listening on //')"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(cat "$logfile")"
    sleep 0.1
  done
  die "server did not start: $(cat "$logfile")"
}

stop_server() {
  if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
