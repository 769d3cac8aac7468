"""Lucene's BM25 (BM25Similarity, Lucene 8/9, as Pyserini runs it), scored with numpy/scipy.

What makes it Lucene's and not textbook BM25:
- document lengths are stored as one byte (SmallFloat.intToByte4) and decoded (byte4ToInt) before scoring:
  lengths 0..40 survive exactly, longer ones are rounded down to a value with 4 significant bits;
- idf = log(1 + (N - df + 0.5) / (df + 0.5)) with N = documents that have at least one token;
  avgdl = sumTotalTermFreq / N, computed in double and stored as float32;
- a term's score is weight - weight / (1 + tf * cache[norm]), cache[i] = 1 / (k1 * (1 - b + b * len_i / avgdl)),
  all in float32 as Lucene 9 does; that is idf * tf / (tf + k1 * (...)): no (k1 + 1) factor (dropped in
  Lucene 8; it scales every score by the same constant, so rankings are unchanged);
- a query term repeated n times is one clause boosted by n (Anserini's bag-of-words query), weight = n * idf;
  clause scores are summed in double and the total cast to float32.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from evalkit.candidates.topk import top_k

NUM_FREE_VALUES = 24          # 255 - longToInt4(Integer.MAX_VALUE) = 255 - 231
MAX_TOKEN_CHARS = 255         # CharTokenizer.DEFAULT_MAX_WORD_LEN, counted in UTF-16 code units
# java.lang.Character.isWhitespace: Zs/Zl/Zp except the no-break spaces, plus \t \n \v \f \r and \x1c-\x1f
_JAVA_WHITESPACE = re.compile("[\t\n\x0b\x0c\r\x1c-\x1f \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]+")


def _long_to_int4(i: np.ndarray) -> np.ndarray:
    bits = np.zeros_like(i)
    nonzero = i > 0
    bits[nonzero] = np.floor(np.log2(i[nonzero])).astype(np.int64) + 1     # 64 - numberOfLeadingZeros(i)
    shift = np.maximum(bits - 4, 0)
    normal = ((i >> shift) & 0x07) | ((shift + 1) << 3)
    return np.where(bits < 4, i, normal)


def _int4_to_long(i: np.ndarray) -> np.ndarray:
    shift = (i >> 3) - 1
    return np.where(shift == -1, i & 0x07, ((i & 0x07) | 0x08) << np.maximum(shift, 0))


def int_to_byte4(lengths: np.ndarray | Sequence[int]) -> np.ndarray:
    """SmallFloat.intToByte4, vectorised: non-negative ints -> uint8 codes (order preserving)."""
    i = np.asarray(lengths, dtype=np.int64)
    if (i < 0).any():
        raise ValueError("document lengths must be >= 0")
    return np.where(i < NUM_FREE_VALUES, i, NUM_FREE_VALUES + _long_to_int4(i - NUM_FREE_VALUES)).astype(np.uint8)


def byte4_to_int(codes: np.ndarray | Sequence[int]) -> np.ndarray:
    """SmallFloat.byte4ToInt, vectorised: uint8 codes -> the lengths Lucene scores with."""
    i = np.asarray(codes, dtype=np.int64)
    return np.where(i < NUM_FREE_VALUES, i, NUM_FREE_VALUES + _int4_to_long(i - NUM_FREE_VALUES))


LENGTH_TABLE = byte4_to_int(np.arange(256)).astype(np.float32)


def java_whitespace_tokens(text: str) -> list[str]:
    """Lucene's WhitespaceTokenizer: split at Java whitespace, no lower-casing, tokens cut every 255 UTF-16 units."""
    tokens = []
    for token in _JAVA_WHITESPACE.split(text):
        if len(token) * 2 < MAX_TOKEN_CHARS:          # cannot reach 255 UTF-16 units: the common case
            if token:
                tokens.append(token)
            continue
        start, units = 0, 0
        for k, ch in enumerate(token):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units >= MAX_TOKEN_CHARS:
                tokens.append(token[start:k + 1])
                start, units = k + 1, 0
        if start < len(token):
            tokens.append(token[start:])
    return tokens


class LuceneBm25:
    """Term frequencies (docs x terms, CSC) and one-byte norms; k1 and b apply at query time."""

    def __init__(self, docids: list[str], vocab: dict[str, int], tf: sp.csc_matrix, norms: np.ndarray,
                 total_tokens: int):
        self.docids, self.vocab, self.tf, self.norms = docids, vocab, tf, norms
        self.doc_count = int(np.count_nonzero(norms))        # Lucene's docCount: documents with a token
        self.total_tokens = total_tokens
        self.df = np.diff(tf.indptr)

    @classmethod
    def build(cls, docs: Iterable[tuple[str, list[str]]]) -> LuceneBm25:
        docids, vocab, indices, indptr, lengths = [], {}, [], [0], []
        for docid, tokens in docs:
            docids.append(docid)
            indices.extend(vocab.setdefault(t, len(vocab)) for t in tokens)
            indptr.append(len(indices))
            lengths.append(len(tokens))
        data = np.ones(len(indices), dtype=np.float32)
        csr = sp.csr_matrix((data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                            shape=(len(docids), len(vocab)))
        csr.sum_duplicates()
        return cls(docids, vocab, csr.tocsc(), int_to_byte4(lengths), int(sum(lengths)))

    def norm_cache(self, k1: float, b: float) -> np.ndarray:
        k1, b = np.float32(k1), np.float32(b)
        avgdl = np.float32(self.total_tokens / self.doc_count)
        return (np.float32(1) / (k1 * ((np.float32(1) - b) + b * LENGTH_TABLE / avgdl))).astype(np.float32)

    def idf(self, df: int) -> np.float32:
        return np.float32(np.log(1 + (self.doc_count - df + 0.5) / (df + 0.5)))

    def scores(self, query_tokens: list[str], k1: float, b: float) -> np.ndarray:
        """float32 score of every document (0 where no query term occurs)."""
        cache = self.norm_cache(k1, b)
        total = np.zeros(len(self.docids), dtype=np.float64)
        counts: dict[int, int] = {}
        for token in query_tokens:
            if token in self.vocab:
                counts[self.vocab[token]] = counts.get(self.vocab[token], 0) + 1
        for term, boost in counts.items():
            lo, hi = self.tf.indptr[term], self.tf.indptr[term + 1]
            rows, freq = self.tf.indices[lo:hi], self.tf.data[lo:hi]
            weight = np.float32(boost) * self.idf(hi - lo)
            total[rows] += weight - weight / (np.float32(1) + freq * cache[self.norms[rows]])
        return total.astype(np.float32)

    def search(self, query_tokens: list[str], depth: int, k1: float, b: float) -> dict[str, float]:
        return top_k(self.scores(query_tokens, k1, b), self.docids, depth)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        sp.save_npz(path / "tf.npz", self.tf)
        np.save(path / "norms.npy", self.norms)
        (path / "vocab.json").write_text(json.dumps(list(self.vocab), ensure_ascii=False), encoding="utf-8")
        (path / "meta.json").write_text(json.dumps({"total_tokens": self.total_tokens}))
        (path / "docids.txt").write_text("\n".join(self.docids), encoding="utf-8")   # written last: marks complete

    @classmethod
    def load(cls, path: Path) -> LuceneBm25:
        terms = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        return cls((path / "docids.txt").read_text(encoding="utf-8").split("\n"), {t: i for i, t in enumerate(terms)},
                   sp.load_npz(path / "tf.npz").tocsc(), np.load(path / "norms.npy"),
                   json.loads((path / "meta.json").read_text())["total_tokens"])
