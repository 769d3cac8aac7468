"""Candidates from run files: TREC text (optionally .gz) or ranx's JSON / Parquet layouts (read directly, with checks ranx does not make).

`candidates.path` is either one file holding every language (its query ids must then name one language each)
or a directory with one file per language, named `*.{lang}.{trec,txt,trec.gz,txt.gz,json,parquet}`.
The rank column is ignored and ties are put in canonical order before the depth cut (trec_eval's behaviour).
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from typing import Any

from evalkit.candidates import FIRST_STAGES
from evalkit.checks import ConfigValueError
from evalkit.contracts import Benchmark, CompactRun, Run
from evalkit.data.trec import cut, read_run
from evalkit.errors import DataFormatError, EvalkitError

log = logging.getLogger(__name__)
SUFFIXES = (".trec", ".txt", ".trec.gz", ".txt.gz", ".json", ".parquet")


def read_any_run(path: Path, known_qids: set[str], depth: int | None = None) -> Run:
    """One run file of any supported format, checked against the known query ids, cut canonically."""
    path = Path(path)
    if path.suffix not in (".json", ".parquet"):
        return read_run(path, known_qids, depth)
    if not path.exists():
        raise DataFormatError(path, None, "file not found")
    loaded = _read_parquet(path) if path.suffix == ".parquet" else _read_json(path)
    run: Run = {}
    for qid, docs in loaded.items():
        if qid not in known_qids:
            raise DataFormatError(path, None, f"unknown query id {qid!r}")
        for docid, score in docs.items():
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise DataFormatError(path, None, f"score {score!r} of ({qid}, {docid}) is not a finite number")
        run[str(qid)] = {str(d): float(s) for d, s in docs.items()}
    return cut(run, depth) if depth else run


def _read_json(path: Path) -> Run:
    """ranx's JSON layout {qid: {docid: score}} (what ranx.Run.save writes and Run.from_file reads)."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataFormatError(path, err.lineno, f"invalid JSON ({err.msg})") from None
    except UnicodeDecodeError as err:
        raise DataFormatError(path, None, f"not valid UTF-8 (byte {err.start + 1})") from None
    except RecursionError:
        raise DataFormatError(path, None, "JSON nested too deeply") from None
    if not isinstance(loaded, dict) or not all(isinstance(docs, dict) for docs in loaded.values()):
        raise DataFormatError(path, None, "not a ranx run: expected {qid: {docid: score}}")
    return loaded


def _read_parquet(path: Path) -> Run:
    """ranx's Parquet layout (columns q_id, doc_id, score), read with pyarrow: ranx's own reader rejects the
    string dtype current pandas gives these columns."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:      # pyarrow's ArrowInvalid is a ValueError
        raise DataFormatError(path, None, f"not a readable Parquet file ({str(exc).splitlines()[0][:200]})") from None
    missing = {"q_id", "doc_id", "score"} - set(table.column_names)
    if missing:
        raise DataFormatError(path, None, f"missing column(s) {sorted(missing)} (ranx layout: q_id, doc_id, score)")
    run: Run = {}
    cols = table.select(["q_id", "doc_id", "score"]).to_pydict()
    for row, (qid, docid, score) in enumerate(zip(cols["q_id"], cols["doc_id"], cols["score"]), start=1):
        if qid is None or docid is None or not str(qid).strip() or not str(docid).strip():
            raise DataFormatError(path, None, f"row {row}: empty or null q_id / doc_id ({qid!r}, {docid!r})")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise DataFormatError(path, None, f"row {row}: score {score!r} of ({qid}, {docid}) is not a finite number")
        docs = run.setdefault(str(qid), {})
        if str(docid) in docs:
            raise DataFormatError(path, None, f"row {row}: duplicate document {docid!r} for query {qid!r}")
        docs[str(docid)] = score
    return run


def _per_language_files(root: Path, languages: list[str]) -> dict[str, Path]:
    files = {}
    for lang in languages:
        found = sorted(p for p in root.iterdir() if any(p.name.endswith(f".{lang}{s}") for s in SUFFIXES))
        if not found:
            raise EvalkitError(f"candidates.path={root}: no run file for language {lang!r} "
                               f"(expected *.{lang}.trec, e.g. run.{lang}.trec)")
        if len(found) > 1:
            raise EvalkitError(f"candidates.path={root}: several run files for {lang!r}: {[p.name for p in found]}")
        files[lang] = found[0]
    return files


def _split_by_language(path: Path, benchmark: Benchmark, depth: int) -> dict[str, Run]:
    owner: dict[str, str] = {}
    for lang, queries in benchmark.queries.items():
        for qid in queries:
            if qid in owner:
                raise EvalkitError(f"candidates.path={path}: query id {qid!r} exists in both {owner[qid]!r} and "
                                   f"{lang!r}; one run file cannot tell them apart: give a directory of "
                                   f"run.{{lang}}.trec files")
            owner[qid] = lang
    run = read_any_run(path, set(owner), depth)
    runs: dict[str, Run] = {lang: {} for lang in benchmark.queries}
    for qid, docs in run.items():
        runs[owner[qid]][qid] = docs
    return runs


def _requires(tree: dict) -> None:
    if not tree["candidates"]["path"]:
        raise ConfigValueError("candidates.path", None, "candidates=runfile needs candidates.path=<run file "
                               "or directory of run.<lang>.trec files>")


@FIRST_STAGES.register("runfile", requires=_requires)
def runfile_stage(benchmark: Benchmark, cfg: Any, executor: Any = None) -> dict[str, Run]:
    """Candidates read from run files (TREC, ranx JSON or Parquet), one file or one per language."""
    return runfile_candidates(benchmark, cfg)


def runfile_candidates(benchmark: Benchmark, cfg: Any) -> dict[str, Run]:
    if not cfg.path:
        raise EvalkitError("candidates.path: required for candidates=runfile (a run file or a directory of them)")
    path = Path(cfg.path).expanduser()
    if path.is_dir():
        files = _per_language_files(path, benchmark.languages)
        # one language's dicts at a time: a full MIRACL run file as dicts would take ~150 bytes a candidate
        runs = {lang: CompactRun.of(read_any_run(files[lang], set(benchmark.queries[lang]), cfg.depth))
                for lang in files}
    elif path.exists():
        runs = _split_by_language(path, benchmark, cfg.depth)
    else:
        raise EvalkitError(f"candidates.path={path}: no such file or directory")
    for lang, run in runs.items():
        missing = len(benchmark.queries[lang]) - len(run)
        if missing:
            log.warning("%s: %d of %d queries have no candidates in the run file (they score 0)",
                        lang, missing, len(benchmark.queries[lang]))
    return runs
