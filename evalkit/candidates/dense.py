"""Dense first stage: corpus embeddings (cached in shards, see embeddings.py) and exact inner-product search.

Search is a brute-force matrix product in blocks of corpus rows, keeping the best depth + 1 rows per query with
argpartition. The extra row shows whether the depth-th score is tied with the next one; only then the tied rows
are collected in a second pass, so that the cut follows the canonical order (score desc, then docid desc).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from evalkit.candidates import FIRST_STAGES
from evalkit.candidates.embeddings import EmbeddingShards, embed_corpora
from evalkit.checks import ConfigValueError, any_value, at_least, device, existing_path, one_of, optional, setting
from evalkit.config import DTYPES
from evalkit.contracts import Benchmark, Run, top_of
from evalkit.data.docstore import default_cache_dir
from evalkit.errors import EvalkitError
from evalkit.progress import Progress

if TYPE_CHECKING:
    from evalkit.candidates.encoder import Encoder

SCORES_PER_BLOCK = 1 << 25     # query x document products held at once (128 MiB of float32)


@dataclass
class DenseConfig:
    model: Optional[str] = setting(None, optional(existing_path("model directory")))
    revision: Optional[str] = setting(None, any_value)
    pooling: str = setting("cls", one_of("cls", "mean"))
    normalize: bool = setting(True, any_value)
    max_length: int = setting(8192, at_least(1))
    query_prefix: str = setting("", any_value)
    doc_prefix: str = setting("", any_value)
    batch_tokens: int = setting(16384, at_least(1))
    dtype: str = setting("auto", one_of(*DTYPES))
    device: str = setting("auto", device)
    shard_docs: int = setting(50_000, at_least(1))   # documents per on-disk embedding shard (the unit of resumption)


def _requires(tree: dict) -> None:
    if not tree["candidates"]["dense"]["model"]:
        raise ConfigValueError("candidates.dense.model", None, f"candidates={tree['candidates']['name']} needs a "
                               "dense encoder: candidates.dense.model=<hub id or local directory>")


def _blocks(shards: EmbeddingShards, n_queries: int, keep: int):
    rows = max(SCORES_PER_BLOCK // max(n_queries, 1), keep)
    for offset, matrix in shards:
        for start in range(0, matrix.shape[0], rows):
            yield offset + start, np.asarray(matrix[start:start + rows], dtype=np.float32)


def exact_search(queries: np.ndarray, shards: EmbeddingShards, depth: int,
                 desc: str = "dense search") -> list[dict[str, float]]:
    """Top-`depth` documents by inner product for each query row, ties in canonical order (progress: corpus rows
    searched for all the queries)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    keep = depth + 1
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    with Progress(int(shards.offsets[-1]), desc, "docs") as bar:
        for start, block in _blocks(shards, len(queries), keep):
            best_s, best_i = _merge_block(queries, start, block, keep, best_s, best_i)
            bar.update(len(block))
    order = np.argsort(-best_s, axis=1, kind="stable")
    best_s, best_i = np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)
    tied = [q for q in range(len(queries)) if best_s.shape[1] > depth and best_s[q, depth - 1] == best_s[q, depth]]
    extra = _tied_rows(queries, shards, keep, {q: best_s[q, depth - 1] for q in tied})
    hits = []
    for q in range(len(queries)):
        rows, scores = best_i[q, :depth], best_s[q, :depth]
        if q in extra:
            threshold = best_s[q, depth - 1]
            rows = np.concatenate([rows[scores > threshold], extra[q]])
            scores = np.concatenate([scores[scores > threshold], np.full(len(extra[q]), threshold)])
        hits.append((rows, scores))
    wanted = np.unique(np.concatenate([rows for rows, _ in hits])) if hits else np.zeros(0, dtype=np.int64)
    docid = dict(zip(wanted.tolist(), shards.docids(wanted)))
    return [top_of({docid[r]: float(s) for r, s in zip(rows.tolist(), scores)}, depth)
            for rows, scores in hits]


def _merge_block(queries: np.ndarray, start: int, block: np.ndarray, keep: int, best_s: np.ndarray,
                 best_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best `keep` (score, row) per query of the best so far and this block of corpus rows."""
    scores = queries @ block.T
    rows = np.broadcast_to(np.arange(start, start + len(block)), scores.shape)
    if len(block) > keep:
        part = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
        scores, rows = np.take_along_axis(scores, part, 1), start + part
    scores, rows = np.concatenate([best_s, scores], axis=1), np.concatenate([best_i, rows], axis=1)
    if scores.shape[1] > keep:
        part = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
        scores, rows = np.take_along_axis(scores, part, 1), np.take_along_axis(rows, part, 1)
    return scores, rows


def _tied_rows(queries: np.ndarray, shards: EmbeddingShards, keep: int,
               thresholds: dict[int, float]) -> dict[int, np.ndarray]:
    """Every row scoring exactly the threshold, for the queries tied at the cut (same products as the first pass)."""
    if not thresholds:
        return {}
    found: dict[int, list[np.ndarray]] = {q: [] for q in thresholds}
    for start, block in _blocks(shards, len(queries), keep):
        scores = queries @ block.T
        for q, threshold in thresholds.items():
            found[q].append(start + np.flatnonzero(scores[q] == threshold))
    return {q: np.concatenate(parts) for q, parts in found.items()}


def build_encoder(cfg: Any, progress: bool | None = None) -> Encoder:
    from evalkit.candidates.encoder import Encoder, EncoderSettings   # torch and transformers, on use
    from evalkit.models.device import resolve_device_dtype
    from evalkit.models.loading import load_encoder

    dense = cfg.dense
    if not dense.model:
        raise EvalkitError("candidates.dense.model: required (a hub id or a local directory)")
    device, dtype = resolve_device_dtype(dense.device, dense.dtype)
    loaded = load_encoder(dense.model, revision=dense.revision, dtype=dtype, device=device)
    return Encoder(loaded, EncoderSettings(dense.max_length, dense.pooling, dense.normalize, dense.batch_tokens,
                                           device), progress=progress)


@FIRST_STAGES.register("dense", config=DenseConfig, requires=_requires)
def dense_stage(benchmark: Benchmark, cfg: Any, executor: Any = None) -> dict[str, Run]:
    """A bi-encoder (CLS or mean pooling) and exact inner-product search over the whole corpus."""
    return dense_candidates(benchmark, cfg, executor=executor)


def dense_candidates(benchmark: Benchmark, cfg: Any, cache_dir: Path | None = None,
                     executor: Any = None) -> dict[str, Run]:
    """`executor`: an `evalkit.executors.Executor` (e.g. a Ray actor pool encodes corpus and queries);
    None encodes in this process."""
    if executor is None:
        return _search_all(benchmark, cfg, build_encoder(cfg), cache_dir)
    with executor.session():
        return _search_all(benchmark, cfg, executor.dense_encoder(cfg), cache_dir)


def _search_all(benchmark: Benchmark, cfg: Any, encoder, cache_dir: Path | None) -> dict[str, Run]:
    dense, doc_sep = cfg.dense, benchmark.protocol.get("doc_sep", " ")
    stores = list({id(benchmark.stores[lang]): benchmark.stores[lang] for lang in benchmark.queries}.values())
    embedded = embed_corpora(stores, encoder, dense.doc_prefix, doc_sep, dense.shard_docs,
                             cache_dir or default_cache_dir(), encoder.fingerprint(dense.doc_prefix))
    shards = {id(store): e for store, e in zip(stores, embedded)}   # languages sharing a corpus share embeddings
    qids = {lang: list(queries) for lang, queries in benchmark.queries.items()}
    groups = [(f"queries {lang}", [benchmark.queries[lang][q] for q in qids[lang]]) for lang in qids]
    runs: dict[str, Run] = {}
    for lang, (_, vectors) in zip(qids, encoder.encode_groups(groups, dense.query_prefix)):
        hits = (exact_search(vectors, shards[id(benchmark.stores[lang])], cfg.depth, f"dense search [{lang}]")
                if qids[lang] else [])
        runs[lang] = dict(zip(qids[lang], hits))
    return runs
