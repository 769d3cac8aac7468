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
from evalkit.models.tokens import TokenArrays

log = logging.getLogger(__name__)

Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # (input_ids, attention_mask) -> outputs
PackedForward = Callable[["TokenArrays", np.ndarray], torch.Tensor]   # (tokens, rows) -> outputs, no padding

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


def packed_batches(lengths: np.ndarray, budget: int) -> list[np.ndarray]:
    """Index batches for packed (padding-free) forward passes: longest first (ties by index), each holding at
    most `budget` real tokens; an item longer than the budget gets a batch of its own."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if budget < 1:
        raise ValueError(f"token budget must be >= 1, got {budget}")
    order = np.argsort(-lengths, kind="stable")
    ends = np.cumsum(lengths[order])
    batches, start = [], 0
    while start < len(order):
        before = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, before + budget, side="right")), start + 1)
        batches.append(order[start:stop])
        start = stop
    return batches


def pad_rows(tokens: TokenArrays, rows: np.ndarray, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded int64 input_ids and attention_mask of `tokens`' rows. Each row is one slice copy: 2-3x
    cheaper than a scatter through int64 position arrays, at 200 tokens a row as at 3,000."""
    rows = np.asarray(rows, dtype=np.int64)
    lengths = tokens.lengths[rows]
    width = int(lengths.max()) if len(rows) else 0
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    for i, (start, n) in enumerate(zip(tokens.offsets[rows].tolist(), lengths.tolist())):
        ids[i, :n] = tokens.ids[start:start + n]
    mask = (np.arange(width) < lengths[:, None]).astype(np.int64)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded int64 input_ids and attention_mask for a list of token-id lists."""
    return pad_rows(TokenArrays.from_lists(seqs), np.arange(len(seqs)), pad_id)


@dataclass
class BatchStats:
    batches: int = 0
    tokens: int = 0            # real tokens
    padded_tokens: int = 0     # tokens computed, padding included
    budget_changes: int = 0


class BudgetRunner:
    """Runs `forward` over token-budget batches; `budget` shrinks (and stays shrunk) after an OOM.

    On CUDA, each batch is copied from pinned memory without blocking and its outputs stay on the device until
    the call ends: one synchronisation per call (per window), not per batch; `on_batch` then runs per batch.
    On CPU `on_batch` runs right after each batch, so a killed process keeps every finished batch.
    """

    def __init__(self, budget: int, pad_id: int, max_batch: int | None = None, progress: bool | None = None,
                 device: str = "cpu"):
        self.budget, self.pad_id, self.max_batch, self.device = budget, pad_id, max_batch, device
        self.progress = progress is not False   # a bar on a terminal, else periodic log lines (evalkit.progress)
        self.stats = BatchStats()

    def run(self, seqs: TokenArrays | Sequence[Sequence[int]], forward: Forward | PackedForward,
            on_batch: Callable[[np.ndarray, np.ndarray], None] | None = None, desc: str = "batches",
            packed: bool = False, skip: np.ndarray | None = None,
            on_progress: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
        """float32 outputs of shape (len(seqs), ...) in input order; `on_batch(indices, outputs)` after each batch.
        `on_progress(indices)` as each batch is done (on CUDA: queued, which runs at most a few batches ahead; the
        outputs come back once per call) or skipped, so a caller can show progress inside one call.
        `packed`: `forward(tokens, rows)` runs a batch without padding, and batches hold `budget` real tokens.
        `skip` (bool per item): a batch whose items are all skipped does not run (their outputs are undefined);
        batches are planned over every item, so the others' batches are the same whatever is skipped."""
        tokens = seqs if isinstance(seqs, TokenArrays) else TokenArrays.from_lists(seqs)
        lengths = tokens.lengths
        on_device = self.device.startswith("cuda")
        done: list[tuple[np.ndarray, torch.Tensor]] = []
        out: np.ndarray | None = None
        todo = np.arange(len(tokens))
        with Progress(len(tokens), desc, "sequences", enabled=self.progress) as bar, \
                torch.inference_mode(), sdpa_kernel(SDPA_BACKENDS):
            while len(todo):
                cut = (packed_batches(lengths[todo], self.budget) if packed else
                       token_budget_batches(lengths[todo], self.budget, self.max_batch))
                batches = [todo[b] for b in cut]
                for k, idx in enumerate(batches):
                    if skip is not None and skip[idx].all():
                        bar.update(len(idx))
                        if on_progress is not None:
                            on_progress(idx)
                        continue
                    result = self._try(forward, tokens, idx, packed)
                    if result is None:                        # out of memory: shrink and re-pack the rest
                        todo = np.concatenate(batches[k:])
                        break
                    self._count(lengths[idx], packed)
                    bar.update(len(idx))
                    if on_device:
                        done.append((idx, result))
                        if on_progress is not None:
                            on_progress(idx)
                        continue
                    values = result.cpu().numpy()
                    if out is None:
                        out = np.empty((len(tokens), *values.shape[1:]), dtype=np.float32)
                    out[idx] = values
                    if on_batch is not None:
                        on_batch(idx, values)
                    if on_progress is not None:
                        on_progress(idx)
                else:
                    todo = todo[:0]
        if done:   # one copy back (and one synchronisation) for the whole call
            values = torch.cat([r for _, r in done]).cpu().numpy()
            out = np.empty((len(tokens), *values.shape[1:]), dtype=np.float32)
            start = 0
            for idx, _ in done:
                out[idx] = values[start:start + len(idx)]
                if on_batch is not None:
                    on_batch(idx, out[idx])
                start += len(idx)
        return out if out is not None else np.empty((0,), dtype=np.float32)

    def _inputs(self, tokens: TokenArrays, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = pad_rows(tokens, idx, self.pad_id)
        if self.device.startswith("cuda"):
            ids, mask = (t.pin_memory().to(self.device, non_blocking=True) for t in (ids, mask))
        return ids, mask

    def _try(self, forward, tokens: TokenArrays, idx: np.ndarray, packed: bool) -> torch.Tensor | None:
        inputs = (tokens, idx) if packed else self._inputs(tokens, idx)
        try:
            return forward(*inputs).float()
        except torch.OutOfMemoryError:
            if len(idx) == 1:
                raise
        # outside the except block, so the failed batch's tensors can be freed before retrying
        del inputs
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.budget = max(self.budget // 2, 1)
        self.stats.budget_changes += 1
        log.warning("out of memory on a batch of %d x %d tokens; token budget halved to %d",
                    len(idx), int(tokens.lengths[idx].max()), self.budget)
        return None

    def _count(self, lengths: np.ndarray, packed: bool = False) -> None:
        self.stats.batches += 1
        self.stats.tokens += int(lengths.sum())
        self.stats.padded_tokens += int(lengths.sum()) if packed else len(lengths) * int(lengths.max())
