"""Measure names (evalkit's and ir_measures'), relevance thresholds, Judged@k and condensed lists, against
ir_measures computing from the raw tied run (trec_eval breaks the ties itself), and through the CLI."""
from __future__ import annotations

import json
import math
from collections import defaultdict

import ir_measures
import numpy as np
import pytest
from cli_runner import REPO, evalkit
from ir_measures import AP, P, R, RR, Judged, Success, nDCG
from omegaconf import OmegaConf

from evalkit.errors import EvalkitError
from evalkit.metrics.evaluate import evaluate_language
from evalkit.metrics.measures import parse

# name as a user writes it -> the canonical name evalkit stores, and ir_measures' measure
NAMES = {
    "nDCG@10": ("ndcg@10", nDCG @ 10), "ndcg@3": ("ndcg@3", nDCG @ 3),
    "condensed_nDCG@10": ("condensed_ndcg@10", nDCG(judged_only=True) @ 10),
    "R@100": ("recall@100", R @ 100), "recall@5": ("recall@5", R @ 5), "R(rel=2)@5": ("recall(rel=2)@5", R(rel=2) @ 5),
    "P(rel=2)@10": ("precision(rel=2)@10", P(rel=2) @ 10), "P@5": ("precision@5", P @ 5),
    "condensed_P@5": ("condensed_precision@5", P(judged_only=True) @ 5),
    "Judged@10": ("judged@10", Judged @ 10), "judged@3": ("judged@3", Judged @ 3),
    "AP@10": ("map@10", AP @ 10), "AP(rel=2)@10": ("map(rel=2)@10", AP(rel=2) @ 10), "AP": ("map", AP),
    "Success@3": ("hit_rate@3", Success @ 3), "Success(rel=3)@10": ("hit_rate(rel=3)@10", Success(rel=3) @ 10),
    "RR": ("mrr", RR), "RR(rel=2)": ("mrr(rel=2)", RR(rel=2)),
    "condensed_recall@5": ("condensed_recall@5", R(judged_only=True) @ 5),
}
CUT_RR = {"mrr@10": 10, "RR@3": 3, "condensed_mrr@10": 10}   # trec_eval's recip_rank has no cut-off: cut the run


def random_case(seed: int, queries: int = 80):
    """Graded qrels (0-3) judging only part of what is retrieved, runs with heavy ties, some queries retrieve nothing."""
    rng = np.random.default_rng(seed)
    qrels, run = {}, {}
    for i in range(queries):
        q = f"q{i}"
        docs = [f"d{j}" for j in rng.choice(300, size=rng.integers(1, 30), replace=False)]
        pool = docs + ["x1", "x2", "x3"]
        qrels[q] = {d: int(rng.integers(0, 4)) for d in rng.choice(pool, size=rng.integers(1, 12))}
        if i % 9:
            run[q] = {d: float(rng.integers(0, 4)) for d in docs}
    return qrels, run


def trec_order(docs: dict[str, float]) -> list[str]:
    """trec_eval's order, written out here independently: score descending, then docid descending."""
    return sorted(docs, key=lambda d: (docs[d], d), reverse=True)


def ir_measures_values(measure, qrels, run, queries) -> dict[str, float]:
    provider = "judged" if measure.NAME == "Judged" else "pytrec_eval"
    if provider == "judged" and isinstance(run, dict):   # its own sort does not break ties as trec_eval does
        run = {q: {d: -float(i) for i, d in enumerate(trec_order(docs))} for q, docs in run.items()}
    evaluator = ir_measures.providers.registry[provider].evaluator([measure], qrels)
    found = {m.query_id: m.value for m in evaluator.iter_calc(run)}
    return {q: found.get(q, 0.0) for q in queries}   # trec_eval -c: a query without a run scores 0


def ours(qrels, run, name) -> dict[str, float]:
    frame = evaluate_language(qrels, run, [name])
    return dict(zip(frame.qid, frame.value))


@pytest.mark.parametrize("name", sorted(NAMES))
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_ir_measures_on_random_tied_runs(name, seed):
    qrels, run = random_case(seed)
    canonical, measure = NAMES[name]
    got = ours(qrels, run, name)
    assert parse(name).name == canonical and got, name
    want = ir_measures_values(measure, qrels, run, sorted(got))
    np.testing.assert_allclose([got[q] for q in sorted(got)], [want[q] for q in sorted(got)], atol=1e-9, err_msg=name)


@pytest.mark.parametrize("name", sorted(CUT_RR))
def test_rr_at_k_equals_trec_eval_on_the_cut_run(name):
    qrels, run = random_case(2)
    k, condensed = CUT_RR[name], name.startswith("condensed")
    cut = {q: {d: 1.0 / (i + 1) for i, d in enumerate(
        [d for d in trec_order(docs) if not condensed or d in qrels.get(q, {})][:k])} for q, docs in run.items()}
    got = ours(qrels, run, name)
    want = ir_measures_values(RR, qrels, {q: docs for q, docs in cut.items() if docs}, sorted(got))
    np.testing.assert_allclose([got[q] for q in sorted(got)], [want[q] for q in sorted(got)], atol=1e-9)


def test_hand_worked_judged_condensed_and_threshold():
    # ranking x(unjudged), b(0), a(1), c(2): b and a tie, docid descending puts b first
    qrels = {"q": {"a": 1, "b": 0, "c": 2, "d": 2}}
    run = {"q": {"x": 3.0, "a": 2.0, "b": 2.0, "c": 1.0}}
    assert ours(qrels, run, "Judged@2") == {"q": 0.5}            # x unjudged, b judged (grade 0 is a judgment)
    assert ours(qrels, run, "judged@10") == {"q": 0.75}          # 3 of the 4 ranked, not of 10
    assert ours(qrels, run, "mrr@2") == {"q": 0.0}
    assert ours(qrels, run, "condensed_mrr@2") == {"q": 0.5}     # b, a, c once x is removed
    assert ours(qrels, run, "P(rel=2)@4") == {"q": 0.25}         # only c reaches grade 2
    ideal = 2 + 2 / math.log2(3)
    assert ours(qrels, run, "ndcg@2") == {"q": 0.0}
    assert ours(qrels, run, "condensed_ndcg@2") == {"q": pytest.approx((1 / math.log2(3)) / ideal)}


def test_no_relevant_zero_keeps_the_judgments_of_a_query_without_relevant_documents():
    qrels = {"r": {"a": 1}, "n": {"a": 0, "b": 0}}                  # n: judged, nothing relevant
    run = {"r": {"a": 1.0, "z": 0.5}, "n": {"a": 1.0, "z": 0.5}}
    frame = evaluate_language(qrels, run, ["judged@2", "ndcg@2"], ["r", "n", "m"], no_relevant="zero")
    got = {(q, m): v for q, m, v in frame.itertuples(index=False)}
    assert got == {("r", "judged@2"): 0.5, ("n", "judged@2"): 0.5, ("m", "judged@2"): 0.0,
                   ("r", "ndcg@2"): 1.0, ("n", "ndcg@2"): 0.0, ("m", "ndcg@2"): 0.0}
    assert "n" not in set(evaluate_language(qrels, run, ["judged@2"], ["r", "n"]).qid)   # exclude: left out


def test_seeded_mistakes_would_be_caught():
    """The random cases are strong enough: each variant below differs from the right value on some query."""
    qrels, run = random_case(0)
    for right, wrong in [("condensed_ndcg@10", "ndcg@10"),      # condensed list not removing unjudged documents
                         ("P(rel=2)@10", "P@10"),                # relevance threshold ignored
                         ("judged@10", "precision@10"),          # grade-0 judgments not counted as judged
                         ("ndcg@3", "ndcg@10")]:                 # cut-off ignored
        a, b = ours(qrels, run, right), ours(qrels, run, wrong)
        assert any(abs(a[q] - b[q]) > 1e-6 for q in a), (right, wrong)


@pytest.mark.parametrize("name, why", [
    ("bpref", "unknown measure"), ("P(rel=2)", "needs a cut-off"), ("nDCG(rel=2)@10", "(rel=N >= 1) applies"),
    ("condensed_judged@10", "condensed_ applies"), ("ndcg@0", "must be >= 1"), ("nDCG@", "unknown measure"),
])
def test_bad_names_are_one_line(name, why):
    with pytest.raises(EvalkitError, match=r"^metrics\.measures: ") as error:
        parse(name)
    assert why in str(error.value) and "\n" not in str(error.value)


def test_a_measure_deeper_than_the_depth_is_not_reported():
    from evalkit.pipeline import measures, not_reported

    cfg = OmegaConf.create({"metrics": {"measures": ["nDCG@10", "R@100", "ndcg@10", "Judged@10"]},
                            "candidates": {"depth": 20}})
    bench = type("B", (), {"answers": None})()
    assert measures(bench, cfg) == ["ndcg@10", "judged@10", "recall@20"]   # canonical, deduplicated
    assert not_reported(cfg) == ["recall@100"]
    cfg.candidates.depth = 5
    assert not_reported(cfg) == ["ndcg@10", "recall@100", "judged@10"]


def _mean_by_ir_measures(run_file, qrels_rows, measures):
    judged = [ir_measures.Qrel(q, d, g) for q, d, g in qrels_rows]
    relevant = {q for q, _, g in qrels_rows if g > 0}
    run = list(ir_measures.read_trec_run(str(run_file)))
    sums, counts = defaultdict(float), defaultdict(int)
    for measure in measures:
        values = ir_measures_values(measure, judged, run, sorted(relevant))
        sums[measure], counts[measure] = sum(values.values()), len(values)
    return {m: sums[m] / counts[m] for m in measures}


def test_cli_accepts_ir_measures_names_and_equals_ir_measures(tmp_path):
    from evalkit.config import BenchmarkConfig
    from evalkit.data import load_benchmark

    out = tmp_path / "run"
    done = evalkit("reranker=none", "benchmark.languages=[es,de]",
                   "metrics.measures=[nDCG@10,R@100,'P(rel=2)@10',Judged@10]", "metrics.oracle=true",
                   f"hydra.run.dir={out}", cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    got = metrics["systems"]["first_stage"]["by_language"]
    assert metrics["not_reported"] == []
    assert set(got) == {"ndcg@10", "recall@100", "precision(rel=2)@10", "judged@10"}   # recall@depth is recall@100
    bench = load_benchmark(OmegaConf.structured(BenchmarkConfig(name="sample", languages=["es", "de"])))
    for lang in ("es", "de"):
        rows = [(q, d, g) for q, docs in bench.qrels[lang].items() for d, g in docs.items()]
        want = _mean_by_ir_measures(out / "runs" / f"first_stage.{lang}.trec", rows,
                                    [nDCG @ 10, R @ 100, P(rel=2) @ 10, Judged @ 10])
        for name, measure in zip(["ndcg@10", "recall@100", "precision(rel=2)@10", "judged@10"], want):
            assert got[name][lang] == pytest.approx(want[measure], abs=1e-9), (lang, name)
    assert 0 < got["judged@10"]["es"] < 1     # the sample's pools leave holes: the measure has something to show
