"""BM25 first stage, one index per language, built once and reused through the cache.

Modes (`candidates.bm25.mode`):
- language: script-aware words / CJK and Thai bigrams (evalkit.candidates.text), scored by bm25s;
- anserini: Lucene BM25 as Pyserini runs it for whitespace languages (evalkit.candidates.bm25_anserini);
- xlmr: the same Lucene scoring over XLM-R SentencePiece tokens (BGE-M3's same-tokenizer BM25 baseline).
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Optional

import bm25s
import numpy as np

from evalkit.candidates import FIRST_STAGES
from evalkit.checks import at_least, between, existing_path, one_of, optional, setting
from evalkit.contracts import Benchmark, DocStore, Run
from evalkit.candidates.bm25_anserini import LuceneBm25, java_whitespace_tokens
from evalkit.candidates.text import language_tokens
from evalkit.candidates.topk import top_k
from evalkit.data.docstore import default_cache_dir
from evalkit.errors import EvalkitError
from evalkit.progress import Progress
from evalkit.storage import Artefact, Damaged, cached_artefact, fault_point

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)   # bm25s logs every index build at DEBUG
Tokenizer = Callable[[str], list[str]]
MODES = ("language", "anserini", "xlmr")
PYSERINI_WHITESPACE = {"sw", "yo"}   # MIRACL languages Pyserini indexes with whitespace tokens (no Lucene analyzer)
VERSION = 2                          # cache layout of both index kinds (evalkit.storage manifest)


@dataclass
class Bm25Config:
    mode: str = setting("language", one_of(*MODES))   # language (script-aware) | anserini (Lucene as Pyserini) | xlmr
    k1: float = setting(0.9, at_least(0.0, "a number"))
    b: float = setting(0.4, between(0.0, 1.0))
    tokenizer: Optional[str] = setting(None, optional(existing_path("tokenizer directory")))   # xlmr: id or path


class XlmrTokens:
    """SentencePiece pieces of an XLM-R tokenizer (the bundled one unless `name` is a tokenizer id or path)."""

    def __init__(self, name: str | None = None):
        from evalkit.data.tokenizer import load_tokenizer

        self.tokenizer = load_tokenizer(name or "xlmr")
        vocab_hash = hashlib.sha256(self.tokenizer.backend_tokenizer.to_str().encode()).hexdigest()[:16]
        self.key = f"xlmr:{vocab_hash}"

    def __call__(self, text: str) -> list[str]:
        return self.tokenizer.tokenize(text)


def tokenizer_for(mode: str, tokenizer: str | None = None) -> tuple[Tokenizer, str, str]:
    """(tokenize, doc/title separator, scoring method) for a bm25.mode; method `lucene-norms` = lucene.py."""
    if mode == "language":
        return language_tokens, " ", "lucene"
    if mode == "anserini":
        return java_whitespace_tokens, "\n", "lucene-norms"
    if mode == "xlmr":
        return XlmrTokens(tokenizer), " ", "lucene-norms"
    raise EvalkitError(f"candidates.bm25.mode={mode!r} is not one of {', '.join(MODES)}")


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def _tokenizer_key(tokenize: Tokenizer) -> str:
    return getattr(tokenize, "key", f"{tokenize.__module__}.{getattr(tokenize, '__qualname__', '')}")


def _docids(artefact: Artefact) -> list[str]:
    text = (artefact.path / "docids.txt").read_text(encoding="utf-8")
    docids = text.split("\n") if text else []
    if len(docids) != artefact.counts["documents"]:
        raise Damaged(f"docids.txt lists {len(docids)} documents, manifest says {artefact.counts['documents']}")
    return docids


class Bm25Index:
    """A bm25s index, cached under bm25/<key>/ (built once under a lock, published atomically, verified)."""

    def __init__(self, store: DocStore, tokenize: Tokenizer, sep: str, k1: float, b: float, method: str,
                 cache_dir: Path):
        key = _key(store.fingerprint, _tokenizer_key(tokenize), repr(sep), k1, b, method)
        self.tokenize = tokenize

        def build(tmp: Path) -> dict:
            docids, tokens = [], []
            with Progress(len(store), "bm25 index", "docs") as bar:
                for batch in store.iter_docs():
                    for doc in batch:
                        docids.append(doc.docid)
                        tokens.append(tokenize(doc.full_text(sep)))
                    bar.update(len(batch))
            retriever = bm25s.BM25(k1=k1, b=b, method=method)
            retriever.index(tokens, show_progress=False)
            retriever.save(str(tmp), show_progress=False)
            fault_point("bm25:saved")
            (tmp / "docids.txt").write_text("\n".join(docids), encoding="utf-8")
            return {"counts": {"documents": len(docids), "terms": len(retriever.vocab_dict)}}

        def load(artefact: Artefact) -> tuple[bm25s.BM25, list[str]]:
            return bm25s.BM25.load(str(artefact.path), show_progress=False), _docids(artefact)

        self.retriever, self.docids = cached_artefact(cache_dir / "bm25" / key, "bm25", VERSION, build, load)

    def search(self, query: str, depth: int) -> dict[str, float]:
        """Top `depth` documents with a positive score; ties at the cut resolved by docid (descending)."""
        vocab = self.retriever.vocab_dict
        tokens = [t for t in self.tokenize(query) if t in vocab]
        if not tokens:
            return {}
        return top_k(self.retriever.get_scores(tokens).astype(np.float64), self.docids, depth)


class LuceneIndex:
    """Lucene-scored index (norms quantised to one byte); the cached part does not depend on k1 and b."""

    def __init__(self, store: DocStore, tokenize: Tokenizer, sep: str, k1: float, b: float, cache_dir: Path):
        self.tokenize, self.k1, self.b = tokenize, k1, b
        path = cache_dir / "lucene" / _key(store.fingerprint, _tokenizer_key(tokenize), repr(sep))

        def build(tmp: Path) -> dict:
            index = LuceneBm25.build((doc.docid, tokenize(doc.full_text(sep)))
                                     for batch in store.iter_docs() for doc in batch)
            index.save(tmp)
            fault_point("lucene:saved")
            return {"counts": {"documents": len(index.docids), "terms": len(index.vocab)}}

        def load(artefact: Artefact) -> LuceneBm25:
            index = LuceneBm25.load(artefact.path)
            if len(index.docids) != artefact.counts["documents"]:
                raise Damaged(f"{len(index.docids)} documents, manifest says {artefact.counts['documents']}")
            return index

        self.index = cached_artefact(path, "lucene", VERSION, build, load)

    def search(self, query: str, depth: int) -> dict[str, float]:
        return self.index.search(self.tokenize(query), depth, self.k1, self.b)


@FIRST_STAGES.register("bm25", config=Bm25Config)
def bm25_stage(benchmark: Benchmark, cfg: Any, executor: Any = None) -> dict[str, Run]:
    """BM25 in numpy: script-aware tokens (bm25s), Lucene's scoring as Anserini runs it, or XLM-R tokens."""
    return bm25_candidates(benchmark, cfg)


def bm25_candidates(benchmark: Benchmark, cfg: Any, cache_dir: Path | None = None) -> dict[str, Run]:
    tokenize, sep, method = tokenizer_for(cfg.bm25.mode, cfg.bm25.tokenizer)
    cache_dir = cache_dir or default_cache_dir()
    if cfg.bm25.mode == "anserini":
        others = sorted(set(benchmark.queries) - PYSERINI_WHITESPACE)
        if others:
            log.warning("bm25.mode=anserini tokenizes by whitespace; Pyserini uses Lucene's own analyzers for %s, "
                        "so these languages will not reproduce Pyserini's numbers", others)
    runs: dict[str, Run] = {}
    indexes: dict[int, Bm25Index | LuceneIndex] = {}
    for lang, queries in benchmark.queries.items():
        store = benchmark.stores[lang]
        if id(store) not in indexes:  # languages sharing a corpus (MKQA) share an index
            indexes[id(store)] = (LuceneIndex(store, tokenize, sep, cfg.bm25.k1, cfg.bm25.b, cache_dir)
                                  if method == "lucene-norms" else
                                  Bm25Index(store, tokenize, sep, cfg.bm25.k1, cfg.bm25.b, method, cache_dir))
        index = indexes[id(store)]
        with Progress(len(queries), f"bm25 search [{lang}]", "queries") as bar:
            runs[lang] = {}
            for qid, text in queries.items():
                runs[lang][qid] = index.search(text, cfg.depth)
                bar.update()
    return runs
