"""First stages: `first_stage(benchmark, cfg.candidates)` returns one Run per language."""
from __future__ import annotations

from typing import Callable

from evalkit.config import CandidatesConfig
from evalkit.contracts import Benchmark, Run
from evalkit.errors import EvalkitError


def _bm25(benchmark: Benchmark, cfg: CandidatesConfig) -> dict[str, Run]:
    from evalkit.candidates.bm25 import bm25_candidates

    return bm25_candidates(benchmark, cfg)


def _runfile(benchmark: Benchmark, cfg: CandidatesConfig) -> dict[str, Run]:
    from evalkit.candidates.runfile import runfile_candidates

    return runfile_candidates(benchmark, cfg)


def _dense(benchmark: Benchmark, cfg: CandidatesConfig) -> dict[str, Run]:
    from evalkit.candidates.dense import dense_candidates   # imports torch and transformers

    return dense_candidates(benchmark, cfg)


def _hybrid(benchmark: Benchmark, cfg: CandidatesConfig) -> dict[str, Run]:
    from evalkit.candidates.fusion import hybrid_candidates

    return hybrid_candidates(benchmark, cfg)


STAGES: dict[str, Callable[[Benchmark, CandidatesConfig], dict[str, Run]]] = {
    "bm25": _bm25, "runfile": _runfile, "dense": _dense, "hybrid": _hybrid}


def first_stage(benchmark: Benchmark, cfg: CandidatesConfig) -> dict[str, Run]:
    if cfg.name not in STAGES:
        raise EvalkitError(f"candidates.name={cfg.name!r} is not one of {sorted(STAGES)}")
    return STAGES[cfg.name](benchmark, cfg)
