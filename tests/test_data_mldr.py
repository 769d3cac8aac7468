"""MLDR loader on fixtures in the exact `Shitao/MLDR` raw layout."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from benchmark_fixtures import REPO, protocol_value, report_rows, write_jsonl, write_mldr
from cli_runner import evalkit
from evalkit.config import BenchmarkConfig
from evalkit.data import load_benchmark
from evalkit.errors import DataFormatError, EvalkitError

DATA = {
    "en": {"queries": [("q-en-1", "history of the printing press", ["d1"], []),
                       ("q-en-2", "migration of arctic terns", ["d2"], [])],
           "docs": [("d1", "The printing press was invented around 1440 and its history spans Europe. " * 30),
                    ("d2", "Arctic terns fly the longest migration of any bird, pole to pole. " * 30),
                    ("d3", "A long document about tides and the moon. " * 30)]},
    "ja": {"queries": [("q-ja-1", "富士山の高さ", ["j1"], [])],
           "docs": [("j1", "富士山の高さは三千七百七十六メートルです。" * 20), ("j2", "琵琶湖は日本最大の湖です。" * 20)]},
}


def cfg(source, **kw) -> BenchmarkConfig:
    return OmegaConf.structured(BenchmarkConfig(name="mldr", source=str(source), split=kw.pop("split", "test"), **kw))


def test_counts_languages_grades_and_no_titles(tmp_path):
    root = write_mldr(tmp_path / "mldr", DATA)
    with pytest.raises(EvalkitError, match="missing mldr-v1.0-ar/test.jsonl.gz"):   # default: all 13 languages
        load_benchmark(cfg(root))
    b = load_benchmark(cfg(root, languages=["en", "ja"]))
    assert {lang: len(q) for lang, q in b.queries.items()} == {"en": 2, "ja": 1}
    assert b.qrels["en"] == {"q-en-1": {"d1": 1}, "q-en-2": {"d2": 1}}
    assert len(b.stores["en"]) == 3 and b.stores["ja"].get(["j2"])[0].title == ""
    assert b.protocol["split"] == "test" and b.protocol["qrels_from"] == ["query records"]


def test_negatives_are_grade_zero_and_dev_is_selectable(tmp_path):
    data = {"en": {**DATA["en"], "queries": [("q1", "printing press", ["d1"], ["d3"])]}}
    root = write_mldr(tmp_path / "mldr", data, split="dev")
    b = load_benchmark(cfg(root, split="dev", languages=["en"]))
    assert b.qrels["en"] == {"q1": {"d1": 1, "d3": 0}}
    with pytest.raises(EvalkitError, match="missing mldr-v1.0-en/test.jsonl.gz"):
        load_benchmark(cfg(root, languages=["en"]))


def test_qrels_file_wins_when_present(tmp_path):
    root = write_mldr(tmp_path / "mldr", DATA)
    (root / "qrels").mkdir()
    (root / "qrels" / "qrels.mldr-v1.0-en-test.tsv").write_text("q-en-1 Q0 d1 1\nq-en-1 Q0 d3 0\nq-en-2 Q0 d2 1\n")
    b = load_benchmark(cfg(root, languages=["en"]))
    assert b.qrels["en"] == {"q-en-1": {"d1": 1, "d3": 0}, "q-en-2": {"d2": 1}}
    assert b.protocol["qrels_from"] == ["qrels file"]


def test_validation_errors_name_file_and_line(tmp_path):
    root = write_mldr(tmp_path / "mldr", DATA)
    queries = root / "mldr-v1.0-en" / "test.jsonl.gz"
    write_jsonl(queries, [{"query_id": "a", "query": "x", "positive_passages": [{"docid": "d1"}]},
                          {"query_id": "a", "query": "y", "positive_passages": [{"docid": "d2"}]}])
    with pytest.raises(DataFormatError, match=rf"{queries}:2: duplicate query id 'a'"):
        load_benchmark(cfg(root, languages=["en"]))
    write_jsonl(queries, [{"query_id": "a", "query": "  ", "positive_passages": []}])
    with pytest.raises(DataFormatError, match=rf"{queries}:1: empty query text"):
        load_benchmark(cfg(root, languages=["en"]))
    write_jsonl(queries, [{"query_id": "a", "query": "x", "positive_passages": [{"docid": "nope"}]}])
    with pytest.raises(DataFormatError, match="1 judged docids are not in the corpus"):
        load_benchmark(cfg(root, languages=["en"]))
    with pytest.raises(EvalkitError, match=r"unknown language\(s\) \['sw'\]"):
        load_benchmark(cfg(root, languages=["sw"]))


def test_judged_pool_is_refused_because_test_has_no_negatives(tmp_path):
    with pytest.raises(EvalkitError, match="no judged negatives"):
        load_benchmark(cfg(write_mldr(tmp_path / "mldr", DATA), languages=["en"], pool="judged"))


def test_cli_reports_ndcg_and_recall_per_language(tmp_path):
    root = write_mldr(tmp_path / "mldr", DATA)
    done = evalkit("benchmark=mldr", f"benchmark.source={root}", "benchmark.languages=[en]",
                   "candidates=bm25", "reranker=none", f"hydra.run.dir={tmp_path / 'out'}",
                   cwd=REPO, env={"EVALKIT_CACHE": tmp_path / "cache"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert protocol_value(report, "split") == "test"
    # each query's only relevant document is the only one holding its content words: rank 1
    assert report_rows(report, "ndcg@10")["en"][:2] == ["2", "100.00"]
    assert report_rows(report, "recall@100")["en"][:2] == ["2", "100.00"]
