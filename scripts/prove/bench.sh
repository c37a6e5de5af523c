#!/usr/bin/env bash
# criterion benchmarks of the core (bench/benches/core.rs), each next to its serde_json floor,
# with short measurement times; writes the tables into docs/performance/core.md.
#
#   scripts/prove/bench.sh                           # ~2 s per benchmark
#   BENCH_MEASURE_MS=5000 scripts/prove/bench.sh     # longer measurements
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$REPO_ROOT"
log "cargo bench -p nox-authenticator-bench (measure ${BENCH_MEASURE_MS:-2000} ms each)"
cargo bench -p nox-authenticator-bench --bench core 2>&1 | tee "$OUT_DIR/bench.log" | grep -E '^(endpoint|part|growth)/|time:' >&2
{
  echo "Measured $(date -u +%F) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), rustc $(rustc --version | cut -d' ' -f2), by \`scripts/prove/bench.sh\` (criterion, ${BENCH_MEASURE_MS:-2000} ms per benchmark; means)."
  echo
  python3 "$PROVE_DIR/bench_report.py" "$(target_dir)/criterion"
} >"$OUT_DIR/bench.md"
python3 "$PROVE_DIR/md_section.py" "$REPO_ROOT/docs/performance/core.md" bench <"$OUT_DIR/bench.md"
cat "$OUT_DIR/bench.md"
