"""evalkit.storage: atomic files, build-once artefacts under a lock, verified manifests, the user's umask,
and the SQLite pair cache under several writing processes."""
import errno
import json
import logging
import multiprocessing
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.rerank.cache import PairCache, pair_key
from evalkit.storage import Damaged, atomic_file, atomic_write_text, cached_artefact, verify_artefact
from evalkit.storage.artefact import MANIFEST


def build_two_files(calls: list):
    def build(tmp: Path) -> dict:
        calls.append(tmp)
        (tmp / "a.txt").write_text("alpha\n" * 100)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.bin").write_bytes(bytes(range(256)) * 4)
        return {"counts": {"lines": 100}, "meta": {"source": "test"}}
    return build


def test_atomic_write_replaces_and_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out" / "metrics.json"
    atomic_write_text(target, "old\n")
    with pytest.raises(EvalkitError) as err:
        with atomic_file(target) as fh:
            fh.write(b"half a fi")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(err.value) == (f"{target}: could not write: No space left on device (disk full or file size limit); "
                              "nothing was replaced")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"]   # no temporary left behind
    with pytest.raises(KeyError):                   # other errors pass through untouched, still no temp left
        with atomic_file(target) as fh:
            raise KeyError("x")
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"]


def test_artefact_is_built_once_and_reused(tmp_path):
    calls = []
    first = cached_artefact(tmp_path / "idx", "toy", 1, build_two_files(calls))
    again = cached_artefact(tmp_path / "idx", "toy", 1, build_two_files(calls))
    assert len(calls) == 1 and first.content_hash == again.content_hash
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert manifest["counts"] == {"lines": 100} and manifest["builder_version"] == 1
    assert manifest["files"]["sub/b.bin"]["bytes"] == 1024
    assert not list(tmp_path.glob(".idx.tmp-*"))


@pytest.mark.parametrize("damage, reason", [
    ("flip", "a.txt does not match its sha256 (corrupt)"),
    ("truncate", "a.txt has 599 bytes, manifest says 600 (truncated?)"),
    ("no_manifest", "no MANIFEST.json (partial build)"),
    ("version", "built by toy v0, expected toy v1"),
    ("missing", "sub/b.bin is missing"),
])
def test_damaged_artefact_is_reported_in_one_line_and_rebuilt(tmp_path, caplog, damage, reason):
    calls = []
    path = tmp_path / "idx"
    cached_artefact(path, "toy", 1, build_two_files(calls))
    original = (path / "a.txt").read_bytes()
    if damage == "flip":
        data = bytearray(original)
        data[300] ^= 0x01
        (path / "a.txt").write_bytes(bytes(data))
        os.utime(path / MANIFEST)           # a new mtime: not the stamp verified earlier in this process
    elif damage == "truncate":
        (path / "a.txt").write_bytes(original[:-1])
    elif damage == "no_manifest":
        (path / MANIFEST).unlink()
    elif damage == "version":
        manifest = json.loads((path / MANIFEST).read_text())
        (path / MANIFEST).write_text(json.dumps({**manifest, "builder_version": 0}))
    else:
        (path / "sub" / "b.bin").unlink()
    if damage in ("truncate", "missing"):
        os.utime(path / MANIFEST, ns=(1, 1))
    assert verify_artefact(path, "toy", 1) == (None, reason)
    with caplog.at_level(logging.WARNING):
        cached_artefact(path, "toy", 1, build_two_files(calls))
    assert len(calls) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"{path}: toy cache is unusable ({reason}); rebuilding it"]
    assert (path / "a.txt").read_bytes() == original and verify_artefact(path, "toy", 1)[0] is not None


def test_loader_disagreeing_with_the_counts_triggers_a_rebuild(tmp_path):
    calls, seen = [], []

    def load(artefact):
        seen.append(artefact.counts["lines"])
        if len(seen) == 1:
            raise Damaged("2 lines, manifest says 100")
        return "ok"

    cached_artefact(tmp_path / "idx", "toy", 1, build_two_files(calls))
    assert cached_artefact(tmp_path / "idx", "toy", 1, build_two_files(calls), load) == "ok"
    assert len(calls) == 2


def _slow_build_worker(root: str, log: str, out: str) -> None:
    import time

    def build(tmp: Path) -> dict:
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(1.0)                      # long enough for every other process to arrive and wait
        (tmp / "data.txt").write_text("built once\n")
        return {"counts": {"n": 1}}

    artefact = cached_artefact(Path(root) / "shared", "toy", 1, build)
    Path(out).write_text((artefact.path / "data.txt").read_text())


def test_four_processes_build_an_artefact_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    log = tmp_path / "builds.log"
    procs = [ctx.Process(target=_slow_build_worker, args=(str(tmp_path), str(log), str(tmp_path / f"out{i}")))
             for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert len(log.read_text().split()) == 1
    assert [(tmp_path / f"out{i}").read_text() for i in range(4)] == ["built once\n"] * 4


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_files_and_directories_follow_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        artefact = cached_artefact(tmp_path / "art", "toy", 1, build_two_files([]))
        PairCache(tmp_path / "pairs.sqlite").close()
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)
    assert mode(tmp_path / "f.txt") == 0o666 & ~umask
    assert mode(artefact.path) == 0o777 & ~umask
    assert mode(artefact.path / MANIFEST) == 0o666 & ~umask
    assert mode(tmp_path / "pairs.sqlite") == 0o644 & ~umask     # SQLite's own default, through the umask


def _pair_writer(path: str, worker: int) -> None:
    with PairCache(path, timeout_s=0.05) as cache:             # a short busy timeout: the retries do the waiting
        for start in range(0, 600, 25):                        # 24 transactions, half the keys shared with others
            docs = [(worker % 2) * 300 + i for i in range(start, start + 25)]
            items = [(pair_key("q", f"d{d}"), d / 7) for d in docs]     # a pair's score: the same from everyone
            cache.put_many("fp", items)
            cache.get_many("fp", [k for k, _ in items])


def test_pair_cache_with_six_writing_processes(tmp_path):
    path = tmp_path / "pairs.sqlite"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_pair_writer, args=(str(path), w)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        assert p.exitcode == 0
    rows = dict(sqlite3.connect(path).execute("SELECT pair_key, score FROM scores").fetchall())
    # workers 0, 2, 4 wrote d0..d599, workers 1, 3, 5 d300..d899, each dN with score N / 7
    expected = {pair_key("q", f"d{n}"): n / 7 for n in range(900)}
    assert len(rows) == 900 and rows == expected


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_pair_cache_is_moved_aside_with_one_warning(tmp_path, caplog, damage):
    path = tmp_path / "pairs.sqlite"
    with PairCache(path) as cache:
        cache.put_many("fp", [(pair_key("q", f"d{i}"), float(i)) for i in range(3000)])
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    if damage == "garbage":
        data[4096:12288] = os.urandom(8192)             # pages of the scores b-tree overwritten
    else:
        data = data[:50]                                # not even a full header
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        with PairCache(path) as cache:
            assert cache.get_many("fp", [pair_key("q", "d1")]) == {}     # a fresh cache: nothing wrong reused
            cache.put_many("fp", [(pair_key("q", "d1"), 1.0)])
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "failed its integrity check; moved to pairs.sqlite.damaged-" in warnings[0]
    aside = [p for p in tmp_path.glob("pairs.sqlite.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and aside[0].read_bytes()[:50] == bytes(data[:50])   # kept for inspection
