"""Padding efficiency and batch fill vs scoring-window size (reranker.window_tokens), on MLDR- and MIRACL-like lengths.

Pure batching arithmetic (evalkit.models.batching.token_budget_batches, the engine's own), no model: pair lengths
are drawn like the scale benchmark's (MLDR: lognormal around 3,300 tokens, cut at 8,192; MIRACL: ~150), cut into
windows of whole queries (100 candidates each) as the engine does, and each window is batched on its own.
Padding efficiency = real / padded tokens; batch fill = padded tokens per batch / budget (small batches waste a
GPU even when they are not padded).

    python scripts/window_padding.py --out results/bench/window-padding-$(date +%F).md
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from evalkit.models.batching import packed_batches, token_budget_batches

MIXES = {"MLDR-like": (7.9, 0.6, 8192), "MIRACL-like": (4.85, 0.45, 8192)}
WINDOWS = [1 << 16, 1 << 18, 1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 23]


def windows_of(lengths: np.ndarray, per_query: int, window_tokens: int):
    start = 0
    while start < len(lengths):
        end, size = start, 0
        while end < len(lengths) and (size < window_tokens or end == start):
            size += int(lengths[end:end + per_query].sum())
            end += per_query
        yield lengths[start:end]
        start = end


def measure(lengths: np.ndarray, window_tokens: int, budget: int, packed: bool = False) -> tuple[float, float]:
    real = padded = batches = 0
    for window in windows_of(lengths, 100, window_tokens):
        for b in (packed_batches(window, budget) if packed else token_budget_batches(window, budget)):
            real += int(window[b].sum())
            padded += int(window[b].sum()) if packed else len(b) * int(window[b].max())
            batches += 1
    return real / padded, padded / batches / budget


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    lines = ["| mix | batches | batch_tokens | " + " | ".join(f"window {w:,}" for w in WINDOWS) + " |",
             "|" + "---|" * (len(WINDOWS) + 3)]
    for mix, (mu, sigma, cap) in MIXES.items():
        lengths = np.clip(rng.lognormal(mu, sigma, args.pairs), 16, cap).astype(np.int64) + 20   # + query, specials
        for packed, budget in ((False, 16384), (False, 262144), (True, 262144)):
            cells = [measure(lengths, w, budget, packed) for w in WINDOWS]
            lines.append(f"| {mix} | {'packed' if packed else 'padded'} | {budget:,} | "
                         + " | ".join(f"{e:.3f} / {f:.2f}" for e, f in cells) + " |")
    text = "\n".join(["# Padding efficiency / batch fill vs reranker.window_tokens", "",
                      f"{args.pairs:,} pair lengths per mix (seed 0), 100 candidates a query; cells: padding "
                      "efficiency / mean batch fill (padded tokens per batch over the budget)", "", *lines, ""])
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
