"""Answer spans: where the relevant text sits inside a document, for benchmarks that mark it.

File (evalkit's sample; MIRACL has none): `miracl-v1.0-{lang}/spans/spans.miracl-v1.0-{lang}-{split}.tsv`, one
`qid<TAB>docid<TAB>start<TAB>end` per line, character offsets [start, end) into the document's `text` field.
"""
from __future__ import annotations

from pathlib import Path

from evalkit.data.trec import _lines
from evalkit.errors import DataFormatError

SPANS = "miracl-v1.0-{lang}/spans/spans.miracl-v1.0-{lang}-{split}.tsv"
Spans = dict[tuple[str, str], tuple[int, int]]


def spans_path(root: Path, lang: str, split: str) -> Path:
    return Path(root) / SPANS.format(lang=lang, split=split)


def read_spans(root: Path | None, lang: str, split: str) -> Spans:
    """(qid, docid) -> (start, end); empty when the benchmark has no spans file."""
    path = spans_path(root, lang, split) if root is not None else None
    if path is None or not path.is_file():
        return {}
    spans: Spans = {}
    for number, line in _lines(path):
        parts = line.split("\t")
        if len(parts) != 4:
            raise DataFormatError(path, number, f"expected 'qid docid start end', got {len(parts)} fields")
        qid, docid, start, end = parts
        if not (start.isdigit() and end.isdigit()) or int(start) >= int(end):
            raise DataFormatError(path, number, f"span {start!r}..{end!r} is not two increasing offsets")
        spans[(qid, docid)] = (int(start), int(end))
    return spans
