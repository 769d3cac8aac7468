"""Scoring windows: a stream of pair chunks cut into windows of about `window_tokens` model tokens.

Per window: templates applied, identical pairs deduped, the pair cache read and, unless it holds every pair, all
the window's unique pairs tokenized (each distinct query and document once) into flat int32 token arrays. Nothing
outlives its window, so memory is set by the window size, not by the run.

What a window holds never depends on the pair cache: a window closes at a chunk boundary (the pipeline hands one
query's candidates per chunk) once its unique pairs' estimated tokens reach the budget, a pair counting
min(UTF-8 bytes / 4 + special tokens, max_length) (XLM-R: 3.4-4.4 bytes a token for zh, ja, ko, en, de, es; 5-10
for ar, ru, hi, th, where windows hold fewer real tokens). The engine plans its batches over all of a window's
pairs, so a pair lands in the same batch, and gets the same bits, whether the run starts on an empty cache, resumes
after a kill or shares the cache with parallel runs of the same configuration.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.models.tokens import TokenArrays, keep_tail, pair_tokens
from evalkit.rerank.chunks import Chunking, chunk_spans

Pair = tuple[str, str]   # (query, document); with chunk_title, the document is (title + separator, body)
BYTES_PER_TOKEN = 4
ENCODE_PARTS = 8          # a window's texts are encoded in this many parts (at least ENCODE_MIN texts each)...
ENCODE_MIN = 64
# ... the next part here. Every tokenizer call of the engine's windows runs in this one thread: two windows are
# tokenized at once, and a Hugging Face fast tokenizer used from two threads while its truncation is set raises
# "Already borrowed".
_ENCODER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalkit-encode")
_IDS = attrgetter("ids")


def _encode_overlapped(backend: Any, texts: list[str], max_length: int) -> TokenArrays:
    """Token ids of `texts` by the Rust backend (no special tokens), cut to `max_length`: part k+1 is encoded in a
    worker thread (the tokenizer releases the GIL and uses every core) while part k's ids are copied out here."""
    step = max(ENCODE_MIN, -(-len(texts) // ENCODE_PARTS))
    parts = [texts[i:i + step] for i in range(0, len(texts), step)]
    arrays: list[TokenArrays] = []
    pending = _ENCODER.submit(backend.encode_batch_fast, parts[0], add_special_tokens=False) if parts else None
    for k in range(len(parts)):
        encodings = pending.result()
        if k + 1 < len(parts):
            pending = _ENCODER.submit(backend.encode_batch_fast, parts[k + 1], add_special_tokens=False)
        lengths = np.fromiter(map(len, encodings), np.int64, len(encodings))
        arrays.append(TokenArrays.from_sized(map(_IDS, encodings), lengths, max_length))
    return TokenArrays.concat(arrays)


@dataclass
class Window:
    """One window's requested pairs, reduced to unique pairs; `tokens` row k is the model input of unique pair k
    (empty when the cache held every pair). `plans` yields windows without tokens (`pairs` still held); `finish`
    adds the tokens and lets go of the texts."""

    chunk_sizes: list[int]          # pairs per input chunk, in order
    where: np.ndarray               # int64 per requested pair: its unique pair
    keys: list[bytes]               # per unique pair: its pair-cache key
    scores: np.ndarray              # float32 per unique pair: cached score, NaN where missing
    missing: np.ndarray             # int64: unique pairs the cache did not have
    cache_hits: int = 0
    pairs: list[Pair] = field(default_factory=list)   # per unique pair: its templated texts (until `finish`)
    tokens: TokenArrays | None = None                  # model input ids of every unique pair (after `finish`)
    # long documents in chunks (evalkit.rerank.chunks): `where` is then per requested chunk, and
    doc_offsets: np.ndarray | None = None   # int64: requested document i's chunks are where[doc_offsets[i]:[i + 1]]
    spans: np.ndarray | None = None         # int32 (chunks, 2): each requested chunk's [start, end) body tokens
    n_chunks: np.ndarray | None = None      # int32 per requested document: its chunks (firstp scores only one)


@dataclass
class _Open:
    """A window being filled."""

    chunk_sizes: list[int] = field(default_factory=list)
    where: list[np.ndarray] = field(default_factory=list)
    unique: dict[bytes, int] = field(default_factory=dict)   # pair-cache key -> its index in `pairs`
    pairs: list[Pair] = field(default_factory=list)
    keys: list[bytes] = field(default_factory=list)
    queries: dict[str, tuple[bytes, int]] = field(default_factory=dict)   # query -> (sha256, UTF-8 bytes)
    estimate: int = 0
    n_chunks: list[int] = field(default_factory=list)         # chunked: chunks per requested document
    spans: list[np.ndarray] = field(default_factory=list)     # chunked: spans of each document's scored chunks
    query_tokens: dict[str, int] = field(default_factory=dict)   # chunked: tokens of each (cut) query


class WindowBuilder:
    """Turns chunks of raw (query, doc) pairs into `Window`s: `plans` then `finish` (the engine runs each in a
    thread of its own).

    `lookup(keys) -> {key: score}` reads the pair cache (its own connection: SQLite connections stay in the
    thread that opened them). `layout` is the tokenizer's (prefix, middle, suffix) special tokens of a pair.
    """

    def __init__(self, tokenizer: Any, layout: tuple[list[int], list[int], list[int]], max_length: int,
                 query_budget: int, query_template: str, doc_template: str, window_tokens: int, lookup=None,
                 query_tail: int = 0, chunking: Chunking | None = None):
        self.tokenizer, self.layout, self.max_length, self.query_budget = tokenizer, layout, max_length, query_budget
        self.query_tail = query_tail   # a query cut keeps its last `query_tail` tokens (template text after {query})
        self.chunking = chunking       # None: a document is cut to what max_length leaves (truncate)
        self.query_template, self.doc_template = query_template, doc_template
        self.window_tokens, self.lookup = window_tokens, lookup
        self.specials = sum(len(part) for part in layout)

    def windows(self, chunks: Iterable[Sequence[Pair]]) -> Iterator[Window]:
        return map(self.finish, self.plans(chunks))

    def plans(self, chunks: Iterable[Sequence[Pair]]) -> Iterator[Window]:
        """The windows' pairs, deduped, keyed and looked up in the cache: everything but the tokens (`finish`), so
        the engine can plan the next window in one thread while another tokenizes this one."""
        win = _Open()
        for chunk in chunks:
            self._add(win, chunk)
            if win.estimate >= self.window_tokens:
                yield self._plan(win)
                win = _Open()
        if win.chunk_sizes:
            yield self._plan(win)

    def tokenize(self, texts: list[str], max_length: int) -> TokenArrays:
        """Token ids of `texts` without special tokens, cut to `max_length`. A fast tokenizer's Rust backend is
        called directly (`encode_batch_fast`: no character offsets) and cut here, which gives the ids of
        `tokenizer(texts, truncation=True, max_length=...)` at ~1.5x its rate on short texts."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None and backend.truncation is None and backend.padding is None:
            return _encode_overlapped(backend, texts, max_length)
        ids = _ENCODER.submit(self.tokenizer, texts, add_special_tokens=False, truncation=True, max_length=max_length,
                              return_attention_mask=False, return_token_type_ids=False).result()["input_ids"]
        return TokenArrays.from_lists(ids)

    def _add(self, win: _Open, chunk: Sequence[Pair]) -> None:
        if self.chunking is not None:
            return self._add_chunked(win, chunk)
        self._add_pairs(win, chunk)

    def _add_pairs(self, win: _Open, chunk: Sequence[Pair]) -> None:
        """Pairs deduped by their cache key, sha256(query) + sha256(doc) (`pair_key`): a query's digest is kept
        for the window (it recurs once per candidate), a document's is taken once per pair."""
        where = np.empty(len(chunk), dtype=np.int64)
        plain = self.query_template == "{query}" and self.doc_template == "{doc}"
        for i, (q, d) in enumerate(chunk):
            if not plain:
                q, d = self.query_template.format(query=q), self.doc_template.format(doc=d)
            query = win.queries.get(q)
            if query is None:
                raw = q.encode()
                query = win.queries[q] = (hashlib.sha256(raw).digest(), len(raw))
            raw = d.encode()
            key = query[0] + hashlib.sha256(raw).digest()
            k = win.unique.get(key)
            if k is None:
                k = win.unique[key] = len(win.keys)
                win.pairs.append((q, d))
                win.keys.append(key)
                win.estimate += min(self.specials + (query[1] + len(raw)) // BYTES_PER_TOKEN, self.max_length)
            where[i] = k
        win.where.append(where)
        win.chunk_sizes.append(len(chunk))

    def _add_chunked(self, win: _Open, chunk: Sequence[Pair]) -> None:
        """Each document cut into chunks of its own tokens (whole document tokenized), each chunk a pair: the query,
        then the doc template's text before {doc} and the title (chunk_title), the chunk, the template's text
        after {doc}. A chunk's key is sha256(query) + sha256(its token ids): identical model input, one key."""
        c = self.chunking
        head_t, tail_t = self.doc_template.format(doc="\0").split("\0")
        queries = [self.query_template.format(query=q) for q, _ in chunk]
        new = [q for q in dict.fromkeys(queries) if q not in win.query_tokens]
        if new:
            win.query_tokens.update(zip(new, self._query_arrays(new).lengths.tolist()))
        heads, bodies = [], []
        for _, d in chunk:
            title, body = d if isinstance(d, tuple) else ("", d)
            if not c.chunk_title:
                title, body = "", title + body
            heads.append(head_t + title)
            bodies.append(body)
        parts = self._split(heads, bodies, tail_t)
        rows = []
        for q, (head, body, tail) in zip(queries, parts):
            query = win.queries.get(q)
            if query is None:
                query = win.queries[q] = (hashlib.sha256(q.encode()).digest(), len(q.encode()))
            q_len = win.query_tokens[q]
            room = max(self.max_length - self.specials - q_len - len(head) - len(tail), 1)
            size = min(c.chunk_tokens or room, room)
            spans = chunk_spans(len(body), size, min(c.chunk_stride or size, size))
            win.n_chunks.append(len(spans))
            if c.strategy == "firstp":
                spans = spans[:1]
            for start, end in spans.tolist():
                ids = np.concatenate([head, body[start:end], tail])
                key = query[0] + hashlib.sha256(b"\0ids" + ids.tobytes()).digest()
                k = win.unique.get(key)
                if k is None:
                    k = win.unique[key] = len(win.keys)
                    win.pairs.append((q, ids))
                    win.keys.append(key)
                    win.estimate += min(self.specials + q_len + len(ids), self.max_length)
                rows.append(k)
            win.spans.append(spans.astype(np.int32))
        win.where.append(np.asarray(rows, dtype=np.int64))
        win.chunk_sizes.append(len(chunk))

    def _split(self, heads: list[str], bodies: list[str], tail: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(head, body, tail) token ids of each `head + body + tail`, tokenized as one text (so a document that
        fits one chunk is read exactly as truncate reads it); a token belongs to the head if it ends inside it,
        to the tail if it starts inside it."""
        texts = [h + b + tail for h, b in zip(heads, bodies)]
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if not any(heads) and not tail:
            body = self.tokenize(texts, 1 << 31)
            empty = np.zeros(0, dtype=np.int32)
            return [(empty, body.ids[a:b], empty) for a, b in zip(body.offsets[:-1], body.offsets[1:])]
        if backend is None:
            raise EvalkitError("reranker.long_docs: chunking needs a fast (Rust) tokenizer with offsets")
        out = []
        for head, body, enc in zip(heads, bodies, _ENCODER.submit(backend.encode_batch, texts,
                                                                  add_special_tokens=False).result()):
            ids = np.asarray(enc.ids, dtype=np.int32)
            offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
            n_head = int(np.searchsorted(offsets[:, 1], len(head), side="right")) if head else 0
            n_tail = int((offsets[n_head:, 0] >= len(head) + len(body)).sum()) if tail else 0
            out.append((ids[:n_head], ids[n_head:len(ids) - n_tail], ids[len(ids) - n_tail:]))
        return out

    def _query_arrays(self, texts: list[str]) -> TokenArrays:
        """The model's ids of templated queries, cut to the query budget (keeping the template's tail)."""
        if self.query_tail:   # whole queries first: the template's tail is at the end of the text
            return keep_tail(self.tokenize(texts, 1 << 31), self.query_budget, self.query_tail)
        return self.tokenize(texts, self.query_budget)

    def _plan(self, win: _Open) -> Window:
        cached = self.lookup(win.keys) if self.lookup is not None and win.keys else {}
        scores = np.array([cached.get(k, np.nan) for k in win.keys], dtype=np.float32)
        missing = np.array([i for i, k in enumerate(win.keys) if k not in cached], dtype=np.int64)
        where = np.concatenate(win.where) if win.where else np.zeros(0, dtype=np.int64)
        window = Window(win.chunk_sizes, where, win.keys, scores, missing, len(cached), win.pairs)
        if self.chunking is not None:
            window.doc_offsets = np.concatenate([[0], np.cumsum([len(s) for s in win.spans], dtype=np.int64)])
            window.spans = np.concatenate(win.spans) if win.spans else np.zeros((0, 2), dtype=np.int32)
            window.n_chunks = np.asarray(win.n_chunks, dtype=np.int32)
        return window

    def finish(self, plan: Window) -> Window:
        """The planned window with the model input of every unique pair (none when the cache held them all)."""
        if not len(plan.missing):
            return replace(plan, pairs=[], tokens=TokenArrays.concat([]))
        q_rows: dict[str, int] = {}
        for q, _ in plan.pairs:
            q_rows.setdefault(q, len(q_rows))
        queries = self._query_arrays(list(q_rows))
        n = len(plan.pairs)
        if self.chunking is not None:   # the chunks' ids are the documents
            docs, d_index = TokenArrays.from_lists(ids for _, ids in plan.pairs), np.arange(n, dtype=np.int64)
        else:
            d_rows: dict[str, int] = {}
            for _, d in plan.pairs:
                d_rows.setdefault(d, len(d_rows))
            docs = self.tokenize(list(d_rows), self.max_length)
            d_index = np.fromiter((d_rows[d] for _, d in plan.pairs), np.int64, n)
        tokens = pair_tokens(queries, np.fromiter((q_rows[q] for q, _ in plan.pairs), np.int64, n), docs, d_index,
                             self.layout, self.max_length)
        return replace(plan, pairs=[], tokens=tokens)
