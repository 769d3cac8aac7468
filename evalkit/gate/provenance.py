"""The manifest written next to every result: what the numbers depend on, and how long each stage took.

It has two parts. `protocol` holds what makes two runs comparable (benchmark, split, pool, languages, candidates,
reranker weights, max length, dtype, measures, policies, bucket edges): `evalkit regress` refuses to compare runs
whose protocol differs. `environment` holds everything else a number depends on or is explained by (versions,
git state, config and its hash, model id and revision, data fingerprints, device, cache hit rates, wall time).
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata as md
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from evalkit.metrics.evaluate import POLICY
from evalkit.metrics.measures import canonical

PACKAGES = ["evalkit", "torch", "transformers", "tokenizers", "ranx", "bm25s", "datasets", "pyarrow", "pandas",
            "numpy", "hydra-core", "huggingface_hub", "pytrec-eval-terrier", "scipy",
            "pyserini", "pyjnius"]


def config_hash(cfg: DictConfig) -> str:
    return hashlib.sha256(OmegaConf.to_yaml(cfg, resolve=True, sort_keys=True).encode()).hexdigest()


def git_state() -> dict:
    root = Path(__file__).resolve().parents[2]
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


def _plain(obj: Any) -> dict:
    """A dict from a dict, a dataclass instance or None."""
    if obj is None:
        return {}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return dict(obj)


def _flat(prefix: str, node: Any) -> dict[str, Any]:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(f"{prefix}.{key}", value).items()}
    return {prefix: node}


def candidate_settings(candidates: dict) -> dict:
    """The first stage's settings that shape its candidates: the selected stage's sub-config (a hybrid's: those
    of the stages it fuses), never another stage's; a run file's location is environment, not protocol."""
    from evalkit.candidates import FIRST_STAGES

    sections = {e.name for e in FIRST_STAGES.entries() if e.config is not None}
    entry = FIRST_STAGES[candidates["name"]]
    used = {entry.name, *(entry.uses(candidates) if entry.uses else [])}
    return {k: v for k, v in candidates.items() if k not in ("path", "label") and (k not in sections or k in used)}


def protocol_fields(cfg: DictConfig, benchmark, scorer) -> dict[str, Any]:
    """The fields that must agree for two runs to be compared (flat: a mismatch names one field)."""
    chosen = candidate_settings(OmegaConf.to_container(cfg.candidates, resolve=True))
    info, settings = _plain(getattr(scorer, "info", None)), _plain(getattr(scorer, "settings", None))
    reranker = {"reranker": cfg.reranker.name}
    if scorer is not None:
        reranker |= {
            "reranker.weights_hash": info.get("weights_hash"), "reranker.tokenizer_hash": info.get("tokenizer_hash"),
            "reranker.max_length": settings.get("max_length", info.get("max_length")),
            "reranker.query_max_length": getattr(getattr(scorer, "settings", None), "query_budget", None),
            "reranker.query_template": cfg.reranker.query_template, "reranker.doc_template": cfg.reranker.doc_template,
            "reranker.dtype": settings.get("dtype", info.get("dtype")),
        }
        if info.get("kind") == "api":   # an endpoint: what it is and how it was asked (system under test)
            reranker |= {"reranker.endpoint": info["endpoint"], "reranker.api_model": info["model"],
                         "reranker.score_kind": info["score_kind"], "reranker.truncation": info["truncation"],
                         "reranker.fingerprint": getattr(scorer, "fingerprint", None)}
    return {
        "benchmark": cfg.benchmark.name, "split": cfg.benchmark.split, "pool": cfg.benchmark.pool,
        "subset": benchmark.protocol.get("subset", cfg.benchmark.subset), "doc_sep": cfg.benchmark.doc_sep,
        "languages": list(benchmark.languages),
        **_flat("candidates", chosen), **reranker,
        "measures": [canonical(m) for m in cfg.metrics.measures], "no_relevant": cfg.metrics.no_relevant,
        "bucket_tokenizer": cfg.metrics.bucket_tokenizer, "bucket_edges": list(cfg.metrics.bucket_edges),
        **{f"policy.{k}": v for k, v in POLICY.items()},
    }


def cache_rates(stats: dict) -> dict[str, float | None]:
    unique = stats.get("unique_pairs") or 0
    return {"pair_cache_hit_rate": stats["cache_hits"] / unique if unique and "cache_hits" in stats else None}


def manifest(cfg: DictConfig, benchmark, scorer, timings: dict[str, float]) -> dict:
    info, stats = _plain(getattr(scorer, "info", None)), _plain(getattr(scorer, "stats", None))
    settings = _plain(getattr(scorer, "settings", None))
    return {
        "protocol": protocol_fields(cfg, benchmark, scorer),
        "environment": {
            "evalkit_git": git_state(),
            "versions": versions(),
            "platform": platform.platform(),
            "config_hash": config_hash(cfg),
            "config": OmegaConf.to_container(cfg, resolve=True),
            "data": {"fingerprints": dict(benchmark.fingerprints), "protocol": dict(benchmark.protocol)},
            "reranker": {**info, **{k: settings[k] for k in ("device", "batch_tokens") if k in settings}},
            "reranker_stats": {**stats, **cache_rates(stats)},
            "wall_seconds": {k: round(v, 3) for k, v in timings.items()},
        },
    }


ABSENT = "<absent>"
SYSTEM_FIELDS = ("candidates", "reranker")        # the compared systems: first stage and reranker settings
FIRST_STAGE_MEANING = ("candidates.depth",)       # ... except what bounds every measure's cut-off
LENGTH_FIELDS = ("reranker.max_length", "reranker.query_max_length")
NOT_CHECKED = ("measures",)                       # a comparison shows the measures every run reports


def protocol_differences(protocols: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """Field -> {run: value} for every protocol field whose value is not the same in every run (ABSENT where a
    run lacks it). The one protocol check: `regress` (baseline vs current) and `compare`/sweeps use it."""
    keys = sorted({k for p in protocols.values() for k in p})
    out = {}
    for key in keys:
        values = {run: p.get(key, ABSENT) for run, p in protocols.items()}
        first = next(iter(values.values()))
        if any(v != first for v in values.values()):
            out[key] = values
    return out


def _under(key: str, prefixes) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def comparison_mismatches(protocols: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """The protocol differences that change what a metric means when systems are compared (docs/metrics.md).

    The systems may differ in their first stage and reranker (that is what is compared), except candidates.depth
    (it bounds every measure's cut-off) and the reranker's max length (and query budget): that is allowed to differ
    only where the comparison is about rerankers, i.e. every run has the same first stage. Everything else
    (benchmark, split, pool, subset, languages, doc_sep, no_relevant, buckets, policies) must agree."""
    diffs = protocol_differences(protocols)
    first_stage = {k: v for k, v in diffs.items() if _under(k, ("candidates",))}
    about_rerankers = not first_stage or set(first_stage) <= set(FIRST_STAGE_MEANING)
    out = {}
    for key, values in diffs.items():
        if key in NOT_CHECKED:
            continue
        if key in LENGTH_FIELDS:
            reranked = [v for v in values.values() if v not in (ABSENT, None)]
            if about_rerankers or all(v == reranked[0] for v in reranked):
                continue
        elif _under(key, SYSTEM_FIELDS) and key not in FIRST_STAGE_MEANING:
            continue
        out[key] = values
    return out


def mismatch_line(mismatches: dict[str, dict[str, Any]]) -> str:
    """`candidates.depth (a=20, b=100); split (...)`: each field with its value per run."""
    return "; ".join(f"{key} ({', '.join(f'{run}={_show(v)}' for run, v in values.items())})"
                     for key, values in mismatches.items())


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
