#!/usr/bin/env bash
# The `package` suite of scripts/test (issue 14): the packages install where the users are.
#
#  1. licences: the copies in every package that ships on its own equal the root files;
#  2. Rust: `cargo package` of the publishable crates (core, store) holds their README and
#     licences, the crate READMEs' examples run (rustdoc --test), and the server installs with
#     `cargo install --path server` (reusing the release build of the prove suite when warm);
#  3. Python: the abi3 manylinux2014 wheel (built by bindings-python/test.sh --build-only, with
#     zig) needs no glibc newer than 2.17, carries complete metadata, installs from its file into
#     a fresh virtualenv in a temporary directory, and the README's Python examples run there;
#     the sdist builds from source and installs in a fresh virtualenv, and the examples run there;
#  4. Node: the linux-x64-gnu addon (built by bindings-node/test.sh --build-only, with zig) needs
#     no glibc newer than 2.17; `npm pack` of the main package (no binary) and of the platform
#     package; both tarballs installed offline into an empty temporary project, where the
#     README's Node example runs from CommonJS and from ESM with the same names.
#
# Only the x86_64 Linux (glibc) packages are built here; the other platforms are described in
# .github/workflows/release.yml and not exercised. Artifacts go to target/package/ (the crates)
# and target/nox-package/ (respects CARGO_TARGET_DIR). Warm runs reuse the builds; the sdist is
# rebuilt and reinstalled only when its contents change. Exits non-zero on the first failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
work="$target_dir/nox-package"
mkdir -p "$work"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

log() { printf '[package] %s\n' "$*"; }
step() { printf '\n== package: %s\n' "$*"; }
fail() { printf '[package] FAIL: %s\n' "$*" >&2; exit 1; }
t_step=$(date +%s)
timed() { local now; now=$(date +%s); log "($(( now - t_step )) s)"; t_step=$now; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] ||
    fail "the packages built here are the x86_64 Linux ones; run this on x86_64 Linux"
command -v objdump >/dev/null || {
    log "installing binutils (objdump)"
    apt-get install -y -qq binutils >/dev/null
}

# The newest GLIBC_x.y symbol version a shared library needs must be 2.17 at most
# (manylinux2014). Prints the offending symbols and fails otherwise.
glibc_at_most_2_17() {
    local lib="$1" versions newest
    versions="$(objdump -T "$lib" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -uV)" ||
        true
    [ -n "$versions" ] || { log "no GLIBC symbol versions in $lib"; return 1; }
    newest="$(tail -n1 <<<"$versions")"
    if [ "$(printf '%s\n2.17\n' "$newest" | sort -V | tail -n1)" != 2.17 ]; then
        log "$lib needs GLIBC_$newest; symbols newer than 2.17:"
        objdump -T "$lib" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\(?GLIBC_/) print }' |
            while read -r line; do
                v="$(grep -o 'GLIBC_[0-9][0-9.]*' <<<"$line" | sed 's/^GLIBC_//')"
                [ "$(printf '%s\n2.17\n' "$v" | sort -V | tail -n1)" = 2.17 ] || echo "    $line"
            done
        return 1
    fi
    log "ok: $(basename "$lib") needs at most GLIBC_$newest"
}

# The ```LANG blocks of a Markdown file, the first one only if $3 is "first".
md_blocks() {
    python3 - "$1" "$2" "${3:-all}" <<'EOF'
import re, sys
path, lang, which = sys.argv[1:]
blocks = re.findall(r"^```" + lang + r"\n(.*?)^```", open(path, encoding="utf-8").read(),
                    re.DOTALL | re.MULTILINE)
if not blocks:
    sys.exit(f"no ```{lang} block in {path}")
print("\n".join(blocks[:1] if which == "first" else blocks))
EOF
}

# --------------------------------------------------------------------------------------------
step "the glibc check fails on a library that needs a newer glibc (negative control)"
# Debian 12's own programs need GLIBC_2.34 (__libc_start_main); a check that passes them is
# broken.
if glibc_at_most_2_17 /bin/ls >/dev/null 2>&1; then
    fail "the glibc check passed /bin/ls, which needs GLIBC_2.34: the check is broken"
fi
log "ok: /bin/ls (GLIBC_2.34) is refused"

# --------------------------------------------------------------------------------------------
step "licences: LICENSE-MIT and LICENSE-APACHE in every package equal the root ones"
for dir in core store bindings-python bindings-node bindings-node/npm/*; do
    for licence in LICENSE-MIT LICENSE-APACHE; do
        cmp -s "$licence" "$dir/$licence" ||
            fail "$dir/$licence is missing or differs from ./$licence (cp $licence $dir/)"
    done
done
log "ok: core store bindings-python bindings-node $(cd bindings-node && echo npm/*)"
timed

# --------------------------------------------------------------------------------------------
step "Rust: cargo package of the publishable crates"
crates=(nox-authenticator nox-authenticator-store)
rm -f "$target_dir"/package/nox-authenticator-0.1.0.crate \
      "$target_dir"/package/nox-authenticator-store-0.1.0.crate
cargo package --quiet --no-verify --allow-dirty --locked -p "${crates[0]}" -p "${crates[1]}"
for crate in "${crates[@]}"; do
    file="$target_dir/package/$crate-0.1.0.crate"
    [ -f "$file" ] || fail "cargo package wrote no $file"
    listing="$(tar tzf "$file")"
    for member in Cargo.toml README.md LICENSE-MIT LICENSE-APACHE src/lib.rs; do
        grep -qx "$crate-0.1.0/$member" <<<"$listing" || fail "$file lacks $member"
    done
    manifest="$(tar xzf "$file" -O "$crate-0.1.0/Cargo.toml")"
    for key in description license repository homepage documentation readme keywords categories; do
        grep -q "^$key = " <<<"$manifest" || fail "$crate: the packaged Cargo.toml has no $key"
    done
    log "ok: $(basename "$file") ($(wc -l <<<"$listing") files)"
done
store_manifest="$(tar xzf "$target_dir/package/nox-authenticator-store-0.1.0.crate" -O \
    nox-authenticator-store-0.1.0/Cargo.toml)"
grep -A3 '^\[dependencies.nox-authenticator\]' <<<"$store_manifest" |
    grep -q '^version = "0.1.0"' ||
    fail "the packaged store does not depend on nox-authenticator by version"

step "Rust: the crate READMEs' examples run (rustdoc --test)"
artifacts="$(cargo build --quiet --locked -p nox-authenticator -p nox-authenticator-store \
    --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] in (
            "nox_authenticator", "nox_authenticator_store"):
        print(m["target"]["name"], next(f for f in m["filenames"] if f.endswith(".rlib")))
')"
deps_dir="$target_dir/debug/deps"
for pair in "core nox_authenticator" "store nox_authenticator_store"; do
    read -r dir name <<<"$pair"
    rlib="$(awk -v n="$name" '$1 == n { print $2 }' <<<"$artifacts")"
    [ -n "$rlib" ] || fail "no rlib for $name"
    rustdoc --test --edition 2024 "$dir/README.md" --crate-name "${name}_readme" \
        --extern "$name=$rlib" -L "dependency=$deps_dir" >"$tmp/rustdoc.log" 2>&1 ||
        { cat "$tmp/rustdoc.log"; fail "$dir/README.md: its example does not pass"; }
    log "ok: $dir/README.md ($(grep -o '[0-9]* passed' "$tmp/rustdoc.log"))"
done

step "Rust: cargo install --path server"
# The release build is the one the prove suite runs (cargo build --release -p ...-server), so a
# warm run only copies the binary.
CARGO_TARGET_DIR="$target_dir" cargo install --quiet --locked --path server \
    --root "$work/server-install" --force
"$work/server-install/bin/nox-authenticator-server" --help >"$tmp/server-help.txt" ||
    fail "the installed server does not run"
log "ok: $work/server-install/bin/nox-authenticator-server runs"
timed

# --------------------------------------------------------------------------------------------
step "Python: the manylinux2014 wheel"
bindings-python/test.sh --build-only
wheels=(bindings-python/dist/nox_authenticator-*.whl)
[ ${#wheels[@]} -eq 1 ] || fail "expected one wheel in bindings-python/dist, found ${wheels[*]}"
wheel="$repo/${wheels[0]}"
case "$(basename "$wheel")" in
    nox_authenticator-*-cp39-abi3-manylinux2014_x86_64*.whl) log "ok: tag of $(basename "$wheel")" ;;
    *) fail "$(basename "$wheel") is not tagged cp39-abi3-manylinux2014_x86_64" ;;
esac
rm -rf "$tmp/wheel" && mkdir "$tmp/wheel" && (cd "$tmp/wheel" && python3 -m zipfile -e "$wheel" .)
so=("$tmp"/wheel/nox_authenticator/_native*.so)
glibc_at_most_2_17 "${so[0]}" || fail "the wheel's library needs a glibc newer than 2.17"
metadata="$(cat "$tmp"/wheel/nox_authenticator-*.dist-info/METADATA)"
for line in 'License-Expression: MIT OR Apache-2.0' 'License-File: LICENSE-MIT' \
    'License-File: LICENSE-APACHE' 'Project-URL: Homepage, ' 'Project-URL: Repository, ' \
    'Project-URL: Documentation, ' 'Project-URL: Issues, ' 'Project-URL: Changelog, ' \
    'Keywords: ' 'Requires-Python: >=3.9' 'Classifier: Typing :: Typed' \
    'Description-Content-Type: text/markdown'; do
    grep -qF "$line" <<<"$metadata" || fail "the wheel's METADATA lacks '$line'"
done
for licence in LICENSE-MIT LICENSE-APACHE; do
    cmp -s "$licence" "$tmp"/wheel/nox_authenticator-*.dist-info/licenses/"$licence" ||
        fail "the wheel does not carry $licence"
done
log "ok: metadata and licence files"

# The examples a reader copies: the first Python block of the top-level README and the quick
# start of bindings-python/README.md (both also run in pytest against the development install;
# later blocks of the top-level README need Flask, which the package does not depend on).
{ md_blocks README.md python first; md_blocks bindings-python/README.md python first; } \
    >"$tmp/readme_example.py"
printf '\nprint("README examples ran")\n' >>"$tmp/readme_example.py"

# Runs the examples with an interpreter of a fresh virtualenv, from a directory outside the
# repository, with no PYTHONPATH, and checks the package came from that virtualenv.
run_python_examples() {
    local py="$1" dir
    dir="$(mktemp -d -p "$tmp")"
    cp "$tmp/readme_example.py" "$dir/"
    (cd "$dir" && env -u PYTHONPATH -u PYTHONHOME "$py" -I -c '
import sys, nox_authenticator
assert nox_authenticator.__file__.startswith(sys.prefix), nox_authenticator.__file__
print("imported", nox_authenticator.__file__)' && env -u PYTHONPATH "$py" -I readme_example.py)
}

log "installing the wheel from its file into a fresh virtualenv"
python3 -m venv "$tmp/wheel-venv"
(cd "$tmp" && "$tmp/wheel-venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-index "$wheel")
run_python_examples "$tmp/wheel-venv/bin/python" || fail "the README examples fail on the wheel"
timed

step "Python: the sdist builds and installs from source"
rm -rf "$work/python-sdist" && mkdir -p "$work/python-sdist"
bindings-python/.venv/bin/maturin sdist -m bindings-python/Cargo.toml \
    --out "$work/python-sdist" >/dev/null
sdists=("$work"/python-sdist/nox_authenticator-*.tar.gz)
sdist="${sdists[0]}"
listing="$(tar tzf "$sdist")"
for member in PKG-INFO pyproject.toml LICENSE-MIT LICENSE-APACHE README.md Cargo.lock \
    core/data/catalog.json python/nox_authenticator/py.typed; do
    grep -q "^nox_authenticator-[^/]*/$member$" <<<"$listing" || fail "the sdist lacks $member"
done
# (Read whole before grep: grep -q stopping early would fail tar with SIGPIPE under pipefail.)
pkg_info="$(tar xzf "$sdist" -O --wildcards '*/PKG-INFO')"
grep -qF 'License-Expression: MIT OR Apache-2.0' <<<"$pkg_info" ||
    fail "the sdist's PKG-INFO has no licence expression"
# The built package depends on the sdist's contents only (names and bytes, not the mtimes).
sdist_hash="$(mkdir "$tmp/sdist-x" && tar xzf "$sdist" -C "$tmp/sdist-x" &&
    cd "$tmp/sdist-x" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum |
    cut -d' ' -f1)"
sdist_venv="$work/python-sdist-venv"
if [ "$(cat "$sdist_venv/.sdist-hash" 2>/dev/null || true)" = "$sdist_hash" ] &&
    "$sdist_venv/bin/python" -c 'import nox_authenticator' 2>/dev/null; then
    log "sdist unchanged since it was last built and installed into $sdist_venv"
else
    log "installing the sdist into a fresh virtualenv (pip builds it: maturin from PyPI, cargo)"
    rm -rf "$sdist_venv"
    python3 -m venv "$sdist_venv"
    mkdir "$tmp/sdist-only" && cp "$sdist" "$tmp/sdist-only/"
    # The sdist alone, in a directory of its own. A target directory of its own keeps the
    # compiled registry crates between runs; our own three crates are removed from it first,
    # because the sdist's files all carry one fixed old mtime, so cargo would take the previous
    # build of them for fresh.
    sdist_target="$work/python-sdist-target"
    cargo clean --quiet --release --target-dir "$sdist_target" -p nox-authenticator \
        -p nox-authenticator-store -p nox-authenticator-python
    (cd "$tmp/sdist-only" && CARGO_TARGET_DIR="$sdist_target" \
        "$sdist_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-cache-dir "./$(basename "$sdist")") || fail "the sdist does not build and install"
    echo "$sdist_hash" >"$sdist_venv/.sdist-hash"
fi
run_python_examples "$sdist_venv/bin/python" || fail "the README examples fail on the sdist"
timed

# --------------------------------------------------------------------------------------------
step "Node: the linux-x64-gnu addon"
bindings-node/test.sh --build-only
addon="$repo/bindings-node/nox-authenticator.linux-x64-gnu.node"
glibc_at_most_2_17 "$addon" || fail "the Node addon needs a glibc newer than 2.17"

step "Node: npm pack of the main and the linux-x64-gnu packages"
rm -rf "$work/npm" && mkdir -p "$work/npm/main" "$work/npm/linux-x64-gnu"
# The main package as `napi pre-publish` publishes it: its files and the optionalDependencies
# on every platform package (napi.targets), which cannot be in the development package.json
# while the platform packages are not on the registry (npm ci would refuse the lock file).
node - "$repo/bindings-node" "$work/npm/main" <<'EOF'
const fs = require('node:fs')
const path = require('node:path')
const [src, dst] = process.argv.slice(2)
const pkg = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8'))
for (const f of [...pkg.files, 'README.md']) fs.copyFileSync(path.join(src, f), path.join(dst, f))
const npmDirs = fs.readdirSync(path.join(src, 'npm'))
pkg.optionalDependencies = {}
for (const dir of npmDirs) {
  const platform = JSON.parse(fs.readFileSync(path.join(src, 'npm', dir, 'package.json'), 'utf8'))
  if (platform.name !== `${pkg.name}-${dir}`) throw new Error(`npm/${dir}: name ${platform.name}`)
  if (platform.version !== pkg.version) throw new Error(`npm/${dir}: version ${platform.version}`)
  pkg.optionalDependencies[platform.name] = pkg.version
}
if (npmDirs.length !== pkg.napi.targets.length) throw new Error('npm/ and napi.targets differ')
if (pkg.private) throw new Error('package.json is private')
for (const key of ['name', 'version', 'description', 'license', 'repository', 'engines', 'exports', 'types'])
  if (!pkg[key]) throw new Error(`package.json has no ${key}`)
if (pkg.license !== 'MIT OR Apache-2.0') throw new Error(`licence ${pkg.license}`)
fs.writeFileSync(path.join(dst, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
EOF
cp bindings-node/npm/linux-x64-gnu/* "$addon" "$work/npm/linux-x64-gnu/"
pack() { (cd "$1" && npm pack --silent --pack-destination "$work/npm" 2>/dev/null | tail -n1); }
main_tgz="$work/npm/$(pack "$work/npm/main")"
platform_tgz="$work/npm/$(pack "$work/npm/linux-x64-gnu")"
main_listing="$(tar tzf "$main_tgz")"
for member in package.json index.js index.mjs index.d.ts README.md LICENSE-MIT LICENSE-APACHE; do
    grep -qx "package/$member" <<<"$main_listing" || fail "$(basename "$main_tgz") lacks $member"
done
! grep -q '\.node$' <<<"$main_listing" || fail "the main package ships a binary"
platform_listing="$(tar tzf "$platform_tgz")"
for member in package.json nox-authenticator.linux-x64-gnu.node README.md LICENSE-MIT \
    LICENSE-APACHE; do
    grep -qx "package/$member" <<<"$platform_listing" ||
        fail "$(basename "$platform_tgz") lacks $member"
done
log "ok: $(basename "$main_tgz") ($(wc -l <<<"$main_listing") files, no binary)," \
    "$(basename "$platform_tgz") ($(wc -l <<<"$platform_listing") files)"

step "Node: both tarballs installed into an empty project; the README example, CJS and ESM"
project="$tmp/node-project"
mkdir "$project"
# --offline: nothing comes from a registry; the optional packages of the other platforms are
# not there (and not for this platform anyway), which npm skips.
(cd "$project" && npm init -y >/dev/null 2>&1 &&
    npm install --offline --no-audit --no-fund --loglevel=error "$main_tgz" "$platform_tgz" \
        >/dev/null) || fail "npm install of the two tarballs failed"
[ -z "$(find "$project/node_modules/nox-authenticator" -name '*.node')" ] ||
    fail "the installed main package holds a binary"
# The quick start of bindings-node/README.md as written (CommonJS), and with its require line
# turned into the import it documents (ESM); each then shows what it made.
md_blocks bindings-node/README.md js first >"$tmp/readme.js"
show="
const body = JSON.parse(JSON.stringify(session))
if (body.brand !== 'alpha-innotec') throw new Error('brand ' + body.brand)
if (auth.session(session.link_token).state !== 'completed') throw new Error('not completed')
console.log('README example ran:', body.brand, Object.keys(body).length, 'fields')
"
{ cat "$tmp/readme.js"; echo "$show"
  echo "const addon = Object.keys(require.cache).find((f) => f.endsWith('.node'))"
  echo "if (!addon.includes('node_modules/nox-authenticator-linux-x64-gnu/')) throw new Error(addon)"
  echo "console.log('addon loaded from', addon)"; } >"$project/example.cjs"
{ sed -E "s#^const (\{[^}]*\}) = require\('([^']+)'\)#import \1 from '\2'#" "$tmp/readme.js"
  echo "$show"; } >"$project/example.mjs"
grep -q "^import { Authenticator } from 'nox-authenticator'" "$project/example.mjs" ||
    fail "could not turn the README's require line into an import"
(cd "$project" && NOX_KEY=demo-key node example.cjs && NOX_KEY=demo-key node example.mjs) ||
    fail "the README's Node example fails on the installed packages"
# CommonJS and ESM give the same names, each the same object: every value index.d.ts declares.
(cd "$project" && node --input-type=module -e "
import { createRequire } from 'node:module'
import fs from 'node:fs'
import * as esm from 'nox-authenticator'
const cjs = createRequire(import.meta.url)('nox-authenticator')
const dts = fs.readFileSync('node_modules/nox-authenticator/index.d.ts', 'utf8')
const names = [...dts.matchAll(/^export declare (?:class|function|const) (\w+)/gm)].map((m) => m[1]).filter((n) => !n.startsWith('__'))
if (names.length < 10) throw new Error('index.d.ts declares only ' + names)
for (const n of names) {
  if (!(n in cjs)) throw new Error('CommonJS lacks ' + n)
  if (esm[n] !== cjs[n]) throw new Error('ESM ' + n + ' is not the CommonJS one')
}
if (esm.default !== cjs) throw new Error('the ESM default export is not the CommonJS module')
console.log('CommonJS and ESM export the same', names.length, 'names')
") || fail "CommonJS and ESM differ"
timed

echo
log "all package checks passed"
