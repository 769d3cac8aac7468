"""CI subsets: stratified, seeded sampling; a subset run needs no corpus and reuses the saved pools."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from evalkit.cli import CONFIG_DIR
from evalkit.app.schema import register
from evalkit.errors import EvalkitError
from evalkit.pipeline import run
from evalkit.gate.subset import create_subset, stratified_sample


def config(*overrides: str):
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=["reranker=none", *overrides])


def test_stratified_allocation_is_proportional_and_seeded():
    buckets = pd.Series(["a"] * 10 + ["b"] * 6 + ["c"] * 4, index=[f"q{i:02d}" for i in range(20)])
    chosen = stratified_sample(buckets, 7, seed=3, lang="en")
    # quotas 3.5, 2.1, 1.4 -> floors 3, 2, 1 and the one left over goes to the largest remainder (a)
    assert buckets[chosen].value_counts().to_dict() == {"a": 4, "b": 2, "c": 1}
    assert len(set(chosen)) == 7
    assert chosen == stratified_sample(buckets, 7, seed=3, lang="en")
    draws = {tuple(stratified_sample(buckets, 7, seed=s, lang="en")) for s in range(5)}
    assert len(draws) > 1                                          # the seed matters
    assert sorted(stratified_sample(buckets, 50, seed=0, lang="en")) == sorted(buckets.index)   # n > size: all


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    from conftest import MINI, write_miracl_layout

    root = tmp_path_factory.mktemp("subset")
    data = write_miracl_layout(root / "mini", MINI)
    out = root / "full"
    run(config(f"benchmark.source={data}", f"benchmark.cache_dir={root / 'cache'}"), out)
    return root, data, out


def test_subset_run_uses_saved_pools_without_the_corpus(full_run):
    root, data, full = full_run
    subset = create_subset(full, "ci", 1, seed=0, root=root / "subsets")
    again = create_subset(full, "ci-again", 1, seed=0, root=root / "subsets")
    for file in sorted(p.relative_to(subset) for p in subset.rglob("*") if p.is_file() and p.name not in ("subset.json", "MANIFEST.json")):
        assert (subset / file).read_bytes() == (again / file).read_bytes(), file       # byte-deterministic
    meta = json.loads((subset / "subset.json").read_text())
    assert meta["languages"] == ["en", "zh"] and meta["candidates"]["name"] == "bm25"
    assert meta["source_config_hash"] == json.loads((full / "manifest.json").read_text())["environment"]["config_hash"]
    assert {lang: sum(s.values()) for lang, s in meta["strata"].items()} == {"en": 1, "zh": 1}
    with pytest.raises(EvalkitError, match="already exists"):
        create_subset(full, "ci", 1, seed=0, root=root / "subsets")

    shutil.rmtree(data)                                            # the CI job has no corpus and no index
    out = root / "sub-run"
    result = run(config(f"benchmark.subset={subset}", f"benchmark.cache_dir={root / 'cache2'}"), out)
    chosen = {lang: (subset / lang / "topics.tsv").read_text().split("\t")[0] for lang in ("en", "zh")}
    first = result.table[result.table["system"] == "first_stage"]
    assert {(l, q) for l, q in zip(first["lang"], first["qid"])} == set(chosen.items())
    for lang, qid in chosen.items():                               # candidates = the full run's first stage
        full_lines = [l for l in (full / "runs" / f"first_stage.{lang}.trec").read_text().splitlines()
                      if l.split()[0] == qid]
        assert (out / "runs" / f"first_stage.{lang}.trec").read_text().splitlines() == full_lines
    full_table = pd.read_parquet(full / "per_query.parquet")
    merged = first.merge(full_table, on=["system", "lang", "qid", "metric"], suffixes=("", "_full"))
    assert len(merged) == len(first) and (merged["value"] == merged["value_full"]).all()
    assert (merged["bucket"] == merged["bucket_full"]).all()       # the judged documents' texts came along
    protocol = json.loads((out / "manifest.json").read_text())["protocol"]
    assert protocol["subset"] == "ci"                              # its name, however it was given

    with pytest.raises(EvalkitError, match=r"candidates\.bm25"):
        run(config(f"benchmark.subset={subset}", "candidates.bm25.k1=1.2"), root / "bad")
    with pytest.raises(EvalkitError, match="benchmark.split"):
        run(config(f"benchmark.subset={subset}", "benchmark.split=test"), root / "bad2")
