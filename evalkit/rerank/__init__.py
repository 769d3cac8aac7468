"""Cross-encoder rerankers: `build_scorer(cfg.reranker)` returns a Scorer (see evalkit.contracts)."""
from __future__ import annotations

from evalkit.config import RerankerConfig


def build_scorer(cfg: RerankerConfig):
    from evalkit.rerank.engine import build_cross_encoder

    return build_cross_encoder(cfg)
