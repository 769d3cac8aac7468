"""Cross-encoder loading from a hub id or a local directory, with transformers' native classes only.

The original gte-multilingual checkpoints (`model_type: "new"`) point at remote code; evalkit never runs it.
Their config is translated to the native `gte` one (PROTOCOLS.md, "Known conversion facts") and transformers'
own conversion table renames and splits the original tensors. Any missing or unexpected tensor is an error.
"""
from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import constants as hub_constants
from huggingface_hub import snapshot_download
from huggingface_hub.errors import (HFValidationError, HfHubHTTPError, LocalEntryNotFoundError,
                                    RepositoryNotFoundError, RevisionNotFoundError)
from transformers import (AutoTokenizer, GteConfig, GteForSequenceClassification, GteForTokenClassification, GteModel,
                          PreTrainedTokenizerFast, XLMRobertaForSequenceClassification, XLMRobertaTokenizerFast)
from transformers.models.auto.configuration_auto import CONFIG_MAPPING
from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING, MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING,
                                                    MODEL_MAPPING)
from transformers.utils import logging as hf_logging

from evalkit.errors import EvalkitError
from evalkit.models import jina
from evalkit.models.device import torch_dtype

logger = logging.getLogger(__name__)

HUB_FILES = ["*.json", "*.safetensors", "*.model", "tokenizer*"]   # configs, weights, sentencepiece/tokenizer files
XLMR_TOKENIZER_TYPES = {"new", "gte", "xlm-roberta"}
ROBERTA_POSITIONS = {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert"}   # positions start at pad_token_id + 1
ORIGINAL_ONLY_KEYS = ("rope_scaling", "rope_theta", "auto_map", "pack_qkv", "unpad_inputs",
                      "use_memory_efficient_attention", "logn_attention_scale", "logn_attention_clip1",
                      "layer_norm_type", "position_embedding_type")


class ModelUnavailableError(EvalkitError, RuntimeError):
    """The model is neither a local directory nor resolvable through the HF cache / hub."""


class CheckpointError(EvalkitError, ValueError):
    """The checkpoint cannot be loaded faithfully (remote code, pickle weights, tensors that do not match)."""


@contextmanager
def quiet_transformers():
    """transformers' own progress bars ("Loading weights: 0%") and notices off while evalkit loads a model: they
    would land in every log; evalkit checks the loading report itself and logs what it loaded."""
    bars, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


@dataclass(frozen=True)
class LoadedModel:
    model: torch.nn.Module        # eval mode, on the requested device
    tokenizer: Any                # fast tokenizer, right padding
    info: dict[str, Any]          # provenance: ids, hashes, format, limits, dtype


def resolve_model_dir(model: str, revision: str | None = None,
                      allow_patterns: list[str] | None = None) -> tuple[Path, str | None]:
    """Local directory and commit (when it is a hub snapshot) for a local path or a hub id (fetching the files
    `allow_patterns` matches, HUB_FILES by default)."""
    path = Path(model).expanduser()
    if path.is_dir():
        commit = path.name if path.parent.name == "snapshots" else None
        if revision is not None and revision != commit:
            raise ValueError(f"{model}: revision {revision!r} applies to hub ids, not to a local directory")
        return path.resolve(), commit
    if path.is_absolute() or model.startswith((".", "~")):
        raise ModelUnavailableError(f"{model}: no such local directory")
    try:
        local = Path(snapshot_download(model, revision=revision, allow_patterns=allow_patterns or HUB_FILES))
    except (LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError, HFValidationError,
            HfHubHTTPError) as err:
        raise ModelUnavailableError(_unavailable_message(model, revision, err)) from err
    return local, local.name


def _unavailable_message(model: str, revision: str | None, err: Exception) -> str:
    if isinstance(err, LocalEntryNotFoundError):
        reason = "not in the HF cache and the hub cannot be reached (no network or HF_HUB_OFFLINE=1)"
    elif isinstance(err, RevisionNotFoundError):
        reason = f"revision {revision!r} not found on the hub"
    elif isinstance(err, RepositoryNotFoundError):
        reason = "no such hub repository (or it is gated/private and no token is set)"
    elif isinstance(err, HFValidationError):
        reason = "neither an existing local directory nor a valid hub id"
    else:
        reason = f"hub request failed: {str(err).splitlines()[0]}"
    return (f"model {model!r} is unavailable: {reason} (HF cache: {hub_constants.HF_HUB_CACHE}); run with a local "
            f"copy: reranker.model=/path/to/dir, made on a machine with network by "
            f"`hf download {model} --local-dir DIR`")


def native_gte_config(original: dict[str, Any], source: str = "config.json") -> dict[str, Any]:
    """The native `gte` config for an original `model_type: "new"` one; refuses options gte cannot express."""
    cfg = dict(original)
    refuse = {"position_embedding_type": cfg.get("position_embedding_type", "rope") != "rope",
              "pack_qkv": cfg.get("pack_qkv", True) is not True,
              "layer_norm_type": cfg.get("layer_norm_type", "layer_norm") != "layer_norm",
              "logn_attention_scale": bool(cfg.get("logn_attention_scale", False))}
    for key, bad in refuse.items():
        if bad:
            raise CheckpointError(f"{source}: `{key}: {cfg[key]!r}` has no equivalent in transformers' native gte")
    theta = float(cfg.get("rope_theta", 10000.0))
    scaling = cfg.get("rope_scaling")
    head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
    if scaling is None:
        rope = {"rope_type": "default", "rope_theta": theta}
    else:
        if scaling.get("type") != "ntk":
            raise CheckpointError(f"{source}: `rope_scaling.type: {scaling.get('type')!r}` is not supported (ntk only)")
        if scaling.get("mixed_b") is not None:
            raise CheckpointError(f"{source}: `rope_scaling.mixed_b` has no equivalent in transformers' native gte")
        factor = float(scaling["factor"])
        if factor < 1.0:
            raise CheckpointError(f"{source}: `rope_scaling.factor: {factor}` < 1 is not supported")
        # original NTK: base * f and inverse frequencies / f**(2/head_dim) == linear scaling on base * f
        rope = {"rope_type": "linear", "rope_theta": theta * factor, "factor": factor ** (2 / head_dim)}
    for key in ORIGINAL_ONLY_KEYS:
        cfg.pop(key, None)
    cfg["model_type"] = "gte"
    cfg["architectures"] = [a.replace("New", "Gte", 1) for a in cfg.get("architectures") or []]
    cfg["rope_parameters"] = rope
    return cfg


def _read_config(local: Path) -> dict[str, Any]:
    path = local / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from err


def _weights_files(local: Path) -> list[Path]:
    files = sorted(local.glob("*.safetensors"))
    if not files:
        pickles = sorted(p.name for p in local.glob("*.bin"))
        if pickles:
            raise CheckpointError(f"{local}: only PyTorch pickle weights ({', '.join(pickles)}); evalkit loads "
                                  f"safetensors only (convert them with safetensors.torch.save_file)")
        raise CheckpointError(f"{local}: no *.safetensors weights file")
    return files


def _model_class_and_config(local: Path, raw: dict[str, Any]) -> tuple[type, Any, str]:
    model_type = raw.get("model_type")
    source = str(local / "config.json")
    if model_type == "new":
        return GteForSequenceClassification, GteConfig.from_dict(native_gte_config(raw, source)), "original"
    if model_type not in CONFIG_MAPPING:
        if "auto_map" in raw:
            raise CheckpointError(f"{source}: model_type {model_type!r} needs the repository's remote code "
                                  f"(auto_map), which evalkit refuses to run")
        raise CheckpointError(f"{source}: model_type {model_type!r} is unknown to this transformers version")
    if "auto_map" in raw:
        logger.warning("%s: ignoring auto_map; loading transformers' native %r classes", source, model_type)
    config = CONFIG_MAPPING[model_type].from_pretrained(local)
    try:
        model_class = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(config)]
    except KeyError:
        raise CheckpointError(f"{source}: model_type {model_type!r} has no sequence-classification class") from None
    return model_class, config, "native"


def _check_loading_report(report: dict[str, Any], local: Path, model_class: type) -> None:
    problems = []
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        names = sorted(str(k) for k in report.get(kind) or ())
        if names:
            shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
            problems.append(f"{kind.replace('_keys', '')}: {shown}")
    if problems:
        raise CheckpointError(f"{local}: tensors do not match {model_class.__name__}: {'; '.join(problems)}")


def sha256_files(paths: list[Path]) -> tuple[str, dict[str, str]]:
    """sha256 of the files' bytes concatenated in name order (= `cat files | sha256sum`), and of each file."""
    combined, each = hashlib.sha256(), {}
    for path in paths:
        single = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 24):
                combined.update(chunk)
                single.update(chunk)
        each[path.name] = single.hexdigest()
    return combined.hexdigest(), each


def load_tokenizer(local: Path, model_type: str, padding_side: str = "right") -> tuple[Any, str]:
    tokenizer_json = local / "tokenizer.json"
    if model_type in XLMR_TOKENIZER_TYPES and tokenizer_json.is_file():
        # tokenizer.json exactly as published (XLMRobertaTokenizerFast rebuilds it and treats literal "<s>" in text
        # differently); AutoTokenizer would follow the original folder's auto_map to remote code. Not Mistral's
        # regex: transformers guesses so (and warns) for a config.json without model_type, as jina-reranker-v2's
        tokenizer = PreTrainedTokenizerFast.from_pretrained(local, fix_mistral_regex=False)
    elif model_type in XLMR_TOKENIZER_TYPES:
        tokenizer = XLMRobertaTokenizerFast.from_pretrained(local)       # built from sentencepiece.bpe.model
    else:
        tokenizer = AutoTokenizer.from_pretrained(local, use_fast=True, trust_remote_code=False)   # never prompts
    if tokenizer.is_fast and tokenizer.pad_token_id is None and padding_side == "left" and tokenizer.eos_token:
        tokenizer.pad_token = tokenizer.eos_token   # a causal LM reads the last position: pads are masked anyway
    if not tokenizer.is_fast or tokenizer.pad_token_id is None:
        raise CheckpointError(f"{local}: the tokenizer files give no fast tokenizer with a padding token")
    tokenizer.padding_side = padding_side   # encoders' poolers read position 0; causal LMs the last one
    digest = (sha256_files([tokenizer_json])[0] if tokenizer_json.is_file()
              else hashlib.sha256(tokenizer.backend_tokenizer.to_str().encode()).hexdigest())
    return tokenizer, digest


def load_cross_encoder(model: str, *, revision: str | None = None, dtype: torch.dtype | str = torch.float32,
                       device: str = "cpu", attn_implementation: str = "sdpa") -> LoadedModel:
    """Load a `*ForSequenceClassification` cross-encoder and its tokenizer; never runs repository code."""
    if isinstance(dtype, str):
        dtype = torch_dtype(dtype)
    local, commit = resolve_model_dir(model, revision)
    raw = _read_config(local)
    weights = _weights_files(local)
    state = None
    if jina.is_original(raw):   # jina-reranker-v2's config.json has no model_type: tensors renamed and split here
        config = jina.native_config(raw, str(local / "config.json"))
        model_class, fmt, state = XLMRobertaForSequenceClassification, "original", jina.native_state(weights, config)
    else:
        model_class, config, fmt = _model_class_and_config(local, raw)
    return _load_checked(model, revision, local, commit, weights, model_class, config, fmt, dtype, device,
                         attn_implementation, config.model_type, "right", state)


def _load_checked(model: str, revision: str | None, local: Path, commit: str | None, weights: list[Path],
                  model_class: type, config: Any, fmt: str, dtype: torch.dtype, device: str, attn_implementation: str,
                  model_type: str, padding_side: str, state: dict[str, Any] | None = None) -> LoadedModel:
    """from_pretrained (of `local`, or of `state` translated from it) with every tensor accounted for, the
    tokenizer, and the provenance of both."""
    with quiet_transformers():
        network, report = model_class.from_pretrained(None if state is not None else local, config=config,
                                                      state_dict=state, dtype=dtype, use_safetensors=True,
                                                      attn_implementation=attn_implementation,
                                                      output_loading_info=True)
    _check_loading_report(report, local, model_class)
    network.to(device).eval()
    tokenizer, tokenizer_hash = load_tokenizer(local, model_type, padding_side=padding_side)
    weights_hash, weights_each = sha256_files(weights)
    info = {"model": model, "local_dir": str(local), "revision": revision, "commit": commit,
            "weights_hash": weights_hash, "weights_files": weights_each, "tokenizer_hash": tokenizer_hash,
            "format": fmt, "model_type": network.config.model_type, "architecture": model_class.__name__,
            "max_position_embeddings": getattr(network.config, "max_position_embeddings", None),
            "attn_implementation": network.config._attn_implementation, "dtype": str(dtype).removeprefix("torch."),
            "device": device}
    logger.info("loaded %s (%s, %s format) from %s", model, model_class.__name__, fmt, local)
    return LoadedModel(model=network, tokenizer=tokenizer, info=info)


def load_causal_lm(model: str, *, revision: str | None = None, dtype: torch.dtype | str = torch.float32,
                   device: str = "cpu", attn_implementation: str = "sdpa") -> LoadedModel:
    """Load a native `*ForCausalLM` (Qwen3, Qwen2, Gemma, Llama, ...) and its tokenizer (left padding) for a
    yes/no reranker; never runs repository code, safetensors only, every tensor accounted for."""
    if isinstance(dtype, str):
        dtype = torch_dtype(dtype)
    local, commit = resolve_model_dir(model, revision)
    raw = _read_config(local)
    weights = _weights_files(local)
    model_type, source = raw.get("model_type"), str(local / "config.json")
    if model_type not in CONFIG_MAPPING:
        why = "needs the repository's remote code (auto_map), which evalkit refuses to run" if "auto_map" in raw \
            else "is unknown to this transformers version"
        raise CheckpointError(f"{source}: model_type {model_type!r} {why}")
    config = CONFIG_MAPPING[model_type].from_pretrained(local)
    try:
        model_class = MODEL_FOR_CAUSAL_LM_MAPPING[type(config)]
    except KeyError:
        raise CheckpointError(f"{source}: model_type {model_type!r} has no causal-LM class") from None
    return _load_checked(model, revision, local, commit, weights, model_class, config, "native", dtype, device,
                         attn_implementation, model_type, "left")


def load_encoder(model: str, *, revision: str | None = None, dtype: str = "fp32", device: str = "cpu",
                 attn_implementation: str = "sdpa") -> LoadedModel:
    """Load a bare encoder (`AutoModel`'s class; original gte as native `GteModel`) for dense retrieval.

    Same checks as load_cross_encoder; an unused BERT pooler (`pooler.*`) may be absent or extra.
    """
    local, commit = resolve_model_dir(model, revision)
    raw = _read_config(local)
    weights = _weights_files(local)
    model_type = raw.get("model_type")
    if model_type == "new":
        model_class, config, fmt = GteModel, GteConfig.from_dict(native_gte_config(raw, str(local))), "original"
    elif model_type in CONFIG_MAPPING:
        config = CONFIG_MAPPING[model_type].from_pretrained(local)
        model_class, fmt = MODEL_MAPPING[type(config)], "native"
    else:
        raise CheckpointError(f"{local / 'config.json'}: model_type {model_type!r} is unknown to this transformers "
                              f"version (evalkit never runs repository code)")
    with quiet_transformers():
        network, report = model_class.from_pretrained(local, config=config, dtype=torch_dtype(dtype),
                                                      use_safetensors=True, attn_implementation=attn_implementation,
                                                      output_loading_info=True)
    # an unused BERT pooler may be absent or extra; gte-multilingual-base ships its sparse head (`classifier.*`,
    # read by candidates=mgte_*) in the same file, and dense retrieval does not use it
    extra = ("pooler.", "classifier.") if fmt == "original" else ("pooler.",)
    report = {kind: [k for k in report.get(kind) or ()
                     if not str(k).startswith(extra if kind == "unexpected_keys" else ("pooler.",))]
              for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    _check_loading_report(report, local, model_class)
    network.to(device).eval()
    tokenizer, tokenizer_hash = load_tokenizer(local, model_type)
    info = {"model": model, "local_dir": str(local), "revision": revision, "commit": commit, "format": fmt,
            "weights_hash": sha256_files(weights)[0], "tokenizer_hash": tokenizer_hash,
            "model_type": network.config.model_type, "architecture": model_class.__name__, "dtype": dtype,
            "device": device}
    logger.info("loaded encoder %s (%s, %s format) from %s", model, model_class.__name__, fmt, local)
    return LoadedModel(model=network, tokenizer=tokenizer, info=info)


def load_gte_token_classifier(model: str, *, revision: str | None = None, dtype: torch.dtype | str = torch.float32,
                               device: str = "cpu", attn_implementation: str = "sdpa") -> LoadedModel:
    """gte-multilingual-base as published (`new` encoder under `new.`, `classifier` Linear(hidden, 1): the sparse
    head) as native `GteForTokenClassification`; one output whatever the config's label maps say."""
    if isinstance(dtype, str):
        dtype = torch_dtype(dtype)
    local, commit = resolve_model_dir(model, revision)
    raw = _read_config(local)
    weights = _weights_files(local)
    source = str(local / "config.json")
    if raw.get("model_type") not in ("new", "gte"):
        raise CheckpointError(f"{source}: model_type {raw.get('model_type')!r} is not gte-multilingual's "
                              f"('new' or 'gte')")
    fmt = "original" if raw["model_type"] == "new" else "native"
    native = native_gte_config(raw, source) if fmt == "original" else dict(raw)
    for key in ("id2label", "label2id", "num_labels"):      # published without label maps: one output regardless
        native.pop(key, None)
    config = GteConfig.from_dict({**native, "num_labels": 1})
    return _load_checked(model, revision, local, commit, weights, GteForTokenClassification, config, fmt, dtype,
                         device, attn_implementation, "new", "right")


def model_max_length(loaded: LoadedModel) -> int:
    """The longest input the model's position table allows (xlm-roberta: 8194 positions -> 8192 tokens)."""
    config = loaded.model.config
    limit = int(config.max_position_embeddings)
    if config.model_type in ROBERTA_POSITIONS:
        limit -= int(config.pad_token_id) + 1
    return limit
