#!/usr/bin/env bash
# Coverage-guided fuzzing of the core with cargo-fuzz (libFuzzer) on the stable toolchain.
#
#   scripts/prove/fuzz.sh --bounded          # 15 s per target (part of the test command)
#   scripts/prove/fuzz.sh                    # 10 million executions per target
#   scripts/prove/fuzz.sh --runs N [TARGET…] # N executions of the named targets
#   scripts/prove/fuzz.sh --seconds S [TARGET…]
#
# Stable Rust: `--sanitizer none` (`-s none`) keeps cargo-fuzz off nightly-only flags; libFuzzer's
# coverage instrumentation (`-Cpasses=sancov-module` and friends) is stable. The committed seed
# corpus in fuzz/corpus/TARGET is read; new inputs go to fuzz/corpus-work/TARGET (git-ignored).
# A failure leaves the crashing input in fuzz/artifacts/TARGET and exits non-zero. Per-target
# figures are appended to scripts/prove/out/fuzz-stats.tsv.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGETS_ALL=(http_adapter request_parsers api_key_headers redirect_policy)
limit=(-runs=10000000)
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bounded) limit=(-max_total_time="${FUZZ_SECONDS:-15}") ;;
    --runs) limit=(-runs="$2"); shift ;;
    --seconds) limit=(-max_total_time="$2"); shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${TARGETS_ALL[@]}")

ensure_cargo_fuzz
cd "$REPO_ROOT/fuzz"
log "building fuzz targets (cargo fuzz build -s none)"
cargo fuzz build -s none >/dev/null

failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus-work/$t" "corpus/$t"
  logfile="$OUT_DIR/fuzz-$t.log"
  log "fuzzing $t (${limit[*]}), log: $logfile"
  if cargo fuzz run -s none "$t" "corpus-work/$t" "corpus/$t" -- \
      -dict=dict/nox.dict -print_final_stats=1 -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      "${limit[@]}" >"$logfile" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=1
    grep -a -E 'panicked|SUMMARY|ERROR|Test unit written' "$logfile" >&2 || tail -n 30 "$logfile" >&2
  fi
  runs="$(grep -a 'stat::number_of_executed_units' "$logfile" | tail -n 1 | awk '{print $2}')"
  rate="$(grep -a 'stat::average_exec_per_sec' "$logfile" | tail -n 1 | awk '{print $2}')"
  rss="$(grep -a 'stat::peak_rss_mb' "$logfile" | tail -n 1 | awk '{print $2}')"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "${runs:-?}" "${rate:-?}" "${rss:-?}" "$status" \
    | tee -a "$OUT_DIR/fuzz-stats.tsv"
done
[[ $failed -eq 0 ]] || die "a fuzz target failed (see fuzz/artifacts/)"
log "fuzzing passed: ${targets[*]}"
