"""Packed variable-length forward passes for GTE and XLM-R cross-encoders and for native causal-LM rerankers
(Qwen2/Qwen3/Gemma/Llama): no token of padding is computed.

A batch's sequences are laid end to end as one row of `sum(lengths)` tokens, with position ids restarting at each
sequence and cumulative sequence offsets (cu_seqlens) telling attention where each sequence starts. Attention runs
through an attention function registered with transformers (`evalkit_packed`): on CUDA PyTorch's FlashAttention
varlen kernel (`torch.nn.attention.varlen.varlen_attn`), elsewhere one SDPA call per sequence (exact, also free
of padding; used to test the packed path against the padded one on CPU). Every other layer is position-wise, so
only attention needs to know the sequence boundaries. Encoder scores are read at each sequence's first token;
a decoder's attention is causal within each sequence (the module's `is_causal`) and its score is read from the
language-model head at each sequence's last token, for the wanted vocabulary rows only.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from evalkit.errors import EvalkitError
from evalkit.models.tokens import TokenArrays, ragged_positions

NAME = "evalkit_packed"
SUPPORTED = ("GteForSequenceClassification", "XLMRobertaForSequenceClassification")
CAUSAL = ("Qwen2ForCausalLM", "Qwen3ForCausalLM", "GemmaForCausalLM", "LlamaForCausalLM")
_registered = False


def packed_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, cu_seq_lens_q=None,
                     max_length_q=None, **kwargs):
    """transformers attention-function signature; query/key/value (1, heads, tokens, head_dim) of one packed row.
    Returns (1, tokens, heads, head_dim) as every transformers attention function does."""
    if cu_seq_lens_q is None:
        raise EvalkitError("packed attention called without cu_seq_lens_q (use evalkit.models.packed.packed_logits)")
    causal = bool(getattr(module, "is_causal", False))   # decoders: causal within each sequence
    gqa = key.shape[1] != query.shape[1]                  # grouped-query attention (Qwen, Llama): fewer k/v heads
    if query.is_cuda and query.dtype in (torch.float16, torch.bfloat16):   # the varlen kernels are half precision
        from torch.nn.attention.varlen import varlen_attn

        q, k, v = (t[0].transpose(0, 1).contiguous() for t in (query, key, value))   # (tokens, heads, head_dim)
        extra = {"window_size": (-1, 0)} if causal else {}     # causal: no key after the query (flash's window)
        extra |= {"enable_gqa": True} if gqa else {}             # only when needed: older torch lacks both
        out = varlen_attn(q, k, v, cu_seq_lens_q, cu_seq_lens_q, max_length_q, max_length_q, scale=scaling, **extra)
        return out.unsqueeze(0), None
    out = torch.empty_like(query)
    bounds = cu_seq_lens_q.tolist()
    for start, end in zip(bounds[:-1], bounds[1:]):
        out[:, :, start:end] = F.scaled_dot_product_attention(query[:, :, start:end], key[:, :, start:end],
                                                              value[:, :, start:end], scale=scaling,
                                                              is_causal=causal, enable_gqa=gqa)
    return out.transpose(1, 2), None


def _no_mask(*args, **kwargs):
    return None


def register() -> None:
    """Registers the `evalkit_packed` attention (and its no-op mask) with transformers, once."""
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(NAME, packed_attention)
    AttentionMaskInterface.register(NAME, _no_mask)
    _registered = True


def supports(model: torch.nn.Module) -> bool:
    """GTE/XLM-R cross-encoders, and the native causal LMs in CAUSAL whose every layer attends to the whole
    sequence (no sliding-window layers) and whose logits are not soft-capped."""
    kind, config = type(model).__name__, getattr(model, "config", None)
    if kind in SUPPORTED:
        return True
    return (kind in CAUSAL and "sliding_attention" not in (getattr(config, "layer_types", None) or ())
            and getattr(config, "final_logit_softcapping", None) is None)


@contextmanager
def _attention(model: torch.nn.Module, name: str) -> Iterator[None]:
    configs = {id(m.config): m.config for m in model.modules() if hasattr(m, "config")}.values()
    before = [c._attn_implementation for c in configs]
    for c in configs:
        c._attn_implementation = name
    try:
        yield
    finally:
        for c, old in zip(configs, before):
            c._attn_implementation = old


def packed_inputs(tokens: TokenArrays, rows: np.ndarray, first_position: int = 0):
    """(ids (1, T) int64, position_ids (1, T) int64, cu_seqlens (n+1) int32, longest) for `tokens`' rows."""
    rows = np.asarray(rows, dtype=np.int64)
    lengths = tokens.lengths[rows]
    ids = tokens.ids[ragged_positions(tokens.offsets[rows], lengths)].astype(np.int64)
    positions = ragged_positions(np.full(len(rows), first_position, dtype=np.int64), lengths)
    cu = np.zeros(len(rows) + 1, dtype=np.int32)
    np.cumsum(lengths, out=cu[1:])
    return (torch.from_numpy(ids)[None], torch.from_numpy(positions)[None], torch.from_numpy(cu),
            int(lengths.max()) if len(rows) else 0)


def packed_logits(model: torch.nn.Module, tokens: TokenArrays, rows: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """The classification logits (n, num_labels) of `tokens`' rows, from one packed forward pass."""
    kind = type(model).__name__
    if kind not in SUPPORTED:
        raise EvalkitError(f"reranker.packed: {kind} has no packed forward (supported: {', '.join(SUPPORTED)})")
    register()
    xlmr = kind.startswith("XLMRoberta")
    first = model.config.pad_token_id + 1 if xlmr else 0   # XLM-R positions start after the padding index
    ids, positions, cu, longest = _on(device, *packed_inputs(tokens, rows, first))
    backbone = model.roberta if xlmr else model.gte
    with _attention(model, NAME):
        hidden = backbone(input_ids=ids, position_ids=positions, token_type_ids=torch.zeros_like(ids),
                          cu_seq_lens_q=cu, cu_seq_lens_k=cu, max_length_q=longest, max_length_k=longest,
                          return_dict=True).last_hidden_state
    first_tokens = hidden[0, cu[:-1].long()]                # (n, hidden): each sequence's <s>/CLS
    if xlmr:
        return model.classifier(first_tokens[:, None, :])   # the head reads features[:, 0]
    pooled = model.gte.pooler(first_tokens[:, None, :]) if model.gte.pooler is not None else first_tokens
    return model.classifier(model.dropout(pooled))


def packed_last_logits(model: torch.nn.Module, tokens: TokenArrays, rows: np.ndarray, device: str,
                       vocab_ids) -> torch.Tensor:
    """float32 (len(rows), len(vocab_ids)): a causal LM's next-token logits of `vocab_ids` after each of
    `tokens`' rows, from one packed forward pass. The head runs at the rows' last tokens only, for those ids only
    (a 151k-row head over every position would cost more memory than the whole batch)."""
    if type(model).__name__ not in CAUSAL or not supports(model):
        raise EvalkitError(f"reranker.packed: {type(model).__name__} has no packed causal forward "
                           f"(supported: {', '.join(CAUSAL)}, without sliding-window layers)")
    register()
    ids, positions, cu, longest = _on(device, *packed_inputs(tokens, rows))
    with _attention(model, NAME):
        hidden = model.model(input_ids=ids, position_ids=positions, use_cache=False, cu_seq_lens_q=cu,
                             cu_seq_lens_k=cu, max_length_q=longest, max_length_k=longest,
                             return_dict=True).last_hidden_state      # the final norm is applied
    last = hidden[0, cu[1:].long() - 1]                               # (n, hidden)
    head = model.get_output_embeddings()
    wanted = torch.as_tensor(list(vocab_ids), dtype=torch.long, device=last.device)
    bias = head.bias[wanted] if getattr(head, "bias", None) is not None else None
    return F.linear(last, head.weight[wanted], bias).float()


def _on(device: str, ids, positions, cu, longest):
    if device.startswith("cuda"):
        ids, positions, cu = (t.pin_memory().to(device, non_blocking=True) for t in (ids, positions, cu))
    return ids, positions, cu, longest
