"""Packed (padding-free) forward passes against padded ones, for GTE and XLM-R cross-encoders, fp32 on CPU.

On CPU the packed path runs attention one sequence at a time (the CUDA varlen kernel needs a GPU and half
precision; scripts/gpu_bench_rerank.py checks it there), so these tests check everything around the kernel:
packing, positions (GTE's rotary positions restart at 0, XLM-R's at padding_idx + 1), cu_seqlens, reading each
sequence's first token, the heads, batching by real tokens.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from evalkit.errors import EvalkitError
from evalkit.models.batching import packed_batches
from evalkit.rerank.engine import CrossEncoder, EngineSettings, resolve_packed
from evalkit.models.loading import LoadedModel, load_cross_encoder

sys.path.insert(0, str(Path(__file__).parent))
from test_engine import make_pairs  # noqa: E402


@pytest.fixture(scope="module", params=["gte", "xlmr"])
def loaded(request):
    return load_cross_encoder(str(request.getfixturevalue(f"tiny_{request.param}")))


def engine(loaded: LoadedModel, **settings) -> CrossEncoder:
    settings = {"max_length": 96, "batch_tokens": 700, **settings}
    return CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, EngineSettings(**settings), progress=False)


def test_packed_scores_equal_padded_scores_within_1e5(loaded):
    pairs = make_pairs(150, seed=21)
    padded, packed = engine(loaded), engine(loaded, packed=True)
    a, b = padded.score(pairs), packed.score(pairs)
    np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)
    assert np.ptp(a) > 0.05          # scores differ, so reading the wrong sequence's token would show
    assert packed.stats.padded_tokens == packed.stats.tokens == padded.stats.tokens
    assert padded.stats.padded_tokens > padded.stats.tokens
    assert packed.stats.batches < padded.stats.batches     # the budget counts real tokens only


def test_a_packed_score_does_not_depend_on_its_neighbours(loaded):
    pairs = make_pairs(40, seed=22)
    together = engine(loaded, packed=True, batch_tokens=4096).score(pairs)
    alone = engine(loaded, packed=True, batch_tokens=1).score(pairs)   # one sequence per pass
    np.testing.assert_allclose(together, alone, atol=1e-5, rtol=0)


def test_packed_batches_hold_the_budget_longest_first():
    lengths = np.array([5, 3, 5, 2, 9])
    assert [b.tolist() for b in packed_batches(lengths, budget=10)] == [[4], [0, 2], [1, 3]]
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, size=500)
    batches = packed_batches(lengths, 1000)
    flat = np.concatenate(batches)
    assert flat.tolist() == sorted(range(500), key=lambda i: (-lengths[i], i))
    assert all(len(b) == 1 or lengths[b].sum() <= 1000 for b in batches)
    assert all(lengths[b].sum() + lengths[n[0]] > 1000 for b, n in zip(batches, batches[1:]))   # greedy: full


def test_packed_needs_a_model_with_a_packed_forward(tiny_gte):
    tiny = load_cross_encoder(str(tiny_gte))
    bert = BertForSequenceClassification(BertConfig(vocab_size=tiny.tokenizer.vocab_size + 10, hidden_size=16,
                                                    num_hidden_layers=1, num_attention_heads=2,
                                                    intermediate_size=32, num_labels=1)).eval()
    with pytest.raises(EvalkitError, match="reranker.packed"):
        engine(LoadedModel(bert, tiny.tokenizer, tiny.info), packed=True)
    assert resolve_packed("auto", "cpu", "fp32", tiny.model) is False
    assert resolve_packed("auto", "cuda", "fp16", tiny.model) is True
    assert resolve_packed("auto", "cuda", "fp32", tiny.model) is False
    assert resolve_packed("auto", "cuda", "fp16", bert) is False
    assert resolve_packed("True", "cpu", "fp32", tiny.model) is True
    with pytest.raises(EvalkitError, match="reranker.packed"):
        resolve_packed("sometimes", "cpu", "fp32", tiny.model)
    assert torch.is_inference_mode_enabled() is False
