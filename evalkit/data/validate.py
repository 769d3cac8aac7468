"""Checks that catch the data mistakes which silently change results, and the JSONL reading they guard."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Iterator

import pyarrow.compute as pc

from evalkit.contracts import DocStore, Qrels
from evalkit.data.trec import numbered_lines
from evalkit.errors import DataFormatError, EvalkitError

log = logging.getLogger(__name__)

# ISO 639-1 codes; a region or script suffix is allowed after '_' or '-' (zh_cn, zh-TW, pt_br)
ISO_639_1 = set("""aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de
dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it
iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd
ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su
sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split())
_CODE = re.compile(r"([a-z]{2})(?:[_-][A-Za-z]{2,4})?")


def check_language_code(code: str, where: str) -> str:
    """An ISO 639-1 code (optionally with a region suffix); anything else stops with where it came from."""
    m = _CODE.fullmatch(code or "")
    if not m or m.group(1) not in ISO_639_1:
        raise EvalkitError(f"{where}: unknown language code {code!r} (expected ISO 639-1, e.g. 'en', 'zh_cn')")
    return code


def check_languages(requested: list[str] | None, known: list[str], benchmark: str) -> list[str]:
    """The requested subset (default: all), refusing codes the benchmark does not have."""
    languages = list(requested) if requested else list(known)
    unknown = [lang for lang in languages if lang not in known]
    if unknown:
        raise EvalkitError(f"benchmark.languages: unknown language(s) {unknown} for {benchmark}; known: {known}")
    if len(set(languages)) != len(languages):
        raise EvalkitError(f"benchmark.languages: duplicate language(s) in {languages}")
    return languages


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-blank line; a bad line stops with file:line."""
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, number, f"invalid JSON ({exc.msg})") from None
        except RecursionError:
            raise DataFormatError(path, number, "JSON nested too deeply") from None
        if not isinstance(record, dict):
            raise DataFormatError(path, number, "expected a JSON object")
        yield number, record


def identifier(value, what: str, path: Path, line: int) -> str:
    """A query or document id: a non-empty string or an integer (never null, a bool, a float or a container)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise DataFormatError(path, line, f"{what} must be a non-empty string or integer, got {value!r}")
    return str(value).strip()


def field(record: dict, key: str, path: Path, line: int):
    if key not in record:
        raise DataFormatError(path, line, f"missing field {key!r} (has {sorted(record)})")
    return record[key]


def add_query(queries: dict[str, str], qid, text, path: Path, line: int) -> str:
    """Insert one query, refusing duplicate ids and empty texts."""
    qid = identifier(qid, "query id", path, line)
    if qid in queries:
        raise DataFormatError(path, line, f"duplicate query id {qid!r}")
    if not isinstance(text, str) or not text.strip():
        raise DataFormatError(path, line, f"empty query text for {qid!r}")
    queries[qid] = text.strip()
    return qid


def check_qrels(lang: str, queries: dict[str, str], qrels: Qrels, store: DocStore, qrels_file: Path,
                missing_docs: str = "error") -> dict[str, int]:
    """Qrels must refer to known queries and to documents that exist in the corpus; returns the counts found."""
    stray = sorted(set(qrels) - set(queries))
    if stray:
        raise DataFormatError(qrels_file, None, f"{len(stray)} judged query ids have no topic, e.g. {stray[:3]}")
    judged = {d for docs in qrels.values() for d in docs}
    absent = judged - store.contains(sorted(judged)) if judged else set()
    if absent:
        message = f"[{lang}] {len(absent)} judged docids are not in the corpus, e.g. {sorted(absent)[:3]}"
        if missing_docs == "error":
            raise DataFormatError(qrels_file, None, message + " (set benchmark.missing_docs=warn to continue)")
        log.warning("%s: %s", qrels_file, message)
    unjudged = [q for q in queries if q not in qrels]
    if unjudged:
        log.warning("[%s] %d queries have no judgments (see metrics.no_relevant)", lang, len(unjudged))
    no_relevant = [q for q in queries if q in qrels and not any(g > 0 for g in qrels[q].values())]
    return {"missing_docs": len(absent), "unjudged_queries": len(unjudged), "no_relevant_queries": len(no_relevant)}


def check_run_docids(benchmark, runs: dict, missing_docs: str = "error") -> dict[str, int]:
    """First-stage docids that are not in the corpus: an error, or (missing_docs=warn) dropped, warned and counted
    in the protocol (`missing_run_docs`), since a document without a text can be neither reranked nor judged."""
    counts = {}
    for lang, run in runs.items():
        store = benchmark.stores[lang]
        docids = {d for docs in run.values() for d in docs}
        absent = docids - store.contains(sorted(docids)) if docids and hasattr(store, "contains") else set()
        counts[lang] = len(absent)
        if not absent:
            continue
        message = f"[{lang}] {len(absent)} first-stage docids are not in the corpus, e.g. {sorted(absent)[:3]}"
        if missing_docs == "error":
            raise EvalkitError(message + " (set benchmark.missing_docs=warn to drop them and continue)")
        log.warning("%s: dropped from the candidates (counted in the report as missing_run_docs)", message)
        runs[lang] = {qid: {d: s for d, s in docs.items() if d not in absent} for qid, docs in run.items()}
    benchmark.protocol["missing_run_docs"] = sum(counts.values())
    return counts


def count_empty_documents(store: DocStore) -> int:
    """Documents whose title and text are both empty: counted on the Arrow columns, never in Python objects."""
    table = getattr(store, "_table", None)
    if table is None:
        return 0
    empty = pc.and_(pc.equal(pc.binary_length(pc.fill_null(table["text"], "")), 0),
                    pc.equal(pc.binary_length(pc.fill_null(table["title"], "")), 0))
    return int(pc.sum(empty).as_py() or 0)


def check_missing_docs_mode(mode: str) -> None:
    from evalkit.config import MISSING_DOCS

    if mode not in MISSING_DOCS:
        raise EvalkitError(f"benchmark.missing_docs={mode!r} must be 'error' or 'warn'")
