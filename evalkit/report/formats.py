"""Writes a comparison in the requested formats; `write_reports` does it for one pipeline run."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from evalkit.errors import EvalkitError
from evalkit.storage import atomic_file, atomic_write_text
from evalkit.report.comparison import Comparison, System, build_comparison
from evalkit.report.published import choices_of, system_key

FORMATS = ("md", "html", "latex", "csv", "parquet", "explore")   # explore: the per-query page (report/explore.py)


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """A table as .csv or .parquet (by suffix), published atomically."""
    with atomic_file(path) as fh:
        frame.to_parquet(fh, index=False) if path.suffix == ".parquet" else frame.to_csv(fh, index=False)


def check_formats(formats: list[str], where: str = "report.formats") -> None:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise EvalkitError(f"{where}: unknown format(s) {unknown}; choose from {list(FORMATS)}")


def write_outputs(c: Comparison, out_dir: Path, formats: list[str], stem: str, title: str | None = None) -> list[Path]:
    """{stem}.md / .html / .tex, and the tidy per-query table as {stem}.csv / .parquet (with the stats beside)."""
    from evalkit.report.html import render_html
    from evalkit.report.latex import render_latex
    from evalkit.report.tables import render_markdown

    check_formats(formats)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = title or f"evalkit comparison: {', '.join(c.systems)}"
    written = []
    for fmt, suffix, render in [("md", "md", render_markdown), ("html", "html", render_html),
                                ("latex", "tex", render_latex)]:
        if fmt in formats:
            written.append(out_dir / f"{stem}.{suffix}")
            atomic_write_text(written[-1], render(c, title))
    stats = pd.concat([c.stats.assign(by="lang"), c.bucket_stats.assign(by="bucket")], ignore_index=True)
    for fmt in ("csv", "parquet"):
        if fmt in formats:
            for frame, name in [(c.tidy, stem), (stats, f"{stem}_stats")]:
                path = out_dir / f"{name}.{fmt}"
                write_frame(frame, path)
                written.append(path)
    return written


def run_comparison(table: pd.DataFrame, metrics: dict, cfg: DictConfig) -> Comparison:
    """One run as a comparison: its first stage (the baseline) and, if it reranked, the reranked system."""
    protocol = metrics["protocol"]
    parts = {s: table[table.system == s].drop(columns="system") for s in ("first_stage", "reranked", "ceiling")}
    report = OmegaConf.to_container(cfg.report, resolve=True)
    hydra_choices = dict(HydraConfig.get().runtime.choices) if HydraConfig.initialized() else None
    choices = choices_of(OmegaConf.to_container(cfg, resolve=True), hydra_choices)
    systems = [System(stage, parts[stage], parts["first_stage"], parts["ceiling"], protocol,
                      system_key(choices, reranked=stage == "reranked"), report)
               for stage in ("first_stage", "reranked") if len(parts[stage])]
    return build_comparison(systems, "first_stage", seed=int(cfg.run.seed))


def write_reports(out_dir: Path, table: pd.DataFrame, metrics: dict, cfg: DictConfig) -> list[Path]:
    """report.md as always (with a "vs published" section when the run's preset maps published rows), plus
    report.html / report.tex / per_query.csv as `report.formats` asks (per_query.parquet is always written)."""
    from evalkit.report.markdown import markdown_table, write_report
    from evalkit.report.tables import published_section

    formats = list(cfg.report.formats)
    check_formats(formats)
    written = [write_report(out_dir, table, metrics, cfg)]
    extra = [f for f in formats if f in ("html", "latex")]
    if extra or cfg.report.reproduces:
        comparison = run_comparison(table, metrics, cfg)
        section = published_section(comparison)
        if section is not None:
            text = written[0].read_text(encoding="utf-8")
            atomic_write_text(written[0], f"{text}\n## {section.title}\n\n*{section.note}*\n\n"
                                          f"{markdown_table(section.header, section.rows)}\n")
        protocol = metrics["protocol"]
        title = cfg.report.title or f"evalkit: {protocol['benchmark']} — {protocol['candidates']} → {protocol['reranker']}"
        written += write_outputs(comparison, out_dir, extra, "report", title) if extra else []
    if "csv" in formats:
        written.append(Path(out_dir) / "per_query.csv")
        write_frame(table, written[-1])
    if "explore" in formats:
        from evalkit.report.explore import write_explorer

        written.append(write_explorer([Path(out_dir)], Path(out_dir) / "explore.html"))
    return written
