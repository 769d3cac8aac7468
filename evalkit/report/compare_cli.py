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
from evalkit.metrics.measures import canonical
from evalkit.report.comparison import Comparison, System, build_comparison
from evalkit.report.formats import check_formats, write_outputs
from evalkit.report.published import choices_of, system_key
from evalkit.report.sweep_failure import NAME as FAILED
from evalkit.storage import atomic_write_text

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
        if (path / FAILED).exists():   # a sweep with a failed job: say so, compare the runs that finished
            log.warning("%s: unfinished sweep (see %s); comparing its %d finished runs", path, path / FAILED,
                        len(children))
        out += children
    return out


def _flat(tree, prefix: str = "") -> dict[str, str]:
    if not isinstance(tree, dict):
        return {prefix: json.dumps(tree)}
    return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}.{key}" if prefix else key).items()}


NOT_SETTINGS = ("run.", "hydra")   # with NOT_RESULTS and *.label (a default run name's part): never what differs
CHOICES_SHOWN = ("benchmark", "candidates", "reranker", "metrics", "experiment")   # Hydra groups that select systems


def run_settings(config: dict, choices: dict | None) -> dict[str, str]:
    """A run's settings as flat `key -> JSON value`: its config groups' choices (`candidates`: "bm25_anserini") and
    every resolved config value (`reranker.max_length`), less what never changes a result."""
    groups = {g: json.dumps(choices[g]) for g in CHOICES_SHOWN if g in (choices or {})}   # pipeline order
    leaves = {k: v for k, v in _flat(config).items()
              if not k.startswith(NOT_RESULTS + NOT_SETTINGS) and not k.endswith(".label")}
    return groups | leaves


def differing_settings(settings: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    """(titled, implied): the settings whose value is not the same in every run. A setting under a config group
    whose choice differs (reranker.model when reranker=gte,none) is implied by that choice, unless it also differs
    between runs with the same choice (reranker.max_length in reranker=gte,bge_m3 x max_length=512,1024)."""
    keys = list(dict.fromkeys(k for s in settings for k in s))
    differ = [k for k in keys if len({s.get(k) for s in settings}) > 1]
    titled, implied = [], []
    for key in differ:
        group = key.split(".", 1)[0]
        if key != group and group in differ:
            by_choice: dict = {}
            for s in settings:
                by_choice.setdefault(s.get(group), set()).add(s.get(key))
            if all(len(values) == 1 for values in by_choice.values()):
                implied.append(key)
                continue
        titled.append(key)
    return titled, implied


def _value(raw: str | None) -> str:
    if raw is None:
        return "∅"   # the run's config lacks the key
    value = json.loads(raw)
    if value is None:
        return "–"
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def system_titles(settings: list[dict[str, str]], names: list[str], dirs: list[Path]) -> list[str]:
    """Titles built from the settings that differ: `bm25_anserini`, `gte max_length=512`; the run's name where
    none differ; the run directory's name appended where titles would still collide."""
    titled, _ = differing_settings(settings)
    short = {k: k.rsplit(".", 1)[-1] for k in titled}
    if len(set(short.values())) < len(short):
        short = {k: k for k in titled}

    def part(key: str, s: dict) -> str:
        value = _value(s.get(key))
        value = value.rstrip("/").rsplit("/", 1)[-1] if "/" in value else value   # a model path: its last part
        return value if "." not in key or short[key] == "name" else f"{short[key]}={value}"

    titles = [" ".join(part(k, s) for k in titled) or name for s, name in zip(settings, names)]
    return [f"{t} [{d.name}]" if titles.count(t) > 1 else t for t, d in zip(titles, dirs)]


def _hydra_choices(run_dir: Path) -> dict | None:
    path = run_dir / ".hydra" / "hydra.yaml"
    if not path.is_file():
        return None
    return ((yaml.safe_load(path.read_text(encoding="utf-8")).get("hydra") or {}).get("runtime") or {}).get("choices")


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def load_systems(run_dirs: list[Path]) -> tuple[list[System], dict[str, dict[str, str]], dict[str, str]]:
    """Each run's final system (reranked if the run reranked, else its first stage), titled by what differs; the
    differing settings (setting -> {title: value}); and aliases (run name, directory name -> title)."""
    configs = [yaml.safe_load((d / "config.yaml").read_text(encoding="utf-8")) if (d / "config.yaml").is_file()
               else {} for d in run_dirs]
    choices = [_hydra_choices(d) for d in run_dirs]
    settings = [run_settings(c, ch) for c, ch in zip(configs, choices)]
    names = [str(c.get("run", {}).get("name") or d.name) for c, d in zip(configs, run_dirs)]
    titles = system_titles(settings, names, run_dirs)
    titled, implied = differing_settings(settings)
    differs = {k: {t: _value(s.get(k)) for t, s in zip(titles, settings)} for k in titled + implied}
    aliases = {**{d.name: t for d, t in zip(run_dirs, titles)}, **{n: t for n, t in zip(names, titles)}}
    systems = []
    for title, config, choice, path in zip(titles, configs, choices, run_dirs):
        table = pd.read_parquet(path / "per_query.parquet")
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        stage = RERANKED if (table.system == RERANKED).any() else FIRST
        benchmark = (config.get("benchmark") or {})
        systems.append(System(
            name=title, final=table[table.system == stage].drop(columns="system"),
            first=table[table.system == FIRST].drop(columns="system"),
            ceiling=table[table.system == CEILING].drop(columns="system"),
            protocol=metrics["protocol"], missing_docs=benchmark.get("missing_docs"),
            key=system_key(choices_of(config, choice), reranked=stage == RERANKED),
            report=config.get("report") or {}, fields=_json(path / "manifest.json").get("protocol", {}),
            source=path.name, not_reported=list(metrics.get("not_reported") or []),
            efficiency=metrics.get("efficiency") or {}))
    return systems, differs, aliases


def default_baseline(systems: list[System]) -> str:
    """The first run that did not rerank (the natural reference), else the first run."""
    return next((s.name for s in systems if s.protocol.get("reranker") in (None, "none")), systems[0].name)


def compare_dirs(paths: list[str | Path], baseline: str | None = None, metrics: list[str] | None = None, *,
                 test: str = "randomization", seed: int = 0, n_resamples: int = 10_000,
                 allow_mismatch: bool = False, hint: str | None = None) -> Comparison:
    """`baseline` may name a system's title, its run.name or its run directory."""
    systems, differs, aliases = load_systems(expand_run_dirs(paths))
    chosen = aliases.get(baseline, baseline) if baseline else default_baseline(systems)
    extra = {"hint": hint} if hint else {}
    return build_comparison(systems, chosen, metrics, test=test, seed=seed, n_resamples=n_resamples,
                            allow_mismatch=allow_mismatch, differs=differs, **extra)


def write_manifest(out: Path, comparison: Comparison, run_dirs: list[Path], stem: str) -> Path:
    """{stem}_manifest.json: which runs, titled how, what differs, and any protocol mismatch that was allowed."""
    path = Path(out) / f"{stem}_manifest.json"
    atomic_write_text(path, json.dumps({
        "runs": {t: str(d) for t, d in zip(comparison.systems, run_dirs)}, "baseline": comparison.baseline,
        "metrics": comparison.metrics, "settings_that_differ": comparison.differs,
        "protocol_mismatch": comparison.mismatch, "not_compared": comparison.not_compared,
        "statistics": comparison.settings}, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def default_out(run_dirs: list[str]) -> Path:
    """results/compare/<run dir names joined by +> (results/ is git-ignored; a path never leaves it)."""
    name = "+".join(Path(d).resolve().name for d in run_dirs)[:150]
    return Path("results") / "compare" / name


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from evalkit.commands import parser

    args = parser("compare").parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    try:
        metrics = [canonical(m) for arg in args.metric or [] for m in arg.split(",") if m.strip()] or None
        check_formats(formats, "--formats")
        comparison = compare_dirs(args.run_dirs, args.baseline, metrics, test=args.test, seed=args.seed,
                                  n_resamples=args.resamples, allow_mismatch=args.allow_protocol_mismatch)
        single_sweep = len(args.run_dirs) == 1 and not _is_run(Path(args.run_dirs[0]))
        out = Path(args.out or (args.run_dirs[0] if single_sweep else default_out(args.run_dirs)))
        run_dirs = expand_run_dirs(args.run_dirs)
        written = write_outputs(comparison, out, formats, "compare", run_dirs=run_dirs)
        written.append(write_manifest(out, comparison, run_dirs, "compare"))
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
