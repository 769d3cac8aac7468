"""The numpy measures against ranx and trec_eval (ir_measures' pytrec_eval provider), on random graded runs with ties."""
import numpy as np
import pytest

from evalkit.metrics.evaluate import _ranx_values, evaluate_language
from evalkit.metrics.measures import parse
from evalkit.metrics.oracle import reference_values

MEASURES = ["ndcg@10", "ndcg@3", "mrr@10", "recall@5", "recall@100", "precision@5", "map@10", "hit_rate@3",
            "hits@10", "dcg@5"]
TREC = ["ndcg@10", "ndcg@3", "mrr@10", "recall@5", "recall@100", "precision@5", "map@10", "hit_rate@3"]


def random_case(seed: int, queries: int = 60):
    rng = np.random.default_rng(seed)
    qrels, run = {}, {}
    for i in range(queries):
        q = f"q{i}"
        docs = [f"d{j}" for j in rng.choice(200, size=rng.integers(1, 40), replace=False)]
        qrels[q] = {d: int(rng.integers(0, 4)) for d in rng.choice(docs + ["x1", "x2"], size=rng.integers(1, 8))}
        if i % 7:   # some queries retrieve nothing
            run[q] = {d: float(rng.integers(0, 5)) for d in docs}   # heavy ties: the canonical order decides
    return qrels, run


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_native_equals_ranx(seed):
    qrels, run = random_case(seed)
    ours = evaluate_language(qrels, run, MEASURES)
    judged = sorted({q for q, d in qrels.items() if any(g > 0 for g in d.values())})
    positive = {q: {d: g for d, g in qrels[q].items() if g > 0} for q in judged if run.get(q)}
    theirs = {m: dict.fromkeys(judged, 0.0) for m in MEASURES}
    _ranx_values(theirs, [parse(m) for m in MEASURES], positive, {q: run[q] for q in positive})
    for m in MEASURES:
        got = dict(zip(ours[ours.metric == m].qid, ours[ours.metric == m].value))
        assert got.keys() == theirs[m].keys()
        np.testing.assert_allclose([got[q] for q in judged], [theirs[m][q] for q in judged], atol=1e-12, err_msg=m)


@pytest.mark.parametrize("seed", [3, 4])
def test_native_equals_trec_eval(seed):
    qrels, run = random_case(seed)
    ours = evaluate_language(qrels, run, TREC)
    judged = sorted({q for q, d in qrels.items() if any(g > 0 for g in d.values())})
    for m in TREC:
        got = dict(zip(ours[ours.metric == m].qid, ours[ours.metric == m].value))
        want = reference_values(qrels, run, m, judged)
        np.testing.assert_allclose([got[q] for q in judged], [want[q] for q in judged], atol=1e-9, err_msg=m)


def test_a_measure_without_numpy_version_still_goes_to_ranx():
    qrels, run = random_case(5, queries=10)
    frame = evaluate_language(qrels, run, ["f1@5", "r-precision", "ndcg@10"])
    assert set(frame.metric) == {"f1@5", "r-precision", "ndcg@10"} and frame.value.between(0, 1).all()


def test_length_tokenizer_counts_as_transformers_does():
    """Buckets count tokens with `tokenizers` alone; transformers' XLM-R tokenizer is the reference."""
    from evalkit.data import load_benchmark
    from evalkit.config import BenchmarkConfig
    from evalkit.data.tokenizer import load_length_tokenizer, load_tokenizer

    bench = load_benchmark(BenchmarkConfig(name="sample"))
    texts = [d.full_text(" ") for lang in bench.languages for d in bench.stores[lang].get(
        sorted({d for q in bench.qrels[lang].values() for d in q}))]
    light, full = load_length_tokenizer("xlmr")(texts)["input_ids"], load_tokenizer("xlmr")(texts)["input_ids"]
    assert len(texts) > 100 and [len(x) for x in light] == [len(x) for x in full]
    assert max(len(x) for x in light) > 512   # long documents are not truncated
