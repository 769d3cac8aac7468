"""First stages: `first_stage(benchmark, cfg.candidates, executor)` returns one Run per language.

Each stage is an entry of `FIRST_STAGES` registered in its own module (bm25.py, lucene.py, runfile.py, dense.py,
hybrid.py, m3.py): `build(benchmark, candidates config, executor)`; only stages that run models use the executor
(`executor.dense_encoder(cfg)`, `executor.m3_encoder(cfg)`, `executor.session()`).
"""
from __future__ import annotations

from typing import Any

from evalkit.contracts import Benchmark, Run
from evalkit.registry import new_registry

FIRST_STAGES = new_registry("candidates")

__all__ = ["FIRST_STAGES", "first_stage"]


def first_stage(benchmark: Benchmark, cfg: Any, executor: Any = None) -> dict[str, Run]:
    return FIRST_STAGES[cfg.name].build(benchmark, cfg, executor)
