"""Per-query measures in numpy, with trec_eval's / ir_measures' definitions (relevance thresholds, Judged@k,
condensed lists), without numba's per-process compilation (ranx's typed dicts compile afresh in every process,
~10-25 s). tests/test_measures_ir_measures.py checks every family against ir_measures on random tied runs;
measures not computed here (f1, r-precision, *_burges) are left to ranx.

Inputs per query: the grades of the ranked documents in rank order (NaN = unjudged) and every judged grade.
"""
from __future__ import annotations

import numpy as np

from evalkit.metrics.measures import Measure


def _dcg(gains: np.ndarray) -> float:
    return float(np.sum(gains / np.log2(np.arange(2, gains.size + 2))))


def value(measure: Measure, ranked: np.ndarray, judged: np.ndarray) -> float:
    """One query's value; `ranked` holds the ranked documents' grades (NaN where unjudged)."""
    if measure.condensed:                        # Sakai's condensed list: unjudged documents removed first
        ranked = ranked[~np.isnan(ranked)]
    top, k = ranked[:measure.k], measure.k
    family = measure.family
    if family == "judged":                       # ir_measures: over min(k, documents ranked)
        return float(np.count_nonzero(~np.isnan(top)) / top.size) if top.size else 0.0
    grades = np.nan_to_num(top, nan=0.0)
    if family in ("ndcg", "dcg"):                # gains are the grades (trec_eval)
        gains = np.where(grades > 0, grades, 0.0)
        if family == "dcg":
            return _dcg(gains)
        ideal = _dcg(np.sort(judged[judged > 0])[::-1][:k])
        return _dcg(gains) / ideal if ideal > 0 else 0.0
    hit = grades >= measure.rel
    n_rel = int(np.count_nonzero(judged >= measure.rel))
    if family == "mrr":
        first = np.flatnonzero(hit)
        return 1.0 / (first[0] + 1) if first.size else 0.0
    found = int(hit.sum())
    if family == "recall":
        return found / n_rel if n_rel else 0.0
    if family == "precision":                    # trec_eval P.k divides by k, however many were ranked
        return found / k
    if family == "hits":
        return float(found)
    if family in ("hit_rate", "answer_recall"):
        return float(found > 0)
    if family == "map":
        ranks = np.flatnonzero(hit) + 1
        return float(np.sum(np.arange(1, ranks.size + 1) / ranks) / n_rel) if n_rel else 0.0
    raise ValueError(family)
