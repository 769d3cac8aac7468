"""Do tied scores move a metric? Saturated sigmoid scores (many exactly 1.0) tie, and the order of a tie is then
decided by the tie policy (docid), not by the model.

Each metric is recomputed with every tie broken in favour of the relevant documents (best case) and against them
(worst case); where the two macro averages differ, ties affect that metric and the report says by how much.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.contracts import Benchmark, CompactRun, Run
from evalkit.metrics.aggregate import MACRO
from evalkit.metrics.evaluate import evaluate_runs

SATURATED = 1e-7    # a score within this of 0 or 1 counts as saturated (when scores lie in [0, 1])


def _broken(run: Run, qrels: dict, best: bool) -> CompactRun:
    """Strictly decreasing scores: by score, then by grade (high first if best, else low first), then docid."""
    run = CompactRun.of(run)
    ranks = np.empty(run.n_pairs, dtype=np.float64)
    sign = -1 if best else 1
    for i, qid in enumerate(run.qids):
        docs, grades = run[qid], qrels.get(qid, {})
        order = sorted(docs, key=lambda d: (-docs[d], sign * grades.get(d, 0), d))
        rank = {d: float(len(order) - k) for k, d in enumerate(order)}
        ranks[run.offsets[i]:run.offsets[i + 1]] = [rank[d] for d in docs]   # candidate order
    return run.with_scores(ranks)


def tie_counts(runs: dict[str, Run]) -> dict[str, int]:
    queries = pairs = saturated = 0
    for run in runs.values():
        for docs in run.values():
            values = np.fromiter(docs.values(), dtype=np.float64, count=len(docs))
            _, counts = np.unique(values, return_counts=True)
            tied = int(counts[counts > 1].sum())
            queries += tied > 0
            pairs += tied
            if values.size and values.min() >= 0 and values.max() <= 1:
                saturated += int(((values >= 1 - SATURATED) | (values <= SATURATED)).sum())
    return {"queries_with_ties": queries, "tied_pairs": pairs, "saturated_pairs": saturated}


def tie_effects(benchmark: Benchmark, runs: dict[str, Run], measures: list[str], no_relevant: str) -> dict:
    """{"ties": {counts, "affected": {metric: {best, worst, spread}}}} when the reranked scores tie, else {}."""
    counts = tie_counts(runs)
    if not counts["tied_pairs"]:
        return {}
    means = {}
    for label, best in (("best", True), ("worst", False)):
        per_lang = []   # one language's broken run at a time: memory does not grow with the run
        for lang, queries in benchmark.queries.items():
            broken = {lang: _broken(runs[lang], benchmark.qrels.get(lang, {}), best)} if lang in runs else {}
            table = evaluate_runs(benchmark.qrels, broken, measures, {lang: queries}, no_relevant)
            if len(table):   # a language without a scored query has no mean (as in a groupby over languages)
                per_lang.append(table.groupby("metric")["value"].mean())
        means[label] = {m: float(pd.Series([lang_means[m] for lang_means in per_lang]).mean()) for m in measures}
    affected = {m: {"best": means["best"][m], "worst": means["worst"][m],
                    "spread": means["best"][m] - means["worst"][m]}
                for m in measures if means["best"][m] - means["worst"][m] > 1e-12}
    return {"ties": {**counts, "average": MACRO, "affected": affected}}
