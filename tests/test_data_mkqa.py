"""MKQA: processed and raw layouts, the BGE-M3/Contriever filter, has_answer on hand-made multilingual cases,
answer judgments, and answer_recall@k end to end."""
from __future__ import annotations

import random

import pytest
from omegaconf import OmegaConf

from benchmark_fixtures import (REPO, protocol_value, report_rows, write_beir_corpus, write_jsonl,
                                write_mkqa_zip)
from cli_runner import evalkit
from evalkit.config import BenchmarkConfig
from evalkit.data import load_benchmark
from evalkit.errors import DataFormatError, EvalkitError
from evalkit.metrics.answers import answer_qrels, check_answer_measures, has_answer, tokens

NQ = [("n1", "Hamlet", "Hamlet is a tragedy written by William Shakespeare around 1600."),
      ("n2", "Everest", "Mount Everest is 8,849 metres tall, the highest mountain on Earth."),
      ("n3", "Tides", "Tides are caused by the moon.")]
PROCESSED = {
    "de": [{"id": "1", "question": "Wer schrieb Hamlet?", "answers": ["William Shakespeare", "Shakespeare"]},
           {"id": "2", "question": "Wie hoch ist der Mount Everest?", "answers": ["8,849 metres", "8849 m"]},
           {"id": "3", "question": "Wer regiert Atlantis?", "answers": ["Poseidon"]}],
    "fr": [{"id": "1", "question": "Qui a écrit Hamlet ?", "answers": ["William Shakespeare", "Shakespeare"]},
           {"id": "2", "question": "Quelle est la hauteur de la plus haute montagne ?", "answers": ["8,849 metres"]},
           {"id": "3", "question": "Qui gouverne l'Atlantide ?", "answers": ["Poseidon"]}],
}


def cfg(source, corpus, **kw) -> BenchmarkConfig:
    return OmegaConf.structured(BenchmarkConfig(name="mkqa", source=str(source), corpus_source=str(corpus),
                                                split="test", **kw))


@pytest.fixture
def mkqa(tmp_path):
    return write_mkqa_zip(tmp_path / "bge-m3-data", PROCESSED), write_beir_corpus(tmp_path / "nq", NQ)


@pytest.mark.parametrize("passage, answers, expected", [
    ("Le Café de Flore est à Paris.", ["Cafe\u0301 de Flore"], True),          # composed vs decomposed é
    ("Le Cafe\u0301 de Flore est à Paris.", ["Café de Flore"], True),
    ("Le Café de Flore est à Paris.", ["Cafe de Flore"], False),              # accents are kept, not stripped
    ("PARIS is the capital", ["paris"], True),                                # case
    ("Straße in München", ["STRASSE"], False),                                # no case folding beyond lower()
    ("北京，中国的首都。", ["北京"], True),                                    # CJK split by punctuation
    ("北京是中国的首都", ["北京"], False),                                     # a CJK run is one token
    ("the U.S. army", ["U.S."], True),                                        # punctuation tokens
    ("Dave Edmunds's song", ["Dave Edmunds"], True),
    ("Edmundsen wrote it", ["Edmunds"], False),                               # partial word
    ("built around 1440", ["1,440"], False),                                  # 1 , 440 vs 1440
    ("Mount Everest is 8,849 metres tall", ["8,849 metres"], True),
    ("Jean - Paul Sartre", ["Jean-Paul"], True),                              # whitespace is not a token
    ("Москва — столица России", ["москва"], True),
    ("anything at all", ["", "  ", "\u200b"], False),                       # empty answers never match
])
def test_has_answer_hand_made_cases(passage, answers, expected):
    assert has_answer(passage, answers) is expected


def _dpr_has_answer(text: str, answers: list[str]) -> bool:
    """DPR's loop over token windows, as an independent oracle for the substring shortcut."""
    words = tokens(text)
    for answer in answers:
        ans = tokens(answer)
        if ans and any(ans == words[i:i + len(ans)] for i in range(len(words) - len(ans) + 1)):
            return True
    return False


def test_has_answer_equals_dprs_token_window_loop_on_random_texts():
    rng = random.Random(7)
    vocab = ["a", "b", "ab", "é", "e\u0301", "北京", ",", ".", "-", "1", "10", "Ab", " ", "  "]
    for _ in range(2000):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12)))
        answers = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 3))) for _ in range(rng.randint(1, 3))]
        assert has_answer(text, answers) == _dpr_has_answer(text, answers), (text, answers)


def test_processed_zip_counts_languages_and_one_shared_store(mkqa):
    b = load_benchmark(cfg(*mkqa, languages=["de", "fr"]))
    assert b.languages == ["de", "fr"] and {lang: len(q) for lang, q in b.queries.items()} == {"de": 3, "fr": 3}
    assert b.stores["de"] is b.stores["fr"] and len(b.stores["de"]) == 3
    assert b.qrels == {"de": {}, "fr": {}}
    assert b.answers["fr"]["2"] == ["8,849 metres"]
    assert b.stores["de"].get(["n3"])[0].title == "Tides"
    assert b.protocol["layout"] == "processed zip"


def test_default_is_the_25_languages_and_en_is_selectable(mkqa):
    with pytest.raises(EvalkitError, match=r"no \['ar.jsonl', 'da.jsonl'"):
        load_benchmark(cfg(*mkqa))
    with pytest.raises(EvalkitError, match="unknown language"):
        load_benchmark(cfg(*mkqa, languages=["zh"]))       # zh_cn, zh_hk and zh_tw are kept apart


RAW = [
    {"example_id": 11, "query": "who wrote hamlet", "queries": {"en": "who wrote hamlet", "de": "wer schrieb hamlet"},
     "answers": {"en": [{"type": "entity", "entity": "Q692", "text": "William Shakespeare", "aliases": ["Shakespeare"]}]}},
    {"example_id": 12, "query": "q", "queries": {"en": "q12", "de": "f12"},       # the LAST English answer decides
     "answers": {"en": [{"type": "entity", "text": "X", "aliases": []}, {"type": "unanswerable", "text": None}]}},
    {"example_id": 13, "query": "q", "queries": {"en": "q13", "de": "f13"},
     "answers": {"en": [{"type": "unanswerable", "text": None}, {"type": "number", "text": "3", "aliases": ["three"]}]}},
    {"example_id": 14, "query": "q", "queries": {"en": "q14", "de": "f14"},
     "answers": {"en": [{"type": "binary", "text": "yes"}]}},
    {"example_id": 15, "query": "q", "queries": {"en": "q15", "de": "f15"},
     "answers": {"en": [{"type": "long_answer", "text": None}]}},
    {"example_id": 16, "query": "q", "queries": {"en": "q16", "de": "f16"},
     "answers": {"en": [{"type": "date", "text": "1999", "aliases": []},
                        {"type": "short_phrase", "text": "late 1990s", "aliases": ["the 90s"]}],
                 "de": [{"type": "date", "text": "1999er"}]}},
]


def test_raw_apple_mkqa_is_filtered_like_the_processed_set(tmp_path):
    raw = tmp_path / "mkqa"
    write_jsonl(raw / "mkqa.jsonl.gz", RAW)
    b = load_benchmark(cfg(raw, write_beir_corpus(tmp_path / "nq", NQ), languages=["de"]))
    assert b.queries["de"] == {"11": "wer schrieb hamlet", "13": "f13", "16": "f16"}
    assert b.answers["de"] == {"11": ["Shakespeare", "William Shakespeare"], "13": ["three", "3"],
                               "16": ["1999", "the 90s", "late 1990s"]}     # English answers: aliases, then text
    assert b.protocol["layout"] == "raw apple/mkqa"


def test_malformed_processed_line_names_file_and_line(tmp_path):
    bad = {"de": PROCESSED["de"][:1] + [{"id": "2", "question": "x", "answers": "8849"}]}
    root = tmp_path / "plain"
    write_jsonl(root / "de.jsonl", bad["de"])
    with pytest.raises(DataFormatError, match=rf"{root / 'de.jsonl'}:2: answers must be a list of strings"):
        load_benchmark(cfg(root, write_beir_corpus(tmp_path / "nq", NQ), languages=["de"]))


def test_answer_qrels_judge_every_candidate_of_every_system(mkqa):
    b = load_benchmark(cfg(*mkqa, languages=["de", "fr"]))
    first = {"de": {"1": {"n3": 1.0, "n1": 0.5}, "2": {"n1": 2.0}}, "fr": {"1": {"n2": 1.0}}}
    other = {"de": {"2": {"n2": 1.0}}, "fr": {"2": {"n2": 3.0}}}
    assert answer_qrels(b, {"a": first, "b": other}) == {
        "de": {"1": {"n1": 1, "n3": 0}, "2": {"n1": 0, "n2": 1}, "3": {}},
        "fr": {"1": {"n2": 0}, "2": {"n2": 1}, "3": {}},
    }


def test_qrel_metrics_on_an_answer_benchmark_are_refused():
    with pytest.raises(EvalkitError, match="experiment=mkqa"):
        check_answer_measures(["ndcg@10", "recall@100"], "exclude")
    with pytest.raises(EvalkitError, match="no_relevant=zero"):
        check_answer_measures(["answer_recall@20"], "exclude")
    check_answer_measures(["answer_recall@20", "answer_recall@100"], "zero")


def test_cli_reports_answer_recall_at_20_and_100(mkqa, tmp_path):
    source, corpus = mkqa
    done = evalkit("experiment=mkqa", f"benchmark.source={source}", f"benchmark.corpus_source={corpus}",
                   "benchmark.languages=[de,fr]", "candidates=bm25", "reranker=none", f"hydra.run.dir={tmp_path / 'out'}",
                   cwd=REPO, env={"EVALKIT_CACHE": tmp_path / "cache"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "answer match" in protocol_value(report, "relevance")
    # de: q1 and q2 share 'hamlet' / 'mount everest' with the answer passage; q3's answer is nowhere -> 2/3.
    # fr: only q1 shares a word ('hamlet') with any passage -> 1/3. All 3 queries count in each language.
    for metric in ("answer_recall@20", "answer_recall@100"):
        rows = report_rows(report, metric)
        assert rows["de"][:2] == ["3", "66.67"] and rows["fr"][:2] == ["3", "33.33"]


def test_cli_refuses_a_depth_below_every_answer_measure(mkqa, tmp_path):
    """At candidates.depth=10 answer_recall@20 and @100 are both cut deeper than the candidates: one line before
    any work, not a report without a measure."""
    source, corpus = mkqa
    done = evalkit("experiment=mkqa", f"benchmark.source={source}", f"benchmark.corpus_source={corpus}",
                   "benchmark.languages=[de]", "candidates=bm25", "candidates.depth=10", "reranker=none",
                   f"hydra.run.dir={tmp_path / 'out'}", cwd=REPO, env={"EVALKIT_CACHE": tmp_path / "cache"},
                   timeout=300)
    assert done.returncode == 2
    assert "metrics.measures" in done.stderr and "candidates.depth=10" in done.stderr
    assert not (tmp_path / "out" / "report.md").exists()
