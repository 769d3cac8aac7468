"""Token-budget batching shared by every model that pushes texts through a transformer.

Items are sorted by length (longest first, so an out-of-memory error shows up in the first batch) and packed so
that batch size x longest item <= budget padded tokens. The runner halves the budget on a CUDA out-of-memory
error, re-packs what is left, keeps the smaller budget for later calls and returns outputs in input order.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from evalkit.progress import Progress

log = logging.getLogger(__name__)

Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # (input_ids, attention_mask) -> outputs

# Every SDPA backend but cuDNN's: it builds a plan per new (batch, width) shape, and length-sorted batches are
# nearly all new shapes. On an H200, fp16 over fresh shapes ran 330-500 pairs/s with it and 1,080 without
# (fp32 550; results/bench/rerank-gpu-h200-2026-11-27.md).
SDPA_BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


def token_budget_batches(lengths: np.ndarray, budget: int, max_batch: int | None = None,
                         min_fill: float = 0.97) -> list[np.ndarray]:
    """Index batches, longest items first (ties by index), each with len(batch) * max length <= budget.

    A batch also closes before its real tokens would fall under `min_fill` of its padded tokens, so padding
    stays under 3% whatever the length mix (a wide budget alone would pad short items up to long ones).
    An item longer than the budget gets a batch of its own: every index appears exactly once.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if budget < 1:
        raise ValueError(f"token budget must be >= 1, got {budget}")
    order = np.argsort(-lengths, kind="stable")
    cap = max_batch or len(order) or 1
    batches, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        size = min(max(budget // longest, 1), cap)
        window = lengths[order[start:start + size]]
        fill = np.cumsum(np.maximum(window, 1)) / (longest * np.arange(1, len(window) + 1))
        size = max(int(np.argmin(fill >= min_fill)) if (fill < min_fill).any() else len(window), 1)
        batches.append(order[start:start + size])
        start += size
    return batches


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded int64 input_ids and attention_mask for a list of token-id lists."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[row, :len(seq)] = 1
    return ids, mask


@dataclass
class BatchStats:
    batches: int = 0
    tokens: int = 0            # real tokens
    padded_tokens: int = 0     # tokens computed, padding included
    budget_changes: int = 0


class BudgetRunner:
    """Runs `forward` over token-budget batches; `budget` shrinks (and stays shrunk) after an OOM."""

    def __init__(self, budget: int, pad_id: int, max_batch: int | None = None, progress: bool | None = None):
        self.budget, self.pad_id, self.max_batch = budget, pad_id, max_batch
        self.progress = progress is not False   # a bar on a terminal, else periodic log lines (evalkit.progress)
        self.stats = BatchStats()

    def run(self, seqs: Sequence[Sequence[int]], forward: Forward,
            on_batch: Callable[[np.ndarray, np.ndarray], None] | None = None, desc: str = "batches") -> np.ndarray:
        """float32 outputs of shape (len(seqs), ...) in input order; `on_batch(indices, outputs)` after each batch."""
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        out: np.ndarray | None = None
        todo = np.arange(len(seqs))
        with Progress(len(seqs), desc, "sequences", enabled=self.progress) as bar, \
                torch.inference_mode(), sdpa_kernel(SDPA_BACKENDS):
            while len(todo):
                batches = [todo[b] for b in token_budget_batches(lengths[todo], self.budget, self.max_batch)]
                for k, idx in enumerate(batches):
                    result = self._try(forward, [seqs[i] for i in idx])
                    if result is None:                        # out of memory: shrink and re-pack the rest
                        todo = np.concatenate(batches[k:])
                        break
                    if out is None:
                        out = np.empty((len(seqs), *result.shape[1:]), dtype=np.float32)
                    out[idx] = result
                    self._count(lengths[idx])
                    if on_batch is not None:
                        on_batch(idx, result)
                    bar.update(len(idx))
                else:
                    todo = todo[:0]
        return out if out is not None else np.empty((0,), dtype=np.float32)

    def _try(self, forward: Forward, batch: list[Sequence[int]]) -> np.ndarray | None:
        ids, mask = pad_batch(batch, self.pad_id)
        try:
            return forward(ids, mask).float().cpu().numpy()
        except torch.OutOfMemoryError:
            if len(batch) == 1:
                raise
        # outside the except block, so the failed batch's tensors can be freed before retrying
        del ids, mask
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.budget = max(self.budget // 2, 1)
        self.stats.budget_changes += 1
        log.warning("out of memory on a batch of %d x %d tokens; token budget halved to %d",
                    len(batch), max(len(s) for s in batch), self.budget)
        return None

    def _count(self, lengths: np.ndarray) -> None:
        self.stats.batches += 1
        self.stats.tokens += int(lengths.sum())
        self.stats.padded_tokens += len(lengths) * int(lengths.max())
