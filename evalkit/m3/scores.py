"""BGE-M3's relevance scores, defined as FlagEmbedding defines them (BGEM3FlagModel / M3Embedder).

- dense: inner product of the normalised [CLS] vectors;
- sparse: sum over token ids present in both texts of query weight x document weight;
- multi-vector: for each query vector (every token but [CLS]) its best inner product with a document vector,
  averaged over the query vectors;
- combinations (`compute_score`'s weights_for_different_modes = [dense, sparse, colbert]):
  dense+sparse = (w_d s_d + w_s s_s) / (w_d + w_s); all = (w_d s_d + w_s s_s + w_c s_c) / (w_d + w_s + w_c).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from evalkit.errors import EvalkitError

MODES = ("dense", "sparse", "multi_vec", "dense_sparse", "all")
DEFAULT_WEIGHTS = (1.0, 0.3, 1.0)      # the paper's w1, w2, w3 (MIRACL, MKQA)


def dense_score(q: np.ndarray, d: np.ndarray) -> float:
    return float(np.dot(q.astype(np.float32), d.astype(np.float32)))


def sparse_score(q: tuple[np.ndarray, np.ndarray], d: tuple[np.ndarray, np.ndarray]) -> float:
    """(ids, weights) of each text, ids sorted and unique."""
    _, qi, di = np.intersect1d(q[0], d[0], assume_unique=True, return_indices=True)
    return float(np.dot(q[1][qi].astype(np.float32), d[1][di].astype(np.float32)))


def colbert_score(q: np.ndarray, d: np.ndarray) -> float:
    if len(q) == 0 or len(d) == 0:
        return 0.0
    return float((q @ d.T).max(axis=1).sum() / len(q))


def check_weights(weights: Sequence[float], key: str = "candidates.m3.weights") -> tuple[float, float, float]:
    if len(weights) != 3 or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise EvalkitError(f"{key}={list(weights)}: three non-negative weights [dense, sparse, colbert], not all 0")
    return tuple(float(w) for w in weights)


def combine(dense: float | np.ndarray, sparse: float | np.ndarray, colbert: float | np.ndarray | None,
            weights: Sequence[float] = DEFAULT_WEIGHTS):
    """dense+sparse when `colbert` is None, else all three, as compute_score's weighted means."""
    wd, ws, wc = check_weights(weights)
    if colbert is None:
        if wd + ws <= 0:
            raise EvalkitError(f"candidates.m3.weights={list(weights)}: dense+sparse needs a dense or sparse weight")
        return (sparse * ws + dense * wd) / (ws + wd)
    return (colbert * wc + sparse * ws + dense * wd) / (wd + ws + wc)
