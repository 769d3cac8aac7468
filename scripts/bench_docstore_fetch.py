"""Doc-store fetches by docid: the docid index against a scan of the docid column, side by side on one store.

Builds (once, in --work) a synthetic corpus of --docs passages with MIRACL-style docids, then alternates, for
--rounds rounds, fetches of --fetch random docids (the rerank stage fetches 1,024 at a time) through the index
(`store.texts`) and through the scan every fetch used before the index (`ArrowTableDocs._rows`: `pc.is_in` over
each record batch's docid column). Prints one JSON line: median seconds per fetch of each, and their ratio.

    python scripts/bench_docstore_fetch.py --docs 2000000 --out results/bench/docstore-fetch.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_scale_rerank import emit, repo_commit   # this script's folder is on sys.path


def make_corpus(path: Path, docs: int) -> None:
    if path.exists():
        return
    rng = random.Random(0)
    with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as fh:
        for i in range(docs):
            words = " ".join(str(rng.randrange(10**6)) for _ in range(12))
            fh.write(json.dumps({"docid": f"{i // 7}#{i % 7}", "title": f"title {i // 7}", "text": words}) + "\n")
    os.replace(path.with_suffix(".tmp"), path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2_000_000)
    ap.add_argument("--fetch", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "evalkit-docstore-bench")
    ap.add_argument("--out", type=Path, help="append the JSON line here")
    args = ap.parse_args()
    from evalkit.data.docstore import ArrowTableDocs, open_jsonl_store

    args.work.mkdir(parents=True, exist_ok=True)
    corpus = args.work / f"corpus-{args.docs}.jsonl"
    make_corpus(corpus, args.docs)
    begin = time.perf_counter()
    store = open_jsonl_store([corpus], args.work / "cache")
    open_s = time.perf_counter() - begin   # includes the build on the first run
    rng = random.Random(1)
    docids = [f"{i // 7}#{i % 7}" for i in (rng.randrange(args.docs) for _ in range(args.fetch * args.rounds))]
    seconds: dict[str, list[float]] = {"index": [], "scan": []}
    for r in range(args.rounds):
        asked = docids[r * args.fetch:(r + 1) * args.fetch]
        for name, fetch in (("index", lambda: store.texts(asked)),
                            ("scan", lambda: ArrowTableDocs._rows(store, asked)["docid"].to_pylist())):
            start = time.perf_counter()
            got = fetch()
            seconds[name].append(time.perf_counter() - start)
            assert len(got) == len(asked), name
        assert ArrowTableDocs._rows(store, asked)["docid"].to_pylist() == asked
    index, scan = (float(np.median(seconds[k])) for k in ("index", "scan"))
    emit({"docs": args.docs, "fetch": args.fetch, "rounds": args.rounds, "record_batches": len(store._batches),
          "open_s": open_s, "index_s_per_fetch": index, "scan_s_per_fetch": scan, "scan_over_index": scan / index,
          "seconds": seconds, "commit": repo_commit(), "cpus": os.cpu_count(), "platform": platform.platform(),
          "date": time.strftime("%Y-%m-%d %H:%M")}, args.out)


if __name__ == "__main__":
    main()
