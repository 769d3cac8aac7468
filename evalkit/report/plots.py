"""Comparison plots as PNG bytes (matplotlib's Agg canvas; no pyplot state, no display needed)."""
from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evalkit.metrics.aggregate import MACRO
from evalkit.report.comparison import Comparison

SIZE = (10.0, 4.0)     # inches
DPI = 100              # -> 1000 x 400 pixels


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


def _legend(ax) -> None:
    """Outside the axes, right: never over a bar or a line."""
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))


def language_bars(c: Comparison, metric: str) -> bytes:
    """Per-language means with 95% CI whiskers, one bar per system."""
    fig, ax = _figure(f"{metric} per language (95% CI)", c.banner)
    labels = [*c.languages, MACRO]
    x, width = np.arange(len(labels)), 0.8 / len(c.systems)
    cis = c.cis[c.cis.metric == metric].set_index(["system", "lang"])
    for i, system in enumerate(c.systems):
        rows = cis.loc[[(system, lang) for lang in labels]]
        mean, lo, hi = (100 * rows[k].to_numpy() for k in ("mean", "lo", "hi"))
        ax.bar(x + (i - (len(c.systems) - 1) / 2) * width, mean, width, label=system,
               yerr=np.vstack([mean - lo, hi - mean]), capsize=2)
    ax.set_xticks(x, labels)
    ax.set_ylabel(f"{metric} ×100")
    _legend(ax)
    return _png(fig)


def bucket_lines(c: Comparison, metric: str) -> bytes:
    """Mean metric per document-length bucket, one line per system."""
    fig, ax = _figure(f"{metric} by document length (tokens of the longest relevant document)", c.banner)
    means = c.bucket_means[c.bucket_means.metric == metric].set_index(["system", "bucket"])["mean"]
    for system in c.systems:
        ax.plot(c.buckets, [100 * means[(system, b)] for b in c.buckets], marker="o", label=system)
    ax.set_ylabel(f"{metric} ×100")
    _legend(ax)
    return _png(fig)


def ceiling_bars(c: Comparison, metric: str) -> bytes:
    """First stage, achieved and ceiling (macro averages) per system."""
    fig, ax = _figure(f"{metric}: first stage, achieved, ceiling (macro average)", c.banner)
    part = c.ceiling[c.ceiling.metric == metric].set_index("system").loc[c.systems]
    x = np.arange(len(c.systems))
    for i, (column, label) in enumerate([("first_stage", "first stage"), ("achieved", "achieved"),
                                         ("ceiling", "ceiling")]):
        ax.bar(x + (i - 1) * 0.27, 100 * part[column].to_numpy(), 0.27, label=label)
    ax.set_xticks(x, c.systems)
    ax.set_ylabel(f"{metric} ×100")
    _legend(ax)
    return _png(fig)


def difference_histogram(c: Comparison, metric: str) -> bytes | None:
    """Distribution of per-query differences (system − baseline); None when there is nothing to compare."""
    others = [s for s in c.systems if s != c.baseline]
    if not others:
        return None
    fig, ax = _figure(f"{metric}: per-query difference vs {c.baseline}", c.banner)
    wide = c.tidy[c.tidy.metric == metric].pivot(index=["lang", "qid"], columns="system", values="value")
    bins = np.linspace(-102.5, 102.5, 42)   # 5-point bins centred on 0, so 'no change' has its own bar
    for system in others:
        ax.hist(100 * (wide[system] - wide[c.baseline]).to_numpy(), bins=bins, alpha=0.6, label=system)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"Δ {metric} ×100 (system − baseline)")
    ax.set_ylabel("queries")
    _legend(ax)
    return _png(fig)


def all_plots(c: Comparison) -> dict[str, bytes]:
    """Title -> PNG, for every metric."""
    out = {}
    for metric in c.metrics:
        out[f"{metric} per language"] = language_bars(c, metric)
        out[f"{metric} by document length"] = bucket_lines(c, metric)
        out[f"{metric}: ceiling vs achieved"] = ceiling_bars(c, metric)
        diff = difference_histogram(c, metric)
        if diff is not None:
            out[f"{metric}: score differences"] = diff
    return out
