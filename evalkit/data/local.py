"""Users' own data: a BEIR directory or TREC files, with the language given per file or per query.

beir (benchmark.format=beir, the default when corpus.jsonl and queries.jsonl exist):
  corpus.jsonl[.gz] {_id, title, text} · queries.jsonl[.gz] {_id, text[, lang]} · qrels/{split}.tsv with header
  `query-id<TAB>corpus-id<TAB>score`.
trec (benchmark.format=trec):
  topics.{split}.tsv `qid<TAB>query` · qrels.{split}.txt (or .tsv) `qid Q0 docid grade` · corpus.jsonl[.gz]
  {docid|_id, title, text}.
The corpus may live apart (benchmark.corpus_source: a file or a directory holding corpus.jsonl[.gz]).
A `lang` field per query wins over benchmark.lang; one of the two is required.
"""
from __future__ import annotations

import logging
from pathlib import Path

from evalkit.config import BenchmarkConfig
from evalkit.checks import ConfigValueError
from evalkit.data import BENCHMARKS
from evalkit.contracts import Benchmark, Qrels
from evalkit.data.docstore import open_jsonl_store
from evalkit.data.trec import numbered_lines, read_qrels, read_topics
from evalkit.data.validate import (add_query, check_language_code, check_languages, check_qrels,
                                   count_empty_documents, field, iter_jsonl)
from evalkit.errors import DataFormatError, EvalkitError

log = logging.getLogger(__name__)


def _first(root: Path, names: list[str]) -> Path:
    for name in names:
        if (root / name).exists():
            return root / name
    raise EvalkitError(f"{root}: none of {names} found")


def read_beir_queries(path: Path, default_lang: str | None) -> dict[str, dict[str, str]]:
    """lang -> qid -> text; ids are unique over the whole file, whatever their language."""
    by_lang: dict[str, dict[str, str]] = {}
    seen: dict[str, str] = {}
    for line, rec in iter_jsonl(path):
        lang = rec.get("lang") or default_lang
        if not lang:
            raise DataFormatError(path, line, "no 'lang' field and no benchmark.lang given")
        check_language_code(str(lang), f"{path}:{line}")
        qid = add_query(seen, field(rec, "_id", path, line), field(rec, "text", path, line), path, line)
        by_lang.setdefault(str(lang), {})[qid] = seen[qid]
    return by_lang


def read_beir_qrels(path: Path) -> Qrels:
    """`query-id<TAB>corpus-id<TAB>score` after a header line."""
    qrels: Qrels = {}
    header = True
    for number, line in numbered_lines(path):
        parts = line.split("\t")
        if not line.strip():
            continue
        if header:
            header = False
            if parts[:2] != ["query-id", "corpus-id"]:
                raise DataFormatError(path, number, "expected the header 'query-id<TAB>corpus-id<TAB>score'")
            continue
        if len(parts) != 3:
            raise DataFormatError(path, number, f"expected 'query-id<TAB>corpus-id<TAB>score', got {len(parts)} fields")
        try:
            grade = int(parts[2])
        except ValueError:
            raise DataFormatError(path, number, f"score {parts[2]!r} is not an integer") from None
        if not parts[0].strip() or not parts[1].strip():
            raise DataFormatError(path, number, "empty query-id or corpus-id")
        judged = qrels.setdefault(parts[0], {})
        if parts[1] in judged and judged[parts[1]] != grade:
            raise DataFormatError(path, number, f"conflicting grades for ({parts[0]}, {parts[1]})")
        judged[parts[1]] = grade
    return qrels


def _corpus(cfg: BenchmarkConfig, root: Path) -> tuple[Path, str]:
    where = Path(cfg.corpus_source).expanduser() if cfg.corpus_source else root
    path = where if where.is_file() else _first(where, ["corpus.jsonl", "corpus.jsonl.gz"])
    for _, rec in iter_jsonl(path):       # the id field is read from the first record
        return path, "_id" if "_id" in rec else "docid"
    raise DataFormatError(path, None, "empty corpus")


def _requires(tree: dict) -> None:
    if not tree["benchmark"]["source"]:
        raise ConfigValueError("benchmark.source", None, "benchmark=local needs benchmark.source=<directory>")


@BENCHMARKS.register("local", requires=_requires)
def load_local(cfg: BenchmarkConfig) -> Benchmark:
    """Your own data: BEIR or TREC layout in a local directory."""
    if not cfg.source:
        raise EvalkitError("benchmark.source is required for benchmark=local (a BEIR directory or TREC files)")
    root = Path(cfg.source).expanduser()
    if not root.is_dir():
        raise EvalkitError(f"benchmark.source={cfg.source}: directory not found")
    fmt = cfg.format or ("beir" if any((root / n).exists() for n in ("queries.jsonl", "queries.jsonl.gz")) else "trec")
    if cfg.lang:
        check_language_code(cfg.lang, "benchmark.lang")
    if fmt == "beir":
        by_lang = read_beir_queries(_first(root, ["queries.jsonl", "queries.jsonl.gz"]), cfg.lang)
        qrels_file = _first(root / "qrels", [f"{cfg.split}.tsv"])
        all_qrels = read_beir_qrels(qrels_file)
    elif fmt == "trec":
        if not cfg.lang:
            raise EvalkitError("benchmark.lang is required for TREC topics (they carry no language)")
        by_lang = {cfg.lang: read_topics(_first(root, [f"topics.{cfg.split}.tsv"]))}
        qrels_file = _first(root, [f"qrels.{cfg.split}.txt", f"qrels.{cfg.split}.tsv"])
        all_qrels = read_qrels(qrels_file)
    else:
        raise EvalkitError(f"benchmark.format={fmt!r} must be 'beir' or 'trec'")
    languages = check_languages(cfg.languages, sorted(by_lang), cfg.name)
    corpus, id_field = _corpus(cfg, root)
    store = open_jsonl_store([corpus], Path(cfg.cache_dir) if cfg.cache_dir else None, id_field=id_field)
    owner = {qid: lang for lang, qs in by_lang.items() for qid in qs}
    stray = sorted(set(all_qrels) - set(owner))
    if stray:
        raise DataFormatError(qrels_file, None, f"{len(stray)} judged query ids have no query, e.g. {stray[:3]}")
    qrels = {lang: {q: d for q, d in all_qrels.items() if owner[q] == lang} for lang in languages}
    for lang in languages:
        check_qrels(lang, by_lang[lang], qrels[lang], store, qrels_file, cfg.missing_docs)
    if empty := count_empty_documents(store):
        log.warning("%s: %d passages have neither title nor text", corpus, empty)
    return Benchmark(
        name=cfg.name, queries={lang: by_lang[lang] for lang in languages}, qrels=qrels,
        stores={lang: store for lang in languages}, fingerprints={"corpus": store.fingerprint},
        protocol={"split": cfg.split, "pool": cfg.pool, "source": str(root), "format": fmt, "revision": "local"},
    )
