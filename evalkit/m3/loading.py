"""BGE-M3 checkpoints in their published layout: an XLM-R encoder plus two linear heads in their own files.

`BAAI/bge-m3` ships the encoder (config.json, tokenizer files, weights) and `sparse_linear.pt` (Linear(hidden, 1))
and `colbert_linear.pt` (Linear(hidden, hidden)). The encoder loads as evalkit.models.loading.load_encoder does
(safetensors, native classes, no remote code), or, where the snapshot offers only `pytorch_model.bin` (bge-m3's
main branch), from that file read with `torch.load(weights_only=True)` and matched tensor by tensor; a head is read from `<name>.safetensors` where offered, else
from `<name>.pt` with `torch.load(weights_only=True)`, and must be exactly a `weight` and a `bias` tensor of the
expected shapes.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from transformers.models.auto.configuration_auto import CONFIG_MAPPING
from transformers.models.auto.modeling_auto import MODEL_MAPPING

from evalkit.models.device import TORCH_DTYPES
from evalkit.models.loading import (HUB_FILES, CheckpointError, LoadedModel, load_tokenizer, sha256_files,
                                    load_encoder, resolve_model_dir)

log = logging.getLogger(__name__)
HEADS = ("sparse_linear", "colbert_linear")
PICKLED = "pytorch_model.bin"   # BAAI/bge-m3's main branch ships its encoder weights only in this form
M3_HUB_FILES = HUB_FILES + [PICKLED] + [f"{h}.{ext}" for h in HEADS for ext in ("pt", "safetensors")]


@dataclass(frozen=True)
class LoadedM3:
    encoder: LoadedModel              # XLMRobertaModel (eval, on device) + tokenizer + provenance
    sparse_linear: torch.nn.Linear    # hidden -> 1
    colbert_linear: torch.nn.Linear   # hidden -> colbert dim
    info: dict[str, Any]


def _read_state(path: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """A pickled state dict read with torch.load(weights_only=True): tensors and plain containers only."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:   # weights_only refuses anything but tensors and plain containers
        raise CheckpointError(f"{path}: not a plain tensor state dict ({str(err).splitlines()[0]})") from err
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise CheckpointError(f"{path}: not a dict of tensors")
    return state, path


def _read_head(local: Path, name: str) -> tuple[dict[str, torch.Tensor], Path]:
    safe, pickle = local / f"{name}.safetensors", local / f"{name}.pt"
    if safe.is_file():
        from safetensors.torch import load_file

        return load_file(str(safe)), safe
    if not pickle.is_file():
        raise CheckpointError(f"{local}: no {name}.pt or {name}.safetensors (not a BGE-M3 checkpoint in its "
                              f"published layout)")
    return _read_state(pickle)


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


def _load_pickled_encoder(local: Path, dtype: str, device: str, attn_implementation: str) -> LoadedModel:
    """The encoder from `pytorch_model.bin` read with torch.load(weights_only=True) (tensors only, no code),
    every tensor matched by name as load_encoder matches safetensors (an unused `pooler.*` may be absent)."""
    config_path = local / "config.json"
    raw = json.loads(config_path.read_text(encoding="utf-8"))
    if raw.get("model_type") not in CONFIG_MAPPING or "auto_map" in raw:
        raise CheckpointError(f"{config_path}: model_type {raw.get('model_type')!r} is not a native encoder")
    config = CONFIG_MAPPING[raw["model_type"]].from_pretrained(local)
    model_class = MODEL_MAPPING[type(config)]
    state, _ = _read_state(local / PICKLED)
    network = model_class._from_config(config, attn_implementation=attn_implementation, dtype=TORCH_DTYPES[dtype])
    report = network.load_state_dict({k: v.to(TORCH_DTYPES[dtype]) for k, v in state.items()}, strict=False)
    problems = {"missing": [k for k in report.missing_keys if not k.startswith("pooler.")],
                "unexpected": [k for k in report.unexpected_keys if not k.startswith("pooler.")]}
    if any(problems.values()):
        raise CheckpointError(f"{local / PICKLED}: tensors do not match {model_class.__name__}: " + "; ".join(
            f"{kind}: {', '.join(sorted(names)[:8])}" for kind, names in problems.items() if names))
    network.to(device).eval()
    tokenizer, tokenizer_hash = load_tokenizer(local, raw["model_type"])
    info = {"model": str(local), "local_dir": str(local), "format": "native (pytorch_model.bin, weights_only)",
            "weights_hash": sha256_files([local / PICKLED])[0], "tokenizer_hash": tokenizer_hash,
            "model_type": config.model_type, "architecture": model_class.__name__, "dtype": dtype, "device": device}
    return LoadedModel(model=network, tokenizer=tokenizer, info=info)


def load_m3(model: str, *, revision: str | None = None, dtype: str = "fp32", device: str = "cpu",
            attn_implementation: str = "sdpa") -> LoadedM3:
    """Encoder and both heads from a hub id (HF cache / hub, offline-safe) or a local directory."""
    if dtype not in TORCH_DTYPES:
        raise CheckpointError(f"dtype {dtype!r}: expected one of {sorted(TORCH_DTYPES)}")
    local, commit = resolve_model_dir(model, revision, allow_patterns=M3_HUB_FILES)
    if not any(local.glob("*.safetensors")) and (local / PICKLED).is_file():
        encoder = _load_pickled_encoder(local, dtype, device, attn_implementation)
    else:
        encoder = load_encoder(str(local), dtype=dtype, device=device, attn_implementation=attn_implementation)
    hidden = encoder.model.config.hidden_size
    sparse, sparse_path = _head(local, "sparse_linear", hidden, 1, TORCH_DTYPES[dtype], device)
    colbert, colbert_path = _head(local, "colbert_linear", hidden, None, TORCH_DTYPES[dtype], device)
    heads_hash, heads_each = sha256_files([sparse_path, colbert_path])
    info = {**encoder.info, "model": model, "revision": revision, "commit": commit, "heads_hash": heads_hash,
            "heads_files": heads_each, "colbert_dim": colbert.out_features}
    encoder = LoadedModel(encoder.model, encoder.tokenizer, info)
    log.info("loaded BGE-M3 %s (colbert dim %d) from %s", model, colbert.out_features, local)
    return LoadedM3(encoder=encoder, sparse_linear=sparse, colbert_linear=colbert, info=info)
