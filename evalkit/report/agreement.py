"""Same model, same ranking? Score agreement of two runs' reranked scores, and the equivalence of their metrics.

Agreement reads both runs' reranked run files: Kendall's tau-b per query over the documents both scored, and the
largest |score difference| after putting both on one scale (a logit run is passed through the sigmoid when the
other run's scores are sigmoid or provider-normalised). Equivalence is TOST per language and per length bucket
(evalkit.metrics.equivalence), Holm within each family.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from evalkit.errors import EvalkitError
from evalkit.metrics.equivalence import equivalence, verdict
from evalkit.storage import atomic_write_text

RERANKED = "reranked"


def score_kind(run_dir: Path) -> str:
    """logit | sigmoid | normalized: what the run's reranked scores are."""
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    if metrics.get("reranker_api"):
        return metrics["reranker_api"]["score_kind"]
    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) if \
        (run_dir / "config.yaml").is_file() else {}
    return ((config or {}).get("reranker") or {}).get("score_transform", "logit")


def _reranked(run_dir: Path) -> dict[str, dict]:
    from evalkit.data.trec import read_run

    files = sorted((run_dir / "runs").glob(f"{RERANKED}.*.trec"))
    if not files:
        raise EvalkitError(f"{run_dir}: no runs/{RERANKED}.*.trec (score agreement needs two reranked runs)")
    return {f.name.split(".")[1]: read_run(f) for f in files}


def agreement(base_dir: Path, other_dir: Path) -> tuple[pd.DataFrame, str]:
    """Per language: queries, mean and min Kendall tau, queries with tau < 1, max |delta|; and the transform used."""
    kinds = score_kind(base_dir), score_kind(other_dir)
    squash = [kinds[i] == "logit" and kinds[1 - i] != "logit" for i in (0, 1)]
    transform = "none" if not any(squash) else "sigmoid on the logit run's scores"
    a_runs, b_runs = _reranked(base_dir), _reranked(other_dir)
    rows = []
    for lang in sorted(set(a_runs) & set(b_runs)):
        taus, delta = [], 0.0
        for qid in sorted(set(a_runs[lang]) & set(b_runs[lang])):
            docs = sorted(set(a_runs[lang][qid]) & set(b_runs[lang][qid]))
            x = np.array([a_runs[lang][qid][d] for d in docs])
            y = np.array([b_runs[lang][qid][d] for d in docs])
            x, y = (1 / (1 + np.exp(-x)) if squash[0] else x), (1 / (1 + np.exp(-y)) if squash[1] else y)
            if docs:
                delta = max(delta, float(np.abs(x - y).max()))
            if len(docs) >= 2:
                tau = stats.kendalltau(x, y).statistic
                taus.append(1.0 if np.isnan(tau) and np.array_equal(x, y) else float(tau))
        taus_arr = np.array(taus, dtype=float)
        rows.append(dict(lang=lang, queries=len(taus), mean_tau=float(np.nanmean(taus_arr)) if taus else None,
                         min_tau=float(np.nanmin(taus_arr)) if taus else None,
                         below_1=int((taus_arr < 1 - 1e-12).sum()), max_abs_delta=delta))
    return pd.DataFrame(rows), transform


def equivalence_tables(tidy: pd.DataFrame, baseline: str, system: str, metric: str, margin: float,
                       alpha: float = 0.05) -> dict[str, pd.DataFrame]:
    return {by: equivalence(tidy, baseline, system, metric, margin, by=by, alpha=alpha) for by in ("lang", "bucket")}


def render(system: str, baseline: str, metric: str, points: float, tables: dict[str, pd.DataFrame],
           agree: pd.DataFrame | None, transform: str | None) -> str:
    """Margins and Δ on the reports' ×100 scale."""
    lines = [f"# {system} vs {baseline}: same model, same ranking?", ""]
    for by, frame in tables.items():
        lines += [f"## Equivalence of per-query {metric} by {by} (TOST, margin ±{points:g} points, Holm across "
                  f"{by}s): **{verdict(frame, points)}**", "",
                  f"| {by} | queries | Δ (×100) | p lower | p upper | p (Holm) | equivalent |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r.group} | {r.n} | {100 * r.diff:+.2f} | {r.p_lower:.3g} | {r.p_upper:.3g} | {r.p_holm:.3g} | "
                  f"{'yes' if r.equivalent else 'no'} |" for r in frame.itertuples()]
        lines.append("")
    if agree is not None:
        lines += [f"## Score agreement (transform: {transform})", "",
                  "| lang | queries | mean Kendall τ | min τ | queries with τ < 1 | max abs Δ score |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r.lang} | {r.queries} | {r.mean_tau:.4f} | {r.min_tau:.4f} | {r.below_1} | {r.max_abs_delta:.3g} |"
                  for r in agree.itertuples()]
        lines.append("")
    return "\n".join(lines)


def write_equivalence(out: Path, comparison, run_dirs: dict[str, Path], points: float, metric: str) -> list[Path]:
    """equivalence.md / equivalence.json for every system against the comparison's baseline; `points` is the margin
    on the reports' ×100 scale (1 = one nDCG point), as `evalkit regress --equivalence`."""
    margin = points / 100
    if metric not in comparison.metrics:
        raise EvalkitError(f"--equivalence-metric {metric}: not among the compared metrics {comparison.metrics}")
    parts, payload = [], {}
    for system in (s for s in comparison.systems if s != comparison.baseline):
        tables = equivalence_tables(comparison.tidy, comparison.baseline, system, metric, margin)
        try:
            agree, transform = agreement(run_dirs[comparison.baseline], run_dirs[system])
        except EvalkitError:
            agree, transform = None, None
        parts.append(render(system, comparison.baseline, metric, points, tables, agree, transform))
        payload[system] = {"metric": metric, "margin_points": points, "transform": transform,
                           **{f"verdict_by_{by}": verdict(f, points) for by, f in tables.items()},
                           **{f"by_{by}": f.to_dict("records") for by, f in tables.items()},
                           "agreement": None if agree is None else agree.to_dict("records")}
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "equivalence.md", out / "equivalence.json"
    atomic_write_text(md, "\n".join(parts))
    atomic_write_text(js, json.dumps(payload, indent=2, default=float) + "\n")
    return [md, js]
