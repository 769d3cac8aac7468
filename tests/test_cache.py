import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from evalkit.rerank.cache import PairCache, pair_key

REPO = Path(__file__).resolve().parents[1]


def test_pair_key_is_both_sha256_digests():
    key = pair_key("q", "d")
    assert key == hashlib.sha256(b"q").digest() + hashlib.sha256(b"d").digest()
    assert pair_key("ab", "c") != pair_key("a", "bc")


def test_put_get_per_fingerprint(tmp_path):
    with PairCache(tmp_path / "c.sqlite") as cache:
        keys = [pair_key("q", f"d{i}") for i in range(1200)]   # more than one SELECT chunk
        cache.put_many("fp-a", [(k, i / 8) for i, k in enumerate(keys)])
        cache.put_many("fp-b", [(keys[0], -1.5)])
        got = cache.get_many("fp-a", keys + [pair_key("q", "absent")])
        assert got == {k: i / 8 for i, k in enumerate(keys)}
        assert cache.get_many("fp-b", keys[:2]) == {keys[0]: -1.5}
        assert cache.get_many("fp-unknown", keys) == {}
        stats = cache.stats()
        assert stats["rows"] == 1201 and stats["fingerprints"] == {"fp-a": 1200, "fp-b": 1}
        assert stats["bytes"] > 0
    # reopened: everything persisted
    with PairCache(tmp_path / "c.sqlite") as again:
        assert again.get_many("fp-b", [keys[0]]) == {keys[0]: -1.5}


def test_wal_mode(tmp_path):
    PairCache(tmp_path / "c.sqlite").close()
    mode = sqlite3.connect(tmp_path / "c.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_reader_process_reads_while_a_write_transaction_is_open(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = PairCache(path)
    cache.put_many("fp", [(pair_key("q", "committed"), 1.0)])
    # hold a write transaction open with an uncommitted row, then read from another process
    cache._db.execute("BEGIN IMMEDIATE")
    cache._db.execute("INSERT INTO scores(fp_id, pair_key, score) VALUES (1, ?, 2.0)", (pair_key("q", "pending"),))
    reader = textwrap.dedent(f"""
        from evalkit.rerank.cache import PairCache, pair_key
        c = PairCache({str(path)!r}, timeout_s=2)
        got = c.get_many("fp", [pair_key("q", "committed"), pair_key("q", "pending")])
        print(sorted(got.values()))
    """)
    done = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1.0]"          # not blocked, and sees only committed data
    cache._db.execute("COMMIT")
    done = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.stdout.strip() == "[1.0, 2.0]"
    cache.close()


def test_failed_batch_is_rolled_back(tmp_path):
    with PairCache(tmp_path / "c.sqlite") as cache:
        def items():
            yield pair_key("q", "a"), 1.0
            raise RuntimeError("killed mid-batch")
        try:
            cache.put_many("fp", items())
        except RuntimeError:
            pass
        assert cache.get_many("fp", [pair_key("q", "a")]) == {}
        cache.put_many("fp", [(pair_key("q", "a"), 3.0)])
        assert cache.get_many("fp", [pair_key("q", "a")]) == {pair_key("q", "a"): 3.0}
