"""BGE-M3 first stages: the inverted-index search against brute force, resumable index shards, and the five
modes against FlagEmbedding's own compute_score over every (query, document) pair of a MIRACL-layout fixture."""
from __future__ import annotations

import json

import numpy as np
import pytest

from evalkit.candidates.m3 import m3_candidates
from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.m3 import M3Config
from evalkit.contracts import canonical_order
from evalkit.data import load_benchmark
from evalkit.config import BenchmarkConfig
from evalkit.m3.encoder import M3Encoder, SparseWeights
from evalkit.m3.loading import load_m3
from evalkit.m3.encoder import M3Reps, M3Settings
from evalkit.m3.index import SparseShards, index_corpora, write_index_shard
from evalkit.m3.sparse_search import sparse_search
from evalkit.testing import make_tiny_m3
from tests.conftest import write_miracl_layout
from tests.flag_embedding import import_flag_embedding

WEIGHTS = [1.0, 0.3, 1.0]


def _random_weights(rng, n, vocab, ties: bool) -> SparseWeights:
    rows = []
    for _ in range(n):
        ids = np.sort(rng.choice(vocab, size=rng.integers(0, 6), replace=False)).astype(np.int32)
        w = (rng.integers(1, 4, size=len(ids)) * 0.5 if ties else rng.random(len(ids)) + 0.01).astype(np.float32)
        rows.append((ids, w))
    return SparseWeights.from_rows(rows)


def _fake_index(root, docs: SparseWeights, shard: int, vocab: int) -> SparseShards:
    """An index written with the index's own shard writer, from given lexical weights."""
    root.mkdir(parents=True)
    k = 0
    for k, start in enumerate(range(0, len(docs), shard)):
        part = SparseWeights.from_rows([docs.row(i) for i in range(start, min(start + shard, len(docs)))])
        write_index_shard(root, k, [f"d{i:04d}" for i in range(start, start + len(part))],
                          M3Reps(np.zeros((len(part), 2), np.float32), part, None))
    (root / "manifest.json").write_text(json.dumps({"shards": k + 1, "vocab_size": vocab, "complete": True}))
    return SparseShards(root)


@pytest.mark.parametrize("ties", [False, True])
def test_sparse_search_equals_brute_force(tmp_path, ties):
    rng = np.random.default_rng(7)
    vocab, docs, queries = 40, _random_weights(rng, 500, 40, ties), _random_weights(rng, 90, 40, ties)
    got = sparse_search(queries, _fake_index(tmp_path / "ix", docs, 64, vocab), depth=10)
    scores = queries.to_csr(vocab).toarray() @ docs.to_csr(vocab).toarray().T     # dense brute force
    for q, hits in enumerate(got):
        positive = {f"d{i:04d}": float(scores[q, i]) for i in np.flatnonzero(scores[q] > 0)}
        expected = canonical_order(positive)[:10]
        assert [d for d, _ in canonical_order(hits)] == [d for d, _ in expected]
        np.testing.assert_allclose([s for _, s in canonical_order(hits)], [s for _, s in expected], atol=1e-6)
    assert any(len(h) == 10 for h in got) and any(len(h) < 10 for h in got)   # short lists: no zero-score padding


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_tiny_m3(tmp_path_factory.mktemp("m3") / "tiny-bge-m3", seed=5)


@pytest.fixture(scope="module")
def encoder(checkpoint):
    return M3Encoder(load_m3(str(checkpoint)), M3Settings(max_length=48, query_max_length=16, batch_tokens=512))


DATA = {
    "en": {"topics": {"1": "capital city of France", "2": "boiling water temperature", "3": "painted chapel ceiling"},
           "qrels": [("1", "a#0", 1), ("2", "b#0", 1), ("3", "c#0", 1)],
           "docs": [("a#0", "Paris", "Paris is the capital city of France and its largest city."),
                    ("b#0", "Water", "Water boils at one hundred degrees at sea level."),
                    ("c#0", "Chapel", "The chapel ceiling was painted by a famous painter."),
                    ("d#0", "Lyon", "Lyon is a large city in France, known for food."),
                    ("e#0", "Ice", "Ice melts when the temperature rises above zero degrees."),
                    ("f#0", "Bread", "Bread dough rises in a warm kitchen."),
                    ("g#0", "Rome", "Rome is the capital of Italy; its chapels are famous.")]},
    "zh": {"topics": {"1": "中国的首都", "2": "长城有多长"},
           "qrels": [("1", "z1#0", 1), ("2", "z2#0", 1)],
           "docs": [("z1#0", "北京", "北京是中国的首都。"), ("z2#0", "长城", "长城全长两万多公里。"),
                    ("z3#0", "上海", "上海是中国最大的城市之一。"), ("z4#0", "广州", "广州是中国南方的城市。")]},
}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = write_miracl_layout(tmp_path_factory.mktemp("miracl"), DATA)
    return load_benchmark(BenchmarkConfig(name="miracl", source=str(root), languages=["en", "zh"],
                                          cache_dir=str(root / "cache")))


def _peer_runs(flag, bench, mode: str, depth: int, fusion: int, rerank: int) -> dict:
    """Each mode from FlagEmbedding's compute_score over every pair, cut and fused as the paper's scripts do."""
    runs = {}
    for lang, queries in bench.queries.items():
        docs = [d for batch in bench.stores[lang].iter_docs() for d in batch]
        runs[lang] = {}
        for qid, text in queries.items():
            pairs = [(text, d.full_text(" ")) for d in docs]
            s = flag.compute_score(pairs, max_query_length=16, max_passage_length=48,
                                   weights_for_different_modes=WEIGHTS)
            by = {k: {d.docid: v for d, v in zip(docs, s[k])} for k in s}
            top = lambda k, n: dict(canonical_order({d: v for d, v in by[k].items() if k != "sparse" or v > 0})[:n])
            if mode in ("dense", "sparse"):
                run = top(mode, depth)
            elif mode == "dense_sparse":
                dense, sparse = top("dense", fusion), top("sparse", fusion)
                run = {d: (dense.get(d, 0) * 1.0 + sparse.get(d, 0) * 0.3) / 1.3 for d in {*dense, *sparse}}
            else:
                key = "colbert" if mode == "multi_vec" else "colbert+sparse+dense"
                run = {d: by[key][d] for d in top("dense", rerank)}
            runs[lang][qid] = dict(canonical_order(run)[:depth])
    return runs


@pytest.mark.parametrize("mode", ["dense", "sparse", "dense_sparse", "multi_vec", "all"])
def test_modes_match_flag_embedding(tmp_path, checkpoint, encoder, bench, mode, monkeypatch):
    import evalkit.m3.rescore

    monkeypatch.setattr(evalkit.m3.rescore, "CHUNK_TOKENS", 40)   # re-ranking encodes in several calls
    flag = _flag(checkpoint)
    cfg = CandidatesConfig(name="m3", depth=3, m3=M3Config(model=str(checkpoint), mode=mode, weights=WEIGHTS,
                                                           max_length=48, query_max_length=16, fusion_depth=4,
                                                           rerank_depth=4, window_queries=2, shard_docs=3))
    got = m3_candidates(bench, cfg, cache_dir=tmp_path, encoder=encoder)
    expected = _peer_runs(flag, bench, mode, 3, 4, 4)
    for lang in expected:
        for qid, docs in expected[lang].items():
            assert list(got[lang][qid]) == list(docs), (lang, qid)
            np.testing.assert_allclose(list(got[lang][qid].values()), list(docs.values()), atol=1e-5)


_FLAG = {}


def _flag(checkpoint):
    if "m" not in _FLAG:
        _FLAG["m"] = import_flag_embedding().BGEM3FlagModel(str(checkpoint), use_fp16=False, devices="cpu")
    return _FLAG["m"]


def test_index_resumes_from_the_last_complete_shard(tmp_path, encoder, bench, monkeypatch):
    store = bench.stores["en"]
    first = index_corpora([store], encoder, " ", 3, tmp_path)[0]
    dense_before = [np.array(m) for _, m in first]
    sparse_before = [(o, s.as_dicts()) for o, s in first.sparse()]
    manifest = json.loads((first.root / "manifest.json").read_text())
    assert manifest["shards"] == 3 and manifest["complete"] and manifest["documents"] == 7
    # a run killed while writing shard 1: its dense file never landed, the manifest is not complete
    (first.root / "shard-00001.json").unlink()
    (first.root / "shard-00001.sp_ids.npy").write_bytes(b"partial")
    (first.root / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    calls = []
    original = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda texts, *a, **k: calls.append(len(texts)) or original(texts, *a, **k))
    again = index_corpora([store], encoder, " ", 3, tmp_path)[0]
    assert calls == [3]                                              # only the missing shard was encoded
    for a, (_, b) in zip(dense_before, again):
        np.testing.assert_array_equal(a, b)
    assert [(o, s.as_dicts()) for o, s in again.sparse()] == sparse_before
    calls.clear()
    index_corpora([store], encoder, " ", 3, tmp_path)                # complete: reused, nothing encoded
    assert calls == []
    # a lexical file damaged after the fact: found on the next run, that shard alone encoded again
    (first.root / "shard-00002.sp_weights.npy").write_bytes(b"x" * 10)
    index_corpora([store], encoder, " ", 3, tmp_path)
    assert calls == [1]
