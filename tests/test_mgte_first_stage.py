"""mGTE-TRM first stages (candidates=mgte_*): parity with gte_embedding.py's logic written out here, seeded mistakes
that the parity check catches, retrieval against brute force over every document, and the CLI end to end.

The reference below is GTEEmbeddidng's `_encode` / `_process_token_weights` / `compute_scores` re-written from
their published definition: the tokenizer as AutoTokenizer gives it (XLMRobertaTokenizerFast), dense =
normalize(h[:, 0, :dimension]), sparse = relu(logits) per token, cls/eos/pad/unk dropped, a dict keyed by
`tokenizer.decode([id])` keeping the max weight, hybrid = dense * 1.0 + sparse * 0.1. The model under it is built
here from the checkpoint's original tensors (qkv / up_gate split by hand, strict load), not by evalkit's loader.
"""
from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cli_runner import evalkit
from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.mgte import MgteConfig, build_mgte_encoder, mgte_candidates
from evalkit.config import BenchmarkConfig
from evalkit.contracts import canonical_order
from evalkit.data import load_benchmark
from evalkit.errors import EvalkitError
from evalkit.testing import make_tiny_gte_embedding
from tests.conftest import write_miracl_layout

TEXTS = ["de de de la casa de la ciudad",                        # repeats of one piece
         "cats s, it's the cat's toy",                           # 's' and '▁s': two ids, one decoded text
         "北京是中国的首都，北京很大",
         "short",
         "Die Hauptstadt Chinas ist Peking; die die die",
         "la la-la, la; so so-so; de-de; en en-en; a a-a"]             # more pieces that decode alike


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_tiny_gte_embedding(tmp_path_factory.mktemp("mgte") / "tiny-gte-multilingual-base", seed=3)


def _reference_model(path):
    from safetensors.torch import load_file
    from transformers import GteConfig, GteForTokenClassification

    raw = json.loads((path / "config.json").read_text())
    head_dim = raw["hidden_size"] // raw["num_attention_heads"]
    factor = raw["rope_scaling"]["factor"]
    config = GteConfig(vocab_size=raw["vocab_size"], hidden_size=raw["hidden_size"],
                       num_hidden_layers=raw["num_hidden_layers"], num_attention_heads=raw["num_attention_heads"],
                       intermediate_size=raw["intermediate_size"],
                       max_position_embeddings=raw["max_position_embeddings"],
                       type_vocab_size=raw["type_vocab_size"], layer_norm_eps=raw["layer_norm_eps"], num_labels=1,
                       rope_parameters={"rope_type": "linear", "rope_theta": raw["rope_theta"] * factor,
                                        "factor": factor ** (2 / head_dim)})
    state = {}
    for name, t in load_file(str(path / "model.safetensors")).items():
        n = (name.replace("new.encoder.layer.", "gte.layers.").replace("new.", "gte.", 1)
             .replace("attention.o_proj", "self_attn.o_proj").replace("attn_ln", "post_attention_layernorm")
             .replace("mlp_ln", "post_mlp_layernorm"))
        if "attention.qkv_proj" in n:
            for part, chunk in zip("qkv", t.chunk(3)):
                state[n.replace("attention.qkv_proj", f"self_attn.{part}_proj")] = chunk
        elif "up_gate_proj" in n:
            up, gate = t.chunk(2)
            state[n.replace("up_gate_proj", "up_proj")], state[n.replace("up_gate_proj", "gate_proj")] = up, gate
        else:
            state[n] = t
    model = GteForTokenClassification(config).eval()
    model.load_state_dict(state, strict=True)
    return model


@pytest.fixture(scope="module")
def reference(checkpoint):
    from transformers import XLMRobertaTokenizerFast

    return _reference_model(checkpoint), XLMRobertaTokenizerFast.from_pretrained(str(checkpoint))


def helper_encode(reference, texts, max_length=8192, dimension=None, *, keep_specials=False, pool="max",
                  dense_pool="cls", key="text"):
    """gte_embedding.py's encode(return_dense, return_sparse); the keyword arguments seed its mistakes."""
    model, tok = reference
    enc = tok(texts, padding=True, truncation=True, return_tensors="pt", max_length=max_length)
    with torch.no_grad():
        hidden = model.gte(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        logits = model.classifier(hidden)
    dim = dimension or hidden.shape[-1]
    if dense_pool == "cls":
        dense = hidden[:, 0, :dim]
    else:
        mask = enc["attention_mask"][..., None].float()
        dense = (hidden[..., :dim] * mask).sum(1) / mask.sum(1)
    dense = F.normalize(dense, dim=-1).numpy()
    unused = {tok.cls_token_id, tok.eos_token_id, tok.pad_token_id, tok.unk_token_id}
    sparse = []
    for weights, ids in zip(torch.relu(logits).squeeze(-1).tolist(), enc["input_ids"].tolist()):
        result = defaultdict(int)
        for w, idx in zip(weights, ids):
            if (keep_specials or idx not in unused) and w > 0:
                token = tok.decode([int(idx)]) if key == "text" else idx
                result[token] = result[token] + w if pool == "sum" else max(result[token], w)
        sparse.append(dict(result))
    return dense, sparse


def _ours(encoder, texts, max_length=8192):
    reps = encoder.encode(texts, max_length)
    tok = encoder.tokenizer
    return reps.dense, [{tok.decode([k]): w for k, w in row.items()} for row in reps.sparse.as_dicts()]


def _gap(a, b) -> float:
    """Largest difference between two encodings (dense, sparse dicts); inf when the sparse keys differ."""
    (da, sa), (db, sb) = a, b
    if da.shape != db.shape or any(set(x) != set(y) for x, y in zip(sa, sb)):
        return float("inf")
    return max([float(np.abs(da - db).max())] + [abs(x[k] - y[k]) for x, y in zip(sa, sb) for k in x])


@pytest.fixture(scope="module")
def encoder(checkpoint):
    return build_mgte_encoder(MgteConfig(model=str(checkpoint), dtype="fp32", device="cpu", max_length=48,
                                         query_max_length=16, batch_tokens=64))


def test_published_layout_loads_natively(checkpoint, encoder):
    raw = json.loads((checkpoint / "config.json").read_text())
    assert raw["model_type"] == "new" and "AutoModelForTokenClassification" in raw["auto_map"]
    assert encoder.info["architecture"] == "GteForTokenClassification" and encoder.info["format"] == "original"
    assert tuple(encoder.loaded.sparse_linear.weight.shape) == (1, 32)


def test_real_size_layout_has_the_published_138_tensors():
    from transformers import GteConfig, GteForTokenClassification

    from evalkit.testing import to_original_gte_state

    config = GteConfig(vocab_size=250048, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                       intermediate_size=3072, num_labels=1)
    with torch.device("meta"):
        names = to_original_gte_state(GteForTokenClassification(config).state_dict())
    assert len(names) == 138                      # the published model.safetensors' inventory
    assert {"classifier.weight", "classifier.bias"} <= set(names)
    assert all(n.startswith("new.") or n.startswith("classifier.") for n in names)


def test_parity_with_the_helper(reference, encoder):
    ref = helper_encode(reference, TEXTS, max_length=48)
    ours = _ours(encoder, TEXTS, max_length=48)
    assert _gap(ours, ref) < 1e-5
    assert ours[0].shape == (len(TEXTS), 32)
    np.testing.assert_allclose(np.linalg.norm(ours[0], axis=1), 1.0, atol=1e-6)


def test_the_fixture_exercises_every_rule(reference):
    """Specials with positive weights, repeated pieces and distinct ids decoding alike all occur in TEXTS."""
    kept, by_id = helper_encode(reference, TEXTS, keep_specials=True)[1], helper_encode(reference, TEXTS, key="id")[1]
    tok = reference[1]
    assert any(tok.decode([tok.cls_token_id]) in row or tok.decode([tok.eos_token_id]) in row for row in kept)
    assert any(len({tok.decode([i]) for i in row}) < len(row) for row in by_id)   # two ids, one text


@pytest.mark.parametrize("mistake", [{"keep_specials": True}, {"pool": "sum"}, {"dense_pool": "mean"},
                                     {"key": "id"}, {"dimension": 16}])
def test_seeded_mistakes_fail_the_parity_check(reference, encoder, mistake):
    wrong = helper_encode(reference, TEXTS, max_length=48, **mistake)
    if mistake.get("key") == "id":                 # keyed by id: re-key by text without merging, to compare
        tok = reference[1]
        if all(len({tok.decode([i]) for i in row}) == len(row) for row in wrong[1]):
            pytest.fail("the fixture has no two ids decoding alike")
        wrong = (wrong[0], [{f"{tok.decode([i])}#{i}": w for i, w in row.items()} for row in wrong[1]])
    assert _gap(_ours(encoder, TEXTS, max_length=48), wrong) > 1e-3


def test_specials_kept_in_the_code_fail_the_parity_check(reference, checkpoint, monkeypatch):
    broken = build_mgte_encoder(MgteConfig(model=str(checkpoint), dtype="fp32", device="cpu", max_length=48))
    monkeypatch.setattr(broken, "unused_ids", np.array([-1], dtype=np.int64))
    assert _gap(_ours(broken, TEXTS, 48), helper_encode(reference, TEXTS, max_length=48)) > 1e-3


def test_mrl_dimension_cuts_then_normalises(reference, checkpoint):
    cut = build_mgte_encoder(MgteConfig(model=str(checkpoint), dtype="fp32", device="cpu", dimension=8))
    assert _gap(_ours(cut, TEXTS), helper_encode(reference, TEXTS, dimension=8)) < 1e-5
    assert cut.fingerprint() != build_mgte_encoder(MgteConfig(model=str(checkpoint), dtype="fp32",
                                                              device="cpu")).fingerprint()
    with pytest.raises(EvalkitError, match="candidates.mgte.dimension=64"):
        build_mgte_encoder(MgteConfig(model=str(checkpoint), dtype="fp32", device="cpu", dimension=64))


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


def _brute_force(reference, bench, mode: str, depth: int) -> dict:
    """Every document scored with the helper's representations (numpy), the best `depth` in canonical order."""
    runs = {}
    for lang, queries in bench.queries.items():
        docs = [d for batch in bench.stores[lang].iter_docs() for d in batch]
        dd, ds = helper_encode(reference, [d.full_text(" ") for d in docs], max_length=48)
        qd, qs = helper_encode(reference, list(queries.values()), max_length=16)
        dense = qd @ dd.T
        sparse = np.array([[sum(w * d.get(t, 0.0) for t, w in q.items()) for d in ds] for q in qs])
        runs[lang] = {}
        for i, qid in enumerate(queries):
            if mode == "dense":
                scores = dict(zip([d.docid for d in docs], dense[i]))
            elif mode == "sparse":
                scores = {d.docid: s for d, s in zip(docs, sparse[i]) if s > 0}
            else:
                scores = dict(zip([d.docid for d in docs], dense[i] * 1.0 + sparse[i] * 0.1))
            runs[lang][qid] = dict(canonical_order({d: float(s) for d, s in scores.items()})[:depth])
    return runs


@pytest.mark.parametrize("mode", ["dense", "sparse", "dense_sparse"])
def test_retrieval_equals_brute_force(tmp_path, reference, encoder, bench, mode):
    cfg = CandidatesConfig(name="mgte", depth=3, mgte=MgteConfig(model="unused", mode=mode, max_length=48,
                                                                 query_max_length=16, fusion_depth=10, shard_docs=3))
    got = mgte_candidates(bench, cfg, cache_dir=tmp_path, encoder=encoder)
    expected = _brute_force(reference, bench, mode, 3)
    assert bench.protocol["mgte_model"].startswith(str(encoder.info["model"]))
    for lang in expected:
        for qid, docs in expected[lang].items():
            assert list(got[lang][qid]) == list(docs), (lang, qid)
            np.testing.assert_allclose(list(got[lang][qid].values()), list(docs.values()), atol=1e-5)


def test_bad_settings_are_one_line_errors(bench, encoder, tmp_path):
    for mgte, key in ((MgteConfig(weights=[1.0]), "candidates.mgte.weights"),
                      (MgteConfig(fusion_depth=2), "candidates.mgte.fusion_depth=2")):
        with pytest.raises(EvalkitError, match=key):
            mgte_candidates(bench, CandidatesConfig(name="mgte", depth=3, mgte=mgte), cache_dir=tmp_path,
                            encoder=encoder)


def _trec(path) -> dict:
    run = defaultdict(dict)
    for line in path.read_text().splitlines():
        qid, _, docid, _, score, _ = line.split()
        run[qid][docid] = float(score)
    return run


@pytest.mark.parametrize("mode", ["sparse", "dense_sparse"])
def test_cli_end_to_end_on_the_sample(tmp_path, checkpoint, reference, mode):
    out = tmp_path / "run"
    proc = evalkit("benchmark=sample", "benchmark.languages=[es]", f"candidates=mgte_{mode}",
                   f"candidates.mgte.model={checkpoint}", "candidates.mgte.max_length=64",
                   "candidates.mgte.query_max_length=32", "reranker=none", f"hydra.run.dir={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = _trec(out / "runs" / "first_stage.es.trec")
    bench = load_benchmark(BenchmarkConfig(name="sample", languages=["es"]))
    sep = bench.protocol.get("doc_sep", " ")
    docs = [d for batch in bench.stores["es"].iter_docs() for d in batch]
    dd, ds = helper_encode(reference, [d.full_text(sep) for d in docs], max_length=64)
    qids = list(bench.queries["es"])[:8]
    qd, qs = helper_encode(reference, [bench.queries["es"][q] for q in qids], max_length=32)
    for i, qid in enumerate(qids):
        sparse = np.array([sum(w * d.get(t, 0.0) for t, w in qs[i].items()) for d in ds])
        score = sparse if mode == "sparse" else qd[i] @ dd.T + 0.1 * sparse
        expected = canonical_order({d.docid: float(s) for d, s in zip(docs, score) if mode != "sparse" or s > 0})
        top = dict(expected[:10])
        assert list(got[qid])[:10] == list(top), qid
        np.testing.assert_allclose([got[qid][d] for d in top], list(top.values()), atol=1e-4)


def test_dense_stage_reads_the_published_checkpoint_and_agrees(tmp_path, checkpoint, bench):
    """candidates=dense_gte (the mGTE reranking table's first stage) loads the same file, sparse head left
    unused, and its CLS / L2 runs equal mgte_dense's."""
    from evalkit.candidates.dense import DenseConfig, dense_candidates

    dense = dense_candidates(bench, CandidatesConfig(name="dense", depth=3, dense=DenseConfig(
        model=str(checkpoint), pooling="cls", normalize=True, max_length=48, dtype="fp32", device="cpu")),
        cache_dir=tmp_path / "dense")
    mgte = mgte_candidates(bench, CandidatesConfig(name="mgte", depth=3, mgte=MgteConfig(
        model=str(checkpoint), mode="dense", max_length=48, query_max_length=48, dtype="fp32", device="cpu")),
        cache_dir=tmp_path / "mgte")
    for lang in mgte:
        for qid in mgte[lang]:
            assert list(dense[lang][qid]) == list(mgte[lang][qid])
            np.testing.assert_allclose(list(dense[lang][qid].values()), list(mgte[lang][qid].values()), atol=1e-5)
