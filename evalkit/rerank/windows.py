"""Scoring windows: a stream of pair chunks cut into windows of about `window_tokens` model tokens.

Per window: templates applied, identical pairs deduped, the pair cache read, the pairs still missing tokenized
(each distinct query and document once) and assembled into flat int32 token arrays. Nothing outlives its window,
so memory is set by the window size, not by the run. A window closes at a chunk boundary (the pipeline hands one
query's candidates per chunk) once its missing pairs reach the token budget.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from evalkit.rerank.tokens import TokenArrays, pair_tokens

Pair = tuple[str, str]


@dataclass
class Window:
    """One window's requested pairs, reduced to unique pairs; `tokens` row k is the model input of missing[k]."""

    chunk_sizes: list[int]          # pairs per input chunk, in order
    where: np.ndarray               # int64 per requested pair: its unique pair
    keys: list[bytes]               # per unique pair: its pair-cache key
    scores: np.ndarray              # float32 per unique pair: cached score, NaN where missing
    missing: np.ndarray             # int64: unique pairs to score
    tokens: TokenArrays             # model input ids of the missing pairs
    cache_hits: int = 0


@dataclass
class _Open:
    """A window being filled."""

    chunk_sizes: list[int] = field(default_factory=list)
    where: list[np.ndarray] = field(default_factory=list)
    unique: dict[Pair, int] = field(default_factory=dict)   # templated pair -> its index in `pairs`
    pairs: list[Pair] = field(default_factory=list)
    keys: list[bytes] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    hashes: dict[str, bytes] = field(default_factory=dict)
    q_rows: dict[str, int] = field(default_factory=dict)     # query text -> row in q_parts
    d_rows: dict[str, int] = field(default_factory=dict)
    q_len: dict[str, int] = field(default_factory=dict)      # query text -> its token count
    d_len: dict[str, int] = field(default_factory=dict)
    q_parts: list[TokenArrays] = field(default_factory=list)
    d_parts: list[TokenArrays] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    miss_q: list[int] = field(default_factory=list)
    miss_d: list[int] = field(default_factory=list)
    tokens: int = 0
    hits: int = 0

    def digest(self, text: str) -> bytes:
        found = self.hashes.get(text)
        if found is None:
            found = self.hashes[text] = hashlib.sha256(text.encode()).digest()
        return found


class WindowBuilder:
    """Turns chunks of raw (query, doc) pairs into `Window`s; runs in the prefetch thread.

    `lookup(keys) -> {key: score}` reads the pair cache (its own connection: SQLite connections stay in the
    thread that opened them). `layout` is the tokenizer's (prefix, middle, suffix) special tokens of a pair.
    """

    def __init__(self, tokenizer: Any, layout: tuple[list[int], list[int], list[int]], max_length: int,
                 query_budget: int, query_template: str, doc_template: str, window_tokens: int, lookup=None):
        self.tokenizer, self.layout, self.max_length, self.query_budget = tokenizer, layout, max_length, query_budget
        self.query_template, self.doc_template = query_template, doc_template
        self.window_tokens, self.lookup = window_tokens, lookup
        self.specials = sum(len(part) for part in layout)

    def windows(self, chunks: Iterable[Sequence[Pair]]) -> Iterator[Window]:
        win = _Open()
        for chunk in chunks:
            self._add(win, chunk)
            if win.tokens >= self.window_tokens:
                yield self._close(win)
                win = _Open()
        if win.chunk_sizes:
            yield self._close(win)

    def tokenize(self, texts: list[str], max_length: int) -> TokenArrays:
        ids = self.tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_length,
                             return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        return TokenArrays.from_lists(ids)

    def _add(self, win: _Open, chunk: Sequence[Pair]) -> None:
        where = np.empty(len(chunk), dtype=np.int64)
        new: list[int] = []
        plain = self.query_template == "{query}" and self.doc_template == "{doc}"
        for i, (q, d) in enumerate(chunk):
            pair = (q, d) if plain else (self.query_template.format(query=q), self.doc_template.format(doc=d))
            k = win.unique.get(pair)
            if k is None:
                k = win.unique[pair] = len(win.keys)
                win.pairs.append(pair)
                win.keys.append(win.digest(pair[0]) + win.digest(pair[1]))
                win.scores.append(np.nan)
                new.append(k)
            where[i] = k
        win.where.append(where)
        win.chunk_sizes.append(len(chunk))
        if not new:
            return
        cached = self.lookup([win.keys[k] for k in new]) if self.lookup is not None else {}
        win.hits += len(cached)
        pairs = win.pairs
        todo = [k for k in new if win.keys[k] not in cached]
        for k in new:
            if win.keys[k] in cached:
                win.scores[k] = cached[win.keys[k]]
        if not todo:
            return
        q_new = list(dict.fromkeys(pairs[k][0] for k in todo if pairs[k][0] not in win.q_rows))
        d_new = list(dict.fromkeys(pairs[k][1] for k in todo if pairs[k][1] not in win.d_rows))
        self._extend(win.q_rows, win.q_len, win.q_parts, q_new, self.query_budget)
        self._extend(win.d_rows, win.d_len, win.d_parts, d_new, self.max_length)
        q_len, d_len = win.q_len, win.d_len
        for k in todo:
            q, d = pairs[k]
            win.missing.append(k)
            win.miss_q.append(win.q_rows[q])
            win.miss_d.append(win.d_rows[d])
            lq = q_len[q]
            win.tokens += self.specials + lq + min(d_len[d], max(self.max_length - self.specials - lq, 0))

    def _extend(self, rows: dict[str, int], lengths: dict[str, int], parts: list[TokenArrays], texts: list[str],
                max_length: int) -> None:
        """Tokenizes `texts` (new to the window) and appends them to `parts`, recording their rows and lengths."""
        if texts:
            base = sum(len(p) for p in parts)
            part = self.tokenize(texts, max_length)
            parts.append(part)
            rows.update((t, base + i) for i, t in enumerate(texts))
            lengths.update(zip(texts, part.lengths.tolist()))

    def _close(self, win: _Open) -> Window:
        queries, docs = TokenArrays.concat(win.q_parts), TokenArrays.concat(win.d_parts)
        tokens = pair_tokens(queries, np.asarray(win.miss_q, dtype=np.int64), docs,
                             np.asarray(win.miss_d, dtype=np.int64), self.layout, self.max_length)
        return Window(win.chunk_sizes, np.concatenate(win.where) if win.where else np.zeros(0, dtype=np.int64),
                      win.keys, np.asarray(win.scores, dtype=np.float32), np.asarray(win.missing, dtype=np.int64),
                      tokens, win.hits)
