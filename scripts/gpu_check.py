"""GPU checks for the reranking engine (run on a machine with CUDA; not a test).

1. Reduced precision: the sample's rerank pairs scored by a random-weight real-size GTE in fp32, bf16 and fp16,
   with SDPA and eager attention; max |score diff| vs fp32 and throughput ratios. The scores are saved so the
   nDCG@10 change on the sample can be computed on any machine (`--ndcg SCORES.npz`).
2. Out-of-memory recovery: an absurd token budget on 8,192-token documents must halve until it fits, score
   every pair, and agree with a run at a sane budget.
Usage: python scripts/gpu_check.py --pairs pairs.jsonl --out DIR ; python scripts/gpu_check.py --ndcg DIR/scores.npz
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from evalkit.rerank.engine import CrossEncoder, EngineSettings
from evalkit.models.loading import load_cross_encoder
from evalkit.testing import make_tiny_gte


def score(loaded, pairs, dtype, max_length=8192, budget=65536):
    settings = EngineSettings(max_length=max_length, batch_tokens=budget, dtype=dtype, device="cuda")
    enc = CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, settings, progress=False)
    enc.score(pairs[:8])  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = enc.score(pairs)
    torch.cuda.synchronize()
    return out, time.perf_counter() - start, enc


def check(args) -> dict:
    records = [json.loads(line) for line in open(args.pairs, encoding="utf-8")]
    pairs = [(r["query"], r["doc"]) for r in records]
    model_dir = make_tiny_gte(args.out / "model", hidden=768, layers=12, heads=12, intermediate=3072)
    report: dict = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "pairs": len(pairs)}
    scores, walls = {}, {}
    for attn in ("sdpa", "eager"):
        for dtype in ("fp32", "bf16", "fp16"):
            loaded = load_cross_encoder(str(model_dir), dtype=dtype, device="cuda", attn_implementation=attn)
            s, wall, _ = score(loaded, pairs, dtype)
            scores[f"{attn}_{dtype}"], walls[f"{attn}_{dtype}"] = s, wall
            del loaded
            torch.cuda.empty_cache()
    ref = scores["sdpa_fp32"]
    report["max_abs_diff_vs_sdpa_fp32"] = {k: float(np.abs(v - ref).max()) for k, v in scores.items()}
    report["pairs_per_s"] = {k: len(pairs) / w for k, w in walls.items()}
    report["speedup_vs_sdpa_fp32"] = {k: walls["sdpa_fp32"] / w for k, w in walls.items()}
    np.savez(args.out / "scores.npz", keys=np.array([json.dumps([r["lang"], r["qid"], r["docid"]]) for r in records]),
             **scores)

    # OOM recovery on long documents: 64 pairs of ~8k tokens, fp32, a 64M-token budget cannot fit
    loaded = load_cross_encoder(str(model_dir), dtype="fp32", device="cuda")
    long_doc = " ".join(["lorem ipsum dolor sit amet consectetur"] * 1500)
    long_pairs = [(f"query {i}", f"{i} {long_doc}") for i in range(64)]
    sane, _, _ = score(loaded, long_pairs, "fp32", budget=65536)
    torch.cuda.reset_peak_memory_stats()
    big, wall, enc = score(loaded, long_pairs, "fp32", budget=64 * 1024 * 1024)
    report["oom"] = {"start_budget": 64 * 1024 * 1024, "final_budget": enc._runner.budget,
                     "budget_changes": enc.stats.budget_changes, "all_scored": bool(np.isfinite(big).all()),
                     "max_abs_diff_vs_sane_budget": float(np.abs(big - sane).max()),
                     "peak_gib": torch.cuda.max_memory_allocated() / 2**30, "wall_s": wall}
    return report


def ndcg_change(npz: Path) -> dict:
    """nDCG@10 on the sample with each precision's scores (run where evalkit and its sample are installed)."""
    from omegaconf import OmegaConf

    from evalkit.config import BenchmarkConfig
    from evalkit.data import load_benchmark
    from evalkit.metrics.evaluate import evaluate_runs

    data = np.load(npz)
    keys = [json.loads(k) for k in data["keys"]]
    bench = load_benchmark(OmegaConf.structured(BenchmarkConfig(name="sample")))
    out = {}
    for name in data.files:
        if name == "keys":
            continue
        runs: dict = {}
        for (lang, qid, docid), s in zip(keys, data[name]):
            runs.setdefault(lang, {}).setdefault(qid, {})[docid] = float(s)
        table = evaluate_runs(bench.qrels, runs, ["ndcg@10"], bench.queries)
        out[name] = float(table.groupby("lang")["value"].mean().mean())
    return {k: {"ndcg@10": v, "delta_vs_sdpa_fp32": v - out["sdpa_fp32"]} for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--ndcg", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.ndcg:
        print(json.dumps(ndcg_change(args.ndcg), indent=1))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    report = check(args)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
