"""reranker=jina_v2: evalkit's native load of a checkpoint in jina-reranker-v2's PUBLISHED layout computes what
jinaai's own implementation computes.

The reference below is written from the original code's facts (docs/jina.md) and reads the original tensor names
straight from the safetensors file, in float64: positions counted from pad_token_id + 1 over non-pad tokens, one
fused `mixer.Wqkv` whose rows are query, key, value, post-LN blocks (norm1 after attention, norm2 after the MLP,
exact GELU), and the classification head dense -> tanh -> out_proj on `<s>`; compute_score's sigmoid on top.
"""
from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from evalkit.errors import EvalkitError
from evalkit.models.loading import CheckpointError, load_cross_encoder
from evalkit.testing import make_tiny_jina_v2

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [
    ("中国的首都在哪儿", "北京"),
    ("what is the capital of China?", "北京"),
    ("how to implement quick sort in python?", "Introduction of quick sort. " * 12),
    ("¿Cuál es la capital de Kenia?", "Nairobi es la capital y la ciudad más poblada de Kenia, " * 4),
]


def reference_logits(ckpt: Path, input_ids: torch.Tensor, attention_mask: torch.Tensor, *,
                     positions_from_zero: bool = False, classifier_dense: bool = True,
                     qkv_order: tuple[int, int, int] = (0, 1, 2)) -> torch.Tensor:
    """The original forward pass; the keyword arguments seed one mistake each (to show the check catches it)."""
    cfg = json.loads((ckpt / "config.json").read_text())
    w = {k: v.double() for k, v in load_file(ckpt / "model.safetensors").items()}
    hidden, heads, eps, pad = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"], cfg["pad_token_id"]
    head_dim = hidden // heads
    batch, length = input_ids.shape
    not_pad = (input_ids != pad).long()
    if positions_from_zero:
        positions = torch.arange(length).expand(batch, length)
    else:                                                   # RoBERTa's: pad + 1, pad + 2, ... ; pads get `pad`
        positions = torch.cumsum(not_pad, dim=1) * not_pad + pad

    def linear(x, name):
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    def norm(x, name):
        return F.layer_norm(x, (hidden,), w[f"{name}.weight"], w[f"{name}.bias"], eps)

    e = "roberta.embeddings"
    x = (w[f"{e}.word_embeddings.weight"][input_ids] + w[f"{e}.position_embeddings.weight"][positions]
         + w[f"{e}.token_type_embeddings.weight"][0])
    x = norm(x, "roberta.emb_ln")
    key_bias = torch.where(attention_mask.bool(), 0.0, -math.inf).double()[:, None, None, :]
    for i in range(cfg["num_hidden_layers"]):
        p = f"roberta.encoder.layers.{i}"
        parts = linear(x, f"{p}.mixer.Wqkv").view(batch, length, 3, heads, head_dim).unbind(2)
        q, k, v = (parts[j] for j in qkv_order)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(head_dim) + key_bias
        attended = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v).reshape(batch, length, hidden)
        x = norm(x + linear(attended, f"{p}.mixer.out_proj"), f"{p}.norm1")
        x = norm(x + linear(F.gelu(linear(x, f"{p}.mlp.fc1")), f"{p}.mlp.fc2"), f"{p}.norm2")
    cls = x[:, 0]
    if classifier_dense:
        cls = torch.tanh(linear(cls, "classifier.dense"))
    return linear(cls, "classifier.out_proj")[:, 0]


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> tuple[Path, object]:
    ckpt = make_tiny_jina_v2(tmp_path_factory.mktemp("jina") / "tiny-jina", seed=7)
    return ckpt, load_cross_encoder(str(ckpt))


def encode(tokenizer, pairs):
    return tokenizer([q for q, _ in pairs], [d for _, d in pairs], padding=True, return_tensors="pt")


def model_logits(loaded, enc) -> torch.Tensor:
    with torch.no_grad():
        return loaded.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits[:, 0]


def test_the_tiny_checkpoint_has_the_published_layout(original):
    ckpt, _ = original
    cfg = json.loads((ckpt / "config.json").read_text())
    assert "model_type" not in cfg and cfg["auto_map"]["AutoConfig"].endswith(".XLMRobertaFlashConfig")
    assert (cfg["max_position_embeddings"], cfg["type_vocab_size"], cfg["position_embedding_type"]) == (1026, 1, "absolute")
    names = set(load_file(ckpt / "model.safetensors"))
    assert {"roberta.encoder.layers.0.mixer.Wqkv.weight", "roberta.emb_ln.weight", "roberta.encoder.layers.1.norm2.bias",
            "classifier.dense.weight", "classifier.out_proj.weight"} <= names
    assert not any(".attention." in n or "LayerNorm" in n or "pooler" in n for n in names)
    assert load_file(ckpt / "model.safetensors")["roberta.encoder.layers.0.mixer.Wqkv.weight"].shape == (96, 32)


def test_batched_padded_logits_equal_the_original(original):
    ckpt, loaded = original
    enc = encode(loaded.tokenizer, PAIRS)
    lengths = enc["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) == len(PAIRS) and lengths.max() > 50      # padded rows of four lengths
    assert (enc["attention_mask"][:, 0] == 1).all()                             # right padding
    ref = reference_logits(ckpt, enc["input_ids"], enc["attention_mask"])
    torch.testing.assert_close(model_logits(loaded, enc).double(), ref, atol=1e-5, rtol=0)
    assert ref.max() - ref.min() > 0.1                                          # scores differ between pairs


def test_one_by_one_logits_equal_the_original(original):
    ckpt, loaded = original
    for pair in PAIRS:
        enc = encode(loaded.tokenizer, [pair])
        assert enc["attention_mask"].all()
        ref = reference_logits(ckpt, enc["input_ids"], enc["attention_mask"])
        torch.testing.assert_close(model_logits(loaded, enc).double(), ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("mistake", [{"positions_from_zero": True}, {"classifier_dense": False},
                                     {"qkv_order": (1, 0, 2)}, {"qkv_order": (0, 2, 1)}],
                         ids=["positions-from-0", "no-classifier-dense", "qkv-as-kqv", "qkv-as-qvk"])
def test_a_seeded_mistake_fails_the_parity_check(original, mistake):
    ckpt, loaded = original
    enc = encode(loaded.tokenizer, PAIRS)
    wrong = reference_logits(ckpt, enc["input_ids"], enc["attention_mask"], **mistake)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(model_logits(loaded, enc).double(), wrong, atol=1e-5, rtol=0)
    assert (model_logits(loaded, enc).double() - wrong).abs().max() > 1e-3


def test_the_model_limit_is_1024_tokens_and_positions_reach_the_table_end(original):
    from evalkit.models.loading import model_max_length

    ckpt, loaded = original
    assert model_max_length(loaded) == 1024                                     # 1026 positions - (pad + 1)
    enc = loaded.tokenizer(["capital " * 300], ["Nairobi " * 900], truncation=True, max_length=1024,
                           return_tensors="pt")
    assert enc["input_ids"].shape[1] == 1024                                    # last position id 1025
    ref = reference_logits(ckpt, enc["input_ids"], enc["attention_mask"])
    torch.testing.assert_close(model_logits(loaded, enc).double(), ref, atol=1e-5, rtol=0)


def test_provenance_names_the_original_layout(original):
    ckpt, loaded = original
    info = loaded.info
    assert (info["format"], info["model_type"], info["architecture"]) == (
        "original", "xlm-roberta", "XLMRobertaForSequenceClassification")
    assert info["max_position_embeddings"] == 1026 and len(info["weights_hash"]) == 64


def _bin_only(ckpt: Path, folder: Path) -> Path:
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((ckpt / name).read_bytes())
    torch.save(load_file(ckpt / "model.safetensors"), folder / "pytorch_model.bin")
    return folder


def test_bin_only_checkpoint_is_refused_in_one_line(original, tmp_path):
    ckpt, _ = original
    pickled = _bin_only(ckpt, tmp_path / "bin-only")
    with pytest.raises(CheckpointError) as err:
        load_cross_encoder(str(pickled))
    message = str(err.value)
    assert "\n" not in message and str(pickled) in message and "pytorch_model.bin" in message
    assert "safetensors only" in message


def test_options_the_native_class_cannot_express_are_refused(original, tmp_path):
    ckpt, _ = original
    for key, value in (("position_embedding_type", "rotary"), ("lora_adaptations", ["retrieval.query"])):
        variant = tmp_path / key
        variant.mkdir()
        for name in ("model.safetensors", "tokenizer.json", "tokenizer_config.json"):
            (variant / name).write_bytes((ckpt / name).read_bytes())
        cfg = json.loads((ckpt / "config.json").read_text())
        (variant / "config.json").write_text(json.dumps({**cfg, key: value}))
        with pytest.raises(EvalkitError, match=rf"config.json: `{key}: .*` has no equivalent") as err:
            load_cross_encoder(str(variant))
        assert "\n" not in str(err.value)


def test_an_unknown_tensor_is_refused(original, tmp_path):
    ckpt, _ = original
    extra = tmp_path / "extra"
    extra.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (extra / name).write_bytes((ckpt / name).read_bytes())
    state = load_file(ckpt / "model.safetensors")
    state["roberta.pooler.dense.weight"] = torch.zeros(32, 32)
    save_file(state, extra / "model.safetensors")
    with pytest.raises(CheckpointError, match="unexpected: roberta.pooler.dense.weight"):
        load_cross_encoder(str(extra))


def _sample_texts(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """Queries and documents (title, space, text: MIRACL's passage) read from the bundled files directly."""
    root = ROOT / "evalkit" / "sample_data"
    queries = {}
    for path in (root / f"miracl-v1.0-{lang}" / "topics").glob("*.tsv"):
        for line in path.read_text(encoding="utf-8").splitlines():
            qid, text = line.split("\t", 1)
            queries[qid] = text
    docs = {}
    for path in (root / f"miracl-corpus-v1.0-{lang}").glob("*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                docs[row["docid"]] = f"{row['title']} {row['text']}" if row["title"] else row["text"]
    return queries, docs


def _run(path: Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        qid, _, docid, _, score, _ = line.split()
        run.setdefault(qid, {})[docid] = float(score)
    return run


def test_reranker_jina_v2_runs_end_to_end_on_the_sample(original, tmp_path):
    from cli_runner import evalkit

    ckpt, loaded = original
    run_dir = tmp_path / "run"
    done = evalkit("benchmark=sample", "benchmark.languages=[es]", "reranker=jina_v2", f"reranker.model={ckpt}",
                   "candidates.depth=10", f"hydra.run.dir={run_dir}", env={"EVALKIT_CACHE": tmp_path / "cache"},
                   check=True)
    assert "custom code" not in done.stdout + done.stderr and "trust_remote_code" not in done.stderr
    first, reranked = _run(run_dir / "runs" / "first_stage.es.trec"), _run(run_dir / "runs" / "reranked.es.trec")
    assert {q: set(d) for q, d in first.items()} == {q: set(d) for q, d in reranked.items()}
    assert all(0.0 < s < 1.0 for docs in reranked.values() for s in docs.values())      # sigmoid, as compute_score
    queries, docs = _sample_texts("es")
    qid = sorted(reranked)[0]
    pairs = [(queries[qid], docs[d]) for d in sorted(reranked[qid])]
    enc = loaded.tokenizer([q for q, _ in pairs], [d for _, d in pairs], padding=True, truncation=True,
                           max_length=1024, return_tensors="pt")
    expected = torch.sigmoid(reference_logits(ckpt, enc["input_ids"], enc["attention_mask"]))
    got = torch.tensor([reranked[qid][d] for d in sorted(reranked[qid])], dtype=torch.float64)
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=0)
    refused = evalkit("benchmark=sample", "benchmark.languages=[es]", "reranker=jina_v2",
                      f"reranker.model={_bin_only(ckpt, tmp_path / 'bin-only')}", "candidates.depth=10",
                      f"hydra.run.dir={tmp_path / 'refused'}", env={"EVALKIT_CACHE": tmp_path / "cache"})
    assert refused.returncode == 2
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("evalkit: error: ") and "pytorch_model.bin" in last and "safetensors only" in last
