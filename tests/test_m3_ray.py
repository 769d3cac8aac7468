"""executor=ray for BGE-M3: the corpus index encoded by a local 2-CPU Ray actor pool is the local one (same
cache key, same shards), and every mode's runs are the local runs."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import ray
import torch

from evalkit.candidates.m3 import m3_candidates
from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.m3 import M3Config
from evalkit.config import ExecutorConfig
from evalkit.executors import Executor
from evalkit.m3.index import index_corpora
from evalkit.testing import make_tiny_m3
from tests.test_m3_candidates import bench  # noqa: F401  (fixture: MIRACL-layout en + zh)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def test_index_and_runs_on_ray_equal_local(bench, tmp_path):  # noqa: F811
    model = make_tiny_m3(tmp_path / "tiny-bge-m3", seed=5)
    cfg = CandidatesConfig(name="m3", depth=3, m3=M3Config(model=str(model), mode="all", max_length=48,
                                                           query_max_length=16, fusion_depth=4, rerank_depth=4,
                                                           batch_tokens=1, shard_docs=3, dtype="fp32",
                                                           device="auto"))
    executor = Executor(ExecutorConfig(name="ray", num_actors=2, block_pairs=2, window_texts=4))
    threads = torch.get_num_threads()   # CPU actors run 1 torch thread: so does the local run (bitwise equality)
    torch.set_num_threads(1)
    try:
        local = m3_candidates(bench, cfg, cache_dir=tmp_path / "local")
        remote = m3_candidates(bench, cfg, executor=executor, cache_dir=tmp_path / "ray")
    finally:
        torch.set_num_threads(threads)
    assert remote == local and all(local[lang] for lang in local)
    stores = [bench.stores["en"], bench.stores["zh"]]
    encoder = executor.m3_encoder(cfg)
    for a, b in zip(index_corpora(stores, encoder, " ", 3, tmp_path / "local"),
                    index_corpora(stores, encoder, " ", 3, tmp_path / "ray")):
        assert a.root.name == b.root.name and len(a.paths) == len(b.paths) > 1   # same key, several shards
        for (_, x), (_, y) in zip(a, b):
            np.testing.assert_array_equal(x, y)
        assert [s.as_dicts() for _, s in a.sparse()] == [s.as_dicts() for _, s in b.sparse()]
