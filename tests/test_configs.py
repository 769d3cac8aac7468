"""Every config group composes against the schema; bad keys and values fail before any work."""
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from evalkit.cli import CONFIG_DIR
from evalkit.app.schema import register

GROUPS = ["benchmark", "candidates", "reranker", "metrics", "report", "executor", "experiment"]


def options(group):
    return sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))


def compose_with(overrides):
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.parametrize("group, option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes(group, option):
    overrides = [f"{group}={option}"]
    if group == "reranker" and option == "hf":
        overrides.append("reranker.model=/some/dir")
    cfg = compose_with(overrides)
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def test_defaults_are_the_sample_with_gte():
    cfg = compose_with([])
    assert (cfg.benchmark.name, cfg.candidates.name, cfg.reranker.name) == ("sample", "bm25", "gte")
    assert cfg.reranker.model == "Alibaba-NLP/gte-multilingual-reranker-base"
    assert list(cfg.metrics.measures) == ["ndcg@10", "condensed_ndcg@10", "mrr@10", "recall@100", "judged@10"]


@pytest.mark.parametrize("override, key", [
    ("reranker.mdoel=x", "mdoel"), ("candidates.depth=deep", "depth"), ("metrics.bucket_edges=[a]", "bucket_edges"),
])
def test_bad_overrides_fail_naming_the_key(override, key):
    with pytest.raises(Exception, match=key):
        compose_with([override])
