"""The typed contracts between pipeline stages (see DESIGN.md).

Everything is keyed by language first: query ids and docids are only unique within a language
(MIRACL qids repeat across languages, MKQA uses one id for all 25 translations of a question).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Mapping, Protocol, Sequence

import numpy as np

Qrels = dict[str, dict[str, int]]      # qid -> docid -> grade (0 = judged non-relevant, kept)
GROUP = ":"   # a language `group:part` (BEIR's CQADupStack forums) is averaged within its group before the macro average
Run = Mapping[str, Mapping[str, float]]   # qid -> docid -> score: a dict of dicts, or a CompactRun


class CompactRun(Mapping[str, dict[str, float]]):
    """One language's run as arrays: ~20 bytes a candidate where a dict of dicts takes ~150, so the runs a
    pipeline keeps between stages (first stage, ceiling, reranked) do not grow its memory at full size. Systems
    over the same candidates share `qids`, `offsets` and `docids` (`with_scores`). Read-only; `run[qid]` builds
    that query's {docid: score} dict (the last one is kept, as consumers often read a query twice in a row).
    """

    __slots__ = ("qids", "offsets", "docids", "scores", "_index", "_last")

    def __init__(self, qids: list[str], offsets: np.ndarray, docids, scores: np.ndarray):
        self.qids = qids               # run order
        self.offsets = offsets         # int64, len(qids) + 1: query i holds candidates offsets[i]:offsets[i + 1]
        self.docids = docids           # pyarrow string array, candidate order
        self.scores = scores           # float64 (first stages) or float32 (reranker scores), candidate order
        self._index = {q: i for i, q in enumerate(qids)}
        self._last: tuple[str, dict[str, float]] | None = None
        if len(offsets) != len(qids) + 1 or len(docids) != offsets[-1] or len(scores) != offsets[-1]:
            raise ValueError(f"inconsistent run arrays: {len(qids)} queries, {offsets[-1]} offsets end, "
                             f"{len(docids)} docids, {len(scores)} scores")

    @classmethod
    def of(cls, run: Mapping[str, Mapping[str, float]]) -> "CompactRun":
        """`run` as a CompactRun (itself when it already is one); scores kept exactly (float64)."""
        if isinstance(run, CompactRun):
            return run
        import pyarrow as pa

        qids = list(run)
        sizes = np.fromiter((len(run[q]) for q in qids), np.int64, len(qids))
        offsets = np.zeros(len(qids) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        docids = pa.array([d for q in qids for d in run[q]], type=pa.string())
        scores = np.fromiter((s for q in qids for s in run[q].values()), np.float64, int(offsets[-1]))
        return cls(qids, offsets, docids, scores)

    def with_scores(self, scores: np.ndarray) -> "CompactRun":
        """The same candidates with other scores (one per candidate, in candidate order)."""
        return CompactRun(self.qids, self.offsets, self.docids, scores)

    @property
    def n_pairs(self) -> int:
        return int(self.offsets[-1])

    def _span(self, qid: str) -> tuple[int, int]:
        i = self._index[qid]
        return int(self.offsets[i]), int(self.offsets[i + 1])

    def docids_of(self, qid: str) -> list[str]:
        start, end = self._span(qid)
        return self.docids.slice(start, end - start).to_pylist()

    def __getitem__(self, qid: str) -> dict[str, float]:
        last = self._last
        if last is not None and last[0] == qid:
            return dict(last[1])
        start, end = self._span(qid)
        docs = dict(zip(self.docids.slice(start, end - start).to_pylist(), self.scores[start:end].tolist()))
        self._last = (qid, docs)
        return dict(docs)

    def __contains__(self, qid: object) -> bool:
        return qid in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.qids)

    def __len__(self) -> int:
        return len(self.qids)

    def __repr__(self) -> str:
        return f"CompactRun({len(self.qids)} queries, {self.n_pairs} candidates)"


@dataclass(frozen=True)
class Doc:
    docid: str
    title: str
    text: str

    def full_text(self, sep: str = " ") -> str:
        """Title and body as one passage; an empty title adds nothing."""
        return f"{self.title}{sep}{self.text}" if self.title else self.text


class DocStore(Protocol):
    """Fetches documents by docid on demand; never holds a whole corpus as Python objects."""

    fingerprint: str

    def __len__(self) -> int: ...
    def get(self, docids: Sequence[str]) -> list[Doc]: ...
    def texts(self, docids: Sequence[str], sep: str = " ") -> list[str]: ...   # each doc's full_text(sep)
    def iter_docs(self, batch_size: int = 10_000) -> Iterator[list[Doc]]: ...


@dataclass
class Benchmark:
    """Queries, judgments and corpora of one benchmark split, per language."""

    name: str
    queries: dict[str, dict[str, str]]            # lang -> qid -> query text (canonical order)
    qrels: dict[str, Qrels]                       # lang -> qrels; empty for answer-match benchmarks
    stores: dict[str, DocStore]                   # lang -> corpus (languages may share one store)
    answers: dict[str, dict[str, list[str]]] | None = None   # lang -> qid -> answers (MKQA)
    protocol: dict[str, object] = field(default_factory=dict)   # split, pool, source, ... (goes into reports)
    fingerprints: dict[str, str] = field(default_factory=dict)  # file or revision fingerprints

    @property
    def languages(self) -> list[str]:
        return list(self.queries)

    @property
    def n_queries(self) -> int:
        return sum(len(q) for q in self.queries.values())


class Scorer(Protocol):
    """A cross-encoder: one float32 score per (query text, document text) pair, in input order.

    The rerank stage streams (evalkit.rerank.stream.score_chunks): a scorer that also has
    `score_stream(chunks) -> Iterator[np.ndarray]` (one score array per chunk of pairs, in order; the local
    CrossEncoder) is fed the whole run lazily; any other gets one `score(pairs)` call per window of about
    `settings.window_tokens` tokens. Dedupe and the pair cache for remote scorers: evalkit.rerank.engine.cached_scores.
    """

    fingerprint: str

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray: ...


def canonical_order(run: dict[str, float]) -> list[tuple[str, float]]:
    """trec_eval's order: score descending, then docid descending, so ties never depend on the tool."""
    items = sorted(run.items(), key=lambda kv: kv[0], reverse=True)
    items.sort(key=lambda kv: -kv[1])  # stable: ties keep docid-descending order
    return items


def top_of(scores: dict[str, float], depth: int) -> dict[str, float]:
    """The candidate cut: the first `depth` documents in canonical order. Every first stage and run reader cuts
    with this (array-based stages first narrow to the documents tied at the cut, then call it)."""
    return dict(canonical_order(scores)[:depth])
