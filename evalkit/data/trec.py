"""Readers and writers for the TREC-style text formats: topics TSV, qrels, run files.

Every malformed line raises DataFormatError naming file and line number.
"""
from __future__ import annotations

import gzip
import io
import math
import zlib
from pathlib import Path
from typing import Iterator

from evalkit.contracts import Qrels, Run, canonical_order, top_of
from evalkit.errors import DataFormatError
from evalkit.storage import atomic_write_text


def open_text(path: Path) -> io.TextIOBase:
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, None, "file not found")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text without its line end) of every line, blank ones included; a line that is not UTF-8
    or a damaged gzip stream stops with file:line. Lines end at \\n only (a stray \\r stays in its line)."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, None, "file not found")
    number = 0
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            for number, raw in enumerate(f, start=1):
                try:
                    yield number, raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    raise DataFormatError(path, number, f"not valid UTF-8 (byte {exc.start + 1} of the line)") from None
    except (OSError, EOFError, zlib.error) as exc:    # gzip.BadGzipFile is an OSError
        raise DataFormatError(path, number + 1, f"unreadable ({exc.__class__.__name__}: {exc})") from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    for number, line in numbered_lines(path):
        if line.strip():
            yield number, line


def read_topics(path: Path) -> dict[str, str]:
    """`qid<TAB>query` per line, no header."""
    topics: dict[str, str] = {}
    for number, line in _lines(path):
        parts = line.split("\t")
        if len(parts) < 2:
            raise DataFormatError(path, number, "expected 'qid<TAB>query'")
        qid, text = parts[0].strip(), "\t".join(parts[1:]).strip()
        if not qid:
            raise DataFormatError(path, number, "empty query id")
        if qid in topics:
            raise DataFormatError(path, number, f"duplicate query id {qid!r}")
        if not text:
            raise DataFormatError(path, number, f"empty query text for {qid!r}")
        topics[qid] = text
    return topics


def read_qrels(path: Path) -> Qrels:
    """`qid Q0 docid grade` (tabs or spaces); grade-0 rows are kept as judged negatives."""
    qrels: Qrels = {}
    for number, line in _lines(path):
        parts = line.split()
        if len(parts) != 4:
            raise DataFormatError(path, number, f"expected 'qid Q0 docid grade', got {len(parts)} fields")
        qid, _, docid, grade = parts
        try:
            value = int(grade)
        except ValueError:
            raise DataFormatError(path, number, f"grade {grade!r} is not an integer") from None
        judged = qrels.setdefault(qid, {})
        if docid in judged and judged[docid] != value:
            raise DataFormatError(path, number, f"conflicting grades for ({qid}, {docid})")
        judged[docid] = value
    return qrels


def read_run(path: Path, known_qids: set[str] | None = None, depth: int | None = None) -> Run:
    """`qid Q0 docid rank score tag`; the rank column is ignored (trec_eval orders by score only)."""
    run: Run = {}
    for number, line in _lines(path):
        parts = line.split()
        if len(parts) != 6:
            raise DataFormatError(path, number, f"expected 'qid Q0 docid rank score tag', got {len(parts)} fields")
        qid, _, docid, _, score, _ = parts
        if known_qids is not None and qid not in known_qids:
            raise DataFormatError(path, number, f"unknown query id {qid!r}")
        try:
            value = float(score)
        except ValueError:
            raise DataFormatError(path, number, f"score {score!r} is not a number") from None
        if not math.isfinite(value):
            raise DataFormatError(path, number, f"score {score!r} is NaN or infinite")
        docs = run.setdefault(qid, {})
        if docid in docs:
            raise DataFormatError(path, number, f"duplicate document {docid!r} for query {qid!r}")
        docs[docid] = value
    return cut(run, depth) if depth else run


def cut(run: Run, depth: int) -> Run:
    """Keep the top `depth` documents of each query in canonical (trec_eval) order."""
    return {qid: top_of(docs, depth) for qid, docs in run.items()}


def format_run(run: Run, tag: str, qid_order: list[str] | None = None) -> str:
    """TREC run text in canonical order; ranks written 1..n; scores with repr precision (lossless)."""
    lines = []
    for qid in qid_order if qid_order is not None else sorted(run):
        for rank, (docid, score) in enumerate(canonical_order(run.get(qid, {})), start=1):
            lines.append(f"{qid} Q0 {docid} {rank} {float(score)!r} {tag}\n")
    return "".join(lines)


def write_run(path: Path, run: Run, tag: str, qid_order: list[str] | None = None) -> None:
    atomic_write_text(path, format_run(run, tag, qid_order))
