"""MIRACL v1.0 in its official layout (Hugging Face `miracl/miracl` + `miracl/miracl-corpus`, or the same on disk).

Topics `qid<TAB>query`, TREC qrels keeping rel=0 judged negatives, corpus shards `docs-{i}.jsonl.gz` served by the
memory-mapped document store. The bundled sample benchmark uses this layout too, so one loader reads both.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from evalkit.config import BenchmarkConfig
from evalkit.data import BENCHMARKS
from evalkit.contracts import Benchmark
from evalkit.data.docstore import open_jsonl_store
from evalkit.data.hub import dataset_revision, is_local, require_files, resolve_dataset
from evalkit.data.trec import read_qrels, read_topics
from evalkit.data.validate import check_languages, check_qrels, count_empty_documents
from evalkit.errors import EvalkitError

log = logging.getLogger(__name__)
LANGUAGES = ["ar", "bn", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te", "th", "zh", "de", "yo"]
SHARDS = {"ar": 5, "bn": 1, "en": 66, "es": 21, "fa": 5, "fi": 4, "fr": 30, "hi": 2, "id": 3, "ja": 14, "ko": 3,
          "ru": 20, "sw": 1, "te": 2, "th": 2, "zh": 10, "de": 32, "yo": 1}
SPLITS = ["train", "dev", "test-a", "test-b"]
TOPICS = "miracl-v1.0-{lang}/topics/topics.miracl-v1.0-{lang}-{split}.tsv"
QRELS = "miracl-v1.0-{lang}/qrels/qrels.miracl-v1.0-{lang}-{split}.tsv"
CORPUS = "miracl-corpus-v1.0-{lang}"


def available_languages(root: Path) -> list[str]:
    return sorted(m.group(1) for p in root.glob("miracl-v1.0-*") if (m := re.fullmatch(r"miracl-v1\.0-(\w+)", p.name)))


def corpus_shards(corpus_root: Path, lang: str, strict: bool) -> list[Path]:
    """The language's shards in numeric order; a hub snapshot must hold all of them (a partial one loses docs)."""
    shards = sorted((corpus_root / CORPUS.format(lang=lang)).glob("docs-*.jsonl*"), key=_shard_number)
    if not shards:
        require_files(corpus_root, [f"{CORPUS.format(lang=lang)}/docs-0.jsonl.gz"], str(corpus_root))
    if strict and lang in SHARDS and len(shards) != SHARDS[lang]:
        raise EvalkitError(f"{corpus_root / CORPUS.format(lang=lang)}: {len(shards)} corpus shards, MIRACL v1.0 {lang} "
                           f"has {SHARDS[lang]}; the download is incomplete")
    return shards


def load_miracl_layout(cfg: BenchmarkConfig, topics_root: Path, corpus_root: Path, known: list[str]) -> Benchmark:
    languages = check_languages(cfg.languages, known, cfg.name)
    files = [f.format(lang=lang, split=cfg.split) for lang in languages for f in (TOPICS, QRELS)]
    require_files(topics_root, files, str(cfg.source or topics_root))
    strict = dataset_revision(corpus_root) is not None
    queries, qrels, stores, fingerprints, counts = {}, {}, {}, {}, {}
    for lang in languages:
        qrels_file = topics_root / QRELS.format(lang=lang, split=cfg.split)
        queries[lang] = read_topics(topics_root / TOPICS.format(lang=lang, split=cfg.split))
        qrels[lang] = read_qrels(qrels_file)
        stores[lang] = open_jsonl_store(corpus_shards(corpus_root, lang, strict),
                                        Path(cfg.cache_dir) if cfg.cache_dir else None)
        counts[lang] = check_qrels(lang, queries[lang], qrels[lang], stores[lang], qrels_file, cfg.missing_docs)
        if empty := count_empty_documents(stores[lang]):
            log.warning("[%s] %d corpus passages have neither title nor text", lang, empty)
        fingerprints[f"corpus/{lang}"] = stores[lang].fingerprint
    log.info("%s %s: %s", cfg.name, cfg.split, {lang: len(q) for lang, q in queries.items()})
    return Benchmark(
        name=cfg.name, queries=queries, qrels=qrels, stores=stores, fingerprints=fingerprints,
        protocol={"split": cfg.split, "pool": cfg.pool, "source": str(cfg.source or topics_root),
                  "corpus_source": str(corpus_root),
                  "revision": dataset_revision(topics_root) or cfg.revision or "local",
                  "missing_docs": {lang: c["missing_docs"] for lang, c in counts.items() if c["missing_docs"]}},
    )


@BENCHMARKS.register("miracl")
def load_miracl(cfg: BenchmarkConfig) -> Benchmark:
    """MIRACL v1.0 (18 languages) from the hub or a local copy of its layout."""
    if cfg.split not in SPLITS:
        raise EvalkitError(f"benchmark.split={cfg.split!r} is not a MIRACL split {SPLITS} (the papers use dev)")
    if cfg.split.startswith("test"):
        raise EvalkitError(f"benchmark.split={cfg.split}: MIRACL test splits have no public qrels; use dev")
    languages = check_languages(cfg.languages, LANGUAGES, cfg.name)
    source = cfg.source or "miracl/miracl"
    topics_root = resolve_dataset(source, [f"miracl-v1.0-{lang}/*/*-{cfg.split}.tsv" for lang in languages],
                                  cfg.revision, "topics and qrels")
    corpus_source = cfg.corpus_source or (source if is_local(source) else "miracl/miracl-corpus")
    corpus_root = resolve_dataset(corpus_source, [f"{CORPUS.format(lang=lang)}/*" for lang in languages], None,
                                  "corpus")
    return load_miracl_layout(cfg, topics_root, corpus_root, LANGUAGES)


@BENCHMARKS.register("sample")
def load_sample(cfg: BenchmarkConfig) -> Benchmark:
    """The bundled 10-language sample in MIRACL's layout (offline)."""
    root = Path(cfg.source) if cfg.source else Path(__file__).resolve().parent.parent / "sample_data"
    if not root.is_dir():
        raise EvalkitError(f"sample benchmark directory not found: {root}")
    return load_miracl_layout(cfg, root, root, available_languages(root))


def _shard_number(path: Path) -> int:
    m = re.search(r"(\d+)", path.name)
    return int(m.group(1)) if m else -1
