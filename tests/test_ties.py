"""Tied reranked scores: counted, and a metric they move is reported with its best / worst tie order."""
from __future__ import annotations

import pytest

from evalkit.contracts import Benchmark
from evalkit.metrics.ties import tie_counts, tie_effects


def bench(qrels) -> Benchmark:
    return Benchmark(name="t", queries={"en": {q: q for q in qrels}}, qrels={"en": qrels}, stores={})


def test_a_saturated_tie_at_the_top_moves_ndcg_at_1():
    qrels = {"q1": {"rel": 1, "non": 0}, "q2": {"a": 1}}
    runs = {"en": {"q1": {"non": 1.0, "rel": 1.0, "x": 0.2},     # tie of a relevant and a non-relevant at 1.0
                   "q2": {"a": 0.9, "b": 0.1}}}
    out = tie_effects(bench(qrels), runs, ["ndcg@1", "recall@3"], "exclude")["ties"]
    assert (out["queries_with_ties"], out["tied_pairs"], out["saturated_pairs"]) == (1, 2, 2)
    # best order puts rel first: ndcg@1 = (1 + 1) / 2; worst puts non first: (0 + 1) / 2
    assert out["affected"]["ndcg@1"] == pytest.approx({"best": 1.0, "worst": 0.5, "spread": 0.5})
    assert "recall@3" not in out["affected"]                   # all three candidates fit: no effect


def test_no_ties_no_section():
    runs = {"en": {"q1": {"a": 2.0, "b": 1.0}}}
    assert tie_counts(runs)["tied_pairs"] == 0
    assert tie_effects(bench({"q1": {"a": 1}}), runs, ["ndcg@1"], "exclude") == {}
