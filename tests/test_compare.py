"""`evalkit compare` on run directories the CLI wrote (fixture benchmark in MIRACL layout, BM25, a tiny GTE)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cli_runner import evalkit
from conftest import write_miracl_layout
from evalkit.errors import EvalkitError
from evalkit.metrics.significance import compare_systems
from evalkit.report.compare_cli import compare_dirs, expand_run_dirs, main
from evalkit.report.comparison import System, build_comparison, system_cis

FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()


def fixture_data(lang: str, n: int, trapped: set[int]) -> dict:
    """Query i asks for two rare terms; its relevant passage holds both, long for odd i. A trapped query also has a
    short judged-negative passage repeating one term: strong length normalisation (b=0.9, k1=3) ranks the trap
    over a long relevant passage, a low k1 does not, so the two BM25 settings differ on exactly those queries."""
    topics, qrels, docs = {}, [], []
    for i in range(n):
        a, b = f"{lang}q{i}alpha", f"{lang}q{i}beta"
        topics[str(i)] = f"{a} {b}"
        body = " ".join(FILLER[j % len(FILLER)] for j in range(700 if i % 2 else 8))
        docs.append((f"{i}#0", "", f"{a} {b} {body}"))
        qrels.append((str(i), f"{i}#0", 1))
        if i in trapped:
            docs.append((f"{i}#1", "", " ".join([a] * 6)))
            qrels.append((str(i), f"{i}#1", 0))
    return {"topics": topics, "qrels": qrels, "docs": docs}


@pytest.fixture(scope="session")
def sweep(tmp_path_factory) -> Path:
    """One CLI multirun, shared by the tests of this file: reranker=gte (a tiny random model),none x two BM25
    settings, giving runs 0-bm25-gte, 1-bm25-gte, 2-bm25-none, 3-bm25-none (k1 = 0.1, 3.0 in turn)."""
    from evalkit.testing import make_tiny_gte

    root = tmp_path_factory.mktemp("cli-sweep")
    data = write_miracl_layout(root / "data", {"en": fixture_data("en", 24, set(range(1, 24, 2))),
                                               "de": fixture_data("de", 24, {1, 3})})
    model = make_tiny_gte(root / "tiny-gte", seed=3)
    args = ["--multirun", "benchmark=sample", f"benchmark.source={data}", "metrics.measures=[ndcg@10,recall@100]",
            "reranker=gte,none", "candidates.bm25.k1=0.1,3.0", "candidates.bm25.b=0.9", f"reranker.model={model}",
            "reranker.max_length=512", "reranker.device=cpu", "report.formats=[md,html,latex,csv,parquet]",
            f"hydra.sweep.dir={root / 'sweep'}"]
    done = evalkit(*args, env={"EVALKIT_CACHE": root / "cache"}, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "sweep"


def _run(sweep: Path, job: int) -> Path:
    return next(p for p in expand_run_dirs([sweep]) if p.name.startswith(f"{job}-"))


def _lang_table(markdown: str, metric: str) -> dict[str, list[str]]:
    block = markdown.split(f"## {metric} per language", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in block.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows}


@pytest.mark.slow
def test_cli_compare_marks_agree_with_compare_systems(sweep, tmp_path):
    runs = [_run(sweep, 2), _run(sweep, 3)]
    assert main([*map(str, runs), "--out", str(tmp_path), "--seed", "7"]) == 0
    md = (tmp_path / "compare.md").read_text(encoding="utf-8")
    header = _lang_table(md, "ndcg@10")["lang"]
    assert header[2:] == ["k1=0.1 (baseline)", "k1=3.0"]   # titled by the one setting that differs
    assert "Seed: 7" in md

    # independent: the per-query tables as the CLI wrote them, tested with compare_systems directly
    tables = [pd.read_parquet(r / "per_query.parquet") for r in runs]
    assert [yaml.safe_load((r / "config.yaml").read_text())["candidates"]["bm25"]["k1"] for r in runs] == [0.1, 3.0]
    table = pd.concat([t[t.system == "first_stage"].assign(system=name)
                       for t, name in zip(tables, ["low", "high"])])
    stats = compare_systems(table, "low", "ndcg@10", seed=7).set_index("group")
    assert stats.loc["en", "significant"] and not stats.loc["de", "significant"]   # the fixture's design
    rows = _lang_table(md, "ndcg@10")
    for lang in ("en", "de", "avg"):
        group = "all" if lang == "avg" else lang
        cell = rows[lang][3]
        assert cell.split(" ")[0].endswith("†") == bool(stats.loc[group, "significant"]), (lang, cell)
        high = table[(table.system == "high") & (table.metric == "ndcg@10")]
        mean = high.groupby("lang")["value"].mean().mean() if lang == "avg" else high[high.lang == lang].value.mean()
        assert cell.split(" ")[0].rstrip("†") == f"{100 * mean:.2f}"
    assert "| ties | score desc, then docid desc (trec_eval) |" in md and "| split | dev |" in md   # the protocol block
    assert md.count("## Protocol\n") == 1 and "*Protocol:*" not in md   # stated once, not above every table


@pytest.mark.slow
def test_sweep_callback_wrote_combined_report(sweep):
    md = (sweep / "compare.md").read_text(encoding="utf-8")
    header = _lang_table(md, "ndcg@10")["lang"][2:]
    assert header == ["gte k1=0.1", "gte k1=3.0", "none k1=0.1 (baseline)", "none k1=3.0"]
    # the header: exactly the settings that differ (the sweep's k1, the reranker choice and what that choice sets)
    block = md.split("## Settings that differ", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")[1:]]
            for line in block.splitlines() if line.startswith("| ") and "---" not in line}
    assert rows["candidates.bm25.k1"] == ["0.1", "3.0", "0.1", "3.0"] and rows["reranker"] == ["gte"] * 2 + ["none"] * 2
    assert all(k.startswith("reranker.") for k in set(rows) - {"setting", "reranker", "candidates.bm25.k1"})
    assert "candidates.bm25.b" not in rows and "reranker.max_length" not in rows   # same in every run
    for suffix in ("html", "tex", "csv", "parquet"):
        assert (sweep / f"compare.{suffix}").is_file()
    for name in ("report.html", "report.tex", "per_query.csv"):   # the single-run report honours report.formats
        assert (_run(sweep, 0) / name).is_file()


@pytest.mark.slow
def test_ceiling_vs_achieved_matches_the_run_tables(sweep):
    comparison = compare_dirs([sweep], n_resamples=200)
    table = pd.read_parquet(_run(sweep, 0) / "per_query.parquet")
    macro = table[table.metric == "ndcg@10"].groupby(["system", "lang"])["value"].mean().groupby("system").mean()
    row = comparison.ceiling.set_index(["system", "metric"]).loc[("gte k1=0.1", "ndcg@10")]
    assert row["first_stage"] == pytest.approx(macro["first_stage"])
    assert row["achieved"] == pytest.approx(macro["reranked"])
    assert row["ceiling"] == pytest.approx(macro["ceiling"]) and row["ceiling"] >= row["achieved"]


@pytest.mark.slow
def test_different_query_sets_are_refused(sweep, tmp_path, capsys):
    runs = [_run(sweep, 2), _run(sweep, 3)]
    fewer = tmp_path / "fewer"
    shutil.copytree(runs[1], fewer)
    table = pd.read_parquet(fewer / "per_query.parquet")
    table[~((table.lang == "de") & (table.qid == "5"))].to_parquet(fewer / "per_query.parquet", index=False)
    assert main([str(runs[0]), str(fewer), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "different query sets" in err and "1 queries only in" in err and err.count("\n") == 1
    assert main([str(runs[0]), "--baseline", "nope", "--out", str(tmp_path / "out")]) == 2
    with pytest.raises(EvalkitError, match="neither a run directory"):
        expand_run_dirs([tmp_path / "out"])


def _system(name: str, values: dict[str, np.ndarray]) -> System:
    rows = [dict(lang=lang, qid=str(i), bucket="<=512", metric="ndcg@10", value=float(v))
            for lang, vs in values.items() for i, v in enumerate(vs)]
    table = pd.DataFrame(rows)
    protocol = {"benchmark": "x", "measures": ["ndcg@10"], "bucket_edges": [512]}
    return System(name, table, table, table, protocol, f"x/{name}")


def test_macro_ci_matches_the_normal_approximation():
    rng = np.random.default_rng(0)
    values = {"a": rng.random(3000), "b": rng.random(1000) ** 2}
    cis = system_cis(_system("s", values).final.assign(system="s"), 4000, 0).set_index("lang")
    means = [v.mean() for v in values.values()]
    se = np.sqrt(sum(v.var(ddof=1) / v.size for v in values.values())) / 2
    assert cis.loc["avg", "mean"] == pytest.approx(np.mean(means))
    assert cis.loc["avg", "lo"] == pytest.approx(np.mean(means) - 1.96 * se, abs=0.15 * se)
    assert cis.loc["avg", "hi"] == pytest.approx(np.mean(means) + 1.96 * se, abs=0.15 * se)
    se_b = values["b"].std(ddof=1) / np.sqrt(values["b"].size)
    assert cis.loc["b", "hi"] - cis.loc["b", "lo"] == pytest.approx(2 * 1.96 * se_b, rel=0.1)


def test_unknown_metric_and_duplicate_names_are_errors():
    a, b = _system("a", {"en": np.ones(3)}), _system("a", {"en": np.zeros(3)})
    with pytest.raises(EvalkitError, match="unique"):
        build_comparison([a, b], "a")
    with pytest.raises(EvalkitError, match="mrr@10"):
        build_comparison([a], "a", ["mrr@10"])


@pytest.mark.slow
def test_a_run_gets_the_same_ci_in_its_report_and_in_compare(sweep):
    """One bootstrap per (seed, metric, language): the run's own comparison and `evalkit compare` agree exactly."""
    from omegaconf import OmegaConf

    from evalkit.report.formats import run_comparison
    import json

    run = _run(sweep, 0)
    cfg = OmegaConf.load(run / "config.yaml")
    table = pd.read_parquet(run / "per_query.parquet")
    own = run_comparison(table, json.loads((run / "metrics.json").read_text()), cfg).cis
    other = compare_dirs([run, _run(sweep, 2)], seed=int(cfg.run.seed)).cis
    mine = own[own.system == "reranked"].drop(columns="system").reset_index(drop=True)
    theirs = other[other.system == "gte"].drop(columns="system").reset_index(drop=True)
    assert len(mine) > 0
    pd.testing.assert_frame_equal(mine, theirs)


@pytest.mark.slow
def test_sweep_writes_md_and_html_whatever_report_formats(sweep, tmp_path):
    from omegaconf import OmegaConf

    from evalkit.report.sweep import CompareSweep

    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy, ignore=shutil.ignore_patterns("compare*"))
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(copy)}}, "report": {"formats": ["md"]},
                               "run": {"seed": 0}})
    CompareSweep(n_resamples=200).on_multirun_end(config)
    assert sorted(p.name for p in copy.glob("compare*")) == ["compare.html", "compare.md", "compare_manifest.json"]


@pytest.mark.slow
def test_compare_writes_under_results_by_default(sweep, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = [_run(sweep, 2), _run(sweep, 3)]
    assert main([*map(str, runs), "--resamples", "200"]) == 0
    assert (tmp_path / "results" / "compare" / f"{runs[0].name}+{runs[1].name}" / "compare.md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
