#!/usr/bin/env bash
# Instructions per request of the core's hot path (issue 18), counted by valgrind's callgrind:
# repeatable on a busy machine, unlike wall-clock time. Runs bench/examples/hot_path.rs (release)
# for each endpoint at two request counts and prints the difference divided by the extra
# requests, so start-up is not counted.
#   scripts/prove/callgrind.sh [ENDPOINT…]      (default: all four)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/prove/lib.sh
command -v valgrind >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >/dev/null; }
}
endpoints=("$@")
[ ${#endpoints[@]} -gt 0 ] || endpoints=(v2_supplier v2_manufacturer v1_supplier v1_connect)
cargo build --quiet --release -p nox-authenticator-bench --example hot_path
bin="$(target_dir)/release/examples/hot_path"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
instructions() { # ENDPOINT COUNT
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.$2" "$bin" "$1" "$2" 2>"$out/log.$1.$2" >/dev/null
  sed -n 's/^summary: //p' "$out/cg.$1.$2"
}
printf '| endpoint | instructions per request |\n|---|---|\n'
for endpoint in "${endpoints[@]}"; do
  low=$(instructions "$endpoint" 200)
  high=$(instructions "$endpoint" 2200)
  printf '| %s | %s |\n' "$endpoint" "$(( (high - low) / 2000 ))"
done
