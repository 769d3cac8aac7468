"""evalkit's host work per window vs the XLM-R tokenizer alone, side by side in one process, on the same texts.

On a data directory written by scripts/bench_scale_rerank.py: (1) the engine's window builder (doc-store fetch,
dedupe, pair-cache keys, tokenization into flat int32 arrays, pair assembly) runs over every candidate in this
thread; (2) one tokenizer call (as the engine calls it) tokenizes the same document texts. Prints both walls and
their ratio.

    python scripts/bench_window_builder.py /tmp/evalkit-scale/miracl-0.015625 --languages 18
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--languages", type=int, default=None, help="only the first N languages")
    args = ap.parse_args()
    os.environ.setdefault("EVALKIT_CACHE", str(Path(tempfile.gettempdir()) / "evalkit-scale" / "cache"))
    from hydra import compose, initialize_config_dir

    from evalkit.cli import CONFIG_DIR
    from evalkit.config import register
    from evalkit.data import load_benchmark
    from evalkit.pipeline import candidates_for
    from evalkit.rerank.engine import build_cross_encoder
    from evalkit.rerank.stream import candidate_chunks
    from evalkit.testing import make_tiny_gte

    register()
    model = make_tiny_gte(Path(tempfile.mkdtemp()) / "gte")
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "benchmark=sample", f"benchmark.source={args.data}", "candidates=runfile",
            f"candidates.path={args.data / 'runs'}", "reranker=gte", f"reranker.model={model}", "reranker.cache=false"])
    bench = load_benchmark(cfg.benchmark)
    bench.protocol["doc_sep"] = cfg.benchmark.doc_sep
    runs, _ = candidates_for(bench, cfg)
    runs = {lang: runs[lang] for lang in list(runs)[:args.languages]}
    enc = build_cross_encoder(cfg.reranker, progress=False)
    start = time.perf_counter()
    windows = sum(1 for _ in enc._windows(candidate_chunks(bench, runs)))
    builder = time.perf_counter() - start
    texts = [doc for chunk in candidate_chunks(bench, runs) for _, doc in chunk]
    start = time.perf_counter()
    enc.tokenizer(texts, add_special_tokens=False, truncation=True, max_length=enc.settings.max_length,
                  return_attention_mask=False)
    tokenizer = time.perf_counter() - start
    print(json.dumps({"data": str(args.data), "pairs": len(texts), "windows": windows, "window_builder_s": builder,
                      "tokenizer_call_s": tokenizer, "builder_rate_over_tokenizer_rate": tokenizer / builder}))


if __name__ == "__main__":
    main()
