"""The cross-encoder scoring engine: templates, dedupe, cache, one bulk tokenization, token-budget batches.

Scores are batch-invariant: a pair's fp32 score moves by < 1e-5 whatever batch (and padding) it lands in, so
batch size and device are left out of the fingerprint; everything that changes what the model computes is in it.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from evalkit.errors import EvalkitError
from evalkit.rerank.batching import BudgetRunner
from evalkit.rerank.cache import PairCache, pair_key
from evalkit.storage import cache_root

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
TRANSFORMS = ("logit", "sigmoid")


@dataclass(frozen=True)
class EngineSettings:
    max_length: int
    query_max_length: int | None = None    # None: 3/4 of max_length (FlagEmbedding's convention)
    query_template: str = "{query}"
    doc_template: str = "{doc}"
    score_transform: str = "logit"
    batch_tokens: int = 16384
    dtype: str = "fp32"
    device: str = "cpu"

    @property
    def query_budget(self) -> int:
        return self.query_max_length if self.query_max_length is not None else self.max_length * 3 // 4


@dataclass
class EngineStats:
    pairs_requested: int = 0
    unique_pairs: int = 0
    cache_hits: int = 0
    scored: int = 0
    tokens: int = 0
    padded_tokens: int = 0
    batches: int = 0
    wall_seconds: float = 0.0
    budget_changes: int = 0


def _check(settings: EngineSettings, model: torch.nn.Module, n_special: int) -> None:
    s = settings
    if s.score_transform not in TRANSFORMS:
        raise EvalkitError(f"reranker.score_transform: {s.score_transform!r} is not one of {TRANSFORMS}")
    if s.dtype not in DTYPES:
        raise EvalkitError(f"reranker.dtype: {s.dtype!r} is not one of {tuple(DTYPES)}")
    for key, template, field in (("query_template", s.query_template, "query"), ("doc_template", s.doc_template, "doc")):
        try:
            ok = "\0" in template.format(**{field: "\0"})
        except (KeyError, IndexError, ValueError):
            ok = False
        if not ok:
            raise EvalkitError(f"reranker.{key}: {template!r} must contain '{{{field}}}' and no other field")
    if not 0 < s.query_budget < s.max_length - n_special:
        raise EvalkitError(f"reranker.query_max_length: {s.query_budget} leaves no room for a document "
                           f"within reranker.max_length {s.max_length}")
    weights = next(model.parameters()).dtype
    if weights != DTYPES[s.dtype]:
        raise EvalkitError(f"reranker.dtype: {s.dtype} requested but the model's weights are {weights}")
    if model.config.num_labels != 1:
        raise EvalkitError(f"reranker.model: a cross-encoder needs 1 output, this head has {model.config.num_labels}")


ScoreMissing = Callable[[list[tuple[str, str]], list[tuple[str, str]], list[bytes]], np.ndarray]


def cached_scores(pairs: Sequence[tuple[str, str]], settings: EngineSettings, cache: PairCache | None,
                  fingerprint: str, stats: EngineStats, score_missing: ScoreMissing) -> np.ndarray:
    """Scores in input order: templates applied, identical pairs deduped, what the cache holds taken from it,
    the rest from `score_missing(raw pairs, templated pairs, cache keys)`. Shared by every executor."""
    start = time.perf_counter()
    unique: dict[tuple[str, str], int] = {}
    raw: list[tuple[str, str]] = []            # the untemplated pair of each unique one
    where = np.empty(len(pairs), dtype=np.int64)
    for i, (q, d) in enumerate(pairs):
        key = (settings.query_template.format(query=q), settings.doc_template.format(doc=d))
        if key not in unique:
            unique[key] = len(raw)
            raw.append((q, d))
        where[i] = unique[key]
    templated = list(unique)
    keys = [pair_key(q, d) for q, d in templated]
    cached = cache.get_many(fingerprint, keys) if cache is not None else {}
    scores = np.array([cached.get(k, np.nan) for k in keys], dtype=np.float32)
    missing = [i for i, k in enumerate(keys) if k not in cached]
    if missing:
        scores[missing] = score_missing([raw[i] for i in missing], [templated[i] for i in missing],
                                        [keys[i] for i in missing])
    stats.pairs_requested += len(pairs)
    stats.unique_pairs += len(keys)
    stats.cache_hits += len(keys) - len(missing)
    stats.scored += len(missing)
    stats.wall_seconds += time.perf_counter() - start
    return scores[where]


class CrossEncoder:
    """A `Scorer`: score(pairs) -> float32 scores in input order."""

    def __init__(self, model: torch.nn.Module, tokenizer: Any, info: dict[str, Any], settings: EngineSettings,
                 cache: PairCache | None = None, progress: bool | None = None):
        self._prefix, self._middle, self._suffix = _pair_layout(tokenizer)
        _check(settings, model, len(self._prefix) + len(self._middle) + len(self._suffix))
        self.model, self.tokenizer, self.info, self.settings, self.cache = model.eval(), tokenizer, info, settings, cache
        self.stats = EngineStats()
        self._runner = BudgetRunner(settings.batch_tokens, tokenizer.pad_token_id, progress=progress)
        self.fingerprint = self._fingerprint()

    @property
    def provenance(self) -> dict[str, Any]:
        """What a report records next to the scores: the model's info, the resolved settings, the fingerprint."""
        return {**self.info, "settings": asdict(self.settings), "query_budget": self.settings.query_budget,
                "fingerprint": self.fingerprint}

    def _fingerprint(self) -> str:
        s = self.settings
        parts = {"weights_hash": self.info["weights_hash"], "revision": self.info.get("revision"),
                 "tokenizer_hash": self.info["tokenizer_hash"], "model_class": type(self.model).__name__,
                 "max_length": s.max_length, "query_max_length": s.query_budget, "query_template": s.query_template,
                 "doc_template": s.doc_template, "dtype": s.dtype, "score_transform": s.score_transform}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        return cached_scores(pairs, self.settings, self.cache, self.fingerprint, self.stats,
                             lambda raw, templated, keys: self._score_unique(templated, keys))

    def _score_unique(self, pairs: list[tuple[str, str]], keys: list[bytes]) -> np.ndarray:
        seqs = self._token_ids(pairs)
        before = asdict(self._runner.stats)

        def save(idx: np.ndarray, out: np.ndarray) -> None:
            if self.cache is not None:
                self.cache.put_many(self.fingerprint, ((keys[i], v) for i, v in zip(idx, out)))

        out = self._runner.run(seqs, self._forward, on_batch=save, desc="rerank")
        for name, value in asdict(self._runner.stats).items():
            setattr(self.stats, name, getattr(self.stats, name) + value - before[name])
        return out

    def _templated(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        s = self.settings
        return [(s.query_template.format(query=q), s.doc_template.format(doc=d)) for q, d in pairs]

    def encode(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        """The token ids the model reads for each pair (templates applied, special tokens added)."""
        return self._token_ids(self._templated(pairs))

    def _token_ids(self, pairs: list[tuple[str, str]]) -> list[list[int]]:
        """Unique queries and docs tokenized once each; the doc is cut to fit max_length, the query only
        beyond its own budget."""
        s, tok = self.settings, self.tokenizer
        queries, docs = list(dict.fromkeys(q for q, _ in pairs)), list(dict.fromkeys(d for _, d in pairs))
        q_ids = dict(zip(queries, tok(queries, add_special_tokens=False, truncation=True,
                                      max_length=s.query_budget)["input_ids"]))
        d_ids = dict(zip(docs, tok(docs, add_special_tokens=False, truncation=True,
                                   max_length=s.max_length)["input_ids"]))
        specials = len(self._prefix) + len(self._middle) + len(self._suffix)
        seqs = []
        for q, d in pairs:
            q_part = q_ids[q]
            room = s.max_length - specials - len(q_part)
            seqs.append(self._prefix + q_part + self._middle + d_ids[d][:room] + self._suffix)
        return seqs

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        input_ids = input_ids.to(self.settings.device)
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask.to(self.settings.device),
                            token_type_ids=torch.zeros_like(input_ids)).logits[:, 0].float()
        return torch.sigmoid(logits) if self.settings.score_transform == "sigmoid" else logits


def _pair_layout(tokenizer: Any) -> tuple[list[int], list[int], list[int]]:
    """The special tokens a tokenizer puts before, between and after a pair (XLM-R: <s> | </s></s> | </s>),
    read off the tokenizer's own pair encoding of two probe words."""
    a, b = (tokenizer(w, add_special_tokens=False)["input_ids"] for w in ("query", "document"))
    full = tokenizer("query", "document")["input_ids"]
    i = next(k for k in range(len(full)) if full[k:k + len(a)] == a)
    j = next(k for k in range(i + len(a), len(full)) if full[k:k + len(b)] == b)
    return full[:i], full[i + len(a):j], full[j + len(b):]


def resolve_device_dtype(device: str, dtype: str) -> tuple[str, str]:
    """'auto' device: cuda when available, else cpu; 'auto' dtype: fp16 on cuda, fp32 on cpu.

    fp16, not bf16: both GTE and bge-reranker-v2-m3 are published in fp16, and on an H200 fp16 scores stayed within
    0.16 of fp32 (sample nDCG@10 change 0.0003) where bf16 moved them by up to 1.1 (results/bench/gpu-check-*.json).
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        dtype = "fp16" if device.startswith("cuda") else "fp32"
    return device, dtype


def build_cross_encoder(cfg: Any, cache_dir: str | Path | None = None, progress: bool | None = None) -> CrossEncoder:
    """A CrossEncoder from an evalkit.config.RerankerConfig; `max_length: null` becomes the model's own limit."""
    from evalkit.rerank import loading   # imported here: loading pulls in model code this module does not need

    device, dtype = resolve_device_dtype(cfg.device, cfg.dtype)
    loaded = loading.load_cross_encoder(cfg.model, revision=cfg.revision, dtype=dtype, device=device,
                                        attn_implementation=cfg.attn_implementation)
    limit = loading.model_max_length(loaded)
    max_length = cfg.max_length if cfg.max_length is not None else limit
    if max_length > limit:
        raise EvalkitError(f"reranker.max_length: {max_length} exceeds the model's limit of {limit} tokens")
    cache = None
    if cfg.cache:
        root = Path(cache_dir) if cache_dir is not None else cache_root()   # EVALKIT_CACHE, like every cache
        cache = PairCache(cfg.cache_path or root / "pair_scores.sqlite")
    settings = EngineSettings(max_length=max_length, query_max_length=cfg.query_max_length,
                              query_template=cfg.query_template, doc_template=cfg.doc_template,
                              score_transform=cfg.score_transform, batch_tokens=cfg.batch_tokens,
                              dtype=dtype, device=device)
    return CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, settings, cache=cache, progress=progress)
