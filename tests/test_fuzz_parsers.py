"""Property-based fuzzing of every input parser: valid files are read completely (no line skipped), and a
malformed line, field, value or encoding ends in one EvalkitError naming file:line (or the key / row), never
another exception. Example counts are bounded (EXAMPLES) so the suite stays fast."""
from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.errors import EvalkitError

EXAMPLES = 60
fuzz = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ident = st.text(st.characters(codec="utf-8", categories=["L", "N"], include_characters="-_#"), min_size=1, max_size=8)
words = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"], exclude_characters="\t"),
                min_size=1, max_size=20).filter(lambda t: t.strip() != "")
junk = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
raw_bytes = st.binary(max_size=200)


def one_line_error(call, *where: str) -> str:
    """Run `call`; it must raise EvalkitError with a one-line message containing every `where`."""
    with pytest.raises(EvalkitError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message, message
    for w in where:
        assert w in message, (w, message)
    return message


def parses_or_one_line_error(call):
    """Arbitrary input: a result, or one EvalkitError line (never any other exception)."""
    try:
        return call()
    except EvalkitError as exc:
        assert "\n" not in str(exc), str(exc)
        return None


_BASE = Path(tempfile.mkdtemp(prefix="evalkit-fuzz-"))


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    shutil.rmtree(_BASE, ignore_errors=True)


def tmpdir() -> Path:
    return Path(tempfile.mkdtemp(dir=_BASE))


def unique_by(items, key):
    seen, out = set(), []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            out.append(item)
    return out


# ---- topics / qrels / TREC runs -------------------------------------------------------------------------------

topics = st.lists(st.tuples(ident, words), min_size=1, max_size=8).map(lambda xs: unique_by(xs, lambda x: x[0]))


@fuzz
@given(topics)
def test_topics_valid_files_are_read_whole(rows):
    from evalkit.data.trec import read_topics

    path = tmpdir() / "topics.tsv"
    path.write_text("".join(f"{q}\t{t}\n" for q, t in rows), encoding="utf-8")
    assert read_topics(path) == {q: t.strip() for q, t in rows}


bad_topic_line = st.one_of(ident, st.tuples(ident, st.just("  ")).map("\t".join),
                           st.tuples(st.just(" "), words).map("\t".join))


@fuzz
@given(topics, bad_topic_line, st.integers(0, 8))
def test_topics_malformed_line_names_file_and_line(rows, bad, at):
    from evalkit.data.trec import read_topics

    lines = [f"{q}\t{t}" for q, t in rows]
    at = min(at, len(lines))
    lines.insert(at, bad)
    path = tmpdir() / "topics.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one_line_error(lambda: read_topics(path), f"{path}:{at + 1}:")


qrels = st.lists(st.tuples(ident, ident, st.integers(-1, 3)), min_size=1, max_size=10).map(
    lambda xs: unique_by(xs, lambda x: x[:2]))


@fuzz
@given(qrels, st.sampled_from(["\t", " ", "  "]))
def test_qrels_valid_files_are_read_whole(rows, sep):
    from evalkit.data.trec import read_qrels

    path = tmpdir() / "qrels.tsv"
    path.write_text("".join(sep.join([q, "Q0", d, str(g)]) + "\n" for q, d, g in rows), encoding="utf-8")
    expected: dict = {}
    for q, d, g in rows:
        expected.setdefault(q, {})[d] = g
    assert read_qrels(path) == expected


bad_qrels_line = st.one_of(
    st.tuples(ident, ident).map(" ".join),                                          # too few fields
    st.tuples(ident, ident, ident, st.sampled_from(["x", "1.5", "", "nan"])).map(lambda t: f"{t[0]} Q0 {t[1]} {t[3] or 'g g'}"),
    st.tuples(ident, ident, st.integers(), ident).map(lambda t: f"{t[0]} Q0 {t[1]} {t[2]} {t[3]}"),   # too many
)


@fuzz
@given(qrels, bad_qrels_line, st.integers(0, 10))
def test_qrels_malformed_line_names_file_and_line(rows, bad, at):
    from evalkit.data.trec import read_qrels

    lines = [f"{q} Q0 {d} {g}" for q, d, g in rows]
    at = min(at, len(lines))
    lines.insert(at, bad)
    path = tmpdir() / "qrels.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one_line_error(lambda: read_qrels(path), f"{path}:{at + 1}:")


scores = st.floats(allow_nan=False, allow_infinity=False, width=64)
runs = st.lists(st.tuples(ident, ident, scores), min_size=1, max_size=10).map(lambda xs: unique_by(xs, lambda x: x[:2]))


@fuzz
@given(runs)
def test_trec_run_valid_files_are_read_whole(rows):
    from evalkit.data.trec import read_run

    path = tmpdir() / "run.trec"
    path.write_text("".join(f"{q} Q0 {d} {i} {s!r} tag\n" for i, (q, d, s) in enumerate(rows)), encoding="utf-8")
    expected: dict = {}
    for q, d, s in rows:
        expected.setdefault(q, {})[d] = s
    assert read_run(path, {q for q, _, _ in rows}) == expected


bad_run_line = st.one_of(
    st.tuples(ident, ident).map(lambda t: f"{t[0]} Q0 {t[1]} 1 0.5"),               # 5 fields
    st.tuples(ident, ident, st.sampled_from(["nan", "inf", "-inf", "x", "1,5"])).map(
        lambda t: f"{t[0]} Q0 {t[1]} 1 {t[2]} tag"),
    st.tuples(ident, ident).map(lambda t: f"unknown-{t[0]} Q0 {t[1]} 1 0.5 tag"),    # a query id not in the topics
)


@fuzz
@given(runs, bad_run_line, st.integers(0, 10))
def test_trec_run_malformed_line_names_file_and_line(rows, bad, at):
    from evalkit.data.trec import read_run

    lines = [f"{q} Q0 {d} 1 {s!r} tag" for q, d, s in rows]
    at = min(at, len(lines))
    lines.insert(at, bad)
    path = tmpdir() / "run.trec"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    known = {q for q, _, _ in rows} | {bad.split()[0]} - {b for b in [bad.split()[0]] if b.startswith("unknown-")}
    one_line_error(lambda: read_run(path, known), f"{path}:{at + 1}:")


@fuzz
@given(st.sampled_from(["topics", "qrels", "run", "beir_qrels", "jsonl"]), raw_bytes, st.booleans())
def test_text_parsers_on_arbitrary_bytes_never_raise_anything_else(kind, data, gz):
    from evalkit.data.local import read_beir_qrels
    from evalkit.data.trec import read_qrels, read_run, read_topics
    from evalkit.data.validate import iter_jsonl

    path = tmpdir() / ("input.txt.gz" if gz else "input.txt")
    path.write_bytes(gzip.compress(data, mtime=0) if gz and data[:1] != b"\x00" else data)
    read = {"topics": read_topics, "qrels": read_qrels, "run": lambda p: read_run(p, None),
            "beir_qrels": read_beir_qrels, "jsonl": lambda p: list(iter_jsonl(p))}[kind]
    parses_or_one_line_error(lambda: read(path))


@fuzz
@given(topics, st.integers(0, 8), st.sampled_from([b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80"]))
def test_invalid_utf8_names_file_and_line(rows, at, bad):
    from evalkit.data.trec import read_topics

    lines = [f"{q}\t{t}".encode() for q, t in rows]
    at = min(at, len(lines))
    lines.insert(at, b"q\tbroken " + bad)
    path = tmpdir() / "topics.tsv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    one_line_error(lambda: read_topics(path), f"{path}:{at + 1}:")


# ---- ranx JSON / Parquet run files ----------------------------------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | junk,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(junk, inner, max_size=3),
                           max_leaves=8)


@fuzz
@given(st.one_of(json_values, st.dictionaries(ident, st.dictionaries(ident, json_values, max_size=3), max_size=3)))
def test_ranx_json_run_arbitrary_structures(value):
    from evalkit.candidates.runfile import read_any_run

    path = tmpdir() / "run.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    qids = set(value) if isinstance(value, dict) else set()
    run = parses_or_one_line_error(lambda: read_any_run(path, qids))
    if run is not None:      # accepted: exactly the input, every score a finite float
        assert run == {q: {d: float(s) for d, s in docs.items()} for q, docs in value.items()}


@fuzz
@given(runs, st.integers(0, 10), st.sampled_from(["nan", "str", "bool", "list"]))
def test_ranx_json_bad_score_names_the_pair(rows, at, kind):
    from evalkit.candidates.runfile import read_any_run

    run: dict = {}
    for q, d, s in rows:
        run.setdefault(q, {})[d] = s
    q, d, _ = rows[min(at, len(rows) - 1)]
    run[q][d] = {"nan": float("nan"), "str": "0.5", "bool": True, "list": [0.5]}[kind]
    path = tmpdir() / "run.json"
    path.write_text(json.dumps(run), encoding="utf-8")
    one_line_error(lambda: read_any_run(path, set(run)), str(path), f"({q}, {d})")


@fuzz
@given(runs, st.sampled_from(["null_qid", "null_doc", "null_score", "str_score", "dup", "missing_col", "bytes"]))
def test_parquet_run_malformed_rows_name_the_row(rows, kind):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evalkit.candidates.runfile import read_any_run

    qids = [q for q, _, _ in rows]
    docs = [d for _, d, _ in rows]
    vals: list = [s for _, _, s in rows]
    bad_row = len(rows)              # the malformed row is appended last: row numbers count from 1
    if kind == "null_qid":
        qids.append(None), docs.append("x"), vals.append(1.0)
    elif kind == "null_doc":
        qids.append(qids[0]), docs.append(None), vals.append(1.0)
    elif kind == "null_score":
        qids.append(qids[0]), docs.append("zz-new"), vals.append(None)
    elif kind == "dup":
        qids.append(qids[0]), docs.append(docs[0]), vals.append(1.0)
    path = tmpdir() / "run.parquet"
    if kind == "bytes":
        path.write_bytes(b"PAR1 not really parquet")
        one_line_error(lambda: read_any_run(path, set(qids)), str(path))
        return
    if kind == "str_score":
        table = pa.table({"q_id": qids, "doc_id": docs, "score": [str(v) for v in vals]})
    elif kind == "missing_col":
        table = pa.table({"q_id": qids, "doc": docs, "score": vals})
    else:
        table = pa.table({"q_id": pa.array(qids, pa.string()), "doc_id": pa.array(docs, pa.string()),
                          "score": pa.array(vals, pa.float64())})
    pq.write_table(table, path)
    where = {"missing_col": "missing column", "str_score": str(path)}.get(kind, f"row {bad_row + 1}")
    one_line_error(lambda: read_any_run(path, {q for q in qids if q is not None}), str(path), where)


@fuzz
@given(runs)
def test_parquet_run_valid_files_are_read_whole(rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evalkit.candidates.runfile import read_any_run

    path = tmpdir() / "run.parquet"
    pq.write_table(pa.table({"q_id": [q for q, _, _ in rows], "doc_id": [d for _, d, _ in rows],
                             "score": [s for _, _, s in rows]}), path)
    expected: dict = {}
    for q, d, s in rows:
        expected.setdefault(q, {})[d] = s
    assert read_any_run(path, set(expected)) == expected


# ---- JSONL layouts: BEIR corpus/queries/qrels, MLDR, MKQA, document stores ---------------------------------

def jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                            for r in records), encoding="utf-8")
    return path


beir_queries = st.lists(st.fixed_dictionaries({"_id": ident, "text": words, "lang": st.sampled_from(["en", "de", "zh"])}),
                        min_size=1, max_size=6).map(lambda xs: unique_by(xs, lambda r: r["_id"]))
bad_query_record = st.one_of(
    st.just("{not json"), st.just("[1, 2]"), st.just('"a string"'),
    st.fixed_dictionaries({"text": words, "lang": st.just("en")}),                    # no _id
    st.fixed_dictionaries({"_id": ident, "lang": st.just("en")}),                     # no text
    st.fixed_dictionaries({"_id": ident, "text": st.sampled_from(["", "  ", None, 5, ["x"]]), "lang": st.just("en")}),
    st.fixed_dictionaries({"_id": st.sampled_from([None, "", [1], {"a": 1}, True]), "text": words, "lang": st.just("en")}),
    st.fixed_dictionaries({"_id": ident, "text": words, "lang": st.sampled_from(["english", "xx", 7, "EN-", None])}),
)


@fuzz
@given(beir_queries, bad_query_record, st.integers(0, 6))
def test_beir_queries_malformed_record_names_file_and_line(rows, bad, at):
    from evalkit.data.local import read_beir_queries

    records = [dict(r) for r in rows]
    at = min(at, len(records))
    if isinstance(bad, dict) and "_id" in bad and isinstance(bad["_id"], str) and bad["_id"]:
        bad = {**bad, "_id": f"new-{bad['_id']}"}
    records.insert(at, bad)
    path = jsonl(tmpdir() / "queries.jsonl", records)
    if isinstance(bad, dict) and bad.get("lang") is None and "lang" in bad:
        one_line_error(lambda: read_beir_queries(path, None), f"{path}:{at + 1}")
        return
    one_line_error(lambda: read_beir_queries(path, "en"), f"{path}:{at + 1}")


@fuzz
@given(beir_queries)
def test_beir_queries_valid_files_are_read_whole(rows):
    from evalkit.data.local import read_beir_queries

    path = jsonl(tmpdir() / "queries.jsonl", rows)
    got = read_beir_queries(path, None)
    assert sum(map(len, got.values())) == len(rows)
    for r in rows:
        assert got[r["lang"]][r["_id"]] == r["text"].strip()


@fuzz
@given(qrels, st.one_of(st.just("q\td"), st.just("q\td\tx"), st.just("q\td\t1\t2"), st.just("q d 1")), st.integers(0, 10))
def test_beir_qrels_malformed_line_names_file_and_line(rows, bad, at):
    from evalkit.data.local import read_beir_qrels

    lines = [f"{q}\t{d}\t{g}" for q, d, g in rows]
    at = min(at, len(lines))
    lines.insert(at, bad)
    path = tmpdir() / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n" + "\n".join(lines) + "\n", encoding="utf-8")
    one_line_error(lambda: read_beir_qrels(path), f"{path}:{at + 2}:")


corpus_rows = st.lists(st.fixed_dictionaries({"_id": ident, "title": words, "text": words}), min_size=1,
                       max_size=6).map(lambda xs: unique_by(xs, lambda r: r["_id"]))
bad_doc_record = st.one_of(
    st.just("{broken"), st.just("[]"), st.just("3"),
    st.fixed_dictionaries({"title": words, "text": words}),                                   # no id
    st.fixed_dictionaries({"_id": ident, "title": words}),                                    # no text
    st.fixed_dictionaries({"_id": ident, "title": words, "text": st.sampled_from([5, ["a"], {"b": 1}, True])}),
    st.fixed_dictionaries({"_id": ident, "title": st.sampled_from([5, ["a"], {"b": 1}]), "text": words}),
    st.fixed_dictionaries({"_id": st.sampled_from(["", None, [1], {"a": 2}, 1.5, False]), "title": words, "text": words}),
)


@fuzz
@given(corpus_rows, bad_doc_record, st.integers(0, 6))
def test_corpus_malformed_record_names_file_and_line(rows, bad, at):
    from evalkit.data.docstore import open_jsonl_store

    records = [dict(r) for r in rows]
    at = min(at, len(records))
    if isinstance(bad, dict) and isinstance(bad.get("_id"), str) and bad["_id"]:
        bad = {**bad, "_id": f"new-{bad['_id']}"}
    records.insert(at, bad)
    root = tmpdir()
    path = jsonl(root / "corpus.jsonl", records)
    one_line_error(lambda: open_jsonl_store([path], root / "cache", id_field="_id"), f"{path}:{at + 1}")


@fuzz
@given(corpus_rows)
def test_corpus_valid_files_are_read_whole(rows):
    from evalkit.data.docstore import open_jsonl_store

    root = tmpdir()
    path = jsonl(root / "corpus.jsonl", rows)
    store = open_jsonl_store([path], root / "cache", id_field="_id")
    assert [(d.docid, d.title, d.text) for d in store.get([r["_id"] for r in rows])] == \
           [(r["_id"], r["title"], r["text"]) for r in rows]


mldr_rows = st.lists(st.fixed_dictionaries({
    "query_id": ident, "query": words,
    "positive_passages": st.lists(st.fixed_dictionaries({"docid": ident}), min_size=1, max_size=2),
    "negative_passages": st.lists(st.fixed_dictionaries({"docid": ident}), max_size=2)}),
    min_size=1, max_size=5).map(lambda xs: unique_by(xs, lambda r: r["query_id"]))
bad_mldr = st.one_of(
    st.just("{x"), st.fixed_dictionaries({"query": words}),
    st.fixed_dictionaries({"query_id": ident, "query": words, "positive_passages": st.sampled_from(["d1", 3, {"docid": 1}])}),
    st.fixed_dictionaries({"query_id": ident, "query": words,
                           "positive_passages": st.sampled_from([[{"id": "x"}], ["d1"], [{"docid": None}], [{"docid": [1]}]])}),
)


@fuzz
@given(mldr_rows, bad_mldr, st.integers(0, 5))
def test_mldr_queries_malformed_record_names_file_and_line(rows, bad, at):
    from evalkit.data.mldr import read_queries

    records = [dict(r) for r in rows]
    at = min(at, len(records))
    if isinstance(bad, dict) and "query_id" in bad:
        bad = {**bad, "query_id": f"new-{bad['query_id']}"}
    records.insert(at, bad)
    path = jsonl(tmpdir() / "test.jsonl", records)
    one_line_error(lambda: read_queries(path), f"{path}:{at + 1}")


@fuzz
@given(mldr_rows)
def test_mldr_queries_valid_files_are_read_whole(rows):
    from evalkit.data.mldr import read_queries

    path = jsonl(tmpdir() / "test.jsonl", rows)
    queries, judged = read_queries(path)
    assert queries == {r["query_id"]: r["query"].strip() for r in rows}
    for r in rows:
        for p in r["positive_passages"]:
            assert judged[r["query_id"]][p["docid"]] == 1


mkqa_processed = st.lists(st.fixed_dictionaries({"id": ident, "question": words, "answers": st.lists(words, min_size=1, max_size=3)}),
                          min_size=1, max_size=5).map(lambda xs: unique_by(xs, lambda r: r["id"]))
bad_processed = st.one_of(
    st.just("{"), st.fixed_dictionaries({"question": words, "answers": st.just(["a"])}),
    st.fixed_dictionaries({"id": ident, "question": words, "answers": st.sampled_from(["a", [1], [], [""], None, {"a": 1}])}),
)


@fuzz
@given(mkqa_processed, bad_processed, st.integers(0, 5))
def test_mkqa_processed_malformed_record_names_file_and_line(rows, bad, at):
    from evalkit.data.mkqa import read_processed

    records = [dict(r) for r in rows]
    at = min(at, len(records))
    if isinstance(bad, dict) and "id" in bad:
        bad = {**bad, "id": f"new-{bad['id']}"}
    records.insert(at, bad)
    path = jsonl(tmpdir() / "de.jsonl", records)
    one_line_error(lambda: read_processed(path), f"{path}:{at + 1}")


def raw_record(qid: str, question: str, answer: str) -> dict:
    return {"example_id": qid, "queries": {"de": question, "en": question},
            "answers": {"en": [{"type": "entity", "text": answer, "aliases": []}]}}


bad_raw = st.one_of(
    st.just("{"), st.just({"queries": {"de": "q"}, "answers": {"en": []}}),
    st.sampled_from([{"example_id": "n1", "queries": ["de"], "answers": {"en": [{"type": "entity", "text": "a"}]}},
                     {"example_id": "n2", "queries": {"de": "q"}, "answers": ["x"]},
                     {"example_id": "n3", "queries": {"de": "q"}, "answers": {"en": ["plain string"]}},
                     {"example_id": "n4", "queries": {"de": "q"}, "answers": {"en": "x"}},
                     {"example_id": "n5", "queries": {"de": 5}, "answers": {"en": [{"type": "entity", "text": "a"}]}},
                     {"example_id": "n6", "queries": {"en": "q"}, "answers": {"en": [{"type": "entity", "text": "a"}]}},
                     {"example_id": "n7", "queries": {"de": "q"}, "answers": {"en": [{"type": "entity", "text": 3}]}}]),
)


@fuzz
@given(st.lists(st.tuples(ident, words, words), min_size=1, max_size=5).map(lambda xs: unique_by(xs, lambda x: x[0])),
       bad_raw, st.integers(0, 5))
def test_mkqa_raw_malformed_record_names_file_and_line(rows, bad, at):
    from evalkit.data.mkqa import read_raw

    records = [raw_record(*r) for r in rows]
    at = min(at, len(records))
    records.insert(at, bad)
    path = jsonl(tmpdir() / "mkqa.jsonl", records)
    one_line_error(lambda: read_raw(path, ["de"]), f"{path}:{at + 1}")
    good = jsonl(tmpdir() / "mkqa.jsonl", [raw_record(*r) for r in rows])
    assert {q: t for q, (t, _) in read_raw(good, ["de"])["de"].items()} == {q: t.strip() for q, t, _ in rows}


@fuzz
@given(st.sampled_from(["miracl_topics", "miracl_qrels", "miracl_corpus", "miracl_corpus_zh"]), junk, st.integers(0, 3))
def test_miracl_layout_with_one_damaged_file(which, garbage, at):
    """The MIRACL on-disk layout end to end (load_sample): one damaged line in one file -> file:line."""
    from conftest import MINI, write_miracl_layout
    from evalkit.config import BenchmarkConfig
    from evalkit.data.miracl import load_sample

    root = write_miracl_layout(tmpdir(), MINI)
    target = {"miracl_topics": root / "miracl-v1.0-en/topics/topics.miracl-v1.0-en-dev.tsv",
              "miracl_qrels": root / "miracl-v1.0-en/qrels/qrels.miracl-v1.0-en-dev.tsv",
              "miracl_corpus": root / "miracl-corpus-v1.0-en/docs-0.jsonl.gz",
              "miracl_corpus_zh": root / "miracl-corpus-v1.0-zh/docs-0.jsonl.gz"}[which]
    bad = "no-tab-no-fields" if "topics" in which else ("a b" if "qrels" in which else "{broken json")
    if target.suffix == ".gz":
        lines = gzip.decompress(target.read_bytes()).decode().splitlines()
        at = min(at, len(lines))
        lines.insert(at, bad + garbage.replace("\n", " ").replace("\r", " ") * 0)
        target.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    else:
        lines = target.read_text().splitlines()
        at = min(at, len(lines))
        lines.insert(at, bad)
        target.write_text("\n".join(lines) + "\n")
    cfg = BenchmarkConfig(name="sample", source=str(root), cache_dir=str(root / "cache"))
    one_line_error(lambda: load_sample(cfg), f"{target}:{at + 1}")


# ---- subsets, baselines, configs ------------------------------------------------------------------------------

@fuzz
@given(st.sampled_from(["subset.json", "topics", "qrels", "pool", "answers", "docs"]), junk)
def test_subset_files_damaged_give_one_line(which, garbage):
    from conftest import MINI
    from evalkit.config import BenchmarkConfig
    from evalkit.gate.subset import load_subset

    root = tmpdir() / "s"
    (root / "en").mkdir(parents=True)
    meta = {"name": "s", "languages": ["en"], "benchmark": {"name": "sample", "split": "dev", "pool": "full",
                                                            "protocol": {}}, "candidates": {"name": "bm25", "depth": 10}}
    (root / "subset.json").write_text(json.dumps(meta))
    (root / "en" / "topics.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in MINI["en"]["topics"].items()))
    (root / "en" / "qrels.tsv").write_text("".join(f"{q}\tQ0\t{d}\t{g}\n" for q, d, g in MINI["en"]["qrels"]))
    (root / "en" / "pool.trec").write_text("1 Q0 10#0 1 2.0 pool\n")
    (root / "en" / "answers.jsonl").write_text(json.dumps({"qid": "1", "answers": ["x"]}) + "\n")
    with gzip.open(root / "en" / "docs.jsonl.gz", "wt") as f:
        for d, t, x in MINI["en"]["docs"]:
            f.write(json.dumps({"docid": d, "title": t, "text": x}) + "\n")
    cfg = BenchmarkConfig(name="sample", subset=str(root), cache_dir=str(root.parent / "cache"))
    assert load_subset(cfg).queries["en"] == MINI["en"]["topics"]
    file = {"subset.json": root / "subset.json", "topics": root / "en" / "topics.tsv", "qrels": root / "en" / "qrels.tsv",
            "pool": root / "en" / "pool.trec", "answers": root / "en" / "answers.jsonl",
            "docs": root / "en" / "docs.jsonl.gz"}[which]
    if which == "subset.json":
        file.write_text(garbage if garbage.strip() else "{")
    elif which == "docs":
        file.write_bytes(gzip.compress(b"{bad json\n", mtime=0))
    else:
        with file.open("a") as f:
            f.write("{" + garbage.replace("\n", " ") + " bad line\n")
    def load():
        from omegaconf import OmegaConf

        from evalkit.app.schema import CandidatesConfig
        from evalkit.gate.subset import subset_pools

        bench = load_subset(cfg)
        subset_pools(cfg, OmegaConf.structured(CandidatesConfig(name="bm25", depth=10)), bench)
    parses_or_one_line_error(load)
    if which in ("topics", "qrels", "answers", "docs", "subset.json") and (which != "subset.json" or garbage.strip()):
        one_line_error(load, str(file))


@fuzz
@given(st.sampled_from(["baseline.json", "metrics.json", "per_query.csv"]), junk)
def test_baseline_files_damaged_give_one_line(which, garbage):
    from evalkit.gate.baseline import load_results

    root = tmpdir() / "b"
    root.mkdir()
    (root / "baseline.json").write_text(json.dumps({"blessed": {"name": "b"}, "protocol": {"benchmark": "sample"}}))
    (root / "metrics.json").write_text(json.dumps({"systems": {}}))
    (root / "per_query.csv").write_text("system,lang,qid,bucket,metric,value\nreranked,en,1,512,ndcg@10,0.5\n")
    assert len(load_results(root).table) == 1
    file = root / which
    if which == "per_query.csv":
        file.write_text(file.read_text() + garbage.replace("\n", " ") + ",x,y\n" if garbage else "system,lang\n")
    else:
        file.write_text("{" + garbage)
    one_line_error(lambda: load_results(root), str(file))


config_keys = st.sampled_from([
    "candidates.depth", "candidates.bm25.k1", "candidates.bm25.b", "reranker.max_length", "reranker.batch_tokens",
    "reranker.cache", "metrics.oracle", "run.seed", "benchmark.languages", "report.formats", "candidates.hybrid.rrf_k",
    "candidates.dense.normalize", "candidates.dense.shard_docs", "metrics.bucket_edges"])


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(config_keys, st.one_of(junk.filter(lambda s: "\n" not in s), st.sampled_from(["[", "{a:", "${oops}", "1e999",
                                                                                       "[1,", "null", "x y"])))
def test_config_override_values_end_in_one_line_naming_the_key(key, value):
    import contextlib
    import io

    from evalkit.cli import preflight
    from evalkit.app.schema import register

    register()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            preflight([f"{key}={value}"])
    except SystemExit as exc:
        assert exc.code == 2
        err = stderr.getvalue().strip()
        assert err.count("\n") == 0 and err.startswith("evalkit: error:"), err
        assert key.split(".")[-1] in err or key in err or "override" in err.lower(), err
