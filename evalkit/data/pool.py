"""`benchmark.pool=judged`: rank only each query's judged passages (a quick look, NOT the paper protocol).

How it is built, in two steps:
1. at load time each language's corpus is narrowed to the union of its judged docids (`JudgedStore`), so the
   first stage indexes a few thousand passages instead of millions;
2. after the first stage, each query keeps only its own judged docids (`restrict_to_judged`): the ones the
   first stage scored keep their scores, the others are appended below all of them (ties in canonical order).
Ranking judged passages only inflates nDCG hugely (80.2 vs 61.7 on MIRACL zh), so every report carries
`protocol["warning"]`.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

import pyarrow as pa

from evalkit.contracts import Benchmark, DocStore, Run
from evalkit.data.docstore import ArrowTableDocs
from evalkit.errors import EvalkitError

WARNING = ("JUDGED POOL: each query ranks only its judged passages, not the full corpus; "
           "numbers are inflated and NOT comparable to published results")


class JudgedStore(ArrowTableDocs):
    """The judged documents of one corpus, as a small in-memory Arrow table with its own fingerprint."""

    def __init__(self, store: DocStore, docids: Sequence[str]):
        wanted = sorted(set(docids))
        self._table = pa.Table.from_pylist(
            [{"docid": d.docid, "title": d.title, "text": d.text} for d in store.get(wanted)])
        digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:16]
        self.fingerprint = f"{store.fingerprint}+judged-{digest}"

    def _name(self) -> str:
        return "the judged pool"


def apply_judged_pool(benchmark: Benchmark) -> Benchmark:
    """Narrow each language's store to its judged documents and mark the protocol; refuses meaningless pools."""
    if benchmark.answers is not None:
        raise EvalkitError(f"benchmark.pool=judged: {benchmark.name} has no judgments (answer matching); use pool=full")
    for lang, qrels in benchmark.qrels.items():
        if not any(g <= 0 for docs in qrels.values() for g in docs.values()):
            raise EvalkitError(f"benchmark.pool=judged: [{lang}] has no judged negatives, so every judged passage is "
                               "relevant and the ranking is trivially perfect; use pool=full")
        judged = [d for docs in qrels.values() for d in docs]
        benchmark.stores[lang] = JudgedStore(benchmark.stores[lang], judged)
        benchmark.fingerprints[f"corpus/{lang}"] = benchmark.stores[lang].fingerprint
    benchmark.protocol["pool"] = "judged"
    benchmark.protocol["warning"] = WARNING
    return benchmark


def restrict_to_judged(benchmark: Benchmark, runs: dict[str, Run]) -> dict[str, Run]:
    """Each query's candidates become exactly its judged docids; unretrieved ones go below the lowest score."""
    out: dict[str, Run] = {}
    for lang, run in runs.items():
        out[lang] = {}
        for qid in benchmark.queries[lang]:
            judged = benchmark.qrels[lang].get(qid, {})
            scored = {d: s for d, s in run.get(qid, {}).items() if d in judged}
            floor = min(scored.values(), default=0.0) - 1.0
            out[lang][qid] = {**scored, **{d: floor for d in judged if d not in scored}}
    return out
