"""`evalkit regress`: exit codes, verdicts, Holm, protocol refusal, baselines, exactness diffs, JUnit."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.data.trec import write_run
from evalkit.metrics.evaluate import evaluate_runs
from evalkit.gate.regress import main

LANGS = ["en", "de", "zh"]
MEASURES = ["ndcg@10", "mrr@10"]
PROTOCOL = {"benchmark": "synthetic", "languages": LANGS, "reranker.max_length": 512, "measures": MEASURES}


def synthetic(n_queries: int = 30, n_docs: int = 20, seed: int = 0):
    """Qrels with 2 relevant documents per query and a run that ranks them fairly high."""
    rng = np.random.default_rng(seed)
    qrels, runs = {}, {}
    for lang in LANGS:
        qrels[lang], runs[lang] = {}, {}
        for q in range(n_queries):
            qid, docs = f"{lang}{q}", [f"d{i}" for i in range(n_docs)]
            qrels[lang][qid] = {"d0": 2, "d1": 1, "d2": 0}
            runs[lang][qid] = {d: float(rng.normal(1.5 if d in ("d0", "d1") else 0.0)) for d in docs}
    return qrels, runs


def write_run_dir(path: Path, qrels, runs, protocol=PROTOCOL) -> Path:
    """A run directory as the pipeline writes it (first stage only, so it is the final system)."""
    (path / "runs").mkdir(parents=True)
    queries = {lang: {q: "text" for q in qrels[lang]} for lang in qrels}
    table = evaluate_runs(qrels, runs, MEASURES, queries)
    table.insert(0, "system", "first_stage")
    table.insert(3, "bucket", "<=512")
    table.to_parquet(path / "per_query.parquet", index=False)
    for lang, run in runs.items():
        write_run(path / "runs" / f"first_stage.{lang}.trec", run, "synthetic", list(queries[lang]))
    (path / "metrics.json").write_text("{}\n")
    (path / "manifest.json").write_text(json.dumps({"protocol": protocol, "environment": {"config_hash": "abc"}}))
    return path


def sink_relevant(run: dict) -> dict:
    """Every relevant document moved below all others (scores -10, -11)."""
    return {q: {d: (-10.0 - int(d[1:]) if d in ("d0", "d1") else s) for d, s in docs.items()}
            for q, docs in run.items()}


@pytest.fixture(scope="module")
def data():
    return synthetic()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, data):
    return write_run_dir(tmp_path_factory.mktemp("base") / "run", *data)


def gate(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().out


def test_sunk_language_fails_naming_language_and_metric(tmp_path, capsys, data, baseline):
    qrels, runs = data
    current = write_run_dir(tmp_path / "cur", qrels, {**runs, "de": sink_relevant(runs["de"])})
    junit = tmp_path / "junit.xml"
    code, out = gate(capsys, "--baseline", baseline, "--current", current, "--junit", junit, "--n-resamples", 2000)
    assert code == 1
    failures = out.split("### Failures")[1].split("###")[0]
    assert "**ndcg@10 / de**" in failures and "**mrr@10 / de**" in failures
    assert "/ en**" not in failures and "/ zh**" not in failures
    cases = ET.parse(junit).getroot().findall("testcase")
    assert len(cases) == len(MEASURES) * (len(LANGS) + 1)               # + the macro average per metric
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    assert ("evalkit.regress.ndcg@10", "de") in failed and ("evalkit.regress.mrr@10", "de") in failed
    assert not any(lang in ("en", "zh") for _, lang in failed)


def test_noise_level_perturbation_passes(tmp_path, capsys, data, baseline):
    qrels, runs = data
    rng = np.random.default_rng(1)
    noisy = {lang: {q: {d: s + float(rng.normal(0, 0.05)) for d, s in docs.items()} for q, docs in run.items()}
             for lang, run in runs.items()}
    current = write_run_dir(tmp_path / "cur", qrels, noisy)
    moved = (pd.read_parquet(current / "per_query.parquet")["value"]
             != pd.read_parquet(baseline / "per_query.parquet")["value"]).sum()
    assert moved > 0                                                    # the noise does move some queries
    code, out = gate(capsys, "--baseline", baseline, "--current", current, "--n-resamples", 2000)
    assert code == 0, out
    assert "gate: PASS" in out


def _table_dir(path: Path, values: dict[str, list[float]], protocol=PROTOCOL) -> Path:
    """A run directory from hand-chosen per-query ndcg@10 values per language."""
    rows = [("first_stage", lang, f"q{i}", "b", "ndcg@10", v) for lang, vs in values.items() for i, v in enumerate(vs)]
    path.mkdir(parents=True)
    pd.DataFrame(rows, columns=["system", "lang", "qid", "bucket", "metric", "value"]).to_parquet(
        path / "per_query.parquet", index=False)
    (path / "metrics.json").write_text("{}\n")
    (path / "manifest.json").write_text(json.dumps({"protocol": protocol, "environment": {}}))
    return path


def test_verdicts_follow_tolerance_significance_and_hard_limit(tmp_path, capsys):
    ones = [1.0] * 12
    base = _table_dir(tmp_path / "b", {"en": ones, "de": ones, "zh": ones})
    # values are stored 0-1 and gated x100 (tolerance 1 point, hard limit 5 points by default)
    # en: one query drops 0.6 -> mean -5.00 points, not above the hard limit, not significant (exact p = 1)
    # de: all 12 drop 0.02 -> mean -2.00 points, exact sign-flip p = 2/4096, Holm x3 -> 0.00146: regression
    # zh: one query drops 0.9 -> mean -7.50 points > hard limit 5: fails without significance
    cur = _table_dir(tmp_path / "c", {"en": [0.4] + ones[1:], "de": [0.98] * 12, "zh": [0.1] + ones[1:]})
    junit = tmp_path / "j.xml"
    code, out = gate(capsys, "--baseline", base, "--current", cur, "--junit", junit)
    assert code == 1
    rows = {line.split("|")[2].strip(): line for line in out.splitlines() if line.startswith("| ndcg@10")}
    assert rows["en"].rstrip(" |").endswith("drop (n.s.)")
    assert "| 100.00 | 95.00 | -5.00 |" in rows["en"]
    assert rows["de"].rstrip(" |").endswith("FAIL (regression)")
    assert "| 100.00 | 98.00 | -2.00 |" in rows["de"]
    assert "| 0.001465 |" in rows["de"]                                 # 3 * 2 / 4096, Holm over 3 languages
    assert rows["zh"].rstrip(" |").endswith("FAIL (hard limit)")
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "3"                                  # de, zh and the macro average (-4.83)
    de = root.find("testcase[@classname='evalkit.regress.ndcg@10'][@name='de']")
    assert de.find("system-out").text.startswith("baseline 100.00 current 98.00 diff -2.00")


def test_improvement_is_reported_and_passes(tmp_path, capsys):
    base = _table_dir(tmp_path / "b", {"en": [0.5] * 12})
    cur = _table_dir(tmp_path / "c", {"en": [0.6] * 12})
    code, out = gate(capsys, "--baseline", base, "--current", cur)
    assert code == 0
    assert "### Improvements" in out and "**ndcg@10 / en**: 50.00 → 60.00 (+10.00" in out


def test_protocol_mismatch_exits_2_naming_the_field(tmp_path, capsys, baseline, data):
    current = write_run_dir(tmp_path / "cur", *data, protocol={**PROTOCOL, "benchmark": "other"})
    code = main(["--baseline", str(baseline), "--current", str(current)])
    err = capsys.readouterr().err
    assert code == 2 and "benchmark" in err and "synthetic" in err and "other" in err
    code, out = gate(capsys, "--baseline", baseline, "--current", current, "--allow-protocol-change",
                     "benchmark", "--n-resamples", 500)
    assert code == 0 and "benchmark: 'synthetic' -> 'other'" in out


def test_a_different_system_under_the_same_protocol_needs_no_flag(tmp_path, capsys, baseline, data):
    system = {**PROTOCOL, "reranker.max_length": 1024, "reranker.weights_hash": "new", "reranker": "api"}
    current = write_run_dir(tmp_path / "cur", *data, protocol=system)
    code, out = gate(capsys, "--baseline", baseline, "--current", current, "--n-resamples", 500)
    assert code == 0 and "System under test changed" in out
    assert "reranker.max_length: 512 -> 1024" in out and "reranker.weights_hash" in out


def test_a_measure_in_one_run_only_is_named_not_a_query_set_error(tmp_path, capsys):
    base = _table_dir(tmp_path / "b", {"en": [0.5] * 12})
    cur = _table_dir(tmp_path / "c", {"en": [0.5] * 12})
    table = pd.read_parquet(cur / "per_query.parquet")
    pd.concat([table, table.assign(metric="recall@3")]).to_parquet(cur / "per_query.parquet", index=False)
    code, out = gate(capsys, "--baseline", base, "--current", cur)
    assert code == 0 and "recall@3: only in the current run, not gated" in out


def test_equivalence_gate(tmp_path, capsys):
    from statsmodels.stats.weightstats import ttost_paired

    rng = np.random.default_rng(3)
    a = rng.uniform(0.2, 0.8, 40)
    close, far = a + rng.normal(0, 0.01, 40), a + 0.05 + rng.normal(0, 0.01, 40)
    base = _table_dir(tmp_path / "b", {"en": list(a)})
    code, out = gate(capsys, "--baseline", base, "--current", _table_dir(tmp_path / "c", {"en": list(close)}),
                     "--equivalence", "2")                     # points: +-0.02 on the stored 0-1 values
    assert ttost_paired(close, a, -0.02, 0.02)[0] < 0.05        # statsmodels agrees it is equivalent
    assert code == 0 and "by language **equivalent within ±2**" in out
    code, out = gate(capsys, "--baseline", base, "--current", _table_dir(tmp_path / "f", {"en": list(far)}),
                     "--equivalence", "2", "--tolerance", "10", "--hard-limit", "20")
    assert ttost_paired(far, a, -0.02, 0.02)[0] > 0.05
    assert code == 1 and "by language **not shown equivalent**" in out
    junit = tmp_path / "junit.xml"
    main(["--baseline", str(base), "--current", str(tmp_path / "f"), "--equivalence", "2", "--tolerance", "10",
          "--hard-limit", "20", "--junit", str(junit)])
    capsys.readouterr()
    case = ET.parse(junit).getroot().find("testcase[@classname='evalkit.regress.equivalence']")
    assert case is not None and case.find("failure") is not None


def test_unusable_inputs_exit_2(tmp_path, capsys, baseline, data):
    qrels, runs = data
    fewer = {lang: dict(list(q.items())[:-1]) for lang, q in qrels.items()}
    current = write_run_dir(tmp_path / "cur", fewer, runs)
    assert main(["--baseline", str(baseline), "--current", str(current)]) == 2
    assert "different query sets" in capsys.readouterr().err
    assert main(["--baseline", str(baseline), "--current", str(tmp_path / "missing")]) == 2
    assert "neither a run directory" in capsys.readouterr().err


def test_bless_records_why_and_round_trips(tmp_path, capsys, baseline):
    root = tmp_path / "baselines"
    code, out = gate(capsys, "--update", "--baseline", "tiny", "--current", baseline, "--root", root,
                     "--message", "first blessing", "--with-runs")
    assert code == 0
    info = json.loads((root / "tiny" / "baseline.json").read_text())
    assert info["blessed"]["message"] == "first blessing" and info["blessed"]["config_hash"] == "abc"
    assert info["blessed"]["date"][:4].isdigit() and info["protocol"] == PROTOCOL
    stored = pd.read_csv(root / "tiny" / "per_query.csv", dtype={"qid": str})
    original = pd.read_parquet(baseline / "per_query.parquet")
    merged = original.merge(stored, on=["system", "lang", "qid", "metric"], suffixes=("", "_csv"))
    assert len(merged) == len(original) and (merged["value"] == merged["value_csv"]).all()   # lossless floats
    kept = sorted(p.name for p in (root / "tiny" / "runs").iterdir())
    assert kept == [f"first_stage.{lang}.trec" for lang in sorted(LANGS)]
    code, _ = gate(capsys, "--baseline", "tiny", "--root", root, "--current", baseline,
                   "--max-query-change", 0, "--max-score-change", 0)
    assert code == 0
    assert main(["--update", "--baseline", "x", "--current", str(baseline), "--root", str(root)]) == 2   # no message


def test_exact_checks_show_a_readable_diff(tmp_path, capsys, data, baseline):
    qrels, runs = data
    nudged = {**runs, "zh": {**runs["zh"], "zh3": {**runs["zh"]["zh3"], "d7": runs["zh"]["zh3"]["d7"] + 1e-3}}}
    current = write_run_dir(tmp_path / "cur", qrels, nudged)
    code, out = gate(capsys, "--baseline", baseline, "--current", current, "--max-score-change", 1e-4,
                     "--n-resamples", 500)
    assert code == 1
    section = out.split("### Run scores: 1 moved")[1]
    assert "| zh | zh3 | d7 |" in section and "+0.0010" in section


def test_thresholds_are_points_like_the_reports(tmp_path, capsys):
    """Every value of 12 queries drops 0.015 (1.5 points, exact sign-flip p = 2/4096): --tolerance 1.0 fails it,
    2.0 lets it pass; --hard-limit 1.2 fails it without a test; the old 0-1 reading (0.01) would not be 1 point."""
    base = _table_dir(tmp_path / "b", {"en": [0.8] * 12})
    cur = _table_dir(tmp_path / "c", {"en": [0.785] * 12})
    code, out = gate(capsys, "--baseline", base, "--current", cur, "--tolerance", "1.0")
    row = next(line for line in out.splitlines() if line.startswith("| ndcg@10 | en |"))
    assert code == 1 and "| 80.00 | 78.50 | -1.50 |" in row and row.rstrip(" |").endswith("FAIL (regression)")
    assert "drop of more than 1 point that" in out and "any drop of more than 5 points." in out
    assert "Scores are ×100" in out
    code, out = gate(capsys, "--baseline", base, "--current", cur, "--tolerance", "2")
    assert code == 0
    code, out = gate(capsys, "--baseline", base, "--current", cur, "--tolerance", "0.5", "--hard-limit", "1.2")
    assert code == 1 and "FAIL (hard limit)" in out
    moved = _table_dir(tmp_path / "m", {"en": [0.8] * 11 + [0.79]})                  # one query: 1 point
    assert gate(capsys, "--baseline", base, "--current", moved, "--max-query-change", "1.01")[0] == 0
    code, out = gate(capsys, "--baseline", base, "--current", moved, "--max-query-change", "0.99")
    assert code == 1 and "| en | ndcg@10 | q11 | 80.0000 | 79.0000 | -1.0000 |" in out


@pytest.mark.parametrize("flags, named", [(["--tolerance", "-1"], "--tolerance -1: must be >= 0"),
                                          (["--alpha", "5"], "--alpha 5: must be between 0 and 1"),
                                          (["--hard-limit", "0.5"], "--hard-limit 0.5 is below --tolerance 1")])
def test_a_bad_threshold_is_one_line_exit_2(tmp_path, capsys, flags, named):
    base = _table_dir(tmp_path / "b", {"en": [0.5] * 4})
    assert main(["--baseline", str(base), "--current", str(base), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err


def test_help_shows_the_defaults_and_the_scale():
    from cli_runner import evalkit

    out = evalkit("regress", "--help", check=True).stdout
    flat = " ".join(out.split("options:", 1)[1].split())
    for flag, default in (("--tolerance POINTS", "1.0"), ("--hard-limit POINTS", "5.0"), ("--alpha ALPHA", "0.05")):
        assert flag in flat and f"(default: {default})" in flat.split(flag, 1)[1].split(" --", 1)[0], flag
    assert "x100, as in every report" in flat
