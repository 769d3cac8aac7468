#!/usr/bin/env bash
# The real third-party rerank server the reranker=api tests start on 127.0.0.1: Infinity (PyPI infinity-emb), in its
# own venv so that its transformers 4.x never touches the system Python's. The venv sees the system's site-packages
# for torch (CPU build, ~no download) and numpy 2 (infinity-emb pins numpy<2, which breaks the system's pandas; it
# runs on numpy 2 for cross-encoders); datasets 4.0 matches the venv's huggingface_hub 0.x. Bounded: ~60 MB of wheels.
set -euo pipefail
VENV="${EVALKIT_VENVS:-$(cd "$(dirname "$0")/.." && pwd)/.venvs}/infinity"
if [ -x "$VENV/bin/infinity_emb" ] && "$VENV/bin/python" -c "import infinity_emb" 2>/dev/null; then
  echo "infinity venv ready: $VENV"; exit 0
fi
python -m venv --system-site-packages "$VENV"
"$VENV/bin/pip" install -q "infinity-emb[server,torch]==0.0.78" "datasets==4.0.0"
"$VENV/bin/pip" uninstall -q -y numpy
"$VENV/bin/python" -c "import infinity_emb, numpy; print('infinity', infinity_emb.__version__, 'numpy', numpy.__version__)"
