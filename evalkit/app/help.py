"""`evalkit --help`: what evalkit does, its subcommands, then the config groups (read from configs/, no Hydra)."""
from __future__ import annotations

from pathlib import Path

INTRO = """evalkit: multilingual retrieval evaluation (benchmark -> first-stage candidates -> cross-encoder rerank ->
metrics per language and document-length bucket -> reports).

usage: evalkit [key=value ...]              run the pipeline (Hydra overrides; defaults: the bundled sample,
                                           BM25, the GTE reranker); results in results/<benchmark>/<run.name>/
       evalkit --multirun key=a,b ...       a sweep, with one combined comparison (compare.md, compare.html)
       evalkit <subcommand> [--help] ...    a tool, below

examples:
  evalkit reranker=none                                  BM25 alone, offline
  evalkit reranker=gte reranker.model=/models/gte-rr     GTE from a local directory
  evalkit compare results/sample/bm25-gte results/sample/bm25-none --formats md,html
"""
HYDRA = """Hydra options: --multirun (-m), --cfg job (print the composed config), --info, --hydra-help,
  hydra.run.dir=DIR (where this run's directory is), run.overwrite=true (replace a run of another config)."""


def groups(config_dir: Path) -> dict[str, list[str]]:
    """Group -> options, from the YAML files under configs/ (nested options as a/b)."""
    out = {}
    for group in sorted(p for p in Path(config_dir).iterdir() if p.is_dir() and p.name != "hydra"):
        out[group.name] = sorted(str(f.relative_to(group).with_suffix("")) for f in group.rglob("*.yaml"))
    launchers = Path(config_dir) / "hydra" / "launcher"
    if launchers.is_dir():
        out["hydra/launcher"] = ["basic"] + sorted(f.stem for f in launchers.glob("*.yaml"))
    return out


def _entries(point: str) -> list[str]:
    """One line per entry of an extension point, read from source (nothing heavy is imported), and one more for
    what an entry needs beyond the core."""
    from evalkit.registry import POINTS, new_registry

    reg = new_registry(point)
    needs = reg.outline_needs()
    lines = []
    for name, doc in reg.outline():
        lines.append(f"  {POINTS[point][0]:<17} {name:<14} {doc}")
        if name in needs:
            lines.append(f"  {'':<17} {'':<14} {needs[name].describe()}")
    return lines


def help_text(config_dir: Path, subcommands: dict[str, str]) -> str:
    from evalkit.commands import module_doc

    lines = [INTRO, "subcommands:"]
    lines += [f"  {name:<9} {module_doc(name, first_line=True)}" for name in subcommands]
    lines += ["", "config groups (choose one with group=option; every value can be overridden, e.g. "
              "candidates.depth=50):"]
    lines += [f"  {group:<15} {', '.join(options)}" for group, options in groups(config_dir).items()]
    lines += ["", "registered entries (the values of each key; docs/extending.md adds one):"]
    from evalkit.registry import POINTS

    lines += [line for point in POINTS for line in _entries(point)]
    lines += ["", HYDRA, ""]
    return "\n".join(lines)
