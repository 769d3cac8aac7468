"""Aggregates derived from the tidy per-query table (system, lang, qid, bucket, metric, value)."""
from __future__ import annotations

import pandas as pd

MACRO = "avg"


def per_language(table: pd.DataFrame) -> pd.DataFrame:
    """Mean per (system, metric, lang), plus the macro average over languages as lang='avg'."""
    means = table.groupby(["system", "metric", "lang"], sort=False)["value"].agg(["mean", "count"]).reset_index()
    macro = means.groupby(["system", "metric"], sort=False).agg(mean=("mean", "mean"), count=("count", "sum"))
    macro = macro.reset_index().assign(lang=MACRO)
    return pd.concat([means, macro[means.columns]], ignore_index=True)


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
