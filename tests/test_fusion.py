"""Fusion (candidates=hybrid) against hand computation."""
import pytest

from evalkit.candidates.fusion import fuse_runs, hybrid_candidates
from evalkit.config import CandidatesConfig, HybridConfig
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
    import evalkit.candidates as stages

    bench = Benchmark(name="t", queries={"en": {"q1": "x", "q2": "y", "q3": "z"}}, qrels={"en": {}}, stores={})
    seen = []

    def fake(run):
        def stage(benchmark, cfg, executor=None):
            seen.append(cfg.depth)
            return {"en": run}
        return stage

    monkeypatch.setitem(stages.STAGES, "bm25", fake(A))
    monkeypatch.setitem(stages.STAGES, "runfile", fake(B))
    cfg = CandidatesConfig(name="hybrid", depth=2, hybrid=HybridConfig(systems=["bm25", "runfile"], depth=7))
    runs = hybrid_candidates(bench, cfg)
    assert seen == [7, 7]
    # q1: d1 and d2 tie at 1/61 + 1/63: canonical order puts d2 first; cut to 2
    assert list(runs["en"]["q1"]) == ["d2", "d1"]
    with pytest.raises(EvalkitError, match="name two or more of bm25, lucene, dense, runfile"):
        hybrid_candidates(bench, CandidatesConfig(name="hybrid", hybrid=HybridConfig(systems=["bm25", "hybrid"])))
