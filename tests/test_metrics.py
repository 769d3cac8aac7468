"""Per-query metrics against a hand-worked case and against pytrec_eval as an independent oracle."""
import math

import numpy as np
import pytest
import pytrec_eval

from evalkit.metrics.aggregate import per_language
from evalkit.metrics.buckets import bucket_labels, bucket_of
from evalkit.metrics.evaluate import evaluate_language, evaluate_runs

QRELS = {"q1": {"a": 2, "b": 0, "c": 1}, "q2": {"x": 1}, "q3": {"z": 0}}
RUN = {"q1": {"b": 3.0, "c": 2.0, "a": 1.0, "d": 0.5}, "q2": {"y": 1.0}}


def values(frame, metric):
    return dict(zip(frame[frame.metric == metric].qid, frame[frame.metric == metric].value))


def test_hand_worked_example():
    frame = evaluate_language(QRELS, RUN, ["ndcg@10", "mrr@10", "recall@100"])
    # q1 ranking b(0) c(1) a(2): DCG = 1/log2(3) + 2/log2(4); ideal a(2) c(1): 2/log2(2) + 1/log2(3)
    dcg = 1 / math.log2(3) + 2 / 2
    idcg = 2 + 1 / math.log2(3)
    assert values(frame, "ndcg@10")["q1"] == pytest.approx(dcg / idcg, abs=1e-12)
    assert values(frame, "mrr@10")["q1"] == pytest.approx(1 / 2)
    assert values(frame, "recall@100")["q1"] == 1.0
    # q2 has a relevant doc but retrieves none of it; q3 has no relevant doc and is excluded by default
    assert values(frame, "ndcg@10")["q2"] == 0.0
    assert "q3" not in values(frame, "ndcg@10")


def test_no_relevant_zero_policy_counts_queries_as_zero():
    frame = evaluate_language(QRELS, RUN, ["ndcg@10"], queries=["q1", "q2", "q3"], no_relevant="zero")
    assert values(frame, "ndcg@10")["q3"] == 0.0


def test_query_missing_from_run_scores_zero_not_dropped():
    frame = evaluate_language({"q1": {"a": 1}, "q9": {"b": 1}}, {"q1": {"a": 1.0}}, ["ndcg@10"])
    assert values(frame, "ndcg@10") == {"q1": 1.0, "q9": 0.0}


def test_ties_follow_trec_eval_docid_descending():
    # all scores tie: trec_eval orders docid descending -> "c", "b", "a"; the relevant "a" is third
    frame = evaluate_language({"q": {"a": 1}}, {"q": {"a": 1.0, "b": 1.0, "c": 1.0}}, ["mrr@10"])
    assert values(frame, "mrr@10")["q"] == pytest.approx(1 / 3)


def _random_case(seed):
    rng = np.random.default_rng(seed)
    qrels, run = {}, {}
    for q in range(30):
        docs = [f"d{i:03d}" for i in range(60)]
        qrels[f"q{q}"] = {d: int(rng.integers(0, 3)) for d in rng.choice(docs, 15, replace=False)}
        qrels[f"q{q}"][docs[0]] = 2  # at least one relevant
        # coarse scores create many ties
        run[f"q{q}"] = {d: float(rng.integers(0, 5)) for d in rng.choice(docs, 40, replace=False)}
    return qrels, run


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_pytrec_eval(seed):
    qrels, run = _random_case(seed)
    ours = evaluate_language(qrels, run, ["ndcg@10", "recall@20", "mrr@100"])
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut_10", "recall_20", "recip_rank"})
    theirs = evaluator.evaluate(run)
    for q in qrels:
        if q not in run:
            continue
        assert values(ours, "ndcg@10")[q] == pytest.approx(theirs[q]["ndcg_cut_10"], abs=1e-9)
        assert values(ours, "recall@20")[q] == pytest.approx(theirs[q]["recall_20"], abs=1e-9)
        # recip_rank has no cut-off; with 40 docs per query mrr@100 is the same quantity
        assert values(ours, "mrr@100")[q] == pytest.approx(theirs[q]["recip_rank"], abs=1e-9)


def test_macro_average_is_mean_of_languages():
    qrels = {"en": {"q1": {"a": 1}, "q2": {"b": 1}}, "zh": {"q1": {"a": 1}}}
    runs = {"en": {"q1": {"a": 1.0}, "q2": {"c": 1.0}}, "zh": {"q1": {"a": 1.0}}}
    queries = {"en": {"q1": "", "q2": ""}, "zh": {"q1": ""}}
    table = evaluate_runs(qrels, runs, ["ndcg@10"], queries).assign(system="s", bucket="b")
    means = per_language(table).set_index("lang")["mean"]
    assert means["en"] == 0.5 and means["zh"] == 1.0
    assert means["avg"] == pytest.approx(0.75)  # not the pooled 2/3


def test_evaluation_does_not_mutate_inputs():
    qrels, run = _random_case(3)
    before = (repr(qrels), repr(run))
    evaluate_language(qrels, run, ["ndcg@10"])
    assert (repr(qrels), repr(run)) == before


def test_bucket_edges():
    edges = [512, 1024, 2048, 4096, 8192]
    assert bucket_labels(edges) == ["<=512", "513-1024", "1025-2048", "2049-4096", "4097-8192", ">8192"]
    assert bucket_of(512, edges) == "<=512"
    assert bucket_of(513, edges) == "513-1024"
    assert bucket_of(8192, edges) == "4097-8192"
    assert bucket_of(8193, edges) == ">8192"
