"""Where the expensive stages run: `executor=local` (this process) or `executor=ray` (a Ray actor pool)."""
from __future__ import annotations

from typing import Any

from evalkit.errors import EvalkitError

__all__ = ["build_scorer", "EXECUTORS"]
EXECUTORS = ("local", "ray")


def build_scorer(reranker: Any, executor: Any):
    """The cross-encoder `Scorer` for `cfg.reranker`, run by `cfg.executor`."""
    if executor.name not in EXECUTORS:
        raise EvalkitError(f"executor.name={executor.name!r} is not one of {EXECUTORS}")
    if executor.name == "ray":
        from evalkit.executors.ray_exec import RayScorer   # imports ray only when asked for

        return RayScorer(reranker, executor)
    from evalkit.rerank.engine import build_cross_encoder

    return build_cross_encoder(reranker)
