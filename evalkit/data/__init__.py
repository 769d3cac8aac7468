"""Benchmark loaders: `load_benchmark(cfg.benchmark)` returns the Benchmark contract.

Each benchmark is an entry of `BENCHMARKS` registered in its loader's module (miracl.py: miracl and sample,
mldr.py, mkqa.py, local.py, irds.py): `build(cfg.benchmark) -> Benchmark`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from evalkit.config import POOLS
from evalkit.contracts import Benchmark
from evalkit.errors import EvalkitError
from evalkit.registry import new_registry

if TYPE_CHECKING:
    from evalkit.config import BenchmarkConfig

BENCHMARKS = new_registry("benchmark")

__all__ = ["BENCHMARKS", "load_benchmark"]


def load_benchmark(cfg: BenchmarkConfig, reader: Callable[[BenchmarkConfig], Benchmark] | None = None) -> Benchmark:
    """The checked config's benchmark; `reader` replaces the named loader (a frozen CI subset is read by
    evalkit.gate.subset.load_subset, which the caller passes: the gate builds on data, not the reverse)."""
    from evalkit.data.pool import apply_judged_pool
    from evalkit.data.validate import check_missing_docs_mode

    entry = BENCHMARKS[cfg.name]
    if cfg.pool not in POOLS:
        raise EvalkitError(f"benchmark.pool={cfg.pool!r} must be 'full' or 'judged'")
    check_missing_docs_mode(cfg.missing_docs)
    benchmark = reader(cfg) if reader is not None else entry.build(cfg)
    return apply_judged_pool(benchmark) if cfg.pool == "judged" else benchmark
