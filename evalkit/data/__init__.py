"""Benchmark loaders: `load_benchmark(cfg.benchmark)` returns the Benchmark contract."""
from __future__ import annotations

from evalkit.config import BenchmarkConfig
from evalkit.contracts import Benchmark
from evalkit.errors import EvalkitError


def load_benchmark(cfg: BenchmarkConfig) -> Benchmark:
    from evalkit.data import miracl

    loaders = {"sample": miracl.load_sample, "miracl": miracl.load_miracl}
    if cfg.name not in loaders:
        raise EvalkitError(f"benchmark.name={cfg.name!r} is not one of {sorted(loaders)}")
    if cfg.pool not in ("full", "judged"):
        raise EvalkitError(f"benchmark.pool={cfg.pool!r} must be 'full' or 'judged'")
    return loaders[cfg.name](cfg)
