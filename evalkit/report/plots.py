"""Comparison plots as PNG bytes (matplotlib's Agg canvas; no pyplot state, no display needed).

A plot with nothing to show (identical bars or lines, a single length bucket, no system that moved off its first
stage, only zero differences) is not drawn: `plots` gives its title and one sentence saying why instead.
"""
from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from evalkit.metrics.aggregate import MACRO
from evalkit.report.comparison import Comparison

SIZE = (10.0, 4.0)     # inches
DPI = 100              # -> 1000 x 400 pixels
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]  # matplotlib's tab10


@dataclass
class Plot:
    title: str
    png: bytes | None
    reason: str = ""       # why it is not drawn (png is None)


def system_colours(c: Comparison) -> dict[str, str]:
    """The one colour rule of report.html and compare.html: a system's colour follows its key
    (benchmark/candidates[/reranker], the same in a run's report and in any comparison holding that run), not its
    position; on a clash the later key (in sorted order) takes the next free colour."""
    out: dict[str, str] = {}
    taken: set[int] = set()
    for name in sorted(c.systems, key=lambda s: (c.keys.get(s, s), s)):
        if len(taken) == len(PALETTE):
            taken.clear()
        i = zlib.crc32(c.keys.get(name, name).encode()) % len(PALETTE)
        while i in taken:
            i = (i + 1) % len(PALETTE)
        taken.add(i)
        out[name] = PALETTE[i]
    return out


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _figure(title: str, banner: str = ""):
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    if banner:   # a protocol mismatch allowed by the flag: on every plot
        fig.suptitle(banner, color="darkred", fontsize="small", wrap=True)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _legend(ax, **kwargs) -> None:
    """Outside the axes, right: never over a bar or a line."""
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), **kwargs)


def _same(rows: np.ndarray) -> bool:
    """Two or more systems and every one equal to the first."""
    return len(rows) > 1 and bool(np.allclose(rows, rows[0], rtol=0, atol=1e-12, equal_nan=True))


def language_bars(c: Comparison, metric: str) -> Plot:
    """Per-language means with 95% CI whiskers, one bar per system."""
    title = f"{metric} per language"
    labels = [*c.languages, MACRO]
    cis = c.cis[c.cis.metric == metric].set_index(["system", "lang"])
    rows = {s: cis.loc[[(s, lang) for lang in labels]] for s in c.systems}
    if _same(np.array([r["mean"].to_numpy() for r in rows.values()])):
        return Plot(title, None, f"every system has the same {metric} in every language (the bars would be "
                                 "identical); the table above has the values.")
    fig, ax = _figure(f"{metric} per language (95% CI)", c.banner)
    x, width = np.arange(len(labels)), 0.8 / len(c.systems)
    colours = system_colours(c)
    for i, system in enumerate(c.systems):
        mean, lo, hi = (100 * rows[system][k].to_numpy() for k in ("mean", "lo", "hi"))
        ax.bar(x + (i - (len(c.systems) - 1) / 2) * width, mean, width, label=system, color=colours[system],
               yerr=np.vstack([mean - lo, hi - mean]), capsize=2)
    ax.set_xticks(x, labels)
    ax.set_ylabel(f"{metric} ×100")
    _legend(ax)
    return Plot(title, _png(fig))


def bucket_lines(c: Comparison, metric: str) -> Plot:
    """Mean metric per document-length bucket, one line per system."""
    title = f"{metric} by document length"
    if len(c.buckets) < 2:
        return Plot(title, None, f"every query falls in one length bucket ({', '.join(c.buckets) or 'none'}): a "
                                 "line needs two; the bucket table above has the values.")
    means = c.bucket_means[c.bucket_means.metric == metric].set_index(["system", "bucket"])["mean"]
    lines = {s: np.array([100 * means[(s, b)] for b in c.buckets]) for s in c.systems}
    if _same(np.array(list(lines.values()))):
        return Plot(title, None, f"every system has the same {metric} in every length bucket (the lines would "
                                 "coincide); the bucket table above has the values.")
    fig, ax = _figure(f"{metric} by document length (tokens of the longest relevant document)", c.banner)
    colours = system_colours(c)
    for system, ys in lines.items():
        ax.plot(c.buckets, ys, marker="o", label=system, color=colours[system])
    ax.set_ylabel(f"{metric} ×100")
    _legend(ax)
    return Plot(title, _png(fig))


def ceiling_bars(c: Comparison, metric: str) -> Plot:
    """First stage (hatched), achieved (solid) and ceiling (outline) per system that moved off its first stage;
    a system whose achieved equals its first stage (it did not rerank) has nothing between them to show."""
    title = f"{metric}: ceiling vs achieved"
    part = c.ceiling[c.ceiling.metric == metric].set_index("system").loc[c.systems]
    shown = [s for s in c.systems if not np.isclose(part.loc[s, "achieved"], part.loc[s, "first_stage"],
                                                     rtol=0, atol=1e-12)]
    if not shown:
        return Plot(title, None, f"no system changes its first stage's {metric} (achieved = first stage: "
                                 "reranker=none, or a measure reranking cannot move); the ceiling table above has "
                                 "the values.")
    fig, ax = _figure(f"{metric}: first stage, achieved, ceiling (macro average)", c.banner)
    colours = system_colours(c)
    x = np.arange(len(shown))
    for j, system in enumerate(shown):
        colour = colours[system]
        values = 100 * part.loc[system, ["first_stage", "achieved", "ceiling"]].to_numpy(dtype=float)
        ax.bar(x[j] - 0.27, values[0], 0.27, color=colour, alpha=0.35, hatch="//", edgecolor=colour)
        ax.bar(x[j], values[1], 0.27, color=colour)
        ax.bar(x[j] + 0.27, values[2], 0.27, facecolor="white", edgecolor=colour, linewidth=1.5)
    ax.set_xticks(x, shown)
    ax.set_xlim(-0.5 - 0.5 * (len(shown) < 3), len(shown) - 0.5 + 0.5 * (len(shown) < 3))   # bars keep their width
    for label, system in zip(ax.get_xticklabels(), shown):
        label.set_color(colours[system])
    ax.set_ylabel(f"{metric} ×100")
    _legend(ax, handles=[Patch(facecolor="#999999", alpha=0.35, hatch="//", edgecolor="#999999", label="first stage"),
                         Patch(facecolor="#999999", label="achieved"),
                         Patch(facecolor="white", edgecolor="#999999", label="ceiling")])
    return Plot(title, _png(fig))


def difference_histogram(c: Comparison, metric: str) -> Plot:
    """Distribution of per-query differences (system − baseline)."""
    title = f"{metric}: score differences"
    others = [s for s in c.systems if s != c.baseline]
    if not others:
        return Plot(title, None, f"only one system ({c.baseline}): there are no differences to draw.")
    wide = c.tidy[c.tidy.metric == metric].pivot(index=["lang", "qid"], columns="system", values="value")
    diffs = {s: 100 * (wide[s] - wide[c.baseline]).to_numpy() for s in others}
    if all(np.allclose(d, 0, rtol=0, atol=1e-12) for d in diffs.values()):
        return Plot(title, None, f"every query has the same {metric} in {', '.join(others)} as in {c.baseline}: "
                                 "every difference is 0.")
    fig, ax = _figure(f"{metric}: per-query difference vs {c.baseline}", c.banner)
    colours = system_colours(c)
    bins = np.linspace(-102.5, 102.5, 42)   # 5-point bins centred on 0, so 'no change' has its own bar
    for system, d in diffs.items():
        ax.hist(d, bins=bins, alpha=0.6, label=system, color=colours[system])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"Δ {metric} ×100 (system − baseline)")
    ax.set_ylabel("queries")
    _legend(ax)
    return Plot(title, _png(fig))


def quality_cost(c: Comparison) -> Plot | None:
    """Macro quality (large markers) and per-language quality (small, labelled) against pairs/s, one colour per
    system; the Pareto front of the macro points as a dashed step line; the setup caveat in red on top."""
    if c.cost is None:
        return None
    cost = c.cost
    title = f"{cost.metric} versus pairs/s (quality versus cost)"
    points = cost.points
    if points.empty:
        return Plot(title, None, "no run has a speed figure (" + "; ".join(f"{s}: {why}" for s, why in
                                                                          cost.unmeasured.items()) + ").")
    caveat = " ".join(x for x in (c.banner, cost.caveat) if x)
    fig, ax = _figure(f"{cost.metric} ×100 against rerank pairs/s (black ring: on the Pareto front)", caveat)
    colours = system_colours(c)
    macro = points[points.lang == MACRO]
    for system, part in points.groupby("system", sort=False):
        langs = part[part.lang != MACRO]
        ax.scatter(langs.pairs_per_s, 100 * langs.quality, s=14, alpha=0.45, color=colours[system])
        for r in langs.itertuples():
            ax.annotate(r.lang, (r.pairs_per_s, 100 * r.quality), fontsize=7, alpha=0.7, color=colours[system],
                        xytext=(3, 2), textcoords="offset points")
        m = part[part.lang == MACRO].iloc[0]
        ax.scatter([m.pairs_per_s], [100 * m.quality], s=90, color=colours[system], label=f"{system} (avg)",
                   edgecolors="black" if m.front else "none", linewidths=1.5, zorder=3)
    front = macro[macro.front].sort_values("pairs_per_s")
    if len(front) > 1:
        ax.step(front.pairs_per_s, 100 * front.quality, where="post", linestyle="--", color="black", linewidth=0.9,
                label="Pareto front")
    speeds = points.pairs_per_s.to_numpy(dtype=float)
    if speeds.max() > 10 * speeds.min():
        ax.set_xscale("log")
    left_out = "; ".join(f"{s}: {why}" for s, why in cost.unmeasured.items())
    ax.set_xlabel("pairs scored per second, rerank stage (higher is cheaper)"
                  + (f"\nnot plotted: {left_out}" if left_out else ""))
    ax.set_ylabel(f"{cost.metric} ×100")
    ax.grid(axis="x", alpha=0.3)
    _legend(ax)
    return Plot(title, _png(fig))


def plots(c: Comparison) -> list[Plot]:
    """Every metric's plots, drawn or with the reason they are not; then quality versus cost."""
    drawn = [draw(c, metric) for metric in c.metrics
             for draw in (language_bars, bucket_lines, ceiling_bars, difference_histogram)]
    return drawn + [p for p in [quality_cost(c)] if p is not None]


def all_plots(c: Comparison) -> dict[str, bytes]:
    """Title -> PNG of the plots that are drawn."""
    return {p.title: p.png for p in plots(c) if p.png is not None}
