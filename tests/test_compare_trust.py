"""Comparisons a reviewer can trust: protocol mismatches refused (or bannered), what differs named, PyTerrier's
improved/degraded counts, rank stability, and verdicts that change under condensed-list evaluation."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import EvalkitError
from evalkit.gate.provenance import ABSENT, comparison_mismatches, protocol_differences
from evalkit.metrics.significance import rank_bootstrap
from evalkit.report.compare_cli import differing_settings, run_settings, system_titles
from evalkit.report.comparison import System, build_comparison
from evalkit.report.markdown import readable_protocol
from evalkit.report.tables import render_markdown

BASE = {"benchmark": "sample", "split": "dev", "pool": "full", "languages": ["en"], "candidates.name": "bm25",
        "candidates.depth": 100, "candidates.bm25.k1": 0.9, "reranker": "gte", "reranker.max_length": 8192,
        "reranker.weights_hash": "w1", "measures": ["ndcg@10"], "no_relevant": "exclude", "bucket_edges": [512]}


def _with(**changes) -> dict:
    return {**BASE, **{k.replace("__", "."): v for k, v in changes.items()}}


@pytest.mark.parametrize("other, refused", [
    (_with(candidates__depth=20), ["candidates.depth"]),              # depth bounds every cut-off: always
    (_with(split="test"), ["split"]),
    (_with(pool="judged"), ["pool"]),
    (_with(languages=["en", "de"]), ["languages"]),
    (_with(no_relevant="zero"), ["no_relevant"]),
    (_with(bucket_edges=[1024]), ["bucket_edges"]),
    (_with(candidates__name="dense"), []),                            # first stages compared: allowed
    (_with(candidates__bm25__k1=1.2), []),
    (_with(reranker="bge_m3", reranker__weights_hash="w2"), []),     # rerankers compared: allowed
    (_with(reranker__max_length=512), []),                            # same first stage: about rerankers
    (_with(candidates__bm25__k1=1.2, reranker__max_length=512), ["reranker.max_length"]),   # two things move
    (_with(measures=["ndcg@10", "recall@100"]), []),                  # compare shows the common measures
])
def test_which_protocol_differences_are_refused(other, refused):
    assert sorted(comparison_mismatches({"a": BASE, "b": other})) == refused


def test_a_run_without_reranker_has_no_max_length_to_disagree_on():
    none = {k: v for k, v in _with(candidates__bm25__k1=1.2).items() if not k.startswith("reranker.")}
    none["reranker"] = "none"
    assert comparison_mismatches({"a": BASE, "b": none}) == {}
    # ... but two reranked runs over different first stages must share the max length
    third = _with(candidates__bm25__k1=2.0, reranker__max_length=512)
    assert list(comparison_mismatches({"a": BASE, "b": none, "c": third})) == ["reranker.max_length"]


def test_protocol_differences_names_every_run_and_absent_fields():
    found = protocol_differences({"a": BASE, "b": {**_with(split="test"), "subset": "ci"}})
    assert found == {"split": {"a": "dev", "b": "test"}, "subset": {"a": ABSENT, "b": "ci"}}


def _system(name: str, values: dict[str, np.ndarray], metric: str = "ndcg@10", fields: dict | None = None,
            extra: dict[str, dict[str, np.ndarray]] | None = None) -> System:
    per_metric = {metric: values, **(extra or {})}
    rows = [dict(lang=lang, qid=str(i), bucket="<=512", metric=m, value=float(v))
            for m, by_lang in per_metric.items() for lang, vs in by_lang.items() for i, v in enumerate(vs)]
    table = pd.DataFrame(rows)
    protocol = {"benchmark": "x", "measures": list(per_metric), "bucket_edges": [512]}
    return System(name, table, table, table, protocol, f"x/{name}", fields=fields or {}, source=f"run-{name}")


def test_depth_mismatch_refused_in_one_line_and_bannered_with_the_flag():
    x = {"en": np.linspace(0, 1, 8)}
    a, b = _system("a", x, fields=BASE), _system("b", x, fields=_with(candidates__depth=20))
    with pytest.raises(EvalkitError) as err:
        build_comparison([a, b], "a", n_resamples=50)
    line = str(err.value)
    assert "\n" not in line and "candidates.depth" in line and "run-a=100" in line and "run-b=20" in line
    assert "--allow-protocol-mismatch" in line
    c = build_comparison([a, b], "a", n_resamples=50, allow_mismatch=True)
    assert c.mismatch == {"candidates.depth": {"run-a": 100, "run-b": 20}}
    md = render_markdown(c, "t")
    sections = md.count("\n## ") - 1                       # every table's section, the Protocol block aside
    assert sections > 3 and md.count("PROTOCOL MISMATCH") == sections + 1   # ... plus the top of the page


def test_improved_degraded_equal_counts_match_a_hand_count():
    base = {"en": np.array([0.5, 0.2, 0.0, 1.0, 0.3]), "de": np.array([0.1, 0.1, 0.4])}
    sys_ = {"en": np.array([0.6, 0.2, 0.0, 0.5, 0.3]), "de": np.array([0.0, 0.9, 0.4])}
    c = build_comparison([_system("base", base), _system("sys", sys_)], "base", n_resamples=50)
    counts = c.counts.set_index("lang")
    # en: +1 (0.5->0.6), -1 (1.0->0.5), =3; de: +1, -1, =1; all queries: +2, -2, =4
    assert counts.loc["en", ["improved", "degraded", "equal"]].tolist() == [1, 1, 3]
    assert counts.loc["de", ["improved", "degraded", "equal"]].tolist() == [1, 1, 1]
    assert counts.loc["avg", ["improved", "degraded", "equal"]].tolist() == [2, 2, 4]
    row = next(line for line in render_markdown(c, "t").splitlines() if line.startswith("| sys | en |"))
    assert row.rstrip(" |").split(" | ")[-3:] == ["1", "1", "3"]


def test_a_system_better_on_every_query_is_first_in_every_resample():
    rng = np.random.default_rng(1)
    low = {lang: rng.random(n) * 0.5 for lang, n in (("en", 30), ("de", 12))}
    systems = [_system("low", low), _system("mid", {k: v + 0.1 for k, v in low.items()}),
               _system("top", {k: v + 0.3 for k, v in low.items()})]
    c = build_comparison(systems, "low", n_resamples=500)
    ranks = c.ranks.set_index("system")
    assert ranks.loc["top", ["rank", "lo", "hi", "first"]].tolist() == [1, 1, 1, 1.0]
    assert ranks.loc["low", ["rank", "lo", "hi", "first"]].tolist() == [3, 3, 3, 0.0]
    assert "Rank stability" in render_markdown(c, "t")


def _brute_force_first(strata: list[np.ndarray], n: int, seed: int) -> np.ndarray:
    """How often each system (column) has the best macro mean, one query resample per language at a time."""
    rng = np.random.default_rng(seed)
    first = np.zeros(strata[0].shape[1])
    for _ in range(n):
        macro = np.zeros(strata[0].shape[1])
        for x in strata:
            picked = [x[rng.integers(len(x))] for _ in range(len(x))]
            macro += np.mean(picked, axis=0) / len(strata)
        first += macro == macro.max()
    return first / n


def test_first_shares_agree_with_a_brute_force_bootstrap():
    rng = np.random.default_rng(7)
    common = [rng.random((40, 1)), rng.random((15, 1))]   # near ties: every system is first sometimes
    strata = [c + rng.normal(0, 0.2, (len(c), 3)) + [0.0, 0.01, 0.02] for c in common]
    result = rank_bootstrap(strata, 4000, [3], 0.95)
    ours, theirs = result["first"].to_numpy(), _brute_force_first(strata, 2000, 11)
    assert ours.sum() == pytest.approx(1.0) and (ours > 0).all()
    np.testing.assert_allclose(ours, theirs, atol=0.045)   # two Monte Carlo estimates: ~3 standard errors
    macro = np.mean([x.mean(axis=0) for x in strata], axis=0)
    assert result["rank"].tolist() == [1 + int((macro > m).sum()) for m in macro]
    assert (result["lo"] <= result["rank"]).all() and (result["rank"] <= result["hi"]).all()


def _ndcg_and_condensed(qrels: dict, run: dict) -> tuple[dict, dict]:
    """Per-query nDCG@10 with ir_measures, on the run and on the run with unjudged documents removed."""
    import ir_measures
    from ir_measures import nDCG

    def per_query(r: dict) -> dict:
        return {m.query_id: m.value for m in ir_measures.iter_calc([nDCG @ 10], qrels, r)}

    condensed = {q: {d: s for d, s in docs.items() if d in qrels[q]} for q, docs in run.items()}
    return per_query(run), per_query(condensed)


def test_a_loss_made_of_unjudged_documents_is_flagged_when_it_vanishes_under_condensed():
    langs, tables = ("en", "de"), {}
    for lang in langs:
        qrels, runs = {}, {"bm25": {}, "reranker": {}, "worse": {}}
        for i in range(20):
            q = f"{lang}{i}"
            judged = [f"{q}-n{j}" for j in range(4)]
            qrels[q] = {f"{q}-rel": 1, **{d: 0 for d in judged}}
            pos = i % 3                      # the relevant document's place among the judged ones
            order = judged[:pos] + [f"{q}-rel"] + judged[pos:]
            unjudged = [f"{q}-u{j}" for j in range(10)]
            runs["bm25"][q] = {d: 100.0 - k for k, d in enumerate(order + unjudged)}
            runs["reranker"][q] = {d: 100.0 - k for k, d in enumerate(unjudged + order)}   # holes on top
            runs["worse"][q] = {d: 100.0 - k for k, d in enumerate(judged + [f"{q}-rel"] + unjudged)}
        for name, run in runs.items():
            std, cond = _ndcg_and_condensed(qrels, run)
            qids = sorted(run)
            tables.setdefault(name, {}).setdefault("ndcg@10", {})[lang] = np.array([std[q] for q in qids])
            tables[name].setdefault("condensed_ndcg@10", {})[lang] = np.array([cond[q] for q in qids])
    systems = [_system(n, t["ndcg@10"], extra={"condensed_ndcg@10": t["condensed_ndcg@10"]})
               for n, t in tables.items()]
    c = build_comparison(systems, "bm25", n_resamples=1000)
    stats = c.stats.set_index(["system", "metric", "group"])
    assert stats.loc[("reranker", "ndcg@10", "all"), "significant"]            # a real-looking loss ...
    assert stats.loc[("reranker", "ndcg@10", "all"), "diff"] < 0
    assert not stats.loc[("reranker", "condensed_ndcg@10", "all"), "significant"]   # ... of judgment holes
    changed = c.condensed[c.condensed.changed]
    assert sorted(zip(changed.system, changed.lang)) == [("reranker", "avg"), ("reranker", "de"), ("reranker", "en")]
    assert set(changed.verdict) == {"worse †"} and set(changed.verdict_condensed) == {"n.s."}
    worse = c.condensed[c.condensed.system == "worse"]
    assert len(worse) == 3 and not worse.changed.any()   # loses under both: no flag
    md = render_markdown(c, "t")
    block = md.split("## Standard vs condensed: verdicts that change", 1)[1].split("\n## ", 1)[0]
    assert block.count("| reranker |") == 3 and "| worse |" not in block


def test_settings_that_differ_and_titles_for_a_first_stage_sweep():
    def config(mode: str, label: str) -> dict:
        return {"run": {"name": f"{label}-none"}, "report": {"formats": ["md"]},
                "candidates": {"name": "bm25", "label": label, "depth": 100, "bm25": {"mode": mode, "k1": 0.9}},
                "reranker": {"name": "none", "model": None}}

    settings = [run_settings(config("language", "bm25"), {"candidates": "bm25", "reranker": "none"}),
                run_settings(config("anserini", "bm25_anserini"), {"candidates": "bm25_anserini", "reranker": "none"})]
    assert differing_settings(settings) == (["candidates"], ["candidates.bm25.mode"])
    dirs = [Path("0-bm25-none"), Path("1-bm25_anserini-none")]
    assert system_titles(settings, ["bm25-none", "bm25_anserini-none"], dirs) == ["bm25", "bm25_anserini"]


def test_titles_name_a_setting_that_varies_within_one_choice():
    def settings(reranker: str, max_length: int, model: str) -> dict:
        return run_settings({"reranker": {"name": reranker, "max_length": max_length, "model": model}},
                            {"reranker": reranker})

    grid = [settings("gte", 512, "/m/gte"), settings("gte", 8192, "/m/gte"), settings("bge_m3", 512, "/m/bge"),
            settings("bge_m3", 8192, "/m/bge")]
    titled, implied = differing_settings(grid)
    assert (titled, implied) == (["reranker", "reranker.max_length"], ["reranker.name", "reranker.model"])
    titles = system_titles(grid, ["a"] * 4, [Path(f"{i}-a") for i in range(4)])
    assert titles == ["gte max_length=512", "gte max_length=8192", "bge_m3 max_length=512", "bge_m3 max_length=8192"]
    same = [settings("gte", 512, "/m/gte")] * 2   # nothing differs: the run name, then the directory
    assert system_titles(same, ["a", "b"], [Path("x"), Path("y")]) == ["a", "b"]
    assert system_titles(same, ["a", "a"], [Path("x"), Path("y")]) == ["a [x]", "a [y]"]


def test_protocol_rows_are_readable():
    shown = readable_protocol({"missing_docs": {}, "doc_sep": " ", "max_length": None, "depth": 100}, "error")
    assert shown == {"missing_docs": "error", "doc_sep": '" " (space)', "depth": 100}
    assert readable_protocol({"missing_docs": {"en": 3}, "doc_sep": "\n"}, "warn") == \
        {"missing_docs": "warn: en 3", "doc_sep": '"\\n" (newline)'}
    assert json.loads(readable_protocol({"doc_sep": " | "})["doc_sep"]) == " | "


def test_a_run_without_a_manifest_protocol_is_not_waved_through():
    x = {"en": np.linspace(0, 1, 6)}
    with pytest.raises(EvalkitError, match="cannot check the protocol of run-old: no manifest.json protocol"):
        build_comparison([_system("new", x, fields=BASE), _system("old", x)], "new", n_resamples=50)
