"""The manifest written next to every result: what the numbers depend on, and how long each stage took."""
from __future__ import annotations

import hashlib
import importlib.metadata as md
import platform
import subprocess
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

PACKAGES = ["evalkit", "torch", "transformers", "tokenizers", "ranx", "bm25s", "datasets", "pyarrow", "pandas",
            "numpy", "hydra-core", "huggingface_hub"]


def config_hash(cfg: DictConfig) -> str:
    return hashlib.sha256(OmegaConf.to_yaml(cfg, resolve=True, sort_keys=True).encode()).hexdigest()


def git_state() -> dict:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = None
    return found


def manifest(cfg: DictConfig, benchmark, scorer, timings: dict[str, float]) -> dict:
    return {
        "evalkit_git": git_state(),
        "versions": versions(),
        "platform": platform.platform(),
        "config_hash": config_hash(cfg),
        "data": {"fingerprints": benchmark.fingerprints, "protocol": dict(benchmark.protocol)},
        "reranker": dict(getattr(scorer, "info", {}) or {}),
        "reranker_stats": dict(getattr(scorer, "stats", {}) or {}),
        "wall_seconds": {k: round(v, 3) for k, v in timings.items()},
    }
