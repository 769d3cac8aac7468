"""Where the expensive stages run: `executor=local` (this process) or `executor=ray` (a Ray actor pool)."""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from evalkit.errors import EvalkitError

__all__ = ["Executor", "build_scorer", "build_dense_encoder", "executor_session", "EXECUTORS"]
EXECUTORS = ("local", "ray")


def _name(executor: Any) -> str:
    """The executor's name, checked; no executor config means local."""
    name = "local" if executor is None else executor.name
    if name not in EXECUTORS:
        raise EvalkitError(f"executor.name={name!r} is not one of {EXECUTORS}")
    return name


def build_scorer(reranker: Any, executor: Any):
    """The cross-encoder `Scorer` for `cfg.reranker`, run by `cfg.executor` (reranker=api: an HTTP endpoint)."""
    if reranker.name == "api":
        from evalkit.rerank.api.scorer import build_api_scorer

        return build_api_scorer(reranker)
    if _name(executor) == "ray":
        from evalkit.executors.ray_exec import RayScorer   # imports ray only when asked for

        return RayScorer(reranker, executor)
    from evalkit.rerank.engine import build_cross_encoder

    return build_cross_encoder(reranker)


def build_dense_encoder(candidates: Any, executor: Any):
    """The bi-encoder of `cfg.candidates.dense` (an `Encoder`), run by `cfg.executor`."""
    if _name(executor) == "ray":
        from evalkit.executors.ray_exec import RayEncoder

        return RayEncoder(candidates, executor)
    from evalkit.candidates.dense import build_encoder

    return build_encoder(candidates)


def executor_session(executor: Any) -> AbstractContextManager:
    """Around several calls of one stage: under ray, one Ray start-up (and shutdown) for all of them."""
    if _name(executor) == "ray":
        from evalkit.executors.ray_exec import ray_session

        return ray_session(executor.address)
    return nullcontext()


class Executor:
    """`cfg.executor` as the object handed to the stages that run models: they call `dense_encoder(cfg)` and
    `session()` on it and never import this package (executors build the stages' models, not the reverse)."""

    def __init__(self, cfg: Any = None):
        _name(cfg)
        self.cfg = cfg

    def dense_encoder(self, candidates: Any):
        return build_dense_encoder(candidates, self.cfg)

    def m3_encoder(self, candidates: Any):
        """BGE-M3 (`cfg.candidates.m3`): under ray, its corpus index is encoded by an actor pool."""
        if _name(self.cfg) == "ray":
            from evalkit.executors.ray_m3 import RayM3Encoder

            return RayM3Encoder(candidates, self.cfg)
        from evalkit.candidates.m3 import build_m3_encoder

        return build_m3_encoder(candidates.m3)

    def session(self) -> AbstractContextManager:
        return executor_session(self.cfg)
