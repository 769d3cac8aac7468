"""On-disk pair-score cache: SQLite in WAL mode, keyed by (scorer fingerprint, pair key).

The fingerprint names everything that changes a score (see CrossEncoder.fingerprint), so a cache entry can
never be reused after a max_length, dtype, template or weights change. Each `put_many` is one transaction:
a killed process loses at most the batch it was writing. WAL lets any number of readers (other processes
included) read while one writer writes.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

_CHUNK = 500   # keys per SELECT (stays under SQLite's bound-variable limit on every build)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS scores (
    fp_id INTEGER NOT NULL REFERENCES fingerprints(id),
    pair_key BLOB NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (fp_id, pair_key)
) WITHOUT ROWID;
"""


def pair_key(query: str, doc: str) -> bytes:
    """sha256(query) + sha256(doc): 64 bytes, unambiguous whatever characters the texts contain."""
    return hashlib.sha256(query.encode()).digest() + hashlib.sha256(doc.encode()).digest()


class PairCache:
    saved_in_process = 0                     # pairs committed by this process (any instance)
    last_path: Path | None = None
    def __init__(self, path: str | Path, timeout_s: float = 60.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")   # durable across a process kill; only power loss can cost
        self._db.executescript(_SCHEMA)                 # the last transactions
        self._fp_ids: dict[str, int] = {}

    def _fp_id(self, fingerprint: str, create: bool) -> int | None:
        if fingerprint not in self._fp_ids:
            if create:
                self._db.execute("INSERT OR IGNORE INTO fingerprints(fingerprint) VALUES (?)", (fingerprint,))
            row = self._db.execute("SELECT id FROM fingerprints WHERE fingerprint = ?", (fingerprint,)).fetchone()
            if row is None:
                return None
            self._fp_ids[fingerprint] = row[0]
        return self._fp_ids[fingerprint]

    def get_many(self, fingerprint: str, keys: Sequence[bytes]) -> dict[bytes, float]:
        """The cached scores among `keys` (absent keys are simply missing from the result)."""
        fp_id = self._fp_id(fingerprint, create=False)
        if fp_id is None:
            return {}
        found: dict[bytes, float] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start:start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT pair_key, score FROM scores WHERE fp_id = ? AND pair_key IN ({marks})", [fp_id, *chunk])
            found.update(rows)
        return found

    def put_many(self, fingerprint: str, items: Iterable[tuple[bytes, float]]) -> None:
        """Writes (pair_key, score) items in one transaction; an existing key is overwritten."""
        fp_id = self._fp_id(fingerprint, create=True)   # its own (autocommit) statement: never rolled back
        rows = [(fp_id, key, float(score)) for key, score in items]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO scores(fp_id, pair_key, score) VALUES (?, ?, ?)", rows)
        PairCache.saved_in_process += len(rows)          # what an interrupted run reports as saved
        PairCache.last_path = self.path

    def stats(self) -> dict[str, object]:
        """Rows per fingerprint and the size of the database files on disk."""
        per_fp = dict(self._db.execute(
            "SELECT f.fingerprint, COUNT(s.pair_key) FROM fingerprints f "
            "LEFT JOIN scores s ON s.fp_id = f.id GROUP BY f.id ORDER BY f.id"))
        files = [self.path, Path(f"{self.path}-wal")]
        return {"path": str(self.path), "rows": sum(per_fp.values()), "fingerprints": per_fp,
                "bytes": sum(p.stat().st_size for p in files if p.exists())}

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PairCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
