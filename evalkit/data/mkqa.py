"""MKQA as BGE-M3 evaluates it: 25 query languages retrieving English NQ passages, judged by answer matching.

Queries come from either
- the processed set (`Shitao/bge-m3-data` `MKQA_test-data.zip`, or its unzipped `{lang}.jsonl` files):
  records {id, question, answers}, 6,619 questions per language; or
- the raw `apple/mkqa` file `mkqa.jsonl.gz` ({example_id, queries{lang}, answers{lang: [{type, text, aliases}]}}),
  filtered here exactly as Contriever's `preprocess_xmkqa.py` (which produced the processed set): a question is
  kept when its LAST English answer is not unanswerable / binary / long_answer, and its answers are the aliases
  and text of every English answer of a kept type (English, because the passages are English).
The corpus is BEIR's NQ (`BeIR/nq` `corpus.jsonl.gz`, {_id, title, text}); all languages share ONE store.
There are no qrels: `evalkit.metrics.answers.answer_qrels` judges candidates by the has_answer rule.
"""
from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from evalkit.config import BenchmarkConfig
from evalkit.data import BENCHMARKS
from evalkit.contracts import Benchmark
from evalkit.data.docstore import open_jsonl_store
from evalkit.data.hub import dataset_revision, require_files, resolve_dataset
from evalkit.data.validate import add_query, check_languages, field, identifier, iter_jsonl
from evalkit.errors import DataFormatError, EvalkitError
from evalkit.storage import atomic_write_bytes

log = logging.getLogger(__name__)
LANGUAGES = ["ar", "da", "de", "es", "fi", "fr", "he", "hu", "it", "ja", "km", "ko", "ms", "nl", "no", "pl", "pt",
             "ru", "sv", "th", "tr", "vi", "zh_cn", "zh_hk", "zh_tw"]
KNOWN = LANGUAGES + ["en"]                   # en is selectable, not a default: the paper averages the 25
DROPPED_TYPES = {"unanswerable", "binary", "long_answer"}
PROCESSED_ZIP, RAW = "MKQA_test-data.zip", "mkqa.jsonl.gz"
Questions = dict[str, tuple[str, list[str]]]  # qid -> (question, answers)


def read_processed(path: Path) -> Questions:
    out: Questions = {}
    queries: dict[str, str] = {}
    for line, rec in iter_jsonl(path):
        qid = add_query(queries, field(rec, "id", path, line), field(rec, "question", path, line), path, line)
        out[qid] = (queries[qid], _answers(field(rec, "answers", path, line), path, line))
    return out


def read_raw(path: Path, languages: list[str]) -> dict[str, Questions]:
    """lang -> questions, applying the BGE-M3 / Contriever filter to the raw aligned file."""
    out: dict[str, Questions] = {lang: {} for lang in languages}
    seen: set[str] = set()
    no_text = 0
    for line, rec in iter_jsonl(path):
        qid = identifier(field(rec, "example_id", path, line), "example_id", path, line)
        if qid in seen:
            raise DataFormatError(path, line, f"duplicate example_id {qid!r}")
        seen.add(qid)
        english = _english_answers(field(rec, "answers", path, line), path, line)
        if not english or english[-1].get("type") in DROPPED_TYPES:
            continue
        answers = [a for ans in english if ans.get("type") not in DROPPED_TYPES
                   for a in [*(ans.get("aliases") or []), ans.get("text")] if a]
        if not answers:
            no_text += 1
            continue
        texts = field(rec, "queries", path, line)
        if not isinstance(texts, dict):
            raise DataFormatError(path, line, "queries must be an object {lang: text}")
        for lang in languages:
            text = texts.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise DataFormatError(path, line, f"empty query text for {qid!r} in {lang}")
            out[lang][qid] = (text.strip(), _answers(answers, path, line))
    if no_text:
        log.warning("%s: %d kept questions have no answer string and are dropped", path, no_text)
    return out


def _english_answers(answers, path: Path, line: int) -> list[dict]:
    """The raw record's English answer objects, checked: {type, text, aliases} each."""
    if not isinstance(answers, dict):
        raise DataFormatError(path, line, "answers must be an object {lang: [answer, ...]}")
    english = answers.get("en") or []
    if not isinstance(english, list) or not all(isinstance(a, dict) for a in english):
        raise DataFormatError(path, line, "answers.en must be a list of answer objects")
    for a in english:
        aliases = a.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(x, str) for x in [*aliases, a.get("text") or ""]):
            raise DataFormatError(path, line, "answer text and aliases must be strings")
    return english


def _answers(answers, path: Path, line: int) -> list[str]:
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise DataFormatError(path, line, "answers must be a list of strings")
    if not any(a.strip() for a in answers):
        raise DataFormatError(path, line, "no non-empty answer")
    return answers


def load_questions(root: Path, languages: list[str], tmp: Path) -> tuple[dict[str, Questions], str]:
    """Per-language questions from whichever layout `root` holds, and which one it was."""
    if (root / RAW).exists() or (root / "mkqa.jsonl").exists():
        return read_raw(root / RAW if (root / RAW).exists() else root / "mkqa.jsonl", languages), "raw apple/mkqa"
    if all((root / f"{lang}.jsonl").exists() for lang in languages):
        return {lang: read_processed(root / f"{lang}.jsonl") for lang in languages}, "processed jsonl"
    require_files(root, [PROCESSED_ZIP], str(root))
    with zipfile.ZipFile(root / PROCESSED_ZIP) as archive:
        members = {Path(n).name: n for n in archive.namelist() if n.endswith(".jsonl")}
        missing = [f"{lang}.jsonl" for lang in languages if f"{lang}.jsonl" not in members]
        if missing:
            raise EvalkitError(f"{root / PROCESSED_ZIP}: no {missing[:3]} inside the archive")
        tmp.mkdir(parents=True, exist_ok=True)
        out = {}
        for lang in languages:   # extracted to the evalkit cache so errors can name file:line
            target = tmp / f"{lang}.jsonl"
            atomic_write_bytes(target, archive.read(members[f"{lang}.jsonl"]))
            out[lang] = read_processed(target)
    return out, "processed zip"


@BENCHMARKS.register("mkqa")
def load_mkqa(cfg: BenchmarkConfig) -> Benchmark:
    """MKQA (26 languages): answer-match judging over a shared corpus."""
    from evalkit.data.docstore import default_cache_dir

    if cfg.split != "test":
        raise EvalkitError(f"benchmark.split={cfg.split!r}: MKQA has only the test split")
    languages = check_languages(cfg.languages, KNOWN, cfg.name)
    source = cfg.source or "Shitao/bge-m3-data"
    root = resolve_dataset(source, [PROCESSED_ZIP, RAW], cfg.revision, "MKQA questions")
    cache = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    questions, layout = load_questions(root, languages, cache / "mkqa" / (dataset_revision(root) or "local"))
    corpus_root = resolve_dataset(cfg.corpus_source or "BeIR/nq", ["corpus.jsonl.gz"], None, "NQ corpus")
    corpus = corpus_root / "corpus.jsonl.gz"
    corpus = corpus if corpus.exists() or not (corpus_root / "corpus.jsonl").exists() else corpus_root / "corpus.jsonl"
    require_files(corpus_root, [corpus.name], cfg.corpus_source or "BeIR/nq")
    store = open_jsonl_store([corpus], Path(cfg.cache_dir) if cfg.cache_dir else None, id_field="_id",
                             title_field="title")
    counts = {lang: len(q) for lang, q in questions.items()}
    log.info("mkqa (%s): %s questions per language", layout, counts)
    return Benchmark(
        name=cfg.name,
        queries={lang: {qid: q for qid, (q, _) in qs.items()} for lang, qs in questions.items()},
        qrels={lang: {} for lang in languages},
        stores={lang: store for lang in languages},
        answers={lang: {qid: a for qid, (_, a) in qs.items()} for lang, qs in questions.items()},
        fingerprints={"corpus/nq": store.fingerprint},
        protocol={"split": "test", "pool": cfg.pool, "source": source, "layout": layout,
                  "revision": dataset_revision(root) or cfg.revision or "local",
                  "corpus_source": cfg.corpus_source or "BeIR/nq",
                  "relevance": "answer match (DPR has_answer on title + text); no qrels",
                  "metric_note": "answer_recall@k = share of queries with an answer-bearing passage in the top k"},
    )
