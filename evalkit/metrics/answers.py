"""Answer-match relevance (MKQA, BGE-M3 protocol): a passage is relevant when it contains an answer.

The rule is DPR's `has_answer` (also Contriever's and FlagEmbedding's): NFD-normalise, split into regex word
tokens (runs of letters/digits/marks, or any single other non-space character), lower-case, and look for an
answer's token sequence contiguously in the passage's. Passage = title + "\\n" + text.
`answer_recall@k` is then ranx `hit_rate@k` over these judgments: the share of queries with at least one
answer-bearing passage in the top k, every query counted (this is not recall over qrels).
"""
from __future__ import annotations

import re
import unicodedata

import regex

from evalkit.contracts import Benchmark, Qrels, Run
from evalkit.errors import EvalkitError

_TOKEN = regex.compile(r"([\p{L}\p{N}\p{M}]+)|([^\p{Z}\p{C}])", flags=regex.IGNORECASE | regex.UNICODE | regex.MULTILINE)
ANSWER_MEASURE = re.compile(r"answer_recall@(\d+)")


def tokens(text: str) -> list[str]:
    return [m.group().lower() for m in _TOKEN.finditer(unicodedata.normalize("NFD", text))]


def _joined(text: str) -> str:
    """Tokens joined by spaces with a space at each end; tokens never hold whitespace, so a contiguous token
    match is exactly a substring match of these strings."""
    return " " + " ".join(tokens(text)) + " "


def has_answer(passage_text: str, answers: list[str]) -> bool:
    """True when any answer's token sequence occurs contiguously in the passage's tokens.

    Answers with no token at all are ignored (DPR would let an empty answer match every passage)."""
    passage = _joined(passage_text)
    return any(len(needle) > 2 and needle in passage for needle in map(_joined, answers))


def answer_qrels(benchmark: Benchmark, runs_by_system: dict[str, dict[str, Run]],
                 chunk: int = 1000) -> dict[str, Qrels]:
    """lang -> qid -> {docid: 1 if the passage holds one of the query's answers else 0}, over every candidate of
    every system; every query of the benchmark gets an entry (possibly empty).

    Queries are judged `chunk` at a time, so only their candidates' tokens are in memory at once."""
    if benchmark.answers is None:
        raise EvalkitError(f"{benchmark.name} has qrels, not answers: answer matching does not apply")
    qrels: dict[str, Qrels] = {}
    for lang, answers in benchmark.answers.items():
        wanted: dict[str, set[str]] = {qid: set() for qid in benchmark.queries[lang]}
        for runs in runs_by_system.values():
            for qid, docs in runs.get(lang, {}).items():
                wanted.setdefault(qid, set()).update(docs)
        qids = list(wanted)
        qrels[lang] = {}
        for start in range(0, len(qids), chunk):
            batch = qids[start:start + chunk]
            docids = sorted({d for q in batch for d in wanted[q]})
            docs = benchmark.stores[lang].get(docids) if docids else []
            passages = {doc.docid: _joined(doc.full_text("\n")) for doc in docs}
            for qid in batch:
                needles = [n for n in map(_joined, answers.get(qid, [])) if len(n) > 2]
                qrels[lang][qid] = {d: int(any(n in passages[d] for n in needles)) for d in sorted(wanted[qid])}
    return qrels


def check_answer_measures(measures: list[str], no_relevant: str) -> None:
    """An answer-match benchmark is scored by answer_recall@k over every query; anything else would mislead."""
    others = [m for m in measures if not ANSWER_MEASURE.fullmatch(m)]
    if others or no_relevant != "zero":
        raise EvalkitError(
            f"answer-match benchmarks are scored by answer_recall@k over every query (got metrics.measures={others or measures}, "
            f"metrics.no_relevant={no_relevant}): use experiment=mkqa, or metrics.measures=[answer_recall@20,"
            "answer_recall@100] metrics.no_relevant=zero")
