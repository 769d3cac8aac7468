"""Reranker throughput benchmark: evalkit's CrossEncoder vs sentence-transformers vs a length-sorted fixed batch.

One random-weight gte model of the real size (768 hidden, 12 layers unless --layers), the real XLM-R tokenizer,
the same pairs and max_length for every system, side by side in one process. Writes results/bench/rerank-<date>.md.

    python scripts/bench_rerank.py                                  # full size (slow on CPU)
    python scripts/bench_rerank.py --miracl-pairs 24 --mldr-pairs 4 --layers 2 --mldr-max-length 2048  # quick

Peak memory: on CPU the process's peak RSS (VmHWM, reset before each measurement through /proc/self/clear_refs),
which includes the loaded weights; on CUDA torch.cuda.max_memory_allocated.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from sentence_transformers import CrossEncoder as STCrossEncoder

from evalkit.models.batching import pad_batch
from evalkit.rerank.cache import PairCache
from evalkit.rerank.engine import CrossEncoder, EngineSettings
from evalkit.models.loading import LoadedModel, load_cross_encoder
from evalkit.testing import make_tiny_gte

Pairs = list[tuple[str, str]]


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    else:
        Path("/proc/self/clear_refs").write_text("5")


def _status_gib(key: str) -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(key))
    return int(line.split()[1]) / 2**20


def current_gib(device: str) -> float:
    return torch.cuda.memory_allocated() / 2**30 if device.startswith("cuda") else _status_gib("VmRSS")


def peak_gib(device: str) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else _status_gib("VmHWM")


def matmul_flops(dtype: torch.dtype, device: str, max_n: int = 2048, min_s: float = 0.5) -> tuple[float, int]:
    """Dense n x n matmul FLOP/s; n grows from 256 to max_n while one product takes < 0.2 s (CPUs without bf16
    units run bf16 matmuls ~10x slower than fp32, and a fixed 2048 would take minutes there)."""
    def timed(n: int, reps: int) -> float:
        a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
        a @ b
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        sync()
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync()
        return time.perf_counter() - start
    n = 256
    while n < max_n and timed(n, 1) < 0.2:
        n *= 2
    reps = max(1, int(min_s / max(timed(n, 1), 1e-6)))
    return 2 * n**3 * reps / timed(n, reps), n


def make_pairs(tok, n: int, docs_per_query: int, doc_lengths: Callable[[np.random.Generator, int], np.ndarray],
               seed: int) -> Pairs:
    """Text decoded from random XLM-R pieces, so token counts land near the drawn lengths."""
    rng = np.random.default_rng(seed)
    n_queries = max(n // docs_per_query, 1)
    def decode(k: int) -> str:
        return tok.decode(rng.integers(5, 250000, size=int(k)).tolist())
    queries = [decode(k) for k in rng.integers(5, 30, size=n_queries)]
    return [(queries[i % n_queries], decode(k)) for i, k in enumerate(doc_lengths(rng, n))]


def model_flops(lengths: np.ndarray, nonembed_params: int, hidden: int, layers: int) -> float:
    """2 * params * tokens for the dense layers + 4 * L^2 * hidden per layer for QK^T and AV."""
    return float(2 * nonembed_params * lengths.sum() + 4 * hidden * layers * (lengths.astype(float) ** 2).sum())


def sorted_fixed_batch(loaded: LoadedModel, pairs: Pairs, max_length: int, batch: int, device: str):
    """FlagReranker's loop: tokenize, sort by length (longest first), fixed batch size, pad to the batch's longest."""
    tok, model = loaded.tokenizer, loaded.model
    ids = tok([q for q, _ in pairs], [d for _, d in pairs], truncation="only_second", max_length=max_length)["input_ids"]
    order = np.argsort([-len(x) for x in ids], kind="stable")
    out, computed = np.empty(len(pairs), dtype=np.float32), 0
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            input_ids, mask = pad_batch([ids[i] for i in idx], tok.pad_token_id)
            computed += input_ids.numel()
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits[:, 0]
            out[idx] = logits.float().cpu().numpy()
    return out, computed


def measure(name: str, fn: Callable[[], tuple[np.ndarray, int]], real: np.ndarray, flops: float,
            peak_flops: float, device: str) -> dict:
    reset_peak(device)
    base = current_gib(device)
    start = time.perf_counter()
    scores, computed = fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    row = {"system": name, "pairs/s": len(real) / wall, "tokens/s": real.sum() / wall,
           "padding eff.": real.sum() / computed if computed else float("nan"), "peak GiB": peak_gib(device),
           "peak-start GiB": peak_gib(device) - base,
           "model FLOP/s": flops / wall, "of matmul peak": flops / wall / peak_flops, "wall s": wall}
    logging.info("%s: %.1f s", name, wall)
    return row | {"_scores": scores}


def table(rows: list[dict]) -> str:
    cols = [c for c in rows[0] if not c.startswith("_")]
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    return "\n".join(lines + ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows])


def engine(loaded: LoadedModel, max_length: int, batch_tokens: int, dtype: str, device: str, cache=None):
    settings = EngineSettings(max_length=max_length, batch_tokens=batch_tokens, dtype=dtype, device=device)
    return CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, settings, cache=cache, progress=False)


def run_engine(enc: CrossEncoder, pairs: Pairs) -> tuple[np.ndarray, int]:
    before = enc.stats.padded_tokens
    return enc.score(pairs), enc.stats.padded_tokens - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--miracl-pairs", type=int, default=400, help="pairs with 50-400 token passages")
    ap.add_argument("--mldr-pairs", type=int, default=16, help="pairs with documents up to --mldr-max-length")
    ap.add_argument("--max-length", type=int, default=512, help="max_length of the MIRACL-like run")
    ap.add_argument("--mldr-max-length", type=int, default=8192)
    ap.add_argument("--reduced", choices=("bf16", "fp16"), default=None,
                    help="reduced precision measured against fp32 (default: fp16 on CUDA, bf16 on CPU)")
    ap.add_argument("--reduced-pairs", type=int, default=None,
                    help="MIRACL-like pairs scored in reduced precision (default all)")
    ap.add_argument("--st-mldr-batch", type=int, default=32,
                    help="sentence-transformers' batch size on the MLDR-like mix (32 = its default; 0 = skip, e.g. "
                         "on a CPU where 32 x 8192 tokens of attention would not fit in memory)")
    ap.add_argument("--layers", type=int, default=12, help="encoder layers (12 = the real model)")
    ap.add_argument("--batch-tokens", type=int, default=16384, help="evalkit token budget, MIRACL-like run")
    ap.add_argument("--mldr-batch-tokens", type=int, default=16384, help="evalkit token budget, MLDR-like run")
    ap.add_argument("--memory-budget-gib", type=float, default=16.0, help="peak-memory limit for the MLDR sweep")
    ap.add_argument("--sweep", default="1,2,4,8", help="fixed batch sizes tried on the MLDR-like mix")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", type=Path, default=Path("results/bench"))
    args = ap.parse_args()
    args.reduced = args.reduced or ("fp16" if args.device.startswith("cuda") else "bf16")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench_rerank_") as tmp:
        report = run(args, Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"rerank-{dt.date.today()}.md"
    path.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {path}")


def run(args: argparse.Namespace, work: Path) -> str:
    dev = args.device
    logging.info("writing a random real-size gte model to %s", work)
    model_dir = make_tiny_gte(work / "model", hidden=768, layers=args.layers, heads=12, intermediate=3072)
    fp32 = load_cross_encoder(str(model_dir), device=dev)
    tok, model = fp32.tokenizer, fp32.model
    n_embed = model.gte.embeddings.word_embeddings.weight.numel()
    nonembed = sum(p.numel() for p in model.parameters()) - n_embed
    low = args.reduced
    low_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[low]
    (peak32, size32), (peak16, size16) = matmul_flops(torch.float32, dev), matmul_flops(low_dtype, dev)
    flops = lambda lengths: model_flops(lengths, nonembed, 768, args.layers)   # noqa: E731

    # MIRACL-like: passages of 50-400 tokens, 20 candidates per query
    pairs = make_pairs(tok, args.miracl_pairs, 20, lambda rng, n: rng.integers(50, 401, size=n), seed=0)
    L = args.max_length
    ek = engine(fp32, L, args.batch_tokens, "fp32", dev)
    real = np.array([len(x) for x in ek.encode(pairs)])
    st_model = STCrossEncoder(str(model_dir), device=dev, max_length=L, activation_fn=torch.nn.Identity())
    st_computed = [0]   # tokens sentence-transformers hands its model (it sorts by characters, pads per batch)
    st_embed = next(m for name, m in st_model.named_modules() if name.endswith("word_embeddings"))
    st_embed.register_forward_pre_hook(lambda mod, a: st_computed.__setitem__(0, st_computed[0] + a[0].numel()))
    warm_pairs = pairs[:64]   # first-call costs (kernel selection, allocator) kept out of every timed row
    for warm_up in (lambda: engine(fp32, L, args.batch_tokens, "fp32", dev).score(warm_pairs),
                    lambda: st_model.predict(warm_pairs, show_progress_bar=False)):
        warm_up()
    st_computed[0] = 0
    rows = [measure("evalkit fp32", lambda: run_engine(ek, pairs), real, flops(real), peak32, dev),
            measure("sentence-transformers fp32 (batch 32)",
                    lambda: (st_model.predict(pairs, batch_size=32, show_progress_bar=False), st_computed[0]),
                    real, flops(real), peak32, dev),
            measure("length-sorted fixed batch 32 fp32", lambda: sorted_fixed_batch(fp32, pairs, L, 32, dev),
                    real, flops(real), peak32, dev)]
    del st_model
    reduced = LoadedModel(load_cross_encoder(str(model_dir), device=dev, dtype=low).model, tok, fp32.info)
    n_low = args.reduced_pairs or len(pairs)
    engine(reduced, L, args.batch_tokens, low, dev).score(warm_pairs)
    rows.append(measure(f"evalkit {low} (first {n_low} pairs)",
                        lambda: run_engine(engine(reduced, L, args.batch_tokens, low, dev), pairs[:n_low]),
                        real[:n_low], flops(real[:n_low]), peak16, dev))
    reduced = None   # frees its memory before the MLDR rows
    ref = rows[0]["_scores"]
    for r in rows:
        r["max |diff| vs evalkit fp32"] = float(np.abs(r["_scores"] - ref[:len(r["_scores"])]).max())
    with PairCache(work / "cache.sqlite") as cache:
        cold = measure("evalkit fp32, cold cache", lambda: run_engine(engine(fp32, L, args.batch_tokens, "fp32", dev,
                                                                              cache), pairs), real, flops(real), peak32, dev)
        warm = measure("evalkit fp32, warm cache", lambda: run_engine(engine(fp32, L, args.batch_tokens, "fp32", dev,
                                                                              cache), pairs), real, flops(real), peak32, dev)

    # MLDR-like: a third of the documents over the limit, the rest log-uniform from 256 tokens, 4 per query
    M = args.mldr_max_length
    def mldr_lengths(rng, n):
        return np.where(rng.random(n) < 1 / 3, int(M * 1.5), np.exp(rng.uniform(np.log(256), np.log(M), n)))
    long_pairs = make_pairs(tok, args.mldr_pairs, 4, mldr_lengths, seed=1)
    ek_long = engine(fp32, M, args.mldr_batch_tokens, "fp32", dev)
    long_real = np.array([len(x) for x in ek_long.encode(long_pairs)])
    long_rows = [measure(f"evalkit fp32 (budget {args.mldr_batch_tokens} tokens)",
                         lambda: run_engine(ek_long, long_pairs), long_real, flops(long_real), peak32, dev)]
    for b in [int(x) for x in args.sweep.split(",")]:
        long_rows.append(measure(f"length-sorted fixed batch {b} fp32",
                                 lambda: sorted_fixed_batch(fp32, long_pairs, M, b, dev),
                                 long_real, flops(long_real), peak32, dev))
    if args.st_mldr_batch:
        st_model = STCrossEncoder(str(model_dir), device=dev, max_length=M, activation_fn=torch.nn.Identity())
        st_embed = next(m for name, m in st_model.named_modules() if name.endswith("word_embeddings"))
        st_embed.register_forward_pre_hook(lambda mod, a: st_computed.__setitem__(0, st_computed[0] + a[0].numel()))
        st_computed[0] = 0
        long_rows.append(measure(f"sentence-transformers fp32 (batch {args.st_mldr_batch})",
                                 lambda: (st_model.predict(long_pairs, batch_size=args.st_mldr_batch,
                                                           show_progress_bar=False), st_computed[0]),
                                 long_real, flops(long_real), peak32, dev))
        del st_model
    for r in long_rows:
        r["within budget"] = "yes" if r["peak GiB"] <= args.memory_budget_gib else "no"
    fitting = [r for r in long_rows[1:] if r["within budget"] == "yes" and r["system"].startswith("length-sorted")]
    best = max(fitting, key=lambda r: r["pairs/s"]) if fitting else None

    header = [f"# Reranker throughput, {dt.date.today()}", "",
              f"- command: `python {' '.join(sys.argv)}`",
              f"- machine: {platform.machine()} {platform.processor() or ''}, device {dev}, torch "
              f"{torch.__version__}, {torch.get_num_threads()} threads",
              f"- model: random-weight gte, 768 hidden, {args.layers} layers, {nonembed / 1e6:.1f}M non-embedding "
              f"parameters; real XLM-R tokenizer; attention {model.config._attn_implementation}",
              f"- measured dense matmul: fp32 {peak32 / 1e9:.1f} GFLOP/s ({size32}x{size32}), {low} "
              f"{peak16 / 1e9:.1f} GFLOP/s ({size16}x{size16})",
              "- model FLOP/s = (2 x non-embedding params x real tokens + 4 x hidden x layers x sum(length^2)) / wall;"
              " 'of matmul peak' divides by the measured matmul rate of the same dtype",
              "- peak GiB: " + ("torch.cuda.max_memory_allocated" if dev.startswith("cuda") else
                                "process peak RSS (VmHWM, reset per row; includes every model loaded, so compare "
                                "'peak-start GiB', the growth during the row)"), "",
              f"## MIRACL-like mix: {len(pairs)} pairs, passages 50-400 tokens, max_length {L}, "
              f"{real.sum()} real tokens", "", table(rows), "",
              f"- {low} / fp32 throughput (evalkit): {rows[3]['pairs/s'] / rows[0]['pairs/s']:.2f}x; "
              f"max |score diff| {rows[3]['max |diff| vs evalkit fp32']:.3g}",
              f"- warm-cache rerun: {cold['wall s']:.2f} s cold -> {warm['wall s']:.3f} s warm "
              f"({cold['wall s'] / warm['wall s']:.0f}x)", "",
              f"## MLDR-like mix: {len(long_pairs)} pairs, max_length {M}, {long_real.sum()} real tokens "
              f"(mean {long_real.mean():.0f}), memory budget {args.memory_budget_gib} GiB", "", table(long_rows), "",
              (f"- evalkit vs the best fixed batch within budget ({best['system']}): "
               f"{long_rows[0]['pairs/s'] / best['pairs/s']:.2f}x throughput" if best else
               "- no fixed batch size stayed within the memory budget")]
    return "\n".join(header) + "\n"


if __name__ == "__main__":
    main()
