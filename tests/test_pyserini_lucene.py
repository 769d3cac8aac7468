"""candidates=lucene: Lucene itself (Pyserini 0.22.1's Anserini) against evalkit's anserini mode, hand-worked
Lucene analysis, Pyserini's score convention, the on-disk index cache and the one-line install errors.

One JVM serves the whole pytest process (pyjnius starts it once); only the CLI test starts another.
"""
from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import write_miracl_layout
from evalkit.candidates.bm25_anserini import LuceneBm25, java_whitespace_tokens
from evalkit.candidates.lucene_analyzers import analyzer_for, index_args
from evalkit.candidates.lucene_jvm import install_hint, java_class, missing_requirement
from evalkit.config import BenchmarkConfig
from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.lucene import LuceneConfig
from evalkit.contracts import Benchmark
from evalkit.data.miracl import load_sample
from evalkit.errors import EvalkitError


@pytest.fixture(scope="session")
def lucene():
    """The Lucene path; missing it is a skip on a developer machine and a failure in CI (EVALKIT_REQUIRE_LUCENE=1)."""
    problem = missing_requirement()
    if problem:
        (pytest.fail if os.environ.get("EVALKIT_REQUIRE_LUCENE") == "1" else pytest.skip)(f"{problem}; {install_hint()}")
    from evalkit.candidates import lucene

    return lucene


def test_analyzer_per_language_is_pyserinis_2cr_choice():
    assert [analyzer_for(x) for x in ("ar", "ja", "zh", "ko", "te", "en", "sw", "yo")] == [
        "ar", "ja", "zh", "ko", "te", "en", "whitespace", "whitespace"]
    assert index_args("whitespace") == ["-pretokenized"] and index_args("fi") == ["-language", "fi"]
    assert analyzer_for("xx", {"xx": "whitespace"}) == "whitespace"
    with pytest.raises(EvalkitError, match=r"set candidates.lucene.analyzers.he to whitespace"):
        analyzer_for("he")    # Anserini would silently fall back to English
    with pytest.raises(EvalkitError, match=r"candidates.lucene.analyzers.sw='klingon' is not one of"):
        analyzer_for("sw", {"sw": "klingon"})


def test_without_java_one_line_says_what_to_install(monkeypatch, tmp_path):
    """The JVM path checks the `candidates=lucene` entry's own `needs` (one place): the same line as the
    preflight's (tests/test_dependencies.py), also when the stage is called directly."""
    from evalkit.candidates import lucene_jvm
    from evalkit.registry import MissingDependency

    monkeypatch.setattr(lucene_jvm, "_started", {})     # as in a fresh process (the JVM may run in this one)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(MissingDependency, match=r"^candidates=lucene needs .*java \(apt-get install "
                                                r"openjdk-17-jre-headless\)$") as err:
        java_class("io.anserini.search.SimpleSearcher")
    assert "\n" not in str(err.value)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("")                         # Java found through JAVA_HOME, Pyserini not
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyserini" else find_spec(name, *a))
    with pytest.raises(MissingDependency) as err:
        java_class("io.anserini.search.SimpleSearcher")
    assert str(err.value).startswith("candidates=lucene needs pyserini") and "java" not in str(err.value)
    assert '(pip install -e ".[lucene]" && pip install --no-deps pyserini==0.22.1)' in str(err.value)


# --- Lucene itself ---------------------------------------------------------------------------------------------

def raw_lucene_scores(index: Path, query: str, analyzer, k1=0.9, b=0.4) -> dict[str, float]:
    """Lucene's own BM25 scores (IndexSearcher + Anserini's bag-of-words query), before Pyserini's rounding."""
    from jnius import cast

    reader = java_class("org.apache.lucene.index.DirectoryReader").open(
        java_class("org.apache.lucene.store.FSDirectory").open(java_class("java.io.File")(str(index)).toPath()))
    searcher = java_class("org.apache.lucene.search.IndexSearcher")(cast("org.apache.lucene.index.IndexReader", reader))
    searcher.setSimilarity(java_class("org.apache.lucene.search.similarities.BM25Similarity")(k1, b))
    q = java_class("io.anserini.search.query.BagOfWordsQueryGenerator")().buildQuery("contents", analyzer, query)
    top = searcher.search(q, max(1, reader.numDocs()))
    scores = {searcher.doc(sd.doc).get("id"): sd.score for sd in top.scoreDocs}
    reader.close()
    return scores


def pyserini_convention(exact: dict[str, float], hits: int, ties: list | None = None) -> dict[str, float]:
    """Pyserini's run-file scores from exact float32 scores, re-derived from Anserini's ScoreTiesAdjusterReranker:
    Lucene order (score desc, docid asc), each score rounded half-up to 4 decimals, a score within 1e-4 of the
    previous (adjusted) one lowered by 1e-6 x its run of ties, then printed with 6 decimals. `ties` collects each
    score's place in its run of ties."""
    out, prev, dup = {}, None, 0
    for docid, score in sorted(exact.items(), key=lambda kv: (-kv[1], kv[0]))[:hits]:
        s = np.float32(math.floor(float(np.float32(score)) * 10000.0 + 0.5) / 10000.0)
        if prev is not None and not (np.float32(prev - s) > np.float32(1e-4)):
            dup += 1
            s = np.float32(s - np.float32(1e-6) * np.float32(dup))
        else:
            dup = 0
        out[docid], prev = float(f"{float(s):.6f}"), s
        if ties is not None:
            ties.append(dup)
    return out


SW_YO = {
    "sw": {"topics": {"1": "Nairobi ni mji mkuu", "2": "Mlima Kilimanjaro Afrika", "3": "afrika"},
           "qrels": [("1", "1#0", 1), ("2", "2#0", 1), ("3", "3#0", 1)],
           "docs": [("1#0", "Nairobi", "Nairobi ni mji mkuu wa Kenya."),
                    ("2#0", "Kilimanjaro", "Mlima Kilimanjaro ni mlima mrefu zaidi Afrika. " * 30),
                    ("3#0", "Kenya", "Kenya ni nchi ya Afrika Mashariki."),
                    ("4#0", "Kenya", "Kenya ni nchi ya Afrika Mashariki."),          # a duplicate: tied scores
                    ("5#0", "Tanzania", "Tanzania\u00a0ni nchi ya afrika mashariki na ina mlima")]},
    "yo": {"topics": {"1": "Èkó ni ìlú", "2": "odò Ọya"},
           "qrels": [("1", "a#0", 1), ("2", "b#0", 1)],
           "docs": [("a#0", "Èkó", "Èkó ni ìlú tí ó tóbi jùlọ ní Nàìjíríà."),
                    ("b#0", "Ọya", "Odò Ọya ń ṣàn láti Guinea. odò náà gùn."),
                    ("c#0", "Ìbàdàn", "Ìbàdàn jẹ́ ìlú ńlá ní ìpínlẹ̀ Ọ̀yọ́.")]},
}


def benchmarks(tmp_path) -> list[Benchmark]:
    """The bundled sample (10 languages, documents up to ~8,800 tokens) and a MIRACL-layout sw/yo fixture."""
    return [load_sample(BenchmarkConfig(name="sample")),
            load_sample(BenchmarkConfig(name="sample", source=str(write_miracl_layout(tmp_path / "m", SW_YO))))]


def test_whitespace_languages_lucene_and_anserini_mode_agree(lucene, tmp_path):
    """Every language indexed as Pyserini indexes sw/yo: Lucene's raw BM25 equals evalkit's anserini mode
    (numpy) on every document of every query; Pyserini's scores equal the anserini scores put through
    Pyserini's rounding convention; largest differences are printed (pytest -s)."""
    cfg = LuceneConfig(hits=1000, threads=2)
    whitespace = java_class("org.apache.lucene.analysis.core.WhitespaceAnalyzer")()
    largest_raw = largest_run = 0.0
    compared, ties = 0, [0]
    for bench in benchmarks(tmp_path):
        for lang, queries in bench.queries.items():
            store = bench.stores[lang]
            searcher, _ = lucene.open_searcher(store, "whitespace", cfg, tmp_path / "cache")
            assert lucene.set_query_analyzer(searcher, "whitespace") == "WhitespaceAnalyzer"
            run = lucene.search(searcher, queries, cfg, depth=1000)
            searcher.close()
            ours = LuceneBm25.build((d.docid, java_whitespace_tokens(d.full_text("\n")))
                                    for batch in store.iter_docs() for d in batch)
            path = lucene.index_dir(store, "whitespace", tmp_path / "cache") / "lucene"
            for qid, text in queries.items():
                scores = ours.scores(java_whitespace_tokens(text), 0.9, 0.4)
                exact = {ours.docids[i]: float(scores[i]) for i in np.flatnonzero(scores > 0)}
                raw = raw_lucene_scores(path, text, whitespace)
                assert set(raw) == set(exact), (lang, qid)
                largest_raw = max([largest_raw] + [abs(raw[d] - exact[d]) for d in exact])
                assert run[qid] == pyserini_convention(exact, 1000, ties), (lang, qid)
                largest_run = max([largest_run] + [abs(run[qid][d] - exact[d]) for d in run[qid]])
                compared += len(exact)
    print(f"\n{compared} (query, document) scores: max |Lucene raw - anserini mode| = {largest_raw:.3g}, "
          f"max |Pyserini run score - anserini mode| = {largest_run:.3g}")
    assert compared > 1000
    assert largest_raw <= 1e-6                 # same float32 arithmetic (measured: 0)
    # Pyserini's 4-decimal rounding, its 1e-6 steps down the longest run of ties, its 6-decimal print: nothing more
    assert 0 < largest_run <= 5e-5 + 1e-6 * max(ties) + 1e-6


RU = {"ru": {"topics": {"1": "книгами", "2": "на"},
             "qrels": [("1", "d1", 1), ("2", "d2", 1)],
             "docs": [("d1", "", "книгу 2024"), ("d2", "", "книги книга на 7"), ("d3", "", "кошка")]}}


def test_russian_analyzer_stems_a_hand_checked_query(lucene, tmp_path):
    """Snowball Russian: книгами, книгу, книги, книга all -> книг; 'на' is a stop word. Worked by hand:
    d1 = [книг, 2024] (length 2), d2 = [книг, книг, 7] (3), d3 = [кошк] (1); N = 3, avgdl = 2, df(книг) = 2,
    idf = ln(1 + 1.5 / 2.5) = ln 1.6; d1 = idf * 1 / (1 + 0.9 (0.6 + 0.4 * 2/2)) = 0.247370,
    d2 = idf * 2 / (2 + 0.9 (0.6 + 0.4 * 3/2)) = 0.305197 (Pyserini prints 0.2474 and 0.3052)."""
    bench = load_sample(BenchmarkConfig(name="sample", source=str(write_miracl_layout(tmp_path / "ru", RU))))
    idf = math.log(1.6)
    assert (idf / 1.9, idf * 2 / 3.08) == pytest.approx((0.247370, 0.305197), abs=1e-6)
    runs = lucene.lucene_candidates(bench, CandidatesConfig(name="lucene", depth=10, lucene=LuceneConfig()),
                                    tmp_path / "cache")
    assert runs["ru"]["1"] == {"d2": 0.3052, "d1": 0.2474}    # no query word occurs verbatim in either document
    assert runs["ru"]["2"] == {}                               # a stop word alone retrieves nothing
    assert bench.protocol["lucene_analyzers"] == {"ru": "RussianAnalyzer"}
    plain = lucene.lucene_candidates(bench, CandidatesConfig(name="lucene", depth=10, lucene=LuceneConfig(
        analyzers={"ru": "whitespace"})), tmp_path / "cache")
    # whitespace: d1 = 2 tokens, d2 = 4 (на kept), d3 = 1; avgdl = 7/3, df(на) = 1
    on = math.log(1 + 2.5 / 1.5) / (1 + 0.9 * (0.6 + 0.4 * 4 / (7 / 3)))
    assert plain["ru"]["1"] == {} and plain["ru"]["2"] == {"d2": round(on, 4)}
    assert bench.protocol["lucene_analyzers"] == {"ru": "WhitespaceAnalyzer"}


def test_index_is_built_once_reused_and_rebuilt_when_corrupt(lucene, tmp_path, caplog):
    bench = load_sample(BenchmarkConfig(name="sample", source=str(write_miracl_layout(tmp_path / "m", SW_YO))))
    cfg = CandidatesConfig(name="lucene", depth=3, lucene=LuceneConfig(threads=2))
    with caplog.at_level(logging.INFO):
        first = lucene.lucene_candidates(bench, cfg, tmp_path / "cache")
        assert sum("building Lucene index" in r.message for r in caplog.records) == 2     # sw and yo
        caplog.clear()
        assert lucene.lucene_candidates(bench, cfg, tmp_path / "cache") == first
        assert not any("building" in r.message for r in caplog.records)                   # reused
        path = lucene.index_dir(bench.stores["sw"], "whitespace", tmp_path / "cache")
        manifest = json.loads((path / "MANIFEST.json").read_text())
        assert manifest["counts"] == {"documents": 5, "indexed": 5} and manifest["meta"]["pyserini"] == "0.22.1"
        for segment_file in (path / "lucene").glob("segments_*"):
            segment_file.unlink()                                      # a damaged index is never used
        caplog.clear()
        assert lucene.lucene_candidates(bench, cfg, tmp_path / "cache") == first
        assert any("unusable" in r.message and r.levelno == logging.WARNING for r in caplog.records)
        assert sum("building Lucene index" in r.message for r in caplog.records) == 1
    assert not list(path.parent.glob(".*tmp*"))                        # no temporary directory left behind
    tied = first["sw"]["2"]               # 3#0 and 4#0 are the same passage: Pyserini lowers the larger docid 1e-6
    assert list(tied)[1:3] == ["3#0", "4#0"] and tied["3#0"] - tied["4#0"] == pytest.approx(1e-6, abs=1e-9)


def test_parallel_runs_build_the_index_once(lucene, tmp_path):
    root = write_miracl_layout(tmp_path / "m", {"sw": SW_YO["sw"]})
    script = ("import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stdout);"
              "from evalkit.config import BenchmarkConfig; from evalkit.app.schema import CandidatesConfig;"
              "from evalkit.data.miracl import load_sample;"
              "from evalkit.candidates.lucene import lucene_candidates;"
              f"b = load_sample(BenchmarkConfig(name='sample', source={str(root)!r}));"
              "print('RUN', lucene_candidates(b, CandidatesConfig(name='lucene', depth=3)))")
    import subprocess
    import sys

    env = {**os.environ, "EVALKIT_CACHE": str(tmp_path / "shared-cache")}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum(o.count("building Lucene index") for o in outs) == 1
    assert not any("SimpleIndexer" in o for o in outs)          # Anserini's INFO logging never reaches stdout
    runs = [o.split("RUN ", 1)[1] for o in outs]
    assert runs[0] == runs[1]


def test_pyserini_preset_uses_lucene_for_every_language_and_states_the_analyzers(lucene, tmp_path):
    from hydra import compose, initialize_config_dir

    from evalkit.cli import CONFIG_DIR
    from evalkit.app.schema import register
    from evalkit.pipeline import run

    data = {**SW_YO, **RU, "en": {"topics": {"1": "running cats"}, "qrels": [("1", "e1", 1)],
                                  "docs": [("e1", "Cats", "A cat runs."), ("e2", "Dogs", "Dogs bark.")]}}
    root = write_miracl_layout(tmp_path / "miracl", data)
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "experiment=pyserini_bm25_miracl", f"benchmark.source={root}", "benchmark.languages=[en,ru,sw,yo]"])
    out = run(cfg, tmp_path / "out").out_dir
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["candidates"] == "lucene"
    assert metrics["protocol"]["lucene_analyzers"] == {"en": "DefaultEnglishAnalyzer", "ru": "RussianAnalyzer",
                                                       "sw": "WhitespaceAnalyzer", "yo": "WhitespaceAnalyzer"}
    assert "RussianAnalyzer" in (out / "report.md").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["protocol"]["candidates.lucene.k1"] == 0.9 and manifest["protocol"]["candidates.lucene.hits"] == 1000
    assert manifest["environment"]["versions"]["pyserini"] == "0.22.1"
    trec = (out / "runs" / "first_stage.en.trec").read_text().split()
    assert trec[:3] == ["1", "Q0", "e1"]        # Porter: running -> run, cats -> cat
