"""Document-length buckets: a query's bucket is the token length of its longest relevant document."""
from __future__ import annotations

import hashlib
import json
import logging
import os

from evalkit.contracts import Benchmark

log = logging.getLogger(__name__)

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


def doc_lengths(store, docids: list[str], tokenizer, sep: str) -> dict[str, int]:
    """Token lengths of `docids`, kept per (corpus, tokenizer, separator) in the evalkit cache, so a later run
    neither loads the tokenizer nor tokenizes again (tokenizers without a `key` are not cached)."""
    key = getattr(tokenizer, "key", None)
    path = None
    known: dict[str, int] = {}
    if key is not None and getattr(store, "fingerprint", None):
        from evalkit.data.docstore import default_cache_dir

        digest = hashlib.sha256(f"{store.fingerprint}|{key}|{sep!r}".encode()).hexdigest()[:24]
        path = default_cache_dir() / "lengths" / f"{digest}.json"
        if path.is_file():
            try:
                known = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                log.warning("%s: unreadable length cache, recomputed", path)
    todo = [d for d in docids if d not in known]
    if todo:
        docs = store.get(todo)
        known.update(zip(todo, (len(ids) for ids in tokenizer([d.full_text(sep) for d in docs])["input_ids"])))
        if path is not None:                      # published atomically: a reader sees the old or the new file
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(known, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
    return {d: known[d] for d in docids}


def query_buckets(benchmark: Benchmark, tokenizer, edges: list[int], sep: str = " ") -> dict[tuple[str, str], str]:
    """(lang, qid) -> bucket label; lengths count special tokens, as the model sees a lone document."""
    result: dict[tuple[str, str], str] = {}
    for lang, queries in benchmark.queries.items():
        qrels = benchmark.qrels.get(lang, {})
        relevant = {q: [d for d, g in qrels.get(q, {}).items() if g > 0] for q in queries}
        docids = sorted({d for ds in relevant.values() for d in ds})
        lengths = doc_lengths(benchmark.stores[lang], docids, tokenizer, sep) if docids else {}
        for qid, ds in relevant.items():
            result[(lang, qid)] = bucket_of(max(lengths[d] for d in ds), edges) if ds else NO_RELEVANT
    return result
