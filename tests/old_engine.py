"""The scoring engine as it was before streaming (main at ed2c077), kept as an independent reference.

It gathers every pair of the run, tokenizes all unique queries and documents in one call each, builds one Python
list of ids per pair, sorts all pairs of the run by length and pads each batch row by row. Only what it computes
matters here: the streamed engine must give the same bytes on runs that fit one window.
"""
from __future__ import annotations

import numpy as np
import torch


def old_batches(lengths: np.ndarray, budget: int, min_fill: float = 0.97) -> list[np.ndarray]:
    order = np.argsort(-lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        size = max(budget // longest, 1)
        window = lengths[order[start:start + size]]
        fill = np.cumsum(np.maximum(window, 1)) / (longest * np.arange(1, len(window) + 1))
        size = max(int(np.argmin(fill >= min_fill)) if (fill < min_fill).any() else len(window), 1)
        batches.append(order[start:start + size])
        start += size
    return batches


def old_layout(tok):
    a, b = (tok(w, add_special_tokens=False)["input_ids"] for w in ("query", "document"))
    full = tok("query", "document")["input_ids"]
    i = next(k for k in range(len(full)) if full[k:k + len(a)] == a)
    j = next(k for k in range(i + len(a), len(full)) if full[k:k + len(b)] == b)
    return full[:i], full[i + len(a):j], full[j + len(b):]


def old_scores(model, tok, pairs: list[tuple[str, str]], max_length: int, batch_tokens: int = 16384,
               query_budget: int | None = None, device: str = "cpu") -> np.ndarray:
    query_budget = query_budget if query_budget is not None else max_length * 3 // 4
    unique: dict[tuple[str, str], int] = {}
    where = np.empty(len(pairs), dtype=np.int64)
    for i, pair in enumerate(pairs):
        where[i] = unique.setdefault(pair, len(unique))
    upairs = list(unique)
    prefix, middle, suffix = old_layout(tok)
    queries, docs = list(dict.fromkeys(q for q, _ in upairs)), list(dict.fromkeys(d for _, d in upairs))
    q_ids = dict(zip(queries, tok(queries, add_special_tokens=False, truncation=True,
                                  max_length=query_budget)["input_ids"]))
    d_ids = dict(zip(docs, tok(docs, add_special_tokens=False, truncation=True, max_length=max_length)["input_ids"]))
    specials = len(prefix) + len(middle) + len(suffix)
    seqs = []
    for q, d in upairs:
        room = max_length - specials - len(q_ids[q])
        seqs.append(prefix + q_ids[q] + middle + d_ids[d][:room] + suffix)
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    out = np.empty(len(seqs), dtype=np.float32)
    with torch.inference_mode():
        for idx in old_batches(lengths, batch_tokens):
            batch = [seqs[i] for i in idx]
            width = max(len(s) for s in batch)
            ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, seq in enumerate(batch):
                ids[row, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
                mask[row, :len(seq)] = 1
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).logits
            out[idx] = logits[:, 0].float().cpu().numpy()
    return out[where]
