"""BGE-M3 checkpoints in their published layout: an XLM-R encoder plus two linear heads in their own files.

`BAAI/bge-m3` ships the encoder (config.json, tokenizer files, weights) and `sparse_linear.pt` (Linear(hidden, 1))
and `colbert_linear.pt` (Linear(hidden, hidden)). The encoder loads as evalkit.rerank.loading.load_encoder does
(safetensors only, native classes, no remote code); a head is read from `<name>.safetensors` where offered, else
from `<name>.pt` with `torch.load(weights_only=True)`, and must be exactly a `weight` and a `bias` tensor of the
expected shapes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from evalkit.rerank.loading import (DTYPES, HUB_FILES, CheckpointError, LoadedModel, _sha256, load_encoder,
                                    resolve_model_dir)

log = logging.getLogger(__name__)
HEADS = ("sparse_linear", "colbert_linear")
M3_HUB_FILES = HUB_FILES + [f"{h}.{ext}" for h in HEADS for ext in ("pt", "safetensors")]


@dataclass(frozen=True)
class LoadedM3:
    encoder: LoadedModel              # XLMRobertaModel (eval, on device) + tokenizer + provenance
    sparse_linear: torch.nn.Linear    # hidden -> 1
    colbert_linear: torch.nn.Linear   # hidden -> colbert dim
    info: dict[str, Any]


def _read_head(local: Path, name: str) -> tuple[dict[str, torch.Tensor], Path]:
    safe, pickle = local / f"{name}.safetensors", local / f"{name}.pt"
    if safe.is_file():
        from safetensors.torch import load_file

        return load_file(str(safe)), safe
    if not pickle.is_file():
        raise CheckpointError(f"{local}: no {name}.pt or {name}.safetensors (not a BGE-M3 checkpoint in its "
                              f"published layout)")
    try:
        state = torch.load(pickle, map_location="cpu", weights_only=True)
    except Exception as err:   # weights_only refuses anything but tensors and plain containers
        raise CheckpointError(f"{pickle}: not a plain tensor state dict ({str(err).splitlines()[0]})") from err
    return state, pickle


def _head(local: Path, name: str, in_features: int, out_features: int | None, dtype: torch.dtype,
          device: str) -> tuple[torch.nn.Linear, Path]:
    state, path = _read_head(local, name)
    if not isinstance(state, dict) or set(state) != {"weight", "bias"} or \
            not all(isinstance(t, torch.Tensor) for t in state.values()):
        keys = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path}: expected exactly the tensors weight and bias, found {keys}")
    weight, bias = state["weight"], state["bias"]
    out = weight.shape[0] if out_features is None else out_features
    if tuple(weight.shape) != (out, in_features) or tuple(bias.shape) != (out,):
        raise CheckpointError(f"{path}: weight {tuple(weight.shape)} / bias {tuple(bias.shape)} do not fit "
                              f"Linear({in_features}, {out})")
    linear = torch.nn.Linear(in_features, out, dtype=dtype)
    linear.load_state_dict({"weight": weight.to(dtype), "bias": bias.to(dtype)})
    return linear.to(device).eval(), path


def load_m3(model: str, *, revision: str | None = None, dtype: str = "fp32", device: str = "cpu",
            attn_implementation: str = "sdpa") -> LoadedM3:
    """Encoder and both heads from a hub id (HF cache / hub, offline-safe) or a local directory."""
    if dtype not in DTYPES:
        raise CheckpointError(f"dtype {dtype!r}: expected one of {sorted(DTYPES)}")
    local, commit = resolve_model_dir(model, revision, allow_patterns=M3_HUB_FILES)
    encoder = load_encoder(str(local), dtype=dtype, device=device, attn_implementation=attn_implementation)
    hidden = encoder.model.config.hidden_size
    sparse, sparse_path = _head(local, "sparse_linear", hidden, 1, DTYPES[dtype], device)
    colbert, colbert_path = _head(local, "colbert_linear", hidden, None, DTYPES[dtype], device)
    heads_hash, heads_each = _sha256([sparse_path, colbert_path])
    info = {**encoder.info, "model": model, "revision": revision, "commit": commit, "heads_hash": heads_hash,
            "heads_files": heads_each, "colbert_dim": colbert.out_features}
    encoder = LoadedModel(encoder.model, encoder.tokenizer, info)
    log.info("loaded BGE-M3 %s (colbert dim %d) from %s", model, colbert.out_features, local)
    return LoadedM3(encoder=encoder, sparse_linear=sparse, colbert_linear=colbert, info=info)
