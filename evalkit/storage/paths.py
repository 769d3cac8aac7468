"""The one cache root of evalkit: `EVALKIT_CACHE`, default ~/.cache/evalkit (doc stores, indexes, embeddings,
tokenizer copies, pair scores)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    value = os.environ.get("EVALKIT_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "evalkit"
