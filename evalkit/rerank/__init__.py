"""Cross-encoder rerankers: `build_scorer(cfg.reranker)` returns a Scorer (see evalkit.contracts)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalkit.config import RerankerConfig


def build_scorer(cfg: RerankerConfig):
    from evalkit.rerank.engine import build_cross_encoder

    return build_cross_encoder(cfg)
