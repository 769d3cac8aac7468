"""docs/extending.md's worked examples, run as written: evalkit is copied into a scratch directory, exactly the
files the document shows are added (one module + one YAML per entry, nothing else edited), and the CLI runs them."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_runner import evalkit as run_cli

ROOT = Path(__file__).resolve().parents[1]
FILE_BLOCK = re.compile(r"^`([\w/.]+)`:\n\n```(?:python|yaml)\n(.*?)^```", re.M | re.S)


def example_files() -> dict[str, str]:
    return dict(FILE_BLOCK.findall((ROOT / "docs" / "extending.md").read_text(encoding="utf-8")))


def test_the_document_shows_one_module_and_at_most_one_yaml_per_entry():
    files = example_files()
    modules = sorted(p for p in files if p.endswith(".py"))
    assert modules == ["evalkit/candidates/judged.py", "evalkit/data/sample_en.py", "evalkit/report/json_summary.py",
                       "evalkit/rerank/overlap.py"]
    assert sorted(p for p in files if p.endswith(".yaml")) == [
        "configs/benchmark/sample_en.yaml", "configs/candidates/judged.yaml", "configs/reranker/overlap.yaml"]
    assert not any((ROOT / p).exists() for p in files), "the examples must not be part of evalkit itself"


@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> Path:
    """A copy of evalkit (package + configs) with the document's files added."""
    root = tmp_path_factory.mktemp("extended")
    shutil.copytree(ROOT / "evalkit", root / "evalkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "configs", root / "configs")
    for path, text in example_files().items():
        (root / path).write_text(text, encoding="utf-8")
    return root


def evalkit(root: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI of the extended copy (its directory alone on PYTHONPATH)."""
    return run_cli(*args, cwd=cwd, env={"PYTHONPATH": str(root), "EVALKIT_CACHE": str(cwd / "cache")}, timeout=600)


def test_help_lists_the_new_entries(extended, tmp_path):
    out = evalkit(extended, "--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for key, name in [("benchmark.name", "sample_en"), ("candidates.name", "judged"),
                      ("reranker.backend", "overlap"), ("report.formats", "json")]:
        assert re.search(rf"^  {re.escape(key)}\s+{name}\s+\S", out.stdout, re.M), (key, name)


def test_the_new_entries_run_end_to_end(extended, tmp_path):
    out = evalkit(extended, "benchmark=sample_en", "candidates=judged", "reranker=overlap", "report.formats=[md,json]",
                  f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["protocol"]["languages"] == ["en"] and metrics["protocol"]["reranker"] == "overlap"
    config = (run / "config.yaml").read_text()
    assert "judged:\n    negatives: true" in config and "overlap:\n    case: fold" in config
    summary = json.loads((run / "report.json").read_text())
    assert set(summary) == {"first_stage", "reranked"} and set(summary["reranked"]["ndcg@10"]) == {"en"}
    # the judged first stage ranks by grade: its nDCG@10 is the ideal one wherever a query has a relevant document
    first = summary["first_stage"]["ndcg@10"]["en"]
    assert first == pytest.approx(1.0), first
    # the overlap scores really replaced the first stage's: the reranked run differs from the first stage
    assert (run / "runs" / "reranked.en.trec").read_text() != (run / "runs" / "first_stage.en.trec").read_text()


def test_the_new_sections_are_checked_like_every_other(extended, tmp_path):
    out = evalkit(extended, "reranker=overlap", "reranker.overlap.case=upper", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == ("evalkit: error: bad configuration: reranker.overlap.case='upper': "
                          "choose one of fold, keep\n")
    out = evalkit(extended, "reranker=none", "candidates=hybrid", "candidates.hybrid.systems=[bm25,nope]", cwd=tmp_path)
    assert out.returncode == 2 and "choose one of bm25, dense, judged, lucene, m3, mgte, runfile" in out.stderr
    out = evalkit(extended, "candidates=judged", "candidates.judged.negativez=false", cwd=tmp_path)
    assert out.returncode == 2 and "candidates.judged has: negatives" in out.stderr, out.stderr
