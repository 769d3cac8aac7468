"""Paired statistics for comparing systems on the same queries.

Inputs are per-query scores as 1-D numpy arrays aligned by query (``a`` = baseline, ``b`` = system).
Every random function takes an explicit seed (an int or a sequence of ints for ``np.random.default_rng``)
and never touches the global RNG; resamples are drawn in chunks so memory stays bounded.
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

Seed = int | Sequence[int]
_CHUNK_ELEMENTS = 1 << 22      # ~32 MB of float64 per chunk of resamples
_AUTO_EXACT_N = 16             # randomization tests enumerate all sign patterns up to this n by default
_MAX_EXACT_N = 24              # 2^24 sign patterns is the most we enumerate


def _values(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"per-query scores must be a non-empty 1-D array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("per-query scores contain NaN or inf")
    return x


def _pair(a, b) -> np.ndarray:
    a, b = _values(a), _values(b)
    if a.shape != b.shape:
        raise ValueError(f"paired scores must align by query, got lengths {a.size} and {b.size}")
    return b - a


def _chunks(total: int, width: int):
    step = max(1, _CHUNK_ELEMENTS // max(width, 1))
    for start in range(0, total, step):
        yield min(step, total - start)


def _bootstrap_means(x: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_resamples` resamples (with replacement) of `x`."""
    return np.concatenate([x[rng.integers(0, x.size, size=(m, x.size), dtype=np.int32)].mean(axis=1)
                           for m in _chunks(n_resamples, x.size)])


def _percentiles(boot: np.ndarray, level: float) -> tuple[float, float]:
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def mean_ci(x, *, level: float = 0.95, n_resamples: int = 10_000, seed: Seed = 0) -> tuple[float, float, float]:
    """Mean of `x` and its percentile-bootstrap confidence interval."""
    x = _values(x)
    boot = _bootstrap_means(x, n_resamples, np.random.default_rng(seed))
    return (float(x.mean()), *_percentiles(boot, level))


def paired_bootstrap_ci(a, b, *, level: float = 0.95, n_resamples: int = 10_000,
                        seed: Seed = 0) -> tuple[float, float, float]:
    """mean(b - a) and its percentile-bootstrap CI, resampling queries (pairs stay together)."""
    return mean_ci(_pair(a, b), level=level, n_resamples=n_resamples, seed=seed)


def _sign_flip_p(v: np.ndarray, n_resamples: int, seed: Seed, exact: bool | None) -> tuple[float, bool]:
    """Two-sided p of T = |sum(s * v)| over random signs s; returns (p, whether it was exact).

    The tolerance keeps float rounding from dropping patterns whose T equals the observed one.
    """
    n = v.size
    exact = n <= _AUTO_EXACT_N if exact is None else exact
    if exact and n > _MAX_EXACT_N:
        raise ValueError(f"exact enumeration of 2^{n} sign patterns is too large (max n = {_MAX_EXACT_N})")
    total_v = v.sum()
    observed = abs(total_v) - 1e-9 * np.abs(v).sum()
    count, total = 0, 2 ** n if exact else n_resamples
    rng = np.random.default_rng(seed)
    start = 0
    for m in _chunks(total, n):
        if exact:
            bits = (np.arange(start, start + m)[:, None] >> np.arange(n)) & 1
            start += m
        else:   # one random byte gives 8 signs
            bits = np.unpackbits(rng.integers(0, 256, size=(m, (n + 7) // 8), dtype=np.uint8), axis=1, count=n)
        flipped = total_v - 2 * (bits.astype(np.float64) @ v)    # sum(s * v) with s = 1 - 2 * bit
        count += int((np.abs(flipped) >= observed).sum())
    return (count / total, True) if exact else ((count + 1) / (total + 1), False)


def randomization_test(a, b, *, n_resamples: int = 10_000, seed: Seed = 0, exact: bool | None = None) -> float:
    """Two-sided paired randomization (sign-flip) test of mean(b - a) = 0.

    Monte-Carlo p uses the +1 correction, (count + 1) / (n_resamples + 1); `exact` enumerates all 2^n
    sign patterns (default: exact when n <= 16).
    """
    d = _pair(a, b)
    return _sign_flip_p(d / d.size, n_resamples, seed, exact)[0]


def paired_t_test(a, b) -> float:
    """Two-sided paired t-test p; a zero-variance difference gives 1.0 (no difference) or 0.0 (constant shift)."""
    d = _pair(a, b)
    if d.size < 2:
        raise ValueError(f"the paired t-test needs at least 2 queries, got {d.size}")
    return _t_p(d.mean(), d.var(ddof=1) / d.size, d.size - 1)


def _t_p(diff: float, se2: float, df: float) -> float:
    if se2 <= 1e-300:
        return 1.0 if diff == 0 else 0.0
    from scipy import stats   # imported here: scipy.stats costs seconds of start-up, only the t-test needs it

    return float(2 * stats.t.sf(abs(diff) / np.sqrt(se2), df))


def holm(pvalues: Mapping[str, float]) -> dict[str, float]:
    """Holm step-down adjusted p-values: running max of (m - rank) * p in ascending order, capped at 1."""
    names = list(pvalues)
    p = np.array([pvalues[k] for k in names], dtype=np.float64)
    if not ((p >= 0) & (p <= 1)).all():
        raise ValueError(f"p-values must lie in [0, 1], got {dict(pvalues)}")
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    out = np.empty_like(p)
    out[order] = adjusted
    return {k: float(v) for k, v in zip(names, out)}


def _macro_stats(strata: list[np.ndarray], test: str, n_resamples: int, seeds: list[int], level: float):
    """Macro-average difference over strata (languages), as the papers average languages.

    CI: stratified bootstrap, resampling queries within each stratum and averaging the stratum means.
    randomization: sign flips within strata; the statistic is the macro mean, i.e. sum(w_i * d_i) with
    w_i = 1 / (n_strata * n_stratum(i)). t: stratified t with Welch-Satterthwaite degrees of freedom.
    """
    k = len(strata)
    diff = float(np.mean([d.mean() for d in strata]))
    rng = np.random.default_rng([*seeds, 0])
    boot = np.mean([_bootstrap_means(d, n_resamples, rng) for d in strata], axis=0)
    if test == "randomization":
        v = np.concatenate([d / (k * d.size) for d in strata])
        p, exact = _sign_flip_p(v, n_resamples, [*seeds, 1], None)
    else:
        if min(d.size for d in strata) < 2:
            raise ValueError("the stratified t-test needs at least 2 queries per group")
        parts = np.array([d.var(ddof=1) / (d.size * k * k) for d in strata])
        dof_den = sum(part ** 2 / (d.size - 1) for part, d in zip(parts, strata))
        p, exact = _t_p(diff, parts.sum(), parts.sum() ** 2 / dof_den if dof_den > 0 else 1.0), False
    return diff, *_percentiles(boot, level), p, exact


def _aligned(table: pd.DataFrame, baseline: str, metric: str, by: str) -> tuple[pd.DataFrame, list[str]]:
    """One value column per system, rows = queries (lang, qid) sorted, and `_group` = the baseline's `by`."""
    missing = {"system", "lang", "qid", "metric", "value", by} - set(table.columns)
    if missing:
        raise ValueError(f"per-query table lacks columns {sorted(missing)}")
    rows = table[table["metric"] == metric]
    if rows["value"].isna().any():
        raise ValueError(f"metric {metric!r} has NaN values in the per-query table")
    if rows.duplicated(["system", "lang", "qid"]).any():
        raise ValueError(f"metric {metric!r} has several rows for one (system, lang, qid); "
                         "select one stage/bucket first")
    systems = [str(s) for s in dict.fromkeys(rows["system"])]
    if baseline not in systems:
        raise ValueError(f"baseline {baseline!r} has no rows for metric {metric!r}; systems: {systems}")
    wide = rows.pivot(index=["lang", "qid"], columns="system", values="value").sort_index()
    for s in systems:
        n_missing = int((wide[s].isna() & wide[baseline].notna()).sum())
        n_extra = int((wide[s].notna() & wide[baseline].isna()).sum())
        if n_missing or n_extra:
            raise ValueError(f"system {s!r} does not share its queries with baseline {baseline!r} on {metric!r}: "
                             f"{n_missing} baseline queries missing, {n_extra} extra")
    groups = rows[rows["system"] == baseline].set_index(["lang", "qid"], drop=False)[by]
    wide = wide[systems].assign(_group=groups.reindex(wide.index).astype(str))
    if (wide["_group"] == "all").any():
        raise ValueError(f"a {by!r} group is named 'all', which clashes with the overall row")
    return wide, systems


_COLUMNS = ["system", "group", "n", "mean_baseline", "mean_system", "diff", "ci_lo", "ci_hi", "p", "p_holm",
            "significant", "test", "n_resamples", "seed"]


def compare_systems(table: pd.DataFrame, baseline: str, metric: str, *, by: str = "lang",
                    test: str = "randomization", alpha: float = 0.05, n_resamples: int = 10_000,
                    seed: int = 0) -> pd.DataFrame:
    """Each system against `baseline` per group of `by` (languages), plus an "all" row.

    Queries pair on (lang, qid). The "all" row is the macro average over groups, as the papers average
    languages, not the pooled mean over queries (see `_macro_stats` for its CI and test). CIs are (1 - alpha)
    percentile bootstraps. p_holm adjusts one system's per-group p-values (Holm); the "all" row is a separate
    pre-specified test, so its p_holm = p. `test` reads "randomization-exact" where all sign patterns were
    enumerated. Each (system, group) draws from its own streams, seeded by
    (seed, crc32(system), crc32(group), 0 for the bootstrap or 1 for the test).
    """
    if test not in ("randomization", "t"):
        raise ValueError(f"test must be 'randomization' or 't', got {test!r}")
    wide, systems = _aligned(table, baseline, metric, by)
    parts = [part for _, part in wide.groupby("_group", sort=True)]
    out = []
    for system in (s for s in systems if s != baseline):
        rows = []
        for part in parts:
            group, a, b = part["_group"].iat[0], part[baseline].to_numpy(), part[system].to_numpy()
            seeds = [seed, zlib.crc32(system.encode()), zlib.crc32(group.encode())]
            diff, lo, hi = paired_bootstrap_ci(a, b, level=1 - alpha, n_resamples=n_resamples,
                                                 seed=[*seeds, 0])
            if test == "randomization":
                p, exact = _sign_flip_p((b - a) / a.size, n_resamples, [*seeds, 1], None)
            elif a.size < 2:
                raise ValueError(f"{system!r} vs {baseline!r}: group {group!r} has 1 query; the t-test needs 2")
            else:
                p, exact = paired_t_test(a, b), False
            rows.append(dict(system=system, group=group, n=a.size, mean_baseline=a.mean(), mean_system=b.mean(),
                             diff=diff, ci_lo=lo, ci_hi=hi, p=p, exact=exact))
        for row, adjusted in zip(rows, holm({r["group"]: r["p"] for r in rows}).values()):
            row["p_holm"] = adjusted
        strata = [part[system].to_numpy() - part[baseline].to_numpy() for part in parts]
        seeds = [seed, zlib.crc32(system.encode()), zlib.crc32(b"all")]
        diff, lo, hi, p, exact = _macro_stats(strata, test, n_resamples, seeds, 1 - alpha)
        rows.append(dict(system=system, group="all", n=len(wide),
                         mean_baseline=np.mean([part[baseline].mean() for part in parts]),
                         mean_system=np.mean([part[system].mean() for part in parts]),
                         diff=diff, ci_lo=lo, ci_hi=hi, p=p, exact=exact, p_holm=p))
        out += rows
    if not out:
        return pd.DataFrame(columns=_COLUMNS)
    result = pd.DataFrame(out)
    result["significant"] = result["p_holm"] < alpha
    result["test"] = np.where(result.pop("exact"), test + "-exact", test)
    result["n_resamples"], result["seed"] = n_resamples, seed
    return result[_COLUMNS]


def rank_bootstrap(strata: list[np.ndarray], n_resamples: int, seed: Seed, level: float = 0.95) -> pd.DataFrame:
    """Rank of each system (column) on the macro average over strata (languages; rows = queries), its percentile
    interval over bootstrap resamples of queries within each stratum, and the share of resamples where it is first.

    Rank 1 is the highest mean; a system tied with the best is first too (rank = 1 + systems strictly better).
    One resample of a stratum's queries is shared by every system (the comparison is paired). Memory is bounded by
    chunks of resamples, whatever the number of queries.
    """
    def ranks(macro: np.ndarray) -> np.ndarray:   # (..., systems) -> ranks, 1 = best
        return 1 + (macro[..., None, :] > macro[..., :, None]).sum(axis=-1)

    rng = np.random.default_rng(seed)
    width = strata[0].shape[1]
    drawn = []
    for size in _chunks(n_resamples, max(len(x) for x in strata) * width):
        macro = np.mean([x[rng.integers(0, len(x), (size, len(x)))].mean(axis=1) for x in strata], axis=0)
        drawn.append(ranks(macro))
    boot = np.concatenate(drawn)
    point = ranks(np.mean([x.mean(axis=0) for x in strata], axis=0))
    lo, hi = (np.quantile(boot, q, axis=0, method="inverted_cdf") for q in ((1 - level) / 2, (1 + level) / 2))
    return pd.DataFrame({"rank": point, "lo": lo.astype(int), "hi": hi.astype(int),
                         "first": (boot == 1).mean(axis=0)}, index=range(width))
