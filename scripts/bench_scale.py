"""executor=local vs executor=ray (1 and 2 actors) on this machine, with a small random GTE reranker.

Every mode scores the same pairs (cache off). For Ray, the wall time splits into start-up (actor pool, model
load per actor, until the first block is back) and steady state (the remaining blocks). The Ray overhead per
block, with 1 actor, is the steady-state wall minus the actor's own scoring time of those blocks, per block:
what shipping a block to the actor and its scores back costs beyond the forward passes.

    python scripts/bench_scale.py --pairs 3000 --out results/bench/scale-$(date +%F).md
"""
from __future__ import annotations

import argparse
import logging
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch

from evalkit.config import ExecutorConfig

from evalkit.app.schema import RerankerConfig
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


def time_local(cfg: RerankerConfig, pairs, threads: int, repeats: int = 2) -> float:
    """Best of `repeats` walls: the machine may be shared, the minimum is the least disturbed run."""
    torch.set_num_threads(threads)
    encoder = build_cross_encoder(cfg, progress=False)
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.score(pairs)
        walls.append(time.perf_counter() - start)
    return min(walls)


def time_ray(cfg: RerankerConfig, pairs, actors: int, block_pairs: int) -> tuple[float, RayScorer]:
    scorer = RayScorer(cfg, ExecutorConfig(name="ray", num_actors=actors, block_pairs=block_pairs))
    start = time.perf_counter()
    scorer.score(pairs)
    return time.perf_counter() - start, scorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--block-pairs", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    model = make_tiny_gte(Path(tempfile.mkdtemp()) / "gte", hidden=args.hidden, layers=args.layers,
                          heads=max(args.hidden // 64, 2), intermediate=4 * args.hidden)
    cfg = RerankerConfig(name="gte", model=str(model), cache=False, max_length=512)
    pairs = make_pairs(args.pairs, seed=0)
    walls = {"local, 1 thread": time_local(cfg, pairs, 1), "local, 2 threads": time_local(cfg, pairs, 2)}
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    remote = {}
    try:
        for actors in (1, 2):
            walls[f"ray, {actors} actor(s)"], remote[actors] = time_ray(cfg, pairs, actors, args.block_pairs)
    finally:
        ray.shutdown()
    rows = [f"| {mode} | {wall:.2f} | {args.pairs / wall:.1f} | | | |"
            for mode, wall in walls.items() if "local" in mode]
    busy = {}
    for actors, scorer in remote.items():
        r, mode = scorer.remote, f"ray, {actors} actor(s)"
        busy[actors] = args.pairs / (r.actor_seconds / actors)   # pairs/s while the actors score
        rows.append(f"| {mode} | {walls[mode]:.2f} | {args.pairs / walls[mode]:.1f} | {r.startup_seconds:.2f} | "
                    f"{busy[actors]:.1f} | {1e3 * r.idle_seconds / max(r.blocks - actors, 1):.1f} |")
    per_pair = {m: args.pairs / w for m, w in walls.items()}
    r1 = remote[1].remote
    lines = [f"# executor=local vs executor=ray, {time.strftime('%Y-%m-%d')}", "",
             f"- machine: {platform.machine()}, {torch.get_num_threads()} torch threads, Ray {ray.__version__} "
             f"(local instance, 2 CPUs), torch {torch.__version__}; load from other processes not controlled",
             f"- model: random gte, hidden {args.hidden}, {args.layers} layers, max_length 512, fp32 on CPU; "
             f"{args.pairs} pairs (queries 3-8 words, passages 20-300 words); block_pairs {args.block_pairs}; "
             f"{remote[1].stats.batches} engine batches in {r1.blocks} blocks on 1 actor",
             "- start-up: until an actor starts its first block (actor pool, model load); scoring pairs/s: pairs / "
             "(actor scoring seconds / actors); idle: an actor's wait between two of its blocks", "",
             "| mode | wall s | pairs/s end to end | Ray start-up s | pairs/s while scoring | idle ms per block |",
             "|---|---|---|---|---|---|", *rows, "",
             f"- while scoring, Ray 1 actor (1 CPU) / local 1 thread: {busy[1] / per_pair['local, 1 thread']:.2f}x; "
             f"Ray 2 actors (1 CPU each) / local 2 threads: {busy[2] / per_pair['local, 2 threads']:.2f}x",
             f"- end to end, Ray 2 actors / local 2 threads: "
             f"{walls['local, 2 threads'] / walls['ray, 2 actor(s)']:.2f}x (start-up included)",
             f"- Ray overhead after start-up (1 actor): wall - start-up - scoring = "
             f"{1e3 * (r1.remote_seconds - r1.startup_seconds - r1.actor_seconds) / r1.blocks:.1f} ms per block of "
             f"{args.block_pairs} pairs ({remote[1].stats.batches / r1.blocks:.1f} engine batches per block)"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
