"""Does writing an explorer page stay within bounded memory as the run grows? Synthetic MIRACL-layout runs of one
language (N queries x 100 candidates, first stage and reranked, passages of ~600 characters) are written, then
`evalkit explore` runs on each in a fresh process; its peak RSS, time and output sizes are reported per N.

    python scripts/bench_explore_memory.py [--queries 1000 4000] [--out results/bench/explore-memory-<date>.md]
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
DEPTH = 100


def make_run(root: Path, n: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    words = [f"w{k}" for k in range(2000)]
    n_docs = max(5_000, 3 * n)
    data = root / "data"
    base, corpus = data / "miracl-v1.0-en", data / "miracl-corpus-v1.0-en"
    for sub in ("topics", "qrels"):
        (base / sub).mkdir(parents=True)
    corpus.mkdir(parents=True)
    with gzip.open(corpus / "docs-0.jsonl.gz", "wt", encoding="utf-8") as fh:
        for d in range(n_docs):
            text = " ".join(rng.choice(words) for _ in range(rng.randrange(60, 140)))
            fh.write(json.dumps({"docid": f"{d}#0", "title": f"T{d}", "text": text}) + "\n")
    qids = [str(q) for q in range(n)]
    (base / "topics" / "topics.miracl-v1.0-en-dev.tsv").write_text(
        "".join(f"{q}\t{' '.join(rng.choice(words) for _ in range(6))}\n" for q in qids), encoding="utf-8")
    run = root / "run"
    (run / "runs").mkdir(parents=True)
    qrels, first, reranked, rows = [], [], [], []
    for q in qids:
        cands = rng.sample(range(n_docs), DEPTH)
        qrels += [f"{q}\tQ0\t{d}#0\t{rng.choice([0, 1, 2])}\n" for d in cands[:8]]
        first += [f"{q} Q0 {d}#0 {r} {DEPTH - r} bm25\n" for r, d in enumerate(cands, 1)]
        rng.shuffle(cands)
        reranked += [f"{q} Q0 {d}#0 {r} {DEPTH - r} gte\n" for r, d in enumerate(cands, 1)]
        rows += [{"system": s, "lang": "en", "qid": q, "bucket": "<=512", "metric": m, "value": rng.random()}
                 for s in ("first_stage", "reranked", "ceiling") for m in ("ndcg@10", "mrr@10", "recall@100")]
    (base / "qrels" / "qrels.miracl-v1.0-en-dev.tsv").write_text("".join(qrels), encoding="utf-8")
    (run / "runs" / "first_stage.en.trec").write_text("".join(first), encoding="utf-8")
    (run / "runs" / "reranked.en.trec").write_text("".join(reranked), encoding="utf-8")
    pd.DataFrame(rows).to_parquet(run / "per_query.parquet", index=False)
    protocol = {"benchmark": "sample", "split": "dev", "source": str(data), "languages": ["en"], "candidates": "bm25",
                "depth": DEPTH, "reranker": "gte", "max_length": 512, "query_budget": 384, "bucket_tokenizer": "xlmr",
                "doc_sep": " "}
    (run / "metrics.json").write_text(json.dumps({"systems": {}, "protocol": protocol}), encoding="utf-8")
    config = {"benchmark": {"name": "sample", "source": str(data), "split": "dev", "cache_dir": str(root / "cache")}}
    (run / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return run


def measure(run: Path) -> dict:
    """`evalkit explore` in a child process: wall time, the child's peak RSS, page and shard sizes."""
    env_script = ("import resource, sys; from evalkit.report.explore import main; rc = main(sys.argv[1:]); "
                  "sys.stderr.write(f'MAXRSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'); sys.exit(rc)")
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", env_script, str(run)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
                               "EVALKIT_CACHE": str(run.parent / "cache"), "HOME": str(run.parent)})
    wall = time.perf_counter() - t
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    rss = int(done.stderr.split("MAXRSS ")[-1].split()[0]) / 2**10
    shards = list((run / "explore_files").glob("*.js"))
    return {"wall": wall, "rss": rss, "page": (run / "explore.html").stat().st_size / 2**20,
            "shards": len(shards), "shard_mib": sum(p.stat().st_size for p in shards) / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = ["| queries (one language) | candidates | peak RSS MiB | wall s | page MiB | shards | shards MiB |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.queries:
            run = make_run(Path(tmp) / str(n), n)
            measure(run)                  # first call builds the doc store and tokenizer caches
            r = measure(run)
            lines.append(f"| {n} | {n * DEPTH:,} | {r['rss']:.0f} | {r['wall']:.1f} | {r['page']:.2f} | {r['shards']} | "
                         f"{r['shard_mib']:.1f} |")
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
