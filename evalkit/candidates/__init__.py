"""First stages: `first_stage(benchmark, cfg.candidates, executor)` returns one Run per language.

Each stage takes (benchmark, candidates config, an `evalkit.executors.Executor` or None); only dense encoding
uses the executor.
"""
from __future__ import annotations

from typing import Any, Callable

from evalkit.config import CandidatesConfig
from evalkit.contracts import Benchmark, Run
from evalkit.errors import EvalkitError


def _bm25(benchmark: Benchmark, cfg: CandidatesConfig, executor: Any = None) -> dict[str, Run]:
    from evalkit.candidates.bm25 import bm25_candidates

    return bm25_candidates(benchmark, cfg)


def _lucene(benchmark: Benchmark, cfg: CandidatesConfig, executor: Any = None) -> dict[str, Run]:
    from evalkit.candidates.lucene import lucene_candidates   # starts a JVM (Java + Pyserini)

    return lucene_candidates(benchmark, cfg)


def _runfile(benchmark: Benchmark, cfg: CandidatesConfig, executor: Any = None) -> dict[str, Run]:
    from evalkit.candidates.runfile import runfile_candidates

    return runfile_candidates(benchmark, cfg)


def _dense(benchmark: Benchmark, cfg: CandidatesConfig, executor: Any = None) -> dict[str, Run]:
    from evalkit.candidates.dense import dense_candidates   # imports torch and transformers

    return dense_candidates(benchmark, cfg, executor=executor)


def _hybrid(benchmark: Benchmark, cfg: CandidatesConfig, executor: Any = None) -> dict[str, Run]:
    from evalkit.candidates.fusion import hybrid_candidates

    return hybrid_candidates(benchmark, cfg, executor)


def _m3(benchmark: Benchmark, cfg: CandidatesConfig, executor: Any = None) -> dict[str, Run]:
    from evalkit.candidates.m3 import m3_candidates   # BGE-M3's five modes

    return m3_candidates(benchmark, cfg, executor)


STAGES: dict[str, Callable[[Benchmark, CandidatesConfig, Any], dict[str, Run]]] = {
    "bm25": _bm25, "lucene": _lucene, "runfile": _runfile, "dense": _dense, "hybrid": _hybrid, "m3": _m3}


def first_stage(benchmark: Benchmark, cfg: CandidatesConfig, executor: Any = None) -> dict[str, Run]:
    if cfg.name not in STAGES:
        raise EvalkitError(f"candidates.name={cfg.name!r} is not one of {sorted(STAGES)}")
    return STAGES[cfg.name](benchmark, cfg, executor)
