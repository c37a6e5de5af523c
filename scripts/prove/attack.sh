#!/usr/bin/env bash
# Hostile clients against the release server (spec decision 12; issue 11), on 127.0.0.1 only:
# slowloris on heads and on bodies, an idle-connection flood, a keyless upload flood, an
# authenticated create flood (caps; then the rate limit), v1 device-id growth, and SIGTERM with
# a stuck request. Each scenario is bounded in time and reports the server's RSS before / at
# peak / after and the success rate and p99 of a legitimate caller's requests sent alongside.
#
#   scripts/prove/attack.sh --short   small time-outs and caps, every claim asserted (~60 s;
#                                     what scripts/prove/bounded.sh runs)
#   scripts/prove/attack.sh --full    the issue's sizes and the default limits; reports only
#                                     (~10 min; its figures are in docs/security.md)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mode="${1:---short}"
case "$mode" in --short|--full) ;; *) die "usage: attack.sh [--short|--full]" ;; esac
bin="$(build_server)"
# The idle and slowloris floods open thousands of sockets in one client process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
out="$OUT_DIR/attack${mode#-}.txt"
# SQLite: in the short form only the scenarios whose outcome depends on the store (the others
# run the same code on either store).
only=create_flood,device_id_growth,sigterm_stuck
[[ "$mode" == --full ]] && only=
set +e
{
  status=0
  python3 "$PROVE_DIR/attack.py" "$bin" --store memory "$mode" || status=1
  python3 "$PROVE_DIR/attack.py" "$bin" --store sqlite "$mode" --only "$only" || status=1
  exit $status
} | tee "$out"
status=${PIPESTATUS[0]}
set -e
[[ $status -eq 0 ]] || die "attack suite failed (see $out)"
log "attack suite ($mode) done; figures in $out"
