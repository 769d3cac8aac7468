"""`metrics.oracle=true`: recompute every per-query metric with ir_measures (trec_eval's C code through its
pytrec_eval provider; its own `judged` provider for Judged@k) and fail on a difference above 1e-9.

Conventions made explicit, so both tools see the same thing:
- ties: each query's documents are put in trec_eval order (score desc, docid desc) and given strictly decreasing
  scores before ir_measures sees them;
- RR@k: trec_eval's recip_rank has no cut-off (ir_measures' pytrec_eval provider ignores one), so the run is cut to
  its top k first (after removing unjudged documents, for a condensed list);
- condensed_<m> is ir_measures' `judged_only=True` (trec_eval -J);
- trec_eval -c: ir_measures yields nothing for a query absent from (or empty in) the run; it is added back as 0;
- the query set is re-derived from the qrels (queries with a grade > 0; plus the rest when no_relevant=zero) and
  must equal the table's.
"""
from __future__ import annotations

import pandas as pd

from evalkit.contracts import Qrels, Run, canonical_order
from evalkit.errors import EvalkitError
from evalkit.metrics.measures import IR_MEASURES, Measure, parse

TOLERANCE = 1e-9


def ir_measure(measure: Measure):
    """(the ir_measures measure, its provider name, the cut applied to the run first or None)."""
    import ir_measures

    family = "hit_rate" if measure.family == "answer_recall" else measure.family   # over the answer qrels
    if family not in IR_MEASURES:
        raise EvalkitError(f"metrics.oracle: no ir_measures equivalent for measure {measure.name!r} "
                           f"(known: {', '.join(sorted([*IR_MEASURES, 'answer_recall']))})")
    base = getattr(ir_measures, IR_MEASURES[family])
    if measure.family == "judged":
        return base @ measure.k, "judged", None
    params = {"rel": measure.rel} if measure.rel != 1 else {}
    if measure.condensed:
        params["judged_only"] = True
    measured = base(**params) if params else base
    if measure.family == "mrr" or measure.k is None:
        return measured, "pytrec_eval", measure.k
    return measured @ measure.k, "pytrec_eval", None


def _canonical(run: dict[str, float], depth: int | None, judged: Qrels | None) -> dict[str, float]:
    ranked = [(d, s) for d, s in canonical_order(run) if judged is None or d in judged][:depth]
    return {docid: float(len(ranked) - i) for i, (docid, _) in enumerate(ranked)}


def reference_values(qrels: Qrels, run: Run, measure: str, queries: list[str]) -> dict[str, float]:
    """ir_measures' per-query value of `measure` for each of `queries`, 0 where it yields nothing."""
    import ir_measures

    spec = parse(measure)
    wanted, provider, cut = ir_measure(spec)
    trec_run = {q: _canonical(run[q], cut, qrels.get(q, {}) if cut and spec.condensed else None)
                for q in queries if run.get(q)}
    trec_qrels = {q: dict(qrels[q]) for q in queries if q in qrels}
    evaluator = ir_measures.providers.registry[provider].evaluator([wanted], trec_qrels)
    found = {m.query_id: float(m.value) for m in evaluator.iter_calc(trec_run)} if trec_run else {}
    return {q: found.get(q, 0.0) for q in queries}


def expected_queries(qrels: Qrels, all_queries: list[str], no_relevant: str) -> set[str]:
    relevant = {q for q, docs in qrels.items() if any(g > 0 for g in docs.values())}
    return relevant | (set(all_queries) if no_relevant == "zero" else set())


def check_table(table: pd.DataFrame, qrels: dict[str, Qrels], systems: dict[str, dict[str, Run]],
                queries: dict[str, dict[str, str]], no_relevant: str) -> int:
    """Compare every (system, lang, qid, metric) value with ir_measures; returns how many values were checked."""
    checked = 0
    for (system, lang, metric), rows in table.groupby(["system", "lang", "metric"], sort=False):
        ours = dict(zip(rows["qid"].astype(str), rows["value"].astype(float)))
        want = expected_queries(qrels.get(lang, {}), list(queries.get(lang, {})), no_relevant)
        if set(ours) != want:
            extra, missing = sorted(set(ours) - want)[:3], sorted(want - set(ours))[:3]
            raise EvalkitError(f"metrics.oracle: {system}/{lang}/{metric}: query set differs from the qrels' "
                               f"(extra {extra}, missing {missing})")
        theirs = reference_values(qrels.get(lang, {}), systems[system].get(lang, {}), metric, sorted(want))
        bad = [(q, ours[q], theirs[q]) for q in sorted(want) if abs(ours[q] - theirs[q]) > TOLERANCE]
        if bad:
            q, a, b = bad[0]
            raise EvalkitError(f"metrics.oracle: {system}/{lang}/{metric}: {len(bad)} queries differ from "
                               f"ir_measures by > {TOLERANCE:g}, e.g. qid {q}: evalkit {a!r} vs ir_measures {b!r}")
        checked += len(want)
    return checked
