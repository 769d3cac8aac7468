"""jinaai/jina-reranker-v2-base-multilingual on transformers' native `XLMRobertaForSequenceClassification`.

The published checkpoint is written for jinaai's remote code ("xlm-roberta-flash-implementation", flash-attn's
BERT adapted to XLM-R): its config.json has no `model_type`, only an `auto_map` to `XLMRobertaFlashConfig`, and its
tensors carry flash-attn's module names (`mixer.Wqkv`, `mlp.fc1`, `norm1`, `emb_ln`). The computation is XLM-R's
own: post-LN blocks, exact GELU, absolute positions counted from `pad_token_id + 1` over non-pad tokens, one
token type, and the RoBERTa classification head (dense, tanh, out_proj on `<s>`). So the config is translated,
the tensors renamed, and the fused `Wqkv` rows split into query, key, value (in that order); options the native
class cannot express (rotary positions, LoRA adapters, a padded vocabulary) are refused. Facts: docs/jina.md.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from transformers import XLMRobertaConfig

from evalkit.errors import EvalkitError

FLASH_CONFIG = "XLMRobertaFlashConfig"
# XLMRobertaFlashConfig's own defaults, for keys a config.json leaves out
FLASH_DEFAULTS = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                  "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
                  "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
                  "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 1, "bos_token_id": 0,
                  "eos_token_id": 2, "classifier_dropout": None}
# the original code uses exact GELU for "gelu" and the tanh approximation for the other three names
GELU = {"gelu": "gelu", "gelu_new": "gelu_pytorch_tanh", "gelu_fast": "gelu_pytorch_tanh",
        "gelu_pytorch_tanh": "gelu_pytorch_tanh"}
RENAMES = [
    (r"^roberta\.emb_ln\.", "roberta.embeddings.LayerNorm."),
    (r"^roberta\.encoder\.layers\.(\d+)\.mixer\.out_proj\.", r"roberta.encoder.layer.\1.attention.output.dense."),
    (r"^roberta\.encoder\.layers\.(\d+)\.norm1\.", r"roberta.encoder.layer.\1.attention.output.LayerNorm."),
    (r"^roberta\.encoder\.layers\.(\d+)\.mlp\.fc1\.", r"roberta.encoder.layer.\1.intermediate.dense."),
    (r"^roberta\.encoder\.layers\.(\d+)\.mlp\.fc2\.", r"roberta.encoder.layer.\1.output.dense."),
    (r"^roberta\.encoder\.layers\.(\d+)\.norm2\.", r"roberta.encoder.layer.\1.output.LayerNorm."),
]
WQKV = re.compile(r"^roberta\.encoder\.layers\.(\d+)\.mixer\.Wqkv\.(weight|bias)$")


def is_original(raw: dict[str, Any]) -> bool:
    """A config.json written for jinaai's flash implementation (auto_map's AutoConfig is XLMRobertaFlashConfig)."""
    auto_config = str((raw.get("auto_map") or {}).get("AutoConfig", ""))
    return auto_config.rsplit(".", 1)[-1] == FLASH_CONFIG


def native_config(raw: dict[str, Any], source: str = "config.json") -> XLMRobertaConfig:
    """The native xlm-roberta config that computes what the original one does; refuses what it cannot express."""
    cfg = {**FLASH_DEFAULTS, **raw}
    refuse = {"position_embedding_type": cfg.get("position_embedding_type", "absolute") != "absolute",
              "lora_adaptations": bool(cfg.get("lora_adaptations")),
              "pad_vocab_size_multiple": cfg.get("pad_vocab_size_multiple", 1) != 1,
              "last_layer_subset": bool(cfg.get("last_layer_subset", False)),
              "hidden_act": cfg["hidden_act"] not in GELU}
    for key, bad in refuse.items():
        if bad:
            raise EvalkitError(f"{source}: `{key}: {cfg[key]!r}` has no equivalent in transformers' native "
                               f"xlm-roberta (evalkit never runs the repository's code)")
    labels = int(cfg.get("num_labels") or len(cfg.get("id2label") or {}) or 1)
    kept = {key: cfg[key] for key in FLASH_DEFAULTS}
    kept["hidden_act"] = GELU[cfg["hidden_act"]]
    return XLMRobertaConfig(**kept, num_labels=labels, position_embedding_type="absolute",
                            architectures=["XLMRobertaForSequenceClassification"])


def native_state(weights: list[Path], config: XLMRobertaConfig) -> dict[str, torch.Tensor]:
    """The safetensors' tensors under native names; a name this mapping does not know is passed on unchanged, so
    the loader's report lists it as unexpected (and refuses the checkpoint)."""
    hidden = config.hidden_size
    state: dict[str, torch.Tensor] = {}
    for path in weights:
        with safe_open(str(path), framework="pt") as fh:
            for name in fh.keys():
                tensor = fh.get_tensor(name)
                fused = WQKV.match(name)
                if fused is None:
                    for pattern, repl in RENAMES:
                        name = re.sub(pattern, repl, name)
                    state[name] = tensor
                    continue
                if tensor.shape[0] != 3 * hidden:
                    raise EvalkitError(f"{path}: {name} has {tensor.shape[0]} rows; expected 3 x hidden_size "
                                       f"= {3 * hidden} (query, key, value)")
                layer, kind = fused.groups()
                for part, rows in zip(("query", "key", "value"), tensor.split(hidden, dim=0)):
                    state[f"roberta.encoder.layer.{layer}.attention.self.{part}.{kind}"] = rows.contiguous()
    return state
