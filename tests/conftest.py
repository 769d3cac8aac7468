"""Shared fixtures: tiny datasets in the exact upstream layouts, tiny checkpoints and hand-made run directories,
built once per test session."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest


def write_miracl_layout(root: Path, data: dict[str, dict], split: str = "dev") -> Path:
    """data: lang -> {"topics": {qid: text}, "qrels": [(qid, docid, grade)], "docs": [(docid, title, text)]}."""
    for lang, d in data.items():
        base = root / f"miracl-v1.0-{lang}"
        (base / "topics").mkdir(parents=True, exist_ok=True)
        (base / "qrels").mkdir(parents=True, exist_ok=True)
        (base / "topics" / f"topics.miracl-v1.0-{lang}-{split}.tsv").write_text(
            "".join(f"{q}\t{t}\n" for q, t in d["topics"].items()), encoding="utf-8")
        (base / "qrels" / f"qrels.miracl-v1.0-{lang}-{split}.tsv").write_text(
            "".join(f"{q}\tQ0\t{doc}\t{g}\n" for q, doc, g in d["qrels"]), encoding="utf-8")
        corpus = root / f"miracl-corpus-v1.0-{lang}"
        corpus.mkdir(parents=True, exist_ok=True)
        with gzip.open(corpus / "docs-0.jsonl.gz", "wt", encoding="utf-8") as f:
            for docid, title, text in d["docs"]:
                f.write(json.dumps({"docid": docid, "title": title, "text": text}, ensure_ascii=False) + "\n")
    return root


MINI = {
    "en": {
        "topics": {"1": "boiling point of water at high altitude", "2": "who painted the ceiling of the chapel",
                   "3": "a query with no relevant document"},
        "qrels": [("1", "10#0", 2), ("1", "11#0", 0), ("2", "12#0", 1), ("2", "10#0", 0), ("3", "13#0", 0)],
        "docs": [("10#0", "Water", "At high altitude the boiling point of water is lower because air pressure drops."),
                 ("11#0", "Ice", "At high altitude the freezing point of water barely changes."),
                 ("12#0", "Chapel", "The ceiling of the chapel was painted over four years by a famous painter."),
                 ("13#0", "Bread", "Bread dough rises faster in a warm kitchen.")],
    },
    "zh": {
        "topics": {"1": "北京是中国的首都吗", "2": "长城有多长"},
        "qrels": [("1", "20#0", 2), ("2", "21#1", 1), ("2", "20#0", 0)],
        "docs": [("20#0", "北京", "北京是中华人民共和国的首都，也是政治和文化中心。"),
                 ("21#1", "长城", "长城全长两万多公里，是古代的防御工程。"),
                 ("22#0", "上海", "上海是中国最大的城市之一，位于长江入海口。")],
    },
}


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory):
    """The whole session (module- and session-scoped fixtures included, which run before any function-scoped
    fixture) sees a private HOME and evalkit cache, so nothing a test starts can write into the user's own
    ~/.cache/evalkit, whether or not it honours EVALKIT_CACHE (tests/test_isolation.py checks this)."""
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("home")
        patch.setenv("HOME", str(home))
        patch.setenv("EVALKIT_CACHE", str(home / ".cache" / "evalkit-session"))
        yield home


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test uses a private evalkit cache (docstores, BM25 indexes, pair scores)."""
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path_factory.mktemp("evalkit-cache")))


@pytest.fixture
def mini_miracl(tmp_path) -> Path:
    return write_miracl_layout(tmp_path / "mini", MINI)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def _shared_checkpoint(tmp_path_factory, name: str, build):
    """One checkpoint for the whole session, built by `build(path)` with its default arguments. Tests only read it:
    one that edits, adds or removes a file must build its own (or copy this one); teardown checks nothing changed."""
    path = build(tmp_path_factory.mktemp(name) / name)
    before = _snapshot(path)
    yield path
    assert _snapshot(path) == before, f"a test modified the shared {name} checkpoint {path}: build a private one"


@pytest.fixture(scope="session")
def tiny_gte(tmp_path_factory) -> Path:
    """`make_tiny_gte(path)`: native format, seed 0, 2 layers of 32."""
    from evalkit.testing import make_tiny_gte

    yield from _shared_checkpoint(tmp_path_factory, "tiny-gte", make_tiny_gte)


@pytest.fixture(scope="session")
def tiny_xlmr(tmp_path_factory) -> Path:
    """`make_tiny_xlmr(path)`: seed 0."""
    from evalkit.testing import make_tiny_xlmr

    yield from _shared_checkpoint(tmp_path_factory, "tiny-xlmr", make_tiny_xlmr)


@pytest.fixture(scope="session")
def tiny_m3(tmp_path_factory) -> Path:
    """`make_tiny_m3(path)`: seed 0."""
    from evalkit.testing import make_tiny_m3

    yield from _shared_checkpoint(tmp_path_factory, "tiny-m3", make_tiny_m3)


@pytest.fixture(scope="session")
def explore_runs(tmp_path_factory) -> tuple[Path, Path, Path]:
    """tests/explore_fixtures.make_runs: (data root, bm25 -> gte run dir, bm25 -> bge_m3 run dir), written once for
    tests/test_explore.py and tests/test_explore_browser.py; read only (pages go to each test's own directory)."""
    from explore_fixtures import make_runs

    return make_runs(tmp_path_factory.mktemp("explore-runs"))
