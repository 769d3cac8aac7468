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

    def m3_encoder(self, candidates: Any, section: str = "m3", build: Any = None):
        """BGE-M3's, or `build(candidates.<section>)` for a model behind its interface (mGTE)."""
        from evalkit.candidates.m3 import build_m3_encoder

        return (build or build_m3_encoder)(getattr(candidates, section))

    def session(self) -> AbstractContextManager:
        return nullcontext()
