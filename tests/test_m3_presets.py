"""The BGE-M3 mode presets: each composes and lists its mode's published rows; the five modes run from the
preset on a MIRACL-layout fixture through the CLI, each report beside its published row."""
from __future__ import annotations

import pytest

from cli_runner import evalkit
from evalkit.data.trec import read_run
from tests.conftest import write_miracl_layout
from tests.test_m3_candidates import DATA
from tests.test_presets import LANGUAGES, _comparison, composed, fake_run
from evalkit.testing import make_tiny_m3

T = "bge_m3_miracl_dev_ndcg10"
EXPECTED = {  # overrides -> (benchmark, mode, weights, {(stage, metric): refs})
    ("experiment=bge_m3_modes",): ("miracl", "dense", [1.0, 0.3, 1.0], {
        ("first_stage", "ndcg@10"): [f"{T}:dense", f"{T}_pdf:dense"]}),
    ("experiment=bge_m3_modes", "candidates=m3_sparse"): ("miracl", "sparse", [1.0, 0.3, 1.0], {
        ("first_stage", "ndcg@10"): [f"{T}:sparse"]}),
    ("experiment=bge_m3_modes", "candidates=m3_multi_vec"): ("miracl", "multi_vec", [1.0, 0.3, 1.0], {
        ("first_stage", "ndcg@10"): [f"{T}:multi_vec"]}),
    ("experiment=bge_m3_modes", "candidates=m3_dense_sparse"): ("miracl", "dense_sparse", [1.0, 0.3, 1.0], {
        ("first_stage", "ndcg@10"): [f"{T}:dense_sparse", f"{T}_pdf:dense_sparse"]}),
    ("experiment=bge_m3_modes", "candidates=m3_all"): ("miracl", "all", [1.0, 0.3, 1.0], {
        ("first_stage", "ndcg@10"): [f"{T}:all", f"{T}_pdf:all"]}),
    ("experiment=bge_m3_modes/mldr", "candidates=m3_sparse"): ("mldr", "sparse", [1.0, 0.3, 1.0], {
        ("first_stage", "ndcg@10"): ["bge_m3_mldr_test_ndcg10:sparse"]}),
    ("experiment=bge_m3_modes/mldr", "candidates=m3_dense_sparse_mldr"): ("mldr", "dense_sparse", [0.2, 0.8, 0.0], {
        ("first_stage", "ndcg@10"): ["bge_m3_mldr_test_ndcg10:dense_sparse"]}),
    ("experiment=bge_m3_modes/mldr", "candidates=m3_all_mldr"): ("mldr", "all", [0.15, 0.5, 0.35], {
        ("first_stage", "ndcg@10"): ["bge_m3_mldr_test_ndcg10:all"]}),
    ("experiment=bge_m3_modes/mkqa", "candidates=m3_all"): ("mkqa", "all", [1.0, 0.3, 1.0], {
        ("first_stage", "answer_recall@20"): ["bge_m3_mkqa_recall:all"],
        ("first_stage", "answer_recall@100"): ["bge_m3_mkqa_recall:all"]}),
}


@pytest.mark.parametrize("overrides", list(EXPECTED), ids=lambda o: " ".join(o))
def test_mode_preset_lists_its_published_row(overrides):
    benchmark, mode, weights, expected = EXPECTED[overrides]
    cfg = composed(overrides)
    assert cfg.benchmark.name == benchmark and cfg.candidates.name == "m3" and cfg.reranker.name == "none"
    m3 = cfg.candidates.m3
    assert (m3.mode, list(m3.weights), m3.max_length, m3.fusion_depth, m3.rerank_depth) == (mode, weights, 8192,
                                                                                            1000, 200)
    published = _comparison(cfg, fake_run(cfg, LANGUAGES[benchmark])).published
    got = {key: sorted(set(part.ref)) for key, part in published.groupby(["system", "metric"])}
    assert got == {key: sorted(refs) for key, refs in expected.items()}
    assert (published.note == "").all()


@pytest.mark.slow
def test_five_modes_run_from_the_preset_beside_their_published_rows(tmp_path):
    fixture = write_miracl_layout(tmp_path / "miracl", DATA)
    model = make_tiny_m3(tmp_path / "tiny-bge-m3", seed=5)
    modes = ["dense", "sparse", "multi_vec", "dense_sparse", "all"]
    proc = evalkit("--multirun", "experiment=bge_m3_modes", "candidates=" + ",".join(f"m3_{m}" for m in modes),
                   f"candidates.m3.model={model}", f"benchmark.source={fixture}", "benchmark.languages=[en,zh]",
                   "candidates.m3.max_length=512", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path,
                   env={"EVALKIT_CACHE": tmp_path / "cache"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    published = {"dense": 69.2, "sparse": 53.9, "multi_vec": 70.5, "dense_sparse": 70.4, "all": 71.5}
    runs = {}
    for k, mode in enumerate(modes):
        out = tmp_path / "sweep" / f"{k}-bge_m3_{mode}"
        report = (out / "report.md").read_text()
        row = next(line for line in report.splitlines() if f"| {T}:{mode} |" in line and "| avg |" in line)
        assert f"| {published[mode]:.2f} |" in row and "ours over 2 languages, published over 18" in row
        assert "| m3_model |" in report or "m3_model" in report
        runs[mode] = read_run(out / "runs" / "first_stage.en.trec")
    assert len({str(sorted((q, tuple(d)) for q, d in r.items())) for r in runs.values()}) > 1   # modes differ
    compare = (tmp_path / "sweep" / "compare.md").read_text()
    header = compare.split("## Settings that differ", 1)[1].split("\n## ", 1)[0]   # titled by what differs
    assert next(line for line in header.splitlines() if line.startswith("| candidates |")) == \
        "| candidates | " + " | ".join(f"m3_{m}" for m in modes) + " |"
