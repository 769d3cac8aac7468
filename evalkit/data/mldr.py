"""MLDR (BGE-M3, Chen et al. 2024): 13 languages of long documents, evaluated on `test`.

Raw layout of the hub repository `Shitao/MLDR` (or a local directory of the same files):
  mldr-v1.0-{lang}/{train,dev,test}.jsonl.gz  {query_id, query, positive_passages[{docid, text}], negative_passages}
  mldr-v1.0-{lang}/corpus.jsonl.gz            {docid, text}   (no titles)
  qrels/qrels.mldr-v1.0-{lang}-{split}.tsv    TREC qrels, used when present
Without the qrels file, judgments come from the query records: positives grade 1, negatives grade 0.
"""
from __future__ import annotations

import logging
from pathlib import Path

from evalkit.config import BenchmarkConfig
from evalkit.data import BENCHMARKS
from evalkit.contracts import Benchmark, Qrels
from evalkit.data.docstore import open_jsonl_store
from evalkit.data.hub import dataset_revision, is_local, require_files, resolve_dataset
from evalkit.data.trec import read_qrels
from evalkit.data.validate import (add_query, check_languages, check_qrels, count_empty_documents, field, identifier,
                                   iter_jsonl)
from evalkit.errors import DataFormatError, EvalkitError

log = logging.getLogger(__name__)
LANGUAGES = ["ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "pt", "ru", "th", "zh"]
SPLITS = ["train", "dev", "test"]
QUERIES = "mldr-v1.0-{lang}/{split}.jsonl.gz"
CORPUS = "mldr-v1.0-{lang}/corpus.jsonl.gz"
QRELS = "qrels/qrels.mldr-v1.0-{lang}-{split}.tsv"


def read_queries(path: Path) -> tuple[dict[str, str], Qrels]:
    """Queries and the judgments carried by their passage lists (positives 1, negatives 0)."""
    queries: dict[str, str] = {}
    qrels: Qrels = {}
    for line, rec in iter_jsonl(path):
        qid = add_query(queries, field(rec, "query_id", path, line), field(rec, "query", path, line), path, line)
        judged = qrels.setdefault(qid, {})
        for key, grade in (("negative_passages", 0), ("positive_passages", 1)):
            passages = rec.get(key) or []
            if not isinstance(passages, list):
                raise DataFormatError(path, line, f"{key} must be a list")
            for passage in passages:
                if not isinstance(passage, dict) or "docid" not in passage:
                    raise DataFormatError(path, line, f"{key} entries need a 'docid'")
                judged[identifier(passage["docid"], f"{key} docid", path, line)] = grade
    return queries, qrels


def _local_file(root: Path, relative: str) -> Path:
    """The file as named, or its uncompressed twin (`x.jsonl` for `x.jsonl.gz`) in a hand-made local copy."""
    path = root / relative
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    return plain if not path.exists() and plain.exists() else path


@BENCHMARKS.register("mldr")
def load_mldr(cfg: BenchmarkConfig) -> Benchmark:
    """MLDR (13 languages, long documents up to 8,192+ tokens)."""
    if cfg.split not in SPLITS:
        raise EvalkitError(f"benchmark.split={cfg.split!r} is not an MLDR split {SPLITS} (the papers use test)")
    languages = check_languages(cfg.languages, LANGUAGES, cfg.name)
    source = cfg.source or "Shitao/MLDR"
    patterns = [f"mldr-v1.0-{lang}/{name}.jsonl.gz" for lang in languages for name in (cfg.split, "corpus")]
    root = resolve_dataset(source, patterns + [QRELS.format(lang=lang, split=cfg.split) for lang in languages],
                           cfg.revision, "queries and corpus")
    corpus_root = resolve_dataset(cfg.corpus_source, patterns, None, "corpus") if cfg.corpus_source else root
    queries, qrels, stores, fingerprints, origin = {}, {}, {}, {}, {}
    for lang in languages:
        query_file = _local_file(root, QUERIES.format(lang=lang, split=cfg.split))
        corpus_file = _local_file(corpus_root, CORPUS.format(lang=lang))
        require_files(root, [str(query_file.relative_to(root))], source)
        require_files(corpus_root, [str(corpus_file.relative_to(corpus_root))], cfg.corpus_source or source)
        queries[lang], qrels[lang] = read_queries(query_file)
        qrels_file = root / QRELS.format(lang=lang, split=cfg.split)
        origin[lang] = "qrels file" if qrels_file.exists() else "query records"
        if qrels_file.exists():
            qrels[lang] = read_qrels(qrels_file)
        stores[lang] = open_jsonl_store([corpus_file], Path(cfg.cache_dir) if cfg.cache_dir else None,
                                        id_field="docid", title_field=None)
        check_qrels(lang, queries[lang], qrels[lang], stores[lang],
                    qrels_file if qrels_file.exists() else query_file, cfg.missing_docs)
        if empty := count_empty_documents(stores[lang]):
            log.warning("[%s] %d MLDR documents are empty", lang, empty)
        fingerprints[f"corpus/{lang}"] = stores[lang].fingerprint
    return Benchmark(
        name=cfg.name, queries=queries, qrels=qrels, stores=stores, fingerprints=fingerprints,
        protocol={"split": cfg.split, "pool": cfg.pool, "source": source,
                  "revision": dataset_revision(root) or cfg.revision or ("local" if is_local(source) else None),
                  "qrels_from": sorted(set(origin.values())),
                  "note": "long documents: record reranker.max_length (the papers use 8192)"},
    )
