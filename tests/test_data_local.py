"""benchmark=local: BEIR directories (language per query or per file) and TREC files."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from benchmark_fixtures import REPO, report_rows, write_jsonl
from cli_runner import evalkit
from evalkit.config import BenchmarkConfig
from evalkit.data import load_benchmark
from evalkit.errors import DataFormatError, EvalkitError

DOCS = [{"_id": "a", "title": "Water", "text": "Water boils at lower temperature at high altitude."},
        {"_id": "b", "title": "Eis", "text": "Eis schmilzt bei null Grad."},
        {"_id": "c", "title": "Bread", "text": "Bread rises in a warm kitchen."}]
QUERIES = [{"_id": "q1", "text": "water altitude boils", "lang": "en"},
           {"_id": "q2", "text": "wann schmilzt eis", "lang": "de"},
           {"_id": "q3", "text": "warm bread kitchen", "lang": "en"}]


def beir(root, queries=QUERIES, qrels="query-id\tcorpus-id\tscore\nq1\ta\t1\nq1\tc\t0\nq2\tb\t2\nq3\tc\t1\n"):
    write_jsonl(root / "corpus.jsonl", DOCS)
    write_jsonl(root / "queries.jsonl", queries)
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    return root


def cfg(source, **kw) -> BenchmarkConfig:
    return OmegaConf.structured(BenchmarkConfig(name="local", source=str(source), split="test", **kw))


def test_beir_language_per_query(tmp_path):
    b = load_benchmark(cfg(beir(tmp_path / "d")))
    assert b.queries == {"en": {"q1": "water altitude boils", "q3": "warm bread kitchen"},
                         "de": {"q2": "wann schmilzt eis"}}
    assert b.qrels == {"en": {"q1": {"a": 1, "c": 0}, "q3": {"c": 1}}, "de": {"q2": {"b": 2}}}
    assert b.stores["en"] is b.stores["de"] and len(b.stores["en"]) == 3
    assert b.protocol["format"] == "beir"


def test_beir_language_per_file_and_subset(tmp_path):
    root = beir(tmp_path / "d", [{k: v for k, v in q.items() if k != "lang"} for q in QUERIES])
    assert load_benchmark(cfg(root, lang="sw")).languages == ["sw"]
    with pytest.raises(DataFormatError, match=r"queries.jsonl:1: no 'lang' field"):
        load_benchmark(cfg(root))


def test_trec_files(tmp_path):
    root = tmp_path / "t"
    write_jsonl(root / "corpus.jsonl.gz", [{"docid": d["_id"], "title": d["title"], "text": d["text"]} for d in DOCS])
    (root / "topics.dev.tsv").write_text("1\twater altitude\n2\tbread\n", encoding="utf-8")
    (root / "qrels.dev.txt").write_text("1 Q0 a 1\n2 Q0 c 1\n2 Q0 b 0\n", encoding="utf-8")
    b = load_benchmark(OmegaConf.structured(BenchmarkConfig(name="local", source=str(root), split="dev", lang="en")))
    assert b.queries == {"en": {"1": "water altitude", "2": "bread"}}
    assert b.qrels == {"en": {"1": {"a": 1}, "2": {"c": 1, "b": 0}}} and b.protocol["format"] == "trec"
    with pytest.raises(EvalkitError, match="benchmark.lang is required"):
        load_benchmark(OmegaConf.structured(BenchmarkConfig(name="local", source=str(root), split="dev")))


@pytest.mark.parametrize("queries, qrels, error", [
    (QUERIES + [{"_id": "q1", "text": "again", "lang": "en"}], None, r"queries.jsonl:4: duplicate query id 'q1'"),
    ([{"_id": "q1", "text": "x", "lang": "english"}], None, r"queries.jsonl:1: unknown language code 'english'"),
    ([{"_id": "q1", "text": "", "lang": "en"}], None, r"queries.jsonl:1: empty query text"),
    (QUERIES, "q1\ta\t1\n", r"test.tsv:1: expected the header"),
    (QUERIES, "query-id\tcorpus-id\tscore\nq1\ta\n", r"test.tsv:2: expected 'query-id<TAB>corpus-id<TAB>score'"),
    (QUERIES, "query-id\tcorpus-id\tscore\nq9\ta\t1\n", r"1 judged query ids have no query"),
    (QUERIES, "query-id\tcorpus-id\tscore\nq1\tzz\t1\n", r"1 judged docids are not in the corpus"),
])
def test_validation_errors(tmp_path, queries, qrels, error):
    root = beir(tmp_path / "d", queries, *([qrels] if qrels else []))
    with pytest.raises(EvalkitError, match=error):
        load_benchmark(cfg(root))


def test_malformed_json_line(tmp_path):
    root = beir(tmp_path / "d")
    (root / "queries.jsonl").write_text('{"_id": "q1", "text": "x", "lang": "en"}\n{"_id": \n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"queries.jsonl:2: invalid JSON"):
        load_benchmark(cfg(root))


def test_cli_reports_ndcg_and_recall_per_language(tmp_path):
    root = beir(tmp_path / "d")
    done = evalkit("benchmark=local", f"benchmark.source={root}", "candidates=bm25", "reranker=none",
                   f"hydra.run.dir={tmp_path / 'out'}", cwd=REPO, env={"EVALKIT_CACHE": tmp_path / "cache"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    # every query's relevant passage is the only one sharing its words: rank 1 in each language
    for metric in ("ndcg@10", "recall@100"):
        rows = report_rows(report, metric)
        assert rows["en"][:2] == ["2", "100.00"] and rows["de"][:2] == ["1", "100.00"]
