"""Where the expensive stages run: `executor=local` (this process) or `executor=ray` (a Ray actor pool).

Each executor is an entry of `EXECUTORS` (local.py, ray_actors.py) whose builder takes `cfg.executor` and returns
an object with `cross_encoder(reranker)`, `dense_encoder(candidates)`, `m3_encoder(candidates, section="m3",
build=None)` (BGE-M3's, or mGTE's builder for `candidates.mgte`) and `session()`:
stages that run models ask it for their model and never import this package (executors build the stages'
models, not the reverse).
"""
from __future__ import annotations

from typing import Any

from evalkit.registry import new_registry

EXECUTORS = new_registry("executor")

__all__ = ["EXECUTORS", "Executor"]


def Executor(cfg: Any = None):   # noqa: N802 (reads as the object it returns)
    """The executor of `cfg.executor` (None: local)."""
    return EXECUTORS["local" if cfg is None else cfg.name].build(cfg)
