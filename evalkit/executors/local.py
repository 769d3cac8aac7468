"""executor=local: every model runs in this process."""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from evalkit.executors import EXECUTORS


@EXECUTORS.register("local")
class LocalExecutor:
    """Models run in this process."""

    def __init__(self, cfg: Any = None):
        self.cfg = cfg

    def cross_encoder(self, reranker: Any):
        from evalkit.rerank.decoder import build_local_scorer

        return build_local_scorer(reranker)

    def dense_encoder(self, candidates: Any):
        from evalkit.candidates.dense import build_encoder

        return build_encoder(candidates)

    def m3_encoder(self, candidates: Any):
        from evalkit.candidates.m3 import build_m3_encoder

        return build_m3_encoder(candidates.m3)

    def session(self) -> AbstractContextManager:
        return nullcontext()
