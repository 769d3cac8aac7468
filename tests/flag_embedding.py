"""Import FlagEmbedding (the peer implementation) under transformers >= 5.24, for parity tests only.

FlagEmbedding's package __init__ imports its MiniCPM / Gemma rerankers, which import
`transformers.modeling_attn_mask_utils` (gone in transformers 5.24). The BGE-M3 and encoder-only reranker paths
never call it, so a stub module with placeholder callables is registered before the import; nothing else changes.
"""
from __future__ import annotations

import sys
import types

NAMES = ("AttentionMaskConverter", "_prepare_4d_attention_mask", "_prepare_4d_causal_attention_mask",
         "_prepare_4d_causal_attention_mask_for_sdpa")


def _unavailable(*args, **kwargs):
    raise RuntimeError("transformers.modeling_attn_mask_utils is a test stub (decoder-only rerankers only)")


def import_flag_embedding():
    try:
        import transformers.modeling_attn_mask_utils  # noqa: F401  (transformers < 5.24 ships it)
    except ImportError:
        stub = types.ModuleType("transformers.modeling_attn_mask_utils")
        for name in NAMES:
            setattr(stub, name, _unavailable)
        sys.modules["transformers.modeling_attn_mask_utils"] = stub
    import FlagEmbedding

    return FlagEmbedding
