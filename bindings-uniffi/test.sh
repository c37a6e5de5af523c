#!/usr/bin/env bash
# The mobile binding's whole test run, idempotent on a fresh Debian 12 machine (Rust, Node/npm,
# OpenJDK 17): installs JNA and Gson (apt) and the Kotlin compiler (npm, into .tools/) when
# missing, builds the cdylib and the in-workspace uniffi-bindgen, generates Kotlin and Swift,
# checks the Swift sources against the committed copy in bindings-uniffi/swift/, then compiles
# and runs the Kotlin suite on the JVM against the real library and tests/vectors/.
#
#   bindings-uniffi/test.sh                 run everything
#   bindings-uniffi/test.sh --update-swift  regenerate the committed Swift sources, then run
#
# Respects CARGO_TARGET_DIR (default: <repo>/target). Exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BUILD="$TARGET_DIR/bindings-uniffi"
KOTLIN_VERSION="2.4.20"
KOTLIN_HOME="$ROOT/.tools/kotlin/node_modules/kotlin-compiler"
KOTLINC="$KOTLIN_HOME/bin/kotlinc"
JNA_JAR=/usr/share/java/jna.jar
GSON_JAR=/usr/share/java/gson.jar
UPDATE_SWIFT=0
for arg in "$@"; do
    case "$arg" in
        --update-swift) UPDATE_SWIFT=1 ;;
        *) echo "usage: $0 [--update-swift]" >&2; exit 2 ;;
    esac
done

step() { echo "== bindings-uniffi: $*"; }

# ---- tools ------------------------------------------------------------------------------
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -f "$JNA_JAR" ] || [ ! -f "$GSON_JAR" ]; then
    step "installing JNA and Gson from apt"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -q libjna-java libgoogle-gson-java >/dev/null \
        || { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q libjna-java libgoogle-gson-java >/dev/null; }
fi
installed_kotlin="$(node -p "require('$KOTLIN_HOME/package.json').version" 2>/dev/null || true)"
if [ ! -x "$KOTLINC" ] || [ "$installed_kotlin" != "$KOTLIN_VERSION" ]; then
    step "installing kotlin-compiler@$KOTLIN_VERSION from npm into .tools/kotlin"
    mkdir -p "$ROOT/.tools/kotlin"
    npm install --prefix "$ROOT/.tools/kotlin" --no-audit --no-fund --no-save --loglevel=error \
        "kotlin-compiler@$KOTLIN_VERSION" >/dev/null
fi
[ -x "$KOTLINC" ] || { echo "kotlinc not found at $KOTLINC" >&2; exit 1; }

# ---- build and generate -----------------------------------------------------------------
step "building the cdylib and uniffi-bindgen"
cargo build --quiet -p nox-authenticator-uniffi -p uniffi-bindgen --manifest-path "$ROOT/Cargo.toml"
LIB="$TARGET_DIR/debug/libnox_authenticator_uniffi.so"
BINDGEN="$TARGET_DIR/debug/uniffi-bindgen"

rm -rf "$BUILD/kotlin" "$BUILD/swift"
mkdir -p "$BUILD"
step "generating Kotlin and Swift"
(cd "$ROOT" && "$BINDGEN" generate --library "$LIB" --language kotlin --out-dir "$BUILD/kotlin" --no-format >/dev/null)
(cd "$ROOT" && "$BINDGEN" generate --library "$LIB" --language swift --out-dir "$BUILD/swift" --no-format >/dev/null)

# ---- Swift: no compiler on this machine kind, so the sources are checked, not compiled ----
if [ "$UPDATE_SWIFT" -eq 1 ]; then
    rm -rf "$HERE/swift"
    cp -r "$BUILD/swift" "$HERE/swift"
    step "updated bindings-uniffi/swift/"
fi
if ! diff -r -u "$HERE/swift" "$BUILD/swift" >"$BUILD/swift.diff"; then
    head -n 60 "$BUILD/swift.diff"
    echo "bindings-uniffi/swift/ is stale: run bindings-uniffi/test.sh --update-swift and commit it" >&2
    exit 1
fi
step "Swift sources match the committed copy"

# ---- Kotlin: compile (cached on its inputs) and run on the JVM --------------------------
KOTLIN_SOURCES=("$BUILD"/kotlin/energy/nox/authenticator/*.kt "$BUILD"/kotlin/energy/nox/authenticator/core/*.kt "$HERE"/tests/kotlin/*.kt)
key="$( (echo "$KOTLIN_VERSION"; cat "${KOTLIN_SOURCES[@]}" "$JNA_JAR" "$GSON_JAR") | sha256sum | cut -c1-16)"
JAR="$BUILD/kotlin-tests-$key.jar"
if [ ! -f "$JAR" ]; then
    step "compiling the Kotlin suite (kotlinc $KOTLIN_VERSION)"
    rm -f "$BUILD"/kotlin-tests-*.jar
    "$KOTLINC" -nowarn -cp "$JNA_JAR:$GSON_JAR" -d "$JAR.tmp.jar" "${KOTLIN_SOURCES[@]}"
    mv "$JAR.tmp.jar" "$JAR"
else
    step "Kotlin suite unchanged, reusing $(basename "$JAR")"
fi
step "running the Kotlin suite"
java -Djna.library.path="$(dirname "$LIB")" \
    -cp "$JAR:$KOTLIN_HOME/lib/kotlin-stdlib.jar:$JNA_JAR:$GSON_JAR" \
    energy.nox.authenticator.test.MainKt "$ROOT/tests/vectors"
