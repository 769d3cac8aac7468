"""executor=ray: cross-encoder scoring, dense encoding and BGE-M3 corpus encoding on a Ray actor pool
(evalkit/executors/ray_exec.py, ray_m3.py; imported on use: `pip install -e ".[ray]"`)."""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from evalkit.executors import EXECUTORS
from evalkit.registry import Needs


@EXECUTORS.register("ray", needs=Needs(modules={"ray": "ray"}, extra="ray"))
class RayExecutor:
    """A Ray actor pool: a local instance, or a running cluster (executor.address=auto)."""

    def __init__(self, cfg: Any):
        self.cfg = cfg

    def cross_encoder(self, reranker: Any):
        from evalkit.executors.ray_exec import RayScorer

        return RayScorer(reranker, self.cfg)

    def dense_encoder(self, candidates: Any):
        from evalkit.executors.ray_exec import RayEncoder

        return RayEncoder(candidates, self.cfg)

    def m3_encoder(self, candidates: Any, section: str = "m3", build: Any = None):
        from evalkit.executors.ray_m3 import RayM3Encoder

        return RayM3Encoder(candidates, self.cfg, section=section, **({"build": build} if build else {}))

    def session(self) -> AbstractContextManager:
        from evalkit.executors.ray_exec import ray_session

        return ray_session(self.cfg.address)
