"""executor=ray on a local Ray instance (2 CPUs, started and stopped here) with a tiny random GTE reranker.

Bitwise comparisons use reranker.batch_tokens=1: one pair per forward pass, no padding, so a pair's score
cannot depend on which pairs share its batch. With real token-budget batches the engine is batch-invariant
only within float32 rounding (about 1e-6 on these scores), and Ray's blocks batch pairs differently from one
local call, so those runs are compared within the engine's documented 1e-5.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import ray
import torch
from hydra import compose, initialize_config_dir

from evalkit.cli import CONFIG_DIR
from evalkit.config import ExecutorConfig
from evalkit.app.schema import RerankerConfig, register
from evalkit.executors.ray_exec import RayScorer, ScoreActor
from evalkit.rerank.cache import PairCache
from evalkit.rerank.engine import build_cross_encoder
from evalkit.testing import make_tiny_gte
from measured import stable_bytes

WORDS = "water boiling point altitude chapel ceiling painter 北京 首都 长城 quick sort python وادي नदी".split()


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return make_tiny_gte(tmp_path_factory.mktemp("tiny") / "gte", seed=3)


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    rng = np.random.default_rng(7)
    unique = [(" ".join(rng.choice(WORDS, 3)), " ".join(rng.choice(WORDS, int(rng.integers(1, 90)))))
              for _ in range(36)]
    return unique + unique[:6][::-1]          # repeated pairs are scored once and returned at every position


def local_scores(model: Path, pairs, batch_tokens: int) -> np.ndarray:
    cfg = RerankerConfig(name="gte", model=str(model), cache=False, batch_tokens=batch_tokens)
    return build_cross_encoder(cfg, progress=False).score(pairs)


def test_ray_scores_are_the_local_scores_and_fill_the_shared_cache(model, pairs, tmp_path):
    cache_path = tmp_path / "pairs.sqlite"
    reranker = RerankerConfig(name="gte", model=str(model), batch_tokens=1, cache_path=str(cache_path))
    scorer = RayScorer(reranker, ExecutorConfig(name="ray", num_actors=2, block_pairs=5))
    scores = scorer.score(pairs)
    expected = local_scores(model, pairs, batch_tokens=1)
    assert scores.dtype == np.float32 and np.array_equal(scores, expected)
    assert len(set(expected.tolist())) == 36                  # the check has teeth: 36 distinct scores
    assert (scorer.stats.scored, scorer.stats.batches, scorer.stats.pairs_requested) == (36, 36, 42)
    # the driver wrote every pair into the cache under the local engine's fingerprint: a local engine on the
    # same cache computes nothing, and a second Ray call sends nothing to the actors
    local = build_cross_encoder(dataclasses.replace(reranker, device="cpu"), progress=False)
    assert local.fingerprint == scorer.fingerprint
    assert np.array_equal(local.score(pairs), expected) and local.stats.cache_hits == 36 and local.stats.scored == 0
    assert np.array_equal(scorer.score(pairs[::-1]), expected[::-1]) and scorer.stats.scored == 36
    with PairCache(cache_path) as cache:
        assert cache.stats()["rows"] == 36


def test_a_killed_actor_is_restarted_and_its_block_retried(model, pairs, tmp_path):
    marker = tmp_path / "crashed"

    class CrashOnce(ScoreActor):   # defined here so Ray ships it by value; dies on its first block, once
        def __call__(self, block):
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os._exit(1)
            return super().__call__(block)

    cache_path = tmp_path / "pairs.sqlite"
    reranker = RerankerConfig(name="gte", model=str(model), batch_tokens=512, cache_path=str(cache_path))
    scorer = RayScorer(reranker, ExecutorConfig(name="ray", num_actors=2, block_pairs=8, max_retries=2),
                       actor_class=CrashOnce)
    scores = scorer.score(pairs)
    assert marker.exists()                                     # an actor did die mid-run
    assert scorer.stats.scored == 36
    with PairCache(cache_path) as cache:                       # each pair written once, none missing
        assert cache.stats()["rows"] == 36
    np.testing.assert_allclose(scores, local_scores(model, pairs, batch_tokens=512), rtol=0, atol=1e-5)
    assert np.array_equal(scores[36:], scores[:6][::-1])


def test_pipeline_with_executor_ray_equals_executor_local(model, mini_miracl, tmp_path):
    from evalkit.pipeline import run

    register()
    common = [f"benchmark.source={mini_miracl}", "reranker=gte", f"reranker.model={model}", "reranker.batch_tokens=1",
              "reranker.cache=false", "metrics.no_relevant=zero"]
    outs = {}
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        ray_executor = ["executor=ray", "executor.num_actors=2", "executor.block_pairs=3"]
        for name, extra in [("local", []), ("ray", ray_executor)]:
            outs[name] = run(compose(config_name="config", overrides=common + extra), tmp_path / name).out_dir
    for name in ["metrics.json", "per_query.parquet", "report.md", "runs/reranked.en.trec", "runs/reranked.zh.trec"]:
        assert stable_bytes(outs["local"] / name) == stable_bytes(outs["ray"] / name), name
    assert "reranked" in (outs["ray"] / "metrics.json").read_text()


def test_dense_candidates_on_ray_equal_local_and_share_the_embedding_cache(mini_miracl, tmp_path, monkeypatch):
    from test_candidates_dense import dense_cfg, shard_files, tiny_gte_encoder

    from evalkit.candidates.dense import dense_candidates
    from evalkit.config import BenchmarkConfig
    from evalkit.data.miracl import load_sample
    from evalkit.executors import Executor, ray_exec

    bench = load_sample(BenchmarkConfig(name="sample", source=str(mini_miracl)))   # en 4 docs, zh 3; 3 + 2 queries
    cfg = dense_cfg(tiny_gte_encoder(tmp_path / "encoder", "native"), depth=3, batch_tokens=1, shard_docs=2,
                    doc_prefix="passage: ", query_prefix="query: ")
    # 4 shards (2 + 2 + 2 + 1 texts) in windows of >= 5 texts: 2 passes; the 2 query groups (5 texts): 1 pass
    executor = ExecutorConfig(name="ray", num_actors=2, block_pairs=3, window_texts=5)
    passes, original = [], ray_exec.map_on_actor_pool
    monkeypatch.setattr(ray_exec, "map_on_actor_pool", lambda table, *a: passes.append(len(table)) or original(table, *a))
    threads = torch.get_num_threads()     # CPU actors run 1 torch thread: so does the local run, for bitwise
    torch.set_num_threads(1)              # equality (thread count changes float summation order)
    try:
        local = dense_candidates(bench, cfg, tmp_path / "local")
    finally:
        torch.set_num_threads(threads)
    remote = dense_candidates(bench, cfg, tmp_path / "ray", executor=Executor(executor))
    assert passes == [6, 1, 5]
    assert remote == local and sum(len(run) for run in local.values()) > 0
    assert len({s for run in local.values() for hits in run.values() for s in hits.values()}) > 3   # teeth
    assert len(shard_files(tmp_path / "ray")) == 12                          # 4 shards: .npy + .docids + .json
    assert shard_files(tmp_path / "ray") == shard_files(tmp_path / "local")   # same cache key, same bytes
    assert ray_exec.RayEncoder(cfg, executor).fingerprint("passage: ") == build_encoder_fingerprint(cfg, "passage: ")


def build_encoder_fingerprint(cfg, prefix: str) -> str:
    from evalkit.candidates.dense import build_encoder

    return build_encoder(cfg, progress=False).fingerprint(prefix)


def test_ray_encoder_rejects_a_device_the_actors_do_not_have(mini_miracl, tmp_path):
    from test_candidates_dense import dense_cfg, tiny_gte_encoder

    from evalkit.errors import EvalkitError
    from evalkit.executors.ray_exec import RayEncoder

    cfg = dense_cfg(tiny_gte_encoder(tmp_path / "encoder", "native"), device="cuda")
    with pytest.raises(EvalkitError, match="candidates.dense.device=cuda conflicts with executor.gpus_per_actor"):
        RayEncoder(cfg, ExecutorConfig(name="ray"))


def test_ray_scores_a_decoder_reranker_as_the_local_engine_does(pairs, tmp_path):
    """reranker=qwen3 (backend=llm) on the actor pool: the local decoder engine's fingerprint and scores."""
    from omegaconf import OmegaConf

    from evalkit.rerank.decoder import build_local_scorer
    from evalkit.testing import make_tiny_causal_lm

    qwen3 = make_tiny_causal_lm(tmp_path / "qwen3", "qwen3", seed=5)
    preset = OmegaConf.load(Path(CONFIG_DIR) / "reranker" / "qwen3.yaml")
    reranker = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RerankerConfig), preset, {
        "model": str(qwen3), "batch_tokens": 1, "max_length": 512, "cache_path": str(tmp_path / "pairs.sqlite")}))
    scorer = RayScorer(reranker, ExecutorConfig(name="ray", num_actors=2, block_pairs=5))
    scores = scorer.score(pairs)
    local = build_local_scorer(dataclasses.replace(reranker, cache=False), progress=False)
    assert type(local).__name__ == "DecoderReranker" and local.fingerprint == scorer.fingerprint
    expected = local.score(pairs)
    assert np.array_equal(scores, expected) and len(set(expected.tolist())) == 36
    assert scorer.stats.scored == 36
