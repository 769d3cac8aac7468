"""run.shard=i/n + `evalkit merge` give the unsharded run dir byte for byte (CLI in subprocesses, tiny GTE model)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from cli_runner import evalkit, evalkit_popen, finish
from conftest import MINI, write_miracl_layout
from evalkit.cli import CONFIG_DIR
from evalkit.app.schema import register
from evalkit.errors import EvalkitError
from evalkit.executors.merge import merge_shards
from measured import stable_bytes
from evalkit.executors.shard import parse_shard, shard_of

SAME = ["config.yaml", "metrics.json", "per_query.parquet", "report.md", "runs/first_stage.en.trec",
        "runs/first_stage.zh.trec", "runs/reranked.en.trec", "runs/reranked.zh.trec"]


@pytest.fixture(scope="module")
def runs(tiny_gte, tmp_path_factory) -> Path:
    """The unsharded run and shards 0/2, 1/2 (run at once), then `evalkit merge` of the two shards."""
    root = tmp_path_factory.mktemp("shards")
    mini = write_miracl_layout(root / "mini", MINI)
    # batch_tokens=1: one pair per forward pass, so a score cannot depend on which pairs share its batch;
    # no_relevant=zero also puts queries without a relevant judgment into the per-query table
    common = [f"benchmark.source={mini}", "reranker=gte", f"reranker.model={tiny_gte}", "reranker.batch_tokens=1",
              "reranker.cache=false", "metrics.no_relevant=zero", "metrics.oracle=true"]
    env = {"EVALKIT_CACHE": root / "cache"}   # the module's own cache, not the session's
    procs = [evalkit_popen(*common, *shard, f"hydra.run.dir={root / name}", cwd=root, env=env)
             for name, shard in [("full", []), ("s0", ["run.shard=0/2"]), ("s1", ["run.shard=1/2"])]]
    for proc in (finish(p, timeout=300) for p in procs):
        assert proc.returncode == 0, proc.stderr[-3000:]
    merged = evalkit("merge", root / "s1", root / "s0", "--out", root / "merged", cwd=root, env=env, timeout=300)
    assert merged.returncode == 0, merged.stderr[-3000:]
    return root


@pytest.mark.slow
def test_merged_shards_equal_the_unsharded_run_byte_for_byte(runs):
    for name in SAME:
        assert stable_bytes(runs / "merged" / name) == stable_bytes(runs / "full" / name), name
    full, merged = (json.loads((runs / d / "manifest.json").read_text()) for d in ("full", "merged"))
    assert merged["protocol"] == full["protocol"]
    assert merged["environment"]["config_hash"] == full["environment"]["config_hash"]
    assert [s["shard"] for s in merged["environment"]["shards"]] == ["0/2", "1/2"]
    assert not (runs / "merged" / "shard.json").exists()


@pytest.mark.slow
def test_each_shard_ran_only_its_own_queries(runs):
    owned = {}
    for name in ("s0", "s1"):
        trec = (runs / name / "runs").glob("reranked.*.trec")
        owned[name] = {(p.name.split(".")[1], line.split()[0]) for p in trec for line in p.read_text().splitlines()}
    every = {(lang, q) for lang, d in MINI.items() for q in d["topics"]}
    assert owned["s0"] | owned["s1"] == every and not owned["s0"] & owned["s1"]
    assert owned["s0"] and owned["s1"]                         # the split is not all-in-one
    for name, index in (("s0", 0), ("s1", 1)):
        assert all(shard_of(lang, q, 2) == index for lang, q in owned[name])


def test_shard_of_is_sha256_of_lang_tab_qid_and_independent_of_the_process(tmp_path):
    for lang, qid, n in [("en", "1", 2), ("zh", "42", 7), ("ar", "x#3", 3)]:
        digest = hashlib.sha256(f"{lang}\t{qid}".encode()).hexdigest()
        assert shard_of(lang, qid, n) == int(digest, 16) % n
    keys = [(lang, str(q)) for lang in ("en", "ja", "sw") for q in range(300)]
    code = ("import sys, json; from evalkit.executors.shard import shard_of; "
            "print(json.dumps([shard_of(l, q, 5) for l, q in json.loads(sys.argv[1])]))")
    seen = [subprocess.run([sys.executable, "-c", code, json.dumps(keys)], env={**os.environ, "PYTHONHASHSEED": s},
                           capture_output=True, text=True, check=True).stdout for s in ("1", "2")]
    assert seen[0] == seen[1] == json.dumps([shard_of(lang, q, 5) for lang, q in keys]) + "\n"
    counts = [json.loads(seen[0]).count(i) for i in range(5)]
    assert min(counts) > 120                                    # 900 queries spread over every shard


@pytest.mark.parametrize("spec", ["2/2", "0/0", "-1/3", "a/b", "1"])
def test_bad_shard_spec_is_one_clear_error(spec):
    with pytest.raises(EvalkitError, match=r"^run\.shard=.*expected 'i/n' with 0 <= i < n"):
        parse_shard(spec)


@pytest.mark.slow
def test_merge_refuses_missing_repeated_or_overlapping_shards_and_differing_configs(runs, tmp_path):
    with pytest.raises(EvalkitError, match=r"^missing shard\(s\) 1/2 of 2$"):
        merge_shards([runs / "s0"], tmp_path / "a")
    with pytest.raises(EvalkitError, match="shard 0/2 given twice"):
        merge_shards([runs / "s0", runs / "s0", runs / "s1"], tmp_path / "b")
    overlap = shutil.copytree(runs / "s1", tmp_path / "overlap")
    info = json.loads((overlap / "shard.json").read_text())
    info["mine"]["en"] = info["mine"]["en"] + ["1"]             # "en 1" belongs to shard 0
    (overlap / "shard.json").write_text(json.dumps(info))
    with pytest.raises(EvalkitError, match="query en/1 is in two shards"):
        merge_shards([runs / "s0", overlap], tmp_path / "c")
    other = shutil.copytree(runs / "s1", tmp_path / "other")
    config = other / "config.yaml"
    config.write_text(config.read_text().replace("max_length: null", "max_length: 128", 1))
    with pytest.raises(EvalkitError, match="config differs from .* at reranker.max_length$"):
        merge_shards([runs / "s0", other], tmp_path / "d")
    with pytest.raises(EvalkitError, match="not a shard run dir"):
        merge_shards([runs / "s0", runs / "full"], tmp_path / "e")
    assert not any((tmp_path / x).exists() for x in "abcde")


def test_launcher_configs_compose():
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["hydra/launcher=joblib_local", "executor=ray"],
                      return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher") and cfg.hydra.launcher.n_jobs == 2
    assert cfg.executor.name == "ray" and cfg.executor.block_pairs == 4096
