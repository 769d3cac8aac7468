"""Top-k selection over a score vector with canonical ties (score desc, then docid desc, as trec_eval)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from evalkit.contracts import top_of


def top_k(scores: np.ndarray, docids: Sequence[str], depth: int, positive_only: bool = True) -> dict[str, float]:
    """The `depth` best documents; every document tied with the last one kept is ranked by docid first.

    argpartition finds the k-th best score; all documents scoring at least that much (ties included) are
    then sorted canonically, so which tied document makes the cut never depends on the index order.
    """
    candidates = np.flatnonzero(scores > 0) if positive_only else np.arange(len(scores))
    if len(candidates) > depth:
        kth = np.partition(scores[candidates], -depth)[-depth]
        candidates = candidates[scores[candidates] >= kth]
    return top_of({docids[i]: float(scores[i]) for i in candidates}, depth)
