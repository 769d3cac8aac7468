"""What `evalkit regress` writes: a Markdown summary (for a CI job summary) and JUnit XML (one testcase per
language x metric, plus one per exactness check). Metric values arrive x100 (evalkit.gate.regress.SCALE) and are
shown with two decimals, as in the reports; the exactness diffs keep four."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd

TOP = 20     # rows shown of a diff table


def _f(x, digits: int = 2) -> str:
    return "–" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def _d(x, digits: int = 2) -> str:
    return "–" if x is None or pd.isna(x) else f"{x:+.{digits}f}"


def _points(x: float) -> str:
    return f"{x:g} point" + ("" if x == 1 else "s")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def _line(row) -> str:
    return (f"- **{row.metric} / {row.lang}**: {_f(row.mean_baseline)} → {_f(row.mean_system)} "
            f"({_d(row.diff)}, CI [{_d(row.ci_lo)}, {_d(row.ci_hi)}], p_holm {row.p_holm:.4g}) — {row.status}")


def _diff_section(title: str, frame: pd.DataFrame | None, columns: list[str], eps: float | None) -> list[str]:
    if frame is None:
        return []
    if not len(frame):
        return [f"### {title}: none above {eps:g}\n"]
    rows = [[str(v) if c in ("lang", "qid", "docid", "metric") else (_f(v, 4) if c != "delta" else _d(v, 4))
             for c, v in zip(columns, r)] for r in frame[columns].head(TOP).itertuples(index=False)]
    return [f"### {title}: {len(frame)} moved by more than {eps:g} (largest {min(TOP, len(frame))})\n",
            _table(columns, rows)]


def markdown_summary(base, cur, result: dict, gate) -> str:
    v = result["verdicts"]
    failures, gains = v[v["status"].str.startswith("FAIL")], v[v["status"] == "improved"]
    exact = sum(len(c) for c in (result["query_changes"], result["score_changes"]) if c is not None)
    head = "FAIL" if result["failed"] else "PASS"
    counts = f"{len(failures)} metric regressions" + (f", {exact} exact-value changes" if exact else "")
    blessed = base.blessed
    origin = (f"baseline `{blessed.get('name', base.path)}` (blessed {blessed.get('date', '?')}: "
              f"\"{blessed.get('message', '')}\", config `{str(blessed.get('config_hash'))[:12]}`)"
              if blessed else f"baseline run `{base.path}`")
    out = [f"## evalkit regression gate: {head} ({counts})\n",
           f"{origin} vs current `{cur.path}`; system `{cur.final_system}`.\n",
           f"Scores are ×100, as in the reports. A regression is a drop of more than {_points(gate.tolerance)} "
           f"that is significant ({gate.test} test, {gate.n_resamples} resamples, Holm over languages, alpha "
           f"{gate.alpha:g}), or any drop of more than {_points(gate.hard_limit)}. `avg` is the macro average over "
           f"languages.\n"]
    if len(failures):
        out += ["### Failures\n", "\n".join(_line(r) for r in failures.itertuples()) + "\n"]
    if len(gains):
        out += ["### Improvements\n", "\n".join(_line(r) for r in gains.itertuples()) + "\n"]
    if result["allowed"]:
        out += ["### Allowed protocol changes\n", "\n".join(f"- {a}" for a in result["allowed"]) + "\n"]
    out += _system_sections(result)
    out += _diff_section("Per-query metric values", result["query_changes"],
                         ["lang", "metric", "qid", "baseline", "current", "delta"], gate.max_query_change)
    out += _diff_section("Run scores", result["score_changes"],
                         ["lang", "qid", "docid", "baseline", "current", "delta"], gate.max_score_change)
    rows = [[r.metric, r.lang, str(r.n), _f(r.mean_baseline), _f(r.mean_system), _d(r.diff),
             f"[{_d(r.ci_lo)}, {_d(r.ci_hi)}]", f"{r.p_holm:.4g}", r.status] for r in v.itertuples()]
    out += ["### All comparisons\n",
            _table(["metric", "lang", "queries", "baseline", "current", "Δ", "CI", "p (Holm)", "status"], rows)]
    return "\n".join(out) + "\n"


def junit_xml(result: dict | None, gate, error: str | None = None) -> str:
    suite = ET.Element("testsuite", name="evalkit-regress")
    cases = []
    if error is not None:
        case = ET.SubElement(suite, "testcase", classname="evalkit.regress", name="inputs")
        ET.SubElement(case, "error", message=error)
        cases.append(("error", case))
    else:
        for r in result["verdicts"].itertuples():
            case = ET.SubElement(suite, "testcase", classname=f"evalkit.regress.{r.metric}", name=r.lang)
            ET.SubElement(case, "system-out").text = (f"baseline {_f(r.mean_baseline)} current {_f(r.mean_system)} "
                                                      f"diff {_d(r.diff)} p_holm {r.p_holm:.4g} {r.status}")
            if r.status.startswith("FAIL"):
                ET.SubElement(case, "failure", message=f"{r.metric} / {r.lang}: {_d(r.diff)} ({r.status})")
            cases.append(("failure" if r.status.startswith("FAIL") else "ok", case))
        for name, key, eps in (("per-query values", "query_changes", gate.max_query_change),
                               ("run scores", "score_changes", gate.max_score_change)):
            if result[key] is not None:
                case = ET.SubElement(suite, "testcase", classname="evalkit.regress.exact", name=name)
                if len(result[key]):
                    ET.SubElement(case, "failure", message=f"{len(result[key])} {name} moved by more than {eps:g}")
                cases.append(("failure" if len(result[key]) else "ok", case))
        eq = result.get("equivalence")
        if eq is not None:
            case = ET.SubElement(suite, "testcase", classname="evalkit.regress.equivalence", name=eq["metric"])
            if not eq["equivalent"]:
                ET.SubElement(case, "failure", message=f"{eq['metric']}: {eq['verdict']} (±{eq['margin']:g})")
            cases.append(("ok" if eq["equivalent"] else "failure", case))
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(k == "failure" for k, _ in cases)))
    suite.set("errors", str(sum(k == "error" for k, _ in cases)))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _system_sections(result: dict) -> list[str]:
    """What changed in the system under test, measures not gated, and the equivalence verdict."""
    out = []
    if result.get("system_changes"):
        out += ["### System under test changed (same protocol)\n",
                "\n".join(f"- {a}" for a in result["system_changes"]) + "\n"]
    if result.get("measure_notes"):
        out += ["### Measures not in both runs\n", "\n".join(f"- {a}" for a in result["measure_notes"]) + "\n"]
    eq = result.get("equivalence")
    if eq is not None:
        rows = [[r.group, str(r.n), _d(r.diff), f"{r.p_holm:.4g}", "yes" if r.equivalent else "no"]
                for frame in (eq["by_lang"], eq["by_bucket"]) for r in frame.itertuples()]
        out += [f"### Equivalence of {eq['metric']} (TOST, ±{eq['margin']:g}, Holm): by language **{eq['verdict']}**; "
                f"by length bucket {eq['verdict_by_bucket']}\n",
                _table(["language / bucket", "queries", "Δ", "p (Holm)", "equivalent"], rows)]
    return out
