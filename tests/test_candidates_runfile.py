"""candidates=runfile: formats, depth cut, canonical ties (checked against pytrec_eval), loud errors."""
import gzip
import json

import pytest
import pytrec_eval

from evalkit.candidates.runfile import read_any_run, runfile_candidates
from evalkit.app.schema import CandidatesConfig
from evalkit.contracts import Benchmark
from evalkit.errors import EvalkitError


def bench(queries):
    return Benchmark(name="t", queries=queries, qrels={lang: {} for lang in queries}, stores={})


def cfg(path, depth=100):
    return CandidatesConfig(name="runfile", path=str(path), depth=depth)


def test_directory_of_per_language_files_with_depth_cut_and_rank_column_ignored(tmp_path):
    (tmp_path / "run.en.trec").write_text("1 Q0 a 1 0.5 x\n1 Q0 b 2 0.9 x\n1 Q0 c 3 0.7 x\n")   # ranks disagree
    with gzip.open(tmp_path / "bm25.zh.trec.gz", "wt") as f:
        f.write("1 Q0 z 1 3 x\n")
    runs = runfile_candidates(bench({"en": {"1": "q", "2": "q"}, "zh": {"1": "q"}}), cfg(tmp_path, depth=2))
    assert runs == {"en": {"1": {"b": 0.9, "c": 0.7}}, "zh": {"1": {"z": 3.0}}}
    assert list(runs["en"]["1"]) == ["b", "c"]


def test_one_file_for_all_languages_is_split_by_query_id(tmp_path):
    path = tmp_path / "all.trec"
    path.write_text("e1 Q0 a 1 1 x\nz1 Q0 b 1 2 x\n")
    runs = runfile_candidates(bench({"en": {"e1": "q"}, "zh": {"z1": "q"}}), cfg(path))
    assert runs == {"en": {"e1": {"a": 1.0}}, "zh": {"z1": {"b": 2.0}}}


def test_one_file_is_refused_when_query_ids_repeat_across_languages(tmp_path):
    path = tmp_path / "all.trec"
    path.write_text("1 Q0 a 1 1 x\n")
    with pytest.raises(EvalkitError, match="query id '1' exists in both 'en' and 'zh'"):
        runfile_candidates(bench({"en": {"1": "q"}, "zh": {"1": "q"}}), cfg(path))


@pytest.mark.parametrize("text, message", [
    ("1 Q0 a 1 0.5 x\n9 Q0 b 1 0.4 x\n", r"run.en.trec:2: unknown query id '9'"),
    ("1 Q0 a 1 0.5 x\n1 Q0 a 2 0.4 x\n", r"run.en.trec:2: duplicate document 'a' for query '1'"),
    ("1 Q0 a 1 high x\n", r"run.en.trec:1: score 'high' is not a number"),
    ("1 Q0 a 1 inf x\n", r"run.en.trec:1: score 'inf' is NaN or infinite"),
    ("1 Q0 a 1 0.5\n", r"run.en.trec:1: expected 'qid Q0 docid rank score tag', got 5 fields"),
])
def test_malformed_lines_fail_naming_file_and_line(tmp_path, text, message):
    (tmp_path / "run.en.trec").write_text(text)
    with pytest.raises(EvalkitError, match=message):
        runfile_candidates(bench({"en": {"1": "q"}}), cfg(tmp_path))


def test_directory_errors_name_the_language(tmp_path):
    (tmp_path / "run.en.trec").write_text("1 Q0 a 1 1 x\n")
    with pytest.raises(EvalkitError, match="no run file for language 'zh'"):
        runfile_candidates(bench({"en": {"1": "q"}, "zh": {"1": "q"}}), cfg(tmp_path))
    (tmp_path / "other.en.trec").write_text("1 Q0 a 1 1 x\n")
    with pytest.raises(EvalkitError, match="several run files for 'en'"):
        runfile_candidates(bench({"en": {"1": "q"}}), cfg(tmp_path))
    with pytest.raises(EvalkitError, match="candidates.path: required"):
        runfile_candidates(bench({"en": {"1": "q"}}), CandidatesConfig(name="runfile"))


def test_ranx_json_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"q_id": ["1", "1", "1"], "doc_id": ["a", "b", "c"], "score": [1.0, 1.0, 2.0]}),
                   tmp_path / "r.en.parquet")          # ranx.Run.save's layout
    assert read_any_run(tmp_path / "r.en.parquet", {"1"}, depth=2) == {"1": {"c": 2.0, "b": 1.0}}
    (tmp_path / "r.json").write_text(json.dumps({"1": {"a": 1, "b": 3.5}}))
    assert read_any_run(tmp_path / "r.json", {"1"}) == {"1": {"a": 1.0, "b": 3.5}}
    (tmp_path / "r.json").write_text(json.dumps({"7": {"a": 1.0}}))
    with pytest.raises(EvalkitError, match=r"r.json: unknown query id '7'"):
        read_any_run(tmp_path / "r.json", {"1"})
    (tmp_path / "bad.json").write_text(json.dumps({"1": {"a": "x"}}))
    with pytest.raises(EvalkitError, match=r"bad.json: score 'x' of \(1, a\) is not a finite number"):
        read_any_run(tmp_path / "bad.json", {"1"})
    (tmp_path / "broken.json").write_text('{"1": {"a": 1.0,,}}')
    with pytest.raises(EvalkitError, match=r"broken.json:1: invalid JSON"):
        read_any_run(tmp_path / "broken.json", {"1"})


TIES = {"q": {"d1": 1.0, "d3": 1.0, "d2": 1.0, "d10": 0.5, "d9": 2.0, "d4": 0.5}}


@pytest.mark.parametrize("relevant", ["d1", "d2", "d3", "d4", "d10"])
def test_canonical_tie_order_is_the_order_pytrec_eval_evaluates(tmp_path, relevant):
    """pytrec_eval (trec_eval) ranks ties by docid descending: the reciprocal rank of each relevant document
    must equal 1 / (its position in our cut, which puts d9, then d3 d2 d1, then d4 d10)."""
    lines = "".join(f"q Q0 {d} 1 {s} x\n" for d, s in TIES["q"].items())
    (tmp_path / "run.en.trec").write_text(lines)
    run = runfile_candidates(bench({"en": {"q": "q"}}), cfg(tmp_path))["en"]["q"]
    assert list(run) == ["d9", "d3", "d2", "d1", "d4", "d10"]
    measured = pytrec_eval.RelevanceEvaluator({"q": {relevant: 1}}, {"recip_rank"}).evaluate(TIES)
    assert measured["q"]["recip_rank"] == pytest.approx(1 / (list(run).index(relevant) + 1))
    cut = runfile_candidates(bench({"en": {"q": "q"}}), cfg(tmp_path, depth=3))["en"]["q"]
    assert list(cut) == ["d9", "d3", "d2"]
