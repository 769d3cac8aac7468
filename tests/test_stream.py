"""The streamed rerank stage against the engine it replaced, through the real CLI on the bundled sample.

The reference (tests/old_engine.py) is the pre-streaming engine kept verbatim in spirit: all pairs of the run
gathered, tokenized in bulk, sorted and padded row by row. A run that fits one window gives the same bytes (the
sample's 66,644 pairs at max_length 512 are ~5.2M tokens: one window of reranker.window_tokens=100M); the default
windows (2M tokens) and small ones batch pairs differently, so their scores agree within the engine's 1e-5 and
their metrics are equal. A run killed mid-window resumes from the pair cache without scoring any pair twice.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from torch.nn.attention import SDPBackend, sdpa_kernel

from cli_runner import evalkit_popen
from evalkit.cli import CONFIG_DIR
from evalkit.app.schema import register
from evalkit.data import load_benchmark
from evalkit.data.trec import format_run, read_run
from evalkit.rerank.cache import PairCache
from evalkit.models.loading import load_cross_encoder
from old_engine import old_scores

pytestmark = pytest.mark.slow   # every test reads `runs` (three CLI runs over the sample's 66,644 pairs): minutes

MAX_LENGTH = 512   # the sample's documents run to 8,192 tokens; 512 keeps the tiny model's runs short
COMMON = ["benchmark=sample", "candidates=bm25", "reranker=gte", f"reranker.max_length={MAX_LENGTH}",
          "reranker.batch_tokens=4096"]
SLOW_CLI = """
import sys, time
from evalkit.rerank import engine
forward = engine.CrossEncoder._forward
def slow(self, ids, mask):
    time.sleep(0.3)   # slow enough to be killed part-way through a window
    return forward(self, ids, mask)
engine.CrossEncoder._forward = slow
sys.argv = ["evalkit", *sys.argv[1:]]
from evalkit.cli import entry
entry()
"""


@pytest.fixture(scope="module")
def model(tiny_gte) -> Path:
    return tiny_gte


def cli(out: Path, cache: Path, *overrides: str, script: str | None = None) -> subprocess.Popen:
    """The CLI in a child process; its output goes to `<out>.log` (a file: no child waits on an undrained pipe)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = evalkit_popen(*COMMON, f"hydra.run.dir={out}", *overrides, log=log_of(out), script=script,
                         env={"EVALKIT_CACHE": cache, "EVALKIT_PROGRESS_SECONDS": "1"})
    proc.out = out
    return proc


def log_of(out: Path) -> Path:
    return out.with_name(f"{out.name}.log")


def finish(proc: subprocess.Popen) -> None:
    proc.wait(timeout=900)
    assert proc.returncode == 0, log_of(proc.out).read_text()[-3000:]


def reranker_stats(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["environment"]["reranker_stats"]


def systems(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())["systems"]


@pytest.fixture(scope="module")
def runs(model, tmp_path_factory) -> dict[str, Path]:
    """One window, the default windows and windows of 20,000 tokens (a window closes at a query boundary)."""
    tmp = tmp_path_factory.mktemp("runs")
    procs = {name: cli(tmp / name, tmp / f"cache-{name}", f"reranker.model={model}", "reranker.cache=false", *extra)
             for name, extra in [("one", ["reranker.window_tokens=100000000"]), ("default", []),
                                 ("many", ["reranker.window_tokens=20000"])]}
    for proc in procs.values():
        finish(proc)
    return {name: tmp / name for name in procs}


def reference_runs(model: Path) -> dict[str, str]:
    """reranked.<lang>.trec text from the old engine over the same first stage, pairs in the old pipeline's order."""
    from evalkit.pipeline import candidates_for

    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=COMMON)
    benchmark = load_benchmark(cfg.benchmark)
    candidates, _ = candidates_for(benchmark, cfg)
    loaded = load_cross_encoder(str(model))
    keys, pairs = [], []
    for lang, run in candidates.items():
        for qid, docs in run.items():
            for doc in benchmark.stores[lang].get(list(docs)):
                keys.append((lang, qid, doc.docid))
                pairs.append((benchmark.queries[lang][qid], doc.full_text(cfg.benchmark.doc_sep)))
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
        scores = old_scores(loaded.model, loaded.tokenizer, pairs, MAX_LENGTH, batch_tokens=4096)
    reranked: dict[str, dict] = {lang: {qid: {} for qid in run} for lang, run in candidates.items()}
    for (lang, qid, docid), score in zip(keys, scores):
        reranked[lang][qid][docid] = float(score)
    return {lang: format_run(run, "gte", list(benchmark.queries[lang])) for lang, run in reranked.items()}


def test_one_window_run_files_are_the_old_engines_bytes(model, runs):
    expected = reference_runs(model)
    assert len(expected) == 10
    for lang, text in expected.items():
        assert (runs["one"] / "runs" / f"reranked.{lang}.trec").read_text(encoding="utf-8") == text, lang
    assert reranker_stats(runs["one"])["windows"] == 1


@pytest.mark.parametrize("name, windows", [("default", 2), ("many", 100)])
def test_more_windows_agree_within_1e5_and_give_equal_metrics(runs, name, windows):
    stats = reranker_stats(runs[name])
    assert stats["windows"] >= windows and stats["scored"] == reranker_stats(runs["one"])["scored"]
    for path in sorted((runs["one"] / "runs").glob("reranked.*.trec")):
        one, other = read_run(path), read_run(runs[name] / "runs" / path.name)
        assert one.keys() == other.keys()
        for qid in one:
            assert one[qid].keys() == other[qid].keys()
            np.testing.assert_allclose([other[qid][d] for d in one[qid]], list(one[qid].values()), atol=1e-5, rtol=0)
    assert systems(runs[name]) == systems(runs["one"])


def test_progress_lines_count_the_runs_pairs_not_a_windows(runs):
    """Over 100 windows, one progress line every second off a terminal, each against the run's total."""
    total = reranker_stats(runs["many"])["pairs_requested"]
    lines = [line.split(" - ", 1)[1] for line in log_of(runs["many"]).read_text().splitlines()
             if "evalkit.progress" in line and " - rerank: " in line]
    assert lines and all(f"/{total:,} pairs (" in line for line in lines), lines[:3]
    done = [int(line.split()[1].split("/")[0].replace(",", "")) for line in lines]
    assert done == sorted(done) and done[-1] <= total


def cached_rows(db: Path) -> int:
    if not db.exists():
        return 0
    with PairCache(db) as cache:
        return cache.stats()["rows"]


def test_sigkill_mid_window_then_rerun_scores_each_pair_once(model, runs, tmp_path):
    db = tmp_path / "pairs.sqlite"
    # windows of ~1,000 pairs (~60 tokens each, 0.3 s a batch); killed once 150 rows are cached: inside the first
    overrides = [f"reranker.model={model}", f"reranker.cache_path={db}", "reranker.window_tokens=60000"]
    child = cli(tmp_path / "killed", tmp_path / "cache", *overrides, script=SLOW_CLI)
    deadline = time.monotonic() + 600
    while cached_rows(db) < 150 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, log_of(child.out).read_text()[-3000:]
    kept = cached_rows(db)
    total = reranker_stats(runs["one"])["scored"]
    assert 150 <= kept < total
    finish(cli(tmp_path / "resumed", tmp_path / "cache", *overrides))
    stats = reranker_stats(tmp_path / "resumed")
    assert stats["cache_hits"] == kept and stats["scored"] == total - kept
    assert cached_rows(db) == total
    assert systems(tmp_path / "resumed") == systems(runs["one"])
