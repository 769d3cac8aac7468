"""`metrics.oracle=true`: recompute every per-query metric with pytrec_eval (trec_eval's C code) and fail on a
difference above 1e-9.

Conventions made explicit, so both tools see the same thing:
- ties: each query's documents are put in trec_eval order (score desc, docid desc) and given strictly decreasing
  scores before pytrec_eval sees them;
- trec_eval -c: pytrec_eval drops queries that are absent from (or empty in) the run; they are added back as 0;
- the query set is re-derived from the qrels (queries with a grade > 0; plus the rest when no_relevant=zero) and
  must equal the table's.
"""
from __future__ import annotations

import re

import pandas as pd

from evalkit.contracts import Qrels, Run, canonical_order
from evalkit.errors import EvalkitError

TOLERANCE = 1e-9
# evalkit name -> (pytrec_eval measure family, whether the run is cut to k first); the cut-off k is appended.
TREC_MEASURES = {"ndcg": "ndcg_cut", "recall": "recall", "precision": "P", "hit_rate": "success",
                 "answer_recall": "success", "map": "map_cut", "mrr": "recip_rank"}


def trec_measure(measure: str) -> tuple[str, str, int]:
    """(pytrec_eval request, result key, cut-off) for an evalkit measure such as ndcg@10."""
    m = re.fullmatch(r"([a-z_]+)@(\d+)", measure)
    if not m or m.group(1) not in TREC_MEASURES:
        raise EvalkitError(f"metrics.oracle: no pytrec_eval equivalent for measure {measure!r} "
                           f"(known: {sorted(TREC_MEASURES)} with @k)")
    family, k = TREC_MEASURES[m.group(1)], int(m.group(2))
    if family == "recip_rank":                     # reciprocal rank of the run cut to its top k
        return family, family, k
    return f"{family}.{k}", f"{family}_{k}", k


def _canonical(run: dict[str, float], depth: int | None = None) -> dict[str, float]:
    ranked = canonical_order(run)[:depth]
    return {docid: float(len(ranked) - i) for i, (docid, _) in enumerate(ranked)}


def pytrec_values(qrels: Qrels, run: Run, measure: str, queries: list[str]) -> dict[str, float]:
    """pytrec_eval's per-query value of `measure` for each of `queries`, 0 where pytrec_eval drops the query."""
    import pytrec_eval

    request, key, k = trec_measure(measure)
    cut = k if request == "recip_rank" else None
    trec_run = {q: _canonical(run[q], cut) for q in queries if run.get(q)}
    trec_qrels = {q: dict(qrels[q]) for q in queries if q in qrels}
    found = pytrec_eval.RelevanceEvaluator(trec_qrels, {request}).evaluate(trec_run) if trec_run else {}
    return {q: float(found[q][key]) if q in found else 0.0 for q in queries}


def expected_queries(qrels: Qrels, all_queries: list[str], no_relevant: str) -> set[str]:
    relevant = {q for q, docs in qrels.items() if any(g > 0 for g in docs.values())}
    return relevant | (set(all_queries) if no_relevant == "zero" else set())


def check_table(table: pd.DataFrame, qrels: dict[str, Qrels], systems: dict[str, dict[str, Run]],
                queries: dict[str, dict[str, str]], no_relevant: str) -> int:
    """Compare every (system, lang, qid, metric) value with pytrec_eval; returns how many values were checked."""
    checked = 0
    for (system, lang, metric), rows in table.groupby(["system", "lang", "metric"], sort=False):
        ours = dict(zip(rows["qid"].astype(str), rows["value"].astype(float)))
        want = expected_queries(qrels.get(lang, {}), list(queries.get(lang, {})), no_relevant)
        if set(ours) != want:
            extra, missing = sorted(set(ours) - want)[:3], sorted(want - set(ours))[:3]
            raise EvalkitError(f"metrics.oracle: {system}/{lang}/{metric}: query set differs from the qrels' "
                               f"(extra {extra}, missing {missing})")
        theirs = pytrec_values(qrels.get(lang, {}), systems[system].get(lang, {}), metric, sorted(want))
        bad = [(q, ours[q], theirs[q]) for q in sorted(want) if abs(ours[q] - theirs[q]) > TOLERANCE]
        if bad:
            q, a, b = bad[0]
            raise EvalkitError(f"metrics.oracle: {system}/{lang}/{metric}: {len(bad)} queries differ from "
                               f"pytrec_eval by > {TOLERANCE:g}, e.g. qid {q}: evalkit {a!r} vs pytrec_eval {b!r}")
        checked += len(want)
    return checked
