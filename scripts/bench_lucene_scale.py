"""candidates=lucene at scale: index and search a synthetic corpus of millions of passages; measure memory.

    python scripts/bench_lucene_scale.py --docs 1000000,3000000 --queries 1000 --heap 2g --threads 2

For each size a child process builds the Arrow document store from a generated JSONL.gz corpus (Zipfian
vocabulary, 40-160 words per passage, MIRACL's {docid, title, text} records), indexes it with Lucene through
Pyserini (English analyzer), and runs `--queries` queries at Pyserini's --hits 1000. The parent samples the
child's /proc status every 0.2 s: peak resident memory (VmHWM), peak anonymous memory (RssAnon: JVM heap and
Python objects; memory-mapped index and docstore pages are file-backed and reclaimable) and wall time per step.
Writes a JSON summary (--out) and prints one line per size.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(3, 11, size)
    return sorted({"".join(rng.choice(letters, n)) for n in lengths})


def write_corpus(path: Path, docs: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = vocabulary(200_000, rng)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for start in range(0, docs, 10_000):
            n = min(10_000, docs - start)
            lengths = rng.integers(40, 161, n)
            ids = (rng.zipf(1.2, int(lengths.sum())) - 1) % len(vocab)
            words = [vocab[i] for i in ids.tolist()]
            at = 0
            for k, length in enumerate(lengths.tolist()):
                text = " ".join(words[at:at + length])
                at += length
                f.write(json.dumps({"docid": f"{start + k}#0", "title": words[at - 1], "text": text}) + "\n")
    return vocab


def child(corpus: Path, queries: int, heap: str, threads: int, memory_buffer_mb: int) -> None:
    from evalkit.candidates.lucene import lucene_candidates
    from evalkit.app.schema import CandidatesConfig
    from evalkit.candidates.lucene import LuceneConfig
    from evalkit.contracts import Benchmark
    from evalkit.data.docstore import open_jsonl_store

    timings = {}
    clock = time.perf_counter()
    store = open_jsonl_store([corpus])
    timings["docstore_s"] = time.perf_counter() - clock
    rng = np.random.default_rng(1)
    vocab = vocabulary(200_000, np.random.default_rng(0))
    texts = {f"q{i}": " ".join(vocab[j] for j in ((rng.zipf(1.2, rng.integers(3, 9)) - 1) % len(vocab)).tolist())
             for i in range(queries)}
    bench = Benchmark("synthetic", {"en": texts}, {"en": {}}, {"en": store})
    cfg = CandidatesConfig(name="lucene", depth=100, lucene=LuceneConfig(heap=heap, threads=threads, hits=1000,
                                                                         memory_buffer_mb=memory_buffer_mb))
    clock = time.perf_counter()
    print("PHASE index", flush=True)
    runs = lucene_candidates(bench, cfg)        # builds the index (first call), then searches
    timings["index_and_search_s"] = time.perf_counter() - clock
    print("PHASE search", flush=True)
    clock = time.perf_counter()
    runs = lucene_candidates(bench, cfg)        # the cached index: search alone
    timings["search_s"] = time.perf_counter() - clock
    hits = sum(len(r) for r in runs["en"].values())
    print("RESULT " + json.dumps({**timings, "documents": len(store), "queries": queries, "hits_kept": hits}),
          flush=True)


def status(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


def measure(docs: int, args, workdir: Path) -> dict:
    corpus = workdir / f"corpus-{docs}.jsonl.gz"
    clock = time.perf_counter()
    if not corpus.exists():
        write_corpus(corpus, docs)
    generate_s = time.perf_counter() - clock
    cache = workdir / f"cache-{docs}-{args.heap}-{args.memory_buffer}"
    env = {**os.environ, "EVALKIT_CACHE": str(cache), "EVALKIT_VERIFY": "size",
           "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(corpus), "--queries", str(args.queries),
                             "--heap", args.heap, "--threads", str(args.threads), "--memory-buffer", str(args.memory_buffer)],
                            env=env, stdout=subprocess.PIPE, text=True)
    peaks: dict[str, int] = {}
    phase = ["docstore"]
    by_phase: dict[str, int] = {}

    def sample() -> None:
        while proc.poll() is None:
            try:
                now = status(proc.pid)
            except OSError:
                break
            for key, value in now.items():
                peaks[key] = max(peaks.get(key, 0), value)
            by_phase[phase[0]] = max(by_phase.get(phase[0], 0), now.get("RssAnon", 0))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = None
    for line in proc.stdout:
        if line.startswith("PHASE "):
            phase[0] = line.split()[1]
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
    proc.wait()
    sampler.join()
    if proc.returncode != 0 or result is None:
        raise SystemExit(f"child for {docs} documents failed (exit {proc.returncode})")
    gib = 1 << 30
    index_bytes = sum(p.stat().st_size for p in (cache / "lucene-index").rglob("*") if p.is_file())
    return {**result, "generate_s": generate_s, "peak_rss_gib": peaks.get("VmHWM", 0) / gib,
            "peak_anon_gib": peaks.get("RssAnon", 0) / gib,
            "peak_anon_by_phase_gib": {k: v / gib for k, v in by_phase.items()},
            "index_gib": index_bytes / gib, "heap": args.heap, "memory_buffer_mb": args.memory_buffer,
            "threads": args.threads}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", default="1000000,3000000", help="comma-separated corpus sizes")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--heap", default="2g")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--memory-buffer", type=int, default=1024, help="Lucene IndexWriter RAM buffer (MB)")
    p.add_argument("--workdir", default=None, help="where corpora, stores and indexes go (default: a temp dir)")
    p.add_argument("--out", default=None, help="JSON summary file")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(Path(args.child), args.queries, args.heap, args.threads, args.memory_buffer)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="lucene-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for docs in [int(x) for x in args.docs.split(",")]:
        row = measure(docs, args, workdir)
        rows.append(row)
        print(f"{docs:>10,} docs: peak RSS {row['peak_rss_gib']:.2f} GiB, peak anonymous {row['peak_anon_gib']:.2f} GiB "
              f"(-Xmx{args.heap}, buffer {args.memory_buffer} MB), index {row['index_gib']:.2f} GiB; docstore {row['docstore_s']:.0f} s, "
              f"index+search {row['index_and_search_s']:.0f} s, search alone {row['search_s']:.1f} s "
              f"for {row['queries']} queries", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"python": sys.version.split()[0], "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
