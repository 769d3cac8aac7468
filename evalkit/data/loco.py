"""LoCoV1 (Saad-Falcon et al. 2024, "Benchmarking and Building Long-Context Retrieval Models with LoCo and
M2-BERT"): 12 long-document retrieval tasks, nDCG@10, each task one unit of the per-language axis (like BEIR's
datasets; avg = the mean over tasks, as LoCo reports it).

Hub layout (raw files through the HF cache; `hazyresearch/LoCoV1-Queries` and `hazyresearch/LoCoV1-Documents`,
one JSONL per task under documents/, split test only):
  queries   documents/<task>_test.jsonl  {qid, query, answer_pids: [pid, ...], dataset}
  documents documents/<task>_test.jsonl  {pid, passage, dataset}
Relevance is binary: each pid in answer_pids has grade 1. A local benchmark.source holds the two repositories as
`LoCoV1-Queries/` and `LoCoV1-Documents/` (or give benchmark.corpus_source for the documents). Documents run to
tens of thousands of tokens; they are streamed into the document store, never held whole.
"""
from __future__ import annotations

import logging
from pathlib import Path

from evalkit.config import BenchmarkConfig
from evalkit.contracts import Benchmark, Qrels
from evalkit.data import BENCHMARKS
from evalkit.data.docstore import open_jsonl_store
from evalkit.data.hub import dataset_revision, is_local, require_files, resolve_dataset
from evalkit.data.validate import add_query, check_qrels, count_empty_documents, field, identifier, iter_jsonl
from evalkit.errors import DataFormatError, EvalkitError

log = logging.getLogger(__name__)
TASKS = ["summ_screen_fd", "gov_report", "qmsum", "qasper_title", "qasper_abstract", "2wikimqa", "multifieldqa",
         "passage_retrieval", "courtlistener_HTML", "courtlistener_Plain_Text", "legal_case_reports", "stackoverflow"]
QUERIES, DOCUMENTS = "hazyresearch/LoCoV1-Queries", "hazyresearch/LoCoV1-Documents"
FILE = "documents/{task}_{split}.jsonl"


def read_queries(path: Path, task: str) -> tuple[dict[str, str], Qrels]:
    """Queries and their binary judgments (answer_pids); a record of another task stops with file:line."""
    queries: dict[str, str] = {}
    qrels: Qrels = {}
    for line, rec in iter_jsonl(path):
        if rec.get("dataset", task) != task:
            raise DataFormatError(path, line, f"record of task {rec.get('dataset')!r} in the {task} file")
        qid = add_query(queries, field(rec, "qid", path, line), field(rec, "query", path, line), path, line)
        pids = field(rec, "answer_pids", path, line)
        if not isinstance(pids, list) or not pids:
            raise DataFormatError(path, line, "answer_pids must be a non-empty list of document ids")
        qrels[qid] = {identifier(p, "answer_pids entry", path, line): 1 for p in pids}
    return queries, qrels


def _roots(cfg: BenchmarkConfig, files: list[str]) -> tuple[Path, Path, str]:
    source = cfg.source or QUERIES
    if is_local(source) and not cfg.corpus_source:
        base = Path(source).expanduser()
        if not (base / "LoCoV1-Queries").is_dir() or not (base / "LoCoV1-Documents").is_dir():
            raise EvalkitError(f"benchmark.source={source}: expected LoCoV1-Queries/ and LoCoV1-Documents/ in it "
                               "(or set benchmark.corpus_source to the documents' directory); see docs/beir.md")
        return base / "LoCoV1-Queries", base / "LoCoV1-Documents", source
    corpus = cfg.corpus_source or DOCUMENTS
    return (resolve_dataset(source, files, cfg.revision, "LoCoV1 queries"),
            resolve_dataset(corpus, files, None, "LoCoV1 documents"), source)


@BENCHMARKS.register("loco")
def load_loco(cfg: BenchmarkConfig) -> Benchmark:
    """LoCoV1: 12 long-document retrieval tasks (benchmark.datasets), nDCG@10, avg over tasks."""
    if cfg.split != "test":
        raise EvalkitError(f"benchmark.split={cfg.split!r}: LoCoV1 publishes only the test split")
    if cfg.languages:
        raise EvalkitError("benchmark.languages does not apply to benchmark=loco: choose with benchmark.datasets")
    tasks = list(cfg.datasets or TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise EvalkitError(f"benchmark.datasets: unknown LoCoV1 task(s) {unknown}; known: {TASKS}")
    files = [FILE.format(task=t, split=cfg.split) for t in tasks]
    query_root, doc_root, source = _roots(cfg, files)
    require_files(query_root, files, str(query_root))
    require_files(doc_root, files, str(doc_root))
    cache = Path(cfg.cache_dir) if cfg.cache_dir else None
    queries, qrels, stores, fingerprints = {}, {}, {}, {}
    for task, name in zip(tasks, files):
        queries[task], qrels[task] = read_queries(query_root / name, task)
        stores[task] = open_jsonl_store([doc_root / name], cache, id_field="pid", title_field=None,
                                        text_field="passage")
        check_qrels(task, queries[task], qrels[task], stores[task], query_root / name, cfg.missing_docs)
        if empty := count_empty_documents(stores[task]):
            log.warning("[%s] %d LoCoV1 documents are empty", task, empty)
        fingerprints[f"corpus/{task}"] = stores[task].fingerprint
    log.info("loco: %s", {task: len(q) for task, q in queries.items()})
    return Benchmark(
        name=cfg.name, queries=queries, qrels=qrels, stores=stores, fingerprints=fingerprints,
        protocol={"split": cfg.split, "pool": cfg.pool, "source": source, "axis": "task",
                  "revision": dataset_revision(query_root) or cfg.revision or ("local" if is_local(source) else None),
                  "note": "long documents (up to tens of thousands of tokens): record reranker.max_length"},
    )
