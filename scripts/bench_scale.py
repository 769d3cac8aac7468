"""executor=local vs executor=ray (1 and 2 actors) on this machine, with a small random GTE reranker.

Each mode scores two pair counts (n and 3n, cache off); a line through the two walls splits the time into a
fixed part (model load, Ray start-up of the actor pool) and a marginal time per pair. The Ray overhead per
block is (marginal per pair on 1 Ray actor - marginal per pair locally on 1 thread) x block_pairs: what
shipping a block to an actor and its scores back costs beyond the forward passes.

    python scripts/bench_scale.py --pairs 200 --out results/bench/scale-$(date +%F).md
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch

from evalkit.config import ExecutorConfig, RerankerConfig
from evalkit.executors.ray_exec import RayScorer
from evalkit.rerank.engine import build_cross_encoder
from evalkit.testing import make_tiny_gte

WORDS = ("water boiling point altitude chapel ceiling painter river mountain city history language music "
         "北京 首都 长城 上海 東京 서울 москва река القاهرة नदी").split()


def make_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """Queries of 3-8 words, passages of 20-300 words (lognormal, like Wikipedia passages)."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(4.3, 0.6, n), 20, 300).astype(int)
    return [(" ".join(rng.choice(WORDS, rng.integers(3, 9))), " ".join(rng.choice(WORDS, k))) for k in lengths]


def time_local(cfg: RerankerConfig, pairs, threads: int) -> float:
    torch.set_num_threads(threads)
    encoder = build_cross_encoder(cfg, progress=False)
    start = time.perf_counter()
    encoder.score(pairs)
    return time.perf_counter() - start


def time_ray(cfg: RerankerConfig, pairs, actors: int, block_pairs: int) -> tuple[float, int]:
    scorer = RayScorer(cfg, ExecutorConfig(name="ray", num_actors=actors, block_pairs=block_pairs))
    start = time.perf_counter()
    scorer.score(pairs)
    return time.perf_counter() - start, scorer.stats.batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200, help="n: each mode scores n and 3n pairs")
    parser.add_argument("--block-pairs", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sizes = (args.pairs, 3 * args.pairs)
    model = make_tiny_gte(Path(tempfile.mkdtemp()) / "gte", hidden=args.hidden, layers=args.layers,
                          heads=max(args.hidden // 64, 2), intermediate=4 * args.hidden)
    cfg = RerankerConfig(name="gte", model=str(model), cache=False, max_length=512)
    pair_sets = {n: make_pairs(n, seed=n) for n in sizes}
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    walls, batches = {}, {}
    try:
        for n in sizes:
            walls["local, 1 thread", n] = time_local(cfg, pair_sets[n], 1)
            walls["local, 2 threads", n] = time_local(cfg, pair_sets[n], 2)
            for actors in (1, 2):
                walls[f"ray, {actors} actor(s)", n], batches[actors, n] = time_ray(
                    dataclasses.replace(cfg), pair_sets[n], actors, args.block_pairs)
    finally:
        ray.shutdown()
    modes = list(dict.fromkeys(m for m, _ in walls))
    fit = {m: np.polyfit(sizes, [walls[m, n] for n in sizes], 1) for m in modes}   # (s per pair, fixed s)
    blocks = -(-sizes[1] // args.block_pairs)
    overhead_block = (fit["ray, 1 actor(s)"][0] - fit["local, 1 thread"][0]) * args.block_pairs
    lines = [f"# executor=local vs executor=ray, {time.strftime('%Y-%m-%d')}", "",
             f"- machine: {platform.machine()}, {torch.get_num_threads()} torch threads available, "
             f"Ray {ray.__version__} (local instance, 2 CPUs), torch {torch.__version__}",
             f"- model: random gte, hidden {args.hidden}, {args.layers} layers, max_length 512, fp32 on CPU; "
             f"block_pairs {args.block_pairs}; pairs of 3-8 + 20-300 words", "",
             f"| mode | wall s, {sizes[0]} pairs | wall s, {sizes[1]} pairs | marginal ms/pair | fixed s | "
             f"pairs/s (marginal) | vs local 1 thread |", "|---|---|---|---|---|---|---|"]
    base = fit["local, 1 thread"][0]
    for m in modes:
        slope, fixed = fit[m]
        lines.append(f"| {m} | {walls[m, sizes[0]]:.2f} | {walls[m, sizes[1]]:.2f} | {1e3 * slope:.2f} | "
                     f"{fixed:.2f} | {1 / slope:.1f} | {base / slope:.2f}x |")
    lines += ["", f"- Ray overhead per block of {args.block_pairs} pairs: {1e3 * overhead_block:.1f} ms "
              f"({1e3 * overhead_block * blocks / max(batches[1, sizes[1]], 1):.2f} ms per engine batch; "
              f"{batches[1, sizes[1]]} batches in {blocks} blocks at {sizes[1]} pairs)",
              f"- end-to-end at {sizes[1]} pairs, local 2 threads / ray 2 actors: "
              f"{walls['local, 2 threads', sizes[1]] / walls['ray, 2 actor(s)', sizes[1]]:.2f}x "
              "(the fixed part is Ray's start-up of the actor pool and a model load per actor)"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
