#!/usr/bin/env bash
# Instructions per call of each contender of create-session.mjs, counted by callgrind (repeatable
# on a busy machine, unlike wall-clock time): each contender runs with N and 2N calls, and the
# difference of the totals divided by N is its cost per call. Prints the ratios peer / binding.
#   bindings-node/bench/count.sh [N]   (default 4000; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4000}
total() {
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null \
    node bench/count-loop.mjs "$1" "$2" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
declare -A per
for c in bytes-binding bytes-peer objects-binding objects-peer; do
  a=$(total "$c" "$n"); b=$(total "$c" $((2 * n)))
  per[$c]=$(( (b - a) / n ))
  printf '%-16s %8d instructions per call\n' "$c" "${per[$c]}"
done
awk -v bb="${per[bytes-binding]}" -v bp="${per[bytes-peer]}" -v ob="${per[objects-binding]}" -v op="${per[objects-peer]}" \
  'BEGIN { printf "ratio bytes: peer / binding = %.2fx\nratio objects: peer / binding = %.2fx\n", bp / bb, op / ob }'
