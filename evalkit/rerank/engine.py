"""The cross-encoder scoring engine: pairs stream through windows (evalkit.rerank.windows) prepared in a background
thread (dedupe, pair cache, tokenization into flat int32 arrays) while the model scores the previous window in
length-sorted token-budget batches; scores are written to the pair cache batch by batch.

Scores are batch-invariant: a pair's fp32 score moves by < 1e-5 whatever batch (and padding) it lands in, so
batch size and device are left out of the fingerprint; everything that changes what the model computes is in it.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from evalkit.config import SCORE_TRANSFORMS
from evalkit.errors import EvalkitError
from evalkit.models.device import TORCH_DTYPES, resolve_device_dtype
from evalkit.models.guard import PackedGuard, guard_enabled
from evalkit.progress import Progress
from evalkit.models.batching import BudgetRunner
from evalkit.rerank.cache import PairCache, pair_key
from evalkit.rerank.chunks import LONG_DOCS, Chunking, aggregate, chunking_of
from evalkit.models.prefetch import map_ahead, prefetch
from evalkit.models.tokens import WINDOW_TOKENS, TokenArrays, check_query_budget, query_budget
from evalkit.rerank.windows import Window, WindowBuilder
from evalkit.storage import cache_root

SCORE_CHUNK = 64            # score(pairs) feeds its pairs to the windows in chunks of this many
RECENT_WINDOWS = 2          # a pair scored in one of the last windows is not scored again (cache on or off)


@dataclass(frozen=True)
class EngineSettings:
    max_length: int
    query_max_length: int | None = None    # None: 3/4 of max_length (FlagEmbedding's convention)
    query_template: str = "{query}"
    doc_template: str = "{doc}"
    score_transform: str = "logit"
    batch_tokens: int = 16384
    dtype: str = "fp32"
    device: str = "cpu"
    window_tokens: int = WINDOW_TOKENS
    packed: bool = False      # padding-free forward passes (evalkit.models.packed); batch_tokens = real tokens
    long_docs: str = "truncate"          # evalkit.rerank.chunks: truncate | maxp | firstp | sump | meanp
    chunk_tokens: int | None = None
    chunk_stride: int | None = None
    chunk_title: bool = True

    @property
    def chunking(self) -> Chunking | None:
        return chunking_of(self.long_docs, self.chunk_tokens, self.chunk_stride, self.chunk_title)

    @property
    def query_budget(self) -> int:
        return query_budget(self.max_length, self.query_max_length)


@dataclass
class ScoreStats:
    """What `cached_scores` counts for any scorer (local model or HTTP endpoint)."""
    pairs_requested: int = 0
    unique_pairs: int = 0
    cache_hits: int = 0
    scored: int = 0
    wall_seconds: float = 0.0


@dataclass
class EngineStats(ScoreStats):
    tokens: int = 0
    padded_tokens: int = 0
    documents: int = 0        # long_docs chunking: documents requested (pairs_requested then counts chunks)
    batches: int = 0
    budget_changes: int = 0
    windows: int = 0


def _check(settings: EngineSettings, model: torch.nn.Module, n_special: int) -> None:
    s = settings
    if s.score_transform not in SCORE_TRANSFORMS:
        raise EvalkitError(f"reranker.score_transform: {s.score_transform!r} is not one of {SCORE_TRANSFORMS}")
    if s.dtype not in TORCH_DTYPES:
        raise EvalkitError(f"reranker.dtype: {s.dtype!r} is not one of {tuple(TORCH_DTYPES)}")
    for key, template, field in (("query_template", s.query_template, "query"), ("doc_template", s.doc_template, "doc")):
        try:
            ok = "\0" in template.format(**{field: "\0"})
        except (KeyError, IndexError, ValueError):
            ok = False
        if not ok:
            raise EvalkitError(f"reranker.{key}: {template!r} must contain '{{{field}}}' and no other field")
    if s.packed:
        from evalkit.models.packed import supports

        if not supports(model):
            raise EvalkitError(f"reranker.packed: {type(model).__name__} has no packed forward pass "
                               "(GTE and XLM-R cross-encoders have one); set reranker.packed=false")
    if s.window_tokens < 1:
        raise EvalkitError(f"reranker.window_tokens: {s.window_tokens} must be >= 1")
    if s.long_docs not in LONG_DOCS:
        raise EvalkitError(f"reranker.long_docs: {s.long_docs!r} is not one of {', '.join(LONG_DOCS)}")
    if s.chunking is not None and s.chunk_tokens is not None and s.chunk_tokens > s.max_length - n_special - 1:
        raise EvalkitError(f"reranker.chunk_tokens: {s.chunk_tokens} leaves no room for a query within "
                           f"reranker.max_length {s.max_length} ({n_special} special/prompt tokens)")
    if s.chunking is not None and s.chunk_stride is not None and s.chunk_stride > (s.chunk_tokens or s.max_length):
        raise EvalkitError(f"reranker.chunk_stride: {s.chunk_stride} is above the chunk size "
                           f"({s.chunk_tokens or s.max_length}): text between chunks would never be read")
    problem = check_query_budget(s.max_length, s.query_budget, n_special)
    if problem:
        raise EvalkitError(f"reranker.query_max_length: {problem}")
    weights = next(model.parameters()).dtype
    if weights != TORCH_DTYPES[s.dtype]:
        raise EvalkitError(f"reranker.dtype: {s.dtype} requested but the model's weights are {weights}")


ScoreMissing = Callable[[list[tuple[str, str]], list[tuple[str, str]], list[bytes]], np.ndarray]


def cached_scores(pairs: Sequence[tuple[str, str]], settings: EngineSettings, cache: PairCache | None,
                  fingerprint: str, stats: ScoreStats, score_missing: ScoreMissing,
                  progress: Progress | None = None) -> np.ndarray:
    """Scores in input order: templates applied, identical pairs deduped, what the cache holds taken from it,
    the rest from `score_missing(raw pairs, templated pairs, cache keys)`. Shared by every executor.
    `progress` counts the pairs that need no scoring (cached, repeated) at once; `score_missing` counts the rest
    (one per missing unique pair, so the total is len(pairs))."""
    start = time.perf_counter()
    unique: dict[tuple[str, str], int] = {}
    raw: list[tuple[str, str]] = []            # the untemplated pair of each unique one
    where = np.empty(len(pairs), dtype=np.int64)
    for i, (q, d) in enumerate(pairs):
        key = (settings.query_template.format(query=q), settings.doc_template.format(doc=d))
        if key not in unique:
            unique[key] = len(raw)
            raw.append((q, d))
        where[i] = unique[key]
    templated = list(unique)
    keys = [pair_key(q, d) for q, d in templated]
    cached = cache.get_many(fingerprint, keys) if cache is not None else {}
    scores = np.array([cached.get(k, np.nan) for k in keys], dtype=np.float32)
    missing = [i for i, k in enumerate(keys) if k not in cached]
    if progress is not None:
        progress.update(len(pairs) - len(missing))
    if missing:
        scores[missing] = score_missing([raw[i] for i in missing], [templated[i] for i in missing],
                                        [keys[i] for i in missing])
    stats.pairs_requested += len(pairs)
    stats.unique_pairs += len(keys)
    stats.cache_hits += len(keys) - len(missing)
    stats.scored += len(missing)
    stats.wall_seconds += time.perf_counter() - start
    return scores[where]


class CrossEncoder:
    """A `Scorer`: score(pairs) -> float32 scores in input order.

    Subclasses (evalkit/rerank/decoder.py) change what a pair's tokens are (`_make_layout`, `query_tail`), what the
    model computes (`_forward`, `_packed_forward`, `_check_head`) and what the fingerprint holds
    (`_fingerprint_parts`). A forward may return several outputs per pair (n, k): column 0 is the score, column j
    is cached under `extra_fingerprints[j - 1]` (a layer-wise model's other cutoff layers)."""

    query_tail = 0                      # tokens at the end of the templated query that a query cut keeps
    extra_fingerprints: tuple[str, ...] = ()

    def __init__(self, model: torch.nn.Module, tokenizer: Any, info: dict[str, Any], settings: EngineSettings,
                 cache: PairCache | None = None, progress: bool | None = None):
        self.tokenizer = tokenizer
        self._layout = self._make_layout(tokenizer)
        _check(settings, model, sum(len(part) for part in self._layout))
        self._check_head(model)
        self.model, self.info, self.settings, self.cache = model.eval(), info, settings, cache
        self.stats = EngineStats()
        self.progress = progress is not False   # score(): one bar over its pairs (rerank_runs has the run's)
        self._runner = BudgetRunner(settings.batch_tokens, tokenizer.pad_token_id, progress=False,
                                    device=settings.device)
        self.fingerprint = self._fingerprint()
        self._guard = None
        if settings.packed and guard_enabled(settings.device):   # the packed path checked on its first batch
            self.info = dict(info)                               # its own: the guard records its decision here
            padded = lambda tokens, rows: self._forward(*self._runner._inputs(tokens, rows))   # noqa: E731
            self._guard = PackedGuard(self._packed_forward, padded, settings.dtype, self.info, type(model).__name__)

    @property
    def provenance(self) -> dict[str, Any]:
        """What a report records next to the scores: the model's info, the resolved settings, the fingerprint."""
        return {**self.info, "settings": asdict(self.settings), "query_budget": self.settings.query_budget,
                "fingerprint": self.fingerprint}

    def _make_layout(self, tokenizer: Any) -> tuple[list[int], list[int], list[int]]:
        return _pair_layout(tokenizer)

    def _check_head(self, model: torch.nn.Module) -> None:
        if model.config.num_labels != 1:
            raise EvalkitError(f"reranker.model: a cross-encoder needs 1 output, this head has "
                               f"{model.config.num_labels}")

    def _fingerprint_parts(self) -> dict[str, Any]:
        s = self.settings
        return {"weights_hash": self.info["weights_hash"], "revision": self.info.get("revision"),
                "tokenizer_hash": self.info["tokenizer_hash"], "model_class": type(self.model).__name__,
                "max_length": s.max_length, "query_max_length": s.query_budget, "query_template": s.query_template,
                "doc_template": s.doc_template, "dtype": s.dtype, "score_transform": s.score_transform}

    def _fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self._fingerprint_parts(), sort_keys=True).encode()).hexdigest()

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """float32 scores of `pairs` in input order (the `Scorer` contract)."""
        chunks = (pairs[k:k + SCORE_CHUNK] for k in range(0, len(pairs), SCORE_CHUNK))
        with Progress(len(pairs), "rerank", "pairs", enabled=self.progress) as bar:
            parts = list(self.score_stream(chunks, progress=bar))
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.float32)

    def score_stream(self, chunks: Iterable[Sequence[tuple[str, str]]],
                     progress: Progress | None = None) -> Iterator[np.ndarray]:
        """One float32 score array per chunk of (query, doc) pairs, in order. Chunks are read and tokenized in two
        background threads up to two windows ahead of the model; memory is bounded by `settings.window_tokens`.
        `progress.update(n)` counts requested pairs as they are known: a window's cached and repeated pairs when
        it starts, the others batch by batch (a window can take minutes on a CPU)."""
        for scores, _ in self.score_stream_chunked(chunks, progress):
            yield scores

    def score_stream_chunked(self, chunks: Iterable[Sequence[tuple[str, str]]], progress: Progress | None = None
                             ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray] | None]]:
        """`score_stream` with, per chunk of pairs under reranker.long_docs chunking, each document's chunk count,
        its best chunk and that chunk's [start, end) in the document's tokens (int32 arrays), else None."""
        recent: deque[dict[bytes, float]] = deque(maxlen=RECENT_WINDOWS)
        for window in prefetch(self._windows(chunks), depth=1, name="evalkit-rerank-windows"):
            scores = self._score_window(window, recent, progress)[window.where]
            details = None
            if window.doc_offsets is not None:
                scores, best = aggregate(self.settings.long_docs, scores, window.doc_offsets)
                span = window.spans[window.doc_offsets[:-1] + best]
                details = {"chunks": window.n_chunks, "best": best, "start": span[:, 0], "end": span[:, 1]}
            start = 0
            for size in window.chunk_sizes:
                part = slice(start, start + size)
                yield scores[part], details and {name: values[part] for name, values in details.items()}
                start += size

    def _windows(self, chunks: Iterable[Sequence[tuple[str, str]]]) -> Iterator[Window]:
        """Runs in the prefetch thread: tokenizes (Rust, GIL released, every core) windows k+1 and k+2 in two
        threads while another plans window k+3 (fetch texts, dedupe, cache lookup) and the model scores window k."""
        builder = self._builder()
        yield from map_ahead(builder.finish, prefetch(self._plans(chunks), depth=1, name="evalkit-rerank-plans"),
                             workers=2, name="evalkit-rerank-finish")

    def _plans(self, chunks: Iterable[Sequence[tuple[str, str]]]) -> Iterator[Window]:
        """Runs in its own thread, with its own pair-cache connection (SQLite's are per thread)."""
        reader = PairCache(self.cache.path) if self.cache is not None else None
        try:
            lookup = (lambda keys: reader.get_many(self.fingerprint, keys)) if reader is not None else None
            yield from self._builder(lookup).plans(chunks)
        finally:
            if reader is not None:
                reader.close()

    def _builder(self, lookup=None, window_tokens: int | None = None) -> WindowBuilder:
        s = self.settings
        return WindowBuilder(self.tokenizer, self._layout, s.max_length, s.query_budget, s.query_template,
                             s.doc_template, s.window_tokens if window_tokens is None else window_tokens, lookup,
                             query_tail=self.query_tail, chunking=s.chunking)

    def _score_window(self, window: Window, recent: deque[dict[bytes, float]],
                      progress: Progress | None = None) -> np.ndarray:
        """The window's unique-pair scores: cached ones as read, repeats of recent windows' pairs from them, the
        rest from the model. Batches are planned over all the window's pairs and a batch runs when any of its
        pairs is unknown, so a score never depends on what the cache held; only unknown pairs' scores are used
        and written (each batch to the cache as soon as it is scored)."""
        start = time.perf_counter()
        scores, keys, missing = window.scores, window.keys, window.missing
        known = np.ones(len(keys), dtype=bool)
        known[missing] = False
        repeated = 0
        for k in missing.tolist() if recent else ():
            key = keys[k]
            for r in recent:
                if key in r:
                    scores[k], known[k] = r[key], True
                    repeated += 1
                    break
        todo = np.flatnonzero(~known)
        # requested pairs per unique pair (chunked: a document counts 1, shared by the chunks scored for it)
        weights = None if window.doc_offsets is None else np.repeat(1 / np.diff(window.doc_offsets),
                                                                    np.diff(window.doc_offsets))
        requested = np.bincount(window.where, weights=weights, minlength=len(keys))
        # the cost of a pair for the ETA: its tokens when the model scores it, nothing when known
        lengths = window.tokens.lengths if len(todo) else np.zeros(len(keys), dtype=np.int64)
        if progress is not None:
            progress.expect(round(requested.sum()), float(lengths[todo].sum()))
            progress.update(_count(requested[known].sum()))
        if len(todo):
            before = asdict(self._runner.stats)

            def save(idx: np.ndarray, out: np.ndarray) -> None:
                new = ~known[idx]
                if self.cache is None:
                    return
                columns = out.reshape(len(idx), -1)
                for j, fingerprint in enumerate((self.fingerprint, *self.extra_fingerprints)):
                    self.cache.put_many(fingerprint, ((keys[i], v) for i, v in zip(idx[new], columns[new, j])))

            packed = self.settings.packed and not (self._guard is not None and self._guard.fallen)
            forward = (self._guard or self._packed_forward) if packed else self._forward
            def advance(idx: np.ndarray) -> None:
                new = idx[~known[idx]]
                progress.update(_count(requested[new].sum()), float(lengths[new].sum()))

            out = self._runner.run(window.tokens, forward, on_batch=save, desc="rerank", packed=packed,
                                   skip=known, on_progress=advance if progress is not None else None)
            scores[todo] = out[todo] if out.ndim == 1 else out[todo, 0]
            for name, value in asdict(self._runner.stats).items():
                setattr(self.stats, name, getattr(self.stats, name) + value - before[name])
        recent.append({keys[k]: float(scores[k]) for k in todo.tolist()})
        st = self.stats
        st.pairs_requested += len(window.where)
        st.documents += len(window.where) if window.doc_offsets is None else len(window.doc_offsets) - 1
        st.unique_pairs += len(keys)
        st.cache_hits += window.cache_hits + repeated
        st.scored += len(todo)
        st.windows += 1
        st.wall_seconds += time.perf_counter() - start
        return scores

    def encode(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        """The token ids the model reads for each pair (templates applied, special tokens added)."""
        return self.encode_arrays(pairs).tolist()

    def encode_arrays(self, pairs: Sequence[tuple[str, str]]) -> TokenArrays:
        """`encode` as flat int32 arrays: row i is pair i (duplicates included)."""
        window = next(self._builder(window_tokens=1 << 62).windows([pairs]), None)
        return window.tokens.take(window.where) if window is not None else TokenArrays.concat([])

    def _packed_forward(self, tokens: TokenArrays, rows: np.ndarray) -> torch.Tensor:
        from evalkit.models.packed import packed_logits

        logits = packed_logits(self.model, tokens, rows, self.settings.device)[:, 0].float()
        return torch.sigmoid(logits) if self.settings.score_transform == "sigmoid" else logits

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        input_ids = input_ids.to(self.settings.device)
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask.to(self.settings.device),
                            token_type_ids=torch.zeros_like(input_ids)).logits[:, 0].float()
        return torch.sigmoid(logits) if self.settings.score_transform == "sigmoid" else logits


def _count(n: float) -> int | float:
    """A progress count: whole numbers as int (a chunked document's share of its chunks is a fraction)."""
    return int(n) if float(n).is_integer() else float(n)


def _pair_layout(tokenizer: Any) -> tuple[list[int], list[int], list[int]]:
    """The special tokens a tokenizer puts before, between and after a pair (XLM-R: <s> | </s></s> | </s>),
    read off the tokenizer's own pair encoding of two probe words."""
    a, b = (tokenizer(w, add_special_tokens=False)["input_ids"] for w in ("query", "document"))
    full = tokenizer("query", "document")["input_ids"]
    i = next(k for k in range(len(full)) if full[k:k + len(a)] == a)
    j = next(k for k in range(i + len(a), len(full)) if full[k:k + len(b)] == b)
    return full[:i], full[i + len(a):j], full[j + len(b):]


CPU_BATCH_TOKENS = 16384
CUDA_BYTES_PER_TOKEN = 64 * 1024   # activation memory a batch token may take (GTE-base fp16 peaks near 20 KiB)


def resolve_batch_tokens(batch_tokens: int, device: str) -> int:
    """`batch_tokens <= 0` (auto): 16,384 on CPU; on CUDA what a quarter of the free device memory holds at
    CUDA_BYTES_PER_TOKEN, between 16,384 and 1,048,576 tokens (an out-of-memory error still halves it)."""
    if batch_tokens > 0:
        return batch_tokens
    if not device.startswith("cuda"):
        return CPU_BATCH_TOKENS
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return int(min(max(free // 4 // CUDA_BYTES_PER_TOKEN, CPU_BATCH_TOKENS), 1 << 20))


def resolve_window_tokens(window_tokens: int, batch_tokens: int) -> int:
    """`window_tokens <= 0` (auto): 2M tokens (~8 MB of ids; padding efficiency >= 0.99 at 16K-token batches),
    or 8 batches when batches are larger, so a GPU's batches stay full (results/bench/window-padding-*.md)."""
    return window_tokens if window_tokens > 0 else max(WINDOW_TOKENS, 8 * batch_tokens)


def resolve_packed(packed: Any, device: str, dtype: str, model: torch.nn.Module) -> bool:
    """'auto': packed on CUDA in fp16/bf16 for GTE and XLM-R (FlashAttention varlen), padded elsewhere (on CPU
    padded batches are as fast, and varlen kernels need half precision)."""
    from evalkit.models.packed import supports

    choice = str(packed).lower()   # Hydra hands a str field `true` over as "True"
    if choice in ("true", "false"):
        return choice == "true"
    if choice != "auto":
        raise EvalkitError(f"reranker.packed: {packed!r} is not one of auto, true, false")
    return device.startswith("cuda") and dtype in ("fp16", "bf16") and supports(model)


def build_cross_encoder(cfg: Any, cache_dir: str | Path | None = None, progress: bool | None = None) -> CrossEncoder:
    """A CrossEncoder from an evalkit.config.RerankerConfig; `max_length: null` becomes the model's own limit."""
    from evalkit.models import loading   # imported here: loading pulls in model code this module does not need

    device, dtype = resolve_device_dtype(cfg.device, cfg.dtype)
    loaded = loading.load_cross_encoder(cfg.model, revision=cfg.revision, dtype=dtype, device=device,
                                        attn_implementation=cfg.attn_implementation)
    limit = loading.model_max_length(loaded)
    max_length = cfg.max_length if cfg.max_length is not None else limit
    if max_length > limit:
        raise EvalkitError(f"reranker.max_length: {max_length} exceeds the model's limit of {limit} tokens")
    settings = engine_settings(cfg, loaded.model, device, dtype, max_length)
    return CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, settings, cache=pair_cache(cfg, cache_dir),
                        progress=progress)


def pair_cache(cfg: Any, cache_dir: str | Path | None = None) -> PairCache | None:
    """The reranker config's pair-score cache (None when reranker.cache=false)."""
    if not cfg.cache:
        return None
    root = Path(cache_dir) if cache_dir is not None else cache_root()   # EVALKIT_CACHE, like every cache
    return PairCache(cfg.cache_path or root / "pair_scores.sqlite")


def engine_settings(cfg: Any, model: torch.nn.Module, device: str, dtype: str, max_length: int,
                    query_max_length: int | None = None, query_template: str | None = None,
                    doc_template: str | None = None) -> EngineSettings:
    """EngineSettings from a reranker config, auto values resolved; the templates and query budget default to
    the config's (a decoder passes its prompt's)."""
    packed = resolve_packed(cfg.packed, device, dtype, model)
    batch_tokens = resolve_batch_tokens(cfg.batch_tokens, device)
    return EngineSettings(max_length=max_length,
                          query_max_length=cfg.query_max_length if query_max_length is None else query_max_length,
                          query_template=query_template or cfg.query_template,
                          doc_template=doc_template or cfg.doc_template, score_transform=cfg.score_transform,
                          batch_tokens=batch_tokens, dtype=dtype, device=device,
                          window_tokens=resolve_window_tokens(cfg.window_tokens, batch_tokens), packed=packed,
                          long_docs=cfg.long_docs, chunk_tokens=cfg.chunk_tokens, chunk_stride=cfg.chunk_stride,
                          chunk_title=cfg.chunk_title)
