"""`evalkit regress`: the CI gate. Fails when ranking quality drops for real in any language, not on noise.

Per language x metric of the final system (reranked if present, else first stage), and for the macro average:
- FAIL (hard limit): the mean dropped by more than --hard-limit points, whatever the test says;
- FAIL (regression): it dropped by more than --tolerance AND a paired test on per-query scores (randomization
  by default) is significant at --alpha after Holm correction across languages;
- drop (n.s.) / improved / ok otherwise.
Metric values, thresholds and margins are x100, as in every report (--tolerance 1.0 is one nDCG point); stored
baselines keep their 0-1 values and are scaled on load. Run scores (--max-score-change) are the reranker's own.
Optional exactness checks (--max-query-change, --max-score-change) fail on any per-query metric value or run
score that moved, with a diff of the largest moves: our own CI uses them to catch tokenization, truncation,
batching or metric changes on a tiny random model, where moves go either way.
Exit codes: 0 pass, 1 regression, 2 unusable input (missing files, different query sets, protocol mismatch).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pandas as pd

from evalkit.gate.baseline import Results, bless, load_results
from evalkit.errors import EvalkitError
from evalkit.gate.regress_report import junit_xml, markdown_summary

PASS, REGRESSION, UNUSABLE = 0, 1, 2
SCALE = 100.0        # per-query values are 0-1 on disk; the gate reads and writes them x100, like the reports
FAIL_HARD, FAIL_SIG = "FAIL (hard limit)", "FAIL (regression)"


@dataclass
class Gate:
    tolerance: float = 1.0                              # points (x100), like every threshold below but alpha
    hard_limit: float = 5.0
    alpha: float = 0.05
    test: str = "randomization"
    n_resamples: int = 10_000
    seed: int = 0
    allow: list[str] = field(default_factory=list)      # protocol fields allowed to differ
    max_query_change: float | None = None
    max_score_change: float | None = None              # raw run scores, not x100
    equivalence: float | None = None                   # fail unless equivalent within +-equivalence (TOST)
    equivalence_metric: str = "ndcg@10"


SYSTEM_PREFIX = "reranker"   # reranker kind, weights, tokenizer, max length, dtype, endpoint: the system under test


def is_system_field(key: str) -> bool:
    return key == SYSTEM_PREFIX or key.startswith(SYSTEM_PREFIX + ".")


def check_protocol(base: Results, cur: Results, allow: list[str]) -> tuple[list[str], list[str]]:
    """The evaluation protocol must agree (benchmark, split, candidates, depth, measures, buckets, policies); the
    system under test may differ, since that is what a gate compares. Raise naming every protocol field that differs
    and is not allowed; return (allowed protocol changes, system changes)."""
    from evalkit.gate.provenance import protocol_differences

    changed = {k: (v["baseline"], v["current"])
               for k, v in protocol_differences({"baseline": base.protocol, "current": cur.protocol}).items()}
    refused = [k for k in changed if k not in allow and not is_system_field(k)]
    if refused:
        detail = "; ".join(f"{k}: baseline {changed[k][0]!r}, current {changed[k][1]!r}" for k in refused)
        raise EvalkitError(f"protocol mismatch on field(s) {', '.join(refused)} ({detail}); "
                           f"pass --allow-protocol-change FIELD to compare anyway")
    lines = {k: f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items()}
    return [v for k, v in lines.items() if not is_system_field(k)], [v for k, v in lines.items() if is_system_field(k)]


def final_rows(base: Results, cur: Results) -> tuple[pd.DataFrame, list[str]]:
    """Both final systems' per-query rows (x100) on their common measures as one table with system = baseline |
    current (same queries or raise), and a note per measure only one side has (e.g. recall@depth after a depth
    change)."""
    if base.final_system != cur.final_system:
        raise EvalkitError(f"final systems differ: baseline {base.final_system!r}, current {cur.final_system!r}")
    parts = []
    for label, res in (("baseline", base), ("current", cur)):
        rows = res.table[res.table["system"] == res.final_system][["lang", "qid", "metric", "value"]]
        parts.append(rows.assign(system=label))
    measured = [list(dict.fromkeys(p["metric"])) for p in parts]
    common = [m for m in measured[0] if m in measured[1]]
    notes = [f"{m}: only in the {side}, not gated" for side, own, other in
             (("baseline", measured[0], measured[1]), ("current run", measured[1], measured[0]))
             for m in own if m not in other]
    if not common:
        raise EvalkitError(f"no common measures: baseline {measured[0]}, current run {measured[1]}")
    for metric in common:
        keys = [set(zip(*p[p["metric"] == metric][["lang", "qid"]].to_numpy().T)) for p in parts]
        if keys[0] != keys[1]:
            only_b, only_c = sorted(keys[0] - keys[1]), sorted(keys[1] - keys[0])
            raise EvalkitError(f"different query sets for {metric}: {len(only_b)} (lang, qid) only in the baseline "
                               f"{only_b[:3]}, {len(only_c)} only in the current run {only_c[:3]}")
    table = pd.concat(parts, ignore_index=True)
    table = table[table["metric"].isin(common)]
    return table.assign(value=table["value"] * SCALE), notes


def decide(row, gate: Gate) -> str:
    drop = -row["diff"]
    if drop > gate.hard_limit:
        return FAIL_HARD
    if drop > gate.tolerance:
        return FAIL_SIG if row["significant"] else "drop (n.s.)"
    if -drop > gate.tolerance and row["significant"]:
        return "improved"
    return "ok"


def compare(table: pd.DataFrame, gate: Gate) -> pd.DataFrame:
    """One row per metric x language (plus lang 'avg', the macro average) with the gate's verdict."""
    from evalkit.metrics.significance import compare_systems

    frames = []
    for metric in dict.fromkeys(table["metric"]):
        result = compare_systems(table, "baseline", metric, by="lang", test=gate.test, alpha=gate.alpha,
                                 n_resamples=gate.n_resamples, seed=gate.seed)
        frames.append(result.assign(metric=metric).rename(columns={"group": "lang"}))
    out = pd.concat(frames, ignore_index=True)
    out["lang"] = out["lang"].replace({"all": "avg"})
    out["status"] = [decide(row, gate) for _, row in out.iterrows()]
    return out[["metric", "lang", "n", "mean_baseline", "mean_system", "diff", "ci_lo", "ci_hi", "p", "p_holm",
                "status", "test"]]


def query_changes(table: pd.DataFrame, eps: float) -> pd.DataFrame:
    wide = table.pivot_table(index=["lang", "metric", "qid"], columns="system", values="value").reset_index()
    wide["delta"] = wide["current"] - wide["baseline"]
    moved = wide[wide["delta"].abs() > eps]
    return moved.reindex(moved["delta"].abs().sort_values(ascending=False, kind="stable").index)


def score_changes(base: Results, cur: Results, eps: float) -> pd.DataFrame:
    """Per (lang, qid, docid) score moves of the final system's run files; a document in one run only is a move."""
    from evalkit.data.trec import read_run

    dirs = base.runs_dir(), cur.runs_dir()
    if None in dirs:
        which = "baseline" if dirs[0] is None else "current run"
        raise EvalkitError(f"--max-score-change needs the final system's run files; the {which} has none "
                           f"(bless baselines with --with-runs)")
    rows = []
    for file in sorted(dirs[0].glob(f"{base.final_system}.*.trec")):
        lang = file.name.split(".")[1]
        a, b = read_run(file), read_run(dirs[1] / file.name) if (dirs[1] / file.name).is_file() else {}
        for qid in sorted(set(a) | set(b)):
            da, db = a.get(qid, {}), b.get(qid, {})
            for docid in sorted(set(da) | set(db)):
                x, y = da.get(docid), db.get(docid)
                if x is None or y is None or abs(x - y) > eps:
                    rows.append((lang, qid, docid, x, y, None if x is None or y is None else y - x))
    moved = pd.DataFrame(rows, columns=["lang", "qid", "docid", "baseline", "current", "delta"])
    return moved.reindex(moved["delta"].abs().fillna(float("inf")).sort_values(ascending=False, kind="stable").index)


def gate_runs(base: Results, cur: Results, gate: Gate) -> dict:
    """Everything the summary and the exit code need."""
    allowed, system = check_protocol(base, cur, gate.allow)
    table, notes = final_rows(base, cur)
    result = {"verdicts": compare(table, gate), "allowed": allowed, "system_changes": system, "measure_notes": notes,
              "query_changes": None, "score_changes": None, "equivalence": None}
    if gate.equivalence is not None:
        result["equivalence"] = equivalence_gate(base, cur, table, gate)
    if gate.max_query_change is not None:
        result["query_changes"] = query_changes(table, gate.max_query_change)
    if gate.max_score_change is not None:
        result["score_changes"] = score_changes(base, cur, gate.max_score_change)
    failed = result["verdicts"]["status"].str.startswith("FAIL").any()
    failed |= any(c is not None and len(c) for c in (result["query_changes"], result["score_changes"]))
    failed |= result["equivalence"] is not None and not result["equivalence"]["equivalent"]
    result["failed"] = bool(failed)
    return result


def equivalence_gate(base: Results, cur: Results, table: pd.DataFrame, gate: Gate) -> dict:
    """TOST of the current run against the baseline on per-query values: gated per language (Holm), reported per
    length bucket too."""
    from evalkit.metrics.equivalence import equivalence, verdict

    if gate.equivalence_metric not in set(table["metric"]):
        raise EvalkitError(f"--equivalence-metric {gate.equivalence_metric}: not measured by both runs")
    buckets = pd.concat([res.table[res.table["system"] == res.final_system][["lang", "qid", "metric", "bucket"]]
                         .assign(system=label) for label, res in (("baseline", base), ("current", cur))])
    tidy = table.merge(buckets, on=["system", "lang", "qid", "metric"], how="left").fillna({"bucket": "?"})
    frames = {by: equivalence(tidy, "baseline", "current", gate.equivalence_metric, gate.equivalence, by=by,
                              alpha=gate.alpha) for by in ("lang", "bucket")}
    return {"metric": gate.equivalence_metric, "margin": gate.equivalence, "by_lang": frames["lang"],
            "by_bucket": frames["bucket"], "verdict": verdict(frames["lang"], gate.equivalence),
            "verdict_by_bucket": verdict(frames["bucket"], gate.equivalence),
            "equivalent": bool(frames["lang"]["equivalent"].all())}


def _emit(args, markdown: str, junit: str) -> None:
    sys.stdout.write(markdown)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(markdown)
    if args.junit:
        args.junit.write_text(junit, encoding="utf-8")


def check_thresholds(gate: Gate) -> None:
    """Thresholds in range, or one line naming the flag (a value on the old 0-1 scale is legal, just strict)."""
    for flag, value in (("--tolerance", gate.tolerance), ("--hard-limit", gate.hard_limit),
                        ("--max-query-change", gate.max_query_change), ("--max-score-change", gate.max_score_change),
                        ("--equivalence", gate.equivalence)):
        if value is not None and not value >= 0:
            raise EvalkitError(f"{flag} {value:g}: must be >= 0 (metric values are x100: 1.0 is one point)")
    if not 0 < gate.alpha < 1:
        raise EvalkitError(f"--alpha {gate.alpha:g}: must be between 0 and 1")
    if gate.hard_limit < gate.tolerance:
        raise EvalkitError(f"--hard-limit {gate.hard_limit:g} is below --tolerance {gate.tolerance:g}: "
                           f"every drop above the tolerance would fail without a test")


def main(argv: list[str]) -> int:
    from evalkit.commands import parser

    args = parser("regress").parse_args(argv)
    gate = Gate(args.tolerance, args.hard_limit, args.alpha, args.test, args.n_resamples, args.seed,
                args.allow_protocol_change, args.max_query_change, args.max_score_change, args.equivalence,
                args.equivalence_metric)
    try:
        check_thresholds(gate)
        if args.update:
            out = bless(args.current, args.baseline, args.message, args.root, args.with_runs)
            sys.stdout.write(f"blessed baseline {out}\n")
            return PASS
        base, cur = load_results(args.baseline, args.root), load_results(args.current, args.root)
        result = gate_runs(base, cur, gate)
    except EvalkitError as exc:
        sys.stderr.write(f"evalkit regress: error: {exc}\n")
        _emit(args, f"## evalkit regression gate: ERROR\n\n{exc}\n", junit_xml(None, gate, error=str(exc)))
        return UNUSABLE
    _emit(args, markdown_summary(base, cur, result, gate), junit_xml(result, gate))
    return REGRESSION if result["failed"] else PASS
