"""Everything a comparison report shows, computed once from per-query tables; renderers only format it."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.contracts import GROUP
from evalkit.errors import EvalkitError
from evalkit.gate.provenance import comparison_mismatches, mismatch_line
from evalkit.metrics.aggregate import MACRO, per_language
from evalkit.metrics.buckets import NO_RELEVANT, bucket_labels
from evalkit.metrics.significance import compare_systems, mean_ci, rank_bootstrap
from evalkit.report.markdown import readable_protocol
from evalkit.report.published import load_tables, rows_for

LEVEL = 0.95
CONDENSED = "condensed_"   # the condensed-list twin of measure m is CONDENSED + m (unjudged documents removed)
EQUAL_EPS = 1e-12          # per-query values closer than this count as "equal" (float noise, not a change)
MISMATCH_FLAG = "pass --allow-protocol-mismatch to compare anyway (shown as a banner on every table and plot)"
PROTOCOL_LINE = ["benchmark", "split", "pool", "candidates", "depth", "reranker", "max_length", "no_relevant",
                 "averaging", "ties"]


@dataclass
class System:
    """One compared system: the per-query rows (lang, qid, bucket, metric, value) of its stage and its run's."""
    name: str
    final: pd.DataFrame
    first: pd.DataFrame
    ceiling: pd.DataFrame
    protocol: dict
    key: str                                   # benchmark/candidates[/reranker]: what report.reproduces maps
    report: dict = field(default_factory=dict)  # the run's report config (published, reproduces)
    fields: dict = field(default_factory=dict)  # manifest.json's protocol: what the protocol check compares
    source: str = ""                            # the run directory's name (named in a refusal)
    not_reported: list = field(default_factory=list)   # measures the run left out (cut-off deeper than its depth)
    missing_docs: str | None = None             # benchmark.missing_docs (the protocol holds only the counts)
    efficiency: dict = field(default_factory=dict)   # metrics.json's `efficiency` (empty: no rerank stage)


COST_FIELDS = ("pairs_scored", "tokens", "stage_seconds", "pairs_per_s", "ms_per_query", "p50_ms", "p95_ms",
               "flops_per_pair")   # read from each run's metrics.json `efficiency`


@dataclass
class Cost:
    """Quality against the rerank stage's cost: one row per system and language (avg = macro)."""
    metric: str
    points: pd.DataFrame      # system, lang, quality, pairs_scored, tokens, stage_seconds, pairs_per_s, ms_per_query,
                              # p50_ms, p95_ms, flops_per_pair,
                              # measured_on, front (macro rows: on the Pareto front of pairs/s vs quality)
    caveat: str               # one line naming where each timing was measured, when the setups differ
    unmeasured: dict          # system -> why it has no speed figure (no rerank stage, served from the cache)


@dataclass
class Comparison:
    systems: list[str]
    baseline: str
    metrics: list[str]
    languages: list[str]
    buckets: list[str]
    protocol: dict            # setting -> value, or "name=value, ..." where the systems differ
    tidy: pd.DataFrame        # system, lang, qid, bucket, metric, value
    cis: pd.DataFrame         # system, metric, lang (avg = macro), n, mean, lo, hi
    stats: pd.DataFrame       # significance.compare_systems by language, with a metric column
    bucket_means: pd.DataFrame
    bucket_stats: pd.DataFrame
    ceiling: pd.DataFrame     # system, metric, first_stage, achieved, ceiling (macro averages)
    published: pd.DataFrame   # system, ref, status, metric, lang, ours, lo, hi, published, delta, inside, note
    settings: dict            # test, seed, n_resamples, level
    counts: pd.DataFrame = None      # system, metric, lang (avg: all queries), improved, degraded, equal
    ranks: pd.DataFrame = None       # metric, system, rank, lo, hi, first: bootstrap of the macro-average rank
    condensed: pd.DataFrame = None   # system, lang, metric, condensed, diff, verdict, diff_condensed, ...
    differs: dict = field(default_factory=dict)     # setting -> {system: value}, settings that tell systems apart
    mismatch: dict = field(default_factory=dict)    # protocol field -> {run: value}, allowed by the flag
    not_compared: dict = field(default_factory=dict)  # measure -> runs that do not report it
    keys: dict = field(default_factory=dict)   # system -> its key (benchmark/candidates[/reranker]): plot colours
    cost: Cost | None = None                   # quality versus cost, where some run measured its rerank stage

    @property
    def banner(self) -> str:
        """One line shown on every table and plot when the protocols differ (empty when they agree)."""
        if not self.mismatch:
            return ""
        return (f"PROTOCOL MISMATCH (compared as asked): {mismatch_line(self.mismatch)}: "
                f"differences on these rows mix protocols, not only systems.")


def merged_protocol(systems: list[System]) -> dict:
    """One value per setting, or `a: 1 | b: 2` where the systems differ (– where a setting does not apply)."""
    shown = {s.name: readable_protocol(s.protocol, s.missing_docs) for s in systems}
    keys = list(dict.fromkeys(k for p in shown.values() for k in p))
    out = {}
    for key in keys:
        values = {name: p.get(key, "–") for name, p in shown.items()}
        unique = list(dict.fromkeys(map(str, values.values())))
        out[key] = values[systems[0].name] if len(unique) == 1 else " | ".join(f"{n}: {v}" for n, v in values.items())
    return out


def check_protocols(systems: list[System], allow: bool, hint: str = MISMATCH_FLAG) -> dict:
    """The protocol differences that change what a metric means (gate.provenance.comparison_mismatches): refused in
    one line, or returned for the banner and the manifest when `allow`."""
    lacking = [s.source or s.name for s in systems if not s.fields]
    if lacking and len(lacking) < len(systems) and not allow:
        raise EvalkitError(f"cannot check the protocol of {', '.join(lacking)}: no manifest.json protocol (written by "
                           f"an older evalkit?); {hint}")
    found = comparison_mismatches({s.source or s.name: s.fields for s in systems if s.fields})
    if found and not allow:
        deeper = sorted({m for s in systems for m in s.not_reported})
        extra = f"; {', '.join(deeper)} cut deeper than some run's candidates.depth" if deeper else ""
        raise EvalkitError(f"protocol mismatch: {mismatch_line(found)}{extra}; these runs do not measure the same "
                           f"thing; {hint}")
    return found


def outcome_counts(tidy: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """PyTerrier's +/- columns: per system, metric and language (avg: all queries) the queries improved, degraded
    and equal against the baseline."""
    rows = []
    for metric, part in tidy.groupby("metric", sort=False):
        wide = part.pivot(index=["lang", "qid"], columns="system", values="value")
        for system in (s for s in wide.columns if s != baseline):
            delta = (wide[system] - wide[baseline]).groupby(level="lang")
            for lang, d in [*delta, (MACRO, wide[system] - wide[baseline])]:
                rows.append(dict(system=system, metric=metric, lang=lang, improved=int((d > EQUAL_EPS).sum()),
                                 degraded=int((d < -EQUAL_EPS).sum()), equal=int((d.abs() <= EQUAL_EPS).sum())))
    return pd.DataFrame(rows, columns=["system", "metric", "lang", "improved", "degraded", "equal"])


def rank_stability(tidy: pd.DataFrame, systems: list[str], n_resamples: int, seed: int) -> pd.DataFrame:
    """Per metric, each system's rank on the macro average with its bootstrap interval and how often it is first
    (queries resampled within languages, one resample shared by all systems)."""
    frames = []
    for metric, part in tidy.groupby("metric", sort=False):
        wide = part.pivot(index=["lang", "qid"], columns="system", values="value")[systems]
        strata = [g.to_numpy() for _, g in wide.groupby(level="lang", sort=True)]
        frames.append(rank_bootstrap(strata, n_resamples, _seed(seed, metric, "rank"), LEVEL)
                      .assign(metric=metric, system=systems))
    return pd.concat(frames, ignore_index=True)[["metric", "system", "rank", "lo", "hi", "first"]]


def _verdict(row: pd.Series) -> str:
    return ("better" if row["diff"] > 0 else "worse") + " †" if row["significant"] else "n.s."


def condensed_flags(stats: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Each (system, language) whose significance verdict against the baseline changes between measure m and its
    condensed-list twin: a difference that is about judgment holes rather than relevance (or the reverse)."""
    rows = []
    for metric in (m for m in metrics if CONDENSED + m in metrics):
        std = stats[stats.metric == metric].set_index(["system", "group"])
        cond = stats[stats.metric == CONDENSED + metric].set_index(["system", "group"])
        for key in std.index.intersection(cond.index):
            a, b = std.loc[key], cond.loc[key]
            rows.append(dict(system=key[0], lang=MACRO if key[1] == "all" else key[1], metric=metric,
                             condensed=CONDENSED + metric, diff=a["diff"], verdict=_verdict(a),
                             diff_condensed=b["diff"], verdict_condensed=_verdict(b)))
    out = pd.DataFrame(rows, columns=["system", "lang", "metric", "condensed", "diff", "verdict", "diff_condensed",
                                      "verdict_condensed"])
    out["changed"] = out["verdict"] != out["verdict_condensed"]
    return out


def protocol_line(protocol: dict) -> str:
    return " · ".join(f"{k}: {protocol[k]}" for k in PROTOCOL_LINE if k in protocol)


def check_same_queries(systems: list[System], metrics: list[str]) -> None:
    base = systems[0]
    for metric in metrics:
        ref = set(map(tuple, base.final.loc[base.final.metric == metric, ["lang", "qid"]].to_numpy()))
        for s in systems[1:]:
            got = set(map(tuple, s.final.loc[s.final.metric == metric, ["lang", "qid"]].to_numpy()))
            if got != ref:
                raise EvalkitError(f"cannot compare {s.name!r} with {base.name!r}: different query sets on {metric} "
                                   f"({len(ref - got)} queries only in {base.name!r}, {len(got - ref)} only in "
                                   f"{s.name!r}); compare runs of the same benchmark, split and languages")


def same_buckets(tidy: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Every system's queries in the baseline's length buckets. A query's bucket is the length of its longest
    relevant document, and an answer-match benchmark (MKQA) judges each system's own candidates, so the bucket can
    differ by system; per-bucket pairing needs one bucket per query."""
    base = tidy[tidy.system == baseline].drop_duplicates(["lang", "qid"]).set_index(["lang", "qid"])["bucket"]
    keys = pd.MultiIndex.from_frame(tidy[["lang", "qid"]])
    return tidy.assign(bucket=base.reindex(keys).astype(object).to_numpy())


def _seed(seed: int, *parts: str) -> list[int]:
    return [seed, *(zlib.crc32(p.encode()) for p in parts)]


def _macro_ci(strata: list[np.ndarray], n_resamples: int, seed: list[int],
              weights: list[float] | None = None) -> tuple[float, float, float]:
    """Macro mean over languages and its stratified percentile-bootstrap CI (queries resampled per language);
    `weights` (summing to 1) where languages of a `group:` share their group's weight (BEIR's CQADupStack)."""
    rng = np.random.default_rng(seed)
    boot = np.average([x[rng.integers(0, x.size, (n_resamples, x.size))].mean(axis=1) for x in strata], axis=0,
                      weights=weights)
    lo, hi = np.quantile(boot, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(np.average([x.mean() for x in strata], weights=weights)), float(lo), float(hi)


def _group_weights(langs: list[str]) -> list[float] | None:
    """Each language's weight in the macro average when some are `group:part` (see metrics.aggregate), else None."""
    units = [lang.partition(GROUP)[0] for lang in langs]
    if units == list(langs):
        return None
    sizes = {u: units.count(u) for u in units}
    return [1 / (len(sizes) * sizes[u]) for u in units]


def system_cis(tidy: pd.DataFrame, n_resamples: int, seed: int) -> pd.DataFrame:
    """Bootstrap CIs per system, metric and language (and macro). The resampling depends only on the seed, metric,
    language and the per-query values in qid order, never on the system's name: the same run gets the same interval
    in its own report.html and in any `evalkit compare` (and systems over one query set share their resamples)."""
    rows = []
    for (system, metric), part in tidy.groupby(["system", "metric"], sort=False):
        strata = {lang: g.sort_values("qid", kind="stable")["value"].to_numpy()
                  for lang, g in part.groupby("lang", sort=True)}
        for lang, x in strata.items():
            mean, lo, hi = mean_ci(x, level=LEVEL, n_resamples=n_resamples, seed=_seed(seed, metric, lang))
            rows.append(dict(system=system, metric=metric, lang=lang, n=x.size, mean=mean, lo=lo, hi=hi))
        mean, lo, hi = _macro_ci(list(strata.values()), n_resamples, _seed(seed, metric, MACRO),
                                 _group_weights(list(strata)))
        rows.append(dict(system=system, metric=metric, lang=MACRO, n=len(part), mean=mean, lo=lo, hi=hi))
    return pd.DataFrame(rows)


def bucket_cis(tidy: pd.DataFrame, n_resamples: int, seed: int) -> pd.DataFrame:
    """Mean, query count and bootstrap CI (lo, hi) per system, metric and length bucket (languages pooled),
    resampled as `system_cis` does: by seed, metric and bucket, never by the system's name."""
    rows = []
    for (system, metric, bucket), part in tidy.groupby(["system", "metric", "bucket"], sort=False):
        x = part.sort_values(["lang", "qid"], kind="stable")["value"].to_numpy()
        mean, lo, hi = mean_ci(x, level=LEVEL, n_resamples=n_resamples, seed=_seed(seed, metric, "bucket", bucket))
        rows.append(dict(system=system, metric=metric, bucket=bucket, mean=mean, count=x.size, lo=lo, hi=hi))
    return pd.DataFrame(rows, columns=["system", "metric", "bucket", "mean", "count", "lo", "hi"])


def _ceiling(systems: list[System], metrics: list[str]) -> pd.DataFrame:
    rows = []
    for s in systems:
        stages = pd.concat([s.first.assign(system="first_stage"), s.final.assign(system="achieved"),
                            s.ceiling.assign(system="ceiling")])
        means = per_language(stages[stages.metric.isin(metrics)])
        macro = means[means.lang == MACRO].pivot(index="metric", columns="system", values="mean")
        for metric in metrics:
            rows.append(dict(system=s.name, metric=metric, **macro.loc[metric].to_dict()))
    return pd.DataFrame(rows, columns=["system", "metric", "first_stage", "achieved", "ceiling"])


def _published(systems: list[System], cis: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    tables, rows = None, []
    for s in systems:
        reproduces = s.report.get("reproduces") or {}
        if s.key not in reproduces:
            continue
        tables = tables if tables is not None else load_tables()
        ours = cis[cis.system == s.name].set_index(["metric", "lang"])
        our_langs = sorted(set(s.final.lang))
        for metric in metrics:
            for row in rows_for(s.key, s.protocol.get("benchmark"), metric, s.report.get("published"), reproduces,
                                tables):
                for lang, value in row.scores.items():
                    if (metric, lang) not in ours.index:
                        continue
                    mean, lo, hi = (100 * ours.loc[(metric, lang), c] for c in ("mean", "lo", "hi"))
                    note = "" if lang != MACRO or sorted(row.languages) == our_langs else \
                        f"ours over {len(our_langs)} languages, published over {len(row.languages) or '?'}"
                    rows.append(dict(system=s.name, ref=row.ref, status=row.status, metric=metric, lang=lang,
                                     ours=mean, lo=lo, hi=hi, published=value, delta=mean - value,
                                     inside=bool(lo <= value <= hi), note=note))
    return pd.DataFrame(rows, columns=["system", "ref", "status", "metric", "lang", "ours", "lo", "hi", "published",
                                       "delta", "inside", "note"])


def cost_view(systems: list[System], cis: pd.DataFrame, metrics: list[str]) -> Cost | None:
    """nDCG@10 (else the first metric), macro and per language, against each run's rerank-stage speed; the Pareto
    front over pairs/s and macro quality; a caveat when timings come from different devices, dtypes or threads."""
    from evalkit.metrics.efficiency import measured_on, pareto_front

    if not any(s.efficiency for s in systems):
        return None
    metric = "ndcg@10" if "ndcg@10" in metrics else metrics[0]
    part = cis[cis.metric == metric].set_index(["system", "lang"])["mean"]
    rows, unmeasured = [], {}
    for s in systems:
        eff = s.efficiency
        if not eff or eff.get("pairs_per_s") is None:
            unmeasured[s.name] = (eff.get("speed_note") if eff else "no rerank stage (reranker=none)")
            continue
        for lang in [*sorted({g for (name, g) in part.index if name == s.name} - {MACRO}), MACRO]:
            rows.append(dict(system=s.name, lang=lang, quality=float(part[(s.name, lang)]),
                             **{k: eff.get(k) for k in COST_FIELDS},
                             measured_on=measured_on(eff)))
    points = pd.DataFrame(rows, columns=["system", "lang", "quality", *COST_FIELDS, "measured_on"])
    macro = points.lang == MACRO
    points["front"] = False
    points.loc[macro, "front"] = pareto_front(list(zip(points.loc[macro, "pairs_per_s"], points.loc[macro, "quality"])))
    setups = dict(zip(points.loc[macro, "system"], points.loc[macro, "measured_on"]))
    caveat = ""
    if len(set(setups.values())) > 1:
        caveat = ("TIMINGS FROM DIFFERENT SETUPS (not comparable as measured): "
                  + "; ".join(f"{name}: {where}" for name, where in setups.items()))
    return Cost(metric, points, caveat, unmeasured)


def build_comparison(systems: list[System], baseline: str, metrics: list[str] | None = None, *,
                     test: str = "randomization", seed: int = 0, n_resamples: int = 10_000,
                     allow_mismatch: bool = False, hint: str = MISMATCH_FLAG,
                     differs: dict | None = None) -> Comparison:
    """Refuses runs whose protocols differ in what a metric means (unless `allow_mismatch`); `differs` (setting ->
    {system: value}) is what the header shows as telling the systems apart."""
    names = [s.name for s in systems]
    if len(set(names)) != len(names):
        raise EvalkitError(f"system names must be unique, got {names}")
    mismatch = check_protocols(systems, allow_mismatch, hint)   # before anything is computed
    if baseline not in names:
        raise EvalkitError(f"--baseline {baseline!r} is not one of the systems {names}")
    available = [m for m in systems[0].protocol.get("measures", []) if all((s.final.metric == m).any() for s in systems)]
    metrics = list(metrics or available)
    unknown = [m for m in metrics if m not in available]
    if unknown or not metrics:
        raise EvalkitError(f"--metric {unknown or metrics}: not measured by every run (common measures: {available})")
    check_same_queries(systems, metrics)
    tidy = pd.concat([s.final[s.final.metric.isin(metrics)].assign(system=s.name) for s in systems], ignore_index=True)
    tidy = same_buckets(tidy[["system", "lang", "qid", "bucket", "metric", "value"]], baseline)
    cis = system_cis(tidy, n_resamples, seed)
    kwargs = dict(test=test, seed=seed, n_resamples=n_resamples, alpha=1 - LEVEL)
    stats = pd.concat([compare_systems(tidy, baseline, m, by="lang", **kwargs).assign(metric=m) for m in metrics])
    bucket_stats = pd.concat([compare_systems(tidy, baseline, m, by="bucket", **kwargs).assign(metric=m)
                              for m in metrics])
    order = bucket_labels(list(systems[0].protocol.get("bucket_edges") or [512])) + [NO_RELEVANT]
    bucket_means = bucket_cis(tidy, n_resamples, seed)
    return Comparison(
        systems=names, baseline=baseline, metrics=metrics, languages=sorted(set(tidy.lang)),
        buckets=[b for b in order if b in set(tidy.bucket)], protocol=merged_protocol(systems), tidy=tidy,
        cis=cis, stats=stats, bucket_means=bucket_means, bucket_stats=bucket_stats,
        ceiling=_ceiling(systems, metrics), published=_published(systems, cis, metrics),
        settings=dict(test=test, seed=seed, n_resamples=n_resamples, level=LEVEL),
        counts=outcome_counts(tidy, baseline), condensed=condensed_flags(stats, metrics),
        ranks=rank_stability(tidy, names, n_resamples, seed) if len(names) > 2 else None,
        differs=dict(differs or {}), mismatch=mismatch, not_compared=_not_compared(systems, metrics),
        keys={s.name: s.key for s in systems}, cost=cost_view(systems, cis, metrics))


def _not_compared(systems: list[System], metrics: list[str]) -> dict[str, list[str]]:
    measured = list(dict.fromkeys(m for s in systems for m in s.protocol.get("measures", [])))
    missing = {m: [s.name for s in systems if not (s.final.metric == m).any()] for m in measured if m not in metrics}
    return {m: runs for m, runs in missing.items() if runs}
