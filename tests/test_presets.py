"""Reproduction presets: each composes, names a published table, and its "vs published" lists the right rows."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from evalkit.cli import CONFIG_DIR
from evalkit.app.schema import register
from evalkit.report.compare_cli import compare_dirs
from evalkit.report.comparison import System, build_comparison
from evalkit.report.published import load_tables, rows_for, system_key

MIRACL = "ar bn en es fa fi fr hi id ja ko ru sw te th zh de yo".split()
MLDR = "ar de en es fr hi it ja ko pt ru th zh".split()
MKQA = "ar da de es fi fr he hu it ja km ko ms nl no pl pt ru sv th tr vi zh_cn zh_hk zh_tw".split()

# preset overrides -> (benchmark, candidates, reranker, {(stage, metric): [published refs]})
EXPECTED = {
    ("experiment=mgte_rerank",): ("miracl", "dense_gte", "gte", {
        ("reranked", "ndcg@10"): ["mgte_table5_reranking:gte-multilingual-reranker-base"],
        ("first_stage", "ndcg@10"): ["mgte_table4_first_stage:mgte-dense"]}),
    ("experiment=mgte_rerank", "reranker=bge_m3"): ("miracl", "dense_gte", "bge_m3", {
        ("reranked", "ndcg@10"): ["mgte_table5_reranking:bge-reranker-v2-m3"],
        ("first_stage", "ndcg@10"): ["mgte_table4_first_stage:mgte-dense"]}),
    ("experiment=mgte_rerank/mldr",): ("mldr", "dense_gte", "gte", {
        ("reranked", "ndcg@10"): ["mgte_table5_reranking:gte-multilingual-reranker-base"],
        ("first_stage", "ndcg@10"): ["mgte_table4_first_stage:mgte-dense"]}),
    ("experiment=mgte_rerank/mkqa",): ("mkqa", "dense_gte", "gte", {
        ("reranked", "answer_recall@20"): ["mgte_table5_reranking:gte-multilingual-reranker-base"],
        ("first_stage", "answer_recall@20"): ["mgte_table4_first_stage:mgte-dense"]}),
    ("experiment=bge_reranker_miracl",): ("miracl", "dense_bge_m3", "bge_m3", {
        ("reranked", "ndcg@10"): ["bge_reranker_v2_m3_miracl_dev:bge-reranker-v2-m3"],
        ("first_stage", "ndcg@10"): ["bge_reranker_v2_m3_miracl_dev:bge-m3"]}),
    ("experiment=bge_m3_first_stage",): ("miracl", "dense_bge_m3", "none", {
        ("first_stage", "ndcg@10"): ["bge_m3_miracl_dev_ndcg10:dense", "bge_m3_miracl_dev_ndcg10_pdf:dense",
                                     "mgte_table4_first_stage:bge-m3-dense"]}),
    ("experiment=bge_m3_first_stage/mldr",): ("mldr", "dense_bge_m3", "none", {
        ("first_stage", "ndcg@10"): ["bge_m3_mldr_test_ndcg10:dense", "mgte_table4_first_stage:bge-m3-dense"]}),
    ("experiment=bge_m3_first_stage/mkqa",): ("mkqa", "dense_bge_m3", "none", {
        ("first_stage", "answer_recall@20"): ["bge_m3_mkqa_recall:dense", "mgte_table4_first_stage:bge-m3-dense"],
        ("first_stage", "answer_recall@100"): ["bge_m3_mkqa_recall:dense"]}),
    ("experiment=pyserini_bm25_miracl",): ("miracl", "lucene", "none", {
        ("first_stage", "ndcg@10"): ["pyserini_2cr_miracl_dev:bm25"],
        ("first_stage", "recall@100"): ["pyserini_2cr_miracl_dev:bm25"]}),
}
LANGUAGES = {"miracl": MIRACL, "mldr": MLDR, "mkqa": MKQA}


def composed(overrides: tuple[str, ...]):
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=True)


def fake_run(cfg, languages: list[str], value: float = 0.5) -> pd.DataFrame:
    """A run's per-query table: two queries per language, every metric = `value`."""
    stages = ["first_stage", "ceiling"] + (["reranked"] if cfg.reranker.name != "none" else [])
    return pd.DataFrame([dict(system=s, lang=lang, qid=f"{lang}{q}", bucket="<=512", metric=m, value=value)
                         for s in stages for lang in languages for q in range(2) for m in cfg.metrics.measures])


def _comparison(cfg, table: pd.DataFrame):
    choices = dict(cfg.hydra.runtime.choices)
    report = OmegaConf.to_container(cfg.report, resolve=True)
    protocol = {"benchmark": cfg.benchmark.name, "measures": list(cfg.metrics.measures), "bucket_edges": [512]}
    parts = {s: table[table.system == s].drop(columns="system") for s in set(table.system)}
    systems = [System(stage, parts[stage], parts["first_stage"], parts["ceiling"], protocol,
                      system_key(choices, reranked=stage == "reranked"), report)
               for stage in ("first_stage", "reranked") if stage in parts]
    return build_comparison(systems, "first_stage", n_resamples=50)


@pytest.mark.parametrize("overrides", list(EXPECTED), ids=lambda o: " ".join(o))
def test_preset_composes_and_lists_its_published_rows(overrides):
    benchmark, candidates, reranker, expected = EXPECTED[overrides]
    cfg = composed(overrides)
    choices = cfg.hydra.runtime.choices
    assert (choices.benchmark, choices.candidates, choices.reranker) == (benchmark, candidates, reranker)
    assert cfg.report.published in load_tables()
    assert cfg.candidates.depth == 100
    published = _comparison(cfg, fake_run(cfg, LANGUAGES[benchmark])).published
    got = {key: sorted(set(part.ref)) for key, part in published.groupby(["system", "metric"])}
    assert got == {key: sorted(refs) for key, refs in expected.items()}
    assert (published.ours == 50.0).all() and (published.delta == 50.0 - published.published).all()
    assert (published.inside == (published.published == 50.0)).all()
    assert (published.note == "").all()   # every language of the benchmark was run


def test_published_numbers_copied_with_scale_and_sources():
    tables = load_tables()
    for key, table in tables.items():
        assert table["status"] in ("primary", "secondary") and table["source"], key
    assert tables["mgte_table5_reranking"]["status"] == "secondary"
    bm25 = rows_for("miracl/bm25_anserini", "miracl", "ndcg@10", "pyserini_2cr_miracl_dev",
                    {"miracl/bm25_anserini": ["bm25"]}, tables)[0]
    assert bm25.scores["ar"] == 48.09 and bm25.scores["yo"] == 40.59   # 2CR prints 0.4809, 0.4059
    mkqa = rows_for("k", "mkqa", "answer_recall@20", None, {"k": ["bge_m3_mkqa_recall:dense"]}, tables)[0]
    assert mkqa.scores["no"] == 70.7 and sorted(mkqa.languages) == sorted(MKQA)   # 'no' stays Norwegian


def test_reranked_row_on_a_language_subset_is_flagged(tmp_path):
    """A fake run directory as the CLI writes it, read back by `compare`: refs from .hydra choices."""
    cfg = composed(("experiment=bge_reranker_miracl",))
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    fake_run(cfg, ["ar", "sw"], value=0.8).to_parquet(run / "per_query.parquet", index=False)
    protocol = {"benchmark": "miracl", "split": "dev", "candidates": "dense", "reranker": "bge_m3",
                "measures": list(cfg.metrics.measures), "bucket_edges": [512]}
    (run / "metrics.json").write_text(json.dumps({"protocol": protocol, "systems": {}}))
    plain = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    (run / "config.yaml").write_text(yaml.safe_dump(plain))
    hydra = {"hydra": {"runtime": {"choices": OmegaConf.to_container(cfg.hydra.runtime.choices)}}}
    (run / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(hydra))
    published = compare_dirs([run], n_resamples=50).published.set_index(["lang"])
    assert set(published.ref) == {"bge_reranker_v2_m3_miracl_dev:bge-reranker-v2-m3"}
    assert list(published.index) == ["avg", "ar", "sw"]
    assert published.loc["ar", "published"] == 81.7 and published.loc["ar", "delta"] == pytest.approx(80 - 81.7)
    assert published.loc["avg", "note"] == "ours over 2 languages, published over 18"
    assert published.loc["sw", "inside"] == False  # noqa: E712  (82.27 outside [80, 80])
