"""First stages: `first_stage(benchmark, cfg.candidates)` returns one Run per language."""
from __future__ import annotations

from evalkit.config import CandidatesConfig
from evalkit.contracts import Benchmark, Run
from evalkit.errors import EvalkitError


def first_stage(benchmark: Benchmark, cfg: CandidatesConfig) -> dict[str, Run]:
    from evalkit.candidates.bm25 import bm25_candidates

    stages = {"bm25": bm25_candidates}
    if cfg.name not in stages:
        raise EvalkitError(f"candidates.name={cfg.name!r} is not one of {sorted(stages)}")
    return stages[cfg.name](benchmark, cfg)
