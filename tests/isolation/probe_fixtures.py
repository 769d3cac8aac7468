"""Run by tests/test_isolation.py under a fake HOME: the suite's fixture patterns that write caches (a
module-scoped fixture, which runs before the function-scoped isolation; the default pair-cache path)."""
import pytest

from evalkit.data.docstore import open_jsonl_store
from evalkit.data.tokenizer import bundled_tokenizer_file


@pytest.fixture(scope="module")
def module_scoped_cache_user(tmp_path_factory, mini_corpus_dir=None):
    return bundled_tokenizer_file()


def test_module_scoped_fixture_writes_a_cache(module_scoped_cache_user, mini_miracl):
    assert module_scoped_cache_user.is_file()
    store = open_jsonl_store(sorted((mini_miracl / "miracl-corpus-v1.0-en").glob("*.jsonl.gz")))
    assert len(store) == 4


def test_default_pair_cache_path(tmp_path):
    from omegaconf import OmegaConf

    from evalkit.app.schema import RerankerConfig
    from evalkit.rerank.engine import build_cross_encoder
    from evalkit.testing import make_tiny_gte

    cfg = OmegaConf.structured(RerankerConfig(name="gte", model=str(make_tiny_gte(tmp_path / "m")), device="cpu"))
    scorer = build_cross_encoder(cfg)
    scorer.score([("q", "a document")])
    assert scorer.cache is not None and scorer.cache.stats()["rows"] == 1
