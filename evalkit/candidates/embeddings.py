"""Corpus embeddings on disk: one .npy per shard of documents plus a manifest, written as they are produced.

A shard is complete when its .npy exists (written to a temporary name, then renamed, after its docids file), so
a killed run resumes from the last complete shard. The directory name is a fingerprint of everything an
embedding depends on (encoder weights, tokenizer, dtype, max_length, pooling, prefix) and of the corpus
(docstore fingerprint, title/text separator, shard size), so a rerun with the same inputs reuses it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import deque
from pathlib import Path
from typing import Iterator

import numpy as np

from evalkit.contracts import DocStore

log = logging.getLogger(__name__)


class EmbeddingShards:
    """Read side: shards in corpus order, memory-mapped, and docids for global row numbers."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.manifest = json.loads((self.root / "manifest.json").read_text())
        self.paths = [self.root / f"shard-{k:05d}.npy" for k in range(self.manifest["shards"])]
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


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        write(fh)
    os.replace(tmp, path)


def _corpus_root(store: DocStore, doc_sep: str, shard_docs: int, cache_dir: Path, encoder_fingerprint: str) -> Path:
    key = hashlib.sha256(f"{encoder_fingerprint}|{store.fingerprint}|{doc_sep!r}|{shard_docs}".encode())
    return Path(cache_dir) / "embeddings" / key.hexdigest()[:24]


def _complete(root: Path) -> bool:
    manifest = root / "manifest.json"
    return manifest.exists() and json.loads(manifest.read_text()).get("complete", False)


def embed_corpora(stores: list[DocStore], encoder, prefix: str, doc_sep: str, shard_docs: int, cache_dir: Path,
                  encoder_fingerprint: str) -> list[EmbeddingShards]:
    """Embeddings of every document of each store, shard by shard, resuming or reusing what is on disk.

    All missing shards of all stores go to `encoder.encode_groups` as one stream (one actor pool under
    executor=ray); each shard is written as soon as its embeddings are back, in order.
    """
    roots = [_corpus_root(s, doc_sep, shard_docs, cache_dir, encoder_fingerprint) for s in stores]
    todo = {root: store for store, root in zip(stores, roots) if not _complete(root)}   # a corpus once
    manifests: dict[Path, dict] = {}
    for root, store in todo.items():
        root.mkdir(parents=True, exist_ok=True)
        manifests[root] = {
            "encoder": encoder_fingerprint, "model": encoder.info.get("model"),
            "max_length": encoder.settings.max_length, "pooling": encoder.settings.pooling,
            "normalize": encoder.settings.normalize, "prefix": prefix, "docstore": store.fingerprint,
            "doc_sep": doc_sep, "shard_docs": shard_docs, "documents": len(store), "shards": 0, "complete": False}
        (root / "manifest.json").write_text(json.dumps(manifests[root], indent=1))
    pending: deque[tuple[Path, list[str]]] = deque()   # (shard path, docids) of each group handed out, in order

    def missing_shards() -> Iterator[tuple[str, list[str]]]:
        for root, store in todo.items():
            for k, docs in enumerate(store.iter_docs(batch_size=shard_docs)):
                manifests[root]["shards"] = k + 1
                path = root / f"shard-{k:05d}.npy"
                if not path.exists():
                    pending.append((path, [d.docid for d in docs]))
                    yield f"embed shard {k}", [d.full_text(doc_sep) for d in docs]

    for _, vectors in encoder.encode_groups(missing_shards(), prefix):
        path, docids = pending.popleft()
        ids = "\n".join(docids).encode("utf-8")
        _atomic_write(path.with_suffix(".docids"), lambda fh: fh.write(ids))
        _atomic_write(path, lambda fh: np.save(fh, vectors.astype(np.float32)))
        log.info("embedded %s (%d documents)", path, len(docids))
    for root, manifest in manifests.items():
        manifest["complete"] = True
        _atomic_write(root / "manifest.json", lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))
    for root in roots:
        if root not in manifests:
            log.info("reusing corpus embeddings %s", root)
    return [EmbeddingShards(root) for root in roots]
