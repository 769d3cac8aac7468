"""Rerankers: `RERANKERS[cfg.reranker.backend].build(cfg.reranker, executor)` returns a scorer (or None).

Backends are registry entries in their own modules: cross_encoder.py (local sequence-classification models,
run by the executor), api/ (hosted and self-hosted rerank endpoints); `none` (the first stage alone) is here.
A reranker preset (configs/reranker/<name>.yaml) picks a backend and its settings.
"""
from __future__ import annotations

from typing import Any

from evalkit.registry import new_registry

RERANKERS = new_registry("reranker")

__all__ = ["RERANKERS"]


@RERANKERS.register("none")
def no_reranker(reranker: Any, executor: Any) -> None:
    """No reranking: the first stage is evaluated alone."""
    return None
