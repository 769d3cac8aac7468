"""Long documents (`reranker.long_docs`): `truncate` reads the head of a document that does not fit max_length;
`maxp`, `firstp`, `sump`, `meanp` cut it into chunks on the model tokenizer's token boundaries, score each chunk
as a pair with the query (and, with chunk_title, the title) in front, and keep the best / first / sum / mean of
the chunk scores as the document's score (MaxP, FirstP and SumP as in Dai & Callan, SIGIR 2019).

A chunk holds `chunk_tokens` document tokens (default: what max_length leaves after the special tokens, the query
and the title); chunks start every `chunk_stride` tokens (default: chunk_tokens, no overlap); the last one ends
at the document's end and may be shorter. The engine scores chunks like any pair (windows, pair cache, batches):
a chunk's cache key is its token ids, so strategies, and runs with other strides, share the chunks they have in
common and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalkit.config import LONG_DOCS

__all__ = ["LONG_DOCS", "Chunking", "aggregate", "chunk_spans", "chunking_of"]


@dataclass(frozen=True)
class Chunking:
    strategy: str                      # one of LONG_DOCS but truncate
    chunk_tokens: int | None = None    # document tokens per chunk (None: what max_length leaves)
    chunk_stride: int | None = None    # tokens between chunk starts (None: chunk_tokens)
    chunk_title: bool = True           # the title (if any) in front of every chunk, else only in the first


def chunking_of(long_docs: str, chunk_tokens: int | None, chunk_stride: int | None,
                chunk_title: bool) -> Chunking | None:
    """The Chunking of a reranker config's fields; None for truncate."""
    return None if long_docs == "truncate" else Chunking(long_docs, chunk_tokens, chunk_stride, bool(chunk_title))


def chunk_spans(n_tokens: int, size: int, stride: int) -> np.ndarray:
    """(k, 2) int64 [start, end) token spans: starts 0, stride, 2 x stride, ... up to the first chunk that reaches
    the end, which ends there (and may be shorter). An empty document is one empty chunk."""
    k = 1 if n_tokens <= size else -(-(n_tokens - size) // stride) + 1
    starts = np.arange(k, dtype=np.int64) * stride
    return np.stack([starts, np.minimum(starts + size, n_tokens)], axis=1)


def aggregate(strategy: str, scores: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(document scores float32, index of each document's best chunk int32) from chunk scores grouped by
    `offsets` (document i's chunks are scores[offsets[i]:offsets[i + 1]], at least one each)."""
    starts, counts = offsets[:-1], np.diff(offsets)
    best_score = np.maximum.reduceat(scores, starts) if len(starts) else scores[:0]
    is_best = scores == np.repeat(best_score, counts)
    first_best = np.flatnonzero(is_best)
    best = first_best[np.searchsorted(first_best, starts)] - starts   # the first chunk that reaches the maximum
    if strategy == "maxp":
        out = best_score
    elif strategy == "firstp":
        out = scores[starts]
    else:
        sums = np.add.reduceat(scores.astype(np.float64), starts) if len(starts) else np.zeros(0)
        out = sums if strategy == "sump" else sums / counts
    return np.asarray(out, dtype=np.float32), best.astype(np.int32)
