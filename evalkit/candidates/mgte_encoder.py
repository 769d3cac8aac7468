"""mGTE's encoder: BGE-M3's (batching, index and search interface) with mGTE's dense cut and sparse keys.

Kept apart from evalkit/candidates/mgte.py so that listing the first stages does not import torch.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from evalkit.errors import EvalkitError
from evalkit.m3.encoder import M3Encoder, lexical_rows


def token_keys(tokenizer: Any, special_ids: np.ndarray) -> np.ndarray:
    """id -> the smallest non-special id whose `decode([id])` is the same text (special ids map to themselves):
    gte_embedding.py pools sparse weights by decoded text, so ids that decode alike share one key."""
    n = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(n)])
    special = set(special_ids.tolist())
    first: dict[str, int] = {}
    keys = np.arange(n, dtype=np.int64)
    for i, text in enumerate(texts):
        if i not in special:
            keys[i] = first.setdefault(text, i)
    return keys


class MgteEncoder(M3Encoder):
    """Dense: CLS cut to `dimension`, L2-normalised; sparse: relu(classifier(h)), max per decoded-text key."""

    def __init__(self, loaded, settings, dimension: int | None, progress: bool | None = None):
        super().__init__(loaded, settings, progress=progress)
        hidden = int(self.model.config.hidden_size)
        self.dimension = dimension or hidden
        if self.dimension > hidden:
            raise EvalkitError(f"candidates.mgte.dimension={dimension}: at most the model's hidden size {hidden}")
        self.keys = token_keys(self.tokenizer, self.unused_ids)
        self.info = {**self.info, "dimension": self.dimension}

    def fingerprint(self, max_length: int | None = None) -> str:
        base = super().fingerprint(max_length)
        return hashlib.sha256(f"{base}|dim {self.dimension}|mgte-v1".encode()).hexdigest()[:24]

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, colbert: bool):
        device = self.settings.device
        hidden = self.model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).last_hidden_state
        dense = F.normalize(hidden[:, 0, :self.dimension], dim=-1)
        weights = torch.relu(self.loaded.sparse_linear(hidden)).squeeze(-1).float().cpu().numpy()
        rows = lexical_rows(self.keys[input_ids.numpy()], weights, attention_mask.numpy(), self.unused_ids)
        return dense, rows, None
