"""BGE-M3 corpus index on disk: per shard of documents, dense vectors and lexical weights from one forward pass.

Layout per shard k (under $EVALKIT_CACHE/m3_index/<fingerprint>/): the lexical weights as CSR rows
(`shard-k.sp_indptr.npy`, `shard-k.sp_ids.npy`, `shard-k.sp_weights.npy`) and `shard-k.sp.json` (their sizes and
sha256), then the dense shard exactly as the dense stage writes it (evalkit.candidates.embeddings.write_shard:
`.npy`, `.docids`, and the `.json` that marks the shard complete, last). Every file is published atomically; a
shard whose files do not verify is encoded again, so a killed run resumes from the last complete shard and never
reads a partial one. The index is built under a lock (parallel runs encode it once). The dense side reads as
EmbeddingShards, so dense search is the dense stage's. The fingerprint covers the encoder (weights, heads,
tokenizer, dtype, max_length) and the corpus (docstore fingerprint, title/text separator, shard size).
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import deque
from pathlib import Path
from typing import Iterator

import numpy as np
from filelock import FileLock

from evalkit.candidates.embeddings import EmbeddingShards, shard_problem, shards_complete, write_shard
from evalkit.contracts import DocStore
from evalkit.errors import EvalkitError
from evalkit.m3.encoder import M3Encoder, M3Reps, SparseWeights
from evalkit.storage import atomic_write_bytes
from evalkit.storage.artefact import file_sha256

log = logging.getLogger(__name__)
SPARSE_PARTS = ("indptr", "ids", "weights")
INDEX_VERSION = 1


def _shard(root: Path, k: int) -> Path:
    return root / f"shard-{k:05d}.npy"


def write_index_shard(root: Path, k: int, docids: list[str], reps: M3Reps) -> None:
    """Lexical weights and their check file first, then the dense shard whose .json completes the shard."""
    path, check = _shard(root, k), {}
    for part in SPARSE_PARTS:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(getattr(reps.sparse, part)))
        atomic_write_bytes(path.with_suffix(f".sp_{part}.npy"), buffer.getvalue())
        check[part] = {"bytes": buffer.tell(), "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    atomic_write_bytes(path.with_suffix(".sp.json"), json.dumps({"rows": len(docids), **check}, indent=1).encode())
    write_shard(root, k, docids, reps.dense)


def index_shard_problem(root: Path, k: int) -> str:
    """Why shard k is unusable ("" when complete and intact): the dense shard's checks, then the lexical files'."""
    problem = shard_problem(root, k)
    if problem:
        return problem
    path = _shard(root, k)
    try:
        check = json.loads(path.with_suffix(".sp.json").read_text(encoding="utf-8"))
        for part in SPARSE_PARTS:
            file = path.with_suffix(f".sp_{part}.npy")
            if file.stat().st_size != check[part]["bytes"] or file_sha256(file) != check[part]["sha256"]:
                return f"{file.name} does not match {path.with_suffix('.sp.json').name} (truncated or corrupt)"
    except FileNotFoundError:
        return "incomplete"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable ({exc.__class__.__name__})"
    return "" if check["rows"] == json.loads(path.with_suffix(".json").read_text())["rows"] else "row counts differ"


class SparseShards(EmbeddingShards):
    """Read side: the dense shards (EmbeddingShards, verified) plus each shard's lexical weights (verified)."""

    def __init__(self, root: Path):
        super().__init__(root)
        for k, path in enumerate(self.paths):
            problem = index_shard_problem(self.root, k)
            if problem:
                raise EvalkitError(f"{path}: BGE-M3 index shard unusable ({problem})")

    def sparse(self) -> Iterator[tuple[int, SparseWeights]]:
        for offset, path in zip(self.offsets, self.paths):
            parts = [np.load(path.with_suffix(f".sp_{p}.npy"), mmap_mode="r") for p in SPARSE_PARTS]
            yield int(offset), SparseWeights(*parts)

    @property
    def vocab_size(self) -> int:
        return int(self.manifest["vocab_size"])


def _root(store: DocStore, doc_sep: str, shard_docs: int, cache_dir: Path, fingerprint: str) -> Path:
    key = hashlib.sha256(f"{fingerprint}|{store.fingerprint}|{doc_sep!r}|{shard_docs}".encode())
    return Path(cache_dir) / "m3_index" / key.hexdigest()[:24]


def _complete(root: Path) -> bool:
    return shards_complete(root, "index_version", INDEX_VERSION, index_shard_problem, "BGE-M3 index")


def index_corpora(stores: list[DocStore], encoder: M3Encoder, doc_sep: str, shard_docs: int,
                  cache_dir: Path) -> list[SparseShards]:
    """The index of each store, building (or finishing) what is missing, shard by shard, under a lock."""
    fingerprint = encoder.fingerprint()
    roots = [_root(s, doc_sep, shard_docs, cache_dir, fingerprint) for s in stores]
    for store, root in dict(zip(map(str, roots), zip(stores, roots))).values():
        if _complete(root):
            log.info("reusing BGE-M3 index %s", root)
            continue
        root.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(root.parent / f".{root.name}.lock")):
            if not _complete(root):                      # another run may have finished it meanwhile
                _build(root, store, encoder, doc_sep, shard_docs, fingerprint)
    return [SparseShards(root) for root in roots]


def _build(root: Path, store: DocStore, encoder: M3Encoder, doc_sep: str, shard_docs: int, fingerprint: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {"index_version": INDEX_VERSION, "encoder": fingerprint, "model": encoder.info.get("model"),
                "commit": encoder.info.get("commit"), "max_length": encoder.settings.max_length,
                "dtype": encoder.info.get("dtype"), "vocab_size": encoder.vocab_size, "docstore": store.fingerprint,
                "doc_sep": doc_sep, "shard_docs": shard_docs, "documents": len(store), "shards": 0, "complete": False}
    atomic_write_bytes(root / "manifest.json", json.dumps(manifest, indent=1).encode())
    pending: deque[tuple[int, list[str]]] = deque()      # (shard, docids) of each group handed out, in order

    def missing_shards():
        for k, docs in enumerate(store.iter_docs(batch_size=shard_docs)):
            manifest["shards"] = k + 1
            if index_shard_problem(root, k):
                pending.append((k, [d.docid for d in docs]))
                yield f"m3 index shard {k}", [d.full_text(doc_sep) for d in docs]

    for _, reps in encoder.encode_groups(missing_shards(), encoder.settings.max_length):
        k, docids = pending.popleft()
        write_index_shard(root, k, docids, reps)
        log.info("indexed %s (%d documents, %d lexical weights)", _shard(root, k), len(docids), len(reps.sparse.ids))
    manifest["complete"] = True
    atomic_write_bytes(root / "manifest.json", json.dumps(manifest, indent=1).encode())
