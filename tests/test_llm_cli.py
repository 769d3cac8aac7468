"""Decoder-only rerankers through the real CLI on the bundled sample (English, max_length 256): the presets
run end to end, record their prompt next to the numbers, and a run killed mid-window resumes from the pair cache
without scoring a pair twice (the same counts and the same reranked runs as an uninterrupted one)."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from cli_runner import evalkit, evalkit_popen
from evalkit.rerank.cache import PairCache
from evalkit.testing import make_tiny_causal_lm

pytestmark = pytest.mark.slow
COMMON = ["benchmark=sample", "benchmark.languages=[en]", "reranker.max_length=256", "reranker.batch_tokens=4096"]
SLOW_CLI = """
import sys, time
from evalkit.rerank import decoder
forward = decoder.DecoderReranker._forward
def slow(self, ids, mask):
    time.sleep(0.3)   # slow enough to be killed part-way through a window
    return forward(self, ids, mask)
decoder.DecoderReranker._forward = slow
sys.argv = ["evalkit", *sys.argv[1:]]
from evalkit.cli import entry
entry()
"""


@pytest.fixture(scope="module")
def qwen3(tmp_path_factory) -> Path:
    return make_tiny_causal_lm(tmp_path_factory.mktemp("llm-cli") / "tiny-qwen3", "qwen3", seed=3)


def manifest_stats(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["environment"]["reranker_stats"]


def reranked_runs(out: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((out / "runs").glob("reranked.*.trec"))}


@pytest.fixture(scope="module")
def clean(qwen3, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("llm-clean") / "run"
    evalkit(*COMMON, "reranker=qwen3", f"reranker.model={qwen3}", f"hydra.run.dir={out}",
            env={"EVALKIT_CACHE": out.parent / "cache"}, check=True)
    return out


def test_qwen3_runs_end_to_end_and_records_its_prompt(clean):
    metrics = json.loads((clean / "metrics.json").read_text())
    protocol = metrics["protocol"]
    assert protocol["reranker"] == "qwen3" and protocol["max_length"] == 256
    assert protocol["prompt_query"].startswith("<Instruct>: Given a web search query") and protocol["prompt_doc"] == " {doc}"
    assert protocol["answer_tokens"] == ["yes", "no"]
    report = (clean / "report.md").read_text(encoding="utf-8")
    assert "prompt_query" in report and "reranked" in report
    assert set(metrics["systems"]) == {"first_stage", "reranked", "ceiling"}
    stats = manifest_stats(clean)
    assert stats["scored"] == stats["unique_pairs"] > 1000 and stats["cache_hits"] == 0


def cached_rows(db: Path) -> int:
    if not db.exists():
        return 0
    with PairCache(db) as cache:
        return cache.stats()["rows"]


def test_sigkill_mid_window_then_rerun_scores_each_pair_once(qwen3, clean, tmp_path):
    db = tmp_path / "pairs.sqlite"
    args = [*COMMON, "reranker=qwen3", f"reranker.model={qwen3}", f"reranker.cache_path={db}",
            "reranker.window_tokens=60000"]
    killed = tmp_path / "killed"
    child = evalkit_popen(*args, f"hydra.run.dir={killed}", log=tmp_path / "killed.log", script=SLOW_CLI,
                          env={"EVALKIT_CACHE": tmp_path / "cache"})
    deadline = time.monotonic() + 600
    while cached_rows(db) < 100 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-3000:]
    kept, total = cached_rows(db), manifest_stats(clean)["scored"]
    assert 100 <= kept < total
    resumed = tmp_path / "resumed"
    evalkit(*args, f"hydra.run.dir={resumed}", env={"EVALKIT_CACHE": tmp_path / "cache"}, check=True)
    stats = manifest_stats(resumed)
    assert stats["cache_hits"] == kept and stats["scored"] == total - kept and cached_rows(db) == total
    assert json.loads((resumed / "metrics.json").read_text())["systems"] == \
        json.loads((clean / "metrics.json").read_text())["systems"]
