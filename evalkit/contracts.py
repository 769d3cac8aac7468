"""The typed contracts between pipeline stages (see DESIGN.md).

Everything is keyed by language first: query ids and docids are only unique within a language
(MIRACL qids repeat across languages, MKQA uses one id for all 25 translations of a question).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol, Sequence

import numpy as np

Qrels = dict[str, dict[str, int]]      # qid -> docid -> grade (0 = judged non-relevant, kept)
Run = dict[str, dict[str, float]]      # qid -> docid -> score


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
