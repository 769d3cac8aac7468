"""Re-ranking candidates with BGE-M3's multi-vector (and combined) scores, as the paper's multi-vec / All rows do.

Queries go in windows of `window_queries`; the window's distinct candidate documents are encoded once each
(all three representations, one forward pass) and every pair is scored inside the batch callback, so a batch's
multi-vectors are dropped as soon as its pairs are scored: memory holds one batch of multi-vectors, never a
corpus of them.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

from evalkit.contracts import DocStore, Run
from evalkit.m3.encoder import M3Encoder, M3Reps
from evalkit.m3.scores import colbert_score, combine, dense_score, sparse_score


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

        texts = [doc.full_text(doc_sep) for doc in store.get(docids)]
        encoder.encode(texts, encoder.settings.max_length, consume=consume, desc=f"m3 {mode} rescoring")
        for i, q in window:
            out[q] = {d: float(scores[i, row[d]]) for d in run[q]}
    return out
