"""BGE-M3's five retrieval modes as first stages (`candidates.name=m3`, `candidates.m3.mode`), as the paper runs them:

- dense: exact inner-product search over the whole corpus (the dense stage's search, on the index's vectors);
- sparse: lexical-weight search over the whole corpus (evalkit.m3.sparse_search, an inverted index);
- dense_sparse: dense and sparse top-`fusion_depth` (1000) lists, fused by compute_score's weighted mean of the
  two scores, a document missing from one list taking 0 from it (FlagEmbedding's hybrid search script);
- multi_vec: dense top-`rerank_depth` (200) re-ranked by the multi-vector score;
- all: dense top-`rerank_depth` re-ranked by the weighted mean of dense, sparse and multi-vector scores.
Weights are `candidates.m3.weights` = [dense, sparse, colbert] (FlagEmbedding's weights_for_different_modes).
One corpus index (dense vectors + lexical weights, resumable shards) serves every mode.
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from evalkit.candidates import FIRST_STAGES
from evalkit.candidates.dense import exact_search
from evalkit.checks import any_value, at_least, device, existing_path, hybrid_weights, one_of, optional, setting
from evalkit.config import DTYPES
from evalkit.contracts import Benchmark, Run
from evalkit.data.docstore import default_cache_dir
from evalkit.data.trec import cut
from evalkit.errors import EvalkitError
from evalkit.m3.scores import MODES, check_weights, combine

log = logging.getLogger(__name__)


@dataclass
class M3Config:
    model: Optional[str] = setting("BAAI/bge-m3", optional(existing_path("model directory")))
    revision: Optional[str] = setting(None, any_value)
    mode: str = setting("dense", one_of(*MODES))   # dense | sparse | multi_vec | dense_sparse | all
    weights: list[float] = setting(check=lambda v: None if len(v) == 3 and not hybrid_weights(v) else
                                   "three non-negative weights [dense, sparse, colbert], not all zero",
                                   factory=lambda: [1.0, 0.3, 1.0])   # [dense, sparse, colbert]
    max_length: int = setting(8192, at_least(1))        # documents
    query_max_length: int = setting(512, at_least(1))
    fusion_depth: int = setting(1000, at_least(1))      # dense_sparse: depth of each fused list
    rerank_depth: int = setting(200, at_least(1))       # multi_vec, all: dense candidates re-ranked
    window_queries: int = setting(256, at_least(1))     # multi_vec, all: queries whose candidates are encoded together
    batch_tokens: int = setting(16384, at_least(1))
    dtype: str = setting("auto", one_of(*DTYPES))
    device: str = setting("auto", device)
    shard_docs: int = setting(50_000, at_least(1))      # documents per index shard (the unit of resumption)


def build_m3_encoder(m3: Any, progress: bool | None = None):
    from evalkit.m3.encoder import M3Encoder, M3Settings
    from evalkit.m3.loading import load_m3
    from evalkit.models.device import resolve_device_dtype

    if not m3.model:
        raise EvalkitError("candidates.m3.model: required (a hub id or a local directory)")
    device, dtype = resolve_device_dtype(m3.device, m3.dtype)
    loaded = load_m3(m3.model, revision=m3.revision, dtype=dtype, device=device)
    return M3Encoder(loaded, M3Settings(m3.max_length, m3.query_max_length, m3.batch_tokens, device),
                     progress=progress)


def fuse_dense_sparse(dense: dict[str, float], sparse: dict[str, float], score) -> dict[str, float]:
    """One query's dense and sparse lists fused by `score(s_dense, s_sparse)`, a document missing from a list
    taking 0 from it (BGE-M3: compute_score's weighted mean; mGTE: s_dense + w * s_sparse)."""
    return {d: float(score(dense.get(d, 0.0), sparse.get(d, 0.0))) for d in dict.fromkeys([*dense, *sparse])}


def _check(cfg: Any) -> None:
    m3 = cfg.m3
    if m3.mode not in MODES:
        raise EvalkitError(f"candidates.m3.mode={m3.mode!r} is not one of {MODES}")
    check_weights(list(m3.weights))
    for key in ("fusion_depth", "rerank_depth"):
        if getattr(m3, key) < cfg.depth:
            raise EvalkitError(f"candidates.m3.{key}={getattr(m3, key)} is below candidates.depth={cfg.depth}")


@FIRST_STAGES.register("m3", config=M3Config)
def m3_candidates(benchmark: Benchmark, cfg: Any, executor: Any = None,
                  cache_dir: Path | None = None, encoder=None) -> dict[str, Run]:
    """BGE-M3's five retrieval modes (dense, sparse, multi_vec, dense_sparse, all) over one corpus index.

    `executor`: an `evalkit.executors.Executor` (under ray an actor pool encodes the corpus index)."""
    _check(cfg)
    if encoder is None:
        encoder = executor.m3_encoder(cfg) if executor is not None else build_m3_encoder(cfg.m3)
    with executor.session() if executor is not None else nullcontext():
        return index_runs(benchmark, cfg, cfg.m3, encoder, cache_dir,
                          lambda d, s: combine(d, s, None, cfg.m3.weights), "m3")


def index_runs(benchmark: Benchmark, cfg: Any, m3: Any, encoder, cache_dir: Path | None, fuse,
               name: str) -> dict[str, Run]:
    """Every mode's run from one corpus index (dense vectors + lexical weights): the one place BGE-M3 and mGTE
    search. `m3` is the stage's section (mode, depths, lengths, shard size); `fuse(s_dense, s_sparse)` is the
    model's dense+sparse score; `name` labels the protocol entry (`<name>_model`) and progress."""
    from evalkit.m3.index import index_corpora
    from evalkit.m3.rescore import rescore
    from evalkit.m3.sparse_search import sparse_search

    mode, doc_sep = m3.mode, benchmark.protocol.get("doc_sep", " ")
    info = encoder.info
    benchmark.protocol[f"{name}_model"] = (f"{info['model']} (commit {info.get('commit')}, weights "
                                         f"{info['weights_hash'][:12]}, heads {info['heads_hash'][:12]}, "
                                         f"{info['dtype']})")
    stores = list({id(benchmark.stores[lang]): benchmark.stores[lang] for lang in benchmark.queries}.values())
    indexes = dict(zip(map(id, stores), index_corpora(stores, encoder, doc_sep, m3.shard_docs,
                                                      cache_dir or default_cache_dir())))
    runs: dict[str, Run] = {}
    for lang, queries in benchmark.queries.items():
        qids, index = list(queries), indexes[id(benchmark.stores[lang])]
        reps = encoder.encode([queries[q] for q in qids], m3.query_max_length, colbert=mode in ("multi_vec", "all"),
                              desc=f"{name} queries {lang}")
        if not qids:
            runs[lang] = {}
            continue
        depth = (cfg.depth if mode in ("dense", "sparse") else m3.fusion_depth if mode == "dense_sparse"
                 else m3.rerank_depth)
        dense = (dict(zip(qids, exact_search(reps.dense, index, depth, f"{name} dense search [{lang}]")))
                 if mode != "sparse" else {})
        sparse = dict(zip(qids, sparse_search(reps.sparse, index, depth))) if mode in ("sparse", "dense_sparse") else {}
        if mode == "dense":
            run = dense
        elif mode == "sparse":
            run = sparse
        elif mode == "dense_sparse":
            run = {q: fuse_dense_sparse(dense[q], sparse[q], fuse) for q in qids}
        else:
            run = rescore(encoder, qids, reps, dense, benchmark.stores[lang], doc_sep, mode, m3.weights,
                          m3.window_queries)
        runs[lang] = cut({q: run.get(q, {}) for q in qids}, cfg.depth)
    return runs
