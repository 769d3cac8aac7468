"""A run directory holds one run: another config's run is refused unless run.overwrite=true, a rerun leaves no stale
files, default names tell first stages apart, and an interrupted run says what is saved and leaves nothing behind."""
from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir

from cli_runner import PIPE, evalkit, evalkit_popen
from evalkit.cli import CONFIG_DIR
from evalkit.app.schema import register
from evalkit.errors import EvalkitError
from evalkit.app.rundir import Staging, check_reuse

@pytest.mark.parametrize("choice, name", [("bm25", "bm25-none"), ("bm25_anserini", "bm25_anserini-none"),
                                          ("bm25_xlmr", "bm25_xlmr-none"), ("dense_gte", "dense_gte-none")])
def test_default_run_names_tell_first_stages_apart(choice, name):
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"candidates={choice}", "reranker=none"])
    assert cfg.run.name == name


def test_check_reuse(tmp_path):
    config = {"candidates": {"name": "bm25", "bm25": {"mode": "language"}}, "report": {"formats": ["md"]},
              "run": {"overwrite": False}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    check_reuse(tmp_path, config, overwrite=False)                                   # the same config
    check_reuse(tmp_path, {**config, "report": {"formats": ["md", "html"]}}, False)   # reports only
    other = {**config, "candidates": {"name": "bm25", "bm25": {"mode": "anserini"}}}
    with pytest.raises(EvalkitError, match=r"candidates\.bm25\.mode: \"language\" -> \"anserini\".*run\.overwrite=true"):
        check_reuse(tmp_path, other, overwrite=False)
    check_reuse(tmp_path, other, overwrite=True)


def test_staging_swaps_whole_directories(tmp_path):
    final = tmp_path / "run"
    final.mkdir()
    (final / "report.html").write_text("old run")
    staging = Staging(final)
    (staging.path / "report.md").write_text("new run")
    assert (final / "report.html").is_file()               # untouched until publish
    staging.publish()
    assert sorted(p.name for p in final.iterdir()) == ["report.md"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging or old directory left over

    failed = Staging(final)
    (failed.path / "report.md").write_text("half")
    failed.discard()
    assert (final / "report.md").read_text() == "new run" and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_cli_refuses_another_config_and_leaves_only_current_files(mini_miracl, tmp_path):
    out = tmp_path / "run"
    common = [f"benchmark.source={mini_miracl}", "reranker=none", f"hydra.run.dir={out}"]
    first = evalkit(*common, "report.formats=[md,html]")
    assert first.returncode == 0, first.stderr[-2000:]
    assert (out / "report.html").is_file() and (out / ".hydra" / "hydra.yaml").is_file()
    metrics = (out / "metrics.json").read_bytes()

    again = evalkit(*common, "report.formats=[md]")                # same results: may replace, no stale report.html
    assert again.returncode == 0, again.stderr[-2000:]
    assert not (out / "report.html").exists() and (out / "metrics.json").read_bytes() == metrics

    other = evalkit(*common, "candidates=bm25_anserini")
    assert other.returncode == 2 and other.stderr.count("\n") == 1 and "Traceback" not in other.stderr
    assert "holds a run of another configuration" in other.stderr and "candidates.bm25.mode" in other.stderr
    assert (out / "metrics.json").read_bytes() == metrics

    forced = evalkit(*common, "candidates=bm25_anserini", "run.overwrite=true")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert yaml.safe_load((out / "config.yaml").read_text())["candidates"]["bm25"]["mode"] == "anserini"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini", "run"]


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_rerank_says_what_is_saved_and_the_same_command_resumes(tmp_path, signum):
    from evalkit.testing import make_tiny_gte

    model = make_tiny_gte(tmp_path / "gte", layers=4, hidden=64, intermediate=128)
    db, out = tmp_path / "pairs.sqlite", tmp_path / "run"
    args = ["benchmark=sample", "reranker=gte", f"reranker.model={model}", "reranker.max_length=1024",
            "reranker.batch_tokens=2048", f"reranker.cache_path={db}", "candidates.depth=20", f"hydra.run.dir={out}"]
    env = {"EVALKIT_CACHE": tmp_path / "cache"}
    proc = evalkit_popen(*args, env=env, stdout=PIPE, stderr=PIPE)
    deadline = time.monotonic() + 400
    while _rows(db) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    sent = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 128 + signum, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert took < 30, took   # within a batch (1-2 s on a quiet machine; this bound allows a busy shared one)
    last = err.strip().splitlines()[-1]
    saved = int(last.split("): ")[1].split(" ")[0])
    assert last.startswith(f"evalkit: interrupted ({signal.Signals(signum).name}): ") and "same command" in last
    assert 0 < saved <= _rows(db)
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".run")] == []

    done = evalkit(*args, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads((out / "manifest.json").read_text())["environment"]["reranker_stats"]
    assert stats["cache_hits"] >= saved
