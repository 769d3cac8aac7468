"""One-call GPU benchmark of the reranker: evalkit (packed, streamed) vs its padded path vs the pre-streaming engine
vs sentence-transformers' CrossEncoder.predict, on a random-weight real-size GTE reranker in fp16.

Mixes (text decoded from random XLM-R pieces, so token counts land near the drawn lengths):
- MIRACL-like: --miracl-pairs (default 2,000) pairs, passages of 50-400 tokens, 20 candidates a query;
- MLDR-like: --mldr-pairs (default 400) pairs, documents lognormal around 3,300 tokens, up to 8,192.
Every system scores the same pairs after a warm-up; walls are taken after torch.cuda.synchronize(). Reported:
pairs/s, and model FLOP/s as a fraction of the H100/H200 fp16 dense peak (989 TFLOP/s), with FLOPs per pair
226.5M * n + 36,864 * n^2 for a pair of n tokens (GTE: ~113M matmul parameters, 12 layers x 768 hidden). Also
max |score difference| of each system vs evalkit's padded path (fp16), and packed vs padded in fp32 on 64 pairs.
Then the encoder-vs-decoder benchmark (scripts/bench_encoder_vs_decoder.py: GTE, bge-reranker-v2-m3, Qwen3-Reranker-
0.6B, a Qwen2-1.5B, bge-reranker-v2-gemma at their real shapes) in fp16 and bf16, packed (causal varlen attention for
the decoders) with the runtime guard on, and padded fp16 beside them; and the guard's tolerance measured on the GPU
(scripts/guard_tolerance.py).

    python scripts/gpu_bench_rerank.py --out results/bench        # writes gpu-rerank-<device>-<date>.{md,json}
    python scripts/gpu_bench_rerank.py --dry-run --out /tmp/x     # CPU, tiny shapes: checks the script runs
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts"), str(REPO / "tests")]

from bench_rerank import make_pairs  # noqa: E402
from evalkit.rerank.engine import CrossEncoder, EngineSettings, resolve_batch_tokens  # noqa: E402
from evalkit.models.loading import load_cross_encoder  # noqa: E402
from evalkit.storage.atomic import atomic_write_text  # noqa: E402
from evalkit.testing import make_tiny_gte  # noqa: E402
from old_engine import old_scores  # noqa: E402

PEAK = 989e12   # H100/H200 SXM fp16 dense tensor-core peak, FLOP/s


def pair_flops(lengths: np.ndarray) -> float:
    n = lengths.astype(np.float64)
    return float((226.5e6 * n + 36864 * n ** 2).sum())


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn) -> tuple[np.ndarray, float]:
    sync()
    start = time.perf_counter()
    out = fn()
    sync()
    return np.asarray(out, dtype=np.float32), time.perf_counter() - start


DEVICE = "cuda"


def engine(loaded, max_length: int, dtype: str, packed: bool, batch_tokens: int) -> CrossEncoder:
    settings = EngineSettings(max_length=max_length, batch_tokens=batch_tokens, dtype=dtype, device=DEVICE,
                              packed=packed)
    return CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, settings, progress=False)


def run_mix(name: str, pairs, max_length: int, fp16, model_dir: Path, args, low: str = "fp16") -> list[dict]:
    from sentence_transformers import CrossEncoder as STCrossEncoder

    budget = resolve_batch_tokens(args.batch_tokens, DEVICE)
    lengths = engine(fp16, max_length, low, False, budget).encode_arrays(pairs).lengths
    flops = pair_flops(lengths)
    st = STCrossEncoder(str(model_dir), device=DEVICE, max_length=max_length, activation_fn=torch.nn.Identity(),
                        model_kwargs={"dtype": torch.float16 if low == "fp16" else torch.float32})
    systems = {
        "evalkit packed (default on CUDA)": lambda p: engine(fp16, max_length, low, True, budget).score(p),
        "evalkit padded (reranker.packed=false)": lambda p: engine(fp16, max_length, low, False, budget).score(p),
        "pre-streaming engine (padded row by row)": lambda p: old_scores(fp16.model, fp16.tokenizer, p, max_length,
                                                                          batch_tokens=16384, device=DEVICE),
        "sentence-transformers predict (batch 32)": lambda p: st.predict(p, batch_size=args.st_batch,
                                                                         show_progress_bar=False),
    }
    rows, scores = [], {}
    for system, fn in systems.items():
        try:
            fn(pairs[:32])                               # warm-up: kernels, allocator
            scores[system], wall = timed(lambda: fn(pairs))
        except torch.OutOfMemoryError as exc:
            rows.append({"mix": name, "system": system, "error": f"out of memory: {str(exc)[:120]}"})
            torch.cuda.empty_cache()
            continue
        rows.append({"mix": name, "system": system, "pairs": len(pairs), "mean tokens": float(lengths.mean()),
                     "wall s": wall, "pairs/s": len(pairs) / wall, "TFLOP/s": flops / wall / 1e12,
                     "of 989 TFLOP/s": flops / wall / PEAK})
        logging.info("%s / %s: %.2f s", name, system, wall)
    ref = scores.get("evalkit padded (reranker.packed=false)")
    for row in rows:
        if ref is not None and row["system"] in scores:
            row["max |diff| vs padded"] = float(np.abs(scores[row["system"]] - ref).max())
    packed_row = next((r for r in rows if r["system"].startswith("evalkit packed") and "pairs/s" in r), None)
    st_row = next((r for r in rows if r["system"].startswith("sentence") and "pairs/s" in r), None)
    if packed_row and st_row:
        packed_row["x sentence-transformers"] = packed_row["pairs/s"] / st_row["pairs/s"]
    del st
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return rows


def fp32_check(model_dir: Path, pairs, max_length: int) -> float:
    """Packed vs padded in fp32 on the GPU (packed attention then runs one SDPA call per sequence)."""
    fp32 = load_cross_encoder(str(model_dir), dtype="fp32", device=DEVICE)
    a = engine(fp32, max_length, "fp32", False, 16384).score(pairs)
    b = engine(fp32, max_length, "fp32", True, 16384).score(pairs)
    del fp32
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return float(np.abs(a - b).max())


def markdown(rows: list[dict], meta: dict) -> str:
    cols = ["mix", "system", "pairs", "mean tokens", "wall s", "pairs/s", "TFLOP/s", "of 989 TFLOP/s",
            "x sentence-transformers", "max |diff| vs padded", "error"]
    cols = [c for c in cols if any(c in r for r in rows)]
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))   # noqa: E731
    lines = [f"# Reranker on {meta['device']} ({meta['date']})", "",
             *[f"- {k}: {v}" for k, v in meta.items() if k not in ("device", "date")], "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--miracl-pairs", type=int, default=2000)
    ap.add_argument("--mldr-pairs", type=int, default=400)
    ap.add_argument("--batch-tokens", type=int, default=0, help="evalkit token budget (0: from device memory)")
    ap.add_argument("--st-batch", type=int, default=32)
    ap.add_argument("--out", type=Path, default=REPO / "results" / "bench")
    ap.add_argument("--smoke", "--dry-run", action="store_true",
                    help="CPU, tiny shapes: checks the script runs, measures nothing")
    ap.add_argument("--decoder-pairs", type=int, default=2000, help="MIRACL-like pairs of the encoder-vs-decoder part")
    ap.add_argument("--decoder-long-pairs", type=int, default=200, help="its MLDR-like pairs (4,096 tokens)")
    ap.add_argument("--skip-encoder-bench", action="store_true", help="only the encoder-vs-decoder part")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    global DEVICE
    if args.smoke:
        DEVICE = "cpu"
    elif not torch.cuda.is_available():
        raise SystemExit("gpu_bench_rerank.py needs CUDA (--smoke checks it on CPU)")
    low = "fp32" if args.smoke else "fp16"
    if not args.skip_encoder_bench:
        encoder_bench(args, low)
    encoder_vs_decoder(args)


def encoder_vs_decoder(args) -> list[Path]:
    """The encoder-vs-decoder part: fp16 and bf16 packed with the guard on, fp16 padded; each run writes
    encoder-vs-decoder-<device>-<dtype>[-packed]-<date>.{md,json}; then the guard tolerance on this device."""
    import os

    from bench_encoder_vs_decoder import main as bench
    from guard_tolerance import main as tolerance

    if args.smoke:
        os.environ["EVALKIT_PACKED_GUARD"] = "1"     # the guard runs on CUDA; forced here to check it on CPU
    common = ["--device", DEVICE, "--out", str(args.out), "--miracl-pairs", str(args.decoder_pairs),
              "--mldr-pairs", str(args.decoder_long_pairs), "--mldr-tokens", "4096", "--batch-tokens",
              str(resolve_batch_tokens(args.batch_tokens, DEVICE) // 4)] + (["--dry-run"] if args.smoke else [])
    stems = []
    for dtype, packed in (("fp16", True), ("bf16", True), ("fp16", False)):
        try:
            stems.append(bench(common + ["--dtype", dtype] + (["--packed"] if packed else [])))
        except torch.OutOfMemoryError as exc:
            logging.warning("encoder-vs-decoder %s packed=%s: out of memory (%s)", dtype, packed, str(exc)[:120])
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    where = "cpu-dry-run" if args.smoke else torch.cuda.get_device_name().split()[-1].lower()
    tolerance(["--device", DEVICE, "--pairs", "8" if args.smoke else "256", *(["--smoke"] if args.smoke else []),
               "--out", str(args.out / f"guard-tolerance-{where}-{dt.date.today()}.json")])
    return stems


def encoder_bench(args, low: str) -> None:
    with tempfile.TemporaryDirectory(prefix="gpu_bench_") as tmp:
        size = {"hidden": 64, "layers": 1, "heads": 2, "intermediate": 128} if args.smoke else {"real_size": True}
        model_dir = make_tiny_gte(Path(tmp) / "gte", **size)
        fp16 = load_cross_encoder(str(model_dir), dtype=low, device=DEVICE)
        tok = fp16.tokenizer
        miracl = make_pairs(tok, args.miracl_pairs, 20, lambda rng, n: rng.integers(50, 401, size=n), seed=0)
        mldr = make_pairs(tok, args.mldr_pairs, 20,
                          lambda rng, n: np.clip(rng.lognormal(7.9, 0.6, size=n), 64, 8192).astype(int), seed=1)
        rows = run_mix("MIRACL-like", miracl, 512, fp16, model_dir, args, low)
        rows += run_mix("MLDR-like", mldr, 8192, fp16, model_dir, args, low)
        check = fp32_check(model_dir, miracl[:64], 512)
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu (smoke run)"
    meta = {"device": name, "date": str(dt.date.today()), "torch": torch.__version__,
            "model": "random-weight GTE reranker, " + ("1 layer, 64 hidden, fp32 (smoke)" if args.smoke else
                                                        "real size (768 hidden, 12 layers), fp16"),
            "evalkit batch_tokens": resolve_batch_tokens(args.batch_tokens, DEVICE),
            "fp32 packed vs padded, 64 MIRACL-like pairs, max |diff|": check,
            "FLOPs per pair": "226.5M * n + 36,864 * n^2", "peak": "989 TFLOP/s (fp16 dense)"}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"gpu-rerank-{name.split()[-1].strip('()').lower()}-{dt.date.today()}"
    atomic_write_text(stem.with_suffix(".json"), json.dumps({"meta": meta, "rows": rows}, indent=1))
    text = markdown(rows, meta)
    atomic_write_text(stem.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()
