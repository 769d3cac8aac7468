"""Any ir_datasets dataset as a benchmark: `benchmark=irds benchmark.id=miracl/yo/dev`.

Queries, qrels and documents come from the dataset's own iterators; the documents are streamed once into the
Arrow document store every other loader uses (cached by the docs' parent id, the ir_datasets version and the
sizes and times of the dataset's files). ir_datasets downloads what a dataset needs into its own home
(IR_DATASETS_HOME) the first time; `benchmark.irds_module` names a module to import first that registers
datasets of your own (`ir_datasets.registry.register(id, Dataset(...))`). One id is one language: taken from
benchmark.lang, else the queries' or documents' metadata, else a language code among the id's parts. The split
is the id's last part.
"""
from __future__ import annotations

import difflib
import importlib
import logging
from pathlib import Path
from typing import Any, Iterator

from evalkit.checks import ConfigValueError
from evalkit.config import BenchmarkConfig
from evalkit.contracts import Benchmark, Qrels
from evalkit.data import BENCHMARKS
from evalkit.data.docstore import open_record_store
from evalkit.data.validate import ISO_639_1, check_language_code, check_languages, check_qrels, count_empty_documents
from evalkit.errors import EvalkitError
from evalkit.registry import MissingDependency, Needs

log = logging.getLogger(__name__)


def _requires(tree: dict) -> None:
    if not tree["benchmark"].get("id"):
        raise ConfigValueError("benchmark.id", None, "benchmark=irds needs benchmark.id=<ir_datasets id>, "
                                                     "e.g. miracl/yo/dev or beir/scifact/test")


def _ir_datasets(module: str | None):
    try:
        import ir_datasets
    except ImportError:
        # the CLI checks the entry's `needs` before any work; this is for a loader called from Python
        raise MissingDependency(f"benchmark=irds needs ir_datasets ({BENCHMARKS['irds'].needs.install()})") from None
    if module:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise EvalkitError(f"benchmark.irds_module={module}: cannot import it ({exc})") from None
    return ir_datasets


def _dataset(irds, dataset_id: str):
    try:
        return irds.load(dataset_id)
    except KeyError:
        close = difflib.get_close_matches(dataset_id, list(irds.registry), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise EvalkitError(f"benchmark.id={dataset_id}: not an ir_datasets id{hint}") from None


def _language(cfg: BenchmarkConfig, ds) -> str:
    if cfg.lang:
        return check_language_code(cfg.lang, "benchmark.lang")
    for stated in (ds.queries_lang(), ds.docs_lang() if ds.has_docs() else None):
        if stated:
            return check_language_code(stated, f"ir_datasets {cfg.id} metadata")
    parts = [p for p in cfg.id.split("/") if p in ISO_639_1]
    if len(parts) == 1:
        return parts[0]
    raise EvalkitError(f"benchmark.id={cfg.id}: ir_datasets states no language; set benchmark.lang=xx")


def _queries(cfg: BenchmarkConfig, ds) -> dict[str, str]:
    queries: dict[str, str] = {}
    for query in ds.queries_iter():
        text = query.text if hasattr(query, "text") else query.default_text()
        if query.query_id in queries:
            raise EvalkitError(f"benchmark.id={cfg.id}: duplicate query id {query.query_id!r}")
        if not isinstance(text, str) or not text.strip():
            raise EvalkitError(f"benchmark.id={cfg.id}: empty query text for {query.query_id!r}")
        queries[query.query_id] = text.strip()
    return queries


def _qrels(cfg: BenchmarkConfig, ds) -> Qrels:
    """Every judgment with its grade as given (grade 0 and below kept as judged non-relevant, as TREC qrels)."""
    qrels: Qrels = {}
    for qrel in ds.qrels_iter():
        judged = qrels.setdefault(qrel.query_id, {})
        grade = int(qrel.relevance)
        if judged.get(qrel.doc_id, grade) != grade:
            raise EvalkitError(f"benchmark.id={cfg.id}: conflicting grades for ({qrel.query_id}, {qrel.doc_id})")
        judged[qrel.doc_id] = grade
    return qrels


def _records(ds) -> Iterator[tuple[str, str, str]]:
    """(docid, title, text); a document type without a `text` field gives its default_text() (which already
    holds any title) as the text."""
    for doc in ds.docs_iter():
        if hasattr(doc, "text"):
            yield doc.doc_id, getattr(doc, "title", "") or "", doc.text
        else:
            yield doc.doc_id, "", doc.default_text()


def _count(ds) -> int | None:
    """The document count ir_datasets' metadata states (progress only; None where it states none)."""
    try:
        return int(ds.docs_metadata().get("count") or 0) or None
    except Exception:   # noqa: BLE001 - metadata is optional in ir_datasets
        return None


def _store_key(irds, cfg: BenchmarkConfig, ds) -> str:
    """What the documents depend on: the id that owns them (splits share it), ir_datasets' version, the
    document type and the files."""
    try:
        owner = irds.docs_parent_id(cfg.id)
    except Exception:   # noqa: BLE001 - a convention of ir_datasets, not guaranteed for every dataset
        owner = cfg.id
    doc_cls = ds.docs_cls()
    stamp = [f"irds|{owner}|{irds.__version__}|{doc_cls.__name__}{getattr(doc_cls, '_fields', '')}"]
    try:
        path: Any = ds.docs_path(force=False)
    except Exception:   # noqa: BLE001 - not every docs handler has files of its own
        path = None
    for file in (path if isinstance(path, (list, tuple)) else [path]):
        if file is not None and Path(file).exists():
            st = Path(file).stat()
            stamp.append(f"{Path(file).resolve()}|{st.st_size}|{st.st_mtime_ns}")
    return "\n".join(stamp)


@BENCHMARKS.register("irds", requires=_requires, needs=Needs(modules={"ir_datasets": "ir_datasets"}, extra="irds"))
def load_irds(cfg: BenchmarkConfig) -> Benchmark:
    """Any ir_datasets dataset (benchmark.id=miracl/yo/dev), documents streamed into the document store."""
    if not cfg.id:
        raise EvalkitError("benchmark.id is required for benchmark=irds (an ir_datasets id, e.g. miracl/yo/dev)")
    irds = _ir_datasets(cfg.irds_module)
    ds = _dataset(irds, cfg.id)
    missing = [part for part in ("docs", "queries", "qrels") if not getattr(ds, f"has_{part}")()]
    if missing:
        raise EvalkitError(f"benchmark.id={cfg.id}: the dataset has no {' or '.join(missing)} "
                           f"(pick an id with all three, e.g. one that ends in a split)")
    lang = _language(cfg, ds)
    check_languages(cfg.languages, [lang], cfg.name)
    split = cfg.id.rstrip("/").split("/")[-1]
    if cfg.split != split:
        raise EvalkitError(f"benchmark.split={cfg.split}: for benchmark=irds the split is the id's last part "
                           f"({split}); choose it with benchmark.id")
    queries, qrels = _queries(cfg, ds), _qrels(cfg, ds)
    where = f"ir_datasets {cfg.id}"
    store = open_record_store(_store_key(irds, cfg, ds), lambda: _records(ds), where,
                              Path(cfg.cache_dir) if cfg.cache_dir else None, _count(ds))
    counts = check_qrels(lang, queries, qrels, store, Path(where), cfg.missing_docs)
    if empty := count_empty_documents(store):
        log.warning("%s: %d documents have neither title nor text", where, empty)
    log.info("%s: %d queries (%s), %d documents", where, len(queries), lang, len(store))
    return Benchmark(
        name=cfg.name, queries={lang: queries}, qrels={lang: qrels}, stores={lang: store},
        fingerprints={f"corpus/{lang}": store.fingerprint},
        protocol={"split": split, "pool": cfg.pool, "source": f"ir_datasets:{cfg.id}", "id": cfg.id,
                  "revision": f"ir_datasets {irds.__version__}",
                  "missing_docs": {lang: counts["missing_docs"]} if counts["missing_docs"] else {}},
    )
