"""Report formats: each is an entry of `REPORT_FORMATS` that writes its files for one run or one comparison.

`build(ctx: ReportContext) -> list[Path]`. A new format is a module under evalkit/report/ that registers one
(`@REPORT_FORMATS.register("name")`); `report.formats`, `evalkit compare --formats` and sweeps accept it at once.
report.md and per_query.parquet are written for every run whatever the formats (they are what compare reads).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from evalkit.errors import EvalkitError
from evalkit.registry import new_registry
from evalkit.storage import atomic_file, atomic_write_text

if TYPE_CHECKING:
    import pandas as pd
    from omegaconf import DictConfig

    from evalkit.report.comparison import Comparison

REPORT_FORMATS = new_registry("report.formats")


@dataclass
class ReportContext:
    """What a format writes from: one run (`table` set: its per-query table) or a comparison of runs."""
    out_dir: Path
    stem: str                                  # file stem: "report" for a run, "compare" for a comparison
    title: str
    make_comparison: Callable[[], "Comparison"]
    run_dirs: list[Path] = field(default_factory=list)   # the runs behind it (the explorer reads them)
    table: Optional["pd.DataFrame"] = None
    metrics: Optional[dict] = None             # a run's metrics.json (report.html shows its ceiling tables)

    @cached_property
    def comparison(self) -> "Comparison":
        return self.make_comparison()

    def path(self, suffix: str, stem: str | None = None) -> Path:
        return Path(self.out_dir) / f"{stem or self.stem}.{suffix}"


def write_frame(frame: "pd.DataFrame", path: Path) -> None:
    """A table as .csv or .parquet (by suffix), published atomically."""
    with atomic_file(path) as fh:
        frame.to_parquet(fh, index=False) if path.suffix == ".parquet" else frame.to_csv(fh, index=False)


def check_formats(formats: list[str], where: str = "report.formats") -> None:
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown:
        raise EvalkitError(f"{where}: unknown format(s) {unknown}; choose from {list(REPORT_FORMATS.names())}")


def _document(ctx: ReportContext, suffix: str, render: Callable[["Comparison", str], str]) -> list[Path]:
    path = ctx.path(suffix)
    atomic_write_text(path, render(ctx.comparison, ctx.title))
    return [path]


def _tables(ctx: ReportContext, suffix: str) -> list[Path]:
    """A comparison's tidy per-query table and its statistics ({stem}.csv and {stem}_stats.csv, or .parquet)."""
    import pandas as pd

    c = ctx.comparison
    stats = pd.concat([c.stats.assign(by="lang"), c.bucket_stats.assign(by="bucket")], ignore_index=True)
    written = []
    for frame, stem in [(c.tidy, ctx.stem), (stats, f"{ctx.stem}_stats")]:
        written.append(ctx.path(suffix, stem))
        write_frame(frame, written[-1])
    return written


@REPORT_FORMATS.register("md")
def markdown_format(ctx: ReportContext) -> list[Path]:
    """Markdown tables (a run always has report.md; a comparison gets compare.md)."""
    from evalkit.report.tables import render_markdown

    return [] if ctx.table is not None else _document(ctx, "md", render_markdown)


@REPORT_FORMATS.register("html")
def html_format(ctx: ReportContext) -> list[Path]:
    """A self-contained HTML page with tables and plots."""
    from evalkit.report.html import render_html

    return _document(ctx, "html", lambda c, title: render_html(c, title, ctx.metrics))


@REPORT_FORMATS.register("latex")
def latex_format(ctx: ReportContext) -> list[Path]:
    """LaTeX tables (booktabs) for a paper."""
    from evalkit.report.latex import render_latex

    return _document(ctx, "tex", render_latex)


@REPORT_FORMATS.register("csv")
def csv_format(ctx: ReportContext) -> list[Path]:
    """The tidy per-query table as CSV (a run: per_query.csv; a comparison: with its statistics)."""
    if ctx.table is None:
        return _tables(ctx, "csv")
    path = Path(ctx.out_dir) / "per_query.csv"
    write_frame(ctx.table, path)
    return [path]


@REPORT_FORMATS.register("parquet")
def parquet_format(ctx: ReportContext) -> list[Path]:
    """The tidy per-query table as Parquet (a run always has per_query.parquet)."""
    return [] if ctx.table is not None else _tables(ctx, "parquet")


@REPORT_FORMATS.register("explore")
def explore_format(ctx: ReportContext) -> list[Path]:
    """The per-query explorer page (explore.html; compare_explore.html for a comparison)."""
    from evalkit.report.explore import write_explorer

    if not ctx.run_dirs:
        return []
    name = "explore.html" if ctx.table is not None else f"{ctx.stem}_explore.html"
    return [write_explorer(ctx.run_dirs, Path(ctx.out_dir) / name)]


def write_formats(ctx: ReportContext, formats: list[str]) -> list[Path]:
    """Every requested format's files, in the order asked."""
    check_formats(formats)
    Path(ctx.out_dir).mkdir(parents=True, exist_ok=True)
    return [path for fmt in dict.fromkeys(formats) for path in REPORT_FORMATS[fmt].build(ctx)]


def write_outputs(comparison: "Comparison", out_dir: Path, formats: list[str], stem: str,
                       title: str | None = None, run_dirs: list[Path] | None = None) -> list[Path]:
    """A comparison of runs (evalkit compare, sweeps) in the requested formats."""
    title = title or f"evalkit comparison: {', '.join(comparison.systems)}"
    return write_formats(ReportContext(Path(out_dir), stem, title, lambda: comparison, list(run_dirs or [])), formats)


def run_comparison(table: "pd.DataFrame", metrics: dict, cfg: "DictConfig") -> "Comparison":
    """One run as a comparison: its first stage (the baseline) and, if it reranked, the reranked system."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from evalkit.report.comparison import System, build_comparison
    from evalkit.report.published import choices_of, system_key

    protocol = metrics["protocol"]
    parts = {s: table[table.system == s].drop(columns="system") for s in ("first_stage", "reranked", "ceiling")}
    report = OmegaConf.to_container(cfg.report, resolve=True)
    hydra_choices = dict(HydraConfig.get().runtime.choices) if HydraConfig.initialized() else None
    choices = choices_of(OmegaConf.to_container(cfg, resolve=True), hydra_choices)
    systems = [System(stage, parts[stage], parts["first_stage"], parts["ceiling"], protocol,
                      system_key(choices, reranked=stage == "reranked"), report,
                      missing_docs=cfg.benchmark.missing_docs)
               for stage in ("first_stage", "reranked") if len(parts[stage])]
    return build_comparison(systems, "first_stage", seed=int(cfg.run.seed))


def write_reports(out_dir: Path, table: "pd.DataFrame", metrics: dict, cfg: "DictConfig") -> list[Path]:
    """report.md as always (with a "vs published" section when the run's preset maps published rows), plus what
    `report.formats` asks for (per_query.parquet is written by the pipeline for every run)."""
    from evalkit.report.markdown import markdown_table, write_report

    formats = list(cfg.report.formats)
    check_formats(formats)
    protocol = metrics["protocol"]
    title = cfg.report.title or f"evalkit: {protocol['benchmark']} — {protocol['candidates']} → {protocol['reranker']}"
    ctx = ReportContext(Path(out_dir), "report", title, lambda: run_comparison(table, metrics, cfg),
                        [Path(out_dir)], table, metrics)
    appendix = ""
    if cfg.report.reproduces:
        from evalkit.report.tables import published_section

        section = published_section(ctx.comparison)
        if section is not None:
            appendix = (f"\n## {section.title}\n\n*{section.note}*\n\n"
                        f"{markdown_table(section.header, section.rows)}\n")
    return [write_report(out_dir, table, metrics, cfg, appendix), *write_formats(ctx, formats)]
