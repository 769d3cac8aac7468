"""benchmark=beir on datasets written by the test in BEIR's layout: own splits, CQADupStack's nested forums averaged
first, ArguAna's self-matches dropped, bad files named; metrics checked against pytrec_eval on the written runs."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import pytrec_eval
from omegaconf import OmegaConf

from benchmark_fixtures import REPO, hub_snapshot, write_jsonl
from cli_runner import evalkit
from evalkit.config import BenchmarkConfig
from evalkit.data import load_benchmark
from evalkit.data.beir import FORUMS, drop_identical_ids, units
from evalkit.errors import DataFormatError, EvalkitError
from evalkit.metrics.aggregate import per_language
from evalkit.report.comparison import system_cis

HEADER = "query-id\tcorpus-id\tscore\n"
# dataset directory -> (corpus [(id, title, text)], queries [(id, text)], {split: [(qid, docid, grade)]})
DATA = {
    "scifact": ([("s1", "Vitamin D", "vitamin d deficiency raises fracture risk in older adults"),
                 ("s2", "Statins", "statins lower cholesterol and reduce heart attacks"),
                 ("s3", "Sleep", "short sleep is linked to weight gain and poor memory"),
                 ("s4", "Coffee", "coffee intake and heart rhythm in healthy adults")],
                [("q1", "does vitamin d prevent fractures"), ("q2", "coffee heart rhythm adults"),
                 ("q9", "a training query that test never judges")],
                {"test": [("q1", "s1", 1), ("q2", "s2", 1), ("q2", "s4", 0)], "train": [("q9", "s3", 1)]}),
    # ArguAna: every query is itself an argument of the corpus, under the same id
    "arguana": ([("a1", "", "school uniforms limit the free expression of pupils"),
                 ("a2", "", "uniforms limit expression but reduce bullying of pupils"),
                 ("a3", "", "nuclear power is cheaper than wind"),
                 ("a4", "", "wind power is cheaper than nuclear power over decades")],
                [("a1", "school uniforms limit the free expression of pupils"),
                 ("a3", "nuclear power is cheaper than wind")],
                {"test": [("a1", "a2", 1), ("a3", "a4", 1)]}),
    "msmarco": ([("m1", "", "the capital of france is paris"), ("m2", "", "berlin is the capital of germany"),
                 ("m3", "", "paris hosts the louvre museum")],
                [("d1", "capital of france"), ("d2", "what is the capital of germany"), ("t1", "louvre")],
                {"dev": [("d1", "m1", 1), ("d2", "m2", 1)], "test": [("t1", "m3", 1)]}),
    "cqadupstack/android": ([("1", "Battery", "android battery drains fast overnight"),
                             ("2", "Wifi", "android wifi keeps disconnecting"),
                             ("3", "Root", "how to root an android phone safely")],
                            [("10", "battery drains overnight"), ("11", "wifi disconnecting again")],
                            {"test": [("10", "1", 1), ("11", "3", 1)]}),
    "cqadupstack/gis": ([("1", "Projection", "reproject a shapefile to wgs84"),
                         ("2", "Raster", "clip a raster with a polygon"),
                         ("3", "Buffer", "buffer points by distance in qgis")],
                        [("10", "clip raster polygon"), ("11", "qgis buffer distance points"),
                         ("12", "wgs84 shapefile")],
                        {"test": [("10", "2", 1), ("11", "3", 1), ("12", "2", 1)]}),
}


def write_beir(root, data=DATA):
    for name, (docs, queries, qrels) in data.items():
        folder = root / name
        write_jsonl(folder / "corpus.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in docs])
        write_jsonl(folder / "queries.jsonl", [{"_id": i, "text": t, "metadata": {}} for i, t in queries])
        (folder / "qrels").mkdir(parents=True, exist_ok=True)
        for split, rows in qrels.items():
            (folder / "qrels" / f"{split}.tsv").write_text(HEADER + "".join(f"{q}\t{d}\t{g}\n" for q, d, g in rows))
    return root


def cfg(source, datasets, **kw):
    return OmegaConf.structured(BenchmarkConfig(name="beir", source=str(source), split=kw.pop("split", "default"),
                                                datasets=datasets, **kw))


def test_units_expand_cqadupstack_and_refuse_unknown_names():
    assert units(["scifact", "cqadupstack"]) == ["scifact"] + [f"cqadupstack:{f}" for f in FORUMS]
    assert len(FORUMS) == 12 and units(["cqadupstack:gis"]) == ["cqadupstack:gis"]
    with pytest.raises(EvalkitError, match="unknown BEIR dataset 'scifacts'"):
        units(["scifacts"])
    with pytest.raises(EvalkitError, match="'cqadupstack:cooking' names no CQADupStack forum"):
        units(["cqadupstack:cooking"])
    with pytest.raises(EvalkitError, match="listed twice"):
        units(["cqadupstack", "cqadupstack:gis"])


def test_own_splits_and_judged_queries_only(tmp_path):
    root = write_beir(tmp_path / "beir")
    b = load_benchmark(cfg(root, ["scifact", "msmarco", "cqadupstack:gis"]))
    assert b.languages == ["scifact", "msmarco", "cqadupstack:gis"]
    assert b.protocol["splits"] == {"scifact": "test", "msmarco": "dev", "cqadupstack:gis": "test"}
    assert b.queries["scifact"] == {"q1": "does vitamin d prevent fractures", "q2": "coffee heart rhythm adults"}
    assert list(b.queries["msmarco"]) == ["d1", "d2"]      # dev, not test's t1
    assert b.qrels["scifact"] == {"q1": {"s1": 1}, "q2": {"s2": 1, "s4": 0}}
    assert b.stores["scifact"].get(["s2"])[0].title == "Statins" and len(b.stores["cqadupstack:gis"]) == 3
    assert b.protocol["ignore_identical_ids"] == [] and b.protocol["axis"] == "dataset"
    forced = load_benchmark(cfg(root, ["msmarco"], split="test"))
    assert list(forced.queries["msmarco"]) == ["t1"]


def test_all_twelve_forums_are_required(tmp_path):
    root = write_beir(tmp_path / "beir")
    with pytest.raises(EvalkitError, match=r"no directory cqadupstack/english/"):
        load_benchmark(cfg(root, ["cqadupstack"]))


def test_bad_input_names_the_file(tmp_path):
    root = write_beir(tmp_path / "beir")
    (root / "scifact" / "qrels" / "test.tsv").unlink()
    with pytest.raises(DataFormatError, match=r"scifact/qrels/test\.tsv: qrels file not found"):
        load_benchmark(cfg(root, ["scifact"]))
    queries = root / "arguana" / "queries.jsonl"
    queries.write_text(queries.read_text() + '{"_id": "a9", "text": \n')
    with pytest.raises(DataFormatError, match=r"arguana/queries\.jsonl:3: invalid JSON"):
        load_benchmark(cfg(root, ["arguana"]))
    corpus = root / "msmarco" / "corpus.jsonl"
    corpus.write_text(corpus.read_text().replace('"_id": "m2", ', ""))
    with pytest.raises(DataFormatError, match=r"msmarco/corpus\.jsonl:2: bad corpus record \(missing field '_id'\)"):
        load_benchmark(cfg(root, ["msmarco"]))
    qrels = root / "cqadupstack" / "gis" / "qrels" / "test.tsv"
    qrels.write_text(qrels.read_text() + "99\t1\t1\n")
    with pytest.raises(DataFormatError, match=r"gis/qrels/test\.tsv: 1 judged query ids are not in queries\.jsonl"):
        load_benchmark(cfg(root, ["cqadupstack:gis"]))


def test_hub_layout_through_the_hf_cache(tmp_path, monkeypatch):
    """BeIR/<name> (corpus, queries) and BeIR/<name>-qrels (<split>.tsv), CQADupStack nested by forum."""
    cache = tmp_path / "hub"
    local = write_beir(tmp_path / "beir")
    for name, sub in (("scifact", ""), ("cqadupstack", "android/")):
        data, judged = hub_snapshot(cache, f"BeIR/{name}"), hub_snapshot(cache, f"BeIR/{name}-qrels")
        folder = local / name / sub
        for part in ("corpus", "queries"):
            (data / sub).mkdir(parents=True, exist_ok=True)
            (data / sub / f"{part}.jsonl").write_text((folder / f"{part}.jsonl").read_text())
        (judged / sub).mkdir(parents=True, exist_ok=True)
        (judged / sub / "test.tsv").write_text((folder / "qrels" / "test.tsv").read_text())
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    b = load_benchmark(OmegaConf.structured(BenchmarkConfig(name="beir", split="default",
                                                            datasets=["scifact", "cqadupstack:android"])))
    assert list(b.queries["scifact"]) == ["q1", "q2"] and list(b.queries["cqadupstack:android"]) == ["10", "11"]


def test_drop_identical_ids_only_where_named():
    runs = {"arguana": {"a1": {"a1": 9.0, "a2": 5.0}, "a3": {"a4": 2.0}}, "scifact": {"s1": {"s1": 1.0}}}
    out = drop_identical_ids(runs, ["arguana"])
    assert out == {"arguana": {"a1": {"a2": 5.0}, "a3": {"a4": 2.0}}, "scifact": {"s1": {"s1": 1.0}}}
    assert runs["arguana"]["a1"] == {"a1": 9.0, "a2": 5.0}       # the caller's runs are not mutated


def test_beir_average_by_hand():
    """Two datasets and CQADupStack with two forums: forums are averaged first, then the three datasets.
    scifact (1.0, 0.0) -> 0.5; nfcorpus (0.25); android (1.0) and gis (0.5, 0.0) -> 0.25, cqadupstack 0.625;
    BEIR average (0.5 + 0.25 + 0.625) / 3 = 0.458333... (pooling the 6 queries would give 0.458 only by accident:
    here it is 2.75 / 6 = 0.4583 too, so the second system below tells the two rules apart)."""
    rows = [("scifact", "q1", 1.0), ("scifact", "q2", 0.0), ("nfcorpus", "n1", 0.25),
            ("cqadupstack:android", "1", 1.0), ("cqadupstack:gis", "1", 0.5), ("cqadupstack:gis", "2", 0.0)]
    other = [("scifact", "q1", 0.0), ("nfcorpus", "n1", 1.0), ("cqadupstack:android", "1", 0.0),
             ("cqadupstack:gis", "1", 1.0), ("cqadupstack:gis", "2", 1.0), ("cqadupstack:gis", "3", 1.0)]
    table = pd.DataFrame([("a", lang, q, "ndcg@10", v) for lang, q, v in rows]
                         + [("b", lang, q, "ndcg@10", v) for lang, q, v in other],
                         columns=["system", "lang", "qid", "metric", "value"])
    means = per_language(table).set_index(["system", "lang"])["mean"]
    assert means[("a", "cqadupstack")] == pytest.approx(0.625)
    assert means[("a", "avg")] == pytest.approx((0.5 + 0.25 + 0.625) / 3)
    # b: scifact 0, nfcorpus 1, cqadupstack (0 + 1) / 2 = 0.5 -> 0.5; the pooled mean would be 4 / 6
    assert means[("b", "avg")] == pytest.approx(0.5) and means[("b", "cqadupstack:gis")] == 1.0
    cis = system_cis(table.assign(bucket="all"), 200, 0).set_index(["system", "lang"])["mean"]
    assert cis[("a", "avg")] == pytest.approx((0.5 + 0.25 + 0.625) / 3) and cis[("b", "avg")] == pytest.approx(0.5)
    plain = pd.DataFrame([("a", "en", "1", "m", 1.0), ("a", "en", "2", "m", 0.0), ("a", "de", "1", "m", 0.25)],
                         columns=["system", "lang", "qid", "metric", "value"])
    assert per_language(plain).set_index("lang")["mean"].to_dict() == {"en": 0.5, "de": 0.25, "avg": 0.375}


def _trec(path):
    run: dict = {}
    for line in path.read_text().splitlines():
        q, _, d, _, s, _ = line.split()
        run.setdefault(q, {})[d] = float(s)
    return run


def test_cli_end_to_end_matches_pytrec_eval(tmp_path):
    root = write_beir(tmp_path / "beir")
    out = tmp_path / "out"
    done = evalkit("benchmark=beir", f"benchmark.source={root}", "reranker=none", f"hydra.run.dir={out}",
                   "benchmark.datasets=[scifact,arguana,msmarco,cqadupstack:android,cqadupstack:gis]",
                   "metrics.measures=[ndcg@10,recall@100]", "candidates.depth=100", cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    got = metrics["systems"]["first_stage"]["by_language"]
    assert metrics["protocol"]["ignore_identical_ids"] == ["arguana"]
    per_unit = {}
    for unit, (folder, split) in {"scifact": ("scifact", "test"), "arguana": ("arguana", "test"),
                                  "msmarco": ("msmarco", "dev"), "cqadupstack:android": ("cqadupstack/android", "test"),
                                  "cqadupstack:gis": ("cqadupstack/gis", "test")}.items():
        run = _trec(out / "runs" / f"first_stage.{unit}.trec")
        assert all(q not in docs for q, docs in run.items()) if unit == "arguana" else True
        qrels: dict = {}
        for line in (root / folder / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]:
            q, d, g = line.split("\t")
            qrels.setdefault(q, {})[d] = int(g)
        scores = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)
        per_unit[unit] = sum(s["ndcg_cut_10"] for s in scores.values()) / len(qrels)
        assert got["ndcg@10"][unit] == pytest.approx(per_unit[unit], abs=1e-9), unit
    # the self-match removed, ArguAna's counter-arguments rank first: 1.0 (with a1 kept first it would be 0.63)
    assert per_unit["arguana"] == pytest.approx(1.0)
    cqa = (per_unit["cqadupstack:android"] + per_unit["cqadupstack:gis"]) / 2
    assert got["ndcg@10"]["cqadupstack"] == pytest.approx(cqa, abs=1e-9)
    beir_avg = (per_unit["scifact"] + per_unit["arguana"] + per_unit["msmarco"] + cqa) / 4
    assert got["ndcg@10"]["avg"] == pytest.approx(beir_avg, abs=1e-9)
    assert 0 < per_unit["scifact"] < 1 and 0 < cqa < 1 and per_unit["cqadupstack:gis"] != per_unit["cqadupstack:android"]
    pooled = sum(per_unit[u] * n for u, n in metrics["systems"]["first_stage"]["queries"].items() if u in per_unit)
    assert abs(pooled / 11 - beir_avg) > 0.01     # the fixture tells BEIR's average from a pooled one
    report = (out / "report.md").read_text()
    section = report.split("## ndcg@10 per dataset", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in section.splitlines()[4:] if line.startswith("|")}
    assert list(rows) == ["scifact", "arguana", "msmarco", "cqadupstack:android", "cqadupstack:gis", "cqadupstack", "avg"]
    assert "| dataset | queries | first stage | ceiling |" in section
    assert float(rows["avg"][1]) == pytest.approx(100 * beir_avg, abs=0.01)
    assert float(rows["cqadupstack"][1]) == pytest.approx(100 * cqa, abs=0.01) and rows["cqadupstack"][0].strip() == "5"
