"""The whole pipeline through the CLI, as a user runs it, on a fixture in MIRACL's layout."""
import json

import pandas as pd
import pytest

from cli_runner import evalkit
from conftest import MINI, write_miracl_layout
from evalkit.data.trec import read_run


@pytest.fixture(scope="module")
def first_stage_run(tmp_path_factory):
    """One BM25-only run on the MINI fixture, read (never written) by the tests below; its own cache."""
    root = tmp_path_factory.mktemp("first-stage")
    mini = write_miracl_layout(root / "mini", MINI)
    evalkit(f"benchmark.source={mini}", "reranker=none", "run.name=bm25only", cwd=root,
            env={"EVALKIT_CACHE": root / "cache"}, check=True)
    return root / "results" / "sample" / "bm25only"


def test_first_stage_run_writes_every_output(first_stage_run):
    names = {p.name for p in first_stage_run.iterdir()}
    assert {"report.md", "metrics.json", "per_query.parquet", "config.yaml", "manifest.json", "runs"} <= names
    assert {p.name for p in (first_stage_run / "runs").iterdir()} == {"first_stage.en.trec", "first_stage.zh.trec"}
    report = (first_stage_run / "report.md").read_text()
    assert "## ndcg@10 per language" in report and "## ndcg@10 per document-length bucket" in report


def test_counts_add_up(first_stage_run):
    table = pd.read_parquet(first_stage_run / "per_query.parquet")
    metrics = json.loads((first_stage_run / "metrics.json").read_text())
    one = table[(table.system == "first_stage") & (table.metric == "ndcg@10")]
    # en has 3 topics, one without relevant judgments (excluded); zh has 2
    assert one.groupby("lang").size().to_dict() == {"en": 2, "zh": 2}
    assert one.groupby("bucket").size().sum() == len(one)
    by_lang = metrics["systems"]["first_stage"]["queries"]
    assert by_lang["en"] + by_lang["zh"] == by_lang["avg"] == len(one)
    buckets = metrics["systems"]["first_stage"]["by_bucket"]["ndcg@10"]
    assert sum(b["queries"] for b in buckets.values()) == len(one)
    # the query without a relevant judgment is counted where the 4 scored ones are reported
    assert metrics["excluded_queries"] == {"en": 1, "zh": 0}
    assert metrics["protocol"]["excluded_queries"] == "1 (en 1)"
    assert "| excluded_queries | 1 (en 1) |" in (first_stage_run / "report.md").read_text()


def test_bm25_ranks_the_answer_above_the_distractor(first_stage_run):
    run = read_run(first_stage_run / "runs" / "first_stage.en.trec")
    ranked = sorted(run["1"], key=lambda d: -run["1"][d])
    assert ranked.index("10#0") < ranked.index("11#0")


def test_malformed_qrels_line_is_one_line_error(mini_miracl, tmp_path):
    qrels = mini_miracl / "miracl-v1.0-en" / "qrels" / "qrels.miracl-v1.0-en-dev.tsv"
    qrels.write_text(qrels.read_text() + "2\tQ0\t12#0\n")
    proc = evalkit(f"benchmark.source={mini_miracl}", "reranker=none", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"evalkit: error: {qrels}:6: expected 'qid Q0 docid grade', got 3 fields")


def test_missing_sample_file_is_one_line_error(mini_miracl, tmp_path):
    topics = mini_miracl / "miracl-v1.0-zh" / "topics" / "topics.miracl-v1.0-zh-dev.tsv"
    topics.unlink()
    proc = evalkit(f"benchmark.source={mini_miracl}", "reranker=none", cwd=tmp_path)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("evalkit: error:") and "topics.miracl-v1.0-zh-dev.tsv" in last
    assert "Traceback" not in proc.stderr


def test_misspelt_key_is_one_line_error(tmp_path):
    proc = evalkit("reranker.mdoel=x", cwd=tmp_path)
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert line.startswith("evalkit: error: bad configuration: Key 'mdoel' not in 'RerankerConfig' "
                           "(key: reranker.mdoel); did you mean reranker.model?") and "\n" not in line
    assert "reranker has: name, model, revision, max_length, " in line


@pytest.mark.parametrize("mode", ["error", "warn"])
def test_run_docids_absent_from_the_corpus(mini_miracl, tmp_path, mode):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "run.en.trec").write_text("1 Q0 10#0 1 3.0 x\n1 Q0 99#9 2 2.0 x\n2 Q0 12#0 1 1.0 x\n")
    (runs / "run.zh.trec").write_text("1 Q0 20#0 1 1.0 x\n")
    proc = evalkit(f"benchmark.source={mini_miracl}", "reranker=none", "candidates=runfile",
                   f"candidates.path={runs}", f"benchmark.missing_docs={mode}", "run.name=r", cwd=tmp_path)
    if mode == "error":
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == (
            "evalkit: error: [en] 1 first-stage docids are not in the corpus, e.g. ['99#9'] "
            "(set benchmark.missing_docs=warn to drop them and continue)")
        return
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 first-stage docids are not in the corpus" in proc.stdout + proc.stderr   # Hydra logs to stdout
    out = tmp_path / "results" / "sample" / "r"
    assert json.loads((out / "metrics.json").read_text())["protocol"]["missing_run_docs"] == 1
    assert "99#9" not in (out / "runs" / "first_stage.en.trec").read_text()
