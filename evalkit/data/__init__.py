"""Benchmark loaders: `load_benchmark(cfg.benchmark)` returns the Benchmark contract."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from evalkit.contracts import Benchmark
from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.config import BenchmarkConfig

LOADERS = {                                     # name -> "module:function" (imported on use)
    "sample": "evalkit.data.miracl:load_sample",
    "miracl": "evalkit.data.miracl:load_miracl",
    "mldr": "evalkit.data.mldr:load_mldr",
    "mkqa": "evalkit.data.mkqa:load_mkqa",
    "local": "evalkit.data.local:load_local",
}

__all__ = ["LOADERS", "load_benchmark"]


def load_benchmark(cfg: BenchmarkConfig) -> Benchmark:
    from evalkit.data.pool import apply_judged_pool
    from evalkit.data.validate import check_missing_docs_mode

    if cfg.name not in LOADERS:
        raise EvalkitError(f"benchmark.name={cfg.name!r} is not one of {sorted(LOADERS)}")
    if cfg.pool not in ("full", "judged"):
        raise EvalkitError(f"benchmark.pool={cfg.pool!r} must be 'full' or 'judged'")
    check_missing_docs_mode(cfg.missing_docs)
    if cfg.subset:  # a frozen CI subset (results/subsets/<name>): its own queries, qrels and pool texts
        from evalkit.gate.subset import load_subset

        benchmark = load_subset(cfg)
    else:
        module, function = LOADERS[cfg.name].split(":")
        benchmark = getattr(importlib.import_module(module), function)(cfg)
    return apply_judged_pool(benchmark) if cfg.pool == "judged" else benchmark
