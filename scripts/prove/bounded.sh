#!/usr/bin/env bash
# What the repository's test command calls: a bounded conformance run (schemathesis against the
# reference server, 8 runs of 15 s), a bounded fuzz run (cargo-fuzz, 15 s per target) and the
# short attack suite (attack.sh --short, ~55 s: hostile clients, every limit asserted) and the
# logs-and-metrics check (telemetry.sh, ~10 s).
# Idempotent setup on a fresh Debian 12 machine: python3-venv if missing, the pinned
# schemathesis venv, the pinned cargo-fuzz. Exits non-zero on any failure; ~4 minutes warm.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

status=0
CONFORMANCE_SECONDS="${CONFORMANCE_SECONDS:-15}" "$PROVE_DIR/conformance.sh" --bounded || status=1
FUZZ_SECONDS="${FUZZ_SECONDS:-15}" "$PROVE_DIR/fuzz.sh" --bounded || status=1
"$PROVE_DIR/attack.sh" --short || status=1
"$PROVE_DIR/telemetry.sh" || status=1
[[ $status -eq 0 ]] || die "bounded proofs failed"
log "bounded proofs passed"
