"""metrics.oracle: ir_measures (pytrec_eval) recomputation, trec_eval -c and tie conventions, planted discrepancies."""
from __future__ import annotations

import math

import pytest
from ir_measures import P, RR, Judged, Success, nDCG

from evalkit.errors import EvalkitError
from evalkit.metrics.evaluate import evaluate_runs
from evalkit.metrics.measures import parse
from evalkit.metrics.oracle import check_table, ir_measure, reference_values

QRELS = {"q1": {"a": 2, "b": 0, "c": 1}, "q2": {"a": 1}}
RUN = {"q1": {"a": 1.0, "b": 2.0, "c": 0.5}}            # ranks b, a, c; q2 retrieved nothing


def test_measure_names_map_to_ir_measures():
    assert ir_measure(parse("ndcg@10")) == (nDCG @ 10, "pytrec_eval", None)
    assert ir_measure(parse("condensed_ndcg@10")) == (nDCG(judged_only=True) @ 10, "pytrec_eval", None)
    assert ir_measure(parse("P(rel=2)@5")) == (P(rel=2) @ 5, "pytrec_eval", None)
    assert ir_measure(parse("hit_rate@20")) == (Success @ 20, "pytrec_eval", None)
    assert ir_measure(parse("Judged@10")) == (Judged @ 10, "judged", None)
    assert ir_measure(parse("mrr@10")) == (RR, "pytrec_eval", 10)   # cut the run first: see the module's note
    with pytest.raises(EvalkitError, match="'dcg@10'"):
        ir_measure(parse("dcg@10"))


@pytest.mark.parametrize("measure, q1", [
    # trec_eval nDCG: linear gains, log2(rank + 1) discounts; ideal ranking a(2), c(1)
    ("ndcg@10", (2 / math.log2(3) + 1 / math.log2(4)) / (2 + 1 / math.log2(3))),
    ("mrr@10", 0.5), ("mrr@1", 0.0),                     # the run is cut to k before the reciprocal rank
    ("recall@2", 0.5), ("precision@2", 0.5), ("hit_rate@1", 0.0), ("hit_rate@2", 1.0),
])
def test_hand_worked_values_and_missing_query_scores_zero(measure, q1):
    values = reference_values(QRELS, RUN, measure, ["q1", "q2"])
    assert values["q1"] == pytest.approx(q1, abs=1e-12)
    assert values["q2"] == 0.0                          # pytrec_eval drops it; trec_eval -c counts it as 0


def test_ties_follow_trec_eval_order():
    # a and c tie: score desc then docid desc puts c first, so the relevant a is at rank 2
    assert reference_values({"q": {"a": 1}}, {"q": {"a": 1.0, "c": 1.0, "b": 0.0}}, "mrr@10", ["q"]) == {"q": 0.5}


@pytest.fixture(scope="module")
def evaluated():
    qrels = {"en": {**QRELS, "q3": {"x": 0}}, "zh": {"z1": {"u": 1, "v": 2}, "z2": {"w": 1}}}
    runs = {"en": {**RUN, "q3": {"x": 1.0}}, "zh": {"z1": {"v": 3.0, "u": 3.0, "t": 5.0}, "z2": {"t": 1.0, "w": 1.0}}}
    queries = {"en": {"q1": "", "q2": "", "q3": ""}, "zh": {"z1": "", "z2": ""}}
    measures = ["ndcg@10", "mrr@10", "recall@2", "precision@2", "hit_rate@1"]
    table = evaluate_runs(qrels, runs, measures, queries)
    table.insert(0, "system", "first_stage")
    return table, qrels, {"first_stage": runs}, queries


def test_table_matches_ir_measures(evaluated):
    table, qrels, systems, queries = evaluated
    assert check_table(table, qrels, systems, queries, "exclude") == 5 * 4    # 4 judged queries with a relevant doc


def test_planted_discrepancy_fails_naming_it(evaluated):
    table, qrels, systems, queries = evaluated
    planted = table.copy()
    row = planted.index[(planted["lang"] == "zh") & (planted["qid"] == "z2") & (planted["metric"] == "ndcg@10")]
    planted.loc[row, "value"] += 1e-7
    with pytest.raises(EvalkitError, match=r"first_stage/zh/ndcg@10: 1 queries differ .* qid z2"):
        check_table(planted, qrels, systems, queries, "exclude")


def test_query_set_must_match_the_qrels(evaluated):
    table, qrels, systems, queries = evaluated
    dropped = table[table["qid"] != "q2"]                # pytrec_eval's convention would silently drop it
    with pytest.raises(EvalkitError, match=r"missing \['q2'\]"):
        check_table(dropped, qrels, systems, queries, "exclude")
    with pytest.raises(EvalkitError, match=r"missing \['q3'\]"):
        check_table(table, qrels, systems, queries, "zero")    # no_relevant=zero keeps q3 (scored 0)
