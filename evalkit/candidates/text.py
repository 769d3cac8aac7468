"""Script-aware tokenization for lexical retrieval, with no language-specific resources.

Space-delimited scripts (Latin, Cyrillic, Arabic, Devanagari, ...): NFKC, lower-case, words split at
whitespace, punctuation and symbols (combining marks stay inside words, so Devanagari vowel signs do not
split a word). Scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) and
Hangul: overlapping character bigrams, as Lucene's CJK analyzer does; this needs no dictionary and is
robust for Thai and Japanese, at some cost in precision against a real segmenter.
"""
from __future__ import annotations

import re
import unicodedata

_UNSPACED = (
    "\u0e00-\u0eff"          # Thai, Lao
    "\u1000-\u109f"          # Myanmar
    "\u1780-\u17ff"          # Khmer
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"  # Hangul
    "\u3040-\u30ff\u31f0-\u31ff"               # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
)
_RUN = re.compile(f"([{_UNSPACED}]+)")


def _is_separator(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZC"


def _words(text: str) -> list[str]:
    return "".join(" " if _is_separator(c) else c for c in text).split()


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def language_tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    for i, part in enumerate(_RUN.split(text)):
        tokens.extend(_bigrams(part) if i % 2 else _words(part))
    return tokens
