"""Packed causal-LM forward (evalkit.models.packed.packed_last_logits) against the padded, left-padded forward of
the same tiny random Qwen3 / Qwen2 / Gemma / Llama, fp32 on CPU: the next-token logits of two vocabulary ids after
each sequence. Seeded mistakes (attention not causal, one attention over the whole packed row) must fail the
1e-5 bound.

Position ids that do not restart per sequence are invisible in these models' scores: RoPE depends on relative
positions only, so a per-sequence constant offset changes a score by rounding alone. They are checked on the
packed inputs themselves, against hand-worked positions.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import (GemmaConfig, GemmaForCausalLM, LlamaConfig, LlamaForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

from evalkit.errors import EvalkitError
from evalkit.models import packed
from evalkit.models.packed import packed_inputs, packed_last_logits, supports
from evalkit.models.tokens import TokenArrays

VOCAB, YES_NO = 512, [17, 42]
SIZES = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, head_dim=16, max_position_embeddings=4096)
MODELS = {
    "qwen3": (Qwen3ForCausalLM, Qwen3Config, {}),
    "qwen2": (Qwen2ForCausalLM, Qwen2Config, {}),
    "gemma": (GemmaForCausalLM, GemmaConfig, {"num_key_value_heads": 1}),   # gemma-2b: multi-query attention
    "llama": (LlamaForCausalLM, LlamaConfig, {}),
}


def tiny(kind: str, seed: int = 0) -> torch.nn.Module:
    """Random weights at unit activation scale (the default 0.02 init makes every logit ~0, hiding mistakes)."""
    cls, config_cls, extra = MODELS[kind]
    model = cls(config_cls(**{**SIZES, **extra}, tie_word_embeddings=False)).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            noise = torch.randn(p.shape, generator=generator)
            p.copy_(0.1 * noise if p.ndim == 1 else noise / p.shape[-1] ** 0.5)
    return model


def token_rows(n: int, seed: int) -> TokenArrays:
    rng = np.random.default_rng(seed)
    return TokenArrays.from_lists([rng.integers(3, VOCAB, size=int(k)).tolist() for k in rng.integers(5, 60, n)])


def left_padded_logits(model, tokens: TokenArrays, pad_id: int = 0) -> torch.Tensor:
    """The reference: one left-padded batch, positions counted from each sequence's first real token (as
    transformers' generate does), logits of the last position only."""
    lengths = tokens.lengths
    width = int(lengths.max())
    ids = torch.full((len(lengths), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i in range(len(lengths)):
        seq = torch.from_numpy(tokens.ids[tokens.offsets[i]:tokens.offsets[i + 1]].astype(np.int64))
        ids[i, width - len(seq):], mask[i, width - len(seq):] = seq, 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1).logits
    return out[:, -1, YES_NO].float()


def packed_scores(model, tokens: TokenArrays, rows=None) -> torch.Tensor:
    with torch.inference_mode():
        return packed_last_logits(model, tokens, np.arange(len(tokens)) if rows is None else rows, "cpu", YES_NO)


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request):
    return tiny(request.param)


def test_packed_last_logits_equal_the_left_padded_forward_within_1e5(model):
    tokens = token_rows(12, seed=1)
    ref, got = left_padded_logits(model, tokens), packed_scores(model, tokens)
    assert got.shape == (12, 2) and got.dtype == torch.float32
    assert (ref.max(0).values - ref.min(0).values).min() > 0.1    # logits differ, so a wrong read would show
    assert float((got - ref).abs().max()) <= 1e-5
    one_by_one = torch.cat([packed_scores(model, tokens, np.array([i])) for i in range(12)])
    assert float((one_by_one - ref).abs().max()) <= 1e-5
    rows = np.array([7, 2, 9])                                     # a subset, out of order
    assert float((packed_scores(model, tokens, rows) - ref[rows]).abs().max()) <= 1e-5


@contextmanager
def seeded_attention(mistake: str):
    """packed_attention with one mistake: attention not causal, or one causal attention over the packed row."""
    right = packed.packed_attention

    def wrong(module, query, key, value, attention_mask, scaling=None, cu_seq_lens_q=None, **kwargs):
        if mistake == "not causal":
            module = type("Bidirectional", (), {"is_causal": False})()
            return right(module, query, key, value, attention_mask, scaling=scaling, cu_seq_lens_q=cu_seq_lens_q,
                         **kwargs)
        out = F.scaled_dot_product_attention(query, key, value, scale=scaling, is_causal=True, enable_gqa=True)
        return out.transpose(1, 2), None

    from transformers import AttentionInterface

    packed.register()
    AttentionInterface.register(packed.NAME, wrong)
    try:
        yield
    finally:
        AttentionInterface.register(packed.NAME, right)


@pytest.mark.parametrize("mistake", ["not causal", "across sequences"])
def test_seeded_attention_mistakes_fail_the_bound(model, mistake):
    tokens = token_rows(12, seed=2)
    ref = left_padded_logits(model, tokens)
    with seeded_attention(mistake):
        wrong = packed_scores(model, tokens)
    assert float((wrong - ref).abs().max()) > 1e-3
    assert float((packed_scores(model, tokens) - ref).abs().max()) <= 1e-5     # restored: right again


def test_position_ids_restart_at_each_sequence():
    tokens = TokenArrays.from_lists([[5, 6, 7], [8, 9], [10, 11, 12, 13]])
    ids, positions, cu, longest = packed_inputs(tokens, np.array([2, 0]))
    assert ids.tolist() == [[10, 11, 12, 13, 5, 6, 7]]
    assert positions.tolist() == [[0, 1, 2, 3, 0, 1, 2]]     # hand-worked: restarted, not 0..6
    assert cu.tolist() == [0, 4, 7] and longest == 4


def test_supports_names_the_causal_lms_with_a_packed_forward(model):
    from transformers import Gemma2Config, Gemma2ForCausalLM

    assert supports(model)
    sliding = Qwen3ForCausalLM(Qwen3Config(**SIZES, use_sliding_window=True, sliding_window=16,
                                           max_window_layers=0))
    assert not supports(sliding)                     # sliding-window layers: not packed
    capped = Gemma2ForCausalLM(Gemma2Config(**SIZES))
    assert not supports(capped)                      # soft-capped logits, sliding layers
    with pytest.raises(EvalkitError, match="reranker.packed"):
        packed_last_logits(capped, token_rows(2, seed=4), np.arange(2), "cpu", YES_NO)
