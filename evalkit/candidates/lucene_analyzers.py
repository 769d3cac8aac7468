"""Which Lucene analyzer a language gets, as Pyserini's MIRACL 2CR runs choose it (Anserini 0.22.1).

- a language of Anserini's `AnalyzerMap` (Lucene's language analyzers: stop words, normalisation, stemmers;
  CJKAnalyzer bigrams for zh and ko, JapaneseAnalyzer (Kuromoji) for ja): indexed with `-language xx`,
  searched after `set_language("xx")`;
- en: Anserini's DefaultEnglishAnalyzer (Porter stemmer, Lucene's English stop words), Pyserini's default;
- sw, yo: Lucene's WhitespaceAnalyzer (no lower-casing): indexed `-pretokenized`, searched with a
  WhitespaceAnalyzer (2CR: `--language sw`, which Anserini maps to whitespace, and `--pretokenized` for yo).
Any other language is an error naming the config key that chooses one: Anserini would silently use English.
"""
from __future__ import annotations

from typing import Mapping

from evalkit.errors import EvalkitError

# io.anserini.analysis.AnalyzerMap of Anserini 0.22.1 (= SimpleSearcher.set_language's languages)
LUCENE_LANGUAGES = ("ar", "bn", "da", "de", "es", "fa", "fi", "fr", "hi", "hu", "id", "it", "ja", "ko", "nl", "no",
                    "pl", "pt", "ru", "sv", "te", "th", "tr", "uk", "zh")
ENGLISH, WHITESPACE = "en", "whitespace"
CHOICES = (*LUCENE_LANGUAGES, ENGLISH, WHITESPACE)
PYSERINI_WHITESPACE = ("sw", "yo")   # MIRACL languages without a Lucene analyzer


def analyzer_for(lang: str, overrides: Mapping[str, str] | None = None) -> str:
    """The analyzer name for a query language: a Lucene language code, `en` or `whitespace`."""
    chosen = (overrides or {}).get(lang)
    if chosen is not None:
        if chosen not in CHOICES:
            raise EvalkitError(f"candidates.lucene.analyzers.{lang}={chosen!r} is not one of {', '.join(CHOICES)}")
        return chosen
    if lang in LUCENE_LANGUAGES or lang == ENGLISH:
        return lang
    if lang in PYSERINI_WHITESPACE:
        return WHITESPACE
    raise EvalkitError(f"no Lucene analyzer for language {lang!r}: set candidates.lucene.analyzers.{lang} to "
                       f"whitespace or one of {', '.join(LUCENE_LANGUAGES + (ENGLISH,))}")


def index_args(analyzer: str) -> list[str]:
    """SimpleIndexer / IndexCollection arguments that select `analyzer` at indexing time."""
    return ["-pretokenized"] if analyzer == WHITESPACE else ["-language", analyzer]
