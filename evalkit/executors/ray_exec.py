"""executor=ray: cross-encoder scoring and dense encoding on a Ray Data actor pool, with executor=local's results.

The driver dedupes pairs and reads the pair cache exactly as `CrossEncoder.score` does; only the pairs still
missing travel, longest first, as blocks of `block_pairs` rows to `num_actors` actors. Each actor holds one
model (its own cache off) and runs the engine's length-sorted token-budget batching over its block. Every row
carries its position, so results are put back by position whatever order blocks finish in; the driver writes
them into the pair cache as they stream back and checks that each missing pair came back exactly once, from a
model with the driver's fingerprint. A dead actor is restarted and its block retried (`max_retries`).
`RayEncoder` does the same for texts -> embeddings (corpus shards and queries of candidates=dense); the
embedding shards are written by the driver, so a killed run resumes from the last complete shard as locally.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import time
import warnings
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa

from evalkit.config import CandidatesConfig, ExecutorConfig, RerankerConfig
from evalkit.errors import EvalkitError
from evalkit.models.device import resolve_device_dtype
from evalkit.rerank.decoder import build_local_scorer
from evalkit.rerank.engine import EngineStats, cached_scores

log = logging.getLogger(__name__)
COUNTERS = ("batches", "tokens", "padded_tokens")   # per-block engine counters, summed on the driver


@dataclasses.dataclass
class RemoteStats:
    """Where the remote time went (clock times of the driver and actors: exact on one machine)."""
    blocks: int = 0
    startup_seconds: float = 0.0     # until an actor starts its first block: pool start-up, model load
    actor_seconds: float = 0.0       # actors scoring, summed over blocks
    idle_seconds: float = 0.0        # actors waiting between two of their blocks (the per-block overhead)
    remote_seconds: float = 0.0      # start to last block back

    def add(self, clock: float, blocks: list[tuple[int, float, float]], end: float) -> None:
        """`blocks`: (actor pid, started, finished) of each block; `clock`, `end`: the driver's start and end."""
        self.blocks += len(blocks)
        self.startup_seconds += min(b[1] for b in blocks) - clock
        self.actor_seconds += sum(b[2] - b[1] for b in blocks)
        for pid in {b[0] for b in blocks}:
            mine = sorted(b[1:] for b in blocks if b[0] == pid)
            self.idle_seconds += sum(max(nxt[0] - cur[1], 0.0) for cur, nxt in zip(mine, mine[1:]))
        self.remote_seconds += end - clock


def plain_config(cfg: Any, kind: type) -> Any:
    """A dataclass instance from a Hydra node (or the dataclass itself): picklable, and `replace`-able."""
    if isinstance(cfg, kind):
        return cfg
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig) and OmegaConf.get_type(cfg) is not dict:
        return OmegaConf.to_object(cfg)   # the schema's own dataclass, with every entry's section
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(kind), cfg))   # nested dataclasses too


@contextlib.contextmanager
def ray_session(address: str | None):
    """Ray started (and stopped after) unless it is already running: one start-up for many calls."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def map_on_actor_pool(table: pa.Table, actor_class: type, actor_kwargs: dict, ex: ExecutorConfig):
    """`table` in blocks of `ex.block_pairs` rows through `num_actors` instances of `actor_class` (a Ray Dataset)."""
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = sys.stderr.isatty()
    blocks = [table.slice(k, ex.block_pairs) for k in range(0, len(table), ex.block_pairs)]
    log.info("executor=ray: %d rows in %d blocks on %d actor(s)", len(table), len(blocks), ex.num_actors)
    with warnings.catch_warnings():   # Ray Data has no named parameter for bounded actor retries yet
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        return ray.data.from_arrow(blocks).map_batches(
            actor_class, fn_constructor_kwargs=actor_kwargs, batch_size=ex.block_pairs, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=ex.num_actors), num_cpus=ex.cpus_per_actor,
            num_gpus=ex.gpus_per_actor, max_restarts=ex.max_retries, max_task_retries=ex.max_retries)


def _check_block(out: dict[str, np.ndarray], seen: np.ndarray, fingerprint: str) -> np.ndarray:
    """The block's row positions, after checking its model fingerprint and that no row came back twice."""
    stray = set(out["fingerprint"].tolist()) - {fingerprint}
    if stray:
        raise EvalkitError(f"executor=ray: an actor's model differs from the driver's (fingerprint "
                           f"{sorted(stray)[0][:12]} != {fingerprint[:12]}): same weights on every node?")
    rows = out["row"]
    if seen[rows].any() or len(np.unique(rows)) != len(rows):
        raise EvalkitError("executor=ray: a row came back twice")
    seen[rows] = True
    return rows


def _device_dtype(executor: ExecutorConfig, device: str, dtype: str, key: str) -> tuple[str, str]:
    """The actors' device (cuda when they hold GPUs) and resolved dtype; `key` names the config group."""
    actors = "cuda" if executor.gpus_per_actor > 0 else "cpu"
    if device not in ("auto", actors):
        raise EvalkitError(f"{key}.device={device} conflicts with executor.gpus_per_actor="
                           f"{executor.gpus_per_actor} (executor=ray picks the actors' device)")
    return actors, resolve_device_dtype(actors, dtype)[1]


def _set_threads(device: str, cpus: float) -> None:
    if device == "cpu":
        import torch

        torch.set_num_threads(max(int(cpus), 1))


class ScoreActor:
    """One model per actor: scores a block of pairs with the engine's own sorting and token-budget batching."""

    def __init__(self, reranker: RerankerConfig, cpus: float):
        _set_threads(reranker.device, cpus)
        self.encoder = build_local_scorer(reranker, progress=False)

    def __call__(self, block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        encoder, before, started = self.encoder, dataclasses.asdict(self.encoder.stats), time.time()
        scores = encoder.score(list(zip(block["query"].tolist(), block["doc"].tolist())))
        out = {"row": block["row"], "score": scores, "fingerprint": np.full(len(scores), encoder.fingerprint),
               "block": np.zeros((len(scores), 3))}
        out["block"][0] = (os.getpid(), started, time.time())   # (actor, started, finished), once per block
        for name in COUNTERS:   # the block's total in its first row: any re-chunking keeps the column sum
            out[name] = np.zeros(len(scores), dtype=np.int64)
            out[name][0] = getattr(encoder.stats, name) - before[name]
        return out


class RayScorer:
    """A `Scorer` (see evalkit.contracts) whose model runs in Ray actors; same fingerprint, cache and scores."""

    def __init__(self, reranker: Any, executor: Any, cache_dir: str | None = None, actor_class: type = ScoreActor):
        reranker, self.executor = plain_config(reranker, RerankerConfig), plain_config(executor, ExecutorConfig)
        if reranker.long_docs != "truncate":   # the driver caches whole-document scores; chunks are scored locally
            raise EvalkitError(f"reranker.long_docs={reranker.long_docs} runs on executor=local (executor=ray "
                               "scores whole pairs)")
        device, dtype = _device_dtype(self.executor, reranker.device, reranker.dtype, "reranker")
        self.actor_config = dataclasses.replace(reranker, device=device, dtype=dtype, cache=False)
        # the driver loads the model once on CPU, in the actors' dtype: fingerprint, settings, info and cache
        probe = build_local_scorer(dataclasses.replace(reranker, device="cpu", dtype=dtype), cache_dir, False)
        self.fingerprint, self.info, self.cache = probe.fingerprint, probe.info, probe.cache
        self.settings = dataclasses.replace(probe.settings, device=device)
        self.actor_class, self.stats, self.remote = actor_class, EngineStats(), RemoteStats()
        del probe

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        return cached_scores(pairs, self.settings, self.cache, self.fingerprint, self.stats,
                             lambda raw, templated, keys: self._score_remote(raw, keys))

    def _score_remote(self, raw: list[tuple[str, str]], keys: list[bytes]) -> np.ndarray:
        """Scores of `raw` (untemplated: actors apply the templates) from the actor pool, cached as they arrive."""
        scores = np.full(len(raw), np.nan, dtype=np.float32)
        order = sorted(range(len(raw)), key=lambda i: -(len(raw[i][0]) + len(raw[i][1])))   # blocks of like lengths
        table = pa.table({"row": np.asarray(order, dtype=np.int64), "query": [raw[i][0] for i in order],
                          "doc": [raw[i][1] for i in order]})
        kwargs = {"reranker": self.actor_config, "cpus": self.executor.cpus_per_actor}
        with ray_session(self.executor.address):
            seen, clock, blocks = np.zeros(len(raw), dtype=bool), time.time(), []
            for out in map_on_actor_pool(table, self.actor_class, kwargs, self.executor).iter_batches(
                    batch_size=None, batch_format="numpy"):
                rows = _check_block(out, seen, self.fingerprint)
                blocks += [(int(b[0]), b[1], b[2]) for b in out["block"] if b[0] > 0]
                scores[rows] = out["score"]
                if self.cache is not None:
                    self.cache.put_many(self.fingerprint, ((keys[i], v) for i, v in zip(rows, out["score"])))
                for name in COUNTERS:
                    setattr(self.stats, name, getattr(self.stats, name) + int(out[name].sum()))
            if blocks:
                self.remote.add(clock, blocks, time.time())
        lost = len(raw) - int(seen.sum())
        if lost:
            raise EvalkitError(f"executor=ray: {lost} of {len(raw)} pairs came back without a score")
        return scores


class EncodeActor:
    """One bi-encoder per actor: embeds a block of texts (prefixes already applied by the driver)."""

    def __init__(self, candidates: CandidatesConfig, cpus: float):
        from evalkit.candidates.dense import build_encoder

        _set_threads(candidates.dense.device, cpus)
        self.encoder = build_encoder(candidates, progress=False)

    def __call__(self, block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode(block["text"].tolist())
        return {"row": block["row"], "vector": vectors,
                "fingerprint": np.full(len(vectors), self.encoder.fingerprint(""))}


class RayEncoder:
    """`Encoder.encode_groups` and `fingerprint` (evalkit.candidates.encoder) with the model in Ray actors: same
    fingerprint, same vectors."""

    def __init__(self, candidates: Any, executor: Any, actor_class: type = EncodeActor):
        from evalkit.candidates.dense import build_encoder

        candidates, self.executor = plain_config(candidates, CandidatesConfig), plain_config(executor, ExecutorConfig)
        dense = candidates.dense
        device, dtype = _device_dtype(self.executor, dense.device, dense.dtype, "candidates.dense")
        self.actor_config = dataclasses.replace(candidates, dense=dataclasses.replace(dense, device=device,
                                                                                         dtype=dtype))
        # the driver loads the model once on CPU, in the actors' dtype, for its fingerprint, info and settings
        probe = build_encoder(dataclasses.replace(candidates, dense=dataclasses.replace(dense, device="cpu",
                                                                                         dtype=dtype)), False)
        self.info, self.settings = probe.info, dataclasses.replace(probe.settings, device=device)
        self.dim = probe.model.config.hidden_size   # the pooled embedding's width (cls or mean of hidden states)
        self.actor_class = actor_class
        del probe

    def fingerprint(self, prefix: str) -> str:
        from evalkit.candidates.encoder import Encoder

        return Encoder.fingerprint(self, prefix)   # reads only info and settings, which are the actors'

    def encode_groups(self, groups: Iterable[tuple[str, Sequence[str]]],
                      prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """(desc, texts) -> (desc, embeddings) in order, as `Encoder.encode_groups`; groups are gathered into
        windows of `executor.window_texts` texts, and each window is one pass of the actor pool (one start-up)."""
        window: list[tuple[str, Sequence[str]]] = []
        size = 0
        with ray_session(self.executor.address):
            for desc, texts in groups:
                window.append((desc, texts))
                size += len(texts)
                if size >= self.executor.window_texts:
                    yield from self._encode_window(window, prefix)
                    window, size = [], 0
            if window:
                yield from self._encode_window(window, prefix)

    def _encode_window(self, window: list[tuple[str, Sequence[str]]], prefix: str):
        sizes = np.array([len(texts) for _, texts in window], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        full = [prefix + t for _, texts in window for t in texts]
        # each group longest first, groups in order: blocks hold like lengths, and groups finish roughly in order
        order = [int(starts[g]) + i for g, (_, texts) in enumerate(window)
                 for i in sorted(range(len(texts)), key=lambda i: -len(texts[i]))]
        group_of_row = np.repeat(np.arange(len(window)), sizes)
        remaining, done = sizes.copy(), 0
        vectors = np.empty((len(full), self.dim), dtype=np.float32)
        seen, expected = np.zeros(len(full), dtype=bool), self.fingerprint("")
        if full:
            table = pa.table({"row": np.asarray(order, dtype=np.int64), "text": [full[i] for i in order]})
            kwargs = {"candidates": self.actor_config, "cpus": self.executor.cpus_per_actor}
            for out in map_on_actor_pool(table, self.actor_class, kwargs, self.executor).iter_batches(
                    batch_size=None, batch_format="numpy"):
                rows = _check_block(out, seen, expected)
                vectors[rows] = out["vector"]
                remaining -= np.bincount(group_of_row[rows], minlength=len(window))
                while done < len(window) and remaining[done] == 0:   # hand out finished groups in order
                    yield window[done][0], vectors[starts[done]:starts[done + 1]].copy()
                    done += 1
        if remaining.any():
            lost = int(np.flatnonzero(remaining)[0])
            raise EvalkitError(f"executor=ray: {int(remaining.sum())} of {len(full)} texts came back without "
                               f"an embedding (first in {window[lost][0]})")
        for g in range(done, len(window)):   # empty groups at the end
            yield window[g][0], vectors[starts[g]:starts[g + 1]].copy()
