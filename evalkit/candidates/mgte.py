"""mGTE-TRM (gte-multilingual-base) sparse weight pooling: the first piece of candidates=mgte_*.

The model's own helper (``gte_embedding.py``) gives each token relu(head(hidden)), drops the special
tokens (cls, eos, pad, unk) and keeps, per token id, the max weight over its repeats.
"""
from __future__ import annotations

import numpy as np


def pool_token_weights(ids: np.ndarray, weights: np.ndarray, drop_ids: set[int]) -> dict[int, float]:
    """One text's token ids and per-token weights -> {token id: max weight}, special ids dropped."""
    weights = np.maximum(np.asarray(weights, dtype=np.float32), 0.0)
    ids = np.asarray(ids, dtype=np.int64)
    keep = ~np.isin(ids, np.fromiter(drop_ids, dtype=np.int64, count=len(drop_ids)))
    ids, weights = ids[keep], weights[keep]
    out: dict[int, float] = {}
    for uid in np.unique(ids):
        out[int(uid)] = float(weights[ids == uid].max())
    return {k: v for k, v in out.items() if v > 0}
