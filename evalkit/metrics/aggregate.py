"""Aggregates derived from the tidy per-query table (system, lang, qid, bucket, metric, value)."""
from __future__ import annotations

import pandas as pd

from evalkit.contracts import GROUP

MACRO = "avg"


def per_language(table: pd.DataFrame) -> pd.DataFrame:
    """Mean per (system, metric, lang), plus the macro average over languages as lang='avg'. Languages named
    `group:part` (CQADupStack's forums) are averaged within their group first, shown as lang=group, and the group
    counts once in the macro average (BEIR's average over datasets)."""
    keys = ["system", "metric", "lang"]
    means = table.groupby(keys, sort=False)["value"].agg(["mean", "count"]).reset_index()
    unit = means["lang"].astype(str).str.split(GROUP, n=1).str[0]
    units = means.assign(lang=unit).groupby(keys, sort=False).agg(mean=("mean", "mean"), count=("count", "sum"))
    units = units.reset_index()
    groups = units[units.lang.isin(set(unit[unit != means["lang"]]))]
    macro = units.groupby(["system", "metric"], sort=False).agg(mean=("mean", "mean"), count=("count", "sum"))
    macro = macro.reset_index().assign(lang=MACRO)
    return pd.concat([means, groups[means.columns], macro[means.columns]], ignore_index=True)


def per_bucket(table: pd.DataFrame) -> pd.DataFrame:
    """Mean per (system, metric, bucket), pooled over the queries of all languages in the bucket."""
    return table.groupby(["system", "metric", "bucket"], sort=False)["value"].agg(["mean", "count"]).reset_index()


def summary(table: pd.DataFrame) -> dict:
    """Nested plain dict for metrics.json: system -> metric -> {lang|avg: mean}, plus bucket means and counts."""
    out: dict = {}
    for row in per_language(table).itertuples(index=False):
        sys = out.setdefault(row.system, {"by_language": {}, "by_bucket": {}, "queries": {}})
        sys["by_language"].setdefault(row.metric, {})[row.lang] = float(row.mean)
        sys["queries"][row.lang] = int(row.count)
    for row in per_bucket(table).itertuples(index=False):
        buckets = out[row.system]["by_bucket"].setdefault(row.metric, {})
        buckets[row.bucket] = {"mean": float(row.mean), "queries": int(row.count)}
    return out
