"""executor=ray for mGTE: BGE-M3's actor pool encodes the corpus index with gte-multilingual-base (MRL cut
included); the index is the local one (same cache key, same shards) and the runs are the local runs."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import ray
import torch

from evalkit.app.schema import CandidatesConfig
from evalkit.candidates.mgte import MgteConfig, build_mgte_encoder, mgte_candidates
from evalkit.config import ExecutorConfig
from evalkit.executors import Executor
from evalkit.m3.index import index_corpora
from evalkit.testing import make_tiny_gte_embedding
from tests.test_mgte_first_stage import bench  # noqa: F401  (fixture: MIRACL-layout en + zh)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def test_index_and_runs_on_ray_equal_local(bench, tmp_path):  # noqa: F811
    model = make_tiny_gte_embedding(tmp_path / "tiny-mgte", seed=3)
    cfg = CandidatesConfig(name="mgte", depth=3, mgte=MgteConfig(model=str(model), mode="dense_sparse", dimension=16,
                                                                 max_length=48, query_max_length=16, fusion_depth=4,
                                                                 batch_tokens=1, shard_docs=3, dtype="fp32",
                                                                 device="auto"))
    executor = Executor(ExecutorConfig(name="ray", num_actors=2, block_pairs=2, window_texts=4))
    threads = torch.get_num_threads()   # CPU actors run 1 torch thread: so does the local run (bitwise equality)
    torch.set_num_threads(1)
    try:
        local = mgte_candidates(bench, cfg, cache_dir=tmp_path / "local")
        remote = mgte_candidates(bench, cfg, executor=executor, cache_dir=tmp_path / "ray")
    finally:
        torch.set_num_threads(threads)
    assert remote == local and all(local[lang] for lang in local)
    stores = [bench.stores["en"], bench.stores["zh"]]
    encoder = build_mgte_encoder(cfg.mgte)
    for a, b in zip(index_corpora(stores, encoder, " ", 3, tmp_path / "local"),
                    index_corpora(stores, encoder, " ", 3, tmp_path / "ray")):
        assert a.root.name == b.root.name and len(a.paths) == len(b.paths) > 1   # same key, several shards
        for (_, x), (_, y) in zip(a, b):
            assert x.shape[1] == 16
            np.testing.assert_array_equal(x, y)
        assert [s.as_dicts() for _, s in a.sparse()] == [s.as_dicts() for _, s in b.sparse()]
