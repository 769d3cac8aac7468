"""BM25 first stage with bm25s: one index per language, built once and reused through the cache."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Callable

import bm25s
import numpy as np

from evalkit.config import CandidatesConfig
from evalkit.contracts import Benchmark, DocStore, Run
from evalkit.candidates.text import language_tokens
from evalkit.data.docstore import default_cache_dir

log = logging.getLogger(__name__)
Tokenizer = Callable[[str], list[str]]


def tokenizer_for(mode: str) -> tuple[Tokenizer, str, str]:
    """(tokenize, doc/title separator, bm25s scoring method) for a bm25.mode."""
    if mode == "language":
        return language_tokens, " ", "lucene"
    raise ValueError(f"candidates.bm25.mode={mode!r} is not one of: language")


class Bm25Index:
    def __init__(self, store: DocStore, tokenize: Tokenizer, sep: str, k1: float, b: float, method: str,
                 cache_dir: Path):
        key = hashlib.sha256(f"{store.fingerprint}|{tokenize.__module__}.{tokenize.__qualname__}|{sep!r}|{k1}|{b}|{method}"
                             .encode()).hexdigest()[:24]
        self.tokenize = tokenize
        path = cache_dir / "bm25" / key
        if (path / "docids.txt").exists():
            self.retriever = bm25s.BM25.load(str(path), show_progress=False)
            self.docids = (path / "docids.txt").read_text(encoding="utf-8").split("\n")
            return
        docids, tokens = [], []
        for batch in store.iter_docs():
            for doc in batch:
                docids.append(doc.docid)
                tokens.append(tokenize(doc.full_text(sep)))
        self.retriever = bm25s.BM25(k1=k1, b=b, method=method)
        self.retriever.index(tokens, show_progress=False)
        self.docids = docids
        path.mkdir(parents=True, exist_ok=True)
        self.retriever.save(str(path), show_progress=False)
        (path / "docids.txt").write_text("\n".join(docids), encoding="utf-8")

    def search(self, query: str, depth: int) -> dict[str, float]:
        """Top `depth` documents with a positive score; ties at the cut resolved by docid (descending)."""
        vocab = self.retriever.vocab_dict
        tokens = [t for t in self.tokenize(query) if t in vocab]
        if not tokens:
            return {}
        scores = self.retriever.get_scores(tokens).astype(np.float64)
        positive = np.flatnonzero(scores > 0)
        if len(positive) > depth:
            kth = np.partition(scores[positive], -depth)[-depth]
            positive = positive[scores[positive] >= kth]
        ranked = sorted(((self.docids[i], float(scores[i])) for i in positive), key=lambda d: d[0], reverse=True)
        ranked.sort(key=lambda d: -d[1])
        return dict(ranked[:depth])


def bm25_candidates(benchmark: Benchmark, cfg: CandidatesConfig, cache_dir: Path | None = None) -> dict[str, Run]:
    tokenize, sep, method = tokenizer_for(cfg.bm25.mode)
    runs: dict[str, Run] = {}
    indexes: dict[int, Bm25Index] = {}
    for lang, queries in benchmark.queries.items():
        store = benchmark.stores[lang]
        if id(store) not in indexes:  # languages sharing a corpus (MKQA) share an index
            indexes[id(store)] = Bm25Index(store, tokenize, sep, cfg.bm25.k1, cfg.bm25.b, method,
                                           cache_dir or default_cache_dir())
        index = indexes[id(store)]
        runs[lang] = {qid: index.search(text, cfg.depth) for qid, text in queries.items()}
    return runs
