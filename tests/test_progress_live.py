"""Progress that moves while a step runs: time-driven lines and redraws, and the reranker counting pairs per scored
batch inside one window (issue 29: a one-window run sat at 0% until it ended)."""
from __future__ import annotations

import json
import logging
import re
import time

import numpy as np
import pytest

from cli_runner import evalkit
from evalkit import progress as progress_module
from evalkit.models.loading import load_cross_encoder
from evalkit.progress import Progress
from evalkit.rerank.cache import PairCache
from evalkit.rerank.engine import CrossEncoder, EngineSettings

LINE = re.compile(r"rerank: ([\d,]+)/([\d,]+) pairs")


def test_log_lines_keep_coming_while_no_update_arrives(caplog):
    """A step stuck in one long call still logs (count unchanged, elapsed growing); lines never come faster
    than the interval."""
    with caplog.at_level(logging.INFO, logger="evalkit.progress"):
        with Progress(10, "slow", "items", interval=0.1, tty=False) as bar:
            time.sleep(0.55)
            bar.update(4)
            time.sleep(0.35)
    lines = [r.getMessage() for r in caplog.records]
    stamps = [r.created for r in caplog.records]
    idle = [line for line in lines if line.startswith("slow: 0/10 items")]
    assert len(idle) >= 3, lines
    assert any(line.startswith("slow: 4/10 items") for line in lines), lines
    assert all(b - a >= 0.09 for a, b in zip(stamps, stamps[1:])), stamps


def test_a_terminal_bar_is_redrawn_without_updates(capsys, monkeypatch):
    monkeypatch.setattr(progress_module, "BAR_REFRESH", 0.05)
    with Progress(10, "drawn", "items", tty=True):
        time.sleep(0.6)
    err = capsys.readouterr().err
    # tqdm alone draws at start and at close; the ticker redraws about 12 times in 0.6 s
    assert err.count("drawn:") >= 6, err
    assert capsys.readouterr().out == ""


def test_a_terminal_without_a_size_still_gets_a_bar():
    """A pty opened without a size (`script`, some CI runners) reports 0 columns; tqdm alone draws an empty bar."""
    import os
    import pty
    import subprocess
    import sys

    from cli_runner import cli_env

    master, slave = pty.openpty()   # a fresh pty: 0 rows, 0 columns
    code = ("import time; from evalkit.progress import Progress\n"
            "with Progress(4, 'sized', 'items') as bar:\n    bar.update(2); time.sleep(0.3)")
    env = {k: v for k, v in cli_env().items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run([sys.executable, "-c", code], stderr=slave, stdout=subprocess.DEVNULL, env=env, timeout=60)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert proc.returncode == 0
    assert b"sized:  50%" in drawn and b"2/4" in drawn, drawn


def test_eta_weighs_items_by_their_declared_cost():
    """Hand-worked: 4 of 10 items declared at cost 90 (22.5 each), the first done cost 45 in 10 s. Left: 45 declared
    + 6 undeclared x 22.5 = 180 at 4.5/s = 40 s; counting items alone would say 9 items at 0.1/s = 90 s."""
    bar = Progress(10, "cost", "items", enabled=False)
    bar.start = 0.0
    bar.update(1)
    assert bar.eta(now=10.0) == "1m30s"
    bar.done = 0
    bar.expect(4, 90.0)
    bar.update(1, cost=45.0)
    assert bar.eta(now=10.0) == "40s"
    assert bar.line(now=10.0).endswith("ETA 40s")


class Recorder:
    """A Progress stand-in that remembers each update (and its cost) and what was declared."""

    def __init__(self):
        self.updates: list[int] = []
        self.costs: list[float] = []
        self.expected: list[tuple[int, float]] = []

    def update(self, n: int = 1, cost: float = 0.0) -> None:
        self.updates.append(n)
        self.costs.append(cost)

    def expect(self, n: int, cost: float) -> None:
        self.expected.append((n, cost))


@pytest.fixture(scope="module")
def loaded(tiny_gte):
    return load_cross_encoder(str(tiny_gte))


def test_one_window_counts_requested_pairs_batch_by_batch(loaded, tmp_path):
    rng = np.random.default_rng(0)
    words = "river stone capital quick sort music light evening garden table".split()
    docs = [" ".join(rng.choice(words, size=int(rng.integers(5, 60)))) for _ in range(300)]
    pairs = [("a query", d) for d in docs] + [("a query", docs[0])] * 5   # 5 repeats of the first pair
    cache = PairCache(tmp_path / "pairs.sqlite")
    settings = EngineSettings(max_length=64, batch_tokens=512)
    warm = CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, settings, cache=cache, progress=False)
    warm.score_stream([pairs[:40]]).__next__()               # the first 40 pairs are now in the cache
    enc = CrossEncoder(loaded.model, loaded.tokenizer, loaded.info, settings, cache=cache, progress=False)
    rec = Recorder()
    stream = enc.score_stream([pairs[k:k + 50] for k in range(0, len(pairs), 50)], progress=rec)
    first = next(stream)
    before_first_chunk = list(rec.updates)
    rest = list(stream)
    assert enc.stats.windows == 1 and len(first) == 50 and sum(map(len, rest)) == len(pairs) - 50
    # everything was counted while the window was scored, before its first chunk came out
    assert before_first_chunk == rec.updates
    # the window's 40 cached pairs when it starts, then the 260 scored ones batch by batch; the 5 repeats of
    # pair 0 (cached) count with it: 305 requested pairs in all
    assert rec.updates[0] == 45
    assert sum(rec.updates) == len(pairs) == 305
    assert len([n for n in rec.updates[1:] if n]) >= 10 and enc.stats.batches >= 10
    # the ETA's cost: the tokens of the 260 pairs the model scores (cached ones cost nothing), declared up front
    tokens = sum(len(ids) for ids in enc.encode(pairs[40:300]))
    assert rec.expected == [(305, float(tokens))] and rec.costs[0] == 0.0 and sum(rec.costs) == tokens
    cache.close()


SLOW_FORWARD = """
import sys, time
from evalkit.rerank import engine
forward = engine.CrossEncoder._forward
def slow(self, ids, mask):
    time.sleep(0.05)
    return forward(self, ids, mask)
engine.CrossEncoder._forward = slow
sys.argv = ["evalkit", *sys.argv[1:]]
from evalkit.cli import entry
entry()
"""


def test_a_one_window_run_logs_rising_counts_before_it_ends(tiny_gte, tmp_path):
    out = tmp_path / "run"
    done = evalkit("reranker=gte", f"reranker.model={tiny_gte}", "reranker.max_length=128",
                   "reranker.batch_tokens=2048", "candidates.depth=10", "reranker.cache=false",
                   f"hydra.run.dir={out}", script=SLOW_FORWARD,
                   env={"EVALKIT_PROGRESS_SECONDS": "0.3", "EVALKIT_CACHE": tmp_path / "cache"}, check=True)
    stats = json.loads((out / "manifest.json").read_text())["environment"]["reranker_stats"]
    assert stats["windows"] == 1
    counts = [(int(a.replace(",", "")), int(b.replace(",", ""))) for a, b in LINE.findall(done.stderr)]
    assert {total for _, total in counts} == {stats["pairs_requested"]}
    partial = [n for n, total in counts if 0 < n < total]
    assert len(set(partial)) >= 3 and partial == sorted(partial), counts
    assert "Loading weights" not in done.stderr and "rerank:" not in done.stdout
