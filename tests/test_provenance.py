"""The manifest: protocol vs environment, git state, versions, config hash, reranker identity, cache rates."""
from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from evalkit.cli import CONFIG_DIR
from evalkit.app.schema import register
from evalkit.contracts import Benchmark
from evalkit.gate.provenance import config_hash, manifest, protocol_fields

ROOT = Path(__file__).resolve().parent.parent


def config(*overrides: str):
    register()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@dataclass
class Settings:
    max_length: int = 1024
    dtype: str = "bf16"
    device: str = "cuda"
    batch_tokens: int = 8192

    @property
    def query_budget(self) -> int:
        return 768


@dataclass
class Stats:
    unique_pairs: int = 8
    cache_hits: int = 6


class Scorer:
    info = {"model": "/tmp/ckpt", "revision": "abc123", "weights_hash": "w" * 64, "tokenizer_hash": "t" * 64,
            "attn_implementation": "sdpa", "dtype": "bfloat16"}
    settings, stats = Settings(), Stats()


BENCHMARK = Benchmark(name="sample", queries={"en": {"1": "q"}, "zh": {"2": "q"}}, qrels={}, stores={},
                      protocol={"split": "dev", "revision": "r1"}, fingerprints={"corpus/en": "f" * 8})


def test_protocol_holds_what_makes_runs_comparable():
    cfg = config("reranker=gte", "candidates.depth=50")
    p = protocol_fields(cfg, BENCHMARK, Scorer())
    assert p["languages"] == ["en", "zh"] and p["benchmark"] == "sample" and p["split"] == "dev"
    assert p["candidates.name"] == "bm25" and p["candidates.depth"] == 50 and p["candidates.bm25.k1"] == 0.9
    assert not any(k.startswith(("candidates.dense", "candidates.hybrid")) for k in p)   # not the selected stage
    assert p["reranker.weights_hash"] == "w" * 64 and p["reranker.tokenizer_hash"] == "t" * 64
    assert p["reranker.max_length"] == 1024 and p["reranker.dtype"] == "bf16" and p["reranker.query_max_length"] == 768
    assert p["measures"] == ["ndcg@10", "condensed_ndcg@10", "mrr@10", "recall@100", "judged@10"] and p["bucket_edges"][0] == 512
    assert p["policy.ties"].startswith("score desc")
    assert "/tmp/ckpt" not in json.dumps(p)              # where the model lies is environment, not protocol
    json.dumps(p)                                        # plain JSON


def test_protocol_without_reranker_and_its_sensitivity():
    base = protocol_fields(config("reranker=none"), BENCHMARK, None)
    assert base["reranker"] == "none" and not any(k.startswith("reranker.") for k in base)
    changed = protocol_fields(config("reranker=none", "metrics.bucket_edges=[256,512]"), BENCHMARK, None)
    assert {k for k in base if base[k] != changed[k]} == {"bucket_edges"}


def test_environment_records_versions_git_config_and_rates():
    cfg = config("reranker=gte")
    env = manifest(cfg, BENCHMARK, Scorer(), {"rerank": 1.23456})["environment"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert env["evalkit_git"]["commit"] == head and isinstance(env["evalkit_git"]["dirty"], bool)
    assert env["versions"]["python"] == platform.python_version()
    assert env["config"] == OmegaConf.to_container(cfg, resolve=True)
    assert env["reranker"]["model"] == "/tmp/ckpt" and env["reranker"]["revision"] == "abc123"
    assert env["reranker"]["device"] == "cuda" and env["reranker"]["attn_implementation"] == "sdpa"
    assert env["reranker_stats"]["pair_cache_hit_rate"] == pytest.approx(6 / 8)
    assert env["data"]["fingerprints"] == {"corpus/en": "f" * 8} and env["data"]["protocol"]["revision"] == "r1"
    assert env["wall_seconds"] == {"rerank": 1.235}


def test_config_hash_changes_with_any_value_only():
    assert config_hash(config("reranker=none")) == config_hash(config("reranker=none"))
    assert config_hash(config("reranker=none")) != config_hash(config("reranker=none", "run.seed=1"))
