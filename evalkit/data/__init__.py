"""Benchmark loaders: `load_benchmark(cfg.benchmark)` returns the Benchmark contract."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

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


def load_benchmark(cfg: BenchmarkConfig, reader: Callable[[BenchmarkConfig], Benchmark] | None = None) -> Benchmark:
    """The checked config's benchmark; `reader` replaces the named loader (a frozen CI subset is read by
    evalkit.gate.subset.load_subset, which the caller passes: the gate builds on data, not the reverse)."""
    from evalkit.data.pool import apply_judged_pool
    from evalkit.data.validate import check_missing_docs_mode

    if cfg.name not in LOADERS:
        raise EvalkitError(f"benchmark.name={cfg.name!r} is not one of {sorted(LOADERS)}")
    if cfg.pool not in ("full", "judged"):
        raise EvalkitError(f"benchmark.pool={cfg.pool!r} must be 'full' or 'judged'")
    check_missing_docs_mode(cfg.missing_docs)
    if reader is not None:
        benchmark = reader(cfg)
    else:
        module, function = LOADERS[cfg.name].split(":")
        benchmark = getattr(importlib.import_module(module), function)(cfg)
    return apply_judged_pool(benchmark) if cfg.pool == "judged" else benchmark
