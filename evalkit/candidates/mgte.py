"""mGTE-TRM (Alibaba-NLP/gte-multilingual-base) as a first stage: `candidates=mgte_dense|mgte_sparse|mgte_dense_sparse`.

Representations as the model's own helper (`gte_embedding.py`, GTEEmbeddidng) computes them, from one forward
pass of the published NewForTokenClassification checkpoint, loaded natively (evalkit.models.loading
.load_gte_token_classifier: the reranker's `new` -> `gte` translation, the `classifier` head kept):
- dense: the CLS hidden state, cut to its first `dimension` values (the MRL option, 768 = all) and L2-normalised;
- sparse: relu(classifier(h)) per token; the cls, eos, pad and unk ids are dropped and, per token, the largest
  weight over its repeats is kept. The helper keys that max by the token's *decoded text*
  (`tokenizer.decode([id])`), so ids that decode alike ("▁de" and "de") are one key: here each id maps to the
  smallest ordinary id decoding to its text, and that key is what the index stores and searches;
- dense+sparse: s_dense * w_d + s_sparse * w_s (compute_scores: dense_weight 1.0, sparse_weight 0.1), not a mean.
Search, the corpus index (resumable shards) and the dense+sparse fusion of the two top-`fusion_depth` lists are
BGE-M3's (evalkit.candidates.m3.index_runs): one sparse search for both models.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from evalkit.candidates import FIRST_STAGES
from evalkit.checks import any_value, at_least, device, existing_path, one_of, optional, setting
from evalkit.config import DTYPES
from evalkit.contracts import Benchmark, Run
from evalkit.errors import EvalkitError

MODES = ("dense", "sparse", "dense_sparse")


def _two_weights(v: list[float]) -> str | None:
    ok = len(v) == 2 and all(float(w) >= 0 for w in v) and sum(map(float, v)) > 0
    return None if ok else "two non-negative weights [dense, sparse], not both zero"


@dataclass
class MgteConfig:
    model: Optional[str] = setting("Alibaba-NLP/gte-multilingual-base", optional(existing_path("model directory")))
    revision: Optional[str] = setting(None, any_value)
    mode: str = setting("dense", one_of(*MODES))
    dimension: Optional[int] = setting(None, optional(at_least(1)))   # dense: first n values (MRL); None = hidden
    weights: list[float] = setting(check=_two_weights, factory=lambda: [1.0, 0.1])   # [dense, sparse]
    max_length: int = setting(8192, at_least(1))        # documents (the helper's encode default)
    query_max_length: int = setting(8192, at_least(1))
    fusion_depth: int = setting(1000, at_least(1))      # dense_sparse: depth of each fused list
    batch_tokens: int = setting(16384, at_least(1))
    dtype: str = setting("auto", one_of(*DTYPES))
    device: str = setting("auto", device)
    shard_docs: int = setting(50_000, at_least(1))      # documents per index shard (the unit of resumption)


def build_mgte_encoder(mgte: Any, progress: bool | None = None):
    """gte-multilingual-base (encoder + sparse head, no remote code) behind M3Encoder's interface."""
    from evalkit.candidates.mgte_encoder import MgteEncoder
    from evalkit.m3.encoder import M3Settings
    from evalkit.m3.loading import LoadedM3
    from evalkit.models.device import resolve_device_dtype
    from evalkit.models.loading import LoadedModel, load_gte_token_classifier, model_max_length

    if not mgte.model:
        raise EvalkitError("candidates.mgte.model: required (a hub id or a local directory)")
    device, dtype = resolve_device_dtype(mgte.device, mgte.dtype)
    loaded = load_gte_token_classifier(mgte.model, revision=mgte.revision, dtype=dtype, device=device)
    limit = model_max_length(loaded)
    for key in ("max_length", "query_max_length"):
        if not 0 < getattr(mgte, key) <= limit:
            raise EvalkitError(f"candidates.mgte.{key}={getattr(mgte, key)}: must be in 1..{limit} "
                               f"(the model's positions)")
    info = {**loaded.info, "dtype": dtype, "heads_hash": loaded.info["weights_hash"]}   # the head is in the weights
    encoder = LoadedModel(loaded.model.gte, loaded.tokenizer, info)
    m3 = LoadedM3(encoder=encoder, sparse_linear=loaded.model.classifier, colbert_linear=None, info=info)
    settings = M3Settings(mgte.max_length, mgte.query_max_length, mgte.batch_tokens, device)
    return MgteEncoder(m3, settings, mgte.dimension, progress=progress)


def _check(cfg: Any) -> None:
    mgte = cfg.mgte
    if mgte.mode not in MODES:
        raise EvalkitError(f"candidates.mgte.mode={mgte.mode!r} is not one of {MODES}")
    problem = _two_weights(list(mgte.weights))
    if problem:
        raise EvalkitError(f"candidates.mgte.weights={list(mgte.weights)}: {problem}")
    if mgte.fusion_depth < cfg.depth:
        raise EvalkitError(f"candidates.mgte.fusion_depth={mgte.fusion_depth} is below candidates.depth={cfg.depth}")


@FIRST_STAGES.register("mgte", config=MgteConfig)
def mgte_candidates(benchmark: Benchmark, cfg: Any, executor: Any = None,
                    cache_dir: Path | None = None, encoder=None) -> dict[str, Run]:
    """mGTE-TRM (gte-multilingual-base) dense, sparse or dense+sparse over one corpus index."""
    from evalkit.candidates.m3 import index_runs

    _check(cfg)
    wd, ws = (float(w) for w in cfg.mgte.weights)
    if encoder is None:     # executor=ray: BGE-M3's actor pool encodes the corpus, with this model
        encoder = (executor.m3_encoder(cfg, section="mgte", build=build_mgte_encoder) if executor is not None
                   else build_mgte_encoder(cfg.mgte))
    with executor.session() if executor is not None else nullcontext():
        return index_runs(benchmark, cfg, cfg.mgte, encoder, cache_dir, lambda d, s: wd * d + ws * s, "mgte")
