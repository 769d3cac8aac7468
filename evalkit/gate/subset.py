"""Frozen CI subsets: a few queries per language with their first-stage pools and just the texts they need.

`evalkit subset create --run RUN_DIR --name NAME --per-language N --seed S` cuts one from a full run;
`benchmark.subset=NAME` then loads results/subsets/NAME/ (or a directory path) instead of the benchmark, and
the candidates come from the saved pools, so a CI job reranks without the full corpus or a first-stage index.

Layout: subset.json (what it was cut from, seed, strata) and per language `{lang}/topics.tsv`, `qrels.tsv`,
`pool.trec` (the source run's first stage), `docs.jsonl.gz` (pool and judged documents), `answers.jsonl` (MKQA).
Queries are drawn per language, stratified by length bucket (largest-remainder allocation), with a seeded
generator per language, so the same run, N and seed always give the same files.
"""
from __future__ import annotations

import gzip
import json
import logging
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from evalkit.config import BenchmarkConfig, CandidatesConfig
from evalkit.contracts import Benchmark, Run
from evalkit.data import load_benchmark
from evalkit.data.docstore import open_jsonl_store
from evalkit.data.trec import cut, format_run, read_qrels, read_run, read_topics
from evalkit.data.validate import field, iter_jsonl
from evalkit.errors import EvalkitError
from evalkit.storage.artefact import publish_dir, require_artefact
from evalkit.gate.provenance import candidate_settings

log = logging.getLogger(__name__)
ROOT = Path("results") / "subsets"
META = "subset.json"
KIND, VERSION = "subset", 1


def subset_dir(name: str, root: Path = ROOT) -> Path:
    """A subset by name (under results/subsets, relative to the working directory) or by directory path."""
    path = Path(name) if Path(name).is_dir() else root / name
    if not (path / META).is_file():
        raise EvalkitError(f"benchmark.subset={name!r}: no {META} in {path.resolve()}")
    return path


def _meta(path: Path) -> dict:
    """subset.json, checked for the keys a load needs (a damaged one names the file and the key)."""
    file = path / META
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalkitError(f"{file}: not valid JSON ({exc.__class__.__name__})") from None
    needed = {"languages": list, "benchmark": dict, "candidates": dict}
    for key, kind in needed.items():
        if not isinstance(meta, dict) or not isinstance(meta.get(key), kind):
            raise EvalkitError(f"{file}: key {key!r} missing or not a {kind.__name__}")
    for key in ("name", "split", "pool", "protocol"):
        if key not in meta["benchmark"]:
            raise EvalkitError(f"{file}: key 'benchmark.{key}' missing")
    return meta


def load_subset(cfg: BenchmarkConfig) -> Benchmark:
    path = subset_dir(cfg.subset)
    require_artefact(path, KIND, VERSION)            # MANIFEST.json: sizes and sha256 of every file
    meta = _meta(path)
    for key in ("name", "split", "pool"):
        if getattr(cfg, key) != meta["benchmark"][key]:
            raise EvalkitError(f"benchmark.subset={cfg.subset!r} was cut from benchmark.{key}="
                               f"{meta['benchmark'][key]!r}, not {getattr(cfg, key)!r}")
    languages = list(cfg.languages) if cfg.languages else meta["languages"]
    unknown = sorted(set(languages) - set(meta["languages"]))
    if unknown:
        raise EvalkitError(f"benchmark.languages: {unknown} not in subset {cfg.subset!r} ({meta['languages']})")
    queries, qrels, stores, answers, fingerprints = {}, {}, {}, {}, {}
    for lang in languages:
        queries[lang] = read_topics(path / lang / "topics.tsv")
        qrels[lang] = read_qrels(path / lang / "qrels.tsv")
        stores[lang] = open_jsonl_store([path / lang / "docs.jsonl.gz"], Path(cfg.cache_dir) if cfg.cache_dir else None)
        fingerprints[f"subset/{lang}"] = stores[lang].fingerprint
        if (path / lang / "answers.jsonl").is_file():
            file = path / lang / "answers.jsonl"
            answers[lang] = {str(field(r, "qid", file, n)): field(r, "answers", file, n) for n, r in iter_jsonl(file)}
    protocol = {**meta["benchmark"]["protocol"], "subset": meta["name"]}
    return Benchmark(name=cfg.name, queries=queries, qrels=qrels, stores=stores, answers=answers or None,
                     protocol=protocol, fingerprints=fingerprints)


def subset_pools(bcfg: BenchmarkConfig, ccfg: CandidatesConfig, benchmark: Benchmark) -> dict[str, Run]:
    """The saved first-stage pools, cut to candidates.depth; the candidates config must be the one they came from."""
    path = subset_dir(bcfg.subset)
    saved = _meta(path)["candidates"]
    asked = candidate_settings(OmegaConf.to_container(ccfg, resolve=True))
    for key in sorted(set(saved) | set(asked)):
        if key != "depth" and saved.get(key) != asked.get(key):
            raise EvalkitError(f"benchmark.subset={bcfg.subset!r} holds pools of candidates.{key}={saved.get(key)!r}, "
                               f"not {asked.get(key)!r}")
    if ccfg.depth > saved["depth"]:
        raise EvalkitError(f"candidates.depth={ccfg.depth} exceeds the depth of subset {bcfg.subset!r} "
                           f"({saved['depth']})")
    pools = {}
    for lang, queries in benchmark.queries.items():
        run = cut(read_run(path / lang / "pool.trec", set(queries)), ccfg.depth)
        pools[lang] = {q: run.get(q, {}) for q in queries}
    return pools


def stratified_sample(buckets: pd.Series, n: int, seed: int, lang: str) -> list[str]:
    """`n` qids (index of `buckets`) drawn per bucket in proportion to its size (largest remainder)."""
    groups = {b: sorted(ids) for b, ids in buckets.groupby(buckets).groups.items()}
    total = len(buckets)
    n = min(n, total)
    quota = {b: n * len(ids) / total for b, ids in groups.items()}
    take = {b: int(q) for b, q in quota.items()}
    for b in sorted(quota, key=lambda b: (-(quota[b] - take[b]), str(b)))[: n - sum(take.values())]:
        take[b] += 1
    rng = np.random.default_rng([seed, zlib.crc32(lang.encode())])
    return [q for b in sorted(groups, key=str) for q in rng.choice(groups[b], size=take[b], replace=False).tolist()]


def create_subset(run_dir: Path, name: str, per_language: int, seed: int, root: Path = ROOT) -> Path:
    run_dir = Path(run_dir)
    for needed in ("config.yaml", "per_query.parquet"):
        if not (run_dir / needed).is_file():
            raise EvalkitError(f"--run {run_dir}: {needed} not found (is it an evalkit run directory?)")
    cfg = OmegaConf.load(run_dir / "config.yaml")
    bcfg = OmegaConf.merge(OmegaConf.structured(BenchmarkConfig), cfg.benchmark)
    benchmark = load_benchmark(bcfg, load_subset if bcfg.subset else None)
    table = pd.read_parquet(run_dir / "per_query.parquet")
    first = table[table["system"] == "first_stage"].drop_duplicates(["lang", "qid"])
    out = root / name
    if out.exists():
        raise EvalkitError(f"subset {out} already exists: subsets are frozen, pick another --name or delete it")
    strata: dict[str, dict[str, int]] = {}
    chosen: dict[str, list[str]] = {}
    for lang in benchmark.languages:
        rows = first[first["lang"] == lang].set_index("qid")["bucket"]
        drawn = set(stratified_sample(rows, per_language, seed, lang))
        strata[lang] = {str(b): int(c) for b, c in rows[rows.index.isin(drawn)].value_counts().sort_index().items()}
        chosen[lang] = [q for q in benchmark.queries[lang] if q in drawn]
    manifest = json.loads((run_dir / "manifest.json").read_text()) if (run_dir / "manifest.json").is_file() else {}
    meta = {"name": name, "source_run": str(run_dir), "source_config_hash": manifest.get("environment", {}).get(
                "config_hash"), "seed": seed, "per_language": per_language,
            "languages": benchmark.languages, "strata": strata,
            "benchmark": {"name": bcfg.name, "split": bcfg.split, "pool": bcfg.pool,
                          "protocol": {k: v for k, v in benchmark.protocol.items() if k != "subset"}},
            "candidates": candidate_settings(OmegaConf.to_container(cfg.candidates, resolve=True))}

    def build(tmp: Path) -> dict:     # a temporary directory, published under `out` only when complete
        for lang in benchmark.languages:
            _write_language(tmp / lang, benchmark, lang, chosen[lang],
                            read_run(run_dir / "runs" / f"first_stage.{lang}.trec"))
        (tmp / META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return {"counts": {lang: len(q) for lang, q in chosen.items()}}

    publish_dir(out, KIND, VERSION, build, replace=False)
    log.info("wrote subset %s (%d languages)", out, len(strata))
    return out


def _write_language(out: Path, benchmark: Benchmark, lang: str, qids: list[str], pool: Run) -> None:
    out.mkdir(parents=True, exist_ok=True)
    queries, qrels = benchmark.queries[lang], benchmark.qrels.get(lang, {})
    (out / "topics.tsv").write_text("".join(f"{q}\t{queries[q]}\n" for q in qids), encoding="utf-8")
    judged = "".join(f"{q}\tQ0\t{d}\t{g}\n" for q in qids for d, g in sorted(qrels.get(q, {}).items()))
    (out / "qrels.tsv").write_text(judged, encoding="utf-8")
    (out / "pool.trec").write_text(format_run({q: pool.get(q, {}) for q in qids}, "pool", qids), encoding="utf-8")
    store = benchmark.stores[lang]
    docids = sorted({d for q in qids for d in pool.get(q, {})} | {d for q in qids for d in qrels.get(q, {})})
    if hasattr(store, "contains"):
        docids = sorted(store.contains(docids))
    with open(out / "docs.jsonl.gz", "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        for doc in store.get(docids):
            f.write((json.dumps({"docid": doc.docid, "title": doc.title, "text": doc.text}, ensure_ascii=False)
                     + "\n").encode("utf-8"))
    if benchmark.answers is not None:
        lines = [json.dumps({"qid": q, "answers": benchmark.answers[lang][q]}, ensure_ascii=False) for q in qids]
        (out / "answers.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    from evalkit.commands import parser as command_parser

    parser = command_parser("subset")
    args = parser.parse_args(argv)
    try:
        path = create_subset(args.run, args.name, args.per_language, args.seed, args.root)
    except EvalkitError as exc:
        parser.exit(2, f"evalkit subset: error: {exc}\n")
    sys.stdout.write(f"{path}\n")
    return 0
