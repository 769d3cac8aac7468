"""Fusion (candidates=hybrid) against hand computation."""
import json

import pytest
from cli_runner import evalkit

from evalkit.candidates.hybrid import fuse_runs, hybrid_candidates
from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.hybrid import HybridConfig
from evalkit.contracts import Benchmark
from evalkit.errors import EvalkitError

A = {"q1": {"d1": 3.0, "d2": 1.0, "d3": 1.0}, "q2": {"d1": 2.0}}
B = {"q1": {"d2": 5.0, "d4": 4.0, "d1": 0.0}, "q3": {"x": 1.0}}


def test_rrf_uses_canonical_ranks_for_ties():
    fused = fuse_runs([A, B], "rrf", rrf_k=60)
    # A ranks d1, d3, d2 (tie 1.0: docid descending); B ranks d2, d4, d1
    assert fused["q1"] == pytest.approx({"d1": 1 / 61 + 1 / 63, "d2": 1 / 63 + 1 / 61, "d3": 1 / 62, "d4": 1 / 62})
    assert fused["q2"] == pytest.approx({"d1": 1 / 61})          # only in A
    assert fused["q3"] == pytest.approx({"x": 1 / 61})           # only in B


def test_wsum_with_min_max_normalisation():
    fused = fuse_runs([A, B], "wsum", weights=[1.0, 0.3], norm="min-max")
    # A: (s - 1) / (3 - 1) -> d1 1, d2 0, d3 0;  B: s / 5 -> d2 1, d4 0.8, d1 0
    assert fused["q1"] == pytest.approx({"d1": 1.0, "d2": 0.3, "d3": 0.0, "d4": 0.24})
    assert fused["q2"] == pytest.approx({"d1": 0.0})            # one score: max == min -> 0 (ranx)


def test_bad_settings_fail_naming_the_key():
    with pytest.raises(EvalkitError, match="candidates.hybrid.method='max'"):
        fuse_runs([A, B], "max")
    with pytest.raises(EvalkitError, match="candidates.hybrid.weights: 1 weights for 2 systems"):
        fuse_runs([A, B], "wsum", weights=[1.0])


def test_hybrid_fuses_the_configured_systems_and_cuts_to_depth(tmp_path, monkeypatch):
    import dataclasses

    from evalkit.candidates import FIRST_STAGES

    bench = Benchmark(name="t", queries={"en": {"q1": "x", "q2": "y", "q3": "z"}}, qrels={"en": {}}, stores={})
    seen = []

    def fake(run):
        def stage(benchmark, cfg, executor=None):
            seen.append(cfg.depth)
            return {"en": run}
        return stage

    for name, run in (("bm25", A), ("runfile", B)):   # the registered entries, their builders replaced
        monkeypatch.setitem(FIRST_STAGES._entries, name, dataclasses.replace(FIRST_STAGES[name], build=fake(run)))
    cfg = CandidatesConfig(name="hybrid", depth=2, hybrid=HybridConfig(systems=["bm25", "runfile"], depth=7))
    runs = hybrid_candidates(bench, cfg)
    assert seen == [7, 7]
    # q1: d1 and d2 tie at 1/61 + 1/63: canonical order puts d2 first; cut to 2
    assert list(runs["en"]["q1"]) == ["d2", "d1"]
    with pytest.raises(EvalkitError, match="'hybrid' is not allowed: choose one of bm25, dense, lucene, m3, mgte, runfile"):
        hybrid_candidates(bench, CandidatesConfig(name="hybrid", hybrid=HybridConfig(systems=["bm25", "hybrid"])))


def test_cli_hybrid_systems_are_exactly_the_registered_stages_but_hybrid(capsys, tmp_path):
    """The drift this replaces: validation allowed only bm25|dense while fusion took any stage."""
    from evalkit import cli
    from evalkit.candidates import FIRST_STAGES

    allowed = [name for name in FIRST_STAGES.names() if name != "hybrid"]
    assert {"bm25", "dense", "lucene", "m3", "runfile"} <= set(allowed)
    (tmp_path / "run.en.trec").write_text("")
    needs = {"runfile": [f"candidates.path={tmp_path}"], "dense": [f"candidates.dense.model={tmp_path}"]}
    for other in allowed:
        if other != "bm25":
            cli.preflight(["reranker=none", "candidates=hybrid", f"candidates.hybrid.systems=[bm25,{other}]",
                           *needs.get(other, [])])
    with pytest.raises(SystemExit) as stop:
        cli.preflight(["reranker=none", "candidates=hybrid", "candidates.hybrid.systems=[bm25,hybrid]"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"choose one of {', '.join(allowed)}" in err, err


def test_cli_runs_a_bm25_runfile_hybrid_the_old_validation_refused(tmp_path):
    first = evalkit("reranker=none", f"hydra.run.dir={tmp_path}/bm25", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    fused = evalkit("reranker=none", "candidates=hybrid", "candidates.hybrid.systems=[bm25,runfile]",
                    f"candidates.path={tmp_path}/bm25/runs", "candidates.hybrid.depth=100",
                    f"hydra.run.dir={tmp_path}/hybrid", cwd=tmp_path)
    assert fused.returncode == 0, fused.stderr
    manifest = json.loads((tmp_path / "hybrid" / "manifest.json").read_text())["protocol"]
    assert manifest["candidates.hybrid.systems"] == ["bm25", "runfile"] and "candidates.bm25.k1" in manifest
    assert not any(k.startswith(("candidates.dense.", "candidates.m3.")) for k in manifest)
