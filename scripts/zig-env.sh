# Sourced (bash) by the scripts that build glibc-2.17 native libraries: makes sure
# .tools/zig-venv holds the pinned zig and cargo-zigbuild (scripts/zig-requirements.txt) and puts
# its bin first on PATH, so that `python3 -m ziglang` (what maturin --zig and cargo-zigbuild run
# when no `zig` binary is installed) and `cargo-zigbuild` resolve to it. Idempotent: a warm call
# only compares a hash. Respects PYTHON.
nox_zig_env() {
    local repo venv req hash
    repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="$repo/.tools/zig-venv"
    req="$repo/scripts/zig-requirements.txt"
    hash="$(sha256sum "$req" | cut -d' ' -f1)"
    if [ "$(cat "$venv/.requirements-hash" 2>/dev/null || true)" != "$hash" ]; then
        printf '[zig] installing %s into %s\n' "$(grep -v '^#' "$req" | xargs)" "$venv"
        [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
        echo "$hash" > "$venv/.requirements-hash"
    fi
    export PATH="$venv/bin:$PATH"
}
nox_zig_env
