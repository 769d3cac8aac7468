"""`run.shard=i/n`: this process keeps only its share of the queries; `evalkit merge` joins the shards.

A query's shard is sha256("lang<TAB>qid") read as a big-endian integer, modulo n: stable across processes,
machines and Python versions (Python's own hash() of a str is salted per process). Every query is independent
downstream of its candidates, so a shard's outputs are exactly the unsharded run's rows for its queries.
`shard.json` records what the merge needs to put the rows back in the unsharded order.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from evalkit.contracts import Benchmark, Run
from evalkit.errors import EvalkitError
from evalkit.storage import atomic_write_text

SHARD_FILE = "shard.json"


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(spec: str) -> Shard:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(spec))
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise EvalkitError(f"run.shard={spec!r}: expected 'i/n' with 0 <= i < n, e.g. run.shard=0/4")
    return Shard(int(match[1]), int(match[2]))


def shard_of(lang: str, qid: str, count: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{lang}\t{qid}".encode()).digest(), "big") % count


def select_shard(benchmark: Benchmark, candidates: dict[str, Run], spec: str) -> dict:
    """Keep this shard's queries in `benchmark` (queries, qrels, answers) and `candidates`, in place.

    Returns the unsharded query order (every language, every qid) for `shard.json`.
    """
    shard = parse_shard(spec)
    order = {lang: list(queries) for lang, queries in benchmark.queries.items()}
    mine = {lang: [q for q in qids if shard_of(lang, q, shard.count) == shard.index] for lang, qids in order.items()}
    mine = {lang: qids for lang, qids in mine.items() if qids}   # a language with no query here is left out
    if not mine:
        raise EvalkitError(f"run.shard={shard}: no query falls in this shard "
                           f"({sum(map(len, order.values()))} queries in all): use fewer shards")
    benchmark.queries = {lang: {q: benchmark.queries[lang][q] for q in qids} for lang, qids in mine.items()}
    benchmark.qrels = {lang: {q: benchmark.qrels[lang][q] for q in qids if q in benchmark.qrels.get(lang, {})}
                       for lang, qids in mine.items()}
    if benchmark.answers is not None:
        benchmark.answers = {lang: {q: benchmark.answers[lang][q] for q in qids if q in benchmark.answers[lang]}
                             for lang, qids in mine.items()}
    for lang in list(candidates):
        candidates[lang] = {q: candidates[lang][q] for q in mine.get(lang, []) if q in candidates[lang]}
        if lang not in mine:
            del candidates[lang]
    return {"shard": str(shard), "index": shard.index, "count": shard.count, "queries": order}


def write_shard_info(out_dir: Path, info: dict, benchmark: Benchmark) -> None:
    """shard.json: the shard, the unsharded query order, and this shard's queries with a relevant judgment
    (the per-query table lists those first, sorted, then the others: the merge needs both to restore it)."""
    relevant = {lang: sorted(q for q, docs in benchmark.qrels.get(lang, {}).items()
                             if any(g > 0 for g in docs.values())) for lang in benchmark.queries}
    data = {**info, "mine": {lang: list(qids) for lang, qids in benchmark.queries.items()}, "relevant": relevant}
    atomic_write_text(Path(out_dir) / SHARD_FILE, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
