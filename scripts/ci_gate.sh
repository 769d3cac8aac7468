#!/usr/bin/env bash
# evalkit's own CI regression gate.
#
# Runs the bundled sample benchmark with BM25 and a tiny random GTE checkpoint (built here, seed fixed, so the
# same on every machine), then gates it against the committed baseline results/baselines/sample-tiny-gte:
# the significance gate per language x metric, plus exactness checks, because on a random model a change in
# tokenization, truncation, batching or metrics moves scores either way: any per-query metric value that moves
# by > 1e-7 points (regress speaks x100, as the reports: 1e-9 of a 0-1 value), or any run score that moves by
# > 1e-4 (raw reranker scores), fails with a table of the largest moves. Tolerance and hard limit keep regress's
# defaults, 1 and 5 points.
#
#   scripts/ci_gate.sh                      # gate (exit 0 pass, 1 regression, 2 unusable input)
#   scripts/ci_gate.sh --bless "why"        # re-bless the baseline from a fresh run (commit the result)
#
# Environment: CI_GATE_BASELINE (default sample-tiny-gte), CI_GATE_JUNIT (JUnit XML path),
# GITHUB_STEP_SUMMARY (the Markdown summary is appended there when set), CI_GATE_KEEP=1 keeps the work dir.
set -euo pipefail

cd "$(dirname "$0")/.."
baseline="${CI_GATE_BASELINE:-sample-tiny-gte}"
work="$(mktemp -d)"
if [[ "${CI_GATE_KEEP:-0}" != 1 ]]; then trap 'rm -rf "$work"' EXIT; else echo "work dir: $work" >&2; fi
export EVALKIT_CACHE="$work/cache" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONHASHSEED=0

python - "$work/tiny-gte" <<'EOF'
import sys
from evalkit.testing import make_tiny_gte
make_tiny_gte(sys.argv[1], seed=0)
EOF

python -m evalkit benchmark=sample candidates=bm25 candidates.depth=20 reranker=gte reranker.model="$work/tiny-gte" \
  reranker.device=cpu reranker.dtype=fp32 reranker.cache=false metrics.oracle=true \
  hydra.run.dir="$work/run" >"$work/pipeline.log" 2>&1 || { tail -n 40 "$work/pipeline.log" >&2; exit 2; }

if [[ "${1:-}" == "--bless" ]]; then
  exec python -m evalkit regress --update --baseline "$baseline" --current "$work/run" --with-runs \
    --message "${2:?usage: scripts/ci_gate.sh --bless MESSAGE}"
fi

args=(--baseline "$baseline" --current "$work/run" --max-query-change 1e-7 --max-score-change 1e-4)
[[ -n "${CI_GATE_JUNIT:-}" ]] && args+=(--junit "$CI_GATE_JUNIT")
[[ -n "${GITHUB_STEP_SUMMARY:-}" ]] && args+=(--summary "$GITHUB_STEP_SUMMARY")
exec python -m evalkit regress "${args[@]}"
