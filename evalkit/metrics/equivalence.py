"""Is a system equivalent to a reference within +-margin? Two one-sided paired t-tests (TOST) on per-query values.

H0: |mean(b - a)| >= margin, rejected when both one-sided tests reject: p = max(p_lower, p_upper). Per group (each
language, or each length bucket) p is Holm-adjusted across the groups of the family; the verdict "equivalent within
+-margin" needs every group's adjusted p below alpha (every language equivalent), else "not shown equivalent".
A group whose differences are all equal (zero variance) is equivalent exactly when |difference| < margin.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.metrics.significance import holm

EQUIVALENT, NOT_SHOWN = "equivalent within ±{margin:g}", "not shown equivalent"


def tost_paired(a, b, margin: float) -> dict[str, float]:
    """TOST of mean(b - a) inside (-margin, +margin): diff, p_lower, p_upper, p (the larger), df."""
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(f"TOST needs at least 2 paired values, got {d.size}")
    if margin <= 0:
        raise ValueError(f"the equivalence margin must be > 0, got {margin}")
    diff, df = float(d.mean()), d.size - 1
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    if se <= 1e-15:   # constant difference: decided exactly
        p_lower = p_upper = 0.0 if abs(diff) < margin else 1.0
    else:
        p_lower = float(stats.t.sf((diff + margin) / se, df))    # H0: diff <= -margin
        p_upper = float(stats.t.cdf((diff - margin) / se, df))   # H0: diff >= +margin
    return {"diff": diff, "p_lower": p_lower, "p_upper": p_upper, "p": max(p_lower, p_upper), "df": float(df)}


def equivalence(table: pd.DataFrame, baseline: str, system: str, metric: str, margin: float, *, by: str = "lang",
                alpha: float = 0.05) -> pd.DataFrame:
    """One row per group of `by`: n, diff, p_lower, p_upper, p, p_holm, equivalent. Queries pair on (lang, qid)."""
    rows = table[table["metric"] == metric]
    wide = rows.pivot_table(index=["lang", "qid"], columns="system", values="value", aggfunc="first")
    if baseline not in wide or system not in wide or wide[[baseline, system]].isna().any().any():
        raise ValueError(f"{system!r} and {baseline!r} must have {metric} for the same queries")
    groups = rows[rows["system"] == baseline].set_index(["lang", "qid"], drop=False)[by].reindex(wide.index).astype(str)
    out = []
    for group, part in wide.groupby(groups, sort=True):
        a, b = part[baseline].to_numpy(), part[system].to_numpy()
        if a.size < 2:   # one query cannot show equivalence
            out.append(dict(group=group, n=a.size, diff=float(b.mean() - a.mean()), p_lower=1.0, p_upper=1.0, p=1.0))
            continue
        result = tost_paired(a, b, margin)
        out.append(dict(group=group, n=a.size, **{k: result[k] for k in ("diff", "p_lower", "p_upper", "p")}))
    frame = pd.DataFrame(out)
    frame["p_holm"] = list(holm(dict(zip(frame["group"], frame["p"]))).values())
    frame["equivalent"] = frame["p_holm"] < alpha
    return frame.assign(metric=metric, by=by, margin=margin, alpha=alpha)


def verdict(frame: pd.DataFrame, margin: float) -> str:
    return EQUIVALENT.format(margin=margin) if bool(frame["equivalent"].all()) else NOT_SHOWN
