"""Document-length buckets: a query's bucket is the token length of its longest relevant document."""
from __future__ import annotations

from evalkit.contracts import Benchmark

NO_RELEVANT = "no relevant"


def bucket_labels(edges: list[int]) -> list[str]:
    edges = sorted(edges)
    labels = [f"<={edges[0]}"]
    labels += [f"{lo + 1}-{hi}" for lo, hi in zip(edges, edges[1:])]
    return labels + [f">{edges[-1]}"]


def bucket_of(length: int, edges: list[int]) -> str:
    edges = sorted(edges)
    labels = bucket_labels(edges)
    for edge, label in zip(edges, labels):
        if length <= edge:
            return label
    return labels[-1]


def query_buckets(benchmark: Benchmark, tokenizer, edges: list[int], sep: str = " ") -> dict[tuple[str, str], str]:
    """(lang, qid) -> bucket label; lengths count special tokens, as the model sees a lone document."""
    result: dict[tuple[str, str], str] = {}
    for lang, queries in benchmark.queries.items():
        qrels = benchmark.qrels.get(lang, {})
        relevant = {q: [d for d, g in qrels.get(q, {}).items() if g > 0] for q in queries}
        docids = sorted({d for ds in relevant.values() for d in ds})
        docs = benchmark.stores[lang].get(docids) if docids else []
        lengths = dict(zip(docids, (len(ids) for ids in tokenizer([d.full_text(sep) for d in docs])["input_ids"])))
        for qid, ds in relevant.items():
            result[(lang, qid)] = bucket_of(max(lengths[d] for d in ds), edges) if ds else NO_RELEVANT
    return result
