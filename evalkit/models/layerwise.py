"""bge-reranker-v2-minicpm-layerwise on transformers' native Llama classes (never the repository's remote code).

MiniCPM differs from Llama only by three constant scales, folded exactly into the weights at load time
(facts from FlagEmbedding 1.4.2's bundled modeling_minicpm_reranker.py):
  - embeddings are multiplied by `scale_emb`                    -> embed_tokens.weight * scale_emb
  - each residual branch is multiplied by scale_depth/sqrt(L)   -> o_proj and down_proj * scale_depth/sqrt(L)
Folding keeps LlamaDecoderLayer, LlamaRMSNorm and LlamaRotaryEmbedding unmodified, so SDPA/flash kernels and
dtype handling are transformers' own; a wrapper around the layers could not scale the residual branch.

Scoring (`head_type: "simple"`, `head_multi: true`): the hidden state after `c` layers (c in [start_layer, L]) goes
through the final norm and then through head `c - start_layer`, a Linear(hidden, 1); the score is read at the last
real token. The simple head is applied to the normed state as is: the reference divides by
hidden_size/dim_model_base only for its "raw"/"complex" heads.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from torch import nn
from transformers import LlamaConfig, LlamaModel
from transformers.masking_utils import create_causal_mask
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from evalkit.errors import EvalkitError
from evalkit.models.device import torch_dtype
from evalkit.models.loading import (CheckpointError, _read_config, _weights_files, load_tokenizer, quiet_transformers,
                                    resolve_model_dir, sha256_files)

logger = logging.getLogger(__name__)

CUTOFF_KEY = "reranker.llm.cutoff_layers"
COPIED_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "hidden_act", "max_position_embeddings", "rms_norm_eps", "attention_bias", "bos_token_id",
               "eos_token_id", "pad_token_id")


def native_config(raw: dict[str, Any], source: str) -> tuple[LlamaConfig, dict[str, Any]]:
    """The LlamaConfig for a layer-wise MiniCPM config.json, and its MiniCPM-only settings; refuses what the
    native classes cannot express."""
    if raw.get("model_type") != "minicpm":
        raise CheckpointError(f"{source}: model_type {raw.get('model_type')!r} is not a layer-wise MiniCPM ('minicpm')")
    if raw.get("head_type", "simple") != "simple" or raw.get("head_multi", True) is not True:
        raise CheckpointError(f"{source}: head_type {raw.get('head_type')!r} / head_multi {raw.get('head_multi')!r}: "
                              f"only the published layout (head_type 'simple', head_multi true) is supported")
    if raw.get("rope_scaling") is not None:
        raise CheckpointError(f"{source}: rope_scaling {raw['rope_scaling']!r} is not supported (null only)")
    layers = int(raw["num_hidden_layers"])
    extra = {"start_layer": int(raw.get("start_layer", 8)), "scale_emb": float(raw.get("scale_emb", 1)),
             "scale_depth": float(raw.get("scale_depth", 1)), "dim_model_base": raw.get("dim_model_base", 1)}
    if not 0 < extra["start_layer"] <= layers:
        raise CheckpointError(f"{source}: start_layer {extra['start_layer']} outside [1, {layers}]")
    config = LlamaConfig(**{k: raw[k] for k in COPIED_KEYS if k in raw},
                         num_key_value_heads=raw.get("num_key_value_heads") or raw["num_attention_heads"],
                         rope_parameters={"rope_type": "default", "rope_theta": float(raw.get("rope_theta", 10000.0))},
                         mlp_bias=False, tie_word_embeddings=False, use_cache=False,
                         architectures=["LayerwiseReranker"], **extra)
    return config, extra


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last real token (left padding: the last column; right padding works too)."""
    return attention_mask.shape[1] - 1 - attention_mask.flip(-1).argmax(-1)


class LayerwiseReranker(nn.Module):
    """A LlamaModel (embed_tokens, layers, norm, rotary_emb) with one Linear(hidden, 1) head per cutoff layer."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self.start_layer = int(config.start_layer)
        self.model = LlamaModel(config)
        heads = config.num_hidden_layers - self.start_layer + 1
        self.heads = nn.ModuleList(nn.Linear(config.hidden_size, 1, bias=False) for _ in range(heads))

    def check_cutoffs(self, cutoff_layers: list[int]) -> list[int]:
        low, high = self.start_layer, self.config.num_hidden_layers
        bad = [c for c in cutoff_layers if isinstance(c, bool) or not isinstance(c, int) or not low <= c <= high]
        if not cutoff_layers or bad:
            raise EvalkitError(f"{CUTOFF_KEY}: {list(cutoff_layers)!r} must be a non-empty list of layers in "
                               f"[{low}, {high}] (this checkpoint's start_layer and num_hidden_layers)")
        return list(cutoff_layers)

    @torch.inference_mode()
    def layer_scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     cutoff_layers: list[int]) -> torch.Tensor:
        """float32 scores (batch, len(cutoff_layers)) at each row's last real token; runs max(cutoff_layers) layers.

        Positions count real tokens only, so a sequence scores the same whatever its padding and batch mates.
        """
        cutoffs = self.check_cutoffs(cutoff_layers)
        wanted = set(cutoffs)
        model = self.model
        hidden = model.embed_tokens(input_ids)
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        mask = create_causal_mask(config=self.config, inputs_embeds=hidden, attention_mask=attention_mask,
                                  cache=None, position_ids=position_ids)
        rope = model.rotary_emb(hidden, position_ids=position_ids)
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        last = last_token_index(attention_mask)
        scores: dict[int, torch.Tensor] = {}
        for done in range(max(cutoffs) + 1):
            if done in wanted:
                state = model.norm(hidden[rows, last])
                scores[done] = self.heads[done - self.start_layer](state).float().squeeze(-1)
            if done < max(cutoffs):
                hidden = model.layers[done](hidden, attention_mask=mask, position_ids=position_ids,
                                            position_embeddings=rope)
        return torch.stack([scores[c] for c in cutoffs], dim=1)


UNUSED = {"lm_head.weight"}   # saved by the reference when tie_word_embeddings (its default) tied the embeddings


def _native_name(name: str) -> str | None:
    """The LayerwiseReranker name for a published tensor name (None: not part of the reranker)."""
    if name.startswith("model."):
        return name
    if name.startswith("lm_head.") and name.endswith(".linear_head.weight"):
        return "heads." + name.removeprefix("lm_head.").removesuffix(".linear_head.weight") + ".weight"
    return None


def fold_scales(name: str, tensor: torch.Tensor, extra: dict[str, Any], layers: int) -> torch.Tensor:
    """MiniCPM's embedding and residual scales folded into the tensors that feed them (see the module docstring)."""
    if name == "model.embed_tokens.weight":
        return tensor * extra["scale_emb"]
    if name.endswith(("self_attn.o_proj.weight", "self_attn.o_proj.bias", "mlp.down_proj.weight")):
        return tensor * (extra["scale_depth"] / math.sqrt(layers))
    return tensor


def _read_state(weights: list[Path], config: LlamaConfig, extra: dict[str, Any],
                dtype: torch.dtype) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for path in weights:
        with safe_open(str(path), framework="pt") as fh:
            for name in fh.keys():
                if name in UNUSED:
                    continue
                native = _native_name(name)
                if native is None:
                    raise CheckpointError(f"{path}: unexpected tensor {name!r} for a layer-wise MiniCPM reranker")
                if native in state:
                    raise CheckpointError(f"{path}: tensor {name!r} appears in more than one weights file")
                tensor = fh.get_tensor(name).to(torch.float32)
                state[native] = fold_scales(name, tensor, extra, config.num_hidden_layers).to(dtype)
    return state


def load_layerwise(model: str, revision: str | None = None, dtype: torch.dtype | str = torch.float32,
                   device: str = "cpu", attn_implementation: str = "sdpa",
                   tokenizer: bool = True) -> tuple[LayerwiseReranker, Any, dict[str, Any]]:
    """Load a bge-reranker-v2-minicpm-layerwise checkpoint (config.json + *.safetensors) in eval mode, and its
    tokenizer (left padding; None when `tokenizer` is false)."""
    if isinstance(dtype, str):
        dtype = torch_dtype(dtype)
    local, commit = resolve_model_dir(model, revision)
    raw = _read_config(local)
    weights = _weights_files(local)
    config, extra = native_config(raw, str(local / "config.json"))
    config._attn_implementation = attn_implementation
    state = _read_state(weights, config, extra, dtype)
    with torch.device("meta"):
        network = LayerwiseReranker(config)
    expected = set(network.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointError(f"{local}: tensors do not match a layer-wise MiniCPM of {config.num_hidden_layers} "
                              f"layers from start_layer {extra['start_layer']}: missing {missing[:6]}, "
                              f"unexpected {unexpected[:6]}")
    shapes = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    wrong = [k for k in sorted(state) if tuple(state[k].shape) != shapes[k]]
    if wrong:
        raise CheckpointError(f"{local}: tensor {wrong[0]} has shape {tuple(state[wrong[0]].shape)}, the config "
                              f"gives {shapes[wrong[0]]}")
    network.load_state_dict(state, strict=True, assign=True)
    network.model.rotary_emb = LlamaRotaryEmbedding(config)   # its buffers are not in the checkpoint
    network.to(device).eval()
    tok, tokenizer_hash = None, None
    if tokenizer:
        with quiet_transformers():
            tok, tokenizer_hash = load_tokenizer(local, "minicpm", padding_side="left")
    info = {"model": model, "local_dir": str(local), "revision": revision, "commit": commit,
            "weights_hash": sha256_files(weights)[0], "tokenizer_hash": tokenizer_hash,
            "format": "minicpm-layerwise", "model_type": "minicpm",
            "architecture": "LayerwiseReranker", "num_hidden_layers": config.num_hidden_layers,
            "start_layer": extra["start_layer"], "scale_emb": extra["scale_emb"], "scale_depth": extra["scale_depth"],
            "max_position_embeddings": config.max_position_embeddings, "attn_implementation": attn_implementation,
            "dtype": str(dtype).removeprefix("torch."), "device": device}
    logger.info("loaded %s (layer-wise MiniCPM, %d layers, heads from layer %d) from %s", model,
                config.num_hidden_layers, extra["start_layer"], local)
    return network, tok, info
