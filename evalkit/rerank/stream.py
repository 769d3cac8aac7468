"""The rerank stage as a stream: candidates -> chunks of pairs -> scorer windows -> per-language score arrays.

The run's pairs are never gathered: documents are fetched from the doc store a group of queries at a time, each
query's candidates become one chunk, and the scorer consumes the chunks window by window (a `score_stream`
scorer, such as the local CrossEncoder, prepares the next window in a background thread). Scores land in one
float32 array per language, in candidate order, which become the reranked runs (`CompactRun.with_scores`).
"""
from __future__ import annotations

import inspect
from typing import Iterable, Iterator, Sequence

import numpy as np

from evalkit.progress import Progress
from evalkit.contracts import Benchmark, CompactRun
from evalkit.errors import EvalkitError
from evalkit.models.tokens import LONGEST_PAIR, WINDOW_TOKENS

FETCH_DOCS = 1024   # docids per doc-store fetch (a group of whole queries)
Pair = tuple[str, str]


def candidate_chunks(benchmark: Benchmark, runs: dict[str, CompactRun], titled: bool = False) -> Iterator[list[Pair]]:
    """One chunk of (query text, document text) per query, languages and queries in run order; `titled`: the
    document as (title + separator, body), for a scorer that puts the title in front of each of its chunks."""
    sep = benchmark.protocol.get("doc_sep", " ")
    for lang, run in runs.items():
        queries, store, offsets = benchmark.queries[lang], benchmark.stores[lang], run.offsets
        start = 0
        while start < len(run.qids):   # whole queries, up to FETCH_DOCS documents a fetch
            end = int(np.searchsorted(offsets, offsets[start] + FETCH_DOCS, side="right")) - 1
            end = min(max(end, start + 1), len(run.qids))
            docids = run.docids.slice(offsets[start], offsets[end] - offsets[start]).to_pylist()
            texts = store.texts(docids, sep) if not titled else \
                [(f"{doc.title}{sep}" if doc.title else "", doc.text) for doc in store.get(docids)]
            for i in range(start, end):
                query = queries[run.qids[i]]
                yield [(query, text) for text in texts[offsets[i] - offsets[start]:offsets[i + 1] - offsets[start]]]
            start = end


def window_chunks(chunks: Iterable[Sequence[Pair]], budget: int, max_length: int) -> Iterator[list[list[Pair]]]:
    """Chunks grouped so that each group's estimated tokens reach `budget`: characters per pair, capped at
    `max_length` (an upper bound of the tokens of most text), for scorers without `score_stream`."""
    group: list[list[Pair]] = []
    size = 0
    for chunk in chunks:
        group.append(list(chunk))
        size += sum(min(len(q) + len(d), max_length) for q, d in chunk)
        if size >= budget:
            yield group
            group, size = [], 0
    if group:
        yield group


def _takes_progress(method) -> bool:
    return method is not None and "progress" in inspect.signature(method).parameters


def chunking(scorer):
    """The scorer's reranker.long_docs chunking (evalkit.rerank.chunks.Chunking), None when it truncates."""
    settings = getattr(scorer, "settings", None)
    return getattr(settings, "chunking", None) if hasattr(scorer, "score_stream_chunked") else None


def score_chunks(scorer, chunks: Iterable[Sequence[Pair]], progress: Progress | None = None,
                 details: list | None = None) -> Iterator[np.ndarray]:
    """One score array per chunk: `scorer.score_stream` where the scorer has it, else one `score` per window.
    `progress` counts pairs as the scorer scores them where it can say (the local engine per batch, an API per
    request), else as each chunk's scores arrive. A chunking scorer appends each chunk's details to `details`."""
    if details is not None and chunking(scorer) is not None:
        for scores, info in scorer.score_stream_chunked(chunks, progress=progress):
            details.append(info)
            yield scores
        return
    stream = getattr(scorer, "score_stream", None)
    if _takes_progress(stream):
        yield from scorer.score_stream(chunks, progress=progress)
        return
    counts = stream is None and _takes_progress(getattr(scorer, "score", None))
    for scores in _score_plain(scorer, chunks, progress if counts else None):
        if progress is not None and not counts:
            progress.update(len(scores))
        yield scores


def _score_plain(scorer, chunks: Iterable[Sequence[Pair]], progress: Progress | None = None) -> Iterator[np.ndarray]:
    if hasattr(scorer, "score_stream"):
        yield from scorer.score_stream(chunks)
        return
    settings = getattr(scorer, "settings", None)
    budget = getattr(settings, "window_tokens", WINDOW_TOKENS)
    max_length = getattr(settings, "max_length", None) or LONGEST_PAIR
    for group in window_chunks(chunks, budget, max_length):
        pairs = [pair for chunk in group for pair in chunk]
        scores = scorer.score(pairs, progress=progress) if progress is not None else scorer.score(pairs)
        start = 0
        for chunk in group:
            yield scores[start:start + len(chunk)]
            start += len(chunk)


CHUNK_FIELDS = ("chunks", "best", "start", "end")   # per document of a chunked rerank (see score_stream_chunked)


def rerank_runs(benchmark: Benchmark, runs: dict[str, CompactRun], scorer,
                chunk_details: dict[str, dict[str, np.ndarray]] | None = None) -> dict[str, CompactRun]:
    """Every candidate rescored by `scorer`, streamed; same queries and documents as `runs`. For a chunking scorer
    `chunk_details` (when given) is filled per language with int32 arrays in candidate order: each document's
    chunk count, best chunk and its token span (CHUNK_FIELDS)."""
    runs = {lang: CompactRun.of(run) for lang, run in runs.items()}
    sizes = {lang: run.n_pairs for lang, run in runs.items()}
    scores = {lang: np.empty(n, dtype=np.float32) for lang, n in sizes.items()}
    chunked = chunking(scorer)
    details: list | None = [] if chunked is not None and chunk_details is not None else None
    if details is not None:
        chunk_details.update({lang: {f: np.zeros(n, dtype=np.int32) for f in CHUNK_FIELDS}
                              for lang, n in sizes.items()})
    cursor = ((lang, int(n)) for lang, run in runs.items() for n in np.diff(run.offsets))
    filled = {lang: 0 for lang in runs}
    chunks = candidate_chunks(benchmark, runs, titled=chunked is not None and chunked.chunk_title)
    with Progress(sum(sizes.values()), "rerank", "pairs") as bar:   # the run's progress, whatever the scorer
        for (lang, n), chunk in zip(cursor, score_chunks(scorer, chunks, bar, details)):
            if len(chunk) != n:
                raise EvalkitError(f"scorer returned {len(chunk)} scores for {n} pairs")
            part = slice(filled[lang], filled[lang] + n)
            scores[lang][part] = chunk
            if details:
                info = details.pop()
                for f in CHUNK_FIELDS:
                    chunk_details[lang][f][part] = info[f]
            filled[lang] += n
    if filled != sizes:
        raise EvalkitError(f"scorer returned scores for {filled} of {sizes} candidates")
    return {lang: run.with_scores(scores[lang]) for lang, run in runs.items()}
