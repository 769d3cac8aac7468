"""FLOPs per pair from a model's config, against hand-worked sums and the parameter counts of the real modules."""
from __future__ import annotations

import pytest
import torch
from transformers import GteConfig, LlamaConfig, Qwen3Config, XLMRobertaConfig

from evalkit.metrics.efficiency import decoder_flops, encoder_flops, flops_per_pair, pareto_front


def _linear_weights(module: torch.nn.Module) -> int:
    """Weight elements of every nn.Linear in the transformer layers: the matmul parameters, counted independently."""
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, torch.nn.Linear))


def test_tiny_gte_encoder_by_hand():
    # d=32, L=2, I=64, gated (GeGLU): per layer QKV 3*32*32 + out 32*32 + gate/up 2*32*64 + down 64*32 = 10,240
    config = GteConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    # n = 10: 2 * 20,480 * 10 + 4 * 2 * 32 * 10**2 = 409,600 + 25,600
    assert encoder_flops(config, 10) == 435_200
    assert flops_per_pair(config, 10) == 435_200


def test_tiny_xlmr_encoder_ungated_by_hand():
    # ungated MLP: per layer 4*32*32 + 2*32*64 = 8,192; n = 10: 2 * 16,384 * 10 + 25,600
    config = XLMRobertaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    assert encoder_flops(config, 10) == 353_280


def test_real_gte_shape_matches_the_anchor_arithmetic():
    """gpu-throughput-anchors.md §0: 113.2M matmul parameters, F(n) = 226.5 MFLOP·n + 36,864·n²."""
    config = GteConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
    linear = encoder_flops(config, 1) - 36_864          # 2·P
    assert linear / 2 == pytest.approx(113.2e6, rel=1e-3)
    assert encoder_flops(config, 150) == pytest.approx(34.8e9, rel=2e-3)   # the anchor's MIRACL-like pair


def test_encoder_parameters_match_the_modules():
    from transformers import GteModel, XLMRobertaModel

    for cls, config in ((GteModel, GteConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                             intermediate_size=64, vocab_size=100)),
                        (XLMRobertaModel, XLMRobertaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                           intermediate_size=64, vocab_size=100))):
        model = cls(config)
        layers = _linear_weights(model.encoder if hasattr(model, "encoder") else model.layers)
        attention = 4 * 2 * 32 * 10 ** 2
        assert encoder_flops(config, 10) == 2 * layers * 10 + attention, cls.__name__


def test_tiny_qwen3_decoder_by_hand():
    # d=32, H=4 heads of head_dim 16 (not d/H = 8), KV=2 (GQA), I=64, V=100, L=2
    config = Qwen3Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=16, intermediate_size=64, vocab_size=100)
    # per layer: q 32*64 + k 32*32 + v 32*32 + o 64*32 + gated MLP 3*32*64 = 12,288; x2 layers = 24,576
    # n = 10: linear 2*24,576*10 = 491,520; causal attention 2*L*H*hd*n*(n+1) = 2*2*4*16*10*11 = 28,160;
    # LM head at one position 2*32*100 = 6,400
    assert decoder_flops(config, 10) == 491_520 + 28_160 + 6_400
    assert flops_per_pair(config, 10) == 526_080


def test_decoder_parameters_match_the_modules():
    from transformers import Qwen3ForCausalLM

    config = Qwen3Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=16, intermediate_size=64, vocab_size=100, tie_word_embeddings=False)
    model = Qwen3ForCausalLM(config)
    per_layers = _linear_weights(model.model.layers)
    assert decoder_flops(config, 10) == 2 * per_layers * 10 + 28_160 + 2 * model.lm_head.weight.numel()


def test_layerwise_cutoff_runs_only_its_layers_and_no_lm_head():
    # Llama of 4 layers, heads of d/H = 8; cutoff 2: two layers, a Linear(hidden, 1) head
    config = LlamaConfig(hidden_size=32, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
                         intermediate_size=64, vocab_size=1000)
    per_layer = 2 * 32 * 32 + 2 * 32 * 32 + 3 * 32 * 64        # q+o, k+v (KV = H), gated MLP = 10,240
    expected = 2 * 2 * per_layer * 10 + 2 * 2 * 4 * 8 * 10 * 11 + 2 * 32
    assert decoder_flops(config, 10, layers=2) == expected
    assert decoder_flops(config, 10) > decoder_flops(config, 10, layers=3) > expected


def test_pareto_front_hand_made():
    # (pairs/s, nDCG): b beats a on both; c is fastest; d is best; e is dominated by d; f ties d on quality, slower
    points = [(100, 0.50), (200, 0.55), (900, 0.40), (50, 0.70), (40, 0.60), (30, 0.70)]
    assert pareto_front(points) == [False, True, True, True, False, False]
    assert pareto_front([(1, 1), (1, 1)]) == [True, True]   # equal points do not dominate each other
