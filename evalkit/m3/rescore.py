"""Re-ranking candidates with BGE-M3's multi-vector (and combined) scores, as the paper's multi-vec / All rows do.

Queries go in windows of `window_queries`; the window's distinct candidate documents are encoded once each
(all three representations, one forward pass), in encode calls of at most CHUNK_TOKENS document tokens, and
every pair is scored inside the batch callback, so multi-vectors are dropped as soon as their pairs are scored:
memory holds at most one call's multi-vectors (~1 GiB at 1024 fp32 dims), never a corpus of them.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

from evalkit.contracts import DocStore, Run
from evalkit.m3.encoder import M3Encoder, M3Reps
from evalkit.m3.scores import colbert_score, combine, dense_score, sparse_score


CHUNK_TOKENS = 1 << 18   # documents' tokens per encode call: bounds multi-vectors a deferred on_batch may hold


def _chunks(lengths: np.ndarray, budget: int) -> list[np.ndarray]:
    """Consecutive index ranges holding at most `budget` tokens (a longer document alone)."""
    out, start, total = [], 0, 0
    for k, n in enumerate(lengths.tolist()):
        if total and total + n > budget:
            out.append(np.arange(start, k))
            start, total = k, 0
        total += n
    if start < len(lengths):
        out.append(np.arange(start, len(lengths)))
    return out


def rescore(encoder: M3Encoder, qids: Sequence[str], queries: M3Reps, run: Run, store: DocStore, doc_sep: str,
            mode: str, weights: Sequence[float], window_queries: int = 256) -> Run:
    """`mode` multi_vec: the multi-vector score alone; all: compute_score's weighted mean of the three."""
    out: Run = {}
    for start in range(0, len(qids), window_queries):
        window = [(i, q) for i, q in enumerate(qids[start:start + window_queries], start) if run.get(q)]
        docids = list(dict.fromkeys(d for _, q in window for d in run[q]))
        wanted: dict[int, list[int]] = defaultdict(list)          # document row -> query rows that rank it
        row = {d: k for k, d in enumerate(docids)}
        for i, q in window:
            for d in run[q]:
                wanted[row[d]].append(i)
        scores: dict[tuple[int, int], float] = {}

        def consume(idx: np.ndarray, dense: np.ndarray, lexical: list, multi: list) -> None:
            for j, k in enumerate(idx.tolist()):
                for i in wanted[k]:
                    c = colbert_score(queries.colbert[i], multi[j])
                    if mode == "multi_vec":
                        scores[i, k] = c
                    else:
                        scores[i, k] = combine(dense_score(queries.dense[i], dense[j]),
                                               sparse_score(queries.sparse.row(i), lexical[j]), c, weights)

        seqs = encoder.token_ids(store.texts(docids, doc_sep), encoder.settings.max_length)
        for chunk in _chunks(np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs)), CHUNK_TOKENS):
            encoder.encode_ids([seqs[k] for k in chunk], consume=lambda idx, *rest, chunk=chunk:
                               consume(chunk[idx], *rest), desc=f"m3 {mode} rescoring")
        for i, q in window:
            out[q] = {d: float(scores[i, row[d]]) for d in run[q]}
    return out
