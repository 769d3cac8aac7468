"""scripts/bench_encoder_vs_decoder.py: the shapes' parameter counts against the published ones, and the script's
dry run (tiny shapes, padded and packed with the guard forced) end to end; the GPU script's part under --dry-run."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts")]

import bench_encoder_vs_decoder as bench  # noqa: E402

SHAPES = {s.name: s for s in bench.SHAPES}


def test_matmul_params_and_flops_match_published_counts():
    gte = SHAPES["gte-multilingual-reranker-base"]
    # hand-worked: 12 x (4 x 768^2 + 3 x 768 x 3072); the encoder GPU bench's own formula 226.5M n + 36,864 n^2
    assert gte.matmul_params() == 12 * (4 * 768 ** 2 + 3 * 768 * 3072) == 113_246_208
    assert gte.flops(np.array([300]))[0] == pytest.approx(226.49e6 * 300 + 36864 * 300 ** 2, rel=1e-4)
    # non-embedding parameters published in the Qwen2 / Qwen3 technical reports: 1.31B, 0.44B
    assert SHAPES["Qwen2-1.5B (gte-Qwen2-1.5B shape)"].matmul_params() / 1e9 == pytest.approx(1.31, abs=0.005)
    assert SHAPES["Qwen3-Reranker-0.6B"].matmul_params() / 1e9 == pytest.approx(0.44, abs=0.005)
    # totals on the model cards (matmul weights + embedding tables; norms and biases are < 0.5%)
    totals = {"gte-multilingual-reranker-base": 306e6, "bge-reranker-v2-m3": 568e6, "Qwen3-Reranker-0.6B": 0.6e9,
              "bge-reranker-v2-gemma": 2.51e9}
    for name, total in totals.items():
        s = SHAPES[name]
        positions = 8194 * s.hidden if s.cls.startswith("XLM") else 0
        assert (s.matmul_params() + s.vocab * s.hidden + positions) / total == pytest.approx(1, abs=0.01), name
    gemma = SHAPES["bge-reranker-v2-gemma"]        # causal attention: half the n^2 term; the head at one position
    n = 1000.0
    assert gemma.flops(np.array([n]))[0] == 2 * gemma.matmul_params() * n + 2 * 18 * 8 * 256 * n ** 2 + 2 * 2048 * 256000


@pytest.mark.parametrize("packed", [False, True])
def test_the_dry_run_scores_every_system_on_both_mixes(tmp_path, monkeypatch, packed):
    monkeypatch.setenv("EVALKIT_PACKED_GUARD", "1")
    stem = bench.main(["--dry-run", "--out", str(tmp_path), *(["--packed"] if packed else [])])
    rows = json.loads(stem.with_suffix(".json").read_text())["rows"]
    assert len(rows) == 2 * len(bench.SHAPES) and all(r["finite"] for r in rows)
    assert {r["system"] for r in rows} == set(SHAPES) and len({r["mix"] for r in rows}) == 2
    for r in rows:
        gte = next(g for g in rows if g["mix"] == r["mix"] and g["system"] == "gte-multilingual-reranker-base")
        assert r["GTE x faster"] == pytest.approx(gte["pairs/s"] / r["pairs/s"])
        assert r["mean tokens"] > (gte["mean tokens"] if r["kind"] == "decoder" else 0)   # + the prompt template
    if packed:                                # the guard checked each model's first packed batch: all agree
        assert [r["packed guard"] for r in rows] == ["packed"] * len(rows)
    assert "| bge-reranker-v2-gemma |" in stem.with_suffix(".md").read_text()


def test_the_gpu_script_runs_the_encoder_vs_decoder_part_under_dry_run(tmp_path, monkeypatch):
    import gpu_bench_rerank

    monkeypatch.setattr(sys, "argv", ["gpu_bench_rerank.py", "--dry-run", "--skip-encoder-bench", "--out",
                                      str(tmp_path)])
    gpu_bench_rerank.main()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert sum(n.startswith("encoder-vs-decoder-cpu-") and n.endswith(".json") for n in names) == 3, names
    tolerance = json.loads(next(tmp_path.glob("guard-tolerance-*.json")).read_text())
    assert tolerance["gte real size (CrossEncoder)"]["fp16"]["max |packed - padded|"] >= 0
    packed = [json.loads(p.read_text()) for p in tmp_path.glob("encoder-vs-decoder-*-packed-*.json")]
    assert {r["packed guard"] for run in packed for r in run["rows"]} == {"packed"}
