"""The explorer's passage data, by hand-worked cases: which windows of a long passage travel (UTF-16 offsets, as the
page counts), MKQA-style grades and answer spans from answer strings, and the shard folder replaced whole or not
at all."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalkit.contracts import Benchmark, Doc
from evalkit.report.explore import CONTEXT_CHARS, TEXT_CHARS, ExploreSystem, _Language, _windows, write_page


def test_windows_of_a_long_passage():
    text = "".join(chr(ord("a") + i % 26) for i in range(10_000))
    cut, answer = (5_000, 5_000), (8_000, 8_010)
    assert _windows(text, [cut, answer]) == [[0, text[:TEXT_CHARS]],
                                             [5_000 - CONTEXT_CHARS, text[5_000 - CONTEXT_CHARS:5_000 + CONTEXT_CHARS]],
                                             [8_000 - CONTEXT_CHARS, text[8_000 - CONTEXT_CHARS:8_010 + CONTEXT_CHARS]]]
    assert _windows("short", []) == [[0, "short"]]
    # a mark near the head merges into it; windows never run past the text
    assert _windows(text[:2_500], [(2_100, 2_100)]) == [[0, text[:2_400]]]


def test_window_offsets_count_utf16_units():
    text = "😀" + "x" * 4_000           # U+1F600 is two UTF-16 units, one Python character
    [[_, head], [start, window]] = _windows(text, [(3_000, 3_000)])
    assert head == text[:TEXT_CHARS] and window == text[3_000 - CONTEXT_CHARS:3_000 + CONTEXT_CHARS]
    assert start == 3_000 - CONTEXT_CHARS + 1


class Store:
    def __init__(self, docs: list[Doc]):
        self.docs = {d.docid: d for d in docs}

    def get(self, docids):
        return [self.docs[d] for d in docids]


@pytest.fixture
def mkqa(tmp_path) -> _Language:
    docs = [Doc("a", "Australia", "Its capital is CANBERRA, not Sydney."), Doc("b", "", "Sydney has the opera house."),
            Doc("c", "Canberra", "A planned city.")]
    bench = Benchmark("mkqa", {"en": {"1": "capital of australia"}}, {"en": {}}, {"en": Store(docs)},
                      answers={"en": {"1": ["Canberra"]}}, protocol={"split": "test"})
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "first_stage.en.trec").write_text("1 Q0 b 1 3.0 x\n1 Q0 a 2 2.0 x\n1 Q0 c 3 1.0 x\n")
    from evalkit.data.tokenizer import load_tokenizer

    system = ExploreSystem("bm25", tmp_path, "first_stage", None, None)
    return _Language("en", [system], bench, load_tokenizer("xlmr"), " ")


def test_answer_match_benchmark_grades_and_spans(mkqa):
    shard = mkqa.shard(["1"])
    q = shard["q"]["1"]
    assert [r[:2] for r in q["rows"][0]] == [["b", 0], ["a", 1], ["c", 1]]   # has-answer: title counts too
    text = "Australia Its capital is CANBERRA, not Sydney."
    start = text.index("CANBERRA")
    assert q["answer"] == {"a": [start, start + 8], "c": [0, 8]}
    assert q["missed"] == [[]] and q["cut"] == [None] and q["cut_at"] == [{}]
    assert shard["docs"]["a"][2] == [[0, text]] and shard["docs"]["a"][3] == len(text)


def test_shard_folder_is_replaced_whole_or_not_at_all(tmp_path):
    out = tmp_path / "explore.html"
    summary = {"title": "t", "q": {"shard": [0, 1]}}
    write_page(dict(summary), iter([{"docs": {}, "q": {"1": 1}}, {"docs": {}, "q": {"2": 2}}]), out)
    files = tmp_path / "explore_files"
    assert sorted(p.name for p in files.iterdir()) == ["0.js", "1.js"]
    build = re.search(r'"build":"([0-9a-f]+)"', out.read_text(encoding="utf-8")).group(1)
    assert (files / "1.js").read_text(encoding="utf-8") == f'evalkitShard(1,"{build}",{{"docs":{{}},"q":{{"2":2}}}});\n'

    def broken():
        yield {"docs": {}, "q": {}}
        raise RuntimeError("interrupted")

    page = out.read_bytes()
    with pytest.raises(RuntimeError):
        write_page(dict(summary, title="u"), broken(), out)
    assert out.read_bytes() == page and sorted(p.name for p in files.iterdir()) == ["0.js", "1.js"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no temporary left behind
    write_page(dict(summary, q={"shard": [0]}), iter([{"docs": {}, "q": {}}]), out)
    assert sorted(p.name for p in files.iterdir()) == ["0.js"]     # the old shards went with the old folder
    assert Path(out).read_text(encoding="utf-8") != page.decode("utf-8")
