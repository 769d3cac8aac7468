"""The document store opens a 1M-passage corpus without holding its texts in Python memory.

Build and lookup run in fresh subprocesses so each peak RSS (resource.getrusage) belongs to that step alone.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

N_DOCS = 1_000_000
TEXT_BYTES = 300

GENERATE = """
import json, sys
n, size = int(sys.argv[2]), int(sys.argv[3])
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for i in range(n):
        body = (f"passage {i} " * 40)[:size]
        f.write(json.dumps({"docid": f"doc{i}#0", "title": f"t{i}", "text": body}) + "\\n")
"""

BUILD = """
import json, resource, sys
def _reset_peak():   # ru_maxrss survives fork+exec, so it would report pytest's own peak: reset VmHWM instead
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
def _peak_mb():
    return [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0] / 1024
_reset_peak()
from pathlib import Path
from evalkit.data.docstore import open_jsonl_store
store = open_jsonl_store([Path(sys.argv[1])], Path(sys.argv[2]))
print(json.dumps({"rows": len(store), "rss_mb": _peak_mb()}))
"""

LOOKUP = """
import json, random, resource, sys, tracemalloc
def _reset_peak():   # ru_maxrss survives fork+exec, so it would report pytest's own peak: reset VmHWM instead
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
def _peak_mb():
    return [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0] / 1024
_reset_peak()
from pathlib import Path
import pyarrow as pa
from evalkit.data.docstore import open_jsonl_store
tracemalloc.start()
store = open_jsonl_store([Path(sys.argv[1])], Path(sys.argv[2]))   # cached: opens the Arrow file, no rebuild
rng = random.Random(0)
ids = [f"doc{rng.randrange(int(sys.argv[3]))}#0" for _ in range(1000)]
docs = store.get(ids)
ok = all(d.docid == i and d.text.startswith(f"passage {i[3:-2]} ") and d.title == "t" + i[3:-2] for d, i in zip(docs, ids))
anon = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("RssAnon:")]
print(json.dumps({"ok": ok, "n": len(docs), "rss_mb": _peak_mb(),
                  "arrow_peak_mb": pa.default_memory_pool().max_memory() / 2**20,
                  "python_peak_mb": tracemalloc.get_traced_memory()[1] / 2**20,
                  "anon_mb": anon[0] / 1024 if anon else 0.0}))
"""


def _run(code: str, *args) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}


@pytest.mark.slow
def test_million_passages_open_with_bounded_memory(tmp_path):
    """Peak RSS is reported; the bound is asserted on what the process itself allocates (Arrow's pool peak,
    Python's peak, anonymous RSS): random lookups in a memory-mapped file also map page-cache pages into RSS
    (whole large folios on some kernels, ~300 KB per lookup here), which is the OS cache, not evalkit's memory."""
    corpus = tmp_path / "corpus.jsonl"
    _run(GENERATE, corpus, N_DOCS, TEXT_BYTES)
    text_mb = N_DOCS * TEXT_BYTES / 2**20
    built = _run(BUILD, corpus, tmp_path / "cache")
    got = _run(LOOKUP, corpus, tmp_path / "cache", N_DOCS)
    print(f"\n1M passages, {text_mb:.0f} MiB of text: build peak RSS {built['rss_mb']:.0f} MiB; open + fetch 1,000: "
          f"peak RSS {got['rss_mb']:.0f} MiB, Arrow peak {got['arrow_peak_mb']:.1f} MiB, "
          f"Python peak {got['python_peak_mb']:.1f} MiB, anonymous RSS {got['anon_mb']:.0f} MiB")
    assert built["rows"] == N_DOCS
    assert got["ok"] and got["n"] == 1000
    assert built["rss_mb"] < text_mb            # streamed in batches, never the whole corpus at once
    assert got["arrow_peak_mb"] < text_mb / 3   # no copy of the text columns (Table.take concatenates chunks)
    assert got["python_peak_mb"] < text_mb / 3
    assert got["anon_mb"] < text_mb / 3


def _mapped_kib(path) -> int:
    """Resident KiB of this process's mappings of `path` (/proc/self/smaps)."""
    total, inside = 0, False
    for line in open("/proc/self/smaps", encoding="utf-8"):
        head = line.split()
        if len(head) >= 5 and "-" in head[0] and ":" in head[3]:    # a mapping's header line
            inside = line.rstrip().endswith(str(path))
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total


@pytest.mark.parametrize("release", [True, False])
def test_reading_every_document_does_not_keep_the_corpus_resident(tmp_path, monkeypatch, release):
    """Reading a whole 20 MB corpus through get(): with releases (every 1 MB read) the store's mapping keeps
    under a quarter of the file resident; without them (the control) nearly all of it, so the measurement works."""
    from evalkit.data import docstore

    corpus = tmp_path / "docs.jsonl"
    with open(corpus, "w", encoding="utf-8") as fh:
        for i in range(20_000):
            fh.write(json.dumps({"docid": f"d{i}", "title": "", "text": f"{i} " + "x" * 1000}) + "\n")
    monkeypatch.setattr(docstore, "RELEASE_BYTES", 1 << 20 if release else 1 << 40)
    store = docstore.open_jsonl_store([corpus], tmp_path / "cache")
    ids = [f"d{i}" for i in range(20_000)]
    for start in range(0, len(ids), 1024):
        docs = store.get(ids[start:start + 1024])
        assert [d.docid for d in docs] == ids[start:start + 1024]
        assert docs[-1].text.startswith(f"{start + len(docs) - 1} ")
    resident, size = _mapped_kib(store.path), store.path.stat().st_size // 1024
    if release:
        assert resident < size / 4, (resident, size)
    else:
        assert resident > size * 0.9, (resident, size)


def test_texts_join_title_and_text_in_the_order_asked(tmp_path):
    """`texts` (what the rerank stage reads) against hand-joined strings: order as asked, repeats repeated,
    an empty or null title adds no separator, non-ASCII kept; the judged pool's store the same; a missing docid
    is a KeyError that names it."""
    from evalkit.data.docstore import open_jsonl_store
    from evalkit.data.pool import JudgedStore

    corpus = tmp_path / "docs.jsonl"
    rows = [{"docid": "a", "title": "Título", "text": "naïve 東京"}, {"docid": "b", "title": None, "text": "only"},
            {"docid": "c", "title": "", "text": ""}, {"docid": "d", "title": "T", "text": "x"}]
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    store = open_jsonl_store([corpus], tmp_path / "cache")
    asked = ["d", "a", "b", "a", "c"]
    expected = ["T | x", "Título | naïve 東京", "only", "Título | naïve 東京", ""]
    assert store.texts(asked, " | ") == expected
    assert [doc.full_text(" | ") for doc in store.get(asked)] == expected
    judged = JudgedStore(store, ["a", "c", "d"])
    assert judged.texts(["d", "a"], "\n") == ["T\nx", "Título\nnaïve 東京"]
    assert store.texts([]) == [] and store.get([]) == []
    with pytest.raises(KeyError, match=r"1 docids not in corpus .*'zz'"):
        store.texts(["a", "zz"])
    with pytest.raises(KeyError, match="not in the judged pool"):
        judged.get(["b"])


def _small_corpus(tmp_path, n: int = 40):
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"docid": f"p{i}", "title": f"T{i}" if i % 2 else "", "text": f"body {i}"})
                              + "\n" for i in range(n)), encoding="utf-8")
    return corpus


def _expected_text(i: int, sep: str = " ") -> str:
    return f"T{i}{sep}body {i}" if i % 2 else f"body {i}"


def test_fetches_look_docids_up_in_the_index_without_scanning(tmp_path, monkeypatch):
    """Across several record batches, get/texts/contains find their rows through the docid index: the docid
    column is never scanned (pc.is_in would be its scan)."""
    from evalkit.data import docstore

    monkeypatch.setattr(docstore, "_BATCH", 7)   # 40 documents in 6 record batches
    store = docstore.open_jsonl_store([_small_corpus(tmp_path)], tmp_path / "cache")
    assert len(store._batches) == 6
    monkeypatch.setattr(docstore.pc, "is_in", lambda *a, **k: pytest.fail("the docid column was scanned"))
    asked = [39, 0, 7, 6, 7, 20]
    assert store.texts([f"p{i}" for i in asked]) == [_expected_text(i) for i in asked]
    assert [d.docid for d in store.get([f"p{i}" for i in asked])] == [f"p{i}" for i in asked]
    assert store.contains(["p3", "p40", "q", "p39"]) == {"p3", "p39"}
    with pytest.raises(KeyError, match="1 docids not in corpus"):
        store.get(["p1", "p40"])


def test_docids_sharing_a_hash_still_get_their_own_documents(tmp_path, monkeypatch):
    """The index built with colliding hashes (forced: every docid hashes to its length's parity, so about
    half the corpus shares each hash): every fetch still returns the documents asked for, by a scan for them."""
    from evalkit.data import docstore

    collide = lambda docids: np.array([len(d) % 2 for d in docids], dtype="<u8")
    monkeypatch.setattr(docstore, "docid_hashes", collide)
    monkeypatch.setattr(docstore, "_BATCH", 7)
    store = docstore.open_jsonl_store([_small_corpus(tmp_path)], tmp_path / "cache")
    asked = [5, 31, 12, 0, 39]
    assert store.texts([f"p{i}" for i in asked], "\n") == [_expected_text(i, "\n") for i in asked]
    assert store.contains(["p5", "p12", "p77", "zz"]) == {"p5", "p12"}
    with pytest.raises(KeyError, match="1 docids not in corpus"):
        store.texts(["p5", "p77"])
