#!/usr/bin/env bash
# The Python binding's one test entry point: builds the abi3 wheel (manylinux2014 on x86_64
# Linux), installs it into a virtualenv of its own (bindings-python/.venv, created if missing) and
# runs the pytest suite (conformance vectors, API, errors, threads, examples over HTTP, README
# blocks, mypy.stubtest).
#
# Needs only Rust, Python 3.9+ (with venv) and pip; idempotent. Warm runs skip the tool install
# and the wheel build when nothing they depend on changed. Respects CARGO_TARGET_DIR.
# Extra arguments go to pytest. `--build-only` (first argument) stops once the wheel is in
# bindings-python/dist (scripts/package.sh checks and installs that very file).
set -euo pipefail
build_only=
if [ "${1:-}" = --build-only ]; then build_only=1; shift; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="$here/.venv"
python_bin="${PYTHON:-python3}"
cd "$here"

log() { printf '[bindings-python] %s\n' "$*"; }

if [ ! -x "$venv/bin/python" ]; then
    log "creating virtualenv $venv"
    "$python_bin" -m venv "$venv"
fi
py="$venv/bin/python"

# Tools: reinstalled only when requirements-dev.txt changes.
req_hash="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"
if [ "$(cat "$venv/.requirements-hash" 2>/dev/null || true)" != "$req_hash" ]; then
    log "installing pinned tools"
    "$py" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$req_hash" > "$venv/.requirements-hash"
fi

# The wheel: rebuilt only when a source it is made from changes (binding, core, lock file).
src_hash="$(
    cd "$repo" &&
    find bindings-python/src bindings-python/python bindings-python/Cargo.toml \
         bindings-python/pyproject.toml bindings-python/README.md core/src core/data \
         core/Cargo.toml store/src store/migrations store/Cargo.toml Cargo.toml Cargo.lock \
         scripts/zig-requirements.txt -type f 2>/dev/null |
    LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
)"
if [ "$(cat "$venv/.wheel-hash" 2>/dev/null || true)" != "$src_hash" ] \
    || ! "$py" -c 'import nox_authenticator._native' 2>/dev/null; then
    rm -rf "$here/dist"
    if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then
        # The wheel that ships: abi3, manylinux2014 (glibc 2.17), linked by zig from
        # scripts/zig-env.sh. scripts/package.sh builds it with the same command, so one
        # compile serves both.
        log "building the abi3 manylinux2014 wheel (maturin build --release --zig)"
        ( source "$repo/scripts/zig-env.sh" &&
          "$venv/bin/maturin" build --release --quiet --zig --compatibility manylinux2014 \
              --out "$here/dist" --interpreter "$py" )
    else
        log "building the abi3 wheel (maturin build --release)"
        "$venv/bin/maturin" build --release --quiet --out "$here/dist" --interpreter "$py"
    fi
    "$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
        "$here"/dist/nox_authenticator-*.whl
    echo "$src_hash" > "$venv/.wheel-hash"
else
    log "wheel up to date"
fi

if [ -n "$build_only" ]; then exit 0; fi

log "running pytest"
# Run from tests/ so that the installed wheel (not python/ in the source tree) is imported.
cd "$here/tests"
"$py" -m pytest -p no:cacheprovider -q "$@" .
