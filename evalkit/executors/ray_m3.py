"""executor=ray for BGE-M3 and mGTE (candidates=m3_*, mgte_*): the corpus index is encoded by a Ray actor pool.

Each actor holds one BGE-M3 model and turns a block of documents into dense vectors and lexical weights (one
forward pass, the shared token-budget batching); lexical weights travel as bytes (int32 ids then float32
weights) so every block is a plain table. The driver writes the index shards, so a killed run resumes from the
last complete shard as locally, and checks that each document came back once, from a model with its fingerprint.
Queries and the multi-vector / All re-ranking of dense's top-200 run in the driver on its own (CPU) copy of the
model: the index is the corpus-sized part of the work.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa

from evalkit.config import CandidatesConfig, ExecutorConfig
from evalkit.errors import EvalkitError
from evalkit.executors.ray_exec import (_check_block, _device_dtype, _set_threads, map_on_actor_pool, plain_config,
                                        ray_session)


def _pack(ids: np.ndarray, weights: np.ndarray) -> bytes:
    return np.asarray(ids, np.int32).tobytes() + np.asarray(weights, np.float32).tobytes()


def _unpack(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    n = len(blob) // 8
    return np.frombuffer(blob[:4 * n], np.int32).copy(), np.frombuffer(blob[4 * n:], np.float32).copy()


def _build_m3(section: Any, progress: bool | None = None):
    from evalkit.candidates.m3 import build_m3_encoder

    return build_m3_encoder(section, progress=progress)


class M3EncodeActor:
    """One model per actor (`build(candidates.<section>)`): a block of documents -> dense vectors and packed
    lexical weights."""

    def __init__(self, candidates: CandidatesConfig, cpus: float, section: str = "m3", build=_build_m3):
        _set_threads(getattr(candidates, section).device, cpus)
        self.encoder = build(getattr(candidates, section), progress=False)

    def __call__(self, block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        reps = self.encoder.encode(block["text"].tolist(), self.encoder.settings.max_length)
        lexical = np.array([_pack(*reps.sparse.row(i)) for i in range(len(reps.sparse))], dtype=object)
        return {"row": block["row"], "vector": reps.dense, "lexical": lexical,
                "fingerprint": np.full(len(reps.dense), self.encoder.fingerprint())}


class RayM3Encoder:
    """An M3Encoder whose `encode_groups` (the corpus index) runs on a Ray actor pool; everything else (queries,
    re-ranking) is the driver's CPU copy, in the actors' dtype, so fingerprints and the index cache key agree."""

    def __init__(self, candidates: Any, executor: Any, actor_class: type = M3EncodeActor, section: str = "m3",
                 build=_build_m3):
        """`build(candidates.<section>)` makes the model (a module-level function: actors receive it pickled)."""
        candidates, self.executor = plain_config(candidates, CandidatesConfig), plain_config(executor, ExecutorConfig)
        m3 = getattr(candidates, section)
        device, dtype = _device_dtype(self.executor, m3.device, m3.dtype, f"candidates.{section}")
        self.actor_config = dataclasses.replace(candidates, **{section: dataclasses.replace(m3, device=device,
                                                                                               dtype=dtype)})
        self.local = build(dataclasses.replace(m3, device="cpu", dtype=dtype))
        self.info, self.settings, self.vocab_size = self.local.info, self.local.settings, self.local.vocab_size
        self.actor_class, self.section, self.build = actor_class, section, build

    def fingerprint(self, max_length: int | None = None) -> str:
        return self.local.fingerprint(max_length)

    def encode(self, *args, **kwargs):
        return self.local.encode(*args, **kwargs)

    def encode_ids(self, *args, **kwargs):
        return self.local.encode_ids(*args, **kwargs)

    def token_ids(self, *args, **kwargs):
        return self.local.token_ids(*args, **kwargs)

    def encode_groups(self, groups: Iterable[tuple[str, Sequence[str]]], max_length: int) -> Iterator[tuple[str, Any]]:
        """(desc, texts) -> (desc, M3Reps without multi-vectors) in order, one actor-pool pass per window of
        `executor.window_texts` texts."""
        if max_length != self.settings.max_length:
            raise EvalkitError(f"executor=ray encodes documents at candidates.{self.section}.max_length="
                               f"{self.settings.max_length}")
        window: list[tuple[str, Sequence[str]]] = []
        with ray_session(self.executor.address):
            for desc, texts in groups:
                window.append((desc, texts))
                if sum(len(t) for _, t in window) >= self.executor.window_texts:
                    yield from self._window(window)
                    window = []
            if window:
                yield from self._window(window)

    def _window(self, window: list[tuple[str, Sequence[str]]]):
        from evalkit.m3.encoder import M3Reps, SparseWeights

        full = [t for _, texts in window for t in texts]
        order = sorted(range(len(full)), key=lambda i: -len(full[i]))          # blocks of like lengths
        width = getattr(self.local, "dimension", self.local.model.config.hidden_size)   # mGTE: the MRL cut
        dense = np.empty((len(full), width), dtype=np.float32)
        lexical: list = [None] * len(full)
        seen = np.zeros(len(full), dtype=bool)
        if full:
            table = pa.table({"row": np.asarray(order, dtype=np.int64), "text": [full[i] for i in order]})
            kwargs = {"candidates": self.actor_config, "cpus": self.executor.cpus_per_actor, "section": self.section,
                      "build": self.build}
            for out in map_on_actor_pool(table, self.actor_class, kwargs, self.executor).iter_batches(
                    batch_size=None, batch_format="numpy"):
                rows = _check_block(out, seen, self.fingerprint())
                dense[rows] = out["vector"]
                for r, blob in zip(rows.tolist(), out["lexical"]):
                    lexical[r] = _unpack(blob)
        if not seen.all():
            raise EvalkitError(f"executor=ray: {int((~seen).sum())} of {len(full)} documents came back without "
                               f"their {self.section} representations")
        start = 0
        for desc, texts in window:
            stop = start + len(texts)
            yield desc, M3Reps(dense[start:stop], SparseWeights.from_rows(lexical[start:stop]), None)
            start = stop
