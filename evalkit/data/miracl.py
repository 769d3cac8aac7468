"""MIRACL in its official layout (Hugging Face `miracl/miracl` + `miracl/miracl-corpus`, or the same on disk).

The bundled sample benchmark uses this layout too, so one loader reads both.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from evalkit.config import BenchmarkConfig
from evalkit.contracts import Benchmark
from evalkit.data.docstore import open_jsonl_store
from evalkit.data.hub import dataset_revision, resolve_dataset
from evalkit.data.trec import read_qrels, read_topics
from evalkit.data.validate import check_qrels
from evalkit.errors import EvalkitError

log = logging.getLogger(__name__)
LANGUAGES = ["ar", "bn", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te", "th", "zh", "de", "yo"]
TOPICS = "miracl-v1.0-{lang}/topics/topics.miracl-v1.0-{lang}-{split}.tsv"
QRELS = "miracl-v1.0-{lang}/qrels/qrels.miracl-v1.0-{lang}-{split}.tsv"
CORPUS = "miracl-corpus-v1.0-{lang}"


def available_languages(root: Path) -> list[str]:
    return sorted(m.group(1) for p in root.glob("miracl-v1.0-*") if (m := re.fullmatch(r"miracl-v1\.0-(\w+)", p.name)))


def load_miracl_layout(cfg: BenchmarkConfig, topics_root: Path, corpus_root: Path, known: list[str]) -> Benchmark:
    languages = list(cfg.languages) if cfg.languages else known
    unknown = [lang for lang in languages if lang not in known]
    if unknown:
        raise EvalkitError(f"benchmark.languages: unknown language(s) {unknown} for {cfg.name}; known: {known}")
    queries, qrels, stores, fingerprints = {}, {}, {}, {}
    for lang in languages:
        topics_file = topics_root / TOPICS.format(lang=lang, split=cfg.split)
        qrels_file = topics_root / QRELS.format(lang=lang, split=cfg.split)
        shards = sorted((corpus_root / CORPUS.format(lang=lang)).glob("docs-*.jsonl*"), key=_shard_number)
        if not shards:
            raise EvalkitError(f"no corpus shards docs-*.jsonl.gz under {corpus_root / CORPUS.format(lang=lang)}")
        queries[lang] = read_topics(topics_file)
        qrels[lang] = read_qrels(qrels_file)
        stores[lang] = open_jsonl_store(shards, Path(cfg.cache_dir) if cfg.cache_dir else None)
        check_qrels(lang, queries[lang], qrels[lang], stores[lang], qrels_file, cfg.missing_docs)
        fingerprints[f"corpus/{lang}"] = stores[lang].fingerprint
    return Benchmark(
        name=cfg.name, queries=queries, qrels=qrels, stores=stores, fingerprints=fingerprints,
        protocol={"split": cfg.split, "pool": cfg.pool, "source": str(cfg.source or topics_root),
                  "revision": dataset_revision(topics_root) or cfg.revision or "local"},
    )


def load_miracl(cfg: BenchmarkConfig) -> Benchmark:
    languages = list(cfg.languages or LANGUAGES)
    topics_root = resolve_dataset(cfg.source or "miracl/miracl",
                                  [f"miracl-v1.0-{lang}/*/*-{cfg.split}.tsv" for lang in languages], cfg.revision,
                                  "topics and qrels")
    corpus_root = resolve_dataset(cfg.corpus_source or cfg.source or "miracl/miracl-corpus",
                                  [f"{CORPUS.format(lang=lang)}/*" for lang in languages], None, "corpus")
    return load_miracl_layout(cfg, topics_root, corpus_root, LANGUAGES)


def load_sample(cfg: BenchmarkConfig) -> Benchmark:
    root = Path(cfg.source) if cfg.source else Path(__file__).resolve().parent.parent / "sample_data"
    if not root.is_dir():
        raise EvalkitError(f"sample benchmark directory not found: {root}")
    return load_miracl_layout(cfg, root, root, available_languages(root))


def _shard_number(path: Path) -> int:
    m = re.search(r"(\d+)", path.name)
    return int(m.group(1)) if m else -1
