"""BGE-M3 corpus index on disk: per shard of documents, dense vectors and lexical weights from one forward pass.

Layout per shard k (under $EVALKIT_CACHE/m3_index/<fingerprint>/): `shard-k.docids`, the lexical weights as CSR
rows (`shard-k.sp_indptr.npy`, `shard-k.sp_ids.npy`, `shard-k.sp_weights.npy`), then `shard-k.npy` (the dense
vectors), each written to a temporary name and renamed, the dense file last: a shard is complete when its .npy
exists, so a killed run resumes from the last complete shard. The dense side reads as
evalkit.candidates.embeddings.EmbeddingShards (same file names), so dense search is the dense stage's.
The fingerprint covers the encoder (weights, heads, tokenizer, dtype, max_length) and the corpus (docstore
fingerprint, title/text separator, shard size).
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Iterator

import numpy as np

from evalkit.candidates.embeddings import EmbeddingShards, _atomic_write, _complete
from evalkit.contracts import DocStore
from evalkit.m3.encoder import M3Encoder, SparseWeights

log = logging.getLogger(__name__)
SPARSE_PARTS = ("indptr", "ids", "weights")


class SparseShards(EmbeddingShards):
    """Read side of an index: the dense shards (EmbeddingShards) plus each shard's lexical weights."""

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


def _write_shard(path: Path, docids: list[str], reps) -> None:
    ids = "\n".join(docids).encode("utf-8")
    _atomic_write(path.with_suffix(".docids"), lambda fh: fh.write(ids))
    for part in SPARSE_PARTS:
        array = getattr(reps.sparse, part)
        _atomic_write(path.with_suffix(f".sp_{part}.npy"), lambda fh: np.save(fh, array))
    _atomic_write(path, lambda fh: np.save(fh, reps.dense.astype(np.float32)))


def index_corpora(stores: list[DocStore], encoder: M3Encoder, doc_sep: str, shard_docs: int,
                  cache_dir: Path) -> list[SparseShards]:
    """The index of each store, building (or finishing) what is missing, shard by shard."""
    fingerprint = encoder.fingerprint()
    roots = [_root(s, doc_sep, shard_docs, cache_dir, fingerprint) for s in stores]
    todo = {root: store for store, root in zip(stores, roots) if not _complete(root)}
    for root, store in todo.items():
        root.mkdir(parents=True, exist_ok=True)
        manifest = {"encoder": fingerprint, "model": encoder.info.get("model"), "commit": encoder.info.get("commit"),
                    "max_length": encoder.settings.max_length, "dtype": encoder.info.get("dtype"),
                    "vocab_size": encoder.vocab_size, "docstore": store.fingerprint, "doc_sep": doc_sep,
                    "shard_docs": shard_docs, "documents": len(store), "shards": 0, "complete": False}
        _atomic_write(root / "manifest.json", lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))
        for k, docs in enumerate(store.iter_docs(batch_size=shard_docs)):
            manifest["shards"] = k + 1
            path = root / f"shard-{k:05d}.npy"
            if path.exists():
                continue
            reps = encoder.encode([d.full_text(doc_sep) for d in docs], encoder.settings.max_length,
                                  desc=f"m3 index shard {k}")
            _write_shard(path, [d.docid for d in docs], reps)
            log.info("indexed %s (%d documents, %d lexical weights)", path, len(docs), len(reps.sparse.ids))
        manifest["complete"] = True
        _atomic_write(root / "manifest.json", lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))
    for root in roots:
        if root not in todo:
            log.info("reusing BGE-M3 index %s", root)
    return [SparseShards(root) for root in roots]
