"""BEIR (Thakur et al. 2021) as a benchmark group: each dataset is one unit of evalkit's per-language axis.

Layout of a dataset (the BEIR zips, or the hub repositories read as raw files):
  <name>/corpus.jsonl[.gz] {_id, title, text} · <name>/queries.jsonl[.gz] {_id, text} · <name>/qrels/<split>.tsv
  with the header `query-id<TAB>corpus-id<TAB>score`; CQADupStack nests its 12 forums: cqadupstack/<forum>/...
On the hub: `BeIR/<name>` holds corpus.jsonl.gz and queries.jsonl.gz (cqadupstack: <forum>/...), `BeIR/<name>-qrels`
holds <split>.tsv (cqadupstack: <forum>/test.tsv).

Rules as BEIR and MTEB apply them:
- each dataset's own split: msmarco dev, every other dataset test (benchmark.split=default; any other value is
  used for every dataset);
- the evaluated queries are those of the split's qrels (queries.jsonl holds every split's queries);
- CQADupStack is the mean of its 12 forums: a forum is the unit `cqadupstack:<forum>`, and evalkit.metrics.aggregate
  averages the units of one `group:` first, so the macro average is BEIR's average over datasets;
- ArguAna and Quora (MTEB's `ignore_identical_ids = True`): a candidate whose docid equals the query id is dropped
  before reranking and evaluation (`drop_identical_ids`, applied by the pipeline to the units the benchmark names).
"""
from __future__ import annotations

import logging
from pathlib import Path

from evalkit.config import BenchmarkConfig
from evalkit.contracts import GROUP, Benchmark, Qrels, Run
from evalkit.data import BENCHMARKS
from evalkit.data.docstore import open_jsonl_store
from evalkit.data.hub import DatasetUnavailableError, is_local, resolve_dataset
from evalkit.data.local import read_beir_qrels
from evalkit.data.validate import add_query, check_qrels, count_empty_documents, field, identifier, iter_jsonl
from evalkit.errors import DataFormatError, EvalkitError

log = logging.getLogger(__name__)
# BEIR's 18 datasets and their evaluation split; the 4 not redistributed (bioasq, signal1m, trec-news, robust04)
# load from a local directory only.
SPLITS = {"msmarco": "dev", **{name: "test" for name in (
    "trec-covid", "nfcorpus", "nq", "hotpotqa", "fiqa", "arguana", "webis-touche2020", "cqadupstack", "quora",
    "dbpedia-entity", "scidocs", "fever", "climate-fever", "scifact", "bioasq", "signal1m", "trec-news", "robust04")}}
FORUMS = ["android", "english", "gaming", "gis", "mathematica", "physics", "programmers", "stats", "tex", "unix",
          "webmasters", "wordpress"]
IDENTICAL_IDS = {"arguana", "quora"}   # MTEB's tasks with ignore_identical_ids = True
DEFAULT_SPLIT = "default"


def units(names: list[str]) -> list[str]:
    """The evaluated units of `benchmark.datasets`: a dataset, or `cqadupstack` as its 12 `cqadupstack:<forum>`
    units (one forum alone: `cqadupstack:<forum>`)."""
    out: list[str] = []
    for name in names:
        dataset, _, forum = name.partition(GROUP)
        if dataset not in SPLITS:
            raise EvalkitError(f"benchmark.datasets: unknown BEIR dataset {name!r}; known: {sorted(SPLITS)}")
        if forum and (dataset != "cqadupstack" or forum not in FORUMS):
            raise EvalkitError(f"benchmark.datasets: {name!r} names no CQADupStack forum; forums: {FORUMS}")
        out += [f"cqadupstack{GROUP}{f}" for f in FORUMS] if name == "cqadupstack" else [name]
    if len(set(out)) != len(out):
        raise EvalkitError(f"benchmark.datasets: a dataset or forum is listed twice in {names}")
    return out


def _first(folder: Path, names: list[str]) -> Path:
    for name in names:
        if (folder / name).exists():
            return folder / name
    raise DatasetUnavailableError(f"{folder}: none of {names} found (BEIR layout: corpus.jsonl, queries.jsonl, "
                                  "qrels/<split>.tsv; see docs/beir.md)")


def _files(source: str, unit: str, split: str, revision: str | None) -> tuple[Path, Path, Path]:
    """(corpus, queries, qrels) of one unit, from a local BEIR directory or the BeIR hub repositories."""
    dataset, _, forum = unit.partition(GROUP)
    sub = f"{forum}/" if forum else ""
    if is_local(source):
        folder = Path(source).expanduser() / dataset / sub
        if not folder.is_dir():
            raise DatasetUnavailableError(f"benchmark.source={source}: no directory {dataset}/{sub} (BEIR layout: "
                                          f"<source>/<dataset>/corpus.jsonl ...; see docs/beir.md)")
        qrels = folder / "qrels" / f"{split}.tsv"
        if not qrels.is_file():
            raise DataFormatError(qrels, None, f"qrels file not found (split {split} of {unit})")
        return (_first(folder, ["corpus.jsonl", "corpus.jsonl.gz"]),
                _first(folder, ["queries.jsonl", "queries.jsonl.gz"]), qrels)
    org = source.rstrip("/")
    data = resolve_dataset(f"{org}/{dataset}", [f"{sub}corpus.jsonl*", f"{sub}queries.jsonl*"], revision, unit)
    judged = resolve_dataset(f"{org}/{dataset}-qrels", [f"{sub}{split}.tsv"], None, f"{unit} qrels")
    qrels = judged / sub / f"{split}.tsv"
    if not qrels.is_file():
        raise DataFormatError(qrels, None, f"qrels file not found (split {split} of {unit})")
    return (_first(data / sub, ["corpus.jsonl.gz", "corpus.jsonl"]),
            _first(data / sub, ["queries.jsonl.gz", "queries.jsonl"]), qrels)


def read_queries(path: Path, wanted: Qrels, qrels_file: Path) -> dict[str, str]:
    """The queries judged in the split's qrels, in file order (BEIR keeps exactly those); a judged id without a
    query stops naming the qrels file."""
    queries: dict[str, str] = {}
    for line, rec in iter_jsonl(path):
        qid = identifier(field(rec, "_id", path, line), "query _id", path, line)
        if qid in wanted:
            add_query(queries, qid, field(rec, "text", path, line), path, line)
    missing = sorted(set(wanted) - set(queries))
    if missing:
        raise DataFormatError(qrels_file, None, f"{len(missing)} judged query ids are not in {path.name}, "
                                                f"e.g. {missing[:3]}")
    return queries


def drop_identical_ids(runs: dict[str, Run], names: list[str]) -> dict[str, Run]:
    """The runs of `names` without a candidate whose docid is the query's own id (BEIR's and MTEB's
    ignore_identical_ids: an ArguAna or Quora query is itself in the corpus). Other units are left as they are."""
    out = dict(runs)
    for name in names:
        if name in out:
            out[name] = {qid: {d: s for d, s in docs.items() if d != qid} for qid, docs in out[name].items()}
    return out


@BENCHMARKS.register("beir")
def load_beir(cfg: BenchmarkConfig) -> Benchmark:
    """BEIR datasets (benchmark.datasets), each one a column of the per-dataset tables; avg = BEIR average."""
    if cfg.languages:
        raise EvalkitError("benchmark.languages does not apply to benchmark=beir: choose with benchmark.datasets")
    names = units(list(cfg.datasets or []))
    if not names:
        raise EvalkitError("benchmark.datasets is empty: name BEIR datasets, e.g. [scifact,nfcorpus]")
    source = cfg.source or "BeIR"
    cache = Path(cfg.cache_dir) if cfg.cache_dir else None
    queries, qrels, stores, fingerprints, splits = {}, {}, {}, {}, {}
    for unit in names:
        split = SPLITS[unit.partition(GROUP)[0]] if cfg.split == DEFAULT_SPLIT else cfg.split
        corpus, query_file, qrels_file = _files(source, unit, split, cfg.revision)
        qrels[unit] = read_beir_qrels(qrels_file)
        queries[unit] = read_queries(query_file, qrels[unit], qrels_file)
        stores[unit] = open_jsonl_store([corpus], cache, id_field="_id")
        check_qrels(unit, queries[unit], qrels[unit], stores[unit], qrels_file, cfg.missing_docs)
        if empty := count_empty_documents(stores[unit]):
            log.warning("[%s] %d documents have neither title nor text", unit, empty)
        fingerprints[f"corpus/{unit}"] = stores[unit].fingerprint
        splits[unit] = split
    log.info("beir: %s", {unit: len(q) for unit, q in queries.items()})
    return Benchmark(
        name=cfg.name, queries=queries, qrels=qrels, stores=stores, fingerprints=fingerprints,
        protocol={"split": cfg.split, "splits": splits, "pool": cfg.pool, "source": source, "axis": "dataset",
                  "revision": cfg.revision or ("local" if is_local(source) else None),
                  "ignore_identical_ids": [u for u in names if u in IDENTICAL_IDS],
                  "average": "mean over datasets; cqadupstack = mean of its forums first"},
    )
