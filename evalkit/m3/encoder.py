"""Texts -> BGE-M3's three representations from one forward pass, as FlagEmbedding's M3Embedder computes them.

- dense: the [CLS] hidden state, L2-normalised;
- sparse (lexical weights): ReLU(sparse_linear(h)) per token; a token id repeated in the text keeps its largest
  weight; the cls, eos, pad and unk ids and zero weights are dropped;
- multi-vector: colbert_linear over every token but [CLS] (the final </s> included), each vector L2-normalised.
Heads run in the model's dtype, as FlagEmbedding runs them, and results come back as float32. Texts go through
the shared token-budget batching (evalkit.models.batching.BudgetRunner), longest first.
"""
from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from evalkit.errors import EvalkitError
from evalkit.m3.loading import LoadedM3
from evalkit.models import loading
from evalkit.models.batching import BudgetRunner


@dataclass(frozen=True)
class SparseWeights:
    """Lexical weights of n texts as CSR rows: row i is ids[indptr[i]:indptr[i+1]] (sorted) with its weights."""
    indptr: np.ndarray    # int64, n + 1
    ids: np.ndarray       # int32
    weights: np.ndarray   # float32

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.indptr[i], self.indptr[i + 1]
        return self.ids[a:b], self.weights[a:b]

    def as_dicts(self) -> list[dict[int, float]]:
        return [dict(zip(*(x.tolist() for x in self.row(i)))) for i in range(len(self))]

    def to_csr(self, vocab_size: int):
        from scipy.sparse import csr_matrix

        return csr_matrix((self.weights, self.ids, self.indptr), shape=(len(self), vocab_size))

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> "SparseWeights":
        sizes = np.fromiter((len(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        ids = np.concatenate([r[0] for r in rows]).astype(np.int32) if rows else np.zeros(0, np.int32)
        weights = np.concatenate([r[1] for r in rows]).astype(np.float32) if rows else np.zeros(0, np.float32)
        return cls(indptr, ids, weights)


@dataclass
class M3Reps:
    dense: np.ndarray                       # (n, hidden) float32
    sparse: SparseWeights
    colbert: list[np.ndarray] | None        # (tokens - 1, colbert dim) float32 each, when asked for


@dataclass(frozen=True)
class M3Settings:
    max_length: int = 8192          # documents (FlagEmbedding: passage_max_length)
    query_max_length: int = 512     # queries (FlagEmbedding: query_max_length)
    batch_tokens: int = 16384
    device: str = "cpu"


# (indices in the call's input order, dense rows, sparse rows, colbert rows or None) after each batch
BatchConsumer = Callable[[np.ndarray, np.ndarray, list, list | None], None]


def lexical_rows(input_ids: np.ndarray, weights: np.ndarray, mask: np.ndarray,
                 unused: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per row: sorted unique token ids with their largest weight, unused ids and weights <= 0 dropped."""
    vocab = int(max(input_ids.max(initial=0), unused.max(initial=0))) + 1
    keep = mask.astype(bool) & (weights > 0) & ~np.isin(input_ids, unused)
    rows, cols = np.nonzero(keep)
    keys = rows.astype(np.int64) * vocab + input_ids[rows, cols]
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], weights[rows, cols][order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
    unique, best = keys[starts], (np.maximum.reduceat(values, starts) if len(keys) else values)
    bounds = np.searchsorted(unique // vocab, np.arange(len(input_ids) + 1))
    ids = (unique % vocab).astype(np.int32)
    return [(ids[a:b], best[a:b].astype(np.float32)) for a, b in zip(bounds[:-1], bounds[1:])]


class M3Encoder:
    """texts -> M3Reps in input order; also the scores' and the index's fingerprint."""

    def __init__(self, loaded: LoadedM3, settings: M3Settings, progress: bool | None = None):
        limit = loading.model_max_length(loaded.encoder)
        for key, value in (("max_length", settings.max_length), ("query_max_length", settings.query_max_length)):
            if not 0 < value <= limit:
                raise EvalkitError(f"candidates.m3.{key}={value}: must be in 1..{limit} (the model's positions)")
        self.loaded, self.settings, self.info = loaded, settings, loaded.info
        self.model, self.tokenizer = loaded.encoder.model, loaded.encoder.tokenizer
        tok = self.tokenizer
        unused = [getattr(tok, f"{name}_token_id", None) for name in ("cls", "eos", "pad", "unk")]
        if any(u is None for u in unused[:3]):
            raise EvalkitError(f"{loaded.info['model']}: the tokenizer lacks a cls, eos or pad token")
        self.unused_ids = np.array(sorted({u for u in unused if u is not None}), dtype=np.int64)
        self.vocab_size = int(self.model.config.vocab_size)
        self.runner = BudgetRunner(settings.batch_tokens, tok.pad_token_id, progress=progress)

    def fingerprint(self, max_length: int | None = None) -> str:
        """Everything a representation depends on: weights, heads, tokenizer, dtype, truncation length."""
        parts = [self.info["weights_hash"], self.info["heads_hash"], self.info["tokenizer_hash"], self.info["dtype"],
                 max_length or self.settings.max_length, "m3-v1"]
        return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]

    def token_ids(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        return self.tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]

    def encode(self, texts: Sequence[str], max_length: int, colbert: bool = False,
               consume: BatchConsumer | None = None, desc: str = "m3 encode") -> M3Reps:
        """All three representations; multi-vectors kept only with `colbert` and no `consume` (which receives
        each batch as it is done, so a caller can score and drop multi-vectors batch by batch)."""
        return self.encode_ids(self.token_ids(texts, max_length), colbert, consume, desc)

    def encode_ids(self, seqs: Sequence[Sequence[int]], colbert: bool = False, consume: BatchConsumer | None = None,
                   desc: str = "m3 encode") -> M3Reps:
        """`encode` of texts already tokenized (special tokens included, truncated)."""
        pending: deque = deque()
        sparse_rows: list = [None] * len(seqs)
        multi: list | None = [None] * len(seqs) if colbert and consume is None else None

        def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            dense, rows, vecs = self._forward(input_ids, attention_mask, colbert or consume is not None)
            pending.append((rows, vecs))
            return dense

        def on_batch(idx: np.ndarray, dense: np.ndarray) -> None:
            rows, vecs = pending.popleft()
            for j, i in enumerate(idx):
                sparse_rows[i] = rows[j]
                if multi is not None:
                    multi[i] = vecs[j]
            if consume is not None:
                consume(idx, dense, rows, vecs)

        dense = self.runner.run(seqs, forward, on_batch=on_batch, desc=desc)
        if not len(seqs):
            dense = np.zeros((0, self.model.config.hidden_size), dtype=np.float32)
        return M3Reps(dense, SparseWeights.from_rows(sparse_rows), multi)

    def encode_groups(self, groups, max_length: int):
        """(desc, texts) -> (desc, M3Reps without multi-vectors), one group at a time and in order; executor=ray
        sends many groups through one actor pool instead (evalkit.executors.ray_m3.RayM3Encoder)."""
        for desc, texts in groups:
            yield desc, self.encode(texts, max_length, desc=desc)

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, colbert: bool):
        device = self.settings.device
        ids, mask = input_ids.to(device), attention_mask.to(device)
        hidden = self.model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        dense = F.normalize(hidden[:, 0], dim=-1)
        weights = torch.relu(self.loaded.sparse_linear(hidden)).squeeze(-1).float().cpu().numpy()
        rows = lexical_rows(input_ids.numpy(), weights, attention_mask.numpy(), self.unused_ids)
        vecs = None
        if colbert:
            multi = self.loaded.colbert_linear(hidden[:, 1:]) * mask[:, 1:, None].to(hidden.dtype)
            multi = F.normalize(multi, dim=-1).float().cpu().numpy()
            lengths = attention_mask.sum(1).numpy() - 1
            vecs = [multi[r, :n] for r, n in enumerate(lengths)]
        return dense, rows, vecs
