"""BGE-M3 sparse first stage at scale: index build and inverted-index search over a synthetic corpus.

Lexical weights are drawn like BGE-M3's on MIRACL passages (no model runs: this measures the index and the search):
token ids Zipf-distributed over XLM-R's 250,002 pieces, `--tokens` distinct ids per passage (about 100-token
passages), ReLU-like weights; queries of 8 distinct ids. Each corpus size runs in its own child process, which
reports its own peak RSS, so memory at two sizes shows whether it grows with the corpus. At the smallest size the
same search is also done as one scipy product over the whole corpus (what the sharded search must equal), and
the ratio of the two times is printed.

    python scripts/bench_m3_sparse.py --sizes 250000 1000000 --queries 1000 --depth 1000 --out results/bench/m3-sparse.json
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VOCAB = 250002


def synthetic(rng: np.random.Generator, n: int, tokens: int):
    from evalkit.m3.encoder import SparseWeights

    ids = (rng.zipf(1.3, size=(n, tokens * 2)) + 5) % VOCAB
    rows = []
    for row in ids:
        unique = np.unique(row)[:tokens].astype(np.int32)
        rows.append((unique, (rng.random(len(unique)) * 0.3).astype(np.float32) + 0.001))
    return SparseWeights.from_rows(rows)


def child(args) -> dict:
    from evalkit.m3.encoder import M3Reps
    from evalkit.m3.index import SparseShards, write_index_shard
    from evalkit.m3.sparse_search import sparse_search

    rng = np.random.default_rng(0)
    root = Path(args.dir) / f"index-{args.size}"
    root.mkdir(parents=True)
    start, nnz, k = time.perf_counter(), 0, 0
    for k, first in enumerate(range(0, args.size, args.shard_docs)):
        n = min(args.shard_docs, args.size - first)
        weights = synthetic(rng, n, args.tokens)
        nnz += len(weights.ids)
        write_index_shard(root, k, [f"doc{first + i}" for i in range(n)],
                          M3Reps(np.zeros((n, 1), np.float32), weights, None))
    (root / "manifest.json").write_text(json.dumps({"shards": k + 1, "vocab_size": VOCAB, "complete": True}))
    build = time.perf_counter() - start
    queries = synthetic(np.random.default_rng(1), args.queries, 8)
    index = SparseShards(root)
    start = time.perf_counter()
    hits = sparse_search(queries, index, args.depth)
    search = time.perf_counter() - start
    out = {"documents": args.size, "nnz": nnz, "shards": k + 1, "build_seconds": round(build, 2),
           "search_seconds": round(search, 2), "queries": args.queries, "depth": args.depth,
           "queries_per_second": round(args.queries / search, 1),
           "index_bytes": sum(p.stat().st_size for p in root.iterdir()),
           "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if args.one_shot:
        from scipy.sparse import vstack

        mats = [w.to_csr(VOCAB) for _, w in index.sparse()]
        start = time.perf_counter()
        product = (queries.to_csr(VOCAB) @ vstack(mats).T.tocsr()).tocsr()
        best = []
        for r in range(product.shape[0]):
            a, b = product.indptr[r], product.indptr[r + 1]
            s, cols = product.data[a:b], product.indices[a:b]
            order = np.lexsort((-cols, -s))[:args.depth]          # score desc, then docid (= row here) desc
            best.append([f"doc{c}" for c in cols[order]])
        out["one_shot_seconds"] = round(time.perf_counter() - start, 2)
        same = all(list(h) == b for h, b in zip(hits, best) if len(set(h.values())) == len(h))
        out["one_shot_same_ranking"] = bool(same)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--depth", type=int, default=1000)
    p.add_argument("--tokens", type=int, default=60)
    p.add_argument("--shard-docs", type=int, default=50_000)
    p.add_argument("--out", type=Path)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    p.add_argument("--one-shot", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, size in enumerate(args.sizes):
            cmd = [sys.executable, __file__, "--child", "--size", str(size), "--dir", tmp, "--queries",
                   str(args.queries), "--depth", str(args.depth), "--tokens", str(args.tokens),
                   "--shard-docs", str(args.shard_docs)] + (["--one-shot"] if i == 0 else [])
            results.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
            print(json.dumps(results[-1]), flush=True)
    first = results[0]
    print(f"sharded search / one scipy product at {first['documents']:,} documents: "
          f"{first['search_seconds'] / first['one_shot_seconds']:.2f}x the time "
          f"(same ranking: {first['one_shot_same_ranking']})")
    if len(results) > 1:
        print(f"peak RSS {results[0]['peak_rss_mib']} MiB at {results[0]['documents']:,} vs "
              f"{results[-1]['peak_rss_mib']} MiB at {results[-1]['documents']:,} documents")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
