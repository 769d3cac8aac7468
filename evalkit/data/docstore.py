"""A corpus on disk as a memory-mapped Arrow file, fetched by docid on demand through a docid index.

Built once from JSONL(.gz) shards (streamed, never held in memory whole) into the evalkit cache, then
reused by every run whose source files are unchanged; built under a lock, published atomically and verified on
load (evalkit.storage), so parallel runs build it once and a killed build is never read. Texts stay in the page cache, not in Python objects,
so a 32.9M-passage corpus costs only what the candidates of a run touch; and the process lets go of the pages it
has read every RELEASE_BYTES (madvise), so its resident memory does not grow with the documents a run reads
(they stay in the kernel's page cache, and a later read maps them again without touching the disk).
"""
from __future__ import annotations

import hashlib
import json
import logging
import mmap
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalkit.contracts import Doc
from evalkit.data.trec import numbered_lines
from evalkit.errors import DataFormatError, EvalkitError
from evalkit.progress import Progress
from evalkit.storage import Artefact, Damaged, cache_root, cached_artefact, fault_point

log = logging.getLogger(__name__)
SCHEMA = pa.schema([("docid", pa.string()), ("title", pa.string()), ("text", pa.string())])
_BATCH = 50_000
KIND, VERSION, DOCS, INDEX = "docstore", 3, "docs.arrow", "docid-index.bin"
RELEASE_BYTES = 16 << 20    # document bytes read (all stores together) between two releases of their pages


def default_cache_dir() -> Path:
    """The evalkit cache root (EVALKIT_CACHE, default ~/.cache/evalkit); see evalkit.storage.cache_root."""
    return cache_root()


class ArrowTableDocs:
    """What every Arrow-backed store shares: an Arrow table `_table` with docid, title and text columns."""

    _table: pa.Table

    def _read(self, nbytes: int) -> None:
        """Called with the bytes each read touched; a memory-mapped store releases its pages now and then."""

    def __len__(self) -> int:
        return self._table.num_rows

    def contains(self, docids: Sequence[str]) -> set[str]:
        wanted = pa.array(list(set(docids)), type=pa.string())
        present = pc.is_in(wanted, value_set=self._table["docid"])
        return {d for d, ok in zip(wanted.to_pylist(), present.to_pylist()) if ok}

    def get(self, docids: Sequence[str]) -> list[Doc]:
        """Documents in the order asked."""
        rows = self._rows(docids).to_pydict()
        return [Doc(d, t or "", x or "") for d, t, x in zip(rows["docid"], rows["title"], rows["text"])]

    def texts(self, docids: Sequence[str], sep: str = " ") -> list[str]:
        """`doc.full_text(sep)` of each docid, in the order asked: title and text joined in Arrow, so a document
        costs one Python str (the rerank stage fetches every candidate; Doc objects cost it ~2 us a pair)."""
        rows = self._rows(docids)
        title, text = (pc.fill_null(rows[name], "") for name in ("title", "text"))
        joined = pc.if_else(pc.equal(title, ""), text, pc.binary_join_element_wise(title, text, sep))
        return joined.to_pylist()

    def _rows(self, docids: Sequence[str]) -> pa.Table:
        """The table's rows of `docids`, in the order asked (repeats repeated): one vectorised scan of the docid
        column per record batch (Table.take over the whole table would concatenate, i.e. copy, every chunk)."""
        wanted = pa.array(list(dict.fromkeys(docids)), type=pa.string())
        found = []
        for batch in self._table.to_batches():
            hit = pc.is_in(batch.column("docid"), value_set=wanted)
            if pc.any(hit).as_py():
                found.append(batch.filter(hit))
                self._read(found[-1].nbytes)
        table = pa.Table.from_batches(found, schema=self._table.schema)
        where = pc.index_in(pa.array(docids, type=pa.string()), value_set=table["docid"])
        if where.null_count:
            missing = [d for d, gone in zip(docids, where.is_null().to_pylist()) if gone]
            raise KeyError(f"{len(missing)} docids not in {self._name()}, e.g. {missing[:3]}")
        return table.take(where)

    def _name(self) -> str:
        return "the document table"

    def iter_docs(self, batch_size: int = 10_000) -> Iterator[list[Doc]]:
        for batch in self._table.to_batches(max_chunksize=batch_size):
            self._read(batch.nbytes)
            cols = batch.to_pydict()
            yield [Doc(d, t or "", x or "") for d, t, x in zip(cols["docid"], cols["title"], cols["text"])]


class ArrowDocStore(ArrowTableDocs):
    """The store's files: docs.arrow (docid, title, text in record batches) and docid-index.bin, the docid index:
    n little-endian uint64 docid hashes (`docid_hashes`) in ascending order, then n int64 rows, the table row of
    each. A fetch looks its docids up by binary search (~25 probes a docid, whatever the corpus size) and reads
    only their rows, where a scan of the docid column cost ~10 ns a document per fetch (~0.3 s a fetch at 32.9M
    passages; scripts/bench_docstore_fetch.py) and touched every page of that column."""

    def __init__(self, path: Path, fingerprint: str):
        self.path = Path(path)
        with open(self.path, "rb") as fh:   # the mapping outlives the descriptor
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self._table = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(self._map))).read_all()   # zero-copy
        self._batches = self._table.to_batches()
        self._starts = np.cumsum([0] + [b.num_rows for b in self._batches])
        self.fingerprint = fingerprint
        index, n = self.path.with_name(INDEX), self._table.num_rows
        size = index.stat().st_size if index.exists() else None
        if size != 16 * n:
            raise Damaged(f"{index.name} has {size} bytes, {n} documents need {16 * n}")
        self._hashes, self._row_of = np.zeros(0, "<u8"), np.zeros(0, "<i8")   # an empty file cannot be mapped
        if n:
            with open(index, "rb") as fh:
                self._index_map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self._hashes = np.frombuffer(self._index_map, "<u8", n)
            self._row_of = np.frombuffer(self._index_map, "<i8", n, 8 * n)

    def _read(self, nbytes: int) -> None:
        _MAPPED.read(self._map, nbytes)

    def _name(self) -> str:
        return f"corpus {self.path.name}"

    def contains(self, docids: Sequence[str]) -> set[str]:
        wanted = list(set(docids))
        rows = self._find(wanted)
        hashed = [d for d, row in zip(wanted, rows.tolist()) if row >= 0]   # the others are surely absent
        got = self._take(rows[rows >= 0])["docid"].to_pylist()
        unsure = [d for d, g in zip(hashed, got) if d != g]   # another docid with the same hash: scan for them
        return {d for d, g in zip(hashed, got) if d == g} | (super().contains(unsure) if unsure else set())

    def _rows(self, docids: Sequence[str]) -> pa.Table:
        rows = self._find(docids)
        if not len(rows):
            return self._table.schema.empty_table()
        if (rows < 0).any():
            missing = [d for d, row in zip(docids, rows.tolist()) if row < 0]
            raise KeyError(f"{len(missing)} docids not in {self._name()}, e.g. {missing[:3]}")
        table = self._take(rows)
        if not pc.all(pc.equal(table["docid"], pa.array(docids, type=pa.string()))).as_py():
            return super()._rows(docids)   # two docids share a hash (odds ~n^2 / 2^65): scan for them
        return table

    def _find(self, docids: Sequence[str]) -> np.ndarray:
        """int64 per docid: the row of the first document whose docid hash equals its hash, -1 for none."""
        wanted = docid_hashes(docids)
        if not len(self._hashes):
            return np.full(len(wanted), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._hashes, wanted), len(self._hashes) - 1)
        _MAPPED.read(self._index_map, 4096 * len(wanted))   # about one index page a lookup has not touched yet
        return np.where(self._hashes[at] == wanted, self._row_of[at], -1)

    def _take(self, rows: np.ndarray) -> pa.Table:
        """The table's `rows`, in that order: one take per record batch they fall in."""
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        batch = np.searchsorted(self._starts, ordered, side="right") - 1
        cuts = [0, *(np.flatnonzero(np.diff(batch)) + 1).tolist(), len(ordered)]
        parts = [self._batches[batch[a]].take(pa.array(ordered[a:b] - self._starts[batch[a]]))
                 for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
        table = pa.Table.from_batches(parts, schema=self._table.schema)
        self._read(table.nbytes)
        back = np.empty(len(order), dtype=np.int64)
        back[order] = np.arange(len(order))
        return table.take(pa.array(back))


def docid_hashes(docids: Sequence[str]) -> np.ndarray:
    """uint64 per docid: the first 8 bytes of blake2b of its UTF-8, little-endian."""
    digests = b"".join(hashlib.blake2b(d.encode(), digest_size=8).digest() for d in docids)
    return np.frombuffer(digests, dtype="<u8")


def _write_index(table: pa.Table, path: Path) -> None:
    """docid-index.bin of `table` (see ArrowDocStore): 24 bytes a document while it is built."""
    hashes = np.concatenate([docid_hashes(b.column("docid").to_pylist()) for b in table.to_batches()]
                            or [np.zeros(0, "<u8")])
    order = np.argsort(hashes, kind="stable")
    with open(path, "wb") as fh:
        hashes[order].astype("<u8").tofile(fh)
        order.astype("<i8").tofile(fh)


class _MappedPages:
    """Pages read from every open store, counted together (a run reads one store per language): every
    RELEASE_BYTES the stores read since the last release let go of their pages. Clean file pages: dropped from this
    process, not from the page cache, and mapped again on the next read."""

    def __init__(self) -> None:
        self.unreleased = 0
        self.maps: list[mmap.mmap] = []

    def read(self, pages: mmap.mmap, nbytes: int) -> None:
        if not any(m is pages for m in self.maps):
            self.maps.append(pages)
        self.unreleased += nbytes
        if self.unreleased >= RELEASE_BYTES:
            for m in self.maps:
                if not m.closed:
                    m.madvise(mmap.MADV_DONTNEED)
            self.maps, self.unreleased = [], 0


_MAPPED = _MappedPages()


def open_jsonl_store(
    shards: Sequence[Path],
    cache_dir: Path | None = None,
    id_field: str = "docid",
    title_field: str | None = "title",
    text_field: str = "text",
) -> ArrowDocStore:
    """The Arrow store for these JSONL shards, building it on first use."""
    shards = [Path(s).resolve() for s in shards]
    if not shards:
        raise EvalkitError("no corpus files given")
    stamp = hashlib.sha256()
    for shard in shards:
        if not shard.exists():
            raise DataFormatError(shard, None, "corpus file not found")
        st = shard.stat()
        stamp.update(f"{shard}|{st.st_size}|{st.st_mtime_ns}|{id_field}|{title_field}|{text_field}\n".encode())
    target = (cache_dir or default_cache_dir()) / "docstore" / stamp.hexdigest()[:24]
    return cached_artefact(target, KIND, VERSION, lambda tmp: _build(shards, tmp / DOCS, id_field, title_field,
                                                                     text_field), _open)


def _open(artefact: Artefact) -> ArrowDocStore:
    store = ArrowDocStore(artefact.path / DOCS, artefact.meta["fingerprint"])
    if len(store) != artefact.counts["documents"]:
        raise Damaged(f"{len(store)} documents, manifest says {artefact.counts['documents']}")
    return store


def _record(line: str, path: Path, number: int, id_field: str, title_field: str | None,
            text_field: str) -> tuple[str, str, str]:
    """(docid, title, text) of one JSONL line; ids are non-empty strings or integers, texts strings (a null
    title counts as empty), anything else stops with file:line."""
    try:
        rec = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DataFormatError(path, number, f"bad corpus record (invalid JSON: {exc.__class__.__name__})") from None
    if not isinstance(rec, dict):
        raise DataFormatError(path, number, "bad corpus record (expected a JSON object)")
    for key in (id_field, text_field):
        if key not in rec:
            raise DataFormatError(path, number, f"bad corpus record (missing field {key!r})")
    docid = rec[id_field]
    if isinstance(docid, bool) or not isinstance(docid, (str, int)) or not str(docid).strip():
        raise DataFormatError(path, number, f"bad corpus record ({id_field} must be a non-empty string or integer)")
    title = rec.get(title_field) if title_field else ""
    for key, value in ((text_field, rec[text_field]), (title_field, title)):
        if value is not None and not isinstance(value, str):
            raise DataFormatError(path, number, f"bad corpus record ({key} must be a string, got {type(value).__name__})")
    return str(docid), title or "", rec[text_field] or ""


def open_record_store(key: str, records: Callable[[], Iterator[tuple[str, str, str]]], source: str,
                      cache_dir: Path | None = None, total: int | None = None) -> ArrowDocStore:
    """The Arrow store of (docid, title, text) `records` (called only to build it), cached under `key`, which
    must change whenever the records may (e.g. an ir_datasets id, its version and its files' sizes and times);
    `total`: the expected document count, for progress only."""
    target = (cache_dir or default_cache_dir()) / "docstore" / hashlib.sha256(key.encode()).hexdigest()[:24]

    def build(tmp: Path) -> dict:
        log.info("building document store from %s", source)
        content = hashlib.sha256()

        def batches() -> Iterator[dict[str, list]]:
            with Progress(total or 0, "document store", "documents") as bar:
                yield from _batched(bar)

        def _batched(bar: Progress) -> Iterator[dict[str, list]]:
            cols: dict[str, list] = {"docid": [], "title": [], "text": []}
            for number, (docid, title, text) in enumerate(records(), 1):
                if not isinstance(docid, (str, int)) or isinstance(docid, bool) or not str(docid).strip():
                    raise DataFormatError(source, None, f"document {number}: docid must be a non-empty string")
                row = (str(docid), title or "", text or "")
                content.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
                for name, value in zip(("docid", "title", "text"), row):
                    cols[name].append(value)
                if len(cols["docid"]) >= _BATCH:
                    yield cols
                    bar.update(len(cols["docid"]))
                    cols = {k: [] for k in cols}
                    fault_point("docstore:batch")
            if cols["docid"]:
                yield cols
                bar.update(len(cols["docid"]))

        rows = _write(batches(), tmp / DOCS, source)
        return {"counts": {"documents": rows}, "meta": {"fingerprint": content.hexdigest(), "sources": [source]}}

    return cached_artefact(target, KIND, VERSION, build, _open)


def _write(batches: Iterable[dict[str, list]], tmp: Path, source) -> int:
    """Write column batches as docs.arrow plus its docid index; duplicate docids stop, naming `source`."""
    seen_rows = 0
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
        for cols in batches:
            writer.write_batch(pa.record_batch(cols, schema=SCHEMA))
            seen_rows += len(cols["docid"])
    table = pa.ipc.open_file(pa.memory_map(str(tmp))).read_all()
    duplicates = table.num_rows - pc.count_distinct(table["docid"]).as_py()
    if duplicates:
        raise DataFormatError(source, None, f"{duplicates} duplicate docids in the corpus")
    _write_index(table, tmp.with_name(INDEX))
    del table
    return seen_rows


def _build(shards, tmp: Path, id_field, title_field, text_field) -> dict:
    log.info("building document store from %d file(s)", len(shards))
    content = hashlib.sha256()

    def batches() -> Iterator[dict[str, list]]:
        with Progress(len(shards), "document store", "files") as bar:
            for shard in shards:
                cols: dict[str, list] = {"docid": [], "title": [], "text": []}
                for number, line in numbered_lines(shard):
                    if not line.strip():
                        continue
                    content.update(f"{line}\n".encode())
                    docid, title, text = _record(line, shard, number, id_field, title_field, text_field)
                    cols["docid"].append(docid)
                    cols["title"].append(title)
                    cols["text"].append(text)
                    if len(cols["docid"]) >= _BATCH:
                        yield cols
                        cols = {k: [] for k in cols}
                        fault_point("docstore:batch")
                if cols["docid"]:
                    yield cols
                bar.update()
                fault_point("docstore:shard")

    rows = _write(batches(), tmp, shards[0])
    return {"counts": {"documents": rows},
            "meta": {"fingerprint": content.hexdigest(), "sources": [str(s) for s in shards]}}
