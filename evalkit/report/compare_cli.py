"""`evalkit compare RUN_DIR...`: several runs (or multirun sweep directories) side by side, one report."""
from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import pandas as pd
import yaml

from evalkit.errors import EvalkitError
from evalkit.report.comparison import Comparison, System, build_comparison
from evalkit.report.formats import check_formats, write_outputs
from evalkit.report.published import choices_of, system_key

log = logging.getLogger(__name__)
FIRST, RERANKED, CEILING = "first_stage", "reranked", "ceiling"
NOT_RESULTS = ("report.", "executor.", "benchmark.cache_dir", "reranker.cache")   # never part of a run's name


def _is_run(path: Path) -> bool:
    return (path / "per_query.parquet").is_file() and (path / "metrics.json").is_file()


def _job_order(path: Path) -> tuple:
    head = re.match(r"(\d+)", path.name)   # hydra sweep subdirs are "<job num>-<run name>"
    return (int(head.group(1)) if head else float("inf"), path.name)


def expand_run_dirs(paths: list[str | Path]) -> list[Path]:
    """Run directories as given; a sweep directory stands for its run directories in job order."""
    out = []
    for path in map(Path, paths):
        if _is_run(path):
            out.append(path)
            continue
        children = sorted((c for c in path.iterdir() if c.is_dir() and _is_run(c)), key=_job_order) \
            if path.is_dir() else []
        if not children:
            raise EvalkitError(f"{path}: neither a run directory (per_query.parquet, metrics.json) nor a sweep of them")
        out += children
    return out


def _flat(tree, prefix: str = "") -> dict[str, str]:
    if not isinstance(tree, dict):
        return {prefix: json.dumps(tree)}
    return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}.{key}" if prefix else key).items()}


def run_names(configs: list[dict], dirs: list[Path]) -> list[str]:
    """run.name, and where two runs share one, the config values that tell them apart: `bm25-none[k1=1.2]`."""
    base = [str(c.get("run", {}).get("name") or d.name) for c, d in zip(configs, dirs)]
    names = list(base)
    for name in set(base):
        group = [i for i, b in enumerate(base) if b == name]
        if len(group) < 2:
            continue
        flats = [{k: v for k, v in _flat(configs[i]).items() if not k.startswith(NOT_RESULTS)} for i in group]
        differ = [k for k in flats[0] if len({f.get(k) for f in flats}) > 1] + \
            [k for f in flats[1:] for k in f if k not in flats[0]]
        differ = list(dict.fromkeys(differ))
        short = {k: k.rsplit(".", 1)[-1] for k in differ}
        if len(set(short.values())) < len(short):
            short = {k: k for k in differ}
        for i, flat in zip(group, flats):
            label = ",".join(f"{short[k]}={json.loads(flat[k]) if k in flat else '∅'}" for k in differ)
            names[i] = f"{name}[{label or dirs[i].name}]"
    return names


def _hydra_choices(run_dir: Path) -> dict | None:
    path = run_dir / ".hydra" / "hydra.yaml"
    if not path.is_file():
        return None
    return ((yaml.safe_load(path.read_text(encoding="utf-8")).get("hydra") or {}).get("runtime") or {}).get("choices")


def load_systems(run_dirs: list[Path]) -> list[System]:
    """Each run's final system: reranked if the run reranked, else its first stage."""
    configs = [yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8")) if (d / "config.yaml").is_file()
               else {} for d in run_dirs]
    systems = []
    for name, config, path in zip(run_names(configs, run_dirs), configs, run_dirs):
        table = pd.read_parquet(path / "per_query.parquet")
        protocol = json.loads((path / "metrics.json").read_text(encoding="utf-8"))["protocol"]
        stage = RERANKED if (table.system == RERANKED).any() else FIRST
        systems.append(System(
            name=name, final=table[table.system == stage].drop(columns="system"),
            first=table[table.system == FIRST].drop(columns="system"),
            ceiling=table[table.system == CEILING].drop(columns="system"), protocol=protocol,
            key=system_key(choices_of(config, _hydra_choices(path)), reranked=stage == RERANKED),
            report=config.get("report") or {}))
    return systems


def default_baseline(systems: list[System]) -> str:
    """The first run that did not rerank (the natural reference), else the first run."""
    return next((s.name for s in systems if s.protocol.get("reranker") in (None, "none")), systems[0].name)


def compare_dirs(paths: list[str | Path], baseline: str | None = None, metrics: list[str] | None = None, *,
                 test: str = "randomization", seed: int = 0, n_resamples: int = 10_000) -> Comparison:
    systems = load_systems(expand_run_dirs(paths))
    return build_comparison(systems, baseline or default_baseline(systems), metrics, test=test, seed=seed,
                            n_resamples=n_resamples)


def default_out(run_dirs: list[str]) -> Path:
    """results/compare/<run dir names joined by +> (results/ is git-ignored; a path never leaves it)."""
    name = "+".join(Path(d).resolve().name for d in run_dirs)[:150]
    return Path("results") / "compare" / name


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from evalkit.commands import parser

    args = parser("compare").parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    metrics = [m.strip() for arg in args.metric or [] for m in arg.split(",") if m.strip()] or None
    try:
        check_formats(formats, "--formats")
        comparison = compare_dirs(args.run_dirs, args.baseline, metrics, test=args.test, seed=args.seed,
                                  n_resamples=args.resamples)
        single_sweep = len(args.run_dirs) == 1 and not _is_run(Path(args.run_dirs[0]))
        out = Path(args.out or (args.run_dirs[0] if single_sweep else default_out(args.run_dirs)))
        written = write_outputs(comparison, out, formats, "compare", run_dirs=expand_run_dirs(args.run_dirs))
        if args.equivalence is not None:   # same model served elsewhere: same ranking within +-D?
            from evalkit.report.agreement import write_equivalence

            dirs = dict(zip(comparison.systems, expand_run_dirs(args.run_dirs)))
            written += write_equivalence(out, comparison, dirs, args.equivalence, args.equivalence_metric)
    except (EvalkitError, FileNotFoundError) as exc:
        sys.stderr.write(f"evalkit compare: error: {exc}\n")
        return 2
    for path in written:
        log.info("wrote %s", path)
    return 0
