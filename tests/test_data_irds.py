"""benchmark=irds on ir_datasets datasets registered by the test itself (no download), checked against ir_measures
and against the native MIRACL loader on the same files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import ir_measures
import pytest
from ir_measures import R, RR, nDCG
from omegaconf import OmegaConf

from benchmark_fixtures import REPO
from cli_runner import cli_env, evalkit
from conftest import MINI, write_miracl_layout
from evalkit.config import BenchmarkConfig
from evalkit.data import load_benchmark
from evalkit.errors import EvalkitError

DOCS = {"d1": "water boils at a lower temperature at high altitude",
        "d2": "the boiling point of water depends on the air pressure",
        "d3": "bread rises in a warm kitchen",
        "d4": "warm water helps the dough of bread rise",
        "d5": "ice melts at zero degrees",
        "d6": "mountain air is thin at high altitude"}
QUERIES = {"q1": "water boiling altitude", "q2": "warm bread dough", "q3": "ice melting", "q4": "no judgments here"}
QRELS = [("q1", "d1", 2), ("q1", "d2", 1), ("q1", "d6", 0), ("q2", "d4", 1), ("q2", "d3", 2), ("q3", "d5", 1),
         ("q3", "d1", 0)]

REGISTER = """
import ir_datasets
from typing import NamedTuple
from ir_datasets.datasets.base import Dataset
from ir_datasets.formats import JsonlDocs, TrecQrels, TsvDocs, TsvQueries
from ir_datasets.util import GzipExtract, LocalDownload


class MiraclDoc(NamedTuple):
    doc_id: str
    title: str
    text: str


class BodyDoc(NamedTuple):   # a document type without a `text` field: its default_text() is read
    doc_id: str
    body: str
    def default_text(self):
        return self.body.upper()


def add(name, dataset):
    if name not in set(ir_datasets.registry):
        ir_datasets.registry.register(name, dataset)


ROOT = {root!r}
add("evalkit-tiny/test", Dataset(TsvDocs(LocalDownload(ROOT + "/docs.tsv"), lang="en"),
                                 TsvQueries(LocalDownload(ROOT + "/queries.tsv")),
                                 TrecQrels(LocalDownload(ROOT + "/qrels.txt"), {{0: "no", 1: "some", 2: "all"}})))
add("evalkit-body/test", Dataset(TsvDocs(LocalDownload(ROOT + "/docs.tsv"), doc_cls=BodyDoc, lang="en"),
                                 TsvQueries(LocalDownload(ROOT + "/queries.tsv")),
                                 TrecQrels(LocalDownload(ROOT + "/qrels-missing.txt"), {{0: "no", 1: "yes"}})))
for lang in {langs!r}:
    base = f"{{ROOT}}/miracl/miracl-v1.0-{{lang}}"
    add(f"miracl-fixture/{{lang}}/dev", Dataset(
        JsonlDocs([GzipExtract(LocalDownload(f"{{ROOT}}/miracl/miracl-corpus-v1.0-{{lang}}/docs-0.jsonl.gz"))],
                  doc_cls=MiraclDoc, mapping={{"doc_id": "docid", "title": "title", "text": "text"}}),
        TsvQueries(LocalDownload(f"{{base}}/topics/topics.miracl-v1.0-{{lang}}-dev.tsv")),
        TrecQrels(LocalDownload(f"{{base}}/qrels/qrels.miracl-v1.0-{{lang}}-dev.tsv"), {{0: "no", 1: "yes", 2: "yes"}})))
"""


@pytest.fixture
def registered(tmp_path, monkeypatch):
    """A module `irds_fixture_<n>` on sys.path (and on the CLI's PYTHONPATH) registering the tiny TSV dataset and
    the MIRACL fixture per language; returns (module name, data root, env for the CLI)."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "docs.tsv").write_text("".join(f"{d}\t{t}\n" for d, t in DOCS.items()), encoding="utf-8")
    (root / "queries.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in QUERIES.items()), encoding="utf-8")
    (root / "qrels.txt").write_text("".join(f"{q} 0 {d} {g}\n" for q, d, g in QRELS), encoding="utf-8")
    (root / "qrels-missing.txt").write_text("q1 0 d1 1\nq1 0 gone 1\n", encoding="utf-8")
    write_miracl_layout(root / "miracl", MINI)
    module = f"irds_fixture_{abs(hash(str(tmp_path)))}"
    (tmp_path / f"{module}.py").write_text(REGISTER.format(root=str(root), langs=sorted(MINI)), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    env = {"PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]), "EVALKIT_CACHE": str(tmp_path / "cache")}
    return module, root, env


def cfg(**kw) -> BenchmarkConfig:
    return OmegaConf.structured(BenchmarkConfig(name="irds", split=kw.pop("split", kw["id"].split("/")[-1]), **kw))


def test_queries_qrels_docs_and_language(registered):
    module, _, _ = registered
    b = load_benchmark(cfg(id="evalkit-tiny/test", irds_module=module))
    assert b.languages == ["en"] and b.queries["en"] == QUERIES      # language from docs_lang() metadata
    assert b.qrels["en"] == {"q1": {"d1": 2, "d2": 1, "d6": 0}, "q2": {"d4": 1, "d3": 2}, "q3": {"d5": 1, "d1": 0}}
    assert b.stores["en"].texts(["d3", "d1"]) == [DOCS["d3"], DOCS["d1"]] and len(b.stores["en"]) == 6
    assert b.protocol["split"] == "test" and b.protocol["id"] == "evalkit-tiny/test"
    assert load_benchmark(cfg(id="evalkit-tiny/test", irds_module=module, lang="sw")).languages == ["sw"]
    body = load_benchmark(cfg(id="evalkit-body/test", irds_module=module, missing_docs="warn"))
    assert [(d.title, d.text) for d in body.stores["en"].get(["d2"])] == [("", DOCS["d2"].upper())]
    assert body.protocol["missing_docs"] == {"en": 1}
    with pytest.raises(EvalkitError, match=r"1 judged docids are not in the corpus.*missing_docs=warn"):
        load_benchmark(cfg(id="evalkit-body/test", irds_module=module))
    # the MIRACL fixture's datasets state no language: the id's part `zh` gives it
    assert load_benchmark(cfg(id="miracl-fixture/zh/dev", irds_module=module)).languages == ["zh"]


def test_unknown_id_split_mismatch_and_missing_package(registered, monkeypatch):
    module, _, _ = registered
    with pytest.raises(EvalkitError, match=r"^benchmark.id=evalkit-tiny/tset: not an ir_datasets id; "
                                           r"did you mean evalkit-tiny/test\?$"):
        load_benchmark(cfg(id="evalkit-tiny/tset", irds_module=module))
    with pytest.raises(EvalkitError, match=r"benchmark.split=dev: .* the split is the id's last part \(test\)"):
        load_benchmark(cfg(id="evalkit-tiny/test", irds_module=module, split="dev"))
    with pytest.raises(EvalkitError, match=r"benchmark.irds_module=no_such_module_x: cannot import it"):
        load_benchmark(cfg(id="evalkit-tiny/test", irds_module="no_such_module_x"))
    monkeypatch.setitem(sys.modules, "ir_datasets", None)     # as if it were not installed
    with pytest.raises(EvalkitError, match=r"^benchmark=irds needs ir_datasets \(pip install -e \"\.\[irds\]\"\)$"):
        load_benchmark(cfg(id="evalkit-tiny/test"))


def test_checking_a_config_does_not_import_ir_datasets_and_needs_an_id():
    script = ("import sys; from evalkit.cli import preflight; preflight(['benchmark=irds', 'benchmark.id=a/b/dev']);"
              "print('ir_datasets' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], env=cli_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr[-2000:]
    done = evalkit("benchmark=irds", "reranker=none", timeout=120)
    assert done.returncode == 2 and "benchmark.id" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _ir_measures(run_file: Path, qrels: list[tuple[str, str, int]]) -> dict[str, float]:
    """Mean over the queries that have a relevant judgment (metrics.no_relevant=exclude), by ir_measures."""
    judged = [ir_measures.Qrel(q, d, g) for q, d, g in qrels]
    relevant = {q for q, _, g in qrels if g > 0}
    run = list(ir_measures.read_trec_run(str(run_file)))
    names = {"ndcg@10": nDCG @ 10, "mrr@10": RR @ 10, "recall@100": R @ 100}
    per_query: dict[str, list[float]] = {name: [] for name in names}
    for m in ir_measures.iter_calc(list(names.values()), judged, run):
        if m.query_id in relevant:
            per_query[next(n for n, v in names.items() if v == m.measure)].append(m.value)
    assert all(len(v) == len(relevant) for v in per_query.values())
    return {name: sum(v) / len(v) for name, v in per_query.items()}


def test_cli_bm25_run_matches_ir_measures(registered, tmp_path):
    module, _, env = registered
    out = tmp_path / "out"
    done = evalkit("benchmark=irds", "benchmark.id=evalkit-tiny/test", f"benchmark.irds_module={module}",
                   "reranker=none", f"hydra.run.dir={out}", cwd=REPO, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads((out / "metrics.json").read_text())["systems"]["first_stage"]["by_language"]
    expected = _ir_measures(out / "runs" / "first_stage.en.trec", QRELS)
    assert 0 < expected["ndcg@10"] < 1   # a case where the ranking is not perfect, so the grades matter
    for name, value in expected.items():
        assert got[name]["en"] == pytest.approx(value, abs=1e-9), name


def test_miracl_through_ir_datasets_equals_benchmark_miracl(registered, tmp_path):
    module, root, env = registered
    for lang in sorted(MINI):
        native = load_benchmark(OmegaConf.structured(BenchmarkConfig(
            name="miracl", source=str(root / "miracl"), languages=[lang])))
        via = load_benchmark(cfg(id=f"miracl-fixture/{lang}/dev", irds_module=module))
        assert via.languages == [lang] and via.queries == native.queries and via.qrels == native.qrels
        docids = [d for d, _, _ in MINI[lang]["docs"]]
        assert len(via.stores[lang]) == len(native.stores[lang]) == len(docids)
        assert via.stores[lang].texts(docids) == native.stores[lang].texts(docids)
        assert [(d.title, d.text) for d in via.stores[lang].get(docids)] == [(t, x) for _, t, x in MINI[lang]["docs"]]
    runs = {}
    for name, args in {"miracl": ["benchmark=miracl", f"benchmark.source={root / 'miracl'}", "benchmark.languages=[en]"],
                       "irds": ["benchmark=irds", "benchmark.id=miracl-fixture/en/dev",
                                f"benchmark.irds_module={module}"]}.items():
        done = evalkit(*args, "reranker=none", f"hydra.run.dir={tmp_path / name}", cwd=REPO, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        runs[name] = (json.loads((tmp_path / name / "metrics.json").read_text())["systems"],
                      (tmp_path / name / "runs" / "first_stage.en.trec").read_text())
    assert runs["irds"] == runs["miracl"]
    assert runs["irds"][0]["first_stage"]["by_language"]["ndcg@10"]["en"] > 0


def test_default_run_directories_tell_datasets_apart(tmp_path):
    """Two local datasets, default names: results/local-<dir>/bm25-none each; sample keeps results/sample/..."""
    from test_data_local import beir

    env = {"EVALKIT_CACHE": tmp_path / "cache"}
    for name in ("alpha", "beta"):
        done = evalkit("benchmark=local", f"benchmark.source={beir(tmp_path / name)}", "reranker=none",
                       cwd=tmp_path, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("results/*/*/report.md")) == [
        "results/local-alpha/bm25-none/report.md", "results/local-beta/bm25-none/report.md"]
    script = textwrap.dedent("""
        import sys
        from hydra import compose, initialize_config_dir
        from evalkit.app.schema import register
        from evalkit.cli import CONFIG_DIR
        register()
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            for overrides in ([], ["reranker=none", "benchmark=miracl"], ["benchmark=irds", "benchmark.id=beir/scifact/test"]):
                print(compose("config", overrides=overrides, return_hydra_config=True).hydra.run.dir)
    """)
    done = subprocess.run([sys.executable, "-c", script], env=cli_env(), capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["results/sample/bm25-gte", "results/miracl/bm25-none",
                                   "results/irds-beir-scifact-test/bm25-gte"], done.stderr[-2000:]
