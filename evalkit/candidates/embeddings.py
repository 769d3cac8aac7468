"""Corpus embeddings on disk: one .npy per shard of documents plus a manifest, written as they are produced.

A shard is `shard-K.npy` (float32 vectors), `shard-K.docids` and `shard-K.json` (rows, sizes and sha256 of both
files), each published atomically, the .json last: a shard without a valid .json is incomplete and is encoded
again, so a killed run resumes from the last complete shard and never reads a partial one. The corpus directory is
built under a lock (parallel runs encode it once) and every shard is verified against its .json when read (one
warning line and re-encoding on a mismatch). The directory name is a fingerprint of everything an embedding
depends on (encoder weights, tokenizer, dtype, max_length, pooling, prefix) and of the corpus (docstore
fingerprint, title/text separator, shard size), so a rerun with the same inputs reuses it.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
from collections import deque
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from filelock import FileLock

from evalkit.contracts import DocStore
from evalkit.errors import EvalkitError
from evalkit.storage import atomic_write_bytes, fault_point
from evalkit.storage.artefact import file_sha256

log = logging.getLogger(__name__)
BUILDER_VERSION = 2
_intact: dict[Path, tuple] = {}   # shard -> stats of its files when it last verified (once per process)


def _shard(root: Path, k: int) -> Path:
    return root / f"shard-{k:05d}.npy"


def write_shard(root: Path, k: int, docids: list[str], vectors: np.ndarray) -> None:
    """Publish shard k: vectors, docids, then the .json that marks it complete."""
    path = _shard(root, k)
    ids = "\n".join(docids).encode("utf-8")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(vectors, dtype=np.float32))
    atomic_write_bytes(path.with_suffix(".docids"), ids)
    fault_point("embeddings:docids")
    atomic_write_bytes(path, buffer.getvalue())
    fault_point("embeddings:vectors")
    check = {"rows": len(docids), "npy": {"bytes": buffer.tell(), "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()},
             "docids": {"bytes": len(ids), "sha256": hashlib.sha256(ids).hexdigest()}}
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(check, indent=1).encode())


def shard_problem(root: Path, k: int) -> str:
    """Why shard k is unusable ("" when it is complete and intact): sizes, hashes (EVALKIT_VERIFY=size: sizes
    only) and the row count of the vectors against the docids."""
    path = _shard(root, k)
    try:
        stamp = tuple((p.stat().st_mtime_ns, p.stat().st_ino, p.stat().st_size)
                      for p in (path, path.with_suffix(".docids"), path.with_suffix(".json")))
        if _intact.get(path) == stamp:
            return ""
        check = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        full = os.environ.get("EVALKIT_VERIFY", "full") != "size"
        for file, want in ((path, check["npy"]), (path.with_suffix(".docids"), check["docids"])):
            if file.stat().st_size != want["bytes"]:
                return f"{file.name} has {file.stat().st_size} bytes, expected {want['bytes']} (truncated?)"
            if full and file_sha256(file) != want["sha256"]:
                return f"{file.name} does not match its sha256 (corrupt)"
        rows = np.load(path, mmap_mode="r").shape[0]
    except FileNotFoundError:
        return "incomplete"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable ({exc.__class__.__name__})"
    if rows != check["rows"]:
        return f"{rows} vectors for {check['rows']} docids"
    _intact[path] = stamp
    return ""


class EmbeddingShards:
    """Read side: shards in corpus order, memory-mapped and verified, and docids for global row numbers."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifest = json.loads((self.root / "manifest.json").read_text())
        self.paths = [_shard(self.root, k) for k in range(self.manifest["shards"])]
        for k in range(len(self.paths)):
            problem = shard_problem(self.root, k)
            if problem:
                raise EvalkitError(f"{self.paths[k]}: embedding shard unusable ({problem})")
        sizes = [np.load(p, mmap_mode="r").shape[0] for p in self.paths]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for offset, path in zip(self.offsets, self.paths):
            yield int(offset), np.load(path, mmap_mode="r")

    def docids(self, rows: np.ndarray) -> list[str]:
        """Docids of global row numbers, reading only the shards' docid files that are needed."""
        rows = np.asarray(rows, dtype=np.int64)
        shard = np.searchsorted(self.offsets, rows, side="right") - 1
        out: list[str] = [""] * len(rows)
        for k in np.unique(shard):
            ids = self.paths[k].with_suffix(".docids").read_text(encoding="utf-8").split("\n")
            for i in np.flatnonzero(shard == k):
                out[i] = ids[rows[i] - self.offsets[k]]
        return out


def _corpus_root(store: DocStore, doc_sep: str, shard_docs: int, cache_dir: Path, encoder_fingerprint: str) -> Path:
    key = hashlib.sha256(f"{encoder_fingerprint}|{store.fingerprint}|{doc_sep!r}|{shard_docs}".encode())
    return Path(cache_dir) / "embeddings" / key.hexdigest()[:24]


def shards_complete(root: Path, version_key: str, version: int, problem: Callable[[Path, int], str | None],
                    what: str, warn: bool = True) -> bool:
    """Manifest says complete, of this builder version, and every shard passes `problem` (else, with `warn`, one
    warning line naming the manifest or the shard). Shared by the embedding shards and the BGE-M3 index."""
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        if warn:
            log.warning("%s: unreadable %s manifest (%s); rebuilding it", root, what, exc.__class__.__name__)
        return False
    if not manifest.get("complete") or manifest.get(version_key) != version:
        return False
    for k in range(manifest["shards"]):
        why = problem(root, k)
        if why:
            if warn:
                log.warning("%s: %s shard unusable (%s); encoding it again", _shard(root, k), what, why)
            return False
    return True


def _complete(root: Path, warn: bool = True) -> bool:
    return shards_complete(root, "builder_version", BUILDER_VERSION, shard_problem, "embedding", warn)


def embed_corpora(stores: list[DocStore], encoder, prefix: str, doc_sep: str, shard_docs: int, cache_dir: Path,
                  encoder_fingerprint: str) -> list[EmbeddingShards]:
    """Embeddings of every document of each store, shard by shard, resuming or reusing what is on disk.

    All missing shards of all stores go to `encoder.encode_groups` as one stream (one actor pool under
    executor=ray); each shard is written as soon as its embeddings are back, in order. Each corpus is built under
    its own lock (taken in sorted order), so parallel runs encode it once.
    """
    roots = [_corpus_root(s, doc_sep, shard_docs, cache_dir, encoder_fingerprint) for s in stores]
    with contextlib.ExitStack() as locks:
        if not all(_complete(root, warn=False) for root in roots):   # checked again (and reported) under the lock
            for root in sorted(set(roots)):
                root.parent.mkdir(parents=True, exist_ok=True)
                locks.enter_context(FileLock(str(root.parent / f".{root.name}.lock")))
        _build(stores, roots, encoder, prefix, doc_sep, shard_docs, encoder_fingerprint)
    return [EmbeddingShards(root) for root in roots]


def _build(stores, roots, encoder, prefix, doc_sep, shard_docs, encoder_fingerprint) -> None:
    todo = {root: store for store, root in zip(stores, roots) if not _complete(root)}   # a corpus once
    manifests: dict[Path, dict] = {}
    for root, store in todo.items():
        root.mkdir(parents=True, exist_ok=True)
        manifests[root] = {
            "builder_version": BUILDER_VERSION, "encoder": encoder_fingerprint, "model": encoder.info.get("model"),
            "max_length": encoder.settings.max_length, "pooling": encoder.settings.pooling,
            "normalize": encoder.settings.normalize, "prefix": prefix, "docstore": store.fingerprint,
            "doc_sep": doc_sep, "shard_docs": shard_docs, "documents": len(store), "shards": 0, "complete": False}
        atomic_write_bytes(root / "manifest.json", json.dumps(manifests[root], indent=1).encode())
    pending: deque[tuple[Path, int, list[str]]] = deque()   # (corpus root, shard, docids) of each group handed out

    def missing_shards() -> Iterator[tuple[str, list[str]]]:
        for root, store in todo.items():
            for k, docs in enumerate(store.iter_docs(batch_size=shard_docs)):
                manifests[root]["shards"] = k + 1
                if shard_problem(root, k):
                    pending.append((root, k, [d.docid for d in docs]))
                    yield f"embed shard {k}", [d.full_text(doc_sep) for d in docs]

    for _, vectors in encoder.encode_groups(missing_shards(), prefix):
        root, k, docids = pending.popleft()
        write_shard(root, k, docids, vectors)
        log.info("embedded %s (%d documents)", _shard(root, k), len(docids))
    for root, manifest in manifests.items():
        manifest["complete"] = True
        atomic_write_bytes(root / "manifest.json", json.dumps(manifest, indent=1).encode())
    for root in roots:
        if root not in manifests:
            log.info("reusing corpus embeddings %s", root)
