"""TREC formats: malformed input fails naming file and line; run files round-trip in canonical order."""
import pytest

from evalkit.data.trec import cut, format_run, read_qrels, read_run, read_topics
from evalkit.errors import DataFormatError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_qrels_keep_judged_negatives(tmp_path):
    qrels = read_qrels(write(tmp_path, "q.tsv", "1\tQ0\t10#0\t2\n1\tQ0\t11#3\t0\n2 Q0 12#0 1\n"))
    assert qrels == {"1": {"10#0": 2, "11#3": 0}, "2": {"12#0": 1}}


@pytest.mark.parametrize("line, message", [
    ("1\tQ0\t10#0\n", "expected 'qid Q0 docid grade'"),
    ("1\tQ0\t10#0\tx\n", "not an integer"),
])
def test_malformed_qrels_name_file_and_line(tmp_path, line, message):
    path = write(tmp_path, "qrels.tsv", "1\tQ0\t9#0\t1\n" + line)
    with pytest.raises(DataFormatError, match=f"qrels.tsv:2: .*{message}"):
        read_qrels(path)


def test_topics_reject_duplicates_and_empty(tmp_path):
    with pytest.raises(DataFormatError, match="topics.tsv:2: duplicate query id '1'"):
        read_topics(write(tmp_path, "topics.tsv", "1\ta\n1\tb\n"))
    with pytest.raises(DataFormatError, match=r"t2.tsv:1: empty query text"):
        read_topics(write(tmp_path, "t2.tsv", "1\t \n"))


def test_run_ignores_rank_column_and_validates(tmp_path):
    run = read_run(write(tmp_path, "r.trec", "1 Q0 a 1 0.5 x\n1 Q0 b 1 0.9 x\n"))
    assert run == {"1": {"a": 0.5, "b": 0.9}}
    with pytest.raises(DataFormatError, match="r2.trec:2: duplicate document 'a'"):
        read_run(write(tmp_path, "r2.trec", "1 Q0 a 1 0.5 x\n1 Q0 a 2 0.4 x\n"))
    with pytest.raises(DataFormatError, match="r3.trec:1: score 'high' is not a number"):
        read_run(write(tmp_path, "r3.trec", "1 Q0 a 1 high x\n"))
    with pytest.raises(DataFormatError, match="r4.trec:1: unknown query id '7'"):
        read_run(write(tmp_path, "r4.trec", "7 Q0 a 1 1 x\n"), known_qids={"1"})


def test_cut_and_format_use_trec_eval_tie_order(tmp_path):
    run = {"q": {"a": 1.0, "c": 1.0, "b": 2.0, "d": 0.5}}
    assert list(cut(run, 3)["q"]) == ["b", "c", "a"]
    text = format_run(run, "t")
    assert text.splitlines()[0] == "q Q0 b 1 2.0 t"
    assert [line.split()[2] for line in text.splitlines()] == ["b", "c", "a", "d"]
    # writing and reading back is lossless
    assert read_run(write(tmp_path, "rt.trec", text)) == run
