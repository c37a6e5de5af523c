#!/usr/bin/env bash
# The Node binding's single test entry point: install, build, check the generated files and the
# TypeScript declarations, run the suite. Idempotent; a warm run skips `npm ci` and rebuilds
# nothing that did not change. Exits non-zero on any failure.
#
# Needs Node >= 20 with npm, and a Rust toolchain. Respects CARGO_TARGET_DIR if set.
# `--build-only` stops after step 2 (scripts/package.sh packs that very addon).
set -euo pipefail
build_only=
if [[ "${1:-}" == --build-only ]]; then build_only=1; fi
cd "$(dirname "$0")"

step() { printf '\n== node: %s\n' "$*"; }

# 1. Dependencies, from package-lock.json exactly; skipped when it has not changed since.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.nox-lock-sha256
if [[ -f $stamp && "$(cat "$stamp")" == "$lock_sum" ]]; then
  step "npm ci skipped (node_modules matches package-lock.json)"
else
  step "npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_sum" > "$stamp"
fi

# 2. The addon, in release (the benchmark needs it; a warm rebuild is a few seconds). The build
# regenerates index.js and index.d.ts (its head, dts-header.d.ts, is written by build.rs from
# dts-prelude.d.ts and the core's own types): they must equal the committed ones.
# On x86_64 Linux it is the very binary the npm package nox-authenticator-linux-x64-gnu ships:
# linked against glibc 2.17 by zig (cargo-zigbuild, through `napi build -x`; see
# scripts/zig-env.sh), so scripts/package.sh reuses it. Elsewhere: the host's own build.
saved=$(mktemp -d)
trap 'rm -rf "$saved"' EXIT
cp index.js index.d.ts "$saved"/
# (grep reads all of ldd's output: `grep -q` could close the pipe early, and with pipefail the
# SIGPIPE of ldd would fail the test and silently pick the host build.)
if [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] && ldd --version 2>&1 | grep -i 'glibc\|gnu libc' >/dev/null; then
  step "napi build --platform --release -x --target x86_64-unknown-linux-gnu.2.17 (zig)"
  source ../scripts/zig-env.sh
  npx --no-install napi build --platform --release -x --target x86_64-unknown-linux-gnu.2.17
else
  step "napi build --platform --release"
  npx --no-install napi build --platform --release
fi
# napi-rs declares its loader's internal `__napiBindingTarget` export; it is no part of this
# package's API, so the declarations leave it out.
node -e '
  const fs = require("node:fs")
  const text = fs.readFileSync("index.d.ts", "utf8")
  const kept = text.replace(/\n\/\*\*\n(?: \*.*\n)* \*\/\nexport declare const __napiBindingTarget: .*\n/, "\n")
  if (kept.includes("__napiBindingTarget")) { console.error("node: __napiBindingTarget still declared"); process.exit(1) }
  fs.writeFileSync("index.d.ts", kept)
'
if ! diff -u "$saved/index.d.ts" index.d.ts || ! diff -u "$saved/index.js" index.js; then
  echo "node: the generated index.d.ts / index.js differ from the committed ones (diff above);" >&2
  echo "node: commit the regenerated files if the change is intended." >&2
  exit 1
fi

if [[ -n $build_only ]]; then exit 0; fi

# 3. The TypeScript declarations, against a file that uses the whole API.
step "tsc --noEmit"
node_modules/.bin/tsc -p test/tsconfig.json

# 4. The suite: shared vectors, API, errors, robustness, workers, ESM, the example server.
step "node --test"
node --test test/*.test.js test/*.test.mjs
