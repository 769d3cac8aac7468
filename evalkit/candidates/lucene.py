"""candidates=lucene: BM25 by Lucene itself, through Pyserini 0.22.1's Anserini (SimpleIndexer, SimpleSearcher).

Indexing streams the document store into Anserini's SimpleIndexer in batches (multi-threaded inside Java):
each document is `{"id": docid, "contents": title + "\\n" + text}`, MrTyDiCollection's contents for MIRACL.
The index lives on disk under $EVALKIT_CACHE/lucene-index/<key> (key: docstore fingerprint, analyzer, Pyserini
version), an evalkit.storage artefact: built once under a lock, published atomically, verified on every open.
Search is SimpleSearcher.batch_search over threads with BM25(k1, b); scores are what Pyserini writes into its
run file: Anserini's tie-adjusted scores (rounded to 4 decimals, tied ones lowered by 1e-6 steps) printed with
6 decimals. `lucene.hits` (Pyserini's --hits, 1000) are fetched, then the run is cut to `candidates.depth` in
trec_eval's order, which is what trec_eval -M 100 does with Pyserini's run.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.candidates import FIRST_STAGES
from evalkit.checks import at_least, between, lang_code, setting
from evalkit.candidates.lucene_analyzers import ENGLISH, WHITESPACE, analyzer_for, index_args
from evalkit.candidates.lucene_jvm import java_class, pyserini_version
from evalkit.contracts import Benchmark, DocStore, Run, top_of
from evalkit.progress import Progress
from evalkit.registry import Needs
from evalkit.storage import Artefact, Damaged, cache_root, cached_artefact

log = logging.getLogger(__name__)
INDEX_FORMAT = 1          # builder version of the lucene-index artefact: bump when what is indexed changes
DOC_SEP = "\n"            # MIRACL / Mr. TyDi convention: title + "\n" + text


@dataclass
class LuceneConfig:
    k1: float = setting(0.9, at_least(0.0, "a number"))
    b: float = setting(0.4, between(0.0, 1.0))
    hits: int = setting(1000, at_least(1))   # Lucene hits per query before the depth cut (Pyserini's --hits)
    # lang -> Lucene language code | en | whitespace
    analyzers: dict[str, str] = setting(check=lambda v: next((f"{k!r}: {lang_code(k)}" for k in v if lang_code(k)),
                                                             None), factory=dict)
    threads: int = setting(0, at_least(0))             # indexing and search threads (0: every core)
    batch_docs: int = setting(10_000, at_least(1))     # documents handed to the indexer per call
    batch_queries: int = setting(512, at_least(1))     # queries per batch_search call
    heap: str = setting("4g", lambda v: None if re.fullmatch(r"\d+[kmgKMG]?", v) else
                        "a JVM heap size such as 4g or 512m")   # JVM -Xmx (one JVM per process, fixed at start)
    memory_buffer_mb: int = setting(1024, at_least(1))   # Lucene IndexWriter RAM buffer


def _threads(n: int) -> int:
    return n if n > 0 else (os.cpu_count() or 1)


def build_index(store: DocStore, analyzer: str, out: Path, lucene: Any) -> dict:
    """Index every document of `store` into `out`/lucene; returns the artefact's counts and meta."""
    log.info("building Lucene index (%s analyzer) of %d documents in %s", analyzer, len(store), out)
    indexer = java_class("io.anserini.index.SimpleIndexer", lucene.heap)([
        "-input", "", "-collection", "JsonCollection", "-index", str(out / "lucene"),
        "-threads", str(_threads(lucene.threads)), "-memorybuffer", str(lucene.memory_buffer_mb),
        *index_args(analyzer)])
    sent = indexed = 0
    try:
        for batch in store.iter_docs(lucene.batch_docs):
            raw = [json.dumps({"id": d.docid, "contents": d.full_text(DOC_SEP)}, ensure_ascii=False) for d in batch]
            indexed += int(indexer.addRawDocuments(raw))
            sent += len(raw)
    finally:
        indexer.close()
    if indexed != sent:   # Anserini skips documents whose contents are blank after trimming
        log.warning("Lucene indexed %d of %d documents (%d have no text)", indexed, sent, sent - indexed)
    return {"counts": {"documents": sent, "indexed": indexed},
            "meta": {"analyzer": analyzer, "pyserini": pyserini_version(), "docstore": store.fingerprint}}


def index_dir(store: DocStore, analyzer: str, cache_dir: Path) -> Path:
    key = f"{store.fingerprint}|{analyzer}|{DOC_SEP!r}|pyserini {pyserini_version()}"
    return cache_dir / "lucene-index" / hashlib.sha256(key.encode()).hexdigest()[:24]


def open_searcher(store: DocStore, analyzer: str, lucene: Any, cache_dir: Path) -> tuple[Any, Artefact]:
    """SimpleSearcher over the cached index: built when absent, rebuilt when damaged (evalkit.storage), and
    checked on open: the index holds every document its manifest says was indexed, the corpus as many as sent."""

    def load(artefact: Artefact) -> tuple[Any, Artefact]:
        try:
            searcher = java_class("io.anserini.search.SimpleSearcher", lucene.heap)(str(artefact.path / "lucene"))
        except Exception as exc:   # jnius.JavaException: e.g. IndexNotFoundException, CorruptIndexException
            raise Damaged(f"Lucene cannot open it ({str(exc).splitlines()[0][:200]})") from None
        found, counts = int(searcher.get_total_num_docs()), artefact.counts
        if found != counts["indexed"] or counts["documents"] != len(store):
            searcher.close()
            raise Damaged(f"{found} documents in the Lucene index, {counts['indexed']} indexed of "
                          f"{counts['documents']} sent, {len(store)} in the corpus")
        return searcher, artefact

    return cached_artefact(index_dir(store, analyzer, cache_dir), "lucene-index", INDEX_FORMAT,
                           lambda tmp: build_index(store, analyzer, tmp, lucene), load)


def set_query_analyzer(searcher: Any, analyzer: str) -> str:
    """Analyze queries as the index was analyzed; returns the Java analyzer's class name."""
    if analyzer == WHITESPACE:
        searcher.set_analyzer(java_class("org.apache.lucene.analysis.core.WhitespaceAnalyzer")())
    elif analyzer != ENGLISH:          # English: SimpleSearcher's default DefaultEnglishAnalyzer (Porter)
        searcher.set_language(analyzer)
    return str(searcher.get_analyzer().getClass().getName()).rsplit(".", 1)[-1]


def search(searcher: Any, queries: dict[str, str], lucene: Any, depth: int) -> Run:
    """Batched, multi-threaded BM25 search; scores as Pyserini's run file holds them."""
    searcher.set_bm25(float(lucene.k1), float(lucene.b))
    JArrayList = java_class("java.util.ArrayList")
    qids = list(queries)
    run: Run = {}
    with Progress(len(qids), "lucene search", "queries") as bar:
        for start in range(0, len(qids), lucene.batch_queries):
            chunk = qids[start:start + lucene.batch_queries]
            texts, ids = JArrayList(), JArrayList()
            for qid in chunk:
                texts.add(queries[qid])
                ids.add(qid)
            results = searcher.batch_search(texts, ids, int(max(lucene.hits, depth)), _threads(lucene.threads))
            for qid in chunk:
                hits = {h.docid: float(f"{h.score:.6f}") for h in (results.get(qid) or [])}
                run[qid] = top_of(hits, depth)
            bar.update(len(chunk))
    return run


@FIRST_STAGES.register("lucene", config=LuceneConfig, needs=Needs(
    modules={"pyserini": "pyserini", "jnius": "pyjnius"}, programs={"java": "openjdk-17-jre-headless"},
    homes={"java": "JAVA_HOME"}, extra="lucene", then="pip install --no-deps pyserini==0.22.1"))
def lucene_stage(benchmark: Benchmark, cfg: Any, executor: Any = None) -> dict[str, Run]:
    """BM25 by Lucene itself, through Pyserini 0.22.1's Anserini (needs Java and Pyserini)."""
    return lucene_candidates(benchmark, cfg)


def lucene_candidates(benchmark: Benchmark, cfg: Any, cache_dir: Path | None = None) -> dict[str, Run]:
    lucene, cache_dir = cfg.lucene, cache_dir or cache_root()
    runs: dict[str, Run] = {}
    used: dict[str, str] = {}
    for lang, queries in benchmark.queries.items():
        analyzer = analyzer_for(lang, lucene.analyzers)
        searcher, meta = open_searcher(benchmark.stores[lang], analyzer, lucene, cache_dir)
        used[lang] = set_query_analyzer(searcher, analyzer)
        runs[lang] = search(searcher, queries, lucene, cfg.depth)
        searcher.close()
        log.info("lucene %s: %s, %d documents, %d queries", lang, used[lang], meta.counts["indexed"], len(queries))
    benchmark.protocol["lucene_analyzers"] = used
    benchmark.protocol["lucene_pyserini"] = pyserini_version()
    return runs
