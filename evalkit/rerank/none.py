"""reranker.backend=none: the first stage is evaluated alone (no scorer)."""
from __future__ import annotations

from typing import Any

from evalkit.rerank import RERANKERS


@RERANKERS.register("none")
def no_reranker(reranker: Any, executor: Any) -> None:
    """No reranking: the first stage is evaluated alone."""
    return None
