"""On-disk pair-score cache: SQLite in WAL mode, keyed by (scorer fingerprint, pair key).

The fingerprint names everything that changes a score (see CrossEncoder.fingerprint), so a cache entry can
never be reused after a max_length, dtype, template or weights change. Each `put_many` is one transaction:
a killed process loses at most the batch it was writing. WAL lets any number of readers (other processes
included) read while one writer writes; writers wait for each other (busy timeout) and a transaction that still
finds the database locked is retried with backoff. A damaged database file (failed integrity check on open) is
moved aside with one warning line and a fresh one started; a full disk ends in one EvalkitError line.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Sequence

from filelock import FileLock

from evalkit.errors import EvalkitError
from evalkit.storage import fault_point

log = logging.getLogger(__name__)
_CHUNK = 500   # keys per SELECT (stays under SQLite's bound-variable limit on every build)
RETRIES = 8    # attempts of a transaction that finds the database locked beyond the busy timeout

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


def _retrying(what: str, path: Path, action):
    """Run `action()`; "locked"/"busy" beyond the busy timeout is retried with backoff, a full disk or a damaged
    file becomes one EvalkitError line."""
    for attempt in range(RETRIES):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if ("locked" in text or "busy" in text) and attempt < RETRIES - 1:
                time.sleep(min(0.05 * 2 ** attempt, 2.0))
                continue
            raise EvalkitError(f"{path}: pair-score cache {what} failed ({text}); scores written before are kept"
                               ) from None
        except sqlite3.DatabaseError as exc:
            raise EvalkitError(f"{path}: pair-score cache is damaged ({exc}); delete it to start afresh") from None


class PairCache:
    saved_in_process = 0                     # pairs committed by this process (any instance)
    last_path: Path | None = None

    def __init__(self, path: str | Path, timeout_s: float = 60.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{self.path}.lock"):          # one process at a time checks (and replaces) a damaged file
            db = self._open_checked(timeout_s)
            if db is None:
                aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
                for suffix in ("", "-wal", "-shm"):
                    if Path(f"{self.path}{suffix}").exists():
                        os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
                log.warning("%s: pair-score cache failed its integrity check; moved to %s, starting a new one",
                            self.path, aside.name)
                db = self._open_checked(timeout_s)
                if db is None:
                    raise EvalkitError(f"{self.path}: cannot create a pair-score cache here")
            self._db = db
        self._fp_ids: dict[str, int] = {}

    def _open_checked(self, timeout_s: float) -> sqlite3.Connection | None:
        """A connection in WAL mode with the schema in place, or None when the file is not an intact database."""
        db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        try:
            _retrying("setup", self.path, lambda: db.execute("PRAGMA journal_mode=WAL"))
            db.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            db.execute("PRAGMA synchronous=NORMAL")   # durable across a process kill; only power loss can cost the
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":   # last transactions
                db.close()
                return None
            _retrying("setup", self.path, lambda: db.executescript(_SCHEMA))
        except sqlite3.DatabaseError:
            db.close()
            return None
        except EvalkitError as exc:
            db.close()
            if "damaged" in str(exc):
                return None
            raise
        return db

    def _fp_id(self, fingerprint: str, create: bool) -> int | None:
        if fingerprint not in self._fp_ids:
            if create:
                _retrying("write", self.path, lambda: self._db.execute(
                    "INSERT OR IGNORE INTO fingerprints(fingerprint) VALUES (?)", (fingerprint,)))
            row = _retrying("read", self.path, lambda: self._db.execute(
                "SELECT id FROM fingerprints WHERE fingerprint = ?", (fingerprint,)).fetchone())
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
            found.update(_retrying("read", self.path, lambda: self._db.execute(
                f"SELECT pair_key, score FROM scores WHERE fp_id = ? AND pair_key IN ({marks})",
                [fp_id, *chunk]).fetchall()))
        return found

    def put_many(self, fingerprint: str, items: Iterable[tuple[bytes, float]]) -> None:
        """Writes (pair_key, score) items in one transaction; an existing key is overwritten."""
        fp_id = self._fp_id(fingerprint, create=True)   # its own (autocommit) statement: never rolled back
        rows = [(fp_id, key, float(score)) for key, score in items]

        def transaction() -> None:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO scores(fp_id, pair_key, score) VALUES (?, ?, ?)", rows)
                fault_point("pairs:uncommitted")
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

        _retrying("write", self.path, transaction)
        PairCache.saved_in_process += len(rows)          # what an interrupted run reports as saved
        PairCache.last_path = self.path
        fault_point("pairs:committed")

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
