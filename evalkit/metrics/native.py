"""ranx's cut-off measures in numpy: the same definitions, without numba's per-process compilation.

ranx builds numba typed dicts, whose operations are compiled afresh in every process (~10-25 s here), so a
fresh run's evaluate stage was dominated by compilation. These are the measures evalkit reports by default;
tests/test_metrics_native.py checks every one against ranx and pytrec_eval on random runs. A measure not
listed here (f1, dcg_burges, r-precision, measures without @k) is still computed by ranx.

Inputs per query: the gains of the ranked documents (0 = not relevant) and the positive judged grades.
"""
from __future__ import annotations

import re

import numpy as np

FAMILIES = ("ndcg", "mrr", "recall", "precision", "map", "hit_rate", "hits", "dcg")


def parse(measure: str) -> tuple[str, int | None] | None:
    """(family, k) for a measure computed here, else None."""
    m = re.fullmatch(r"([a-z_]+)(?:@(\d+))?", measure)
    if not m or m.group(1) not in FAMILIES:
        return None
    return (m.group(1), int(m.group(2))) if m.group(2) else None   # no cut-off: left to ranx


def _dcg(gains: np.ndarray) -> float:
    return float(np.sum(gains / np.log2(np.arange(2, gains.size + 2))))


def value(family: str, k: int, ranked_gains: np.ndarray, judged_gains: np.ndarray) -> float:
    """One query's value; ranked_gains in rank order (0 for a non-relevant document), judged_gains all > 0."""
    n_rel = judged_gains.size
    top = ranked_gains[:k]
    hit = top > 0
    if family == "ndcg":
        ideal = _dcg(np.sort(judged_gains)[::-1][:k])
        return _dcg(top) / ideal if ideal > 0 else 0.0
    if family == "dcg":
        return _dcg(top)
    if family == "mrr":
        first = np.flatnonzero(hit)
        return 1.0 / (first[0] + 1) if first.size else 0.0
    if family in ("recall", "hits", "hit_rate", "precision"):
        found = int(hit.sum())
        return {"recall": found / n_rel, "hits": float(found), "hit_rate": float(found > 0), "precision": found / k}[family]
    if family == "map":
        ranks = np.flatnonzero(hit) + 1
        return float(np.sum(np.arange(1, ranks.size + 1) / ranks) / n_rel)
    raise ValueError(family)
