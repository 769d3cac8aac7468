"""Rerankers: `RERANKERS[cfg.reranker.backend].build(cfg.reranker, executor)` returns a scorer (or None).

Backends are registry entries in their own modules: cross_encoder.py (local sequence-classification models,
run by the executor), api/ (hosted and self-hosted rerank endpoints), none.py (the first stage alone).
A reranker preset (configs/reranker/<name>.yaml) picks a backend and its settings.
"""
from __future__ import annotations

from evalkit.registry import new_registry

RERANKERS = new_registry("reranker")

__all__ = ["RERANKERS"]

