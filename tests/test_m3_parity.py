"""BGE-M3 in evalkit vs FlagEmbedding's BGEM3FlagModel on a tiny random checkpoint in the published layout (fp32).

Representations (dense, lexical weights, multi-vectors) and compute_score's five scores must agree within 1e-5,
on multilingual texts with repeated tokens and texts cut by max_length.
"""
from __future__ import annotations

import numpy as np
import pytest

from evalkit.m3.encoder import M3Encoder
from evalkit.m3.loading import load_m3
from evalkit.m3.scores import colbert_score, combine, dense_score, sparse_score
from evalkit.m3.encoder import M3Settings
from evalkit.testing import make_tiny_m3
from tests.flag_embedding import import_flag_embedding

TEXTS = ["what is the capital of China? capital capital", "北京是中华人民共和国的首都。北京，北京",
         "Die Hauptstadt von Deutschland ist Berlin.", "Столица России — Москва, Москва!",
         "ما هي عاصمة مصر؟", "東京は日本の首都です。", "서울은 대한민국의 수도이다", "เมืองหลวงของประเทศไทยคือกรุงเทพ",
         ("long " + "passage about rivers, mountains and cities " * 40).strip()]
PAIRS = [("capital of China", "北京是中国的首都，北京也是文化中心。"), ("Hauptstadt Deutschland", TEXTS[2]),
         ("столица России", TEXTS[3]), ("how long is the great wall", TEXTS[-1]), ("日本の首都", TEXTS[5]),
         ("수도", TEXTS[6]), ("no shared words here", "Bread dough rises in a warm kitchen.")]
WEIGHTS = [0.4, 0.2, 0.4]
ATOL = 1e-5


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_tiny_m3(tmp_path_factory.mktemp("m3") / "tiny-bge-m3", seed=3)


@pytest.fixture(scope="module")
def flag(checkpoint):
    return import_flag_embedding().BGEM3FlagModel(str(checkpoint), use_fp16=False, devices="cpu",
                                                  normalize_embeddings=True)


@pytest.fixture(scope="module")
def ours(checkpoint):
    return M3Encoder(load_m3(str(checkpoint)), M3Settings(max_length=64, query_max_length=16, batch_tokens=256))


@pytest.mark.parametrize("max_length", [64, 8192])
def test_representations_match_flag_embedding(flag, ours, max_length):
    theirs = flag.encode(TEXTS, max_length=max_length, return_dense=True, return_sparse=True,
                         return_colbert_vecs=True)
    got = ours.encode(TEXTS, max_length, colbert=True)
    np.testing.assert_allclose(got.dense, theirs["dense_vecs"], atol=ATOL, rtol=0)
    weights = got.sparse.as_dicts()
    assert sum(len(w) for w in weights) > 20                 # the random head gives real lexical weights
    for mine, peer in zip(weights, theirs["lexical_weights"]):
        peer = {int(k): float(v) for k, v in peer.items()}
        assert set(mine) == set(peer)
        np.testing.assert_allclose([mine[k] for k in sorted(mine)], [peer[k] for k in sorted(mine)], atol=ATOL)
    for mine, peer in zip(got.colbert, theirs["colbert_vecs"]):
        assert mine.shape == peer.shape
        np.testing.assert_allclose(mine, peer, atol=ATOL, rtol=0)
    if max_length == 64:
        assert got.colbert[-1].shape[0] == 63                 # truncated: 64 tokens minus [CLS]


def test_repeated_and_special_tokens(ours):
    """A repeated token id keeps its largest weight; <s>, </s>, <pad>, <unk> never carry a weight."""
    tok = ours.tokenizer
    rep = ours.encode(["capital capital capital"], 64)
    ids, weights = rep.sparse.row(0)
    assert len(set(ids.tolist())) == len(ids) and not set(ids.tolist()) & {0, 1, 2, 3}
    assert set(ids.tolist()) <= set(tok("capital capital capital")["input_ids"])


def test_scores_match_compute_score(flag, ours):
    theirs = flag.compute_score(PAIRS, max_query_length=16, max_passage_length=64,
                                weights_for_different_modes=WEIGHTS)
    q = ours.encode([p[0] for p in PAIRS], 16, colbert=True)
    d = ours.encode([p[1] for p in PAIRS], 64, colbert=True)
    dense = [dense_score(q.dense[i], d.dense[i]) for i in range(len(PAIRS))]
    sparse = [sparse_score(q.sparse.row(i), d.sparse.row(i)) for i in range(len(PAIRS))]
    colbert = [colbert_score(q.colbert[i], d.colbert[i]) for i in range(len(PAIRS))]
    assert max(sparse) > 0 and min(sparse) == 0              # shared tokens score, disjoint texts score 0
    for name, mine in (("dense", dense), ("sparse", sparse), ("colbert", colbert)):
        np.testing.assert_allclose(mine, theirs[name], atol=ATOL, rtol=0, err_msg=name)
    both = [combine(a, b, None, WEIGHTS) for a, b in zip(dense, sparse)]
    every = [combine(a, b, c, WEIGHTS) for a, b, c in zip(dense, sparse, colbert)]
    np.testing.assert_allclose(both, theirs["sparse+dense"], atol=ATOL, rtol=0)
    np.testing.assert_allclose(every, theirs["colbert+sparse+dense"], atol=ATOL, rtol=0)


def test_trailing_whitespace_is_the_one_tokenizer_difference(flag, ours):
    """transformers 5's rebuilt XLMRobertaTokenizer (what FlagEmbedding's AutoTokenizer gets) drops a trailing
    whitespace piece that the published tokenizer.json keeps (evalkit, and transformers 4.x fast tokenizers)."""
    for text in TEXTS + ["a  b", "a\tb\nc", " lead", "<s> x"]:
        assert ours.token_ids([text], 64) == [flag.tokenizer(text, truncation=True, max_length=64)["input_ids"]]
    assert ours.token_ids(["cities "], 64) == [[0, 162708, 6, 2]]
    assert flag.tokenizer("cities ")["input_ids"] == [0, 162708, 2]


def test_batching_does_not_change_representations(checkpoint, ours):
    """Token-budget batches of any size give the same vectors as one text at a time."""
    wide = M3Encoder(load_m3(str(checkpoint)), M3Settings(batch_tokens=1 << 16))
    a, b = ours.encode(TEXTS, 64, colbert=True), wide.encode(TEXTS, 64, colbert=True)
    np.testing.assert_allclose(a.dense, b.dense, atol=ATOL, rtol=0)
    assert [x.keys() for x in a.sparse.as_dicts()] == [x.keys() for x in b.sparse.as_dicts()]


def test_pickled_encoder_weights_load_as_safetensors_do(checkpoint, ours, tmp_path):
    """bge-m3's main branch has only pytorch_model.bin: read with weights_only=True, same representations."""
    import shutil

    import torch
    from safetensors.torch import load_file

    pickled = tmp_path / "pickled"
    shutil.copytree(checkpoint, pickled)
    torch.save(load_file(str(pickled / "model.safetensors")), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    other = M3Encoder(load_m3(str(pickled)), M3Settings(max_length=64, query_max_length=16, batch_tokens=256))
    a, b = ours.encode(TEXTS, 64, colbert=True), other.encode(TEXTS, 64, colbert=True)
    np.testing.assert_array_equal(a.dense, b.dense)
    assert a.sparse.as_dicts() == b.sparse.as_dicts()
    assert other.info["format"].startswith("native (pytorch_model.bin")


def test_heads_are_checked(checkpoint, tmp_path):
    """A missing head, a head with other tensors, and a pickle with objects are refused, naming the file."""
    import shutil

    import torch

    from evalkit.models.loading import CheckpointError

    bad = tmp_path / "bad"
    shutil.copytree(checkpoint, bad)
    (bad / "colbert_linear.pt").unlink()
    with pytest.raises(CheckpointError, match="no colbert_linear.pt"):
        load_m3(str(bad))
    torch.save({"weight": torch.zeros(8, 32)}, bad / "colbert_linear.pt")
    with pytest.raises(CheckpointError, match="colbert_linear.pt: expected exactly the tensors weight and bias"):
        load_m3(str(bad))
    torch.save(torch.nn.Linear(32, 1), bad / "sparse_linear.pt")              # a pickled module, not tensors
    with pytest.raises(CheckpointError, match="sparse_linear.pt: not a plain tensor state dict"):
        load_m3(str(bad))
    torch.save({"weight": torch.zeros(1, 16), "bias": torch.zeros(1)}, bad / "sparse_linear.pt")
    with pytest.raises(CheckpointError, match="do not fit Linear"):
        load_m3(str(bad))


from tests.test_loading import COMMIT, _fake_hub_cache, offline_hub  # noqa: E402,F401  (fixture)


def test_hub_id_resolves_offline_from_the_cache_heads_included(checkpoint, ours, offline_hub):
    _fake_hub_cache(offline_hub, checkpoint, "evalkit-test/tiny-bge-m3")
    loaded = load_m3("evalkit-test/tiny-bge-m3")
    assert loaded.info["commit"] == COMMIT and loaded.info["model"] == "evalkit-test/tiny-bge-m3"
    assert loaded.info["heads_hash"] == ours.info["heads_hash"]
    again = M3Encoder(loaded, M3Settings(max_length=64, query_max_length=16))
    np.testing.assert_array_equal(again.encode(TEXTS[:3], 64).dense, ours.encode(TEXTS[:3], 64).dense)
