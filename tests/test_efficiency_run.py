"""metrics.json's `efficiency` on real CLI runs (a tiny GTE, a tiny Qwen3, reranker=none), checked against counts
made here from the run files, the tokenizer and the config; the setup caveat and the Pareto marks of the
quality-versus-cost view on hand-made systems."""
from __future__ import annotations

import json
import resource
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cli_runner import evalkit
from conftest import write_miracl_layout
from test_compare import fixture_data

DATA = {"en": fixture_data("en", 12, set(range(1, 12, 2))), "de": fixture_data("de", 12, {1, 3})}


@pytest.fixture(scope="module")
def runs(tiny_gte, tmp_path_factory):
    root = tmp_path_factory.mktemp("efficiency")
    data = write_miracl_layout(root / "data", DATA)
    env = {"EVALKIT_CACHE": root / "cache"}
    common = ["benchmark=sample", f"benchmark.source={data}", "reranker.device=cpu", "report.formats=[md,html]"]
    out = {}
    for name, extra in [("gte", ["reranker=gte", f"reranker.model={tiny_gte}", "reranker.max_length=512"]),
                        ("gte-cached", ["reranker=gte", f"reranker.model={tiny_gte}", "reranker.max_length=512"]),
                        ("none", ["reranker=none"])]:
        out[name] = root / name
        evalkit(*common, *extra, f"hydra.run.dir={out[name]}", env=env, check=True, cwd=root)
    return out


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text(encoding="utf-8"))


def _pairs(run: Path) -> list[tuple[str, str]]:
    """(query text, document text) of every reranked candidate, from the run files and the fixture's own texts."""
    pairs = []
    for lang, d in DATA.items():
        docs = {docid: f"{title} {text}" if title else text for docid, title, text in d["docs"]}
        for line in (run / "runs" / f"reranked.{lang}.trec").read_text(encoding="utf-8").splitlines():
            qid, _, docid, *_ = line.split()
            pairs.append((d["topics"][qid], docs[docid]))
    return pairs


def test_gte_run_efficiency_against_independent_counts(runs, tiny_gte):
    from transformers import AutoTokenizer

    eff = _metrics(runs["gte"])["efficiency"]
    pairs = _pairs(runs["gte"])
    assert eff["pairs_requested"] == eff["pairs_scored"] == len(set(pairs)) == len(pairs) and eff["cache_hits"] == 0
    tokenizer = AutoTokenizer.from_pretrained(tiny_gte)
    # the long documents are cut to reranker.max_length=512 (the query, 4 tokens, never is)
    tokens = sum(min(len(tokenizer(q, d)["input_ids"]), 512) for q, d in pairs)
    assert eff["tokens"] == tokens
    assert eff["mean_tokens_per_pair"] == pytest.approx(tokens / len(pairs), abs=0.01)
    n = tokens / len(pairs)
    config = json.loads((tiny_gte / "config.json").read_text())
    d, L, inter = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    per_layer = 4 * d * d + 3 * d * inter   # gated (GeGLU) MLP: gate, up, down
    assert eff["flops_per_pair"] == pytest.approx(2 * L * per_layer * n + 4 * L * d * n * n, abs=1)
    assert eff["pairs_per_s"] == pytest.approx(len(pairs) / eff["stage_seconds"], rel=1e-3)
    assert eff["tokens_per_s"] == pytest.approx(tokens / eff["stage_seconds"], rel=1e-3)
    assert 0 < eff["padding_efficiency"] <= 1 and eff["padded_tokens"] >= tokens
    assert 0 < eff["p50_ms"] <= eff["p95_ms"] and "cache bypassed" in eff["latency_measure"]
    assert eff["ms_per_query"] == pytest.approx(1000 * eff["stage_seconds"] / eff["queries"], rel=1e-2)
    assert eff["device"] == "cpu" and eff["dtype"] == "fp32" and eff["torch_threads"] >= 1
    assert eff["memory_measure"].startswith("process peak RSS")
    # this (test) process's peak is no bound on the CLI's, but a real process of torch + a model exceeds 50 MiB
    assert 50 < eff["peak_memory_mib"] < 64 * 1024 and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
    report = (runs["gte"] / "report.md").read_text(encoding="utf-8")
    assert "## Efficiency (rerank stage)" in report and "cpu" in report.split("## Efficiency", 1)[1]
    assert "Efficiency (rerank stage)" in (runs["gte"] / "report.html").read_text(encoding="utf-8")


def test_cached_run_has_no_speed_but_a_latency(runs):
    first, eff = _metrics(runs["gte"])["efficiency"], _metrics(runs["gte-cached"])["efficiency"]
    assert eff["pairs_scored"] == 0 and eff["cache_hits"] == first["pairs_requested"]
    assert eff["pairs_per_s"] is None and eff["tokens_per_s"] is None and eff["ms_per_query"] is None
    assert "pair cache" in eff["speed_note"]
    assert eff["p50_ms"] > 0   # the probe bypasses the cache
    assert eff["mean_tokens_per_pair"] > 0 and "probe" in eff["flops_note"]


def test_none_run_has_no_efficiency_and_says_so(runs):
    assert "efficiency" not in _metrics(runs["none"])
    report = (runs["none"] / "report.md").read_text(encoding="utf-8")
    assert "reranker=none: no rerank stage, so no efficiency figures" in report


def test_qwen3_run_has_decoder_flops(tmp_path):
    from evalkit.testing import make_tiny_causal_lm

    model = make_tiny_causal_lm(tmp_path / "tiny-qwen3")
    data = write_miracl_layout(tmp_path / "data", {"en": fixture_data("en", 6, {1, 3})})
    run = tmp_path / "run"
    evalkit("benchmark=sample", f"benchmark.source={data}", "reranker=qwen3", f"reranker.model={model}",
            "reranker.device=cpu", f"hydra.run.dir={run}", env={"EVALKIT_CACHE": tmp_path / "cache"}, check=True,
            cwd=tmp_path)
    eff = _metrics(run)["efficiency"]
    c = json.loads((model / "config.json").read_text())
    d, L, H, kv, hd = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"], \
        c["head_dim"]
    n = eff["tokens"] / eff["pairs_scored"]
    per_layer = 2 * d * H * hd + 2 * d * kv * hd + 3 * d * c["intermediate_size"]
    expected = 2 * L * per_layer * n + 2 * L * H * hd * n * (n + 1) + 2 * d * c["vocab_size"]
    assert eff["flops_per_pair"] == pytest.approx(expected, abs=1)
    assert eff["flops_note"].startswith("decoder") and eff["pairs_per_s"] > 0 and eff["p50_ms"] > 0


def _system(name: str, device: str, dtype: str, speed: float | None):
    from evalkit.report.comparison import System

    empty = pd.DataFrame(columns=["lang", "qid", "bucket", "metric", "value"])
    eff = {} if speed is None else {"pairs_per_s": speed, "ms_per_query": 1000 / speed, "p50_ms": 1.0,
                                     "p95_ms": 2.0, "flops_per_pair": 3e10, "device": device,
                                     "device_name": "card" if device != "cpu" else "cpu model", "dtype": dtype,
                                     "torch_threads": 2, "speed_note": "rates"}
    return System(name, empty, empty, empty, {}, name, efficiency=eff)


def _cis(quality: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame([dict(system=s, metric="ndcg@10", lang=lang, mean=v)
                         for s, langs in quality.items() for lang, v in langs.items()])


def test_cost_view_front_and_device_caveat():
    from evalkit.report.comparison import cost_view
    from evalkit.report.plots import quality_cost
    from evalkit.report.tables import cost_section

    systems = [_system("gte", "cpu", "fp32", 100.0), _system("qwen3", "cuda:0", "bf16", 50.0),
               _system("slow", "cpu", "fp32", 40.0), _system("none", "", "", None)]
    cis = _cis({"gte": {"en": 0.6, "de": 0.5, "avg": 0.55}, "qwen3": {"en": 0.7, "de": 0.7, "avg": 0.7},
                "slow": {"en": 0.5, "de": 0.5, "avg": 0.5}, "none": {"en": 0.3, "de": 0.3, "avg": 0.3}})
    cost = cost_view(systems, cis, ["ndcg@10"])
    macro = cost.points[cost.points.lang == "avg"].set_index("system")
    assert macro.front.to_dict() == {"gte": True, "qwen3": True, "slow": False}   # slow: slower and worse than gte
    assert cost.unmeasured == {"none": "no rerank stage (reranker=none)"}
    assert "gte: cpu (cpu model) fp32 2 threads" in cost.caveat and "qwen3: cuda:0 (card) bf16 2 threads" in cost.caveat
    c = SimpleNamespace(cost=cost, languages=["de", "en"], protocol={}, systems=[s.name for s in systems],
                        keys={}, banner="")
    section = cost_section(c)
    assert section.note.startswith("TIMINGS FROM DIFFERENT SETUPS")
    rows = {r[0]: r for r in section.rows}
    assert rows["gte"][1] == "◆" and rows["slow"][1] == "" and rows["qwen3"][2:5] == ["70.00", "70.00", "70.00"]
    png = quality_cost(c).png
    import matplotlib.image
    import io

    image = matplotlib.image.imread(io.BytesIO(png))
    top = image[: image.shape[0] // 12, :, :3]   # the caveat is the red super-title
    assert ((top[..., 0] > 0.45) & (top[..., 1] < 0.2) & (top[..., 2] < 0.2)).any()

    same = cost_view([_system("gte", "cpu", "fp32", 100.0), _system("slow", "cpu", "fp32", 40.0)], cis, ["ndcg@10"])
    assert same.caveat == ""
    assert cost_section(SimpleNamespace(**{**vars(c), "cost": same})).note.startswith("ndcg@10")
    assert not np.isnan(same.points.quality).any()
