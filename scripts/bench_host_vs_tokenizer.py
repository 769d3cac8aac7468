"""evalkit's rerank-stage host work against the XLM-R tokenizer alone, alternated in one process on the same texts.

On a data directory written by scripts/bench_scale_rerank.py, the first candidates (whole queries in run order, up
to --tokens estimated tokens) go through, in turn:

- host: the engine's whole host path with the model's forward stubbed (`CrossEncoder.score_stream` over the
  pipeline's chunks: doc-store fetch, dedupe, pair-cache keys, tokenization, pair assembly, batching, padding);
- fast: the tokenizer alone on the same document texts, one window at a time, Rust `encode_batch_fast` (the fastest
  call: no offsets, ids left inside the Rust encodings);
- fast_ids: the same, then each encoding's ids read out (`e.ids`: the cheapest way to get the ids to Python);
- call: the same with `tokenizer(texts, truncation=True, max_length=8192)` (ids as Python lists).

host, fast, fast_ids, call, host, ...: this VM's speed drifts by up to 1.5x within minutes, so each host
measurement is compared with the tokenizer measurements right next to it. One JSON line: per repeat the seconds,
and the median and lowest of host rate / tokenizer rate.

    python scripts/bench_host_vs_tokenizer.py /tmp/evalkit-scale/miracl-0.0625 --out results/bench/host.jsonl
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from itertools import islice
from pathlib import Path

import numpy as np
from bench_scale_rerank import emit, repo_commit, text_windows   # this script's folder is on sys.path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--tokens", type=int, default=8_000_000, help="estimated tokens of candidates (UTF-8 bytes / 4)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, help="append the JSON line here")
    args = ap.parse_args()
    os.environ.setdefault("EVALKIT_CACHE", str(Path(tempfile.gettempdir()) / "evalkit-scale" / "cache"))
    import torch
    from hydra import compose, initialize_config_dir

    from evalkit.cli import CONFIG_DIR
    from evalkit.app.schema import register
    from evalkit.data import load_benchmark
    from evalkit.data.tokenizer import load_tokenizer
    from evalkit.pipeline import candidates_for
    from evalkit.rerank.engine import build_cross_encoder
    from evalkit.rerank.stream import candidate_chunks
    from evalkit.testing import make_tiny_gte

    register()
    model = make_tiny_gte(Path(tempfile.mkdtemp()) / "gte")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "benchmark=sample", f"benchmark.source={args.data}", "candidates=runfile",
            f"candidates.path={args.data / 'runs'}", "reranker=gte", f"reranker.model={model}", "reranker.cache=false",
            "reranker.device=cpu", "reranker.dtype=fp32"])
    bench = load_benchmark(cfg.benchmark)
    bench.protocol["doc_sep"] = cfg.benchmark.doc_sep
    runs, _ = candidates_for(bench, cfg)
    enc = build_cross_encoder(cfg.reranker, progress=False)
    enc._forward = lambda ids, mask: torch.zeros(ids.shape[0])   # the model stubbed out, as in bench_scale_rerank

    texts, queries, est = [], 0, 0
    for chunk in candidate_chunks(bench, runs):   # the first queries' candidates, up to --tokens
        texts += [doc for _, doc in chunk]
        queries += 1
        est += sum(len(doc.encode()) for _, doc in chunk) // 4
        if est >= args.tokens:
            break

    def chunks():
        return islice(candidate_chunks(bench, runs), queries)

    windows = text_windows(texts, enc.settings.window_tokens)   # the reference's calls
    tok = load_tokenizer("xlmr")
    backend = tok.backend_tokenizer
    calls = {
        "host": lambda: sum(len(s) for s in enc.score_stream(chunks())),
        "fast": lambda: sum(len(backend.encode_batch_fast(w, add_special_tokens=False)) for w in windows),
        "fast_ids": lambda: sum(len([e.ids for e in backend.encode_batch_fast(w, add_special_tokens=False)])
                                for w in windows),
        "call": lambda: sum(len(tok(w, add_special_tokens=False, truncation=True, max_length=8192,
                                    return_attention_mask=False)["input_ids"]) for w in windows),
    }
    rounds = []
    for r in range(args.repeats + 1):            # round 0 warms the doc-store pages and the tokenizer; not counted
        seconds = {}
        for name, call in calls.items():
            begin, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            assert call() == len(texts), name
            seconds[name] = time.perf_counter() - begin
            after = resource.getrusage(resource.RUSAGE_SELF)   # every thread's CPU: < 2 x wall means idle cores
            seconds[f"{name}_cpu"] = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
        if r:
            rounds.append(seconds)
    refs = ("fast", "fast_ids", "call")
    ratio = {ref: [s[ref] / s["host"] for s in rounds] for ref in refs}   # host rate / reference rate
    emit({"data": str(args.data), "pairs": len(texts), "reference_calls": len(windows),
          "engine_windows_tokens": enc.settings.window_tokens, "rounds": rounds,
          **{f"host_over_{ref}_{stat}": float(f(ratio[ref])) for ref in refs for stat, f in (("median", np.median),
                                                                                               ("min", min))},
          "host_pairs_per_s_median": float(np.median([len(texts) / s["host"] for s in rounds])),
          "commit": repo_commit(), "cpus": os.cpu_count(), "platform": platform.platform(),
          "date": time.strftime("%Y-%m-%d %H:%M")}, args.out)


if __name__ == "__main__":
    main()
