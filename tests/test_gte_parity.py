"""The native load of an ORIGINAL-format gte checkpoint computes what the original architecture computes.

The reference below is written from the architecture facts in PROTOCOLS.md alone (post-LN BERT, packed qkv,
GeGLU with up first then gate, rotate-half RoPE with the NTK rule, tanh pooler on CLS, 1-logit classifier) and
reads the original tensor names straight from the safetensors file, in float64.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Tokenizer

from evalkit.models.loading import load_cross_encoder
from evalkit.testing import make_tiny_gte

PAIRS = [
    ("中国的首都在哪儿", "北京"),
    ("what is the capital of China?", "北京"),
    ("how to implement quick sort in python?", "Introduction of quick sort. " * 12),
    ("¿Cuál es la capital de Kenia?", "Nairobi es la capital y la ciudad más poblada de Kenia, " * 4),
]


def reference_logits(ckpt: Path, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     freq_divisor: float | None = None) -> torch.Tensor:
    """Original forward pass; `freq_divisor` overrides the NTK frequency divisor (to show sensitivity)."""
    cfg = json.loads((ckpt / "config.json").read_text())
    w = {k: v.double() for k, v in load_file(ckpt / "model.safetensors").items()}
    hidden, heads, inter = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    eps = cfg["layer_norm_eps"]
    head_dim = hidden // heads
    factor = cfg["rope_scaling"]["factor"] if cfg["rope_scaling"] else 1.0
    base = cfg["rope_theta"] * factor                                   # NTK: base times the factor ...
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    inv_freq = inv_freq / (factor ** (2 / head_dim) if freq_divisor is None else freq_divisor)   # ... and this
    batch, length = input_ids.shape
    angles = torch.arange(length, dtype=torch.float64)[:, None] * inv_freq[None, :]   # positions 0.. per sequence
    cos, sin = torch.cat([angles.cos()] * 2, -1)[:, None, :], torch.cat([angles.sin()] * 2, -1)[:, None, :]

    def rope(x: torch.Tensor) -> torch.Tensor:                          # x: batch, length, heads, head_dim
        half = head_dim // 2
        return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin

    def linear(x: torch.Tensor, name: str) -> torch.Tensor:
        return x @ w[f"{name}.weight"].T + (w[f"{name}.bias"] if f"{name}.bias" in w else 0.0)

    def norm(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, (hidden,), w[f"{name}.weight"], w[f"{name}.bias"], eps)

    x = w["new.embeddings.word_embeddings.weight"][input_ids] + w["new.embeddings.token_type_embeddings.weight"][0]
    x = norm(x, "new.embeddings.LayerNorm")
    key_bias = torch.where(attention_mask.bool(), 0.0, -math.inf).double()[:, None, None, :]
    for i in range(cfg["num_hidden_layers"]):
        p = f"new.encoder.layer.{i}"
        q, k, v = linear(x, f"{p}.attention.qkv_proj").view(batch, length, 3, heads, head_dim).unbind(2)
        q, k = rope(q), rope(k)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(head_dim) + key_bias
        attended = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v).reshape(batch, length, hidden)
        x = norm(x + linear(attended, f"{p}.attention.o_proj"), f"{p}.attn_ln")
        up_gate = linear(x, f"{p}.mlp.up_gate_proj")
        up, gate = up_gate[..., :inter], up_gate[..., inter:]
        x = norm(x + linear(F.gelu(gate) * up, f"{p}.mlp.down_proj"), f"{p}.mlp_ln")
    pooled = torch.tanh(linear(x[:, 0], "new.pooler.dense"))
    return linear(pooled, "classifier")[:, 0]


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> tuple[Path, object]:
    ckpt = make_tiny_gte(tmp_path_factory.mktemp("orig"), fmt="original", seed=3)
    return ckpt, load_cross_encoder(str(ckpt))


def encode(tokenizer, pairs):
    return tokenizer([q for q, _ in pairs], [d for _, d in pairs], padding=True, return_tensors="pt")


def model_logits(loaded, enc) -> torch.Tensor:
    with torch.no_grad():
        return loaded.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits[:, 0]


def test_batched_logits_equal_the_original_architecture(original):
    ckpt, loaded = original
    enc = encode(loaded.tokenizer, PAIRS)
    lengths = enc["attention_mask"].sum(1)
    assert len(set(lengths.tolist())) == len(PAIRS) and lengths.max() > 50      # padded, with RoPE at work
    assert (enc["attention_mask"][:, 0] == 1).all()                             # right padding
    ref = reference_logits(ckpt, enc["input_ids"], enc["attention_mask"])
    torch.testing.assert_close(model_logits(loaded, enc).double(), ref, atol=1e-5, rtol=0)
    assert ref.max() - ref.min() > 0.1                                          # scores differ between pairs


def test_single_inputs_equal_the_original_architecture(original):
    ckpt, loaded = original
    for pair in PAIRS:
        enc = encode(loaded.tokenizer, [pair])
        assert enc["attention_mask"].all()
        ref = reference_logits(ckpt, enc["input_ids"], enc["attention_mask"])
        torch.testing.assert_close(model_logits(loaded, enc).double(), ref, atol=1e-5, rtol=0)


def test_reference_is_sensitive_to_a_wrong_rope_conversion(original):
    ckpt, loaded = original
    enc = encode(loaded.tokenizer, PAIRS)
    got = model_logits(loaded, enc).double()
    head_dim = 32 // 2
    assert loaded.model.config.rope_parameters["factor"] == pytest.approx(8 ** (2 / head_dim))
    for wrong_divisor in (8.0, 1.0):          # linear factor 8 instead of 8**(2/head_dim); NTK divisor dropped
        wrong = reference_logits(ckpt, enc["input_ids"], enc["attention_mask"], freq_divisor=wrong_divisor)
        assert (got - wrong).abs().max() > 1e-3


def test_rope_scaling_null_loads_with_the_original_base(tmp_path):
    ckpt = make_tiny_gte(tmp_path / "noscale", fmt="original", seed=4, rope_ntk_factor=None)
    loaded = load_cross_encoder(str(ckpt))
    assert loaded.model.config.rope_parameters == {"rope_type": "default", "rope_theta": 20000.0}
    enc = encode(loaded.tokenizer, PAIRS)
    ref = reference_logits(ckpt, enc["input_ids"], enc["attention_mask"])
    torch.testing.assert_close(model_logits(loaded, enc).double(), ref, atol=1e-5, rtol=0)


def test_pair_encoding_is_the_model_card_one(original):
    _, loaded = original
    tok = loaded.tokenizer
    query, doc = "what is the capital of China?", "北京"
    q_ids, d_ids = (tok(t, add_special_tokens=False)["input_ids"] for t in (query, doc))
    enc = tok(query, doc)
    bos, eos = tok.convert_tokens_to_ids(["<s>", "</s>"])
    assert (bos, eos) == (0, 2)
    assert enc["input_ids"] == [bos, *q_ids, eos, eos, *d_ids, eos]             # <s> q </s></s> d </s>
    assert set(enc.get("token_type_ids", [0])) == {0}
    assert tok.padding_side == "right"


def test_tokenizer_encodes_exactly_as_its_tokenizer_json(original):
    ckpt, loaded = original
    raw = Tokenizer.from_file(str(ckpt / "tokenizer.json"))        # the tokenizers library alone, no transformers
    odd = ("Ünïcödé  spaces\tand\nnewlines ＡＢＣ ①", "ﬁ ligature … <s> </s> x<pad>y")   # literal special tokens
    for query, doc in [*PAIRS, odd]:
        assert loaded.tokenizer(query, doc)["input_ids"] == raw.encode(query, doc).ids
