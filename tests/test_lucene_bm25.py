"""Lucene BM25 (anserini mode) against values derived by hand from Lucene's SmallFloat and BM25Similarity."""
import math

import numpy as np
import pytest

from evalkit.candidates.bm25_anserini import LuceneBm25, byte4_to_int, int_to_byte4, java_whitespace_tokens

# Hand-derived with SmallFloat.intToByte4 / byte4ToInt (NUM_FREE_VALUES = 255 - longToInt4(2^31 - 1) = 24):
# 41: 41-24 = 17 = 0b10001, 5 bits, shift 1 -> 17>>1 = 0b1000, &7 = 0, | (1+1)<<3 = 16 -> byte 40 -> decodes 24+16 = 40
# 45: 21 = 0b10101 -> 0b1010 & 7 = 2 | 16 = 18 -> byte 42 -> (2|8)<<1 = 20 -> 44
# 100: 76 = 0b1001100, 7 bits, shift 3 -> 0b1001 & 7 = 1 | 4<<3 = 33 -> byte 57 -> (1|8)<<3 = 72 -> 96
# 1000: 976 = 0b1111010000, 10 bits, shift 6 -> 0b1111 & 7 = 7 | 7<<3 = 63 -> byte 87 -> 15<<6 = 960 -> 984
# 2^31-1: 2147483623, 31 bits, shift 27 -> 0b1111 & 7 = 7 | 28<<3 = 231 -> byte 255 -> 15<<27 + 24 = 2013265944
KNOWN = {0: (0, 0), 1: (1, 1), 23: (23, 23), 24: (24, 24), 31: (31, 31), 39: (39, 39), 40: (40, 40),
         41: (40, 40), 42: (41, 42), 43: (41, 42), 45: (42, 44), 47: (43, 46), 100: (57, 96), 1000: (87, 984),
         2**31 - 1: (255, 2013265944)}


@pytest.mark.parametrize("length, expected", KNOWN.items())
def test_norm_encoding_matches_hand_derived_values(length, expected):
    code, decoded = expected
    assert int(int_to_byte4([length])[0]) == code
    assert int(byte4_to_int([code])[0]) == decoded


def test_lengths_up_to_40_survive_and_longer_ones_round_down_to_a_fixed_point():
    lengths = np.arange(0, 5000)
    decoded = byte4_to_int(int_to_byte4(lengths))
    assert (decoded[:41] == lengths[:41]).all()
    assert (decoded <= lengths).all() and (np.diff(decoded) >= 0).all()
    assert (byte4_to_int(int_to_byte4(decoded)) == decoded).all()      # decoded values are representable
    assert len(np.unique(int_to_byte4(np.arange(0, 2**20)))) < 256


def test_whitespace_tokens_are_lucene_whitespace_tokenizer():
    assert java_whitespace_tokens("Habari  ya\tDunia\nNI") == ["Habari", "ya", "Dunia", "NI"]   # no lower-casing
    assert java_whitespace_tokens("a\u00a0b c\u2003d") == ["a\u00a0b", "c", "d"]   # Java: NBSP is not whitespace
    assert [len(t) for t in java_whitespace_tokens("x" * 600)] == [255, 255, 90]   # CharTokenizer's 255 limit


def lucene_by_hand(idf, tf, dl, avgdl, k1=0.9, b=0.4):
    return idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))


def test_bm25_scores_on_a_three_document_corpus():
    docs = [("d1", "a b c".split()), ("d2", "a a d e f g".split()), ("d3", ["a"] + ["x"] * 44)]
    index = LuceneBm25.build(docs)
    scores = index.scores(["a", "d"], k1=0.9, b=0.4)
    avgdl = (3 + 6 + 45) / 3                      # sumTotalTermFreq / docCount = 18
    idf_a = math.log(1 + (3 - 3 + 0.5) / (3 + 0.5))
    idf_d = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    expected = [lucene_by_hand(idf_a, 1, 3, avgdl),
                lucene_by_hand(idf_a, 2, 6, avgdl) + lucene_by_hand(idf_d, 1, 6, avgdl),
                lucene_by_hand(idf_a, 1, 44, avgdl)]  # d3 has 45 tokens, scored as 44 (its one-byte norm)
    assert expected == pytest.approx([0.0834570, 0.6912602, 0.0551782], abs=1e-6)   # worked on paper
    np.testing.assert_allclose(scores, expected, rtol=2e-7)
    assert scores.dtype == np.float32
    assert abs(scores[2] - lucene_by_hand(idf_a, 1, 45, avgdl)) > 1e-4      # the unquantised length differs


def test_repeated_query_term_is_one_clause_boosted_by_its_count():
    index = LuceneBm25.build([("d1", "a b".split()), ("d2", "b c".split()), ("d3", "c d".split())])
    once, twice = index.scores(["a"], 0.9, 0.4), index.scores(["a", "a"], 0.9, 0.4)
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-7)
    assert index.scores(["zzz"], 0.9, 0.4).tolist() == [0, 0, 0]


def test_documents_without_tokens_are_not_counted_in_n_or_avgdl():
    index = LuceneBm25.build([("d1", ["a"]), ("d2", ["b", "b", "b"]), ("empty", [])])
    assert index.doc_count == 2 and index.total_tokens == 4
    idf_a = math.log(1 + (2 - 1 + 0.5) / 1.5)
    assert index.scores(["a"], 0.9, 0.4)[0] == pytest.approx(lucene_by_hand(idf_a, 1, 1, 2.0), rel=2e-7)


def test_save_and_load_round_trip(tmp_path):
    index = LuceneBm25.build([("d1", "a b".split()), ("d2", "b c c".split())])
    index.save(tmp_path / "ix")
    again = LuceneBm25.load(tmp_path / "ix")
    assert again.docids == ["d1", "d2"]
    np.testing.assert_array_equal(again.scores(["c", "b"], 0.9, 0.4), index.scores(["c", "b"], 0.9, 0.4))


def test_search_ties_are_broken_by_docid_descending():
    index = LuceneBm25.build([("d1", ["a", "z"]), ("d3", ["a", "y"]), ("d2", ["a", "x"]), ("d0", ["b", "c"])])
    assert list(index.search(["a"], 2, 0.9, 0.4)) == ["d3", "d2"]
