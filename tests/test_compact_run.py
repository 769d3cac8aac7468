"""CompactRun: a run held as arrays reads exactly like the dict of dicts it was made from, at a fraction of its memory."""
from __future__ import annotations

import random

import numpy as np
import pytest

from evalkit.contracts import CompactRun
from evalkit.data.trec import format_run
from evalkit.metrics.evaluate import evaluate_language


def _random_run(seed: int, n_queries: int = 50) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    run = {}
    for q in range(n_queries):
        size = rng.choice([0, 1, 5, 100])
        run[f"q{q}"] = {f"doc-{rng.randrange(10**6)}#{k}": rng.choice([1.0, 0.5, rng.random(), 1e-300, -3.25])
                        for k in range(size)}
    return run


@pytest.mark.parametrize("seed", range(5))
def test_reads_like_the_dict_it_came_from(seed):
    plain = _random_run(seed)
    run = CompactRun.of(plain)
    assert run == plain and len(run) == len(plain) and list(run) == list(plain)
    for qid, docs in plain.items():
        assert list(run[qid].items()) == list(docs.items())     # candidate order and exact scores kept
        assert run.docids_of(qid) == list(docs)
    assert format_run(run, "t", list(plain)) == format_run(plain, "t", list(plain))
    assert "nope" not in run and run.get("nope") is None
    with pytest.raises(KeyError):
        run["nope"]
    assert CompactRun.of(run) is run


def test_a_read_query_is_a_copy():
    run = CompactRun.of({"q": {"a": 1.0, "b": 2.0}})
    run["q"]["a"] = 99.0
    assert run["q"] == {"a": 1.0, "b": 2.0}


def test_other_scores_over_the_same_candidates_share_the_arrays():
    run = CompactRun.of(_random_run(1))
    grades = np.arange(run.n_pairs, dtype=np.float32)
    other = run.with_scores(grades)
    assert other.docids is run.docids and other.offsets is run.offsets
    assert [s for q in other for s in other[q].values()] == grades.tolist()
    with pytest.raises(ValueError, match="inconsistent"):
        run.with_scores(grades[:-1])


def test_evaluation_is_the_same_on_either_form():
    plain = _random_run(3)
    qrels = {q: {d: 1 for d in list(docs)[:2]} for q, docs in plain.items()}
    measures = ["ndcg@10", "recall@100", "mrr@10"]
    assert evaluate_language(qrels, CompactRun.of(plain), measures).equals(evaluate_language(qrels, plain, measures))


def test_memory_per_candidate():
    """~20 bytes a candidate (score, offset share, UTF-8 docid, Arrow offset), where the dict of dicts takes
    over 100 (docid str object, float object, dict slot)."""
    plain = {f"q{q}": {f"doc{q * 100 + k}": float(k) for k in range(100)} for q in range(1000)}
    run = CompactRun.of(plain)
    per_pair = (run.docids.nbytes + run.offsets.nbytes + run.scores.nbytes) / run.n_pairs
    docid_bytes = np.mean([len(d) for docs in plain.values() for d in docs])
    assert per_pair <= 8 + 4 + docid_bytes + 1, per_pair
