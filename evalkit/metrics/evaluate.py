"""Per-query metrics (ranx's definitions), as one tidy table (lang, qid, metric, value); aggregates come later.

Conventions, stated in every report (see `POLICY`):
- ties: documents are put in trec_eval order (score desc, docid desc) before ranx sees them, because ranx
  sorts with an unstable argsort;
- the query set is the judged queries with at least one relevant document (grade > 0); a judged query with
  no candidates, or none relevant among them, scores 0 (trec_eval -c), never dropped;
- queries with no relevant judgment: excluded (`no_relevant=exclude`) or scored 0 (`zero`), except judged@k, which
  still counts their judgments (as trec_eval / ir_measures do).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from evalkit.contracts import Qrels, Run, canonical_order
from evalkit.metrics import native
from evalkit.metrics.measures import Measure, parse

POLICY = {
    "ties": "score desc, then docid desc (trec_eval)",
    "missing_queries": "score 0 (trec_eval -c): averaged over all judged queries",
    "averaging": "per language: mean over queries; overall: macro average over languages",
}


RANX_NAMES = {"answer_recall": "hit_rate", "mrr": "mrr", "map": "map"}   # evalkit family -> ranx's


def ranx_name(measure: Measure) -> str:
    """answer_recall@k (MKQA) is ranx's hit_rate@k: a query scores 1 when an answer-bearing passage is in the top k."""
    return f"{RANX_NAMES.get(measure.family, measure.family)}" + (f"@{measure.k}" if measure.k is not None else "")


def relevant_queries(qrels: Qrels) -> list[str]:
    return sorted(q for q, docs in qrels.items() if any(g > 0 for g in docs.values()))


def rank_scores(run: dict[str, float]) -> dict[str, float]:
    """Strictly decreasing scores in canonical order, so every tool sees the same ranking."""
    ranked = canonical_order(run)
    return {docid: float(len(ranked) - i) for i, (docid, _) in enumerate(ranked)}


def evaluate_language(qrels: Qrels, run: Run, measures: list[str], queries: list[str] | None = None,
                      no_relevant: str = "exclude") -> pd.DataFrame:
    """Per-query values for one language: columns qid, metric (canonical name), value (numpy, else ranx)."""
    judged = relevant_queries(qrels)
    extra = [q for q in (queries or []) if q not in set(judged)] if no_relevant == "zero" else []
    specs = {parse(m).name: parse(m) for m in measures}
    scored = [q for q in judged + extra if run.get(q)]   # extra: no relevant document, but Judged@k has a value
    values = {m: dict.fromkeys(judged + extra, 0.0) for m in specs}
    for q in scored:   # grades in rank order, NaN for an unjudged document (Judged@k, condensed lists)
        grades = qrels.get(q, {})
        ranked = np.array([grades.get(d, np.nan) for d, _ in canonical_order(run[q])], dtype=float)
        all_grades = np.fromiter(grades.values(), dtype=float, count=len(grades))
        for m, spec in specs.items():
            if spec.native:
                values[m][q] = native.value(spec, ranked, all_grades)
    others = [spec for spec in specs.values() if not spec.native]
    ranked_relevant = [q for q in judged if run.get(q)]   # ranx needs a relevant document per query
    if ranked_relevant and others:
        positive = {q: {d: g for d, g in qrels[q].items() if g > 0} for q in ranked_relevant}
        _ranx_values(values, others, positive, {q: run[q] for q in ranked_relevant})
    rows = [(q, m, v) for m in specs for q, v in values[m].items()]
    return pd.DataFrame(rows, columns=["qid", "metric", "value"])


def _ranx_values(values: dict, measures: list[Measure], positive: Qrels, run: Run) -> None:
    import ranx

    ranx_qrels = ranx.Qrels(positive)
    ranx_run = ranx.Run({q: rank_scores(docs) for q, docs in run.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # ranx returns a bare array (under a wrong key) for a single metric: always ask for >= 2
        asked = [ranx_name(m) for m in measures] * (2 if len(measures) == 1 else 1)
        result = ranx.evaluate(ranx_qrels, ranx_run, asked, return_mean=False, save_results_in_run=False)
    order = list(ranx_qrels.keys())
    for m in measures:
        values[m.name].update(zip(order, np.asarray(result[ranx_name(m)], dtype=float).tolist()))


def excluded_queries(qrels: dict[str, Qrels], queries: dict[str, dict[str, str]], no_relevant: str) -> dict[str, int]:
    """Per language, the queries left out of every mean: no relevant judgment under no_relevant=exclude (else 0)."""
    if no_relevant != "exclude":
        return {lang: 0 for lang in queries}
    return {lang: len(set(qs) - set(relevant_queries(qrels.get(lang, {})))) for lang, qs in queries.items()}


def excluded_line(counts: dict[str, int]) -> str:
    """`2 (en 2)`: the total, then the languages that have any."""
    some = ", ".join(f"{lang} {n}" for lang, n in counts.items() if n)
    return f"{sum(counts.values())}" + (f" ({some})" if some else "")


def evaluate_runs(qrels: dict[str, Qrels], runs: dict[str, Run], measures: list[str],
                  queries: dict[str, dict[str, str]], no_relevant: str = "exclude") -> pd.DataFrame:
    """Tidy per-query table over languages: lang, qid, metric, value."""
    frames = []
    for lang in queries:
        frame = evaluate_language(qrels.get(lang, {}), runs.get(lang, {}), measures, list(queries[lang]), no_relevant)
        frame.insert(0, "lang", lang)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
