"""Hybrid first stage: fuse the runs of several first stages with ranx (rrf, or wsum after normalisation).

Each sub-system (`candidates.hybrid.systems`: any registered first stage but hybrid) runs with this same candidates config
(so `candidates.bm25`, `candidates.dense` and `candidates.path` configure them) at `candidates.hybrid.depth`.
- rrf: score = sum over runs of 1 / (rrf_k + rank); ranks come from the canonical order (score desc, docid
  desc), because ranx ranks tied scores in arbitrary order;
- wsum: score = sum over runs of weight * normalised score (ranx `norm`, default min-max per query:
  (s - min) / (max - min), and 0 when a query's scores are all equal); a document absent from a run gets 0.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, is_dataclass, replace
from typing import Any, Optional, Sequence

from omegaconf import OmegaConf

from evalkit.candidates import FIRST_STAGES
from evalkit.checks import ConfigValueError, at_least, each, hybrid_weights, one_of, optional, setting
from evalkit.contracts import Benchmark, Run
from evalkit.data.trec import cut
from evalkit.errors import EvalkitError
from evalkit.metrics.evaluate import rank_scores

METHODS = ("rrf", "wsum")
NORMS = ("min-max", "max", "sum", "zmuv", "rank", "borda", "min-max-inverted", "max-inverted", "sum-inverted")
_PLACEHOLDER = "\x00absent"


def fuse_runs(runs: Sequence[Run], method: str = "rrf", weights: Sequence[float] | None = None,
              norm: str = "min-max", rrf_k: int = 60) -> Run:
    """One fused run over the union of the runs' queries; a query absent from a run gets nothing from it."""
    import ranx

    if method not in METHODS:
        raise EvalkitError(f"candidates.hybrid.method={method!r} is not one of {METHODS}")
    weights = list(weights) if weights is not None else [1.0] * len(runs)
    if len(weights) != len(runs):
        raise EvalkitError(f"candidates.hybrid.weights: {len(weights)} weights for {len(runs)} systems")
    qids = list(dict.fromkeys(q for run in runs for q in run if run[q]))
    if not qids:
        return {}
    # ranx fuses only runs over the same queries: a query a run lacks gets a placeholder document there, which
    # changes no other document's fused score (rrf ranks and min-max norms are per run) and is removed after.
    members = [ranx.Run({q: (rank_scores(run[q]) if method == "rrf" else dict(run[q])) if run.get(q) else
                         {_PLACEHOLDER: 0.0} for q in qids}) for run in runs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "rrf":
            result = ranx.fuse(members, norm=None, method="rrf", params={"k": rrf_k})
        else:
            result = ranx.fuse(members, norm=norm, method="wsum", params={"weights": weights})
    return {q: {d: float(s) for d, s in docs.items() if d != _PLACEHOLDER} for q, docs in result.to_dict().items()}


def _with_depth(cfg: Any, depth: int):
    if is_dataclass(cfg):
        return replace(cfg, depth=depth)
    copy = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    copy.depth = depth
    return copy


def fusable() -> tuple[str, ...]:
    """The stages a hybrid may fuse: every registered first stage except hybrid itself."""
    return tuple(name for name in FIRST_STAGES.names() if name != "hybrid")


def _systems(v: list[str]) -> str | None:
    if len(v) < 2:
        return f"name two or more of {', '.join(fusable())}"
    return each(one_of(*fusable()))(v)


def _requires(tree: dict) -> None:
    """A hybrid needs what each of its systems needs, and one weight per system."""
    hybrid = tree["candidates"]["hybrid"]
    for name in hybrid["systems"]:
        requires = FIRST_STAGES[name].requires
        if requires:
            requires(tree)
    if hybrid["weights"] is not None and len(hybrid["weights"]) != len(hybrid["systems"]):
        raise ConfigValueError("candidates.hybrid.weights", hybrid["weights"],
                               f"needs one weight per system of candidates.hybrid.systems={hybrid['systems']}")


@dataclass
class HybridConfig:
    systems: list[str] = setting(check=_systems, factory=lambda: ["bm25", "dense"])   # see fusable()
    method: str = setting("rrf", one_of(*METHODS))
    weights: Optional[list[float]] = setting(None, optional(hybrid_weights))
    norm: str = setting("min-max", one_of(*NORMS))   # wsum normalisation (ranx fusion norm)
    depth: int = setting(1000, at_least(1))         # depth of each fused run
    rrf_k: int = setting(60, at_least(0))           # rrf: score = sum of 1 / (rrf_k + rank)


@FIRST_STAGES.register("hybrid", config=HybridConfig, requires=_requires,
                       uses=lambda candidates: list(candidates["hybrid"]["systems"]))
def hybrid_candidates(benchmark: Benchmark, cfg: Any, executor=None) -> dict[str, Run]:
    """Fusion of several first stages (rrf, or wsum after normalisation)."""
    systems = list(cfg.hybrid.systems)
    problem = _systems(systems)
    if problem:
        raise ConfigValueError("candidates.hybrid.systems", systems, problem)
    sub = _with_depth(cfg, cfg.hybrid.depth)
    per_system = [FIRST_STAGES[name].build(benchmark, sub, executor) for name in systems]
    weights = list(cfg.hybrid.weights) if cfg.hybrid.weights is not None else None
    return {lang: cut(fuse_runs([runs.get(lang, {}) for runs in per_system], cfg.hybrid.method, weights,
                                cfg.hybrid.norm, cfg.hybrid.rrf_k), cfg.depth)
            for lang in benchmark.queries}
