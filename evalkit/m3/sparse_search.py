"""Exact lexical-weight retrieval over a whole corpus: queries x inverted index, one shard at a time.

Each shard's document x token CSR matrix is transposed once into a token -> documents inverted index (CSR), and
a block of queries (CSR) is multiplied by it: only postings of the queries' tokens are touched, and the product
holds one entry per (query, document sharing a token). Per query the best `depth` documents (all documents tied
with the last one included) are kept across shards; the cut follows the canonical order (score desc, docid
desc). A document sharing no token with the query scores 0 and is never retrieved, as in an inverted index.
"""
from __future__ import annotations

import numpy as np

from evalkit.contracts import top_of
from evalkit.m3.encoder import SparseWeights
from evalkit.m3.index import SparseShards

QUERY_BLOCK = 64


def _keep(scores: np.ndarray, rows: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    if len(scores) <= depth:
        return scores, rows
    kth = np.partition(scores, -depth)[-depth]
    mask = scores >= kth
    return scores[mask], rows[mask]


def sparse_search(queries: SparseWeights, index: SparseShards, depth: int) -> list[dict[str, float]]:
    """Top-`depth` documents of each query by sum of shared-token weight products."""
    from scipy.sparse import csr_matrix

    vocab = index.vocab_size
    q = queries.to_csr(vocab)
    best = [(np.zeros(0, np.float32), np.zeros(0, np.int64)) for _ in range(len(queries))]
    for offset, docs in index.sparse():
        matrix = csr_matrix((np.asarray(docs.weights), np.asarray(docs.ids), np.asarray(docs.indptr)),
                            shape=(len(docs), vocab))
        postings = matrix.T.tocsr()                                   # token -> documents
        for start in range(0, len(queries), QUERY_BLOCK):
            product = (q[start:start + QUERY_BLOCK] @ postings).tocsr()
            for r in range(product.shape[0]):
                a, b = product.indptr[r], product.indptr[r + 1]
                if a == b:
                    continue
                s, rows = _keep(product.data[a:b], product.indices[a:b].astype(np.int64) + offset, depth)
                old_s, old_rows = best[start + r]
                best[start + r] = _keep(np.concatenate([old_s, s]), np.concatenate([old_rows, rows]), depth)
    wanted = np.unique(np.concatenate([rows for _, rows in best])) if best else np.zeros(0, np.int64)
    docid = dict(zip(wanted.tolist(), index.docids(wanted)))
    return [top_of({docid[r]: float(x) for r, x in zip(rows.tolist(), s.tolist())}, depth)
            for s, rows in best]
