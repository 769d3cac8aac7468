"""MIRACL loader on fixtures in the exact `miracl/miracl` + `miracl/miracl-corpus` layout, local and via the HF cache."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from benchmark_fixtures import REPO, hub_snapshot, protocol_value, report_rows
from cli_runner import evalkit
from conftest import MINI, write_miracl_layout
from evalkit.config import BenchmarkConfig
from evalkit.data import load_benchmark
from evalkit.data.pool import WARNING, restrict_to_judged
from evalkit.errors import DataFormatError, EvalkitError


def cfg(source, **kw) -> BenchmarkConfig:
    return OmegaConf.structured(BenchmarkConfig(name="miracl", source=str(source), **kw))


def test_counts_languages_and_grades_keep_judged_negatives(mini_miracl):
    b = load_benchmark(cfg(mini_miracl, languages=["en", "zh"]))
    assert b.languages == ["en", "zh"]
    assert {lang: len(q) for lang, q in b.queries.items()} == {"en": 3, "zh": 2}
    assert b.qrels["en"]["1"] == {"10#0": 2, "11#0": 0}      # rel=0 rows kept
    assert b.qrels["zh"]["2"] == {"21#1": 1, "20#0": 0}
    assert (len(b.stores["en"]), len(b.stores["zh"])) == (4, 3)
    assert b.stores["zh"].get(["21#1"])[0].title == "长城"
    assert b.protocol["split"] == "dev" and b.protocol["pool"] == "full" and "warning" not in b.protocol


def test_local_source_holds_the_corpus_too(mini_miracl):
    # the committed config names the hub corpus only when the source is a hub id
    assert load_benchmark(cfg(mini_miracl, languages=["zh"])).protocol["corpus_source"] == str(mini_miracl)


def test_unknown_language_and_test_split_are_refused(mini_miracl):
    with pytest.raises(EvalkitError, match=r"unknown language\(s\) \['xx'\]"):
        load_benchmark(cfg(mini_miracl, languages=["xx"]))
    with pytest.raises(EvalkitError, match="no public qrels"):
        load_benchmark(cfg(mini_miracl, split="test-a", languages=["en"]))


def test_missing_language_files_name_the_file(mini_miracl):
    with pytest.raises(EvalkitError, match=r"missing miracl-v1.0-sw/topics/topics.miracl-v1.0-sw-dev.tsv"):
        load_benchmark(cfg(mini_miracl, languages=["sw"]))


def test_malformed_qrels_line_and_duplicate_topic_name_file_and_line(tmp_path):
    root = write_miracl_layout(tmp_path / "m", {"en": MINI["en"]})
    qrels = root / "miracl-v1.0-en/qrels/qrels.miracl-v1.0-en-dev.tsv"
    qrels.write_text(qrels.read_text() + "1\tQ0\t12#0\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{qrels}:6: expected 'qid Q0 docid grade'"):
        load_benchmark(cfg(root, languages=["en"]))
    root = write_miracl_layout(tmp_path / "d", {"en": MINI["en"]})
    topics = root / "miracl-v1.0-en/topics/topics.miracl-v1.0-en-dev.tsv"
    topics.write_text(topics.read_text() + "2\tagain\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{topics}:4: duplicate query id '2'"):
        load_benchmark(cfg(root, languages=["en"]))


def test_qrels_docids_absent_from_corpus_error_or_warn(tmp_path, caplog):
    data = {"en": {**MINI["en"], "qrels": MINI["en"]["qrels"] + [("2", "99#0", 1), ("2", "98#0", 0)]}}
    root = write_miracl_layout(tmp_path / "m", data)
    with pytest.raises(DataFormatError, match=r"2 judged docids are not in the corpus.*missing_docs=warn"):
        load_benchmark(cfg(root, languages=["en"]))
    b = load_benchmark(cfg(root, languages=["en"], missing_docs="warn"))
    assert b.protocol["missing_docs"] == {"en": 2}
    assert "2 judged docids are not in the corpus" in caplog.text


def test_judged_pool_ranks_each_querys_judged_passages_and_is_marked(mini_miracl):
    b = load_benchmark(cfg(mini_miracl, languages=["en"], pool="judged"))
    assert b.protocol["pool"] == "judged" and b.protocol["warning"] == WARNING
    assert len(b.stores["en"]) == 4 and b.stores["en"].fingerprint.endswith(b.fingerprints["corpus/en"][-16:])
    run = {"en": {"1": {"10#0": 5.0, "12#0": 9.0}, "2": {}, "3": {"13#0": 1.5}}}
    # q1: 12#0 is not judged for q1 -> dropped; 11#0 judged but unretrieved -> below the lowest kept score
    assert restrict_to_judged(b, run) == {"en": {"1": {"10#0": 5.0, "11#0": 4.0},
                                                 "2": {"12#0": -1.0, "10#0": -1.0},
                                                 "3": {"13#0": 1.5}}}


def test_judged_pool_is_refused_without_judged_negatives(tmp_path):
    data = {"en": {**MINI["en"], "qrels": [("1", "10#0", 1), ("2", "12#0", 1)]}}
    with pytest.raises(EvalkitError, match="no judged negatives"):
        load_benchmark(cfg(write_miracl_layout(tmp_path / "m", data), languages=["en"], pool="judged"))


LOAD = ("import sys; from omegaconf import OmegaConf; from evalkit.config import BenchmarkConfig; "
        "from evalkit.data import load_benchmark; "
        "b = load_benchmark(OmegaConf.structured(BenchmarkConfig(name='miracl', languages=['yo']))); "
        "print(b.protocol['revision'], len(b.queries['yo']), len(b.stores['yo']))")


def _load_in_subprocess(hf_cache: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_CACHE": str(hf_cache),
           "EVALKIT_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-c", LOAD], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_hub_ids_resolve_through_the_hf_cache_offline_and_fail_clearly_when_absent(tmp_path):
    empty = _load_in_subprocess(tmp_path / "empty_cache", tmp_path)
    assert empty.returncode != 0
    assert "DatasetUnavailableError: dataset miracl/miracl (topics and qrels) is not in the Hugging Face cache" in empty.stderr
    assert "benchmark.source" in empty.stderr
    cache = tmp_path / "hf"
    topics = hub_snapshot(cache, "miracl/miracl", "a" * 40)
    corpus = hub_snapshot(cache, "miracl/miracl-corpus", "b" * 40)
    write_miracl_layout(tmp_path / "raw", {"yo": MINI["en"]})
    shutil.copytree(tmp_path / "raw" / "miracl-v1.0-yo", topics / "miracl-v1.0-yo")
    shutil.copytree(tmp_path / "raw" / "miracl-corpus-v1.0-yo", corpus / "miracl-corpus-v1.0-yo")
    found = _load_in_subprocess(cache, tmp_path)
    assert found.returncode == 0, found.stderr[-1500:]
    assert found.stdout.split() == ["a" * 40, "3", "4"]


def test_cli_reports_ndcg_and_recall_per_language(tmp_path):
    root = write_miracl_layout(tmp_path / "miracl", {"yo": MINI["en"]})
    done = evalkit("benchmark=miracl", f"benchmark.source={root}", "benchmark.languages=[yo]",
                   "candidates=bm25", "reranker=none", f"hydra.run.dir={tmp_path / 'out'}",
                   cwd=REPO, env={"EVALKIT_CACHE": tmp_path / "cache"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert protocol_value(report, "pool") == "full" and protocol_value(report, "split") == "dev"
    # 2 of 3 queries have a relevant passage; the corpus has 4 passages, each relevant one shares a query
    # word, so BM25's top 100 holds it: Recall@100 = 100.
    assert report_rows(report, "recall@100")["yo"][:2] == ["2", "100.00"]
    assert report_rows(report, "ndcg@10")["yo"][0] == "2"
