"""Checks that catch the data mistakes which silently change results."""
from __future__ import annotations

import logging
from pathlib import Path

from evalkit.contracts import DocStore, Qrels
from evalkit.errors import DataFormatError

log = logging.getLogger(__name__)


def check_qrels(lang: str, queries: dict[str, str], qrels: Qrels, store: DocStore, qrels_file: Path,
                missing_docs: str = "error") -> None:
    """Qrels must refer to known queries and to documents that exist in the corpus."""
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
